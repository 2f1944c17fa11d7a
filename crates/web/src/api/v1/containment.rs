//! The operator's containment switches over the API: read-only mode, sign-ups paused,
//! ending sessions by scope, requiring new passwords by scope, rotating the keys that
//! authenticate requests, and locking everything down at once. Each call is audited
//! and takes effect on every instance within seconds.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use tekkan_app::containment::{
    Containment, KeyRotation, LockDown, ResetRequired, SessionScope, Switch,
};
use tekkan_core::{AccountId, ClubId};

use crate::AppState;
use crate::error::{WebError, WebResult};
use crate::extract::{ApiJson, Ids};
use crate::routes::Routes;
use crate::session::Auth;

pub fn routes() -> Routes {
    Routes::new()
        .get("/api/v1/admin/containment", status)
        .put("/api/v1/admin/containment/{switch}", set)
        .post("/api/v1/admin/sessions/end", end_sessions)
        .post("/api/v1/admin/lockdown", lock_down)
        .post("/api/v1/admin/keys/rotate", rotate_keys)
        .post("/api/v1/admin/password-reset", require_reset)
}

async fn status(State(st): State<AppState>, Auth(a): Auth) -> WebResult<Json<Containment>> {
    Ok(Json(st.app.switches(Some(&a)).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetReq {
    on: bool,
    #[serde(default)]
    reason: String,
}

#[derive(Serialize)]
struct SetRes {
    switch: &'static str,
    on: bool,
    /// False when it already was so (nothing was written).
    changed: bool,
}

async fn set(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids(switch): Ids<String>,
    ApiJson(req): ApiJson<SetReq>,
) -> WebResult<Json<SetRes>> {
    super::operator(&a)?;
    let Some(s) = Switch::parse(&switch) else {
        return Err(WebError::NotFound);
    };
    if req.on && req.reason.trim().is_empty() {
        return Err(WebError::BadRequest("reason_required"));
    }
    let changed = st.app.set_switch(Some(&a), s, req.on, &req.reason).await?;
    Ok(Json(SetRes {
        switch: s.name(),
        on: req.on,
        changed,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
enum Scope {
    All,
    Club,
    Account,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EndReq {
    scope: Scope,
    club: Option<ClubId>,
    account: Option<AccountId>,
}

impl EndReq {
    fn scope(self) -> Result<SessionScope, WebError> {
        match (self.scope, self.club, self.account) {
            (Scope::All, None, None) => Ok(SessionScope::All),
            (Scope::Club, Some(c), None) => Ok(SessionScope::Club(c)),
            (Scope::Account, None, Some(p)) => Ok(SessionScope::Account(p)),
            _ => Err(WebError::BadRequest("session_scope")),
        }
    }
}

#[derive(Serialize)]
struct EndRes {
    sessions_ended: u64,
}

async fn end_sessions(
    State(st): State<AppState>,
    Auth(a): Auth,
    ApiJson(req): ApiJson<EndReq>,
) -> WebResult<Json<EndRes>> {
    super::operator(&a)?;
    let n = st.app.end_sessions(Some(&a), req.scope()?).await?;
    Ok(Json(EndRes { sessions_ended: n }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LockReq {
    reason: String,
}

async fn lock_down(
    State(st): State<AppState>,
    Auth(a): Auth,
    ApiJson(req): ApiJson<LockReq>,
) -> WebResult<Json<LockDown>> {
    super::operator(&a)?;
    if req.reason.trim().is_empty() {
        return Err(WebError::BadRequest("reason_required"));
    }
    Ok(Json(st.app.lock_down(Some(&a), &req.reason).await?))
}

async fn rotate_keys(
    State(st): State<AppState>,
    Auth(a): Auth,
    ApiJson(req): ApiJson<LockReq>,
) -> WebResult<Json<KeyRotation>> {
    super::operator(&a)?;
    if req.reason.trim().is_empty() {
        return Err(WebError::BadRequest("reason_required"));
    }
    Ok(Json(st.app.rotate_keys(Some(&a), &req.reason).await?))
}

/// Whose password to reset: the same scopes as ending sessions.
async fn require_reset(
    State(st): State<AppState>,
    Auth(a): Auth,
    ApiJson(req): ApiJson<EndReq>,
) -> WebResult<Json<ResetRequired>> {
    super::operator(&a)?;
    let scope = req.scope()?;
    Ok(Json(st.app.require_password_reset(Some(&a), scope).await?))
}
