//! The operator's incidents over the API: open one, add steps (state, message, actions,
//! cause and prevention), publish, resolve, and list them with every step. Each call is
//! appended to the audit log; publishing tells the people concerned.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tekkan_app::incidents::{IncidentStep, IncidentView, NewIncident};
use tekkan_core::{ClubId, IncidentId};

use crate::AppState;
use crate::error::WebResult;
use crate::extract::{ApiJson, Ids};
use crate::routes::Routes;
use crate::session::Auth;

pub fn routes() -> Routes {
    Routes::new()
        .get("/api/v1/admin/incidents", list)
        .post("/api/v1/admin/incidents", open)
        .post("/api/v1/admin/incidents/{incident}/updates", step)
}

async fn list(State(st): State<AppState>, Auth(a): Auth) -> WebResult<Json<Vec<IncidentView>>> {
    super::operator(&a)?;
    Ok(Json(st.app.incidents(Some(&a)).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OpenReq {
    category: String,
    title: String,
    #[serde(default)]
    title_en: String,
    #[serde(default)]
    clubs: Vec<ClubId>,
    detected_at: Option<i64>,
    aware_at: Option<i64>,
    #[serde(default)]
    message: String,
    #[serde(default)]
    message_en: String,
    #[serde(default)]
    publish: bool,
}

#[derive(Serialize)]
struct Opened {
    id: IncidentId,
}

async fn open(
    State(st): State<AppState>,
    Auth(a): Auth,
    ApiJson(r): ApiJson<OpenReq>,
) -> WebResult<(StatusCode, Json<Opened>)> {
    super::operator(&a)?;
    let id = st
        .app
        .open_incident(
            Some(&a),
            NewIncident {
                category: r.category,
                title: r.title,
                title_en: r.title_en,
                clubs: r.clubs,
                detected_at: r.detected_at,
                aware_at: r.aware_at,
                message: r.message,
                message_en: r.message_en,
                publish: r.publish,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(Opened { id })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepReq {
    state: Option<String>,
    #[serde(default)]
    message: String,
    #[serde(default)]
    message_en: String,
    #[serde(default)]
    actions: String,
    #[serde(default)]
    internal: bool,
    #[serde(default)]
    publish: bool,
    cause: Option<String>,
    prevention: Option<String>,
}

async fn step(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids(id): Ids<IncidentId>,
    ApiJson(r): ApiJson<StepReq>,
) -> WebResult<StatusCode> {
    super::operator(&a)?;
    st.app
        .update_incident(
            Some(&a),
            id,
            IncidentStep {
                state: r.state,
                message: r.message,
                message_en: r.message_en,
                actions: r.actions,
                internal: r.internal,
                publish: r.publish,
                cause: r.cause,
                prevention: r.prevention,
            },
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
