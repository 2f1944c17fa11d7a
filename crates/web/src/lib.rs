//! TEKKAN's HTTP face: the JSON API under `/api/v1`, server-rendered pages, and the
//! server loop (plain HTTP on loopback, TLS with rustls elsewhere).
//!
//! Each domain module exports `routes()`; handlers extract, call `tekkan-app`, render.

mod api;
mod contain;
mod error;
mod extract;
mod frame;
pub mod i18n;
mod idempotency;
mod oversize;
pub(crate) mod pages;
mod receipts;
mod routes;
mod session;
mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;
use axum::{Router, middleware};
use tekkan_app::App;
use tokio::net::TcpListener;
use tower_http::timeout::TimeoutLayer;

pub use error::{ErrorInfo, WebError};
pub use pages::status::status_files;
pub use routes::{Endpoint, Routes};
pub use tls::{TlsError, load_tls_config};

/// Web settings, resolved by the command line.
#[derive(Clone, Debug)]
pub struct WebConfig {
    /// How links in invitations begin (`https://tekkan.example.jp`), never taken from
    /// the request's Host header.
    pub base_url: String,
    /// Cookies get `Secure` and the `__Host-` prefix (TLS here or at a proxy).
    pub secure_cookies: bool,
    /// Send `Strict-Transport-Security`.
    pub hsts: bool,
    /// Take the client address from `X-Forwarded-For` (only behind a trusted proxy).
    pub behind_proxy: bool,
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
    pub request_timeout: Duration,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            base_url: "http://127.0.0.1:8080".into(),
            secure_cookies: false,
            hsts: false,
            behind_proxy: false,
            body_limit: 64 * 1024,
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// Server-side secrets the web layer needs; loaded by the command line from the data
/// directory, never from the database.
#[derive(Clone)]
pub struct Keys {
    pub csrf: Vec<u8>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(<redacted>)")
    }
}

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub app: App,
    pub config: Arc<WebConfig>,
    pub keys: Arc<Keys>,
}

/// The peer address of a connection, plain or TLS.
#[derive(Clone, Copy, Debug)]
pub struct Peer(pub SocketAddr);

impl Connected<IncomingStream<'_, TcpListener>> for Peer {
    fn connect_info(s: IncomingStream<'_, TcpListener>) -> Self {
        Peer(*s.remote_addr())
    }
}

impl Connected<IncomingStream<'_, tls::TlsListener>> for Peer {
    fn connect_info(s: IncomingStream<'_, tls::TlsListener>) -> Self {
        Peer(*s.remote_addr())
    }
}

/// Every route of the application, with its list (see [`Routes::endpoints`]).
pub fn routes() -> Routes {
    Routes::new().merge(api::routes()).merge(pages::routes())
}

/// The complete service: routes, then the session/CSRF layer, the body limit, the
/// timeout and the frame (request id, security headers, error rendering).
pub fn router(state: AppState) -> Router {
    let limit = state.config.body_limit;
    let timeout = state.config.request_timeout;
    routes()
        .router
        .layer(middleware::from_fn_with_state(
            state.clone(),
            receipts::receipts,
        ))
        // Inside the session (it needs the caller), outside the receipts (kept with the
        // answer it gives again).
        .layer(middleware::from_fn_with_state(
            state.clone(),
            idempotency::idempotency,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            session::authenticate,
        ))
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            oversize::oversized,
        ))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), frame::frame))
        .with_state(state)
}

/// Serves until `shutdown` resolves, then lets requests in flight finish.
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state).into_make_service_with_connect_info::<Peer>();
    match tls {
        None => {
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
        }
        Some(cfg) => {
            let listener = tls::TlsListener::new(listener, cfg);
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
        }
    }
}
