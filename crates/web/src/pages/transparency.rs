//! The public transparency page: the newest signed checkpoint, the key history, and how
//! anyone can check the audit log without trusting the server.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use tekkan_app::AppError;
use tekkan_audit::export::KeyLine;

use super::render;
use crate::AppState;
use crate::error::WebResult;
use crate::extract::PageCtx;
use crate::routes::Routes;

pub fn routes() -> Routes {
    Routes::new().get("/transparency", show)
}

#[derive(Template)]
#[template(path = "transparency.html")]
struct TransparencyPage {
    p: PageCtx,
    note: Option<String>,
    size: i64,
    keys: Vec<KeyLine>,
}

async fn show(State(st): State<AppState>, p: PageCtx) -> WebResult<Response> {
    let c = st
        .app
        .db()
        .latest_checkpoint()
        .await
        .map_err(AppError::from)?;
    let keys = st
        .app
        .log_key_history()
        .await?
        .iter()
        .map(KeyLine::from_record)
        .collect();
    Ok(render(&TransparencyPage {
        p,
        size: c.as_ref().map_or(0, |c| c.size),
        note: c.map(|c| c.note),
        keys,
    })?
    .into_response())
}
