//! Account protection pages: lifting a login lockout from the e-mailed link, the second
//! step of a login, and the security settings (two-step verification, recovery codes,
//! re-authentication).

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tekkan_app::{MfaStatus, TotpSetup};

use super::auth::replace_session;
use super::{form_error, render, see_other};
use crate::AppState;
use crate::error::{WebError, WebResult};
use crate::extract::{PageCtx, PageForm};
use crate::routes::Routes;
use crate::session::{Auth, Caller};

pub fn routes() -> Routes {
    Routes::new()
        .get("/unlock", unlock_form)
        .post("/unlock", unlock)
        .post("/login/code", second_step)
        .get("/settings/security", security)
        .post("/settings/security/totp", start_totp)
        .post("/settings/security/totp/confirm", confirm_totp)
        .post("/settings/security/totp/remove", remove_totp)
        .post("/settings/security/recovery-codes", recovery_codes)
        .post("/settings/security/reauth", reauth)
        .post("/settings/security/password", change_password)
        .post("/settings/security/email", change_email)
        .post("/settings/security/later", later)
}

/// The cookie that says the two-step invitation was put off on this device.
pub const LATER_COOKIE: &str = "tekkan_mfa_later";

#[derive(Deserialize)]
struct LaterForm {
    #[serde(default)]
    back: String,
}

/// 「あとで」 on the invitation to add a second step: not shown again on this device
/// for 90 days (the security page keeps offering it).
async fn later(
    State(st): State<AppState>,
    PageForm(f): PageForm<LaterForm>,
) -> WebResult<Response> {
    let mut res = super::see_other(super::safe_next(Some(&f.back)));
    let c = crate::session::cookie(&st, LATER_COOKIE, "1", 90 * 24 * 3600, true);
    if let Ok(v) = axum::http::HeaderValue::from_str(&c) {
        res.headers_mut().append(axum::http::header::SET_COOKIE, v);
    }
    Ok(res)
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

#[derive(Template)]
#[template(path = "login_code.html")]
struct SecondStepPage {
    p: PageCtx,
    token: String,
    next: String,
    error: Option<String>,
}

pub(super) fn second_step_page(
    p: PageCtx,
    token: String,
    next: &str,
    error: Option<String>,
) -> WebResult<Response> {
    let next = next.to_owned();
    Ok(render(&SecondStepPage {
        p,
        token,
        next,
        error,
    })?
    .into_response())
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    next: String,
}

async fn second_step(
    State(st): State<AppState>,
    c: Caller,
    p: PageCtx,
    PageForm(f): PageForm<CodeForm>,
) -> WebResult<Response> {
    match st.app.second_step(&f.token, &f.code, &c.origin).await {
        Ok(s) => replace_session(&st, &c, &s, &f.next).await,
        Err(e) => {
            let e = WebError::from(e);
            let error = form_error(&p, &e);
            let status = e.info().status;
            let mut res = second_step_page(p, f.token, &f.next, error)?;
            *res.status_mut() = status;
            Ok(res)
        }
    }
}

#[derive(Template)]
#[template(path = "security.html")]
struct SecurityPage {
    p: PageCtx,
    status: MfaStatus,
    /// Needs a fresh password (and code) before changing anything.
    stale: bool,
    setup: Option<(TotpSetup, String)>,
    codes: Vec<String>,
    error: Option<String>,
    email: String,
    /// Sessions open elsewhere, offered to end after a change.
    others: usize,
    passkeys: Vec<tekkan_app::PasskeyInfo>,
}

pub(super) async fn page(
    st: &AppState,
    a: &tekkan_app::Actor,
    p: PageCtx,
    setup: Option<TotpSetup>,
    codes: Vec<String>,
    error: Option<String>,
) -> WebResult<Response> {
    let status = st.app.mfa_status(a).await?;
    let others = st
        .app
        .my_sessions(a)
        .await?
        .iter()
        .filter(|s| !s.current)
        .count();
    let stale = tekkan_storage::now_ms() - a.reauth_at > tekkan_app::REAUTH_WINDOW_MS;
    let setup = match setup {
        Some(s) => {
            let qr = crate::api::v1::invitations::qr_svg(&s.uri)?;
            Some((s, qr))
        }
        None => None,
    };
    Ok(render(&SecurityPage {
        p,
        status,
        stale,
        setup,
        codes,
        error,
        email: a.email.clone(),
        others,
        passkeys: st.app.my_passkeys(a).await?,
    })?
    .into_response())
}

async fn security(State(st): State<AppState>, Auth(a): Auth, p: PageCtx) -> WebResult<Response> {
    page(&st, &a, p, None, Vec::new(), None).await
}

/// Renders the page again with the refusal, or the result.
pub(super) async fn outcome<T>(
    st: &AppState,
    a: &tekkan_app::Actor,
    p: PageCtx,
    r: tekkan_app::Result<T>,
    ok: impl FnOnce(T) -> (Option<TotpSetup>, Vec<String>),
) -> WebResult<Response> {
    match r {
        Ok(v) => {
            let (setup, codes) = ok(v);
            page(st, a, p, setup, codes, None).await
        }
        Err(e) => {
            let e = WebError::from(e);
            let error = form_error(&p, &e);
            let mut res = page(st, a, p, None, Vec::new(), error).await?;
            *res.status_mut() = e.info().status;
            Ok(res)
        }
    }
}

async fn start_totp(State(st): State<AppState>, Auth(a): Auth, p: PageCtx) -> WebResult<Response> {
    let r = st.app.start_totp(&a).await;
    outcome(&st, &a, p, r, |s| (Some(s), Vec::new())).await
}

async fn confirm_totp(
    State(st): State<AppState>,
    Auth(mut a): Auth,
    p: PageCtx,
    PageForm(f): PageForm<CodeForm>,
) -> WebResult<Response> {
    let r = st.app.confirm_totp(&a, &f.code).await;
    a.has_mfa = a.has_mfa || r.is_ok();
    outcome(&st, &a, p, r, |codes| (None, codes)).await
}

async fn remove_totp(State(st): State<AppState>, Auth(a): Auth, p: PageCtx) -> WebResult<Response> {
    let r = st.app.remove_totp(&a).await;
    outcome(&st, &a, p, r, |_| (None, Vec::new())).await
}

async fn recovery_codes(
    State(st): State<AppState>,
    Auth(a): Auth,
    p: PageCtx,
) -> WebResult<Response> {
    let r = st.app.new_recovery_codes(&a).await;
    outcome(&st, &a, p, r, |codes| (None, codes)).await
}

#[derive(Deserialize)]
struct ReauthForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    code: String,
}

