//! Announcements with read receipts and confirmations; comments under announcements
//! and occurrences, with their edit history.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tekkan_app::{AnnouncementInput, AnnouncementView, ConfirmationReceipt, Parent};
use tekkan_core::{AnnouncementId, ClubId, CommentId, MembershipId, OccurrenceId, SubgroupId};
use tekkan_storage::{AnnouncementLine, Comment};

use super::events::rfc3339;
use crate::AppState;
use crate::error::WebResult;
use crate::extract::{ApiJson, Ids};
use crate::routes::Routes;
use crate::session::Auth;

pub fn routes() -> Routes {
    Routes::new()
        .get("/api/v1/clubs/{club}/announcements", list)
        .post("/api/v1/clubs/{club}/announcements", post)
        .get("/api/v1/clubs/{club}/announcements/{announcement}", open)
        .put("/api/v1/clubs/{club}/announcements/{announcement}", update)
        .delete("/api/v1/clubs/{club}/announcements/{announcement}", delete)
        .post(
            "/api/v1/clubs/{club}/announcements/{announcement}/confirm",
            confirm,
        )
        .get(
            "/api/v1/clubs/{club}/announcements/{announcement}/comments",
            announcement_comments,
        )
        .post(
            "/api/v1/clubs/{club}/announcements/{announcement}/comments",
            comment_announcement,
        )
        .get(
            "/api/v1/clubs/{club}/occurrences/{occurrence}/comments",
            occurrence_comments,
        )
        .post(
            "/api/v1/clubs/{club}/occurrences/{occurrence}/comments",
            comment_occurrence,
        )
        .put("/api/v1/clubs/{club}/comments/{comment}", edit_comment)
        .delete("/api/v1/clubs/{club}/comments/{comment}", delete_comment)
        .get("/api/v1/clubs/{club}/comments/{comment}/history", history)
}

#[derive(Serialize)]
struct AnnouncementRes {
    id: AnnouncementId,
    title: String,
    body: String,
    content_hash: String,
    author: String,
    pinned: bool,
    requires_confirmation: bool,
    subgroups: Vec<SubgroupId>,
    created_at: String,
    updated_at: String,
    read: bool,
    confirmed: bool,
    comments: i64,
}

fn res(l: AnnouncementLine) -> AnnouncementRes {
    let a = l.announcement;
    AnnouncementRes {
        id: a.id,
        title: a.title,
        body: a.body,
        content_hash: a.content_hash,
        author: l.author_name,
        pinned: a.pinned,
        requires_confirmation: a.requires_confirmation,
        subgroups: a.targets,
        created_at: rfc3339(a.created_at),
        updated_at: rfc3339(a.updated_at),
        read: l.read_at.is_some(),
        confirmed: l.confirmed_at.is_some(),
        comments: l.comments,
    }
}

async fn list(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids(club): Ids<ClubId>,
) -> WebResult<Json<Vec<AnnouncementRes>>> {
    let (_, v) = st.app.announcements(&a, club).await?;
    Ok(Json(v.into_iter().map(res).collect()))
}

#[derive(Serialize)]
struct Posted {
    id: AnnouncementId,
    content_hash: String,
}

async fn post(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids(club): Ids<ClubId>,
    sig: super::signing::Signature,
    ApiJson(r): ApiJson<AnnouncementInput>,
) -> WebResult<(StatusCode, Json<Posted>)> {
    let x = st
        .app
        .post_announcement(&a, club, &r, sig.0.as_ref())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(Posted {
            id: x.id,
            content_hash: x.content_hash,
        }),
    ))
}

#[derive(Serialize)]
struct ReceiptRes {
    membership_id: MembershipId,
    display_name: String,
    read_at: Option<String>,
    confirmed_at: Option<String>,
    /// Confirmed the current text (not only an earlier version).
    confirmed_current: bool,
}

#[derive(Serialize)]
struct Opened {
    announcement: AnnouncementRes,
    #[serde(skip_serializing_if = "Option::is_none")]
    receipts: Option<Vec<ReceiptRes>>,
}

fn opened(v: AnnouncementView) -> Opened {
    let hash = v.line.announcement.content_hash.clone();
    Opened {
        receipts: v.receipts.map(|rs| {
            rs.into_iter()
                .map(|r| ReceiptRes {
                    membership_id: r.membership_id,
                    display_name: r.display_name,
                    read_at: r.read_at.map(rfc3339),
                    confirmed_at: r.confirmed_at.map(rfc3339),
                    confirmed_current: r.confirmed_hash.as_deref() == Some(hash.as_str()),
                })
                .collect()
        }),
        announcement: res(v.line),
    }
}

