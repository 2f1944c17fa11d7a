//! Home, first-run setup, sign-up, login, logout and the language switch.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tekkan_app::{InvitationPreview, JoinOutcome, LoginOutcome, NewSession, SignUp};

use super::{form_error, render, safe_next, see_other};
use crate::AppState;
use crate::error::{WebError, WebResult};
use crate::extract::{PageCtx, PageForm};
use crate::i18n::Lang;
use crate::routes::Routes;
use crate::session::{Caller, LANG_COOKIE, cookie, device_cookie, session_cookie};

pub fn routes() -> Routes {
    Routes::new()
        .get("/", home)
        .get("/setup", setup_form)
        .post("/setup", setup)
        .get("/signup", signup_form)
        .post("/signup", signup)
        .get("/signup/confirm", signup_confirm_form)
        .post("/signup/confirm", signup_confirm)
        .get("/login", login_form)
        .post("/login", login)
        .post("/logout", logout)
        .post("/lang", switch_lang)
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    p: PageCtx,
}

async fn home(p: PageCtx) -> WebResult<Response> {
    if p.user.is_some() {
        return Ok(see_other("/clubs"));
    }
    Ok(render(&HomePage { p })?.into_response())
}

/// The fields of the account forms, kept on a refused submission (never the password).
#[derive(Deserialize, Default)]
struct AccountForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    invite: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

#[derive(Template)]
#[template(path = "setup.html")]
struct SetupPage {
    p: PageCtx,
    f: AccountForm,
    error: Option<String>,
}

#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
    invite: Option<String>,
    next: Option<String>,
}

async fn setup_form(p: PageCtx, Query(q): Query<TokenQuery>) -> WebResult<Response> {
    let f = AccountForm {
        token: q.token.unwrap_or_default(),
        ..Default::default()
    };
    Ok(render(&SetupPage { p, f, error: None })?.into_response())
}

/// Sets the session cookie and goes on to `to`.
/// A login finished: the session this browser had (if any) ends, the new one is set, and
/// the browser goes on to `next` (a local path only).
pub(super) async fn replace_session(
    st: &AppState,
    c: &Caller,
    s: &NewSession,
    next: &str,
) -> WebResult<Response> {
    if let Some(old) = &c.actor {
        st.app.log_out(old).await?;
    }
    Ok(logged_in(st, s, safe_next(Some(next))))
}

fn logged_in(st: &AppState, s: &NewSession, to: &str) -> Response {
    let mut res = see_other(to);
    let max_age = (s.expires_at - tekkan_storage::now_ms()) / 1000;
    if let Ok(v) = HeaderValue::from_str(&cookie(st, session_cookie(st), &s.token, max_age, true)) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    if let Some(d) = &s.device {
        const YEAR: i64 = 365 * 24 * 3600;
        if let Ok(v) = HeaderValue::from_str(&cookie(st, device_cookie(st), d, YEAR, true)) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    res
}

async fn setup(
    State(st): State<AppState>,
    c: Caller,
    p: PageCtx,
    PageForm(mut f): PageForm<AccountForm>,
) -> WebResult<Response> {
    match st
        .app
        .complete_setup(&f.token, &f.email, &f.display_name, &f.password, &c.origin)
        .await
    {
        Ok(s) => Ok(logged_in(&st, &s, "/clubs")),
        Err(e) => {
            let e = WebError::from(e);
            f.password.clear();
            let error = form_error(&p, &e);
            let mut res = render(&SetupPage { p, f, error })?.into_response();
            *res.status_mut() = e.info().status;
            Ok(res)
        }
    }
}

#[derive(Template)]
#[template(path = "signup.html")]
struct SignupPage {
    p: PageCtx,
    f: AccountForm,
    invitation: Option<InvitationPreview>,
    open: bool,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "signup_sent.html")]
struct SignupSentPage {
    p: PageCtx,
}

#[derive(Template)]
#[template(path = "signup_confirm.html")]
struct SignupConfirmPage {
    p: PageCtx,
    token: String,
}

/// The link only shows a button: mail scanners that open links must not use it up.
async fn signup_confirm_form(p: PageCtx, Query(q): Query<TokenQuery>) -> WebResult<Response> {
    let token = q.token.unwrap_or_default();
    Ok(render(&SignupConfirmPage { p, token })?.into_response())
}

async fn signup_confirm(
    State(st): State<AppState>,
    c: Caller,
    PageForm(f): PageForm<AccountForm>,
) -> WebResult<Response> {
    let (s, joined) = st.app.confirm_sign_up(&f.token, &c.origin).await?;
    Ok(logged_in(&st, &s, &after_join(joined.as_ref())))
}

