//! A breach incident's APPI paperwork over the API: the operator states the window,
//! scope and exposure (PUT), and reads the computed breach with the Commission's
//! report and each person's notice (GET), both as JSON.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use tekkan_app::incidents::{BreachDraft, BreachInput};
use tekkan_core::IncidentId;

use crate::AppState;
use crate::error::WebResult;
use crate::extract::{ApiJson, Ids};
use crate::routes::Routes;
use crate::session::Auth;

pub fn routes() -> Routes {
    Routes::new()
        .get("/api/v1/admin/incidents/{incident}/breach", read)
        .put("/api/v1/admin/incidents/{incident}/breach", assess)
}

async fn read(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids(id): Ids<IncidentId>,
) -> WebResult<Json<BreachDraft>> {
    super::operator(&a)?;
    Ok(Json(st.app.breach_draft(Some(&a), id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AssessReq {
    /// Milliseconds since the epoch.
    from: i64,
    to: i64,
    exposure: String,
    #[serde(default)]
    actors: Vec<String>,
    #[serde(default)]
    address_prefixes: Vec<String>,
    #[serde(default)]
    key_compromised: bool,
    #[serde(default)]
    malicious: bool,
    #[serde(default)]
    financial_harm: bool,
    #[serde(default)]
    secondary_harm: String,
    #[serde(default)]
    response: String,
    #[serde(default)]
    publication: String,
    #[serde(default)]
    other: String,
}

async fn assess(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids(id): Ids<IncidentId>,
    ApiJson(r): ApiJson<AssessReq>,
) -> WebResult<Json<BreachDraft>> {
    super::operator(&a)?;
    st.app
        .assess_breach(
            Some(&a),
            id,
            BreachInput {
                from_ms: r.from,
                to_ms: r.to,
                exposure: r.exposure,
                actors: r.actors,
                address_prefixes: r.address_prefixes,
                key_compromised: r.key_compromised,
                malicious: r.malicious,
                financial_harm: r.financial_harm,
                secondary_harm: r.secondary_harm,
                response: r.response,
                publication: r.publication,
                other: r.other,
            },
        )
        .await?;
    Ok(Json(st.app.breach_draft(Some(&a), id).await?))
}
