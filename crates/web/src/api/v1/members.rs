//! The roster, roles, join requests, removal and guardian links.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tekkan_core::{ClubId, MembershipId, MembershipStatus, Role};

use super::{Named, named};
use crate::AppState;
use crate::error::WebResult;
use crate::extract::{ApiJson, Ids};
use crate::routes::Routes;
use crate::session::Auth;

pub fn routes() -> Routes {
    Routes::new()
        .get("/api/v1/clubs/{club}/members", list)
        .put("/api/v1/clubs/{club}/members/{member}/role", change_role)
        .delete("/api/v1/clubs/{club}/members/{member}", remove)
        .post("/api/v1/clubs/{club}/members/{member}/approve", approve)
        .post("/api/v1/clubs/{club}/members/{member}/reject", reject)
        .put(
            "/api/v1/clubs/{club}/members/{member}/students/{student}",
            link,
        )
        .delete(
            "/api/v1/clubs/{club}/members/{member}/students/{student}",
            unlink,
        )
}

#[derive(Serialize)]
struct MemberRes {
    membership_id: MembershipId,
    display_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    role: Role,
    status: MembershipStatus,
    joined_at: i64,
    left_at: Option<i64>,
    subgroups: Vec<String>,
    guardian_of: Vec<Named>,
    guardians: Vec<Named>,
}

async fn list(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids(club): Ids<ClubId>,
) -> WebResult<Json<Vec<MemberRes>>> {
    let r = st.app.roster(&a, club).await?;
    Ok(Json(
        r.entries
            .into_iter()
            .map(|e| MemberRes {
                membership_id: e.membership_id,
                display_name: e.display_name,
                email: e.email,
                role: e.role,
                status: e.status,
                joined_at: e.joined_at,
                left_at: e.left_at,
                subgroups: e.subgroups,
                guardian_of: named(e.guardian_of),
                guardians: named(e.guardians),
            })
            .collect(),
    ))
}

#[derive(Deserialize)]
struct RoleReq {
    role: Role,
}

async fn change_role(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, member)): Ids<(ClubId, MembershipId)>,
    sig: super::signing::Signature,
    ApiJson(r): ApiJson<RoleReq>,
) -> WebResult<StatusCode> {
    st.app
        .change_role(&a, club, member, r.role, sig.0.as_ref())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn remove(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, member)): Ids<(ClubId, MembershipId)>,
) -> WebResult<StatusCode> {
    st.app.remove_member(&a, club, member).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn approve(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, member)): Ids<(ClubId, MembershipId)>,
) -> WebResult<StatusCode> {
    st.app.decide_request(&a, club, member, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn reject(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, member)): Ids<(ClubId, MembershipId)>,
) -> WebResult<StatusCode> {
    st.app.decide_request(&a, club, member, false).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn link(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, guardian, student)): Ids<(ClubId, MembershipId, MembershipId)>,
) -> WebResult<StatusCode> {
    st.app.link_guardian(&a, club, guardian, student).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn unlink(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, guardian, student)): Ids<(ClubId, MembershipId, MembershipId)>,
) -> WebResult<StatusCode> {
    st.app.unlink_guardian(&a, club, guardian, student).await?;
    Ok(StatusCode::NO_CONTENT)
}
