//! Getting back in and moving one's sign-in: the password reset pages, the e-mail change
//! confirmation, and the sessions page (devices, approximate place, last seen, end).

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tekkan_app::SessionInfo;
use tekkan_core::SessionId;

use super::auth::replace_session;
use super::{form_error, render, see_other};
use crate::AppState;
use crate::error::{WebError, WebResult};
use crate::extract::{Ids, PageCtx, PageForm};
use crate::routes::Routes;
use crate::session::{Auth, Caller};

pub fn routes() -> Routes {
    Routes::new()
        .get("/password-reset", request_form)
        .post("/password-reset", request)
        .get("/reset", reset_form)
        .post("/reset", reset)
        .get("/email/confirm", email_form)
        .post("/email/confirm", email_confirm)
        .get("/settings/sessions", sessions)
        .post("/settings/sessions/revoke-others", end_others)
        .post("/settings/sessions/{session}/revoke", end_one)
}

#[derive(Template)]
#[template(path = "password_reset.html")]
struct RequestPage {
    p: PageCtx,
    email: String,
    sent: bool,
    error: Option<String>,
}

async fn request_form(p: PageCtx) -> WebResult<Response> {
    let page = RequestPage {
        p,
        email: String::new(),
        sent: false,
        error: None,
    };
    Ok(render(&page)?.into_response())
}

#[derive(Deserialize)]
struct EmailForm {
    #[serde(default)]
    email: String,
}

/// The same page whether or not the address has an account.
async fn request(
    State(st): State<AppState>,
    c: Caller,
    p: PageCtx,
    PageForm(f): PageForm<EmailForm>,
) -> WebResult<Response> {
    let r = st.app.request_password_reset(&f.email, &c.origin).await;
    let (sent, error, status) = match r {
        Ok(()) => (true, None, None),
        Err(e) => {
            let e = WebError::from(e);
            (false, form_error(&p, &e), Some(e.info().status))
        }
    };
    let page = RequestPage {
        p,
        email: f.email,
        sent,
        error,
    };
    let mut res = render(&page)?.into_response();
    if let Some(s) = status {
        *res.status_mut() = s;
    }
    Ok(res)
}

#[derive(Template)]
#[template(path = "reset.html")]
struct ResetPage {
    p: PageCtx,
    token: String,
    needs_code: bool,
    error: Option<String>,
}

#[derive(Deserialize)]
struct TokenForm {
    #[serde(default)]
    token: String,
}

async fn reset_form(
    State(st): State<AppState>,
    p: PageCtx,
    Query(q): Query<TokenForm>,
) -> WebResult<Response> {
    let needs_code = st.app.reset_needs_code(&q.token).await?;
    let page = ResetPage {
        p,
        token: q.token,
        needs_code,
        error: None,
    };
    Ok(render(&page)?.into_response())
}

#[derive(Deserialize)]
struct ResetForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    code: String,
}

async fn reset(
    State(st): State<AppState>,
    c: Caller,
    p: PageCtx,
    PageForm(f): PageForm<ResetForm>,
) -> WebResult<Response> {
    let code = Some(f.code.as_str()).filter(|c| !c.trim().is_empty());
    match st
        .app
        .reset_password(&f.token, &f.password, code, &c.origin)
        .await
    {
        Ok(s) => replace_session(&st, &c, &s, "/settings/security?msg=password_reset").await,
        Err(e) => {
            let e = WebError::from(e);
            let needs_code = st.app.reset_needs_code(&f.token).await?;
            let page = ResetPage {
                error: form_error(&p, &e),
                p,
                token: f.token,
                needs_code,
            };
            let mut res = render(&page)?.into_response();
            *res.status_mut() = e.info().status;
            Ok(res)
        }
    }
}

#[derive(Template)]
#[template(path = "email_confirm.html")]
struct EmailConfirmPage {
    p: PageCtx,
    token: String,
}

/// The link only shows a button: mail scanners that open links must not use it up.
async fn email_form(p: PageCtx, Query(q): Query<TokenForm>) -> WebResult<Response> {
    Ok(render(&EmailConfirmPage { p, token: q.token })?.into_response())
}

async fn email_confirm(
    State(st): State<AppState>,
    c: Caller,
    PageForm(f): PageForm<TokenForm>,
) -> WebResult<Response> {
    st.app.confirm_email_change(&f.token, &c.origin).await?;
    Ok(match c.actor {
        Some(_) => see_other("/settings/security?msg=email_changed"),
        None => see_other("/login?msg=email_changed"),
    })
}

#[derive(Template)]
#[template(path = "sessions.html")]
struct SessionsPage {
    p: PageCtx,
    sessions: Vec<SessionInfo>,
    zone: String,
}

impl SessionsPage {
    fn when(&self, ms: &i64) -> String {
        tekkan_core::jiff::Timestamp::from_millisecond(*ms)
            .ok()
            .and_then(|t| {
                let tz = tekkan_core::jiff::tz::TimeZone::get(&self.zone).ok()?;
                Some(t.to_zoned(tz).strftime("%Y-%m-%d %H:%M").to_string())
            })
            .unwrap_or_default()
    }

    fn place(&self, s: &SessionInfo) -> &'static str {
        self.p.t.s(match s.place {
            "this_machine" => "sessions.place_this_machine",
            "private_network" => "sessions.place_private_network",
            "network" => "sessions.place_network",
            _ => "sessions.place_unknown",
        })
    }

    fn others(&self) -> usize {
        self.sessions.iter().filter(|s| !s.current).count()
    }
}

async fn sessions(State(st): State<AppState>, Auth(a): Auth, p: PageCtx) -> WebResult<Response> {
    let sessions = st.app.my_sessions(&a).await?;
    let zone = tekkan_core::schedule::DEFAULT_ZONE.to_owned();
    Ok(render(&SessionsPage { p, sessions, zone })?.into_response())
}

async fn end_others(State(st): State<AppState>, Auth(a): Auth) -> WebResult<Response> {
    st.app.end_other_sessions(&a).await?;
    Ok(see_other("/settings/sessions?msg=sessions_ended"))
}

async fn end_one(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids(id): Ids<SessionId>,
) -> WebResult<Response> {
    st.app.end_session(&a, id).await?;
    Ok(match id == a.session {
        true => see_other("/login?msg=logged_out"),
        false => see_other("/settings/sessions?msg=sessions_ended"),
    })
}
