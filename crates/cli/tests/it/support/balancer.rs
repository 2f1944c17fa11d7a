//! A load balancer for the tests: one address in front of several instances, choosing
//! the instance for each request by a rule of the test's (so that a ceremony can be made
//! to start on one instance and finish on another), and counting what each received.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderName, StatusCode};
use axum::response::Response;

/// Which instance (by index) gets a request: from its method and path.
pub type Rule = fn(&axum::http::Method, &str) -> usize;

pub struct Balancer {
    /// `http://localhost:PORT`: the service's public address.
    pub base: String,
    listener: Option<tokio::net::TcpListener>,
    /// Requests each instance received.
    pub hits: Arc<Vec<AtomicUsize>>,
}

#[derive(Clone)]
struct Shared {
    backends: Arc<Vec<String>>,
    rule: Rule,
    hits: Arc<Vec<AtomicUsize>>,
    client: reqwest::Client,
}

impl Balancer {
    /// Takes its port first: the instances must know their public address.
    pub async fn bind(instances: usize) -> Balancer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        Balancer {
            base: format!("http://localhost:{port}"),
            listener: Some(listener),
            hits: Arc::new((0..instances).map(|_| AtomicUsize::new(0)).collect()),
        }
    }

    /// Starts forwarding to `backends` (their own addresses) by `rule`.
    pub fn serve(&mut self, backends: Vec<String>, rule: Rule) {
        let shared = Shared {
            backends: Arc::new(backends),
            rule,
            hits: self.hits.clone(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        };
        let app = axum::Router::new().fallback(forward).with_state(shared);
        let listener = self.listener.take().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
    }

    pub fn hits(&self, instance: usize) -> usize {
        self.hits[instance].load(Ordering::SeqCst)
    }
}

async fn forward(State(s): State<Shared>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let i = (s.rule)(&parts.method, parts.uri.path());
    s.hits[i].fetch_add(1, Ordering::SeqCst);
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let body = to_bytes(body, 16 << 20).await.unwrap_or_default();
    let mut out = s
        .client
        .request(parts.method.clone(), format!("{}{path}", s.backends[i]))
        .body(body);
    for (k, v) in &parts.headers {
        if k != "content-length" {
            out = out.header(k, v);
        }
    }
    let Ok(r) = out.send().await else {
        return Response::builder()
            .status(StatusCode::BAD_GATEWAY)
            .body(Body::empty())
            .unwrap();
    };
    let mut resp = Response::builder().status(r.status());
    for (k, v) in r.headers() {
        let hop = [
            HeaderName::from_static("transfer-encoding"),
            HeaderName::from_static("connection"),
            HeaderName::from_static("content-length"),
        ];
        if !hop.contains(k) {
            resp = resp.header(k, v);
        }
    }
    let bytes = r.bytes().await.unwrap_or_default();
    resp.body(Body::from(bytes)).unwrap()
}
