//! Invitation pages: the list, creating a link (shown once, with its QR code), revoking,
//! and the page a link opens.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tekkan_app::{InvitationPreview, InvitationSpec};
use tekkan_core::{ClubId, InvitationId, MembershipStatus, Role, SubgroupId};
use tekkan_storage::{Invitation, Subgroup, now_ms};

use super::{render, see_other};
use crate::AppState;
use crate::api::v1::invitations::{join_url, qr_svg, state_of};
use crate::error::WebResult;
use crate::extract::{Ids, PageCtx, PageForm};
use crate::routes::Routes;
use crate::session::{Auth, Caller};

pub fn routes() -> Routes {
    Routes::new()
        .get("/clubs/{club}/invitations", list)
        .post("/clubs/{club}/invitations", create)
        .post("/clubs/{club}/invitations/{invitation}/revoke", revoke)
        .get("/join/{token}", join_page)
        .post("/join/{token}", join)
}

#[derive(Template)]
#[template(path = "invitations.html")]
struct InvitationsPage {
    p: PageCtx,
    club: ClubId,
    invitations: Vec<(Invitation, &'static str)>,
    roles: Vec<Role>,
    subgroups: Vec<Subgroup>,
    hours: [i64; 4],
}

async fn list(
    State(st): State<AppState>,
    Auth(a): Auth,
    p: PageCtx,
    Ids(club): Ids<ClubId>,
) -> WebResult<Response> {
    let (me, list) = st.app.invitations(&a, club).await?;
    let now = now_ms();
    let invitations = list.into_iter().map(|i| {
        let s = state_of(&i, now);
        (i, s)
    });
    let roles = Role::ALL
        .into_iter()
        .filter(|r| me.role.may_grant(*r))
        .collect();
    let subgroups = st.app.subgroup_list(&a, club).await?;
    Ok(render(&InvitationsPage {
        p,
        club,
        invitations: invitations.collect(),
        roles,
        subgroups,
        hours: [1, 24, 168, 720],
    })?
    .into_response())
}

#[derive(Deserialize)]
struct CreateForm {
    role: Role,
    expires_in_hours: i64,
    max_uses: i64,
    #[serde(default)]
    requires_approval: Option<String>,
    #[serde(default)]
    subgroup: String,
}

#[derive(Template)]
#[template(path = "invitation_created.html")]
struct CreatedPage {
    p: PageCtx,
    club: ClubId,
    url: String,
    qr: String,
    inv: Invitation,
}

async fn create(
    State(st): State<AppState>,
    Auth(a): Auth,
    p: PageCtx,
    Ids(club): Ids<ClubId>,
    PageForm(f): PageForm<CreateForm>,
) -> WebResult<Response> {
    let subgroup = match f.subgroup.as_str() {
        "" => None,
        s => Some(
            SubgroupId::parse(s)
                .ok_or(tekkan_core::ValidationError::Invalid { field: "subgroup" })
                .map_err(tekkan_app::AppError::from)?,
        ),
    };
    let spec = InvitationSpec {
        role: f.role,
        expires_in_hours: f.expires_in_hours,
        max_uses: f.max_uses,
        requires_approval: f.requires_approval.is_some(),
        subgroup,
    };
    let (inv, token) = st.app.create_invitation(&a, club, spec).await?;
    let url = join_url(&st, &token);
    let qr = qr_svg(&url)?;
    // Shown in this response only: the token is not stored and cannot be shown again.
    Ok(render(&CreatedPage {
        p,
        club,
        url,
        qr,
        inv,
    })?
    .into_response())
}

async fn revoke(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, id)): Ids<(ClubId, InvitationId)>,
) -> WebResult<Response> {
    st.app.revoke_invitation(&a, club, id).await?;
    Ok(see_other(&format!("/clubs/{club}/invitations?msg=saved")))
}

#[derive(Template)]
#[template(path = "join.html")]
struct JoinPage {
    p: PageCtx,
    token: String,
    inv: InvitationPreview,
    logged_in: bool,
}

async fn join_page(
    State(st): State<AppState>,
    c: Caller,
    p: PageCtx,
    Ids(token): Ids<String>,
) -> WebResult<Response> {
    let inv = st.app.preview_invitation(&token, &c.origin).await?;
    Ok(render(&JoinPage {
        p,
        token,
        inv,
        logged_in: c.actor.is_some(),
    })?
    .into_response())
}

async fn join(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids(token): Ids<String>,
) -> WebResult<Response> {
    let out = st.app.accept_invitation(&a, &token).await?;
    Ok(match out.status {
        MembershipStatus::Active => see_other(&format!("/clubs/{}?msg=joined", out.club_id)),
        _ => see_other("/clubs?msg=pending"),
    })
}
