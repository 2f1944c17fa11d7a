//! Setup, sign-up, login (returns a bearer token), logout, and who am I.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tekkan_app::{JoinOutcome, LoginOutcome, NewSession, SignUp};
use tekkan_core::AccountId;

use crate::AppState;
use crate::error::WebResult;
use crate::extract::ApiJson;
use crate::routes::Routes;
use crate::session::{Auth, Caller};

pub fn routes() -> Routes {
    Routes::new()
        .post("/api/v1/setup", setup)
        .post("/api/v1/accounts", sign_up)
        .post("/api/v1/accounts/confirm", confirm_sign_up)
        .post("/api/v1/session", log_in)
        .post("/api/v1/session/second-step", second_step)
        .delete("/api/v1/session", log_out)
        .get("/api/v1/me", me)
}

#[derive(Deserialize)]
struct SetupReq {
    token: String,
    email: String,
    display_name: String,
    password: String,
}

#[derive(Deserialize)]
struct SignUpReq {
    email: String,
    display_name: String,
    password: String,
    invitation: Option<String>,
}

#[derive(Deserialize)]
struct LogInReq {
    email: String,
    password: String,
    /// The `device_token` of an earlier sign-in from this client, if it kept one.
    #[serde(default)]
    device_token: Option<String>,
}

/// A bearer token for `Authorization: Bearer …`, shown once.
#[derive(Serialize)]
pub(super) struct SessionRes {
    account_id: AccountId,
    token: String,
    expires_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    joined: Option<JoinOutcome>,
    /// Keep it and send it with later logins: guesses made elsewhere that lock the
    /// account do not lock out a client that has signed in before.
    #[serde(skip_serializing_if = "Option::is_none")]
    device_token: Option<String>,
}

pub(super) fn session_res(s: NewSession, joined: Option<JoinOutcome>) -> SessionRes {
    SessionRes {
        account_id: s.account,
        token: s.token,
        expires_at: s.expires_at,
        joined,
        device_token: s.device,
    }
}

async fn setup(
    State(st): State<AppState>,
    c: Caller,
    ApiJson(r): ApiJson<SetupReq>,
) -> WebResult<(StatusCode, Json<SessionRes>)> {
    let s = st
        .app
        .complete_setup(&r.token, &r.email, &r.display_name, &r.password, &c.origin)
        .await?;
    Ok((StatusCode::CREATED, Json(session_res(s, None))))
}

/// 201 with a session, or (on a server that sends e-mail) 202: the link to finish went
/// to the address, and the answer is the same whether or not it already has an account.
async fn sign_up(
    State(st): State<AppState>,
    c: Caller,
    ApiJson(r): ApiJson<SignUpReq>,
) -> WebResult<Response> {
    let outcome = st
        .app
        .sign_up(
            &r.email,
            &r.display_name,
            &r.password,
            r.invitation.as_deref(),
            &c.origin,
        )
        .await?;
    Ok(match outcome {
        SignUp::Session(s, joined) => {
            (StatusCode::CREATED, Json(session_res(s, joined))).into_response()
        }
        SignUp::CheckEmail => (
            StatusCode::ACCEPTED,
            Json(serde_json::json!({ "check_email": true })),
        )
            .into_response(),
    })
}

#[derive(Deserialize)]
struct ConfirmReq {
    token: String,
}

async fn confirm_sign_up(
    State(st): State<AppState>,
    c: Caller,
    ApiJson(r): ApiJson<ConfirmReq>,
) -> WebResult<(StatusCode, Json<SessionRes>)> {
    let (s, joined) = st.app.confirm_sign_up(&r.token, &c.origin).await?;
    Ok((StatusCode::CREATED, Json(session_res(s, joined))))
}

/// 201 with a session, or 202 with a token for the second step.
async fn log_in(
    State(st): State<AppState>,
    c: Caller,
    ApiJson(r): ApiJson<LogInReq>,
) -> WebResult<Response> {
    let mut origin = c.origin;
    if r.device_token.is_some() {
        origin.device = r.device_token;
    }
    Ok(match st.app.log_in(&r.email, &r.password, &origin).await? {
        LoginOutcome::Session(s) => {
            (StatusCode::CREATED, Json(session_res(s, None))).into_response()
        }
        LoginOutcome::SecondStep { token } => (
            StatusCode::ACCEPTED,
            Json(serde_json::json!({
                "second_step": token,
                "methods": ["totp", "recovery_code"],
            })),
        )
            .into_response(),
    })
}

#[derive(Deserialize)]
struct SecondStepReq {
    token: String,
    code: String,
}

async fn second_step(
    State(st): State<AppState>,
    c: Caller,
    ApiJson(r): ApiJson<SecondStepReq>,
) -> WebResult<(StatusCode, Json<SessionRes>)> {
    let s = st.app.second_step(&r.token, &r.code, &c.origin).await?;
    Ok((StatusCode::CREATED, Json(session_res(s, None))))
}

async fn log_out(State(st): State<AppState>, Auth(a): Auth) -> WebResult<StatusCode> {
    st.app.log_out(&a).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize)]
struct MeRes {
    account_id: AccountId,
    email: String,
    display_name: String,
    is_operator: bool,
    has_mfa: bool,
    /// Must add a second factor before anything else.
    mfa_setup_required: bool,
}

async fn me(Auth(a): Auth) -> Json<MeRes> {
    Json(MeRes {
        mfa_setup_required: a.must_enrol_mfa(),
        account_id: a.account,
        email: a.email,
        display_name: a.display_name,
        is_operator: a.is_operator,
        has_mfa: a.has_mfa,
    })
}
