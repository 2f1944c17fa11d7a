//! Comments under occurrences and announcements, with every version kept.

use crate::sql::{Row, q};
use tekkan_core::{ClubId, CommentId, MembershipId};

use crate::records::id_col;
use crate::{Db, Result, WriteTx};

#[derive(Debug, Clone)]
pub struct Comment {
    pub id: CommentId,
    pub club_id: ClubId,
    /// `occurrence` or `announcement`.
    pub parent_kind: String,
    pub parent_id: String,
    pub author_id: MembershipId,
    pub author_name: String,
    pub body: String,
    pub created_at: i64,
    pub edited_at: Option<i64>,
    pub deleted_at: Option<i64>,
}

fn row(r: &Row) -> Result<Comment> {
    Ok(Comment {
        id: id_col(r, "id", CommentId)?,
        club_id: id_col(r, "club_id", ClubId)?,
        parent_kind: r.try_get("parent_kind")?,
        parent_id: r.try_get("parent_id")?,
        author_id: id_col(r, "author_id", MembershipId)?,
        author_name: r.try_get("author_name")?,
        body: r.try_get("body")?,
        created_at: r.try_get("created_at")?,
        edited_at: r.try_get("edited_at")?,
        deleted_at: r.try_get("deleted_at")?,
    })
}

macro_rules! select {
    () => {
        "SELECT c.*, acc.display_name AS author_name FROM comments c \
         JOIN memberships m ON m.id = c.author_id JOIN accounts acc ON acc.id = m.account_id "
    };
}

impl Db {
    /// Comments under one parent, oldest first (deleted ones included, as placeholders).
    pub async fn comments(&self, club: ClubId, parent: &str) -> Result<Vec<Comment>> {
        let rows = q(concat!(
            select!(),
            "WHERE c.club_id = $1 AND c.parent_id = $2 ORDER BY c.created_at, c.id"
        ))
        .bind(club.to_string())
        .bind(parent)
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(row).collect()
    }

    /// Every version of a comment: (revision, body, written at), oldest first.
    pub async fn comment_history(&self, id: CommentId) -> Result<Vec<(i64, String, i64)>> {
        let rows = q(
            "SELECT rev, body, created_at FROM comment_revisions WHERE comment_id = $1 ORDER BY rev",
        )
        .bind(id.to_string())
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("rev")?,
                    r.try_get("body")?,
                    r.try_get("created_at")?,
                ))
            })
            .collect()
    }

    pub async fn comment(&self, club: ClubId, id: CommentId) -> Result<Option<Comment>> {
        let r = q(concat!(select!(), "WHERE c.club_id = $1 AND c.id = $2"))
            .bind(club.to_string())
            .bind(id.to_string())
            .fetch_optional(&self.reader)
            .await?;
        r.as_ref().map(row).transpose()
    }
}

impl WriteTx {
    pub async fn comment(&mut self, club: ClubId, id: CommentId) -> Result<Option<Comment>> {
        let r = q(concat!(select!(), "WHERE c.club_id = $1 AND c.id = $2"))
            .bind(club.to_string())
            .bind(id.to_string())
            .fetch_optional(&mut self.tx)
            .await?;
        r.as_ref().map(row).transpose()
    }

    pub async fn insert_comment(&mut self, c: &Comment) -> Result<()> {
        q(
            "INSERT INTO comments (id, club_id, parent_kind, parent_id, author_id, body, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(c.id.to_string())
        .bind(c.club_id.to_string())
        .bind(&c.parent_kind)
        .bind(&c.parent_id)
        .bind(c.author_id.to_string())
        .bind(&c.body)
        .bind(c.created_at)
        .execute(&mut self.tx)
        .await?;
        self.add_revision(c.id, &c.body, c.created_at).await
    }

    /// Keeps `body` as the next version of the comment.
    pub async fn add_revision(&mut self, id: CommentId, body: &str, now: i64) -> Result<()> {
        q(
            "INSERT INTO comment_revisions (club_id, comment_id, rev, body, created_at) VALUES \
             ((SELECT club_id FROM comments WHERE id = $1), $2, \
             (SELECT COALESCE(MAX(rev), 0) + 1 FROM comment_revisions WHERE comment_id = $3), $4, $5)",
        )
        .bind(id.to_string())
        .bind(id.to_string())
        .bind(id.to_string())
        .bind(body)
        .bind(now)
        .execute(&mut self.tx)
        .await?;
        Ok(())
    }

    pub async fn edit_comment(&mut self, id: CommentId, body: &str, now: i64) -> Result<()> {
        q("UPDATE comments SET body = $1, edited_at = $2 WHERE id = $3")
            .bind(body)
            .bind(now)
            .bind(id.to_string())
            .execute(&mut self.tx)
            .await?;
        self.add_revision(id, body, now).await
    }

    /// Hides a comment; its versions stay in the history.
    pub async fn delete_comment(&mut self, id: CommentId, now: i64) -> Result<()> {
        q("UPDATE comments SET body = '', deleted_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id.to_string())
            .execute(&mut self.tx)
            .await?;
        Ok(())
    }
}
