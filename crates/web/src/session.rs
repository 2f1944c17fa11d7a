//! Who is calling: resolves the session (cookie for pages, cookie or bearer token for the
//! API), and enforces CSRF protection on every state-changing request before any
//! handler runs.
//!
//! CSRF tokens are HMACs of what binds the browser: the session id once logged in, an
//! anonymous random cookie before. Pages send the token as the `_csrf` form field, the
//! API as the `x-csrf-token` header. Requests authenticated by a bearer token carry no
//! ambient credential and need none.

use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use tekkan_app::{Actor, AppError, Origin, random_token};

use crate::error::WebError;
use crate::i18n::Lang;
use crate::{AppState, Peer};

/// How the caller proved who they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    Cookie,
    Bearer,
    Anonymous,
}

/// The request's caller, put into the request by [`authenticate`].
#[derive(Clone, Debug)]
pub struct Caller {
    pub actor: Option<Actor>,
    /// The CSRF token forms on this response must carry.
    pub csrf: String,
    pub origin: Origin,
    /// A published incident that concerns this caller: shown at the top of every page
    /// and named in every API response's `tekkan-incident` header.
    pub banner: Option<tekkan_app::incidents::Banner>,
    /// For the operator: no alert channel reaches them (a red warning on their pages).
    pub alerting_down: bool,
}

pub const LANG_COOKIE: &str = "tekkan_lang";

/// Cookie names: `__Host-` prefixed (Secure, no Domain, Path=/) when served over TLS;
/// a plain-HTTP loopback development server cannot set Secure cookies, so it drops the
/// prefix there.
pub fn session_cookie(st: &AppState) -> &'static str {
    if st.config.secure_cookies {
        "__Host-tekkan_session"
    } else {
        "tekkan_session"
    }
}

/// The device token left by a sign-in (see `tekkan_app::login_guard`): a browser that
/// holds one of an account's is not locked out by guesses made elsewhere.
pub fn device_cookie(st: &AppState) -> &'static str {
    if st.config.secure_cookies {
        "__Host-tekkan_device"
    } else {
        "tekkan_device"
    }
}

fn anon_cookie(st: &AppState) -> &'static str {
    if st.config.secure_cookies {
        "__Host-tekkan_anon"
    } else {
        "tekkan_anon"
    }
}

/// A `Set-Cookie` value with the attributes every TEKKAN cookie has.
pub fn cookie(
    st: &AppState,
    name: &str,
    value: &str,
    max_age_secs: i64,
    http_only: bool,
) -> String {
    let mut c = format!("{name}={value}; Path=/; SameSite=Lax; Max-Age={max_age_secs}");
    if http_only {
        c.push_str("; HttpOnly");
    }
    if st.config.secure_cookies {
        c.push_str("; Secure");
    }
    c
}

/// The value of cookie `name`, if sent.
pub fn read_cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Pages: the language cookie, else Japanese.
pub fn lang_of(headers: &HeaderMap) -> Lang {
    read_cookie(headers, LANG_COOKIE)
        .and_then(Lang::parse)
        .unwrap_or_default()
}

/// The API: English unless `Accept-Language` puts Japanese first.
pub fn api_lang(headers: &HeaderMap) -> Lang {
    let al = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if al.trim_start().starts_with("ja") {
        Lang::Ja
    } else {
        Lang::En
    }
}

/// A form's token: bound to the session (or the anonymous cookie) and to the key's
/// current epoch, so a rotation (shared through the database) voids every earlier one.
fn csrf_token(key: &[u8], epoch: &[u8], binding: &str) -> String {
    #[allow(clippy::expect_used)] // HMAC takes keys of any length.
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    m.update(b"tekkan-csrf-v1\0");
    if !epoch.is_empty() {
        m.update(b"epoch\0");
        m.update(epoch);
    }
    m.update(binding.as_bytes());
    URL_SAFE_NO_PAD.encode(m.finalize().into_bytes())
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

fn origin_of(st: &AppState, req: &Request) -> Origin {
    let peer = req
        .extensions()
        .get::<ConnectInfo<Peer>>()
        .map(|c| c.0.0.ip().to_string());
    let forwarded = st
        .config
        .behind_proxy
        .then(|| {
            req.headers()
                .get("x-forwarded-for")?
                .to_str()
                .ok()?
                .split(',')
                .next()
                .map(|s| s.trim().to_owned())
        })
        .flatten();
    let ua = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(256).collect());
    let device = read_cookie(req.headers(), device_cookie(st))
        .filter(|v| v.len() == 43)
        .map(str::to_owned);
    Origin {
        ip: forwarded.or(peer),
        user_agent: ua,
        device,
    }
}

