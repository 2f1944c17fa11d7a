//! What privacy rights need from the database: everything about one person for their
//! copy, erasing an account while keeping a pseudonymous row for history, a stop of
//! use, and the requests sent to the operator.

use crate::sql::{q, scalar};
use tekkan_core::AccountId;

use crate::{Db, Result, WriteTx};

/// (name, SQL with one `?` for the account id) of each part of a person's copy.
const EXPORT: &[(&str, &str)] = &[
    (
        "account",
        "SELECT id, email, display_name, lang, created_at, phone_visibility, \
         address_visibility, use_stopped_at FROM accounts WHERE id = $1",
    ),
    (
        "memberships",
        "SELECT m.id, c.name AS club, m.role, m.status, m.joined_at, m.left_at \
         FROM memberships m JOIN clubs c ON c.id = m.club_id WHERE m.account_id = $1 \
         ORDER BY m.joined_at",
    ),
    (
        "answers",
        "SELECT c.name AS club, e.title AS event, o.starts_at, a.status, a.comment, \
         a.answered_as, a.answered_at FROM answers a \
         JOIN memberships m ON m.id = a.membership_id JOIN occurrences o ON o.id = a.occurrence_id \
         JOIN events e ON e.id = o.event_id JOIN clubs c ON c.id = m.club_id \
         WHERE m.account_id = $1 ORDER BY o.starts_at LIMIT 100000",
    ),
    (
        "roll_calls",
        "SELECT c.name AS club, e.title AS event, o.starts_at, r.present, r.checked_at \
         FROM roll_calls r JOIN memberships m ON m.id = r.membership_id \
         JOIN occurrences o ON o.id = r.occurrence_id JOIN events e ON e.id = o.event_id \
         JOIN clubs c ON c.id = m.club_id WHERE m.account_id = $1 ORDER BY o.starts_at LIMIT 100000",
    ),
    (
        "comments",
        "SELECT c.id, c.parent_kind, c.parent_id, c.body, c.created_at, c.edited_at, \
         c.deleted_at FROM comments c JOIN memberships m ON m.id = c.author_id \
         WHERE m.account_id = $1 ORDER BY c.created_at LIMIT 100000",
    ),
    (
        "announcement_reads",
        "SELECT r.announcement_id, r.read_at, r.confirmed_at FROM announcement_reads r \
         JOIN memberships m ON m.id = r.membership_id WHERE m.account_id = $1 LIMIT 100000",
    ),
    (
        "notifications",
        "SELECT id, kind, params, url, created_at, read_at FROM notifications \
         WHERE account_id = $1 ORDER BY created_at LIMIT 100000",
    ),
    (
        "sessions",
        "SELECT id, created_at, last_seen_at, expires_at, ip, user_agent FROM sessions \
         WHERE account_id = $1 ORDER BY created_at",
    ),
    (
        "push_subscriptions",
        "SELECT id, endpoint, created_at FROM push_subscriptions WHERE account_id = $1",
    ),
    (
        "privacy_requests",
        "SELECT id, kind, details, created_at, handled_at FROM privacy_requests \
         WHERE account_id = $1 ORDER BY created_at",
    ),
];

/// One part of a person's copy: its name and rows.
pub type ExportPart = (
    &'static str,
    Vec<serde_json::Map<String, serde_json::Value>>,
);

impl Db {
    /// Everything stored about the account, outside its sealed fields, part by part.
    pub async fn export_account(&self, account: AccountId) -> Result<Vec<ExportPart>> {
        let mut parts = Vec::new();
        for &(name, sql) in EXPORT {
            let rows = q(sql)
                .bind(account.to_string())
                .fetch_all(&self.reader)
                .await?;
            parts.push((
                name,
                rows.iter()
                    .map(|r| r.to_json().map_err(Into::into))
                    .collect::<Result<_>>()?,
            ));
        }
        Ok(parts)
    }

    /// When the account stopped the use of its data, if it did.
    pub async fn use_stopped(&self, account: AccountId) -> Result<Option<i64>> {
        let v: Option<Option<i64>> = scalar("SELECT use_stopped_at FROM accounts WHERE id = $1")
            .bind(account.to_string())
            .fetch_optional(&self.reader)
            .await?;
        Ok(v.flatten())
    }

