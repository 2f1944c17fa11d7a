//! Getting back in and changing how one signs in: password reset, password and e-mail
//! changes, the sessions I have open, and the operator's hold over other accounts.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tekkan_app::SessionInfo;
use tekkan_core::{AccountId, SessionId};

use super::auth::{SessionRes, session_res};
use crate::AppState;
use crate::error::WebResult;
use crate::extract::{ApiJson, Ids};
use crate::routes::Routes;
use crate::session::{Auth, Caller};

pub fn routes() -> Routes {
    Routes::new()
        .post("/api/v1/password-reset", request_reset)
        .post("/api/v1/password-reset/complete", complete_reset)
        .put("/api/v1/me/password", change_password)
        .put("/api/v1/me/email", change_email)
        .post("/api/v1/email-change/confirm", confirm_email)
        .get("/api/v1/me/sessions", sessions)
        .delete("/api/v1/me/sessions", end_others)
        .delete("/api/v1/me/sessions/{session}", end_one)
        .delete(
            "/api/v1/admin/accounts/{account}/sessions",
            admin_end_sessions,
        )
        .post("/api/v1/admin/accounts/{account}/disable", admin_disable)
        .post("/api/v1/admin/accounts/{account}/enable", admin_enable)
}

#[derive(Deserialize)]
struct EmailReq {
    email: String,
}

/// Always 202 for a well-formed address: whether it has an account is not said.
async fn request_reset(
    State(st): State<AppState>,
    c: Caller,
    ApiJson(r): ApiJson<EmailReq>,
) -> WebResult<StatusCode> {
    st.app.request_password_reset(&r.email, &c.origin).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Deserialize)]
struct ResetReq {
    token: String,
    password: String,
    /// A TOTP or recovery code, when the account has two-step verification.
    code: Option<String>,
}

async fn complete_reset(
    State(st): State<AppState>,
    c: Caller,
    ApiJson(r): ApiJson<ResetReq>,
) -> WebResult<(StatusCode, Json<SessionRes>)> {
    let s = st
        .app
        .reset_password(&r.token, &r.password, r.code.as_deref(), &c.origin)
        .await?;
    Ok((StatusCode::CREATED, Json(session_res(s, None))))
}

#[derive(Deserialize)]
struct PasswordReq {
    current_password: String,
    password: String,
}

#[derive(Serialize)]
struct PasswordRes {
    /// Sessions still open elsewhere: `DELETE /api/v1/me/sessions` ends them.
    other_sessions: usize,
}

async fn change_password(
    State(st): State<AppState>,
    Auth(a): Auth,
    ApiJson(r): ApiJson<PasswordReq>,
) -> WebResult<Json<PasswordRes>> {
    let other_sessions = st
        .app
        .change_password(&a, &r.current_password, &r.password)
        .await?;
    Ok(Json(PasswordRes { other_sessions }))
}

/// 202: a link goes to the new address, which counts once it is followed.
async fn change_email(
    State(st): State<AppState>,
    Auth(a): Auth,
    ApiJson(r): ApiJson<EmailReq>,
) -> WebResult<StatusCode> {
    st.app.request_email_change(&a, &r.email).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Deserialize)]
struct TokenReq {
    token: String,
}

async fn confirm_email(
    State(st): State<AppState>,
    c: Caller,
    ApiJson(r): ApiJson<TokenReq>,
) -> WebResult<StatusCode> {
    st.app.confirm_email_change(&r.token, &c.origin).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn sessions(State(st): State<AppState>, Auth(a): Auth) -> WebResult<Json<Vec<SessionInfo>>> {
    Ok(Json(st.app.my_sessions(&a).await?))
}

#[derive(Serialize)]
struct EndedRes {
    ended: u64,
}

async fn end_others(State(st): State<AppState>, Auth(a): Auth) -> WebResult<Json<EndedRes>> {
    let ended = st.app.end_other_sessions(&a).await?;
    Ok(Json(EndedRes { ended }))
}

async fn end_one(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids(id): Ids<SessionId>,
) -> WebResult<StatusCode> {
    st.app.end_session(&a, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn admin_end_sessions(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids(id): Ids<AccountId>,
) -> WebResult<Json<EndedRes>> {
    let ended = st.app.operator_end_sessions(&a, id).await?;
    Ok(Json(EndedRes { ended }))
}

async fn admin_disable(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids(id): Ids<AccountId>,
) -> WebResult<StatusCode> {
    st.app.set_account_disabled(&a, id, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn admin_enable(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids(id): Ids<AccountId>,
) -> WebResult<StatusCode> {
    st.app.set_account_disabled(&a, id, false).await?;
    Ok(StatusCode::NO_CONTENT)
}
