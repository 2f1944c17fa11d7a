//! Announcements (お知らせ): posting to the club or sub-groups, read receipts recorded on
//! opening, and explicit, audited confirmations (確認しました).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tekkan_audit::to_hex;
use tekkan_core::{
    AnnouncementBody, AnnouncementId, AnnouncementTitle, ClubId, Permission, SubgroupId,
    ValidationError,
};
use tekkan_storage::{Announcement, AnnouncementLine, Membership, Receipt, Written, now_ms};

use crate::clubs::authorize_tx;
use crate::notify::{Notice, NoticeKind, notify};
use crate::token::new_id;
use crate::{Actor, App, AppError, Result};

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct AnnouncementInput {
    pub title: String,
    pub body: String,
    #[serde(default)]
    pub pinned: bool,
    #[serde(default)]
    pub requires_confirmation: bool,
    /// Target sub-groups; the whole club when empty.
    #[serde(default)]
    pub subgroups: Vec<SubgroupId>,
}

/// One announcement as its reader sees it.
#[derive(Clone, Debug)]
pub struct AnnouncementView {
    pub line: AnnouncementLine,
    pub me: Membership,
    /// Whether the caller is among those it is for (and so may confirm it).
    pub in_audience: bool,
    /// For those who post announcements: everyone it is for, and what they did.
    pub receipts: Option<Vec<Receipt>>,
    pub can_manage: bool,
}

/// What a member's confirmation proves: who confirmed which version, when, and where
/// the audit chain recorded it.
#[derive(Clone, Debug, Serialize)]
pub struct ConfirmationReceipt {
    pub announcement_id: AnnouncementId,
    pub content_hash: String,
    pub confirmed_at: i64,
    /// The audit entry (sequence number and hash) holding the confirmation; `None` when
    /// it was confirmed before (the first confirmation stands), or when its position is
    /// still to come (PostgreSQL: the receipt then promises it).
    pub audit_seq: Option<i64>,
    pub audit_hash: Option<String>,
    /// The log's signed receipt for that entry (`AnyReceipt::encode`): kept by the member,
    /// it proves the confirmation was accepted; the entry in the log proves it was made.
    pub receipt: Option<String>,
}

/// What a signature over publishing `input` covers, as the action will parse it.
pub(crate) fn publish_fields(input: &AnnouncementInput) -> Result<serde_json::Value> {
    let title = AnnouncementTitle::parse(&input.title)?.to_string();
    let body = AnnouncementBody::parse(&input.body)?.to_string();
    let mut targets = input.subgroups.clone();
    targets.sort();
    targets.dedup();
    Ok(signed_fields(&title, &body, input, &targets))
}

/// The fields of a publication that a signature covers: the exact text and how it
/// is shown, and to whom.
fn signed_fields(
    title: &str,
    body: &str,
    input: &AnnouncementInput,
    targets: &[SubgroupId],
) -> serde_json::Value {
    serde_json::json!({
        "title": title,
        "body": body,
        "pinned": input.pinned,
        "requires_confirmation": input.requires_confirmation,
        "subgroups": targets,
    })
}

