//! `Idempotency-Key` on the API's writes: a phone that retries a request whose answer
//! it never got sends the same key, and gets the first answer again (marked
//! `idempotency-replayed: true`) while the write is made once. The same key with another
//! request is refused (422), and while the first is being answered a retry waits its turn
//! (409). An answer that refused or failed the request (4xx, 5xx) wrote nothing: it is
//! not kept, and the key goes free, so a retry runs again (and, if nothing changed, is
//! refused the same way).
//! Keys belong to the signed-in account; requests without one pass through untouched.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use tekkan_app::AppError;
use tekkan_app::idempotency::{Claim, KeptAnswer};

use crate::AppState;
use crate::error::WebError;
use crate::session::Caller;

pub const HEADER: &str = "idempotency-key";
const REPLAYED: &str = "idempotency-replayed";
/// A first answer larger than this is not kept (the API's write answers are small).
const MAX_KEPT: usize = 256 * 1024;
/// The headers given again with a kept answer.
const KEPT_HEADERS: [&str; 3] = ["content-type", "location", crate::receipts::HEADER];

/// A key is 1 to 255 visible ASCII characters (a UUID, typically).
fn valid(key: &str) -> bool {
    (1..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic())
}

fn fingerprint(method: &Method, uri: &str, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(method.as_str());
    h.update([0]);
    h.update(uri);
    h.update([0]);
    h.update(body);
    hex::encode(h.finalize())
}

fn replay(kept: KeptAnswer) -> Response {
    let status = StatusCode::from_u16(kept.status).unwrap_or(StatusCode::OK);
    let mut res = (status, kept.body).into_response();
    let headers: Vec<(String, String)> = serde_json::from_str(&kept.headers).unwrap_or_default();
    let h = res.headers_mut();
    h.remove(header::CONTENT_TYPE);
    for (name, value) in headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            h.append(n, v);
        }
    }
    h.insert(REPLAYED, HeaderValue::from_static("true"));
    res
}

pub async fn idempotency(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let writes = matches!(
        *req.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    let account = req
        .extensions()
        .get::<Caller>()
        .and_then(|c| c.actor.as_ref())
        .map(|a| a.account);
    let key = req
        .headers()
        .get(HEADER)
        .map(|v| v.to_str().map(str::to_owned));
    let (Some(key), Some(account), true, true) =
        (key, account, writes, req.uri().path().starts_with("/api/"))
    else {
        return next.run(req).await;
    };
    let key = match key {
        Ok(k) if valid(&k) => k,
        _ => return WebError::BadRequest("idempotency_key_invalid").into_response(),
    };
    let (parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, st.config.body_limit).await else {
        return WebError::PayloadTooLarge.into_response();
    };
    let uri = parts
        .uri
        .path_and_query()
        .map_or(parts.uri.path(), |p| p.as_str())
        .to_owned();
    let print = fingerprint(&parts.method, &uri, &bytes);
    // A first request cut off (by the request timeout) no longer holds its key.
    let abandon_ms = i64::try_from(st.config.request_timeout.as_millis())
        .unwrap_or(i64::MAX / 4)
        .saturating_mul(2);
    match st
        .app
        .claim_idempotency_key(account, &key, &print, abandon_ms)
        .await
    {
        Ok(Claim::First) => {}
        Ok(Claim::Answered(kept)) => return replay(kept),
        Ok(Claim::OtherRequest) => return WebError::KeyReused.into_response(),
        Ok(Claim::InFlight) => {
            return WebError::App(AppError::Conflict("idempotency_key_in_flight")).into_response();
        }
        Err(e) => return WebError::App(e).into_response(),
    }
    let res = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    // Errors are rendered by the frame around everything (from what the answer
    // carries, not its body), and wrote nothing: they are not kept.
    if res.status().is_client_error() || res.status().is_server_error() {
        if let Err(e) = st.app.release_idempotency_key(account, &key).await {
            tracing::warn!(error = %e, "an idempotency key could not be released");
        }
        return res;
    }
    // An answer of unknown or large size goes out as it is, not kept: the key goes free.
    let fits = axum::body::HttpBody::size_hint(res.body())
        .upper()
        .is_some_and(|n| n <= MAX_KEPT as u64);
    if !fits {
        if let Err(e) = st.app.release_idempotency_key(account, &key).await {
            tracing::warn!(error = %e, "an idempotency key could not be released");
        }
        return res;
    }
    let (parts, body) = res.into_parts();
    let bytes = match to_bytes(body, MAX_KEPT).await {
        Ok(b) => b,
        Err(e) => {
            // The body failed while being read: nothing can be sent or kept.
            tracing::warn!(error = %e, "an answer could not be read to keep it");
            let _ = st.app.release_idempotency_key(account, &key).await;
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let headers: Vec<(String, String)> = KEPT_HEADERS
        .iter()
        .flat_map(|name| {
            parts
                .headers
                .get_all(*name)
                .iter()
                .filter_map(|v| Some(((*name).to_owned(), v.to_str().ok()?.to_owned())))
        })
        .collect();
    let kept = KeptAnswer {
        status: parts.status.as_u16(),
        headers: serde_json::to_string(&headers).unwrap_or_else(|_| "[]".into()),
        body: String::from_utf8_lossy(&bytes).into_owned(),
    };
    if let Err(e) = st.app.keep_idempotent_answer(account, &key, &kept).await {
        // The answer still goes out; a retry would then find the key in flight and,
        // after the abandon time, run again.
        tracing::warn!(error = %e, "an answer could not be kept for its idempotency key");
    }
    Response::from_parts(parts, Body::from(bytes))
}
