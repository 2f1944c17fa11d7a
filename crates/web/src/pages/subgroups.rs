//! The sub-groups page and its actions.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tekkan_app::SubgroupView;
use tekkan_core::{ClubId, MembershipId, Permission, SubgroupId, SubgroupKind};

use super::{render, see_other};
use crate::AppState;
use crate::error::WebResult;
use crate::extract::{Ids, PageCtx, PageForm};
use crate::routes::Routes;
use crate::session::Auth;

pub fn routes() -> Routes {
    Routes::new()
        .get("/clubs/{club}/subgroups", list)
        .post("/clubs/{club}/subgroups", create)
        .post("/clubs/{club}/subgroups/{subgroup}/edit", update)
        .post("/clubs/{club}/subgroups/{subgroup}/delete", delete)
        .post("/clubs/{club}/subgroups/{subgroup}/members", add_member)
        .post(
            "/clubs/{club}/subgroups/{subgroup}/members/{member}/remove",
            remove_member,
        )
}

#[derive(Template)]
#[template(path = "subgroups.html")]
struct SubgroupsPage {
    p: PageCtx,
    club: ClubId,
    groups: Vec<SubgroupView>,
    can_manage: bool,
    members: Vec<(MembershipId, String)>,
    kinds: [SubgroupKind; 3],
}

async fn list(
    State(st): State<AppState>,
    Auth(a): Auth,
    p: PageCtx,
    Ids(club): Ids<ClubId>,
) -> WebResult<Response> {
    let sg = st.app.subgroups(&a, club).await?;
    let can_manage = sg.me.role.allows(Permission::ManageSubgroups);
    let (groups, members) = (sg.groups, sg.active_members);
    Ok(render(&SubgroupsPage {
        p,
        club,
        groups,
        can_manage,
        members,
        kinds: SubgroupKind::ALL,
    })?
    .into_response())
}

fn back(club: ClubId) -> Response {
    see_other(&format!("/clubs/{club}/subgroups?msg=saved"))
}

#[derive(Deserialize)]
struct SubgroupForm {
    name: String,
    kind: SubgroupKind,
}

async fn create(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids(club): Ids<ClubId>,
    PageForm(f): PageForm<SubgroupForm>,
) -> WebResult<Response> {
    st.app.create_subgroup(&a, club, &f.name, f.kind).await?;
    Ok(back(club))
}

async fn update(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, sg)): Ids<(ClubId, SubgroupId)>,
    PageForm(f): PageForm<SubgroupForm>,
) -> WebResult<Response> {
    st.app
        .update_subgroup(&a, club, sg, &f.name, f.kind)
        .await?;
    Ok(back(club))
}

async fn delete(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, sg)): Ids<(ClubId, SubgroupId)>,
) -> WebResult<Response> {
    st.app.delete_subgroup(&a, club, sg).await?;
    Ok(back(club))
}

#[derive(Deserialize)]
struct MemberForm {
    member: MembershipId,
}

async fn add_member(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, sg)): Ids<(ClubId, SubgroupId)>,
    PageForm(f): PageForm<MemberForm>,
) -> WebResult<Response> {
    st.app.add_to_subgroup(&a, club, sg, f.member).await?;
    Ok(back(club))
}

async fn remove_member(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, sg, m)): Ids<(ClubId, SubgroupId, MembershipId)>,
) -> WebResult<Response> {
    st.app.remove_from_subgroup(&a, club, sg, m).await?;
    Ok(back(club))
}