pub(crate) fn content_hash(title: &str, body: &str) -> String {
    // Length-prefixed, so that moving text between title and body changes the hash.
    let mut h = Sha256::new();
    for part in [title, body] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

impl App {
    pub async fn post_announcement(
        &self,
        actor: &Actor,
        club: ClubId,
        input: &AnnouncementInput,
        signature: Option<&crate::SignatureInput>,
    ) -> Result<Announcement> {
        let title = AnnouncementTitle::parse(&input.title)?.to_string();
        let body = AnnouncementBody::parse(&input.body)?.to_string();
        let mut targets = input.subgroups.clone();
        targets.sort();
        targets.dedup();
        if targets.len() > 50 {
            return Err(ValidationError::Invalid { field: "subgroups" }.into());
        }
        let signed = self
            .check_signed(
                actor,
                "announcement.publish",
                club,
                &format!("club:{club}"),
                signed_fields(&title, &body, input, &targets),
                signature,
            )
            .await?;
        let (_, club_name) = self.club_zone(club).await?;
        let now = now_ms();
        let mut tx = self.db().begin().await?;
        let me = authorize_tx(&mut tx, actor, club, Permission::PostAnnouncements).await?;
        for sg in &targets {
            tx.subgroup(club, *sg).await?.ok_or(AppError::NotFound)?;
        }
        let a = Announcement {
            id: new_id!(AnnouncementId),
            club_id: club,
            author_id: me.id,
            content_hash: content_hash(&title, &body),
            title,
            body,
            pinned: input.pinned,
            requires_confirmation: input.requires_confirmation,
            all_members: targets.is_empty(),
            targets,
            created_at: now,
            updated_at: now,
        };
        tx.insert_announcement(&a).await?;
        let audience = tx.announcement_audience(a.id).await?;
        let n = Notice {
            kind: NoticeKind::Announcement,
            club: Some(club),
            params: serde_json::json!({"title": a.title, "club": club_name}),
            url: format!("/clubs/{club}/announcements/{}", a.id),
        };
        notify(
            &mut tx,
            self.channels(),
            audience,
            Some(actor.account),
            &n,
            now,
        )
        .await?;
        let ev = actor
            .maybe_signed(
                &mut tx,
                Some(club),
                "announcement.post",
                format!("announcement:{}", a.id),
                &(
                    &a.content_hash,
                    a.pinned,
                    a.requires_confirmation,
                    &a.targets,
                ),
                signed,
            )
            .await?;
        tx.commit(vec![ev]).await?;
        Ok(a)
    }

    /// The announcements the caller may see, pinned first.
    pub async fn announcements(
        &self,
        actor: &Actor,
        club: ClubId,
    ) -> Result<(Membership, Vec<AnnouncementLine>)> {
        let me = self.authorize(actor, club, Permission::ViewClub).await?;
        let all = me.role.allows(Permission::PostAnnouncements);
        let mut list = self.db().announcements(club, me.id, all, 200).await?;
        let ids = list.iter().map(|l| l.announcement.id.to_string()).collect();
        let bad = self.tampered("announcement", ids).await?;
        list.retain(|l| !bad.contains(&l.announcement.id.to_string()));
        Ok((me, list))
    }

    /// Opens an announcement; the first opening by someone it is for records the read.
    pub async fn open_announcement(
        &self,
        actor: &Actor,
        club: ClubId,
        id: AnnouncementId,
    ) -> Result<AnnouncementView> {
        let mut tx = self
            .db()
            .begin_on(&club.to_string(), &id.to_string())
            .await?;
        let me = authorize_tx(&mut tx, actor, club, Permission::ViewClub).await?;
        let a = tx.announcement(club, id).await?.ok_or(AppError::NotFound)?;
        let bad = tx.unsealed("announcement", &[id.to_string()]).await?;
        if !bad.is_empty() {
            self.report_tampered("announcement", &bad);
            return Err(AppError::Tampered);
        }
        let can_manage = me.role.allows(Permission::PostAnnouncements);
        let in_audience = tx.in_audience(id, me.id).await?;
        if !in_audience && !can_manage && a.author_id != me.id {
            return Err(AppError::NotFound);
        }
        if in_audience && a.author_id != me.id && tx.record_read(id, me.id, now_ms()).await? {
            tx.commit(vec![actor.event(
                Some(club),
                "announcement.read",
                format!("announcement:{id}"),
                &a.content_hash,
            )])
            .await?;
        }
        // Re-read after the write so the caller sees their own read.
        let line = self
            .db()
            .announcements(club, me.id, true, 500)
            .await?
            .into_iter()
            .find(|l| l.announcement.id == id)
            .ok_or(AppError::NotFound)?;
        let receipts = match can_manage {
            true => Some(self.db().receipts(id).await?),
            false => None,
        };
        Ok(AnnouncementView {
            line,
            // The author does not confirm their own announcement.
            in_audience: in_audience && a.author_id != me.id,
            me,
            receipts,
            can_manage,
        })
    }

    /// 確認しました: an explicit receipt of the current version, in the audit chain.
    pub async fn confirm_announcement(
        &self,
        actor: &Actor,
        club: ClubId,
        id: AnnouncementId,
    ) -> Result<ConfirmationReceipt> {
        let now = now_ms();
        let mut tx = self
            .db()
            .begin_on(&club.to_string(), &id.to_string())
            .await?;
        let me = authorize_tx(&mut tx, actor, club, Permission::ViewClub).await?;
        let a = tx.announcement(club, id).await?.ok_or(AppError::NotFound)?;
        if !tx.in_audience(id, me.id).await? || a.author_id == me.id {
            return Err(AppError::Conflict("not_in_audience"));
        }
        if !a.requires_confirmation {
            return Err(AppError::Conflict("confirmation_not_requested"));
        }
        if let Some((at, hash)) = tx.confirmation(id, me.id).await?
            && hash == a.content_hash
        {
            return Ok(ConfirmationReceipt {
                announcement_id: id,
                content_hash: hash,
                confirmed_at: at,
                audit_seq: None,
                audit_hash: None,
                receipt: None,
            });
        }
        tx.record_confirmation(id, me.id, &a.content_hash, now)
            .await?;
        let entries = tx
            .commit_entries(vec![actor.event(
                Some(club),
                "announcement.confirm",
                format!("announcement:{id}/member:{}", me.id),
                &(id, &a.content_hash, me.id),
            )])
            .await?;
        let written = entries.first();
        let receipt = written.and_then(|w| self.receipt(w)).map(|r| r.encode());
        let (audit_seq, audit_hash) = match written {
            Some(Written::Placed { seq, hash }) => (Some(*seq), Some(to_hex(hash))),
            _ => (None, None),
        };
        Ok(ConfirmationReceipt {
            receipt,
            announcement_id: id,
            content_hash: a.content_hash,
            confirmed_at: now,
            audit_seq,
            audit_hash,
        })
    }

    /// Edits an announcement. Confirmations of the earlier text stay recorded against
    /// that text's hash, so the list shows who has not confirmed the new one.
    pub async fn update_announcement(
        &self,
        actor: &Actor,
        club: ClubId,
        id: AnnouncementId,
        input: &AnnouncementInput,
        signature: Option<&crate::SignatureInput>,
    ) -> Result<()> {
        let title = AnnouncementTitle::parse(&input.title)?.to_string();
        let body = AnnouncementBody::parse(&input.body)?.to_string();
        let signed = self
            .check_signed(
                actor,
                "announcement.publish",
                club,
                &format!("announcement:{id}"),
                publish_fields(input)?,
                signature,
            )
            .await?;
        let mut tx = self.db().begin().await?;
        authorize_tx(&mut tx, actor, club, Permission::PostAnnouncements).await?;
        let mut a = tx.announcement(club, id).await?.ok_or(AppError::NotFound)?;
        a.content_hash = content_hash(&title, &body);
        a.title = title;
        a.body = body;
        a.pinned = input.pinned;
        a.requires_confirmation = input.requires_confirmation;
        a.updated_at = now_ms();
        tx.update_announcement(&a).await?;
        let ev = actor
            .maybe_signed(
                &mut tx,
                Some(club),
                "announcement.update",
                format!("announcement:{id}"),
                &(&a.content_hash, a.pinned, a.requires_confirmation),
                signed,
            )
            .await?;
        tx.commit(vec![ev]).await?;
        Ok(())
    }

    pub async fn delete_announcement(
        &self,
        actor: &Actor,
        club: ClubId,
        id: AnnouncementId,
        signature: Option<&crate::SignatureInput>,
    ) -> Result<()> {
        let signed = self
            .check_signed(
                actor,
                "announcement.retract",
                club,
                &format!("announcement:{id}"),
                serde_json::json!({}),
                signature,
            )
            .await?;
        let mut tx = self.db().begin().await?;
        authorize_tx(&mut tx, actor, club, Permission::PostAnnouncements).await?;
        tx.announcement(club, id).await?.ok_or(AppError::NotFound)?;
        tx.delete_announcement(id, now_ms()).await?;
        let ev = actor
            .maybe_signed(
                &mut tx,
                Some(club),
                "announcement.delete",
                format!("announcement:{id}"),
                &id,
                signed,
            )
            .await?;
        tx.commit(vec![ev]).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::content_hash;

    #[test]
    fn moving_text_between_title_and_body_changes_the_hash() {
        assert_ne!(content_hash("ab", "c"), content_hash("a", "bc"));
        assert_eq!(content_hash("a", "b").len(), 64);
    }
}
