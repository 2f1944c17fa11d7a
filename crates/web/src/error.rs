//! One error type for every handler. A handler's error becomes a bare response carrying
//! an [`ErrorInfo`]; the frame middleware then renders it as JSON under `/api/v1` or as
//! a page elsewhere, with the request id, so both faces share one error shape.

use axum::extract::rejection::{FormRejection, JsonRejection, PathRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tekkan_app::AppError;

/// What went wrong, in a form both renderers understand.
#[derive(Clone, Debug)]
pub struct ErrorInfo {
    pub status: StatusCode,
    /// Stable machine-readable code; the message is looked up as `error.<code>`.
    pub code: &'static str,
    /// The input field at fault, for validation errors.
    pub field: Option<&'static str>,
    /// Details for the log only (never shown: they may hold internals).
    pub detail: Option<String>,
    /// Seconds to wait before trying again (`Retry-After`).
    pub retry_after: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error(transparent)]
    App(#[from] AppError),
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("csrf check failed")]
    Csrf,
    #[error("not found")]
    NotFound,
    /// An `Idempotency-Key` sent again with another request.
    #[error("idempotency key reused")]
    KeyReused,
}

impl WebError {
    pub fn info(&self) -> ErrorInfo {
        let retry_after = match self {
            WebError::App(AppError::RateLimited {
                retry_after_ms: Some(ms),
                ..
            }) => Some(((*ms).max(0) as u64).div_ceil(1000)),
            WebError::App(AppError::Overloaded | AppError::Unavailable) => Some(5),
            WebError::App(AppError::DiskFull) => Some(60),
            WebError::App(AppError::WritesHeld(_) | AppError::Contained(_)) => Some(300),
            _ => None,
        };
        let (status, code, field, detail) = match self {
            WebError::App(e) => match e {
                AppError::Invalid(v) => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    v.code(),
                    Some(v.field()),
                    None,
                ),
                AppError::Unauthenticated => {
                    (StatusCode::UNAUTHORIZED, "unauthenticated", None, None)
                }
                AppError::BadCredentials => {
                    (StatusCode::UNAUTHORIZED, "bad_credentials", None, None)
                }
                AppError::Forbidden => (StatusCode::FORBIDDEN, "forbidden", None, None),
                AppError::NotFound => (StatusCode::NOT_FOUND, "not_found", None, None),
                AppError::Gone(what) => (StatusCode::GONE, *what, None, None),
                AppError::Conflict(c) => (StatusCode::CONFLICT, *c, None, None),
                AppError::RateLimited { code, .. } => {
                    (StatusCode::TOO_MANY_REQUESTS, *code, None, None)
                }
                AppError::BadCode => (StatusCode::UNAUTHORIZED, "bad_code", None, None),
                AppError::ReauthRequired => (StatusCode::FORBIDDEN, "reauth_required", None, None),
                AppError::AccountDisabled => {
                    (StatusCode::FORBIDDEN, "account_disabled", None, None)
                }
                AppError::PasswordResetRequired => {
                    (StatusCode::FORBIDDEN, "password_reset_required", None, None)
                }
                AppError::MfaSetupRequired => {
                    (StatusCode::FORBIDDEN, "mfa_setup_required", None, None)
                }
                AppError::Tampered | AppError::WrongMasterKey => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    None,
                    Some(e.to_string()),
                ),
                AppError::Overloaded => (StatusCode::SERVICE_UNAVAILABLE, "overloaded", None, None),
                AppError::Unavailable => {
                    (StatusCode::SERVICE_UNAVAILABLE, "unavailable", None, None)
                }
                AppError::DiskFull => (StatusCode::INSUFFICIENT_STORAGE, "disk_full", None, None),
                AppError::WritesHeld(_) => {
                    (StatusCode::SERVICE_UNAVAILABLE, "writes_held", None, None)
                }
                AppError::Contained(switch) => {
                    (StatusCode::SERVICE_UNAVAILABLE, *switch, None, None)
                }
                AppError::Storage(e) => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    None,
                    Some(e.to_string()),
                ),
                AppError::Internal(e) => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    None,
                    Some(e.clone()),
                ),
            },
            WebError::BadRequest(code) => (StatusCode::BAD_REQUEST, *code, None, None),
            WebError::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                None,
                None,
            ),
            WebError::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                None,
                None,
            ),
            WebError::Csrf => (StatusCode::FORBIDDEN, "csrf", None, None),
            WebError::NotFound => (StatusCode::NOT_FOUND, "not_found", None, None),
            WebError::KeyReused => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                None,
                None,
            ),
        };
        ErrorInfo {
            status,
            code,
            field,
            detail,
            retry_after,
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let info = self.info();
        let mut res = info.status.into_response();
        res.extensions_mut().insert(info);
        res
    }
}

impl From<JsonRejection> for WebError {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::MissingJsonContentType(_) => WebError::UnsupportedMediaType,
            JsonRejection::BytesRejection(_) => WebError::PayloadTooLarge,
            _ => WebError::BadRequest("invalid_json"),
        }
    }
}

impl From<FormRejection> for WebError {
    fn from(r: FormRejection) -> Self {
        match r {
            FormRejection::InvalidFormContentType(_) => WebError::UnsupportedMediaType,
            FormRejection::BytesRejection(_) => WebError::PayloadTooLarge,
            _ => WebError::BadRequest("invalid_form"),
        }
    }
}

impl From<axum::extract::rejection::QueryRejection> for WebError {
    fn from(_: axum::extract::rejection::QueryRejection) -> Self {
        WebError::BadRequest("invalid_query")
    }
}

impl From<PathRejection> for WebError {
    fn from(_: PathRejection) -> Self {
        // A malformed id names nothing that exists.
        WebError::NotFound
    }
}

pub type WebResult<T> = Result<T, WebError>;
