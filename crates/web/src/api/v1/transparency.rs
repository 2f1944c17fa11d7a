//! The audit log's public face: the newest signed checkpoint and the key history at
//! fixed URLs (`/transparency/checkpoint`, `/transparency/keys`), inclusion and
//! consistency proofs, and a club's audit export with proofs for its officers.
//!
//! Proofs are hashes of hashes and reveal nothing of the entries, so like a
//! Certificate Transparency log they are public: an auditor needs no account.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tekkan_app::AppError;
use tekkan_audit::export::KeyLine;
use tekkan_audit::to_hex;
use tekkan_core::ClubId;
use tekkan_storage::StoredCheckpoint;

use crate::AppState;
use crate::error::{WebError, WebResult};
use crate::routes::Routes;
use crate::session::Auth;

pub fn routes() -> Routes {
    Routes::new()
        .get("/transparency/checkpoint", checkpoint_note)
        .get("/transparency/keys", keys)
        .get("/api/v1/transparency/checkpoint", checkpoint)
        .get("/api/v1/transparency/keys", keys)
        .get("/api/v1/transparency/inclusion", inclusion)
        .get("/api/v1/transparency/consistency", consistency)
        .get("/api/v1/clubs/{club}/audit/export", club_export)
}

/// `name=<u64>` from the query string; anything malformed is a 400.
fn number(q: &Option<String>, name: &str) -> Result<Option<u64>, WebError> {
    let q = q.as_deref().unwrap_or_default();
    for (k, v) in form_urlencoded::parse(q.as_bytes()) {
        if k == name {
            return v
                .parse()
                .map(Some)
                .map_err(|_| WebError::BadRequest("query parameters must be whole numbers"));
        }
    }
    Ok(None)
}

fn required(q: &Option<String>, name: &str) -> Result<u64, WebError> {
    number(q, name)?.ok_or(WebError::BadRequest(
        "a required query parameter is missing",
    ))
}

async fn checkpoint_note(State(st): State<AppState>) -> WebResult<Response> {
    let c = st
        .app
        .db()
        .latest_checkpoint()
        .await
        .map_err(AppError::from)?;
    let c = c.ok_or(WebError::NotFound)?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        c.note,
    )
        .into_response())
}

async fn keys(State(st): State<AppState>) -> WebResult<Json<Vec<KeyLine>>> {
    let h = st.app.log_key_history().await?;
    Ok(Json(h.iter().map(KeyLine::from_record).collect()))
}

#[derive(Serialize)]
struct CheckpointRes {
    size: i64,
    root: String,
    ts_ms: i64,
    key_id: String,
    note: String,
    public_key: String,
}

impl CheckpointRes {
    fn new(c: StoredCheckpoint, public_key: String) -> Self {
        Self {
            size: c.size,
            root: c.root,
            ts_ms: c.ts_ms,
            key_id: c.key_id,
            note: c.note,
            public_key,
        }
    }
}

async fn checkpoint(State(st): State<AppState>) -> WebResult<Json<CheckpointRes>> {
    let c = st
        .app
        .db()
        .latest_checkpoint()
        .await
        .map_err(AppError::from)?;
    let c = c.ok_or(WebError::NotFound)?;
    Ok(Json(CheckpointRes::new(
        c,
        st.app.log_public_key().encode(),
    )))
}

#[derive(Serialize)]
struct InclusionRes {
    seq: u64,
    /// For a promise (`?content=`): the hash the entry links to, which with its position
    /// and the promised content gives its leaf.
    #[serde(skip_serializing_if = "Option::is_none")]
    prev_hash: Option<String>,
    index: u64,
    leaf_hash: String,
    proof: Vec<String>,
    checkpoint: CheckpointRes,
}

/// The value of `name` in the query, if given.
fn text<'q>(q: &'q Option<String>, name: &str) -> Option<std::borrow::Cow<'q, str>> {
    let q = q.as_deref().unwrap_or_default();
    form_urlencoded::parse(q.as_bytes()).find_map(|(k, v)| (k == name).then_some(v))
}

/// `?seq=N[&size=M]`: entry N's proof in the checkpoint over M entries (the newest by
/// default). `?content=<hex>[&size=M]`: the same for the entry a promise (a V2 receipt)
/// was given for, with its position and link. 404 until a checkpoint covers the entry.
async fn inclusion(
    State(st): State<AppState>,
    RawQuery(q): RawQuery,
) -> WebResult<Json<InclusionRes>> {
    let (seq, prev_hash) = match text(&q, "content") {
        Some(c) => {
            let content = tekkan_audit::from_hex(&c)
                .ok_or(WebError::BadRequest("content must be 64 hex digits"))?;
            let found = st
                .app
                .db()
                .locate_content(&content)
                .await
                .map_err(AppError::from)?;
            let (seq, prev) = found.ok_or(WebError::NotFound)?;
            (seq, Some(to_hex(&prev)))
        }
        None => (required(&q, "seq")?, None),
    };
    let p = st.app.inclusion(seq, number(&q, "size")?).await?;
    Ok(Json(InclusionRes {
        seq,
        prev_hash,
        index: p.index,
        leaf_hash: to_hex(&p.leaf_hash),
        proof: p.proof.iter().map(to_hex).collect(),
        checkpoint: CheckpointRes::new(p.checkpoint, st.app.log_public_key().encode()),
    }))
}

#[derive(Serialize)]
struct ConsistencyRes {
    first: CheckpointRes,
    second: CheckpointRes,
    proof: Vec<String>,
}

/// `?first=A&second=B`: the proof that the checkpoint over B entries extends the one
/// over A.
async fn consistency(
    State(st): State<AppState>,
    RawQuery(q): RawQuery,
) -> WebResult<Json<ConsistencyRes>> {
    let (first, second) = (required(&q, "first")?, required(&q, "second")?);
    let (a, b, proof) = st.app.consistency(first, second).await?;
    let key = st.app.log_public_key().encode();
    Ok(Json(ConsistencyRes {
        first: CheckpointRes::new(a, key.clone()),
        second: CheckpointRes::new(b, key),
        proof: proof.iter().map(to_hex).collect(),
    }))
}

async fn club_export(
    State(st): State<AppState>,
    Auth(a): Auth,
    Path(club): Path<ClubId>,
) -> WebResult<Response> {
    let body = st.app.club_audit_export(&a, club).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-ndjson".to_owned()),
            (header::CACHE_CONTROL, "no-store".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"tekkan-audit-{club}.jsonl\""),
            ),
        ],
        body,
    )
        .into_response())
}
