//! Polls: create, list, vote, results, close.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tekkan_app::{PollInput, PollView};
use tekkan_core::{ClubId, MembershipId, PollId};
use tekkan_storage::PollLine;

use super::events::rfc3339;
use crate::AppState;
use crate::error::WebResult;
use crate::extract::{ApiJson, Ids};
use crate::routes::Routes;
use crate::session::Auth;

pub fn routes() -> Routes {
    Routes::new()
        .get("/api/v1/clubs/{club}/polls", list)
        .post("/api/v1/clubs/{club}/polls", create)
        .get("/api/v1/clubs/{club}/polls/{poll}", show)
        .put("/api/v1/clubs/{club}/polls/{poll}/vote", vote)
        .post("/api/v1/clubs/{club}/polls/{poll}/close", close)
}

#[derive(Serialize)]
struct Choice {
    label: String,
    votes: i64,
    /// Named polls, for those who manage polls: who chose this.
    #[serde(skip_serializing_if = "Option::is_none")]
    voters: Option<Vec<MembershipId>>,
}

#[derive(Serialize)]
struct PollRes {
    id: PollId,
    question: String,
    multiple: bool,
    anonymous: bool,
    closes_at: String,
    open: bool,
    voters: i64,
    voted: bool,
    options: Vec<Choice>,
}

fn res(l: PollLine, ballots: Option<&[(i64, MembershipId, String)]>) -> PollRes {
    let open = l.poll.is_open(tekkan_storage::now_ms());
    PollRes {
        id: l.poll.id,
        question: l.poll.question,
        multiple: l.poll.multiple,
        anonymous: l.poll.anonymous,
        closes_at: rfc3339(l.poll.closes_at),
        open,
        voters: l.voters,
        voted: l.voted,
        options: l
            .options
            .into_iter()
            .enumerate()
            .map(|(i, (label, votes))| Choice {
                label,
                votes,
                voters: ballots
                    .map(|b| b.iter().filter(|x| x.0 == i as i64).map(|x| x.1).collect()),
            })
            .collect(),
    }
}

async fn list(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids(club): Ids<ClubId>,
) -> WebResult<Json<Vec<PollRes>>> {
    let (_, v) = st.app.polls(&a, club).await?;
    Ok(Json(v.into_iter().map(|l| res(l, None)).collect()))
}

#[derive(Serialize)]
struct Created {
    id: PollId,
}

async fn create(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids(club): Ids<ClubId>,
    ApiJson(r): ApiJson<PollInput>,
) -> WebResult<(StatusCode, Json<Created>)> {
    let p = st.app.create_poll(&a, club, &r).await?;
    Ok((StatusCode::CREATED, Json(Created { id: p.id })))
}

#[derive(Serialize)]
struct Detail {
    #[serde(flatten)]
    poll: PollRes,
    audience: i64,
    my_choices: Vec<i64>,
    can_vote: bool,
}

fn detail(v: PollView) -> Detail {
    Detail {
        audience: v.audience,
        my_choices: v.my_choices,
        can_vote: v.can_vote,
        poll: res(v.line, v.ballots.as_deref()),
    }
}

async fn show(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, id)): Ids<(ClubId, PollId)>,
) -> WebResult<Json<Detail>> {
    Ok(Json(detail(st.app.poll_view(&a, club, id).await?)))
}

#[derive(Deserialize)]
struct VoteReq {
    choices: Vec<i64>,
}

async fn vote(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, id)): Ids<(ClubId, PollId)>,
    ApiJson(r): ApiJson<VoteReq>,
) -> WebResult<StatusCode> {
    if r.choices.len() > 100 {
        return Err(
            tekkan_app::AppError::from(tekkan_core::ValidationError::Invalid { field: "choices" })
                .into(),
        );
    }
    st.app.vote(&a, club, id, &r.choices).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn close(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, id)): Ids<(ClubId, PollId)>,
) -> WebResult<StatusCode> {
    st.app.close_poll(&a, club, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