async fn open(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, id)): Ids<(ClubId, AnnouncementId)>,
) -> WebResult<Json<Opened>> {
    Ok(Json(opened(st.app.open_announcement(&a, club, id).await?)))
}

async fn update(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, id)): Ids<(ClubId, AnnouncementId)>,
    sig: super::signing::Signature,
    ApiJson(r): ApiJson<AnnouncementInput>,
) -> WebResult<StatusCode> {
    st.app
        .update_announcement(&a, club, id, &r, sig.0.as_ref())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn delete(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, id)): Ids<(ClubId, AnnouncementId)>,
    sig: super::signing::Signature,
) -> WebResult<StatusCode> {
    st.app
        .delete_announcement(&a, club, id, sig.0.as_ref())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn confirm(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, id)): Ids<(ClubId, AnnouncementId)>,
) -> WebResult<Json<ConfirmationReceipt>> {
    Ok(Json(st.app.confirm_announcement(&a, club, id).await?))
}

#[derive(Serialize)]
pub struct CommentRes {
    id: CommentId,
    author_id: MembershipId,
    author: String,
    body: String,
    created_at: String,
    edited: bool,
    deleted: bool,
}

impl From<Comment> for CommentRes {
    fn from(c: Comment) -> Self {
        Self {
            id: c.id,
            author_id: c.author_id,
            author: c.author_name,
            body: c.body,
            created_at: rfc3339(c.created_at),
            edited: c.edited_at.is_some(),
            deleted: c.deleted_at.is_some(),
        }
    }
}

#[derive(Deserialize)]
struct CommentReq {
    body: String,
}

async fn comments(
    st: &AppState,
    a: &tekkan_app::Actor,
    club: ClubId,
    p: Parent,
) -> WebResult<Json<Vec<CommentRes>>> {
    let v = st.app.comments(a, club, p).await?;
    Ok(Json(v.into_iter().map(Into::into).collect()))
}

async fn add(
    st: &AppState,
    a: &tekkan_app::Actor,
    club: ClubId,
    p: Parent,
    body: &str,
) -> WebResult<(StatusCode, Json<CommentRes>)> {
    let c = st.app.add_comment(a, club, p, body).await?;
    Ok((StatusCode::CREATED, Json(c.into())))
}

async fn announcement_comments(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, id)): Ids<(ClubId, AnnouncementId)>,
) -> WebResult<Json<Vec<CommentRes>>> {
    comments(&st, &a, club, Parent::Announcement(id)).await
}

async fn comment_announcement(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, id)): Ids<(ClubId, AnnouncementId)>,
    ApiJson(r): ApiJson<CommentReq>,
) -> WebResult<(StatusCode, Json<CommentRes>)> {
    add(&st, &a, club, Parent::Announcement(id), &r.body).await
}

async fn occurrence_comments(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, id)): Ids<(ClubId, OccurrenceId)>,
) -> WebResult<Json<Vec<CommentRes>>> {
    comments(&st, &a, club, Parent::Occurrence(id)).await
}

async fn comment_occurrence(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, id)): Ids<(ClubId, OccurrenceId)>,
    ApiJson(r): ApiJson<CommentReq>,
) -> WebResult<(StatusCode, Json<CommentRes>)> {
    add(&st, &a, club, Parent::Occurrence(id), &r.body).await
}

async fn edit_comment(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, id)): Ids<(ClubId, CommentId)>,
    ApiJson(r): ApiJson<CommentReq>,
) -> WebResult<StatusCode> {
    st.app.edit_comment(&a, club, id, &r.body).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn delete_comment(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, id)): Ids<(ClubId, CommentId)>,
) -> WebResult<StatusCode> {
    st.app.delete_comment(&a, club, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize)]
struct Revision {
    rev: i64,
    body: String,
    written_at: String,
}

async fn history(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, id)): Ids<(ClubId, CommentId)>,
) -> WebResult<Json<Vec<Revision>>> {
    let v = st.app.comment_history(&a, club, id).await?;
    Ok(Json(
        v.into_iter()
            .map(|(rev, body, at)| Revision {
                rev,
                body,
                written_at: rfc3339(at),
            })
            .collect(),
    ))
}
