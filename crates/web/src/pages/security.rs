//! Account protection pages: lifting a login lockout from the e-mailed link.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{render, see_other};
use crate::AppState;
use crate::error::WebResult;
use crate::extract::{PageCtx, PageForm};
use crate::routes::Routes;
use crate::session::Caller;

pub fn routes() -> Routes {
    Routes::new()
        .get("/unlock", unlock_form)
        .post("/unlock", unlock)
}

#[derive(Deserialize)]
struct TokenForm {
    #[serde(default)]
    token: String,
}

#[derive(Template)]
#[template(path = "unlock.html")]
struct UnlockPage {
    p: PageCtx,
    token: String,
}

/// The link only shows a button: mail scanners that open links must not use it up.
async fn unlock_form(p: PageCtx, Query(q): Query<TokenForm>) -> WebResult<Response> {
    Ok(render(&UnlockPage { p, token: q.token })?.into_response())
}

async fn unlock(
    State(st): State<AppState>,
    c: Caller,
    PageForm(f): PageForm<TokenForm>,
) -> WebResult<Response> {
    st.app.unlock_login(&f.token, &c.origin).await?;
    Ok(see_other("/login?msg=unlocked"))
}
