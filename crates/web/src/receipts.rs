//! Signed receipts on API responses: every audit entry a request wrote comes back as a
//! `Tekkan-Receipt` header (leaf index and leaf hash, or on PostgreSQL the entry's
//! content hash with the promised merge delay; Ed25519 signature), which the caller can
//! keep and later verify offline against the published key and, with an inclusion
//! proof, against a signed checkpoint. Proof that the server accepted the action.

use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;

pub const HEADER: &str = "tekkan-receipt";

pub async fn receipts(State(st): State<AppState>, req: Request, next: Next) -> Response {
    if !req.uri().path().starts_with("/api/") {
        return next.run(req).await;
    }
    let (mut res, written) = tekkan_storage::receipts::collect(next.run(req)).await;
    for w in written {
        let Some(r) = st.app.receipt(&w) else {
            continue;
        };
        if let Ok(v) = HeaderValue::from_str(&r.encode()) {
            res.headers_mut().append(HEADER, v);
        }
    }
    res
}
