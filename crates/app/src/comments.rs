//! Comments under occurrences and announcements: written, edited and deleted by their
//! author only, every version kept.

use tekkan_core::{AnnouncementId, ClubId, CommentBody, CommentId, OccurrenceId, Permission};
use tekkan_storage::{Comment, now_ms};

use crate::clubs::authorize_tx;
use crate::token::new_id;
use crate::{Actor, App, AppError, Result};

/// What a comment is under.
#[derive(Clone, Copy, Debug)]
pub enum Parent {
    Occurrence(OccurrenceId),
    Announcement(AnnouncementId),
}

impl Parent {
    fn kind(self) -> &'static str {
        match self {
            Parent::Occurrence(_) => "occurrence",
            Parent::Announcement(_) => "announcement",
        }
    }

    fn id(self) -> String {
        match self {
            Parent::Occurrence(o) => o.to_string(),
            Parent::Announcement(a) => a.to_string(),
        }
    }
}

/// At most this many comments under one thing, so a thread stays readable.
const MAX_COMMENTS: usize = 1000;

impl App {
    /// Checks that the caller may see `parent` (it exists in the club, and an
    /// announcement is for them or they manage announcements).
    async fn visible_parent(&self, actor: &Actor, club: ClubId, parent: Parent) -> Result<()> {
        match parent {
            Parent::Occurrence(o) => {
                self.authorize(actor, club, Permission::ViewClub).await?;
                self.db()
                    .occurrence(club, o)
                    .await?
                    .ok_or(AppError::NotFound)?;
            }
            Parent::Announcement(a) => {
                // Opening checks the audience; it also records the read, which viewing the
                // thread implies anyway.
                self.open_announcement(actor, club, a).await?;
            }
        }
        Ok(())
    }

    pub async fn comments(
        &self,
        actor: &Actor,
        club: ClubId,
        parent: Parent,
    ) -> Result<Vec<Comment>> {
        self.visible_parent(actor, club, parent).await?;
        let mut list = self.db().comments(club, &parent.id()).await?;
        let ids = list.iter().map(|c| c.id.to_string()).collect();
        let bad = self.tampered("comment", ids).await?;
        list.retain(|c| !bad.contains(&c.id.to_string()));
        Ok(list)
    }

    pub async fn add_comment(
        &self,
        actor: &Actor,
        club: ClubId,
        parent: Parent,
        body: &str,
    ) -> Result<Comment> {
        let body = CommentBody::parse(body)?.to_string();
        self.visible_parent(actor, club, parent).await?;
        if self.db().comments(club, &parent.id()).await?.len() >= MAX_COMMENTS {
            return Err(AppError::Conflict("too_many_comments"));
        }
        let now = now_ms();
        let mut tx = self.db().begin_in(&club.to_string()).await?;
        let me = authorize_tx(&mut tx, actor, club, Permission::ViewClub).await?;
        let c = Comment {
            id: new_id!(CommentId),
            club_id: club,
            parent_kind: parent.kind().to_owned(),
            parent_id: parent.id(),
            author_id: me.id,
            author_name: actor.display_name.clone(),
            body,
            created_at: now,
            edited_at: None,
            deleted_at: None,
        };
        tx.insert_comment(&c).await?;
        tx.commit(vec![actor.event(
            Some(club),
            "comment.add",
            format!("comment:{}", c.id),
            &(&c.parent_kind, &c.parent_id, &c.body),
        )])
        .await?;
        Ok(c)
    }

    /// The author's own comment, live, inside a write.
    async fn own_comment(
        &self,
        tx: &mut tekkan_storage::WriteTx,
        actor: &Actor,
        club: ClubId,
        id: CommentId,
    ) -> Result<Comment> {
        let me = authorize_tx(tx, actor, club, Permission::ViewClub).await?;
        let c = tx.comment(club, id).await?.ok_or(AppError::NotFound)?;
        if c.deleted_at.is_some() {
            return Err(AppError::Gone("comment_deleted"));
        }
        if c.author_id != me.id {
            return Err(AppError::Forbidden);
        }
        Ok(c)
    }

    pub async fn edit_comment(
        &self,
        actor: &Actor,
        club: ClubId,
        id: CommentId,
        body: &str,
    ) -> Result<()> {
        let body = CommentBody::parse(body)?.to_string();
        let mut tx = self.db().begin_in(&club.to_string()).await?;
        let c = self.own_comment(&mut tx, actor, club, id).await?;
        if c.body == body {
            return Ok(());
        }
        tx.edit_comment(id, &body, now_ms()).await?;
        tx.commit(vec![actor.event(
            Some(club),
            "comment.edit",
            format!("comment:{id}"),
            &body,
        )])
        .await?;
        Ok(())
    }

    pub async fn delete_comment(&self, actor: &Actor, club: ClubId, id: CommentId) -> Result<()> {
        let mut tx = self.db().begin_in(&club.to_string()).await?;
        self.own_comment(&mut tx, actor, club, id).await?;
        tx.delete_comment(id, now_ms()).await?;
        tx.commit(vec![actor.event(
            Some(club),
            "comment.delete",
            format!("comment:{id}"),
            &id,
        )])
        .await?;
        Ok(())
    }

    /// Every version of a comment, for anyone who can see it. A deleted comment's
    /// history is kept but shown to nobody.
    pub async fn comment_history(
        &self,
        actor: &Actor,
        club: ClubId,
        id: CommentId,
    ) -> Result<Vec<(i64, String, i64)>> {
        self.authorize(actor, club, Permission::ViewClub).await?;
        let c = self
            .db()
            .comment(club, id)
            .await?
            .ok_or(AppError::NotFound)?;
        if c.deleted_at.is_some() {
            return Err(AppError::Gone("comment_deleted"));
        }
        let parent = match c.parent_kind.as_str() {
            "occurrence" => OccurrenceId::parse(&c.parent_id).map(Parent::Occurrence),
            _ => AnnouncementId::parse(&c.parent_id).map(Parent::Announcement),
        }
        .ok_or(AppError::NotFound)?;
        self.visible_parent(actor, club, parent).await?;
        Ok(self.db().comment_history(id).await?)
    }
}
