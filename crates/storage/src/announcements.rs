//! Announcements (お知らせ), who they are for, and who read and confirmed them.

use crate::sql::{Row, q, scalar};
use tekkan_core::{AccountId, AnnouncementId, ClubId, MembershipId, SubgroupId};

use crate::records::id_col;
use crate::{Db, Result, WriteTx};

#[derive(Debug, Clone)]
pub struct Announcement {
    pub id: AnnouncementId,
    pub club_id: ClubId,
    pub author_id: MembershipId,
    pub title: String,
    pub body: String,
    /// SHA-256 (hex) of the title and body: what a confirmation confirms.
    pub content_hash: String,
    pub pinned: bool,
    pub requires_confirmation: bool,
    pub all_members: bool,
    pub targets: Vec<SubgroupId>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// An announcement in a list, with the reader's own state.
#[derive(Debug, Clone)]
pub struct AnnouncementLine {
    pub announcement: Announcement,
    pub author_name: String,
    pub read_at: Option<i64>,
    pub confirmed_at: Option<i64>,
    pub comments: i64,
}

/// One person an announcement is for, and what they did with it.
#[derive(Debug, Clone)]
pub struct Receipt {
    pub membership_id: MembershipId,
    pub display_name: String,
    pub read_at: Option<i64>,
    pub confirmed_at: Option<i64>,
    /// The content hash confirmed; differs from the current one after an edit.
    pub confirmed_hash: Option<String>,
}

fn row(r: &Row) -> Result<Announcement> {
    Ok(Announcement {
        id: id_col(r, "id", AnnouncementId)?,
        club_id: id_col(r, "club_id", ClubId)?,
        author_id: id_col(r, "author_id", MembershipId)?,
        title: r.try_get("title")?,
        body: r.try_get("body")?,
        content_hash: r.try_get("content_hash")?,
        pinned: r.try_get("pinned")?,
        requires_confirmation: r.try_get("requires_confirmation")?,
        all_members: r.try_get("all_members")?,
        targets: Vec::new(),
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// "Membership `m` is in the audience of announcement `a`": everyone, or members of a
/// target sub-group and the guardians of those members.
macro_rules! audience {
    () => {
        "m.status = 'active' AND (a.all_members OR EXISTS ( \
           SELECT 1 FROM announcement_targets t JOIN subgroup_members sm ON sm.subgroup_id = t.subgroup_id \
           WHERE t.announcement_id = a.id AND (sm.membership_id = m.id OR sm.membership_id IN \
             (SELECT g.student_id FROM guardian_links g WHERE g.guardian_id = m.id))))"
    };
}

impl Db {
    /// The club's announcements `m` may see (all of them when `all` is set, for
    /// officers), pinned first, newest first, with `m`'s read state.
    pub async fn announcements(
        &self,
        club: ClubId,
        m: MembershipId,
        all: bool,
        limit: i64,
    ) -> Result<Vec<AnnouncementLine>> {
        let rows = q(concat!(
            "SELECT a.*, acc.display_name AS author_name, r.read_at, r.confirmed_at, \
             (SELECT COUNT(*) FROM comments c WHERE c.parent_id = a.id AND c.deleted_at IS NULL) AS n_comments \
             FROM announcements a JOIN memberships m ON m.id = $1 \
             JOIN memberships am ON am.id = a.author_id JOIN accounts acc ON acc.id = am.account_id \
             LEFT JOIN announcement_reads r ON r.announcement_id = a.id AND r.membership_id = m.id \
             WHERE a.club_id = $2 AND a.deleted_at IS NULL AND ($3 OR a.author_id = m.id OR ",
            audience!(),
            ") ORDER BY a.pinned DESC, a.created_at DESC LIMIT 500"
        ))
        .bind(m.to_string())
        .bind(club.to_string())
        .bind(all)
        .fetch_all(&self.reader)
        .await?;
        // A literal LIMIT: a bound one makes SQLite re-plan the statement on every run.
        rows.iter()
            .take(limit.clamp(0, 500) as usize)
            .map(|r| {
                Ok(AnnouncementLine {
                    announcement: row(r)?,
                    author_name: r.try_get("author_name")?,
                    read_at: r.try_get("read_at")?,
                    confirmed_at: r.try_get("confirmed_at")?,
                    comments: r.try_get("n_comments")?,
                })
            })
            .collect()
    }

    /// Everyone the announcement is for, with what they read and confirmed.
    pub async fn receipts(&self, id: AnnouncementId) -> Result<Vec<Receipt>> {
        let rows = q(concat!(
            "SELECT m.id, acc.display_name, r.read_at, r.confirmed_at, r.confirmed_hash \
             FROM announcements a JOIN memberships m ON m.club_id = a.club_id \
             JOIN accounts acc ON acc.id = m.account_id \
             LEFT JOIN announcement_reads r ON r.announcement_id = a.id AND r.membership_id = m.id \
             WHERE a.id = $1 AND m.id <> a.author_id AND ",
            audience!(),
            " ORDER BY acc.display_name"
        ))
        .bind(id.to_string())
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Receipt {
                    membership_id: id_col(r, "id", MembershipId)?,
                    display_name: r.try_get("display_name")?,
                    read_at: r.try_get("read_at")?,
                    confirmed_at: r.try_get("confirmed_at")?,
                    confirmed_hash: r.try_get("confirmed_hash")?,
                })
            })
            .collect()
    }
}

impl WriteTx {
    pub async fn insert_announcement(&mut self, a: &Announcement) -> Result<()> {
        q(
            "INSERT INTO announcements (id, club_id, author_id, title, body, content_hash, pinned, \
             requires_confirmation, all_members, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(a.id.to_string())
        .bind(a.club_id.to_string())
        .bind(a.author_id.to_string())
        .bind(&a.title)
        .bind(&a.body)
        .bind(&a.content_hash)
        .bind(a.pinned)
        .bind(a.requires_confirmation)
        .bind(a.all_members)
        .bind(a.created_at)
        .bind(a.updated_at)
        .execute(&mut self.tx)
        .await?;
        for sg in &a.targets {
            q(
                "INSERT INTO announcement_targets (club_id, announcement_id, subgroup_id) \
               VALUES ($1, $2, $3)",
            )
            .bind(a.club_id.to_string())
            .bind(a.id.to_string())
            .bind(sg.to_string())
            .execute(&mut self.tx)
            .await?;
        }
        Ok(())
    }

    pub async fn update_announcement(&mut self, a: &Announcement) -> Result<()> {
        q(
            "UPDATE announcements SET title = $1, body = $2, content_hash = $3, pinned = $4, \
             requires_confirmation = $5, updated_at = $6 WHERE id = $7",
        )
        .bind(&a.title)
        .bind(&a.body)
        .bind(&a.content_hash)
        .bind(a.pinned)
        .bind(a.requires_confirmation)
        .bind(a.updated_at)
        .bind(a.id.to_string())
        .execute(&mut self.tx)
        .await?;
        Ok(())
    }

    pub async fn delete_announcement(&mut self, id: AnnouncementId, now: i64) -> Result<()> {
        q("UPDATE announcements SET deleted_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id.to_string())
            .execute(&mut self.tx)
            .await?;
        Ok(())
    }

    /// A live announcement of the club, with its targets.
    pub async fn announcement(
        &mut self,
        club: ClubId,
        id: AnnouncementId,
    ) -> Result<Option<Announcement>> {
        let r =
            q("SELECT * FROM announcements WHERE club_id = $1 AND id = $2 AND deleted_at IS NULL")
                .bind(club.to_string())
                .bind(id.to_string())
                .fetch_optional(&mut self.tx)
                .await?;
        let Some(mut a) = r.as_ref().map(row).transpose()? else {
            return Ok(None);
        };
        let rows = q("SELECT subgroup_id FROM announcement_targets WHERE announcement_id = $1")
            .bind(id.to_string())
            .fetch_all(&mut self.tx)
            .await?;
        a.targets = rows
            .iter()
            .map(|r| id_col(r, "subgroup_id", SubgroupId))
            .collect::<Result<_>>()?;
        Ok(Some(a))
    }

    /// Whether `m` is among those the announcement is for.
    pub async fn in_audience(&mut self, id: AnnouncementId, m: MembershipId) -> Result<bool> {
        let n: i64 = scalar(concat!(
            "SELECT COUNT(*) FROM announcements a JOIN memberships m ON m.club_id = a.club_id \
             WHERE a.id = $1 AND m.id = $2 AND ",
            audience!()
        ))
        .bind(id.to_string())
        .bind(m.to_string())
        .fetch_one(&mut self.tx)
        .await?;
        Ok(n > 0)
    }

    /// Accounts of the announcement's audience.
    pub async fn announcement_audience(&mut self, id: AnnouncementId) -> Result<Vec<AccountId>> {
        let rows = q(concat!(
            "SELECT m.account_id FROM announcements a JOIN memberships m ON m.club_id = a.club_id \
             WHERE a.id = $1 AND ",
            audience!()
        ))
        .bind(id.to_string())
        .fetch_all(&mut self.tx)
        .await?;
        rows.iter()
            .map(|r| id_col(r, "account_id", AccountId))
            .collect()
    }

    /// Records the first read; false when it was already recorded.
    pub async fn record_read(
        &mut self,
        id: AnnouncementId,
        m: MembershipId,
        now: i64,
    ) -> Result<bool> {
        let r = q(
            "INSERT INTO announcement_reads (club_id, announcement_id, membership_id, read_at) \
             VALUES ((SELECT club_id FROM announcements WHERE id = $1), $2, $3, $4) \
             ON CONFLICT (club_id, announcement_id, membership_id) DO NOTHING",
        )
        .bind(id.to_string())
        .bind(id.to_string())
        .bind(m.to_string())
        .bind(now)
        .execute(&mut self.tx)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// (confirmed_at, confirmed_hash) of `m`'s confirmation, if any.
    pub async fn confirmation(
        &mut self,
        id: AnnouncementId,
        m: MembershipId,
    ) -> Result<Option<(i64, String)>> {
        let r = q(
            "SELECT confirmed_at, confirmed_hash FROM announcement_reads \
             WHERE announcement_id = $1 AND membership_id = $2 AND confirmed_at IS NOT NULL",
        )
        .bind(id.to_string())
        .bind(m.to_string())
        .fetch_optional(&mut self.tx)
        .await?;
        r.map(|r| Ok((r.try_get("confirmed_at")?, r.try_get("confirmed_hash")?)))
            .transpose()
    }

    pub async fn record_confirmation(
        &mut self,
        id: AnnouncementId,
        m: MembershipId,
        hash: &str,
        now: i64,
    ) -> Result<()> {
        q(
            "INSERT INTO announcement_reads (club_id, announcement_id, membership_id, read_at, \
             confirmed_at, confirmed_hash) \
             VALUES ((SELECT club_id FROM announcements WHERE id = $1), $2, $3, $4, $5, $6) \
             ON CONFLICT (club_id, announcement_id, membership_id) DO UPDATE SET \
             confirmed_at = excluded.confirmed_at, confirmed_hash = excluded.confirmed_hash",
        )
        .bind(id.to_string())
        .bind(id.to_string())
        .bind(m.to_string())
        .bind(now)
        .bind(now)
        .bind(hash)
        .execute(&mut self.tx)
        .await?;
        Ok(())
    }
}
