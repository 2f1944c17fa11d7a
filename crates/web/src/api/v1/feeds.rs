//! The caller's calendar feed URL, and the feed itself (authorised by its secret token).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::events::rfc3339;
use crate::AppState;
use crate::error::WebResult;
use crate::extract::{Ids, PageCtx};
use crate::routes::Routes;
use crate::session::Auth;

pub fn routes() -> Routes {
    Routes::new()
        .get("/api/v1/me/calendar-feed", status)
        .post("/api/v1/me/calendar-feed", create)
        .delete("/api/v1/me/calendar-feed", revoke)
        .get("/calendar/{file}", feed)
}

/// The feed URL for a token.
pub fn feed_url(st: &AppState, token: &str) -> String {
    format!("{}/calendar/{token}.ics", st.config.base_url)
}

#[derive(Serialize)]
struct Status {
    active: bool,
    created_at: Option<String>,
}

async fn status(State(st): State<AppState>, Auth(a): Auth) -> WebResult<Json<Status>> {
    let c = st.app.feed_status(&a).await?;
    Ok(Json(Status {
        active: c.is_some(),
        created_at: c.map(rfc3339),
    }))
}

#[derive(Serialize)]
struct Created {
    /// Shown once: only a hash of its token is kept.
    url: String,
    webcal: String,
}

async fn create(
    State(st): State<AppState>,
    Auth(a): Auth,
) -> WebResult<(StatusCode, Json<Created>)> {
    let token = st.app.create_feed(&a).await?;
    let url = feed_url(&st, &token);
    let webcal = url
        .replacen("https://", "webcal://", 1)
        .replacen("http://", "webcal://", 1);
    Ok((StatusCode::CREATED, Json(Created { url, webcal })))
}

/// Idempotent: revoking when there is no feed is not an error.
async fn revoke(State(st): State<AppState>, Auth(a): Auth) -> WebResult<StatusCode> {
    st.app.revoke_feed(&a).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn feed(
    State(st): State<AppState>,
    p: PageCtx,
    Ids(file): Ids<String>,
) -> WebResult<Response> {
    let token = file.strip_suffix(".ics").unwrap_or(&file);
    let host = st
        .config
        .base_url
        .split("://")
        .nth(1)
        .unwrap_or("tekkan")
        .split(['/', ':'])
        .next()
        .unwrap_or("tekkan")
        .to_owned();
    let body = st
        .app
        .feed(token, &host, "TEKKAN", p.t.s("field.bring"))
        .await?;
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/calendar; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("inline; filename=\"tekkan.ics\""),
    );
    Ok(res)
}
