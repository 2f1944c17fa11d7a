//! Server-rendered, mobile-first pages. Each handler extracts, calls `tekkan-app` and
//! renders a template; a POST that succeeds redirects (303) so a reload never repeats it.

mod announcements;
mod audit;
mod auth;
mod clubs;
mod events;
mod form;
mod invitations;
mod members;
mod passkeys;
mod personal;
mod polls;
mod privacy;
mod recovery;
mod security;
mod settings;
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

/// 303 to `to`.
pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// A local path to return to after login; anything else (another host, `//evil`) is
/// replaced by the club list, so the parameter cannot be used to send people away.
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.contains(['\r', '\n']) =>
        {
            n
        }
        _ => "/clubs",
    }
}

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
        assert_eq!(safe_next(Some("/clubs/ab")), "/clubs/ab");
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil",
            "",
            "javascript:alert(1)",
        ] {
            assert_eq!(safe_next(Some(bad)), "/clubs", "{bad}");
        }
        assert_eq!(safe_next(None), "/clubs");
    }
}