/// What an account that must add a second factor may still reach: setting it up,
/// reading who it is, logging out, and the static files the pages need.
fn allowed_before_mfa(path: &str) -> bool {
    matches!(
        path,
        "/api/v1/me"
            | "/api/v1/me/reauth"
            | "/api/v1/session"
            | "/logout"
            | "/lang"
            | "/healthz"
            | "/metrics"
            | "/api/v1/version"
    ) || path.starts_with("/api/v1/me/mfa")
        || path.starts_with("/api/v1/me/sessions")
        || path.starts_with("/api/v1/me/passkeys")
        || path == "/api/v1/me/reauth/passkey"
        || path.starts_with("/settings/sessions")
        || path.starts_with("/settings/security")
        || path.starts_with("/static/")
}

pub async fn authenticate(State(st): State<AppState>, mut req: Request, next: Next) -> Response {
    match resolve(&st, &mut req).await {
        Ok((mut caller, set_cookies)) => {
            caller.banner = match st
                .app
                .banner(caller.actor.as_ref().map(|a| a.account))
                .await
            {
                Ok(b) => b,
                Err(e) => {
                    // A banner that cannot be read never stops the request.
                    tracing::warn!(error = %e, "the incident banner could not be read");
                    None
                }
            };
            let incident = match req.uri().path().starts_with("/api/") {
                true => caller.banner.as_ref().and_then(|b| {
                    HeaderValue::from_str(&format!("{}; state={}; url=/status", b.id, b.state)).ok()
                }),
                false => None,
            };
            let is_page = !req.uri().path().starts_with("/api/");
            if is_page && caller.actor.as_ref().is_some_and(|a| a.is_operator) {
                caller.alerting_down = !st.app.alerting_ok().await.unwrap_or(false);
            }
            // Who is refused what, for the forced-browsing rule: objects only (clubs and
            // their contents, operator tools), not static files or unknown pages.
            // Kept without allocating (a URI clone shares its bytes): every answer on
            // the hot path passes here, and only a refusal is looked at.
            let watched = ["/api/v1/clubs/", "/clubs/", "/api/v1/admin/", "/admin/"]
                .iter()
                .any(|w| req.uri().path().starts_with(w))
                .then(|| (req.uri().clone(), caller.actor.as_ref().map(|a| a.account)));
            let path = req.uri().path();
            if caller.actor.as_ref().is_some_and(|a| a.must_enrol_mfa())
                && !allowed_before_mfa(path)
            {
                let res = if !path.starts_with("/api/") && req.method() == Method::GET {
                    Redirect::to("/settings/security").into_response()
                } else {
                    WebError::App(AppError::MfaSetupRequired).into_response()
                };
                return res;
            }
            if crate::contain::refused(&st, req.method(), path) {
                return WebError::App(AppError::Contained("read_only")).into_response();
            }
            // Only someone signed out is counted by address, so only then is it kept.
            let origin_ip = match caller.actor {
                None => caller.origin.ip.clone(),
                Some(_) => None,
            };
            req.extensions_mut().insert(caller);
            let mut res = next.run(req).await;
            if let Some(v) = incident {
                res.headers_mut().insert("tekkan-incident", v);
            }
            if let (Some((uri, account)), 403 | 404) = (watched, res.status().as_u16()) {
                st.app.observe_denial(account, &origin_ip, uri.path());
            }
            for c in set_cookies {
                if let Ok(v) = HeaderValue::from_str(&c) {
                    res.headers_mut().append(header::SET_COOKIE, v);
                }
            }
            res
        }
        Err(e) => e.into_response(),
    }
}

