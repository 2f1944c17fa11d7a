//! Clubs: mine, create, read, edit, leave.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tekkan_core::{ClubId, MembershipId, MembershipStatus, Role, SubgroupId, SubgroupKind};
use tekkan_storage::Club;

use crate::AppState;
use crate::error::WebResult;
use crate::extract::{ApiJson, Ids};
use crate::routes::Routes;
use crate::session::Auth;

pub fn routes() -> Routes {
    Routes::new()
        .get("/api/v1/clubs", my_clubs)
        .post("/api/v1/clubs", create)
        .get("/api/v1/clubs/{club}", show)
        .patch("/api/v1/clubs/{club}", update)
        .put("/api/v1/clubs/{club}/require-mfa", require_mfa)
        .post("/api/v1/clubs/{club}/leave", leave)
}

#[derive(Serialize)]
pub struct ClubRes {
    id: ClubId,
    name: String,
    description: String,
    timezone: String,
    created_at: i64,
}

impl From<Club> for ClubRes {
    fn from(c: Club) -> Self {
        Self {
            id: c.id,
            name: c.name,
            description: c.description,
            timezone: c.timezone,
            created_at: c.created_at,
        }
    }
}

#[derive(Serialize)]
struct MyClubRes {
    club: ClubRes,
    membership_id: MembershipId,
    role: Role,
    status: MembershipStatus,
}

async fn my_clubs(State(st): State<AppState>, Auth(a): Auth) -> WebResult<Json<Vec<MyClubRes>>> {
    let list = st.app.my_clubs(&a).await?;
    Ok(Json(
        list.into_iter()
            .map(|(c, m)| MyClubRes {
                club: c.into(),
                membership_id: m.id,
                role: m.role,
                status: m.status,
            })
            .collect(),
    ))
}

#[derive(Deserialize)]
struct ClubReq {
    name: String,
    #[serde(default)]
    description: String,
    /// IANA zone for events made from now on (`Asia/Tokyo` when a club is created).
    #[serde(default)]
    timezone: Option<String>,
}

async fn create(
    State(st): State<AppState>,
    Auth(a): Auth,
    ApiJson(r): ApiJson<ClubReq>,
) -> WebResult<(StatusCode, Json<ClubRes>)> {
    let c = st.app.create_club(&a, &r.name, &r.description).await?;
    Ok((StatusCode::CREATED, Json(c.into())))
}

#[derive(Serialize)]
struct SubgroupBrief {
    id: SubgroupId,
    name: String,
    kind: SubgroupKind,
}

#[derive(Serialize)]
struct ClubDetailRes {
    club: ClubRes,
    membership_id: MembershipId,
    role: Role,
    active_members: usize,
    pending_requests: usize,
    subgroups: Vec<SubgroupBrief>,
}

async fn show(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids(club): Ids<ClubId>,
) -> WebResult<Json<ClubDetailRes>> {
    let o = st.app.club_overview(&a, club).await?;
    Ok(Json(ClubDetailRes {
        club: o.club.into(),
        membership_id: o.me.id,
        role: o.me.role,
        active_members: o.active_members,
        pending_requests: o.pending_requests,
        subgroups: o
            .subgroups
            .into_iter()
            .map(|s| SubgroupBrief {
                id: s.id,
                name: s.name,
                kind: s.kind,
            })
            .collect(),
    }))
}

async fn update(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids(club): Ids<ClubId>,
    ApiJson(r): ApiJson<ClubReq>,
) -> WebResult<Json<ClubRes>> {
    Ok(Json(
        st.app
            .update_club(&a, club, &r.name, &r.description, r.timezone.as_deref())
            .await?
            .into(),
    ))
}

async fn leave(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids(club): Ids<ClubId>,
) -> WebResult<StatusCode> {
    st.app.leave_club(&a, club).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct RequireMfaReq {
    required: bool,
}

/// Every member of the club must use two-step verification (or no longer must).
async fn require_mfa(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids(club): Ids<ClubId>,
    ApiJson(r): ApiJson<RequireMfaReq>,
) -> WebResult<StatusCode> {
    st.app.set_club_mfa(&a, club, r.required).await?;
    Ok(StatusCode::NO_CONTENT)
}
