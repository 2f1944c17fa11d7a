//! Oversized request bodies. A body declared larger than the limit, up to 16 times it,
//! is read and discarded before the 413 goes out: clients that write their whole body
//! before reading (most do) then get the answer rather than a reset connection. A
//! larger one is refused at once, and the connection closed.

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;

use crate::AppState;

pub async fn oversized(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let limit = st.config.body_limit as u64;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(n) if n > limit && n <= limit.saturating_mul(16) => {
            // Frame by frame, nothing kept; hyper stops at the declared length, and the
            // request timeout (an outer layer) bounds a slow sender.
            let mut body = req.into_body();
            while let Some(Ok(_)) = body.frame().await {}
            StatusCode::PAYLOAD_TOO_LARGE.into_response()
        }
        _ => next.run(req).await,
    }
}
