//! Secret calendar-feed tokens, kept only as hashes, and the events a feed lists.

use crate::sql::{q, scalar};
use tekkan_core::{AccountId, ClubId, EventId};

use crate::events::targeted;
use crate::records::id_col;
use crate::{Db, Result, WriteTx};

impl Db {
    /// The account a live feed token belongs to.
    pub async fn feed_account(&self, token_hash: &str) -> Result<Option<AccountId>> {
        let r =
            q("SELECT account_id FROM feed_tokens WHERE token_hash = $1 AND revoked_at IS NULL")
                .bind(token_hash)
                .fetch_optional(&self.reader)
                .await?;
        r.as_ref()
            .map(|r| id_col(r, "account_id", AccountId))
            .transpose()
    }

    /// When the account's live feed was made, if it has one.
    pub async fn feed_created(&self, account: AccountId) -> Result<Option<i64>> {
        let v = scalar(
            "SELECT MAX(created_at) FROM feed_tokens WHERE account_id = $1 AND revoked_at IS NULL",
        )
        .bind(account.to_string())
        .fetch_one(&self.reader)
        .await?;
        Ok(v)
    }

    /// Events with an occurrence since `from` that are for the account or a child they
    /// guard, in clubs where the account is active; with the club's name.
    pub async fn feed_events(
        &self,
        account: AccountId,
        from: i64,
    ) -> Result<Vec<(ClubId, EventId, String)>> {
        let rows = q(concat!(
            "SELECT DISTINCT e.club_id, e.id, c.name, e.created_at FROM memberships me \
             JOIN memberships m ON m.club_id = me.club_id AND (m.id = me.id OR m.id IN \
                  (SELECT g.student_id FROM guardian_links g WHERE g.guardian_id = me.id)) \
             JOIN events e ON e.club_id = m.club_id \
             JOIN clubs c ON c.id = e.club_id \
             WHERE me.account_id = $1 AND me.status = 'active' AND ",
            targeted!(),
            " AND EXISTS (SELECT 1 FROM occurrences o WHERE o.event_id = e.id AND o.starts_at >= $2) \
             ORDER BY e.created_at LIMIT 500"
        ))
        .bind(account.to_string())
        .bind(from)
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    id_col(r, "club_id", ClubId)?,
                    id_col(r, "id", EventId)?,
                    r.try_get("name")?,
                ))
            })
            .collect()
    }
}

impl WriteTx {
    /// Revokes the account's feed tokens; returns how many were live.
    pub async fn revoke_feeds(&mut self, account: AccountId, now: i64) -> Result<u64> {
        let r = q(
            "UPDATE feed_tokens SET revoked_at = $1 WHERE account_id = $2 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(account.to_string())
        .execute(&mut self.tx)
        .await?;
        Ok(r.rows_affected())
    }

    pub async fn insert_feed(
        &mut self,
        account: AccountId,
        token_hash: &str,
        now: i64,
    ) -> Result<()> {
        q("INSERT INTO feed_tokens (token_hash, account_id, created_at) VALUES ($1, $2, $3)")
            .bind(token_hash)
            .bind(account.to_string())
            .bind(now)
            .execute(&mut self.tx)
            .await?;
        Ok(())
    }
}
