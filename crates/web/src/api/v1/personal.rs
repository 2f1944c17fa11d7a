//! Personal fields: my own (read, set, remove, who sees my phone and address), a club
//! member's as I may see them, and a guardian's consent for a minor.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use tekkan_app::{Profile, ProfileInput};
use tekkan_core::personal::{PersonalField, Visibility};
use tekkan_core::{ClubId, MembershipId};

use crate::AppState;
use crate::error::WebResult;
use crate::extract::{ApiJson, Ids};
use crate::routes::Routes;
use crate::session::Auth;

pub fn routes() -> Routes {
    Routes::new()
        .get("/api/v1/me/personal", mine)
        .put("/api/v1/me/personal", update)
        .get("/api/v1/clubs/{club}/members/{member}/personal", member)
        .post(
            "/api/v1/clubs/{club}/members/{member}/personal-consent",
            consent,
        )
}

async fn mine(State(st): State<AppState>, Auth(a): Auth) -> WebResult<Json<Profile>> {
    Ok(Json(st.app.my_profile(&a).await?))
}

/// Fields to set (an empty string removes one); visibility of phone and address.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateReq {
    #[serde(default)]
    fields: BTreeMap<PersonalField, String>,
    phone_visibility: Option<Visibility>,
    address_visibility: Option<Visibility>,
}

async fn update(
    State(st): State<AppState>,
    Auth(a): Auth,
    ApiJson(r): ApiJson<UpdateReq>,
) -> WebResult<Json<Profile>> {
    let input = ProfileInput {
        fields: r.fields,
        phone_visibility: r.phone_visibility,
        address_visibility: r.address_visibility,
    };
    Ok(Json(st.app.update_profile(&a, input).await?))
}

async fn member(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, member)): Ids<(ClubId, MembershipId)>,
) -> WebResult<Json<Profile>> {
    Ok(Json(st.app.member_profile(&a, club, member).await?))
}

async fn consent(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, member)): Ids<(ClubId, MembershipId)>,
) -> WebResult<StatusCode> {
    st.app.consent_personal(&a, club, member).await?;
    Ok(StatusCode::NO_CONTENT)
}
