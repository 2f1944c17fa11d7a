//! My clubs, creating a club, the club home, settings and leaving.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tekkan_app::ClubOverview;
use tekkan_core::{ClubId, Permission, Role};
use tekkan_storage::{Club, Membership};

use super::{form_error, render, see_other};
use crate::AppState;
use crate::error::{WebError, WebResult};
use crate::extract::{Ids, PageCtx, PageForm};
use crate::routes::Routes;
use crate::session::Auth;

pub fn routes() -> Routes {
    Routes::new()
        .get("/clubs", list)
        .get("/clubs/new", new_form)
        .post("/clubs", create)
        .get("/clubs/{club}", show)
        .get("/clubs/{club}/settings", settings_form)
        .post("/clubs/{club}/settings", settings)
        .post("/clubs/{club}/settings/mfa", settings_mfa)
        .post("/clubs/{club}/leave", leave)
        .get("/clubs/{club}/roles", roles)
}

#[derive(Template)]
#[template(path = "clubs.html")]
struct ClubsPage {
    p: PageCtx,
    clubs: Vec<(Club, Membership)>,
}

async fn list(State(st): State<AppState>, Auth(a): Auth, p: PageCtx) -> WebResult<Response> {
    let clubs = st.app.my_clubs(&a).await?;
    Ok(render(&ClubsPage { p, clubs })?.into_response())
}

#[derive(Deserialize, Default)]
struct ClubForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    timezone: String,
}

#[derive(Template)]
#[template(path = "club_form.html")]
struct ClubFormPage {
    p: PageCtx,
    f: ClubForm,
    /// `None` when creating.
    club: Option<ClubId>,
    error: Option<String>,
    /// For an existing club: whether every member must use two-step verification
    /// (`None` where the form is not shown).
    require_mfa: Option<bool>,
}

async fn new_form(Auth(_): Auth, p: PageCtx) -> WebResult<Response> {
    Ok(render(&ClubFormPage {
        p,
        f: ClubForm::default(),
        club: None,
        error: None,
        require_mfa: None,
    })?
    .into_response())
}

async fn create(
    State(st): State<AppState>,
    Auth(a): Auth,
    p: PageCtx,
    PageForm(f): PageForm<ClubForm>,
) -> WebResult<Response> {
    match st.app.create_club(&a, &f.name, &f.description).await {
        Ok(c) => Ok(see_other(&format!("/clubs/{}", c.id))),
        Err(e) => refused(p, f, None, e.into()),
    }
}

/// Shows the form again with what was typed and why it was refused.
fn refused(p: PageCtx, f: ClubForm, club: Option<ClubId>, e: WebError) -> WebResult<Response> {
    let error = form_error(&p, &e);
    if error.is_none() || e.info().status.as_u16() == 404 || e.info().status.as_u16() == 403 {
        return Err(e);
    }
    let mut res = render(&ClubFormPage {
        p,
        f,
        club,
        error,
        require_mfa: None,
    })?
    .into_response();
    *res.status_mut() = e.info().status;
    Ok(res)
}

#[derive(Template)]
#[template(path = "club.html")]
struct ClubPage {
    p: PageCtx,
    o: ClubOverview,
    can_edit: bool,
    can_invite: bool,
}

async fn show(
    State(st): State<AppState>,
    Auth(a): Auth,
    p: PageCtx,
    Ids(club): Ids<ClubId>,
) -> WebResult<Response> {
    let o = st.app.club_overview(&a, club).await?;
    let can_edit = o.me.role.allows(Permission::EditClub);
    let can_invite = o.me.role.allows(Permission::ManageInvitations);
    Ok(render(&ClubPage {
        p,
        o,
        can_edit,
        can_invite,
    })?
    .into_response())
}

async fn settings_form(
    State(st): State<AppState>,
    Auth(a): Auth,
    p: PageCtx,
    Ids(club): Ids<ClubId>,
) -> WebResult<Response> {
    let c = st.app.club_settings(&a, club).await?;
    let require_mfa = st.app.club_requires_mfa(&a, club).await?;
    let f = ClubForm {
        name: c.name,
        description: c.description,
        timezone: c.timezone,
    };
    Ok(render(&ClubFormPage {
        p,
        f,
        club: Some(club),
        error: None,
        require_mfa: Some(require_mfa),
    })?
    .into_response())
}

#[derive(Deserialize)]
struct MfaForm {
    #[serde(default)]
    required: String,
}

async fn settings_mfa(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids(club): Ids<ClubId>,
    PageForm(f): PageForm<MfaForm>,
) -> WebResult<Response> {
    st.app.set_club_mfa(&a, club, f.required == "on").await?;
    Ok(see_other(&format!("/clubs/{club}/settings?msg=saved")))
}

async fn settings(
    State(st): State<AppState>,
    Auth(a): Auth,
    p: PageCtx,
    Ids(club): Ids<ClubId>,
    PageForm(f): PageForm<ClubForm>,
) -> WebResult<Response> {
    let zone = Some(f.timezone.as_str());
    match st
        .app
        .update_club(&a, club, &f.name, &f.description, zone)
        .await
    {
        Ok(_) => Ok(see_other(&format!("/clubs/{club}?msg=saved"))),
        Err(e) => refused(p, f, Some(club), e.into()),
    }
}

async fn leave(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids(club): Ids<ClubId>,
) -> WebResult<Response> {
    st.app.leave_club(&a, club).await?;
    Ok(see_other("/clubs?msg=left"))
}

#[derive(Template)]
#[template(path = "roles.html")]
struct RolesPage {
    p: PageCtx,
    club: ClubId,
    me: Role,
    roles: [Role; 6],
    permissions: [Permission; 14],
}

/// What each role may do here, as the server enforces it.
async fn roles(
    State(st): State<AppState>,
    Auth(a): Auth,
    p: PageCtx,
    Ids(club): Ids<ClubId>,
) -> WebResult<Response> {
    let me = st.app.authorize(&a, club, Permission::ViewClub).await?.role;
    Ok(render(&RolesPage {
        p,
        club,
        me,
        roles: Role::ALL,
        permissions: Permission::ALL,
    })?
    .into_response())
}
