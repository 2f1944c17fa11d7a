//! Reading the audit trail: a club's owners and officers search theirs, the operator
//! searches everything, and each person lists who viewed their data. Read-only: no
//! interface edits or deletes an entry.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use serde::Serialize;
use tekkan_app::{AuditFilter, AuditLine};
use tekkan_core::ClubId;

use crate::AppState;
use crate::error::{WebError, WebResult};
use crate::routes::Routes;
use crate::session::Auth;

pub fn routes() -> Routes {
    Routes::new()
        .get("/api/v1/me/viewers", viewers)
        .get("/api/v1/clubs/{club}/audit", club_audit)
        .get("/api/v1/admin/audit", all_audit)
}

fn number(v: &str) -> Result<i64, WebError> {
    v.parse()
        .map_err(|_| WebError::BadRequest("times, limits and sequence numbers are whole numbers"))
}

/// `actor`, `action`, `from_ms`, `to_ms`, `before`, `limit` (and `club` for the
/// operator) from the query string.
pub fn filter(q: &Option<String>) -> Result<(AuditFilter, Option<String>), WebError> {
    let mut f = AuditFilter::default();
    let mut club = None;
    let q = q.as_deref().unwrap_or_default();
    for (k, v) in form_urlencoded::parse(q.as_bytes()) {
        let v = v.trim();
        if v.is_empty() {
            continue;
        }
        if v.chars().count() > 128 {
            return Err(WebError::BadRequest("a search term is too long"));
        }
        match &*k {
            "actor" => f.actor = Some(v.to_owned()),
            "action" => f.action = Some(v.to_owned()),
            "club" => club = Some(v.to_owned()),
            "from_ms" => f.from_ms = Some(number(v)?),
            "to_ms" => f.to_ms = Some(number(v)?),
            "before" => f.before_seq = Some(number(v)?),
            "limit" => f.limit = Some(number(v)?),
            _ => {}
        }
    }
    Ok((f, club))
}

#[derive(Serialize)]
struct ViewerRes {
    seq: i64,
    ts_ms: i64,
    actor_account: Option<String>,
    actor_name: Option<String>,
    club_id: Option<String>,
    action: String,
}

async fn viewers(State(st): State<AppState>, Auth(a): Auth) -> WebResult<Json<Vec<ViewerRes>>> {
    let rows = st.app.who_viewed_me(&a).await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| ViewerRes {
                seq: r.seq,
                ts_ms: r.ts_ms,
                actor_account: r.actor_account,
                actor_name: r.actor_name,
                club_id: r.club_id,
                action: r.action,
            })
            .collect(),
    ))
}

async fn club_audit(
    State(st): State<AppState>,
    Auth(a): Auth,
    Path(club): Path<ClubId>,
    RawQuery(q): RawQuery,
) -> WebResult<Json<Vec<AuditLine>>> {
    let (f, _) = filter(&q)?;
    Ok(Json(st.app.search_club_audit(&a, club, f).await?))
}

async fn all_audit(
    State(st): State<AppState>,
    Auth(a): Auth,
    RawQuery(q): RawQuery,
) -> WebResult<Json<Vec<AuditLine>>> {
    let (f, club) = filter(&q)?;
    Ok(Json(st.app.search_all_audit(&a, f, club).await?))
}
