//! Announcement pages: the list (unread first to the eye), posting, one announcement
//! with its confirmation button, receipts for officers, and comments.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use tekkan_app::{AnnouncementInput, AnnouncementView, Parent};
use tekkan_core::{AnnouncementId, ClubId, CommentId, OccurrenceId, Permission};
use tekkan_storage::{AnnouncementLine, Comment, Subgroup};

use super::form::{Pairs, get, refusal, subgroups, with_status};
use super::{render, see_other};
use crate::AppState;
use crate::error::{WebError, WebResult};
use crate::extract::{Ids, PageCtx, PageForm};
use crate::routes::Routes;
use crate::session::Auth;

pub fn routes() -> Routes {
    Routes::new()
        .get("/clubs/{club}/announcements", list)
        .get("/clubs/{club}/announcements/new", new_form)
        .post("/clubs/{club}/announcements", post)
        .get("/clubs/{club}/announcements/{announcement}", show)
        .post(
            "/clubs/{club}/announcements/{announcement}/confirm",
            confirm,
        )
        .post("/clubs/{club}/announcements/{announcement}/delete", delete)
        .post(
            "/clubs/{club}/announcements/{announcement}/comments",
            comment_announcement,
        )
        .post(
            "/clubs/{club}/occurrences/{occurrence}/comments",
            comment_occurrence,
        )
        .post("/clubs/{club}/comments/{comment}/edit", edit_comment)
        .post("/clubs/{club}/comments/{comment}/delete", delete_comment)
        .get("/clubs/{club}/comments/{comment}/history", history)
}

#[derive(Template)]
#[template(path = "announcements.html")]
struct ListPage {
    p: PageCtx,
    club: ClubId,
    list: Vec<AnnouncementLine>,
    can_post: bool,
}

async fn list(
    State(st): State<AppState>,
    Auth(a): Auth,
    p: PageCtx,
    Ids(club): Ids<ClubId>,
) -> WebResult<Response> {
    let (me, list) = st.app.announcements(&a, club).await?;
    Ok(render(&ListPage {
        p,
        club,
        list,
        can_post: me.role.allows(Permission::PostAnnouncements),
    })?
    .into_response())
}

#[derive(Template)]
#[template(path = "announcement_form.html")]
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
}

async fn new_form(
    State(st): State<AppState>,
    Auth(a): Auth,
    p: PageCtx,
    Ids(club): Ids<ClubId>,
) -> WebResult<Response> {
    st.app
        .authorize(&a, club, Permission::PostAnnouncements)
        .await?;
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

async fn post(
    State(st): State<AppState>,
    Auth(a): Auth,
    p: PageCtx,
    Ids(club): Ids<ClubId>,
    PageForm(f): PageForm<Pairs>,
) -> WebResult<Response> {
    let input = AnnouncementInput {
        title: get(&f, "title").into(),
        body: get(&f, "body").into(),
        pinned: get(&f, "pinned") == "on",
        requires_confirmation: get(&f, "requires_confirmation") == "on",
        subgroups: subgroups(&f)?,
    };
    let sig = crate::api::v1::signing::form_signature(Some(get(&f, "_signature")))?;
    match st
        .app
        .post_announcement(&a, club, &input, sig.as_ref())
        .await
    {
        Ok(x) => Ok(see_other(&format!(
            "/clubs/{club}/announcements/{}?msg=saved",
            x.id
        ))),
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
#[template(path = "announcement.html")]
struct ShowPage {
    p: PageCtx,
    club: ClubId,
    v: AnnouncementView,
    comments: Vec<Comment>,
    comment_action: String,
}

async fn show(
    State(st): State<AppState>,
    Auth(a): Auth,
    p: PageCtx,
    Ids((club, id)): Ids<(ClubId, AnnouncementId)>,
) -> WebResult<Response> {
    let v = st.app.open_announcement(&a, club, id).await?;
    let comments = st.app.comments(&a, club, Parent::Announcement(id)).await?;
    Ok(render(&ShowPage {
        p,
        club,
        v,
        comments,
        comment_action: format!("/clubs/{club}/announcements/{id}/comments"),
    })?
    .into_response())
}

async fn confirm(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, id)): Ids<(ClubId, AnnouncementId)>,
) -> WebResult<Response> {
    st.app.confirm_announcement(&a, club, id).await?;
    Ok(see_other(&format!(
        "/clubs/{club}/announcements/{id}?msg=confirmed"
    )))
}

async fn delete(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, id)): Ids<(ClubId, AnnouncementId)>,
    PageForm(f): PageForm<Pairs>,
) -> WebResult<Response> {
    let sig = crate::api::v1::signing::form_signature(Some(get(&f, "_signature")))?;
    st.app
        .delete_announcement(&a, club, id, sig.as_ref())
        .await?;
    Ok(see_other(&format!("/clubs/{club}/announcements?msg=saved")))
}

async fn comment_announcement(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, id)): Ids<(ClubId, AnnouncementId)>,
    PageForm(f): PageForm<Pairs>,
) -> WebResult<Response> {
    st.app
        .add_comment(&a, club, Parent::Announcement(id), get(&f, "body"))
        .await?;
    Ok(see_other(&format!(
        "/clubs/{club}/announcements/{id}#comments"
    )))
}

async fn comment_occurrence(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, id)): Ids<(ClubId, OccurrenceId)>,
    PageForm(f): PageForm<Pairs>,
) -> WebResult<Response> {
    st.app
        .add_comment(&a, club, Parent::Occurrence(id), get(&f, "body"))
        .await?;
    Ok(see_other(&format!(
        "/clubs/{club}/occurrences/{id}#comments"
    )))
}

/// Where a comment lives, to return there.
async fn back_to(st: &AppState, club: ClubId, id: CommentId) -> WebResult<Response> {
    let c = st
        .app
        .db()
        .comment(club, id)
        .await
        .map_err(tekkan_app::AppError::from)?
        .ok_or(WebError::NotFound)?;
    let kind = match c.parent_kind.as_str() {
        "occurrence" => "occurrences",
        _ => "announcements",
    };
    Ok(see_other(&format!(
        "/clubs/{club}/{kind}/{}#comments",
        c.parent_id
    )))
}

async fn edit_comment(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, id)): Ids<(ClubId, CommentId)>,
    PageForm(f): PageForm<Pairs>,
) -> WebResult<Response> {
    st.app.edit_comment(&a, club, id, get(&f, "body")).await?;
    back_to(&st, club, id).await
}

async fn delete_comment(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, id)): Ids<(ClubId, CommentId)>,
) -> WebResult<Response> {
    st.app.delete_comment(&a, club, id).await?;
    back_to(&st, club, id).await
}

#[derive(Template)]
#[template(path = "comment_history.html")]
struct HistoryPage {
    p: PageCtx,
    versions: Vec<(i64, String, i64)>,
}

async fn history(
    State(st): State<AppState>,
    Auth(a): Auth,
    p: PageCtx,
    Ids((club, id)): Ids<(ClubId, CommentId)>,
) -> WebResult<Response> {
    let versions = st.app.comment_history(&a, club, id).await?;
    Ok(render(&HistoryPage { p, versions })?.into_response())
}
