//! Server-rendered, mobile-first pages. Each handler extracts, calls `tekkan-app` and
//! renders a template; a POST that succeeds redirects (303) so a reload never repeats it.

mod announcements;
mod audit;
mod auth;
mod breach;
mod clubs;
mod events;
mod form;
mod incidents;
mod invitations;
mod members;
mod passkeys;
mod personal;
mod polls;
mod privacy;
mod recovery;
mod roll_call;
mod schedule;
pub mod security;
mod settings;
pub mod status;
mod subgroups;
mod transparency;

use askama::Template;
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Redirect, Response};

use crate::error::{WebError, WebResult};
use crate::routes::Routes;

pub fn routes() -> Routes {
    Routes::new()
        .merge(auth::routes())
        .merge(clubs::routes())
        .merge(members::routes())
        .merge(subgroups::routes())
        .merge(invitations::routes())
        .merge(events::routes())
        .merge(schedule::routes())
        .merge(roll_call::routes())
        .merge(announcements::routes())
        .merge(polls::routes())
        .merge(settings::routes())
        .merge(security::routes())
        .merge(recovery::routes())
        .merge(personal::routes())
        .merge(privacy::routes())
        .merge(passkeys::routes())
        .merge(audit::routes())
        .merge(transparency::routes())
        .merge(status::routes())
        .merge(incidents::routes())
        .merge(breach::routes())
        .get("/static/app.css", css)
        .get("/static/app.js", js)
        .get("/sw.js", service_worker)
        .get("/manifest.webmanifest", manifest)
}

pub fn render<T: Template>(t: &T) -> WebResult<Html<String>> {
    t.render()
        .map(Html)
        .map_err(|e| WebError::App(tekkan_app::AppError::Internal(format!("template: {e}"))))
}

/// 303 to `to`. A target that cannot be a header value (axum's `Redirect` would panic)
/// goes to the start page instead: a redirect is never a 500.
pub fn see_other(to: &str) -> Response {
    match HeaderValue::from_str(to) {
        Ok(v) => (axum::http::StatusCode::SEE_OTHER, [(header::LOCATION, v)]).into_response(),
        Err(_) => Redirect::to("/").into_response(),
    }
}

/// A local path to return to after login or a language switch; anything else is
/// replaced by the club list, so the parameter cannot send people to another site and
/// cannot make a header that fails to build (a 500 after a successful login).
///
/// Only printable ASCII is accepted: browsers strip tabs and newlines out of a
/// `Location` (so `/\t/evil` becomes `//evil`), read `\` as `/`, and may fold Unicode
/// look-alikes of `/`; our own paths never need any of these. The same rules hold after
/// percent-decoding, repeatedly, so that an encoded form cannot hide one.
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if is_local_path(n) => n,
        _ => "/clubs",
    }
}

fn is_local_path(n: &str) -> bool {
    let starts_local =
        |s: &[u8]| s.first() == Some(&b'/') && !matches!(s.get(1), Some(b'/' | b'\\'));
    if n.len() > 2048
        || !starts_local(n.as_bytes())
        || !n.bytes().all(|b| b.is_ascii_graphic() && b != b'\\')
    {
        return false;
    }
    // Each round removes one layer of encoding, up to a fixed point. A decoded layer may
    // hold UTF-8 (a club's name in a path); it must not hold controls, white space,
    // backslashes or look-alikes of the slash.
    let mut cur = n.as_bytes().to_vec();
    for _ in 0..4 {
        let decoded: Vec<u8> = percent_encoding::percent_decode(&cur).collect();
        if decoded == cur {
            return true;
        }
        let text = String::from_utf8_lossy(&decoded);
        if !starts_local(&decoded)
            || text
                .chars()
                .any(|c| c.is_control() || c.is_whitespace() || SLASH_LIKE.contains(&c))
        {
            return false;
        }
        cur = decoded;
    }
    false
}

/// Characters that some URL handling folds into `/` or `\\` (fullwidth, division and
/// fraction slashes, big solidi, small and fullwidth reverse solidus).
const SLASH_LIKE: [char; 7] = [
    '\\', '\u{ff0f}', '\u{2215}', '\u{2044}', '\u{29f8}', '\u{fe68}', '\u{ff3c}',
];

async fn css() -> Response {
    static_asset(
        include_str!("../../static/app.css"),
        "text/css; charset=utf-8",
    )
}

async fn js() -> Response {
    static_asset(
        include_str!("../../static/app.js"),
        "text/javascript; charset=utf-8",
    )
}

/// Served from the root so that its scope covers the whole site.
async fn service_worker() -> Response {
    static_asset(
        include_str!("../../static/sw.js"),
        "text/javascript; charset=utf-8",
    )
}

async fn manifest() -> Response {
    static_asset(
        include_str!("../../static/manifest.webmanifest"),
        "application/manifest+json",
    )
}

fn static_asset(body: &'static str, ct: &'static str) -> Response {
    let mut r = body.into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    r
}

/// The message to show beside a form after a refused submission.
pub fn form_error(p: &crate::extract::PageCtx, e: &WebError) -> Option<String> {
    let info = e.info();
    if info.status.is_server_error() {
        return None;
    }
    let msg = crate::frame::message(p.t, info.code);
    Some(match info.field {
        Some(f) => format!("{}: {msg}", p.t.s(&format!("field.{f}"))),
        None => msg.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_on_this_site() {
        for good in [
            "/clubs/ab",
            "/clubs/ab/occurrences/cd?msg=saved",
            "/schedule?from=2026-12-01&to=2026-12-31",
            "/clubs/%E5%90%B9",
        ] {
            assert_eq!(safe_next(Some(good)), good);
        }
        for bad in [
            "",
            "//evil.example",
            "///evil.example",
            "https://evil.example",
            "http:evil.example",
            "javascript:alert(1)",
            "/\\evil.example",
            "\\\\evil.example",
            "/clubs\\..\\evil",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\n/evil.example",
            "/ /evil.example",
            " /clubs",
            "/clubs\u{0}",
            "/\u{1}",
            "/\u{7f}",
            "/clubs\u{85}",
            "/clubs\u{a0}",
            "/clubs\u{2028}",
            "/\u{ff0f}evil.example",
            "/\u{2215}evil.example",
            "/\u{29f8}evil.example",
            "/%2F/evil.example",
            "/%2f%2fevil.example",
            "/%5Cevil.example",
            "/%09/evil.example",
            "/%0d%0aSet-Cookie:x=1",
            "/%01",
            "/%7f",
            "/%252F/evil.example",
            "/%25252F%25252Fevil",
            "/%2509/evil.example",
            "/%C2%A0",
            "/%C2%85",
            "/%E2%80%A8",
            "/%EF%BC%8Fevil.example",
            "/%E2%88%95evil.example",
        ] {
            assert_eq!(safe_next(Some(bad)), "/clubs", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/clubs");
        assert_eq!(safe_next(Some(&format!("/{}", "a".repeat(5000)))), "/clubs");
    }
}
