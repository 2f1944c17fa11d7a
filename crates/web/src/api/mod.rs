//! The JSON API. `/api/v1` is versioned; `/healthz` sits beside it for load balancers.

pub mod v1;

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::WebResult;
use crate::routes::Routes;

pub fn routes() -> Routes {
    Routes::new()
        .get("/healthz", healthz)
        .get("/metrics", metrics)
        .merge(v1::routes())
}

/// Operations metrics (Prometheus text) for a monitoring agent on this machine: served
/// to loopback peers only, and never through a reverse proxy (which would make every
/// client look local).
async fn metrics(
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<crate::Peer>,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let local = peer.0.ip().is_loopback()
        && !headers.contains_key("x-forwarded-for")
        && !headers.contains_key("forwarded");
    match local {
        true => (
            [(
                axum::http::header::CONTENT_TYPE,
                "text/plain; version=0.0.4",
            )],
            tekkan_app::metrics::render(),
        )
            .into_response(),
        false => axum::http::StatusCode::NOT_FOUND.into_response(),
    }
}

/// Healthy when the database answers.
async fn healthz(State(st): State<AppState>) -> WebResult<Json<Value>> {
    st.app
        .db()
        .operator_exists()
        .await
        .map_err(tekkan_app::AppError::from)?;
    Ok(Json(json!({ "status": "ok" })))
}
