//! The roster page and its actions: roles, join requests, removal, guardian links.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tekkan_app::Roster;
use tekkan_core::{ClubId, MembershipId, MembershipStatus, Role};

use super::{render, see_other};
use crate::AppState;
use crate::error::WebResult;
use crate::extract::{Ids, PageCtx, PageForm};
use crate::routes::Routes;
use crate::session::Auth;

pub fn routes() -> Routes {
    Routes::new()
        .get("/clubs/{club}/members", list)
        .post("/clubs/{club}/members/{member}/role", change_role)
        .post("/clubs/{club}/members/{member}/remove", remove)
        .post("/clubs/{club}/members/{member}/approve", approve)
        .post("/clubs/{club}/members/{member}/reject", reject)
        .post("/clubs/{club}/guardian-links", link)
        .post(
            "/clubs/{club}/members/{member}/students/{student}/unlink",
            unlink,
        )
}

#[derive(Template)]
#[template(path = "members.html")]
struct MembersPage {
    p: PageCtx,
    club: ClubId,
    r: Roster,
    roles: Vec<Role>,
}

impl MembersPage {
    fn with_status(&self, s: MembershipStatus) -> Vec<&tekkan_app::RosterEntry> {
        self.r.entries.iter().filter(|e| e.status == s).collect()
    }

    fn former(&self) -> Vec<&tekkan_app::RosterEntry> {
        self.r
            .entries
            .iter()
            .filter(|e| matches!(e.status, MembershipStatus::Left | MembershipStatus::Removed))
            .collect()
    }

    fn active(&self) -> Vec<&tekkan_app::RosterEntry> {
        self.with_status(MembershipStatus::Active)
    }

    fn pending(&self) -> Vec<&tekkan_app::RosterEntry> {
        self.with_status(MembershipStatus::Pending)
    }

    fn guardians(&self) -> Vec<&tekkan_app::RosterEntry> {
        self.active()
            .into_iter()
            .filter(|e| e.role == Role::Guardian)
            .collect()
    }

    fn students(&self) -> Vec<&tekkan_app::RosterEntry> {
        self.active()
            .into_iter()
            .filter(|e| e.role != Role::Guardian)
            .collect()
    }
}

async fn list(
    State(st): State<AppState>,
    Auth(a): Auth,
    p: PageCtx,
    Ids(club): Ids<ClubId>,
) -> WebResult<Response> {
    let r = st.app.roster(&a, club).await?;
    let roles = Role::ALL
        .into_iter()
        .filter(|x| r.me.role.may_grant(*x))
        .collect();
    Ok(render(&MembersPage { p, club, r, roles })?.into_response())
}

fn back(club: ClubId) -> Response {
    see_other(&format!("/clubs/{club}/members?msg=saved"))
}

#[derive(Deserialize)]
struct RoleForm {
    role: Role,
    /// Filled in by the page's script when the officer signs with a passkey.
    #[serde(rename = "_signature", default)]
    signature: Option<String>,
}

async fn change_role(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, m)): Ids<(ClubId, MembershipId)>,
    PageForm(f): PageForm<RoleForm>,
) -> WebResult<Response> {
    let sig = crate::api::v1::signing::form_signature(f.signature.as_deref())?;
    st.app
        .change_role(&a, club, m, f.role, sig.as_ref())
        .await?;
    Ok(back(club))
}

async fn remove(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, m)): Ids<(ClubId, MembershipId)>,
) -> WebResult<Response> {
    st.app.remove_member(&a, club, m).await?;
    Ok(back(club))
}

async fn approve(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, m)): Ids<(ClubId, MembershipId)>,
) -> WebResult<Response> {
    st.app.decide_request(&a, club, m, true).await?;
    Ok(back(club))
}

async fn reject(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, m)): Ids<(ClubId, MembershipId)>,
) -> WebResult<Response> {
    st.app.decide_request(&a, club, m, false).await?;
    Ok(back(club))
}

#[derive(Deserialize)]
struct LinkForm {
    guardian: MembershipId,
    student: MembershipId,
}

async fn link(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids(club): Ids<ClubId>,
    PageForm(f): PageForm<LinkForm>,
) -> WebResult<Response> {
    st.app
        .link_guardian(&a, club, f.guardian, f.student)
        .await?;
    Ok(back(club))
}

async fn unlink(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, g, s)): Ids<(ClubId, MembershipId, MembershipId)>,
) -> WebResult<Response> {
    st.app.unlink_guardian(&a, club, g, s).await?;
    Ok(back(club))
}
