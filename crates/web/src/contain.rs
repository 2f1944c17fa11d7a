//! Read-only mode at the door: while the operator's `read_only` switch is on, every
//! change is refused with 503 before it reaches a handler, except signing in and out
//! and the operator's own tools (which must keep working to lift it).

use axum::http::Method;

use crate::AppState;

/// Whether this request is refused because the service is read-only.
pub fn refused(st: &AppState, method: &Method, path: &str) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
        && !still_allowed(path)
        && st.app.containment().read_only.is_some()
}

/// Signing in and out (sessions are not the data being protected, and an operator must
/// be able to sign in to lift the switch), choosing a language, and the operator's
/// tools under `/api/v1/admin/` and `/admin/`.
fn still_allowed(path: &str) -> bool {
    matches!(
        path,
        "/api/v1/session"
            | "/api/v1/session/second-step"
            | "/api/v1/session/passkey/options"
            | "/api/v1/session/passkey"
            | "/api/v1/me/reauth"
            | "/api/v1/me/reauth/passkey"
            | "/login"
            | "/login/code"
            | "/logout"
            | "/lang"
    ) || path.starts_with("/api/v1/admin/")
        || path.starts_with("/admin/")
}
