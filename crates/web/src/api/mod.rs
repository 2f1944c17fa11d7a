//! The JSON API. `/api/v1` is versioned; `/healthz` sits beside it for load balancers.

pub mod v1;

use axum::Json;
use axum::extract::State;
use serde_json::json;

use crate::AppState;
use crate::error::WebResult;
use crate::routes::Routes;

pub fn routes() -> Routes {
    Routes::new()
        .get("/healthz", healthz)
        .get("/metrics", metrics)
        .get("/api/v1/version", version)
        .merge(v1::routes())
}

/// The oldest client (a phone app) this server still answers correctly. Raised only
/// when `/api/v1` changes in a way an older client cannot follow; a client older than
/// this asks its user to update.
pub const MIN_CLIENT_VERSION: &str = "1.0.0";

/// For clients, before anything else (no sign-in): this server's version, the API's,
/// and the oldest client version it supports.
async fn version() -> Json<serde_json::Value> {
    Json(json!({
        "server": env!("CARGO_PKG_VERSION"),
        "api": "v1",
        "min_client_version": MIN_CLIENT_VERSION,
    }))
}

/// A request from a monitoring agent on this machine: a loopback peer, not relayed by
/// a reverse proxy (which would make every client look local).
fn from_this_machine(peer: &crate::Peer, headers: &axum::http::HeaderMap) -> bool {
    peer.0.ip().is_loopback()
        && !headers.contains_key("x-forwarded-for")
        && !headers.contains_key("forwarded")
}

/// Operations metrics (Prometheus text) for a monitoring agent on this machine: served
/// to loopback peers only, and never through a reverse proxy (which would make every
/// client look local).
async fn metrics(
    State(st): State<AppState>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<crate::Peer>,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match from_this_machine(&peer, &headers) {
        true => (
            [(
                axum::http::header::CONTENT_TYPE,
                "text/plain; version=0.0.4",
            )],
            st.app.metrics_text(),
        )
            .into_response(),
        false => axum::http::StatusCode::NOT_FOUND.into_response(),
    }
}

/// Healthy when the database answers and the last integrity check, audit chain
/// verification, file store probe and checkpoint found nothing wrong. Degraded is a 503, so that a load
/// balancer stops sending traffic; the reasons are told only to this machine (the
/// monitoring agent) and to an operator, never to the world.
async fn healthz(
    State(st): State<AppState>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<crate::Peer>,
    caller: crate::session::Caller,
    headers: axum::http::HeaderMap,
) -> WebResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let mut faults = st.app.health_faults();
    // A database that does not answer (restarting, unreachable) is a degraded
    // instance, not an error: the load balancer moves on and comes back.
    // Answered within two seconds either way, as load balancers expect of a probe.
    let probe = tokio::time::timeout(
        std::time::Duration::from_secs(2),
        st.app.db().operator_exists(),
    );
    match probe.await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => faults.insert(0, ("database".into(), e.to_string())),
        Err(_) => faults.insert(0, ("database".into(), "no answer within 2 s".into())),
    }
    let operator = caller.actor.as_ref().is_some_and(|a| a.is_operator);
    let insider = from_this_machine(&peer, &headers) || operator;
    if faults.is_empty() {
        // Which single-instance duties (checkpoint signing, backups) this instance
        // holds: how an operator, or a benchmark, sees a leader hand over.
        return Ok(Json(match insider {
            true => json!({
                "status": "ok",
                "leads": st.app.leading(),
                "files": st.app.files().describe(),
            }),
            false => json!({ "status": "ok" }),
        })
        .into_response());
    }
    let body = match insider {
        true => json!({
            "status": "degraded",
            "reasons": faults
                .iter()
                .map(|(what, why)| json!({ "check": what, "fault": why }))
                .collect::<Vec<_>>(),
        }),
        false => json!({ "status": "degraded" }),
    };
    Ok((axum::http::StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response())
}
