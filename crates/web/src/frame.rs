//! The frame around every request: a request id, a CSP nonce, the security headers, the
//! rendering of errors (JSON under `/api/`, a page elsewhere) and one access-log line.

use std::time::Instant;

use askama::Template;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use rand_core::{OsRng, RngCore};
use tracing::Instrument;

use crate::AppState;
use crate::error::ErrorInfo;
use crate::i18n::{Lang, Tr};
use crate::session::{api_lang, lang_of};

/// The id of this request, in logs, in the `x-request-id` header and in error messages.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// This response's CSP nonce: scripts must carry it.
#[derive(Clone, Debug)]
pub struct Nonce(pub String);

fn random_b64(n: usize) -> String {
    let mut b = vec![0u8; n];
    OsRng.fill_bytes(&mut b);
    STANDARD_NO_PAD.encode(b)
}

pub async fn frame(State(st): State<AppState>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let rid = RequestId(random_b64(9).replace(['+', '/'], "x"));
    let nonce = Nonce(random_b64(18));
    let path = req.uri().path().to_owned();
    let method = req.method().clone();
    let is_api = path.starts_with("/api/");
    let lang = if is_api {
        api_lang(req.headers())
    } else {
        lang_of(req.headers())
    };
    // A clone shares the pattern (no allocation per request).
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .cloned();
    req.extensions_mut().insert(rid.clone());
    req.extensions_mut().insert(nonce.clone());
    let span = tracing::info_span!("request", id = %rid.0, %method, path = %loggable_path(&path));
    let res = next.run(req).instrument(span.clone()).await;
    if res.status().is_success()
        && !matches!(method, axum::http::Method::GET | axum::http::Method::HEAD)
    {
        disk_full_episode(false);
    }
    let mut res = render_error(res, is_api, lang, &rid, &path, &method);
    set_security_headers(res.headers_mut(), &nonce, &path, st.config.hsts);
    if let Ok(v) = HeaderValue::from_str(&rid.0) {
        res.headers_mut().insert("x-request-id", v);
    }
    if res.status().is_server_error() {
        st.app.observe_server_error();
    }
    let elapsed = started.elapsed();
    tekkan_app::metrics::request(
        method.as_str(),
        route.as_ref().map(axum::extract::MatchedPath::as_str),
        res.status().as_u16(),
        elapsed.as_secs_f64(),
    );
    span.in_scope(|| {
        tracing::info!(
            status = res.status().as_u16(),
            ms = elapsed.as_millis() as u64,
            "served"
        );
    });
    res
}

/// A full disk is logged once when the first write fails and once when a write
/// succeeds again, not once per refused request: a flood of identical errors would
/// bury the one line the operator needs (and fill what is left of a shared disk).
fn disk_full_episode(full: bool) {
    use std::sync::atomic::{AtomicBool, Ordering};
    static FULL: AtomicBool = AtomicBool::new(false);
    // Read first: every successful write passes here, and a plain load keeps the
    // flag's cache line shared between cores.
    if FULL.load(Ordering::Relaxed) != full && FULL.swap(full, Ordering::Relaxed) != full {
        if full {
            tracing::error!("DISK FULL: writes are refused with 507 until space is freed");
        } else {
            tracing::warn!("disk space is back: writes succeed again");
        }
    }
}

/// The path as logged: the secret segments of invitation links and calendar feeds are
/// replaced, since whoever reads the logs must not be able to join a club or read a
/// person's schedule with them.
pub fn loggable_path(path: &str) -> String {
    const SECRET_AFTER: [&str; 3] = ["/join/", "/api/v1/invitations/", "/calendar/"];
    for prefix in SECRET_AFTER {
        if let Some(rest) = path.strip_prefix(prefix) {
            let tail = rest.find('/').map(|i| &rest[i..]).unwrap_or("");
            return format!("{prefix}<redacted>{tail}");
        }
    }
    path.to_owned()
}

fn set_security_headers(h: &mut HeaderMap, nonce: &Nonce, path: &str, hsts: bool) {
    let csp = format!(
        "default-src 'none'; script-src 'nonce-{n}'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; form-action 'self'; manifest-src 'self'; worker-src 'self'; object-src 'none'; \
         base-uri 'none'; frame-ancestors 'none'",
        n = nonce.0
    );
    let pairs: [(header::HeaderName, &str); 6] = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        // Invitation and setup links carry secrets in the URL: never leak them onward.
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (
            header::HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
        (
            header::HeaderName::from_static("cross-origin-resource-policy"),
            "same-origin",
        ),
        (
            header::HeaderName::from_static("permissions-policy"),
            "camera=(), microphone=(), geolocation=(), payment=()",
        ),
    ];
    for (k, v) in pairs {
        h.insert(k, HeaderValue::from_static(v));
    }
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    // Everything but the static assets is personal or changes: never cache it.
    let cache = if path.starts_with("/static/") {
        "public, max-age=3600"
    } else {
        "no-store"
    };
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if hsts {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        );
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    t: Tr,
    lang: &'static str,
    status: u16,
    message: &'static str,
    request_id: &'a str,
    login_link: bool,
}