async fn reauth(
    State(st): State<AppState>,
    Auth(a): Auth,
    p: PageCtx,
    PageForm(f): PageForm<ReauthForm>,
) -> WebResult<Response> {
    let code = Some(f.code.as_str()).filter(|c| !c.trim().is_empty());
    match st.app.reauthenticate(&a, &f.password, code).await {
        Ok(()) => Ok(see_other("/settings/security")),
        Err(e) => outcome(&st, &a, p, Err::<(), _>(e), |_| (None, Vec::new())).await,
    }
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    password: String,
}

/// After a change the page lists the sessions, offering to end the others.
async fn change_password(
    State(st): State<AppState>,
    Auth(a): Auth,
    p: PageCtx,
    PageForm(f): PageForm<PasswordForm>,
) -> WebResult<Response> {
    match st
        .app
        .change_password(&a, &f.current_password, &f.password)
        .await
    {
        Ok(_) => Ok(see_other("/settings/sessions?msg=password_changed")),
        Err(e) => outcome(&st, &a, p, Err::<(), _>(e), |_| (None, Vec::new())).await,
    }
}

#[derive(Deserialize)]
struct EmailForm {
    #[serde(default)]
    email: String,
}

async fn change_email(
    State(st): State<AppState>,
    Auth(a): Auth,
    p: PageCtx,
    PageForm(f): PageForm<EmailForm>,
) -> WebResult<Response> {
    match st.app.request_email_change(&a, &f.email).await {
        Ok(()) => Ok(see_other("/settings/security?msg=email_sent")),
        Err(e) => outcome(&st, &a, p, Err::<(), _>(e), |_| (None, Vec::new())).await,
    }
}
