//! My data and my rights (APPI): download everything, correct my name, ask for a stop
//! of use or a correction, delete my account.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{form_error, render, see_other};
use crate::AppState;
use crate::api::v1::privacy::zip_response;
use crate::error::{WebError, WebResult};
use crate::extract::{PageCtx, PageForm};
use crate::routes::Routes;
use crate::session::Auth;

pub fn routes() -> Routes {
    Routes::new()
        .get("/settings/privacy", show)
        .get("/settings/privacy/export", export)
        .post("/settings/privacy/name", rename)
        .post("/settings/privacy/request", request)
        .post("/settings/privacy/delete", delete)
}

#[derive(Template)]
#[template(path = "privacy.html")]
struct PrivacyPage {
    p: PageCtx,
    name: String,
    stale: bool,
    error: Option<String>,
}

fn page(a: &tekkan_app::Actor, p: PageCtx, error: Option<String>) -> WebResult<Response> {
    let stale = tekkan_storage::now_ms() - a.reauth_at > tekkan_app::REAUTH_WINDOW_MS;
    let name = a.display_name.clone();
    Ok(render(&PrivacyPage {
        p,
        name,
        stale,
        error,
    })?
    .into_response())
}

async fn show(Auth(a): Auth, p: PageCtx) -> WebResult<Response> {
    page(&a, p, None)
}

fn refused(a: &tekkan_app::Actor, p: PageCtx, e: tekkan_app::AppError) -> WebResult<Response> {
    let e = WebError::from(e);
    let error = form_error(&p, &e);
    let mut res = page(a, p, error)?;
    *res.status_mut() = e.info().status;
    Ok(res)
}

async fn export(State(st): State<AppState>, Auth(a): Auth, p: PageCtx) -> WebResult<Response> {
    match st.app.export_my_data(&a).await {
        Ok(e) => Ok(zip_response(e)),
        Err(e) => refused(&a, p, e),
    }
}

#[derive(Deserialize)]
struct NameForm {
    #[serde(default)]
    display_name: String,
}

async fn rename(
    State(st): State<AppState>,
    Auth(a): Auth,
    p: PageCtx,
    PageForm(f): PageForm<NameForm>,
) -> WebResult<Response> {
    match st.app.rename_me(&a, &f.display_name).await {
        Ok(()) => Ok(see_other("/settings/privacy?msg=saved")),
        Err(e) => refused(&a, p, e),
    }
}

#[derive(Deserialize)]
struct RequestForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    details: String,
}

async fn request(
    State(st): State<AppState>,
    Auth(a): Auth,
    p: PageCtx,
    PageForm(f): PageForm<RequestForm>,
) -> WebResult<Response> {
    match st.app.request_privacy(&a, &f.kind, &f.details).await {
        Ok(_) => Ok(see_other("/settings/privacy?msg=privacy_requested")),
        Err(e) => refused(&a, p, e),
    }
}

#[derive(Deserialize)]
struct DeleteForm {
    #[serde(default)]
    confirm: String,
}

async fn delete(
    State(st): State<AppState>,
    Auth(a): Auth,
    p: PageCtx,
    PageForm(f): PageForm<DeleteForm>,
) -> WebResult<Response> {
    if f.confirm != "yes" {
        let e = tekkan_core::ValidationError::Empty { field: "confirm" };
        return refused(&a, p, e.into());
    }
    match st.app.delete_my_account(&a).await {
        Ok(()) => Ok(see_other("/?msg=account_deleted")),
        Err(e) => refused(&a, p, e),
    }
}
