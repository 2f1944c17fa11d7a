//! The roll call over the API: an occurrence's list (answers and who came) for those who
//! manage attendance, and marking one person.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use tekkan_app::RollCall;
use tekkan_core::{ClubId, MembershipId, OccurrenceId};

use crate::AppState;
use crate::error::WebResult;
use crate::extract::{ApiJson, Ids};
use crate::routes::Routes;
use crate::session::Auth;

pub fn routes() -> Routes {
    Routes::new()
        .get(
            "/api/v1/clubs/{club}/occurrences/{occurrence}/roll-call",
            show,
        )
        .put(
            "/api/v1/clubs/{club}/occurrences/{occurrence}/roll-call/{member}",
            mark,
        )
}

async fn show(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, id)): Ids<(ClubId, OccurrenceId)>,
) -> WebResult<Json<RollCall>> {
    Ok(Json(st.app.roll_call(&a, club, id).await?))
}

/// `{"present": true}` came, `false` did not, `null` not checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MarkReq {
    present: Option<bool>,
}

#[derive(Serialize)]
struct MarkRes {
    changed: bool,
}

async fn mark(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, id, member)): Ids<(ClubId, OccurrenceId, MembershipId)>,
    ApiJson(req): ApiJson<MarkReq>,
) -> WebResult<Json<MarkRes>> {
    let changed = st
        .app
        .set_roll_call(&a, club, id, member, req.present)
        .await?;
    Ok(Json(MarkRes { changed }))
}
