//! Poll pages: the list, creating a poll, voting and results.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use tekkan_app::{PollInput, PollView};
use tekkan_core::{ClubId, Permission, PollId};
use tekkan_storage::{PollLine, Subgroup};

use super::form::{Pairs, get, refusal, subgroups, with_status};
use super::{render, see_other};
use crate::AppState;
use crate::error::WebResult;
use crate::extract::{Ids, PageCtx, PageForm};
use crate::routes::Routes;
use crate::session::Auth;

pub fn routes() -> Routes {
    Routes::new()
        .get("/clubs/{club}/polls", list)
        .get("/clubs/{club}/polls/new", new_form)
        .post("/clubs/{club}/polls", create)
        .get("/clubs/{club}/polls/{poll}", show)
        .post("/clubs/{club}/polls/{poll}/vote", vote)
        .post("/clubs/{club}/polls/{poll}/close", close)
}

#[derive(Template)]
#[template(path = "polls.html")]
struct ListPage {
    p: PageCtx,
    club: ClubId,
    list: Vec<PollLine>,
    can_manage: bool,
    now: i64,
}

async fn list(
    State(st): State<AppState>,
    Auth(a): Auth,
    p: PageCtx,
    Ids(club): Ids<ClubId>,
) -> WebResult<Response> {
    let (me, list) = st.app.polls(&a, club).await?;
    Ok(render(&ListPage {
        p,
        club,
        list,
        can_manage: me.role.allows(Permission::ManagePolls),
        now: tekkan_storage::now_ms(),
    })?
    .into_response())
}

#[derive(Template)]
#[template(path = "poll_form.html")]
struct FormPage {
    p: PageCtx,
    club: ClubId,
    f: Pairs,
    subgroups: Vec<Subgroup>,
    error: Option<String>,
}

impl FormPage {
    fn v(&self, k: &str) -> &str {
        get(&self.f, k)
    }
    /// The typed choices, padded to at least four fields.
    fn choices(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .f
            .iter()
            .filter(|(k, _)| k == "options")
            .map(|(_, v)| v.clone())
            .collect();
        while v.len() < 4 {
            v.push(String::new());
        }
        v
    }
}

async fn new_form(
    State(st): State<AppState>,
    Auth(a): Auth,
    p: PageCtx,
    Ids(club): Ids<ClubId>,
) -> WebResult<Response> {
    st.app.authorize(&a, club, Permission::ManagePolls).await?;
    let subgroups = st.app.subgroup_list(&a, club).await?;
    Ok(render(&FormPage {
        p,
        club,
        f: Vec::new(),
        subgroups,
        error: None,
    })?
    .into_response())
}

async fn create(
    State(st): State<AppState>,
    Auth(a): Auth,
    p: PageCtx,
    Ids(club): Ids<ClubId>,
    PageForm(f): PageForm<Pairs>,
) -> WebResult<Response> {
    let input = PollInput {
        question: get(&f, "question").into(),
        // Empty extra fields are left out, so a form with spare rows still works.
        options: f
            .iter()
            .filter(|(k, v)| k == "options" && !v.trim().is_empty())
            .map(|(_, v)| v.clone())
            .collect(),
        multiple: get(&f, "multiple") == "on",
        anonymous: get(&f, "anonymous") == "on",
        closes_at: get(&f, "closes_at").into(),
        subgroups: subgroups(&f)?,
    };
    match st.app.create_poll(&a, club, &input).await {
        Ok(x) => Ok(see_other(&format!("/clubs/{club}/polls/{}", x.id))),
        Err(e) => {
            let (status, error) = refusal(&p, e.into())?;
            let subgroups = st.app.subgroup_list(&a, club).await?;
            let page = FormPage {
                p,
                club,
                f,
                subgroups,
                error: Some(error),
            };
            Ok(with_status(render(&page)?, status))
        }
    }
}

#[derive(Template)]
#[template(path = "poll.html")]
struct ShowPage {
    p: PageCtx,
    club: ClubId,
    v: PollView,
    open: bool,
}

impl ShowPage {
    fn voters_of(&self, i: &usize) -> Vec<String> {
        self.v
            .ballots
            .iter()
            .flatten()
            .filter(|b| b.0 == *i as i64)
            .map(|b| b.2.clone())
            .collect()
    }
    fn chose(&self, i: &usize) -> bool {
        self.v.my_choices.contains(&(*i as i64))
    }
}

async fn show(
    State(st): State<AppState>,
    Auth(a): Auth,
    p: PageCtx,
    Ids((club, id)): Ids<(ClubId, PollId)>,
) -> WebResult<Response> {
    let v = st.app.poll_view(&a, club, id).await?;
    let open = v.line.poll.is_open(tekkan_storage::now_ms());
    Ok(render(&ShowPage { p, club, v, open })?.into_response())
}

async fn vote(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, id)): Ids<(ClubId, PollId)>,
    PageForm(f): PageForm<Pairs>,
) -> WebResult<Response> {
    let choices = f
        .iter()
        .filter(|(k, _)| k == "choice")
        .take(100)
        .map(|(_, v)| v.parse::<i64>().unwrap_or(-1))
        .collect::<Vec<_>>();
    st.app.vote(&a, club, id, &choices).await?;
    Ok(see_other(&format!("/clubs/{club}/polls/{id}?msg=voted")))
}

async fn close(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, id)): Ids<(ClubId, PollId)>,
) -> WebResult<Response> {
    st.app.close_poll(&a, club, id).await?;
    Ok(see_other(&format!("/clubs/{club}/polls/{id}?msg=saved")))
}
