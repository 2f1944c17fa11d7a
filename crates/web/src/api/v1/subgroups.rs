//! Sub-groups and their members.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tekkan_core::{ClubId, MembershipId, SubgroupId, SubgroupKind};

use super::{Named, named};
use crate::AppState;
use crate::error::WebResult;
use crate::extract::{ApiJson, Ids};
use crate::routes::Routes;
use crate::session::Auth;

pub fn routes() -> Routes {
    Routes::new()
        .get("/api/v1/clubs/{club}/subgroups", list)
        .post("/api/v1/clubs/{club}/subgroups", create)
        .patch("/api/v1/clubs/{club}/subgroups/{subgroup}", update)
        .delete("/api/v1/clubs/{club}/subgroups/{subgroup}", delete)
        .put(
            "/api/v1/clubs/{club}/subgroups/{subgroup}/members/{member}",
            add_member,
        )
        .delete(
            "/api/v1/clubs/{club}/subgroups/{subgroup}/members/{member}",
            remove_member,
        )
}

#[derive(Serialize)]
struct SubgroupRes {
    id: SubgroupId,
    name: String,
    kind: SubgroupKind,
    members: Vec<Named>,
}

async fn list(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids(club): Ids<ClubId>,
) -> WebResult<Json<Vec<SubgroupRes>>> {
    let v = st.app.subgroups(&a, club).await?.groups;
    Ok(Json(
        v.into_iter()
            .map(|s| SubgroupRes {
                id: s.id,
                name: s.name,
                kind: s.kind,
                members: named(s.members),
            })
            .collect(),
    ))
}

#[derive(Deserialize)]
struct SubgroupReq {
    name: String,
    kind: SubgroupKind,
}

async fn create(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids(club): Ids<ClubId>,
    ApiJson(r): ApiJson<SubgroupReq>,
) -> WebResult<(StatusCode, Json<SubgroupRes>)> {
    let s = st.app.create_subgroup(&a, club, &r.name, r.kind).await?;
    Ok((
        StatusCode::CREATED,
        Json(SubgroupRes {
            id: s.id,
            name: s.name,
            kind: s.kind,
            members: Vec::new(),
        }),
    ))
}

async fn update(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, sg)): Ids<(ClubId, SubgroupId)>,
    ApiJson(r): ApiJson<SubgroupReq>,
) -> WebResult<StatusCode> {
    st.app
        .update_subgroup(&a, club, sg, &r.name, r.kind)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn delete(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, sg)): Ids<(ClubId, SubgroupId)>,
) -> WebResult<StatusCode> {
    st.app.delete_subgroup(&a, club, sg).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn add_member(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, sg, m)): Ids<(ClubId, SubgroupId, MembershipId)>,
) -> WebResult<StatusCode> {
    st.app.add_to_subgroup(&a, club, sg, m).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn remove_member(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, sg, m)): Ids<(ClubId, SubgroupId, MembershipId)>,
) -> WebResult<StatusCode> {
    st.app.remove_from_subgroup(&a, club, sg, m).await?;
    Ok(StatusCode::NO_CONTENT)
}
