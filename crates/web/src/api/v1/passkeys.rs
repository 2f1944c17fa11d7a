//! Passkeys over JSON: options for the browser's WebAuthn calls, and the answers back
//! (register, sign in, re-check); listing and removing; going passkey-only.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use tekkan_app::PasskeyInfo;

use super::auth::{SessionRes, session_res};
use crate::AppState;
use crate::error::WebResult;
use crate::extract::{ApiJson, Ids};
use crate::routes::Routes;
use crate::session::{Auth, Caller};

pub fn routes() -> Routes {
    Routes::new()
        .post("/api/v1/me/passkeys/options", register_options)
        .post("/api/v1/me/passkeys", register)
        .get("/api/v1/me/passkeys", list)
        .delete("/api/v1/me/passkeys/{passkey}", remove)
        .post("/api/v1/session/passkey/options", sign_in_options)
        .post("/api/v1/session/passkey", sign_in)
        .post("/api/v1/me/reauth/passkey", reauth)
        .delete("/api/v1/me/password", remove_password)
}

/// `PublicKeyCredentialCreationOptionsJSON`, for `parseCreationOptionsFromJSON`.
async fn register_options(State(st): State<AppState>, Auth(a): Auth) -> WebResult<Json<Value>> {
    Ok(Json(st.app.start_passkey_registration(&a).await?))
}

#[derive(Deserialize)]
struct RegisterReq {
    name: String,
    /// The credential's `toJSON()`.
    credential: Value,
}

async fn register(
    State(st): State<AppState>,
    Auth(a): Auth,
    ApiJson(r): ApiJson<RegisterReq>,
) -> WebResult<(StatusCode, Json<PasskeyInfo>)> {
    let info = st
        .app
        .finish_passkey_registration(&a, &r.name, &r.credential.to_string())
        .await?;
    Ok((StatusCode::CREATED, Json(info)))
}

async fn list(State(st): State<AppState>, Auth(a): Auth) -> WebResult<Json<Vec<PasskeyInfo>>> {
    Ok(Json(st.app.my_passkeys(&a).await?))
}

async fn remove(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids(id): Ids<String>,
) -> WebResult<StatusCode> {
    st.app.remove_passkey(&a, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PublicKeyCredentialRequestOptionsJSON`, for `parseRequestOptionsFromJSON`.
async fn sign_in_options(State(st): State<AppState>, c: Caller) -> WebResult<Json<Value>> {
    Ok(Json(st.app.start_passkey_sign_in(&c.origin).await?))
}

#[derive(Deserialize)]
struct AssertionReq {
    credential: Value,
}

async fn sign_in(
    State(st): State<AppState>,
    c: Caller,
    ApiJson(r): ApiJson<AssertionReq>,
) -> WebResult<(StatusCode, Json<SessionRes>)> {
    let s = st
        .app
        .passkey_sign_in(&r.credential.to_string(), &c.origin)
        .await?;
    Ok((StatusCode::CREATED, Json(session_res(s, None))))
}

async fn reauth(
    State(st): State<AppState>,
    Auth(a): Auth,
    ApiJson(r): ApiJson<AssertionReq>,
) -> WebResult<StatusCode> {
    st.app.passkey_reauth(&a, &r.credential.to_string()).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn remove_password(State(st): State<AppState>, Auth(a): Auth) -> WebResult<StatusCode> {
    st.app.remove_password(&a).await?;
    Ok(StatusCode::NO_CONTENT)
}