    /// Open requests, oldest first (for the operator).
    pub async fn open_privacy_requests(
        &self,
    ) -> Result<Vec<(String, AccountId, String, String, i64)>> {
        let rows = q(
            "SELECT id, account_id, kind, details, created_at FROM privacy_requests \
             WHERE handled_at IS NULL ORDER BY created_at LIMIT 500",
        )
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("id")?,
                    crate::records::id_col(r, "account_id", AccountId)?,
                    r.try_get("kind")?,
                    r.try_get("details")?,
                    r.try_get("created_at")?,
                ))
            })
            .collect()
    }
}

impl WriteTx {
    /// Erases an account: its sealed fields, factors, sessions, links, subscriptions,
    /// feeds, notifications and preferences go; its memberships end (history such as
    /// past attendance stays, under a pseudonymous row with no name or address).
    pub async fn erase_account(&mut self, account: AccountId, now: i64) -> Result<()> {
        let id = account.to_string();
        for sql in [
            "DELETE FROM personal_fields WHERE account_id = $1",
            "DELETE FROM personal_consents WHERE account_id = $1",
            "DELETE FROM mfa_totp WHERE account_id = $1",
            "DELETE FROM mfa_recovery_codes WHERE account_id = $1",
            "DELETE FROM mfa_challenges WHERE account_id = $1",
            "DELETE FROM passkeys WHERE account_id = $1",
            "DELETE FROM sessions WHERE account_id = $1",
            "DELETE FROM account_tokens WHERE account_id = $1",
            "DELETE FROM unlock_tokens WHERE account_id = $1",
            "DELETE FROM trusted_devices WHERE account_id = $1",
            "DELETE FROM feed_tokens WHERE account_id = $1",
            "DELETE FROM deliveries WHERE notification_id IN \
             (SELECT id FROM notifications WHERE account_id = $1)",
            "DELETE FROM notifications WHERE account_id = $1",
            "DELETE FROM notification_prefs WHERE account_id = $1",
            "DELETE FROM push_subscriptions WHERE account_id = $1",
        ] {
            q(sql).bind(&id).execute(&mut self.tx).await?;
        }
        q("UPDATE memberships SET status = 'left', left_at = $1 \
             WHERE account_id = $2 AND status <> 'left'")
        .bind(now)
        .bind(&id)
        .execute(&mut self.tx)
        .await?;
        q(
            "UPDATE accounts SET email = 'deleted-' || id || '@invalid', display_name = '—', \
             password_hash = NULL, webauthn_handle = NULL, disabled_at = $1, deleted_at = $2, \
             use_stopped_at = $3 \
             WHERE id = $4",
        )
        .bind(now)
        .bind(now)
        .bind(now)
        .bind(&id)
        .execute(&mut self.tx)
        .await?;
        Ok(())
    }

    pub async fn set_display_name(&mut self, account: AccountId, name: &str) -> Result<()> {
        q("UPDATE accounts SET display_name = $1 WHERE id = $2")
            .bind(name)
            .bind(account.to_string())
            .execute(&mut self.tx)
            .await?;
        Ok(())
    }

    pub async fn stop_use(&mut self, account: AccountId, now: i64) -> Result<()> {
        q("UPDATE accounts SET use_stopped_at = $1 WHERE id = $2 AND use_stopped_at IS NULL")
            .bind(now)
            .bind(account.to_string())
            .execute(&mut self.tx)
            .await?;
        Ok(())
    }

    pub async fn insert_privacy_request(
        &mut self,
        id: &str,
        account: AccountId,
        kind: &str,
        details: &str,
        now: i64,
    ) -> Result<()> {
        q(
            "INSERT INTO privacy_requests (id, account_id, kind, details, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(account.to_string())
        .bind(kind)
        .bind(details)
        .bind(now)
        .execute(&mut self.tx)
        .await?;
        Ok(())
    }

    /// The club memberships where the account is the only active owner while others
    /// are still active members: it must hand the club over before leaving.
    pub async fn sole_owned_clubs(&mut self, account: AccountId) -> Result<i64> {
        Ok(scalar(
            "SELECT COUNT(*) FROM memberships m WHERE m.account_id = $1 AND m.role = 'owner' \
             AND m.status = 'active' \
             AND NOT EXISTS (SELECT 1 FROM memberships o WHERE o.club_id = m.club_id \
               AND o.role = 'owner' AND o.status = 'active' AND o.account_id <> m.account_id) \
             AND EXISTS (SELECT 1 FROM memberships x WHERE x.club_id = m.club_id \
               AND x.status = 'active' AND x.account_id <> m.account_id)",
        )
        .bind(account.to_string())
        .fetch_one(&mut self.tx)
        .await?)
    }
}