async fn resolve(st: &AppState, req: &mut Request) -> Result<(Caller, Vec<String>), WebError> {
    let origin = origin_of(st, req);
    let is_api = req.uri().path().starts_with("/api/");
    let headers = req.headers();
    let bearer = is_api
        .then(|| {
            headers
                .get(header::AUTHORIZATION)?
                .to_str()
                .ok()?
                .strip_prefix("Bearer ")
                .map(str::to_owned)
        })
        .flatten();
    let cookie_token = read_cookie(headers, session_cookie(st)).map(str::to_owned);
    let mut set_cookies = Vec::new();
    let (actor, via) = match (&bearer, &cookie_token) {
        (Some(t), _) => match st.app.authenticate(t, origin.clone()).await? {
            Some(a) => (Some(a), Via::Bearer),
            // A bad bearer token is an error, not a fallback to anonymous.
            None => return Err(AppError::Unauthenticated.into()),
        },
        (None, Some(t)) => match st.app.authenticate(t, origin.clone()).await? {
            Some(a) => (Some(a), Via::Cookie),
            None => {
                set_cookies.push(cookie(st, session_cookie(st), "", 0, true));
                (None, Via::Anonymous)
            }
        },
        (None, None) => (None, Via::Anonymous),
    };
    let binding = match &actor {
        Some(a) => a.session.to_string(),
        None => match read_cookie(headers, anon_cookie(st)) {
            Some(v) if v.len() == 43 => v.to_owned(),
            _ => {
                let v = random_token();
                set_cookies.push(cookie(st, anon_cookie(st), &v, 7 * 24 * 3600, true));
                v
            }
        },
    };
    let csrf = csrf_token(&st.keys.csrf, &st.app.csrf_epoch(), &binding);
    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if unsafe_method {
        check_csrf(st, req, is_api, via, &csrf).await?;
    }
    Ok((
        Caller {
            actor,
            csrf,
            origin,
            banner: None,
            alerting_down: false,
        },
        set_cookies,
    ))
}

async fn check_csrf(
    st: &AppState,
    req: &mut Request,
    is_api: bool,
    via: Via,
    csrf: &str,
) -> Result<(), WebError> {
    let site = req
        .headers()
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok());
    if site == Some("cross-site") {
        return Err(WebError::Csrf);
    }
    if is_api {
        if via == Via::Cookie {
            let sent = req
                .headers()
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !same(sent, csrf) {
                return Err(WebError::Csrf);
            }
        }
        return Ok(());
    }
    // Pages: read the (size-limited) form body, check `_csrf`, and put the body back.
    let body = std::mem::replace(req.body_mut(), Body::empty());
    let bytes = to_bytes(body, st.config.body_limit)
        .await
        .map_err(|_| WebError::PayloadTooLarge)?;
    let fields = parse_form_strict(&bytes).ok_or(WebError::BadRequest("invalid_form"))?;
    let sent = fields
        .iter()
        .find(|(k, _)| k == "_csrf")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    if !same(sent, csrf) {
        return Err(WebError::Csrf);
    }
    *req.body_mut() = Body::from(bytes);
    Ok(())
}

/// Parses `application/x-www-form-urlencoded`, refusing what a lenient parser would
/// silently replace: malformed percent escapes and bytes that are not UTF-8.
pub fn parse_form_strict(bytes: &[u8]) -> Option<Vec<(String, String)>> {
    fn decode(s: &[u8]) -> Option<String> {
        let mut out = Vec::with_capacity(s.len());
        let mut i = 0;
        while i < s.len() {
            match s[i] {
                b'+' => out.push(b' '),
                b'%' => {
                    let hex = s.get(i + 1..i + 3)?;
                    let hex = std::str::from_utf8(hex).ok()?;
                    out.push(u8::from_str_radix(hex, 16).ok()?);
                    i += 2;
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8(out).ok()
    }
    bytes
        .split(|b| *b == b'&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let mut it = pair.splitn(2, |b| *b == b'=');
            let k = decode(it.next().unwrap_or_default())?;
            let v = decode(it.next().unwrap_or_default())?;
            Some((k, v))
        })
        .collect()
}

/// The logged-in caller; handlers that take it refuse anonymous requests with 401 (the
/// pages turn that into a redirect to the login page).
pub struct Auth(pub Actor);

impl<S: Send + Sync> FromRequestParts<S> for Auth {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Caller>()
            .and_then(|c| c.actor.clone())
            .map(Auth)
            .ok_or(WebError::App(AppError::Unauthenticated))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or(WebError::App(AppError::Internal(
                "authenticate layer missing".into(),
            )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_form_parsing() {
        let f = parse_form_strict(b"a=1&b=%E9%89%84+%E7%92%B0&c=").unwrap();
        assert_eq!(f[1], ("b".into(), "鉄 環".into()));
        assert_eq!(f[2], ("c".into(), "".into()));
        assert!(parse_form_strict(b"a=%FF%FE").is_none());
        assert!(parse_form_strict(b"a=%G1").is_none());
        assert!(parse_form_strict(b"a=%4").is_none());
        assert!(parse_form_strict(&[b'a', b'=', 0xC3]).is_none());
    }
}