/// Where a new member lands: their club, or the club list while they wait for approval.
fn after_join(joined: Option<&JoinOutcome>) -> String {
    match joined {
        Some(j) if j.status == tekkan_core::MembershipStatus::Active => {
            format!("/clubs/{}?msg=joined", j.club_id)
        }
        Some(_) => "/clubs?msg=pending".to_owned(),
        None => "/clubs".to_owned(),
    }
}

async fn signup_form(
    State(st): State<AppState>,
    c: Caller,
    p: PageCtx,
    Query(q): Query<TokenQuery>,
) -> WebResult<Response> {
    let invite = q.invite.unwrap_or_default();
    let invitation = match invite.is_empty() {
        true => None,
        false => Some(st.app.preview_invitation(&invite, &c.origin).await?),
    };
    let open = st.app.settings().open_signup;
    let f = AccountForm {
        invite,
        ..Default::default()
    };
    Ok(render(&SignupPage {
        p,
        f,
        invitation,
        open,
        error: None,
    })?
    .into_response())
}

async fn signup(
    State(st): State<AppState>,
    c: Caller,
    p: PageCtx,
    PageForm(mut f): PageForm<AccountForm>,
) -> WebResult<Response> {
    let invite = (!f.invite.is_empty()).then_some(f.invite.as_str());
    match st
        .app
        .sign_up(&f.email, &f.display_name, &f.password, invite, &c.origin)
        .await
    {
        Ok(SignUp::CheckEmail) => Ok(render(&SignupSentPage { p })?.into_response()),
        Ok(SignUp::Session(s, joined)) => Ok(logged_in(&st, &s, &after_join(joined.as_ref()))),
        Err(e) => {
            let e = WebError::from(e);
            f.password.clear();
            let invitation = match invite {
                Some(t) => st.app.preview_invitation(t, &c.origin).await.ok(),
                None => None,
            };
            let open = st.app.settings().open_signup;
            let error = form_error(&p, &e);
            let mut res = render(&SignupPage {
                p,
                f,
                invitation,
                open,
                error,
            })?
            .into_response();
            *res.status_mut() = e.info().status;
            Ok(res)
        }
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    p: PageCtx,
    f: AccountForm,
    error: Option<String>,
}

/// The login page with `next` kept and, after a refusal, its message.
pub(super) fn login_page(p: PageCtx, next: &str, error: Option<String>) -> WebResult<Response> {
    let f = AccountForm {
        next: safe_next(Some(next)).to_owned(),
        ..Default::default()
    };
    Ok(render(&LoginPage { p, f, error })?.into_response())
}

async fn login_form(p: PageCtx, Query(q): Query<TokenQuery>) -> WebResult<Response> {
    let f = AccountForm {
        next: safe_next(q.next.as_deref()).to_owned(),
        ..Default::default()
    };
    Ok(render(&LoginPage { p, f, error: None })?.into_response())
}

async fn login(
    State(st): State<AppState>,
    c: Caller,
    p: PageCtx,
    PageForm(mut f): PageForm<AccountForm>,
) -> WebResult<Response> {
    match st.app.log_in(&f.email, &f.password, &c.origin).await {
        Ok(LoginOutcome::Session(s)) => replace_session(&st, &c, &s, &f.next).await,
        Ok(LoginOutcome::SecondStep { token }) => {
            super::security::second_step_page(p, token, safe_next(Some(&f.next)), None)
        }
        Err(e) => {
            let e = WebError::from(e);
            f.password.clear();
            let error = form_error(&p, &e);
            let mut res = render(&LoginPage { p, f, error })?.into_response();
            *res.status_mut() = e.info().status;
            Ok(res)
        }
    }
}

async fn logout(State(st): State<AppState>, c: Caller) -> WebResult<Response> {
    if let Some(a) = &c.actor {
        st.app.log_out(a).await?;
    }
    let mut res = see_other("/login?msg=logged_out");
    if let Ok(v) = HeaderValue::from_str(&cookie(&st, session_cookie(&st), "", 0, true)) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(res)
}

#[derive(Deserialize)]
struct LangForm {
    lang: String,
    #[serde(default)]
    back: String,
}

/// Remembers the language in a cookie, and for a logged-in person on their account.
async fn switch_lang(
    State(st): State<AppState>,
    caller: crate::session::Caller,
    PageForm(f): PageForm<LangForm>,
) -> WebResult<Response> {
    let lang = Lang::parse(&f.lang).ok_or(WebError::BadRequest("invalid_form"))?;
    // Notifications (e-mail, push) follow the language last chosen.
    if let Some(a) = &caller.actor {
        st.app
            .db()
            .set_account_lang(a.account, lang.code())
            .await
            .map_err(tekkan_app::AppError::from)?;
    }
    let mut res = see_other(safe_next(Some(&f.back)));
    if let Ok(v) = HeaderValue::from_str(&cookie(
        &st,
        LANG_COOKIE,
        lang.code(),
        365 * 24 * 3600,
        false,
    )) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(res)
}
