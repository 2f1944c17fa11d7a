//! Account protection: lifting a login lockout, two-step verification (TOTP, recovery
//! codes) and re-authentication.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tekkan_app::{MfaStatus, TotpSetup};

use crate::AppState;
use crate::error::WebResult;
use crate::extract::ApiJson;
use crate::routes::Routes;
use crate::session::{Auth, Caller};

pub fn routes() -> Routes {
    Routes::new()
        .post("/api/v1/unlock", unlock)
        .get("/api/v1/me/mfa", status)
        .post("/api/v1/me/mfa/totp", start_totp)
        .post("/api/v1/me/mfa/totp/confirm", confirm_totp)
        .delete("/api/v1/me/mfa/totp", remove_totp)
        .post("/api/v1/me/mfa/recovery-codes", recovery_codes)
        .post("/api/v1/me/reauth", reauth)
}

#[derive(Deserialize)]
struct TokenReq {
    token: String,
}

async fn unlock(
    State(st): State<AppState>,
    c: Caller,
    ApiJson(r): ApiJson<TokenReq>,
) -> WebResult<StatusCode> {
    st.app.unlock_login(&r.token, &c.origin).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn status(State(st): State<AppState>, Auth(a): Auth) -> WebResult<Json<MfaStatus>> {
    Ok(Json(st.app.mfa_status(&a).await?))
}

#[derive(Serialize)]
struct TotpRes {
    #[serde(flatten)]
    setup: TotpSetup,
    /// The URI as a QR code, for scanning with an authenticator app.
    qr_svg: String,
}

async fn start_totp(
    State(st): State<AppState>,
    Auth(a): Auth,
) -> WebResult<(StatusCode, Json<TotpRes>)> {
    let setup = st.app.start_totp(&a).await?;
    let qr_svg = super::invitations::qr_svg(&setup.uri)?;
    Ok((StatusCode::CREATED, Json(TotpRes { setup, qr_svg })))
}

#[derive(Deserialize)]
struct CodeReq {
    code: String,
}

#[derive(Serialize)]
struct CodesRes {
    /// Shown once; each works once.
    recovery_codes: Vec<String>,
}

async fn confirm_totp(
    State(st): State<AppState>,
    Auth(a): Auth,
    ApiJson(r): ApiJson<CodeReq>,
) -> WebResult<Json<CodesRes>> {
    let recovery_codes = st.app.confirm_totp(&a, &r.code).await?;
    Ok(Json(CodesRes { recovery_codes }))
}

async fn remove_totp(State(st): State<AppState>, Auth(a): Auth) -> WebResult<StatusCode> {
    st.app.remove_totp(&a).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn recovery_codes(State(st): State<AppState>, Auth(a): Auth) -> WebResult<Json<CodesRes>> {
    let recovery_codes = st.app.new_recovery_codes(&a).await?;
    Ok(Json(CodesRes { recovery_codes }))
}

#[derive(Deserialize)]
struct ReauthReq {
    password: String,
    code: Option<String>,
}

async fn reauth(
    State(st): State<AppState>,
    Auth(a): Auth,
    ApiJson(r): ApiJson<ReauthReq>,
) -> WebResult<StatusCode> {
    st.app
        .reauthenticate(&a, &r.password, r.code.as_deref())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
