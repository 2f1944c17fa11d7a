//! My schedule, and answering 出欠 from it in one tap: with script the answer is sent in
//! the background and the server sends the answered card back to put in place; without
//! script the form posts and the page returns to the same card.

use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use tekkan_app::AnswerInput;
use tekkan_core::{AnswerStatus, ClubId, MembershipId, OccurrenceId, Reply};
use tekkan_storage::ScheduleRow;

use super::form::{Pairs, get};
use super::{render, see_other};
use crate::AppState;
use crate::error::WebResult;
use crate::extract::{Ids, PageCtx, PageForm};
use crate::routes::Routes;
use crate::session::Auth;

pub fn routes() -> Routes {
    Routes::new().get("/schedule", schedule).post(
        "/clubs/{club}/occurrences/{occurrence}/answers/{member}",
        answer,
    )
}

pub const REPLIES: [Reply; 3] = [Reply::Yes, Reply::No, Reply::Maybe];

/// The header app.js sends when it wants the answered card, not a redirect.
pub const FRAGMENT: &str = "x-tekkan-fragment";

/// Whether an answer `status` is the reply `rep` (a "yes" on the waiting list is still
/// a "yes"): which button shows as chosen.
pub fn answer_is(status: Option<AnswerStatus>, rep: &Reply) -> bool {
    matches!(
        (status, rep),
        (
            Some(AnswerStatus::Yes | AnswerStatus::Waitlisted),
            Reply::Yes
        ) | (Some(AnswerStatus::No), Reply::No)
            | (Some(AnswerStatus::Maybe), Reply::Maybe)
    )
}

fn chosen(r: &ScheduleRow, rep: &Reply) -> bool {
    answer_is(r.answer.as_ref().map(|(s, _)| *s), rep)
}

fn comment(r: &ScheduleRow) -> &str {
    r.answer.as_ref().map_or("", |(_, c)| c.as_str())
}

#[derive(Template)]
#[template(path = "schedule.html")]
struct SchedulePage {
    p: PageCtx,
    rows: Vec<ScheduleRow>,
    replies: [Reply; 3],
    now: i64,
}

impl SchedulePage {
    fn chosen(&self, r: &ScheduleRow, rep: &Reply) -> bool {
        chosen(r, rep)
    }
    fn comment<'a>(&self, r: &'a ScheduleRow) -> &'a str {
        comment(r)
    }
}

/// One card, sent back after an answer made in place.
#[derive(Template)]
#[template(path = "_schedule_card.html")]
struct ScheduleCard {
    p: PageCtx,
    r: ScheduleRow,
    replies: [Reply; 3],
    now: i64,
}

impl ScheduleCard {
    fn chosen(&self, r: &ScheduleRow, rep: &Reply) -> bool {
        chosen(r, rep)
    }
    fn comment<'a>(&self, r: &'a ScheduleRow) -> &'a str {
        comment(r)
    }
}

async fn schedule(State(st): State<AppState>, Auth(a): Auth, p: PageCtx) -> WebResult<Response> {
    // The next four weeks; the club calendars go further.
    let rows = st.app.schedule(&a, 28, 40).await?;
    Ok(render(&SchedulePage {
        p,
        rows,
        replies: REPLIES,
        now: tekkan_storage::now_ms(),
    })?
    .into_response())
}

async fn answer(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, id, member)): Ids<(ClubId, OccurrenceId, MembershipId)>,
    headers: HeaderMap,
    p: PageCtx,
    PageForm(f): PageForm<Pairs>,
) -> WebResult<Response> {
    let status = Reply::parse(get(&f, "status")).map_err(tekkan_app::AppError::from)?;
    let input = AnswerInput {
        status,
        comment: get(&f, "comment").into(),
        decide_by: Some(get(&f, "decide_by").to_owned()).filter(|s| !s.is_empty()),
    };
    st.app.answer(&a, club, id, member, &input).await?;
    match get(&f, "back") {
        "schedule" => {}
        // An officer answering for someone from the occurrence's list (代理回答).
        "roll" => {
            return super::roll_call::row_or_back(
                &st,
                &a,
                p,
                &headers,
                (club, id, member),
                "answered",
            )
            .await;
        }
        _ => {
            return Ok(see_other(&format!(
                "/clubs/{club}/occurrences/{id}?msg=answered"
            )));
        }
    }
    if headers.contains_key(FRAGMENT) {
        let r = st.app.schedule_line(&a, club, id, member).await?;
        let card = ScheduleCard {
            p,
            r,
            replies: REPLIES,
            now: tekkan_storage::now_ms(),
        };
        return Ok(render(&card)?.into_response());
    }
    Ok(see_other(&format!(
        "/schedule?msg=answered#a-{id}-{member}"
    )))
}