/// Gives every 4xx/5xx response the one error body. Handlers' errors carry an
/// [`ErrorInfo`]; responses made elsewhere (an unknown route, a wrong method, the body
/// limit, the timeout) are classified by their status.
fn render_error(
    res: Response,
    is_api: bool,
    lang: Lang,
    rid: &RequestId,
    path: &str,
    method: &axum::http::Method,
) -> Response {
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let info = match res.extensions().get::<ErrorInfo>() {
        Some(i) => i.clone(),
        None if res.headers().contains_key(header::CONTENT_TYPE)
            && status != StatusCode::PAYLOAD_TOO_LARGE =>
        {
            return res;
        }
        None => ErrorInfo {
            status,
            code: code_for(status),
            field: None,
            detail: None,
            retry_after: (status == StatusCode::SERVICE_UNAVAILABLE).then_some(5),
        },
    };
    if info.code == "disk_full" {
        disk_full_episode(true);
    } else if info.status.is_server_error() {
        tracing::error!(request_id = %rid.0, code = info.code, detail = ?info.detail, "request failed");
    }
    let t = Tr(lang);
    let message = message(t, info.code);
    let mut out = if is_api {
        let body = serde_json::json!({
            "error": {
                "status": info.status.as_u16(),
                "code": info.code,
                "message": message,
                "field": info.field,
                "request_id": rid.0,
            }
        });
        (info.status, axum::Json(body)).into_response()
    } else if info.code == "unauthenticated" && method == axum::http::Method::GET {
        let next: String = form_urlencoded::byte_serialize(path.as_bytes()).collect();
        Redirect::to(&format!("/login?next={next}")).into_response()
    } else {
        let page = ErrorPage {
            t,
            lang: t.0.code(),
            status: info.status.as_u16(),
            message,
            request_id: &rid.0,
            login_link: info.status == StatusCode::UNAUTHORIZED,
        };
        let html = page.render().unwrap_or_else(|_| message.to_owned());
        (info.status, Html(html)).into_response()
    };
    // Cookies set on the way (a stale session cleared, the anonymous CSRF cookie) stay.
    for c in res.headers().get_all(header::SET_COOKIE) {
        out.headers_mut().append(header::SET_COOKIE, c.clone());
    }
    if let Some(secs) = info.retry_after {
        out.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
    }
    out
}

fn code_for(s: StatusCode) -> &'static str {
    match s {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::REQUEST_TIMEOUT | StatusCode::GATEWAY_TIMEOUT => "timeout",
        StatusCode::UNAUTHORIZED => "unauthenticated",
        StatusCode::FORBIDDEN => "forbidden",
        s if s.is_server_error() => "internal",
        _ => "bad_request",
    }
}

/// The message for an error code, falling back to a generic one for its class.
pub fn message(t: Tr, code: &str) -> &'static str {
    let key = format!("error.{code}");
    if Tr::has(&key) {
        t.s(&key)
    } else {
        t.s("error.bad_request")
    }
}

#[cfg(test)]
mod tests {
    use super::loggable_path;

    /// The Content-Security-Policy refuses inline handlers, inline styles and scripts
    /// without the nonce: a template holding one would work nowhere but in a test
    /// that reads HTML.
    #[test]
    fn templates_hold_nothing_the_policy_refuses() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let mut checked = 0;
        for f in std::fs::read_dir(&dir).unwrap().flatten() {
            let text = std::fs::read_to_string(f.path()).unwrap();
            let name = f.file_name();
            for (i, line) in text.lines().enumerate() {
                let lower = line.to_ascii_lowercase();
                let handler = lower.split_whitespace().any(|w| {
                    w.starts_with("on")
                        && w.split_once('=').is_some_and(|(k, _)| {
                            k.len() > 2 && k[2..].bytes().all(|b| b.is_ascii_lowercase())
                        })
                });
                let script = lower.contains("<script") && !lower.contains("nonce=");
                let style = lower.contains(" style=") || lower.contains("<style");
                assert!(!(handler || script || style), "{name:?}:{}: {line}", i + 1);
            }
            checked += 1;
        }
        assert!(checked > 10, "{checked} templates");
    }

    #[test]
    fn invitation_tokens_never_reach_the_log() {
        assert_eq!(loggable_path("/join/SECRETtoken"), "/join/<redacted>");
        assert_eq!(
            loggable_path("/api/v1/invitations/SECRET/accept"),
            "/api/v1/invitations/<redacted>/accept"
        );
        assert_eq!(loggable_path("/clubs/abc/members"), "/clubs/abc/members");
        assert_eq!(
            loggable_path("/calendar/SECRET.ics"),
            "/calendar/<redacted>"
        );
    }
}
