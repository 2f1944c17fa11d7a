//! An officer's list on an occurrence's page: each person's answer, answering for them
//! (代理回答), and the roll call on the day, each a tap that changes one row in place
//! (app.js; without script, a form post that returns to the row).

use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use tekkan_app::{RollCall, RollCallLine};
use tekkan_core::{ClubId, MembershipId, OccurrenceId, Reply};

use super::form::{Pairs, get};
use super::{render, see_other};
use crate::AppState;
use crate::error::WebResult;
use crate::extract::{Ids, PageCtx, PageForm};
use crate::routes::Routes;
use crate::session::Auth;

pub fn routes() -> Routes {
    Routes::new().post(
        "/clubs/{club}/occurrences/{occurrence}/roll-call/{member}",
        check,
    )
}

/// Whether `l` came, at the roll call.
pub fn came(l: &RollCallLine) -> bool {
    l.present == Some(true)
}

/// Whether `l`'s answer is `rep`.
pub fn answered(l: &RollCallLine, rep: &Reply) -> bool {
    super::schedule::answer_is(l.answer, rep)
}

/// One row, sent back after a change made in place.
#[derive(Template)]
#[template(path = "_roll_row.html")]
struct RollRow {
    p: PageCtx,
    club: ClubId,
    occ: OccurrenceId,
    l: RollCallLine,
    open: bool,
    replies: [Reply; 3],
}

impl RollRow {
    fn came(&self, l: &RollCallLine) -> bool {
        came(l)
    }
    fn answered(&self, l: &RollCallLine, rep: &Reply) -> bool {
        answered(l, rep)
    }
}

/// After a change to `member`'s row: the row itself when app.js asked for it, else back
/// to the row on the occurrence's page.
pub async fn row_or_back(
    st: &AppState,
    a: &tekkan_app::Actor,
    p: PageCtx,
    headers: &HeaderMap,
    (club, occ, member): (ClubId, OccurrenceId, MembershipId),
    msg: &str,
) -> WebResult<Response> {
    if !headers.contains_key(super::schedule::FRAGMENT) {
        return Ok(see_other(&format!(
            "/clubs/{club}/occurrences/{occ}?msg={msg}#r-{member}"
        )));
    }
    let RollCall {
        lines,
        roll_call_open,
    } = st.app.roll_call(a, club, occ).await?;
    let l = lines
        .into_iter()
        .find(|l| l.membership_id == member)
        .ok_or(tekkan_app::AppError::NotFound)?;
    let row = RollRow {
        p,
        club,
        occ,
        l,
        open: roll_call_open,
        replies: super::schedule::REPLIES,
    };
    Ok(render(&row)?.into_response())
}

async fn check(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids(ids): Ids<(ClubId, OccurrenceId, MembershipId)>,
    headers: HeaderMap,
    p: PageCtx,
    PageForm(f): PageForm<Pairs>,
) -> WebResult<Response> {
    let present = match get(&f, "present") {
        "1" => Some(true),
        "0" => Some(false),
        _ => None,
    };
    let (club, occ, member) = ids;
    st.app.set_roll_call(&a, club, occ, member, present).await?;
    row_or_back(&st, &a, p, &headers, ids, "checked").await
}
