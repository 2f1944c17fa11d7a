//! Helpers for forms sent as repeated fields (check boxes): reading them, and showing a
//! refused form again with what was typed.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use tekkan_core::SubgroupId;

use super::form_error;
use crate::error::WebError;
use crate::extract::PageCtx;

/// A form body as (name, value) pairs, in order, repeats kept.
pub type Pairs = Vec<(String, String)>;

/// The first value of `k`, or "".
pub fn get<'a>(f: &'a Pairs, k: &str) -> &'a str {
    f.iter()
        .find(|(key, _)| key == k)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

/// Every value of `k` (ticked check boxes).
pub fn all<'a>(f: &'a Pairs, k: &str) -> Vec<&'a str> {
    f.iter()
        .filter(|(key, _)| key == k)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// The ticked sub-groups; a malformed id names nothing, so it is a 404.
pub fn subgroups(f: &Pairs) -> Result<Vec<SubgroupId>, WebError> {
    all(f, "subgroups")
        .into_iter()
        .map(|v| SubgroupId::parse(v).ok_or(WebError::NotFound))
        .collect()
}

/// For a refused submission that should show its form again: the status and the
/// message. Anything else (not found, forbidden, a fault) is passed on as the error.
pub fn refusal(p: &PageCtx, e: WebError) -> Result<(StatusCode, String), WebError> {
    let status = e.info().status;
    match form_error(p, &e) {
        Some(msg) if !matches!(status.as_u16(), 403 | 404) => Ok((status, msg)),
        _ => Err(e),
    }
}

/// A rendered form page with the refusal's status.
pub fn with_status(html: Html<String>, status: StatusCode) -> Response {
    let mut res = html.into_response();
    *res.status_mut() = status;
    res
}
