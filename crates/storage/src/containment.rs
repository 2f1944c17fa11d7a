//! Containment switches (read-only mode, sign-ups paused) shared by every instance, and
//! the mass session revocations an incident calls for. A switch that is on is a row;
//! every instance reads them every second. Who turned what on is in the audit log.

use crate::sql::{q, scalar};
use crate::{Db, Result, WriteTx};

/// A switch that is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwitchOn {
    pub switch: String,
    pub since_ms: i64,
    pub reason: String,
    pub by_account: Option<String>,
}

fn switch_on(r: &crate::sql::Row) -> Result<SwitchOn> {
    Ok(SwitchOn {
        switch: r.try_get("switch")?,
        since_ms: r.try_get("since_ms")?,
        reason: r.try_get("reason")?,
        by_account: r.try_get("by_account")?,
    })
}

impl Db {
    /// The switches that are on now.
    pub async fn switches_on(&self) -> Result<Vec<SwitchOn>> {
        let rows = q("SELECT * FROM containment ORDER BY switch")
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(switch_on).collect()
    }
}

impl Db {
    /// The current salt of each rotated key: (name, hex salt).
    pub async fn key_epochs(&self) -> Result<Vec<(String, String)>> {
        let rows = q("SELECT name, salt FROM key_epochs ORDER BY name")
            .fetch_all(&self.reader)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("name")?, r.try_get("salt")?)))
            .collect()
    }
}

impl WriteTx {
    /// Starts a new epoch of the key `name`.
    pub async fn rotate_key_epoch(
        &mut self,
        name: &str,
        salt: &str,
        now: i64,
        by: Option<&str>,
    ) -> Result<()> {
        q(
            "INSERT INTO key_epochs (name, salt, since_ms, by_account) VALUES ($1, $2, $3, $4) \
           ON CONFLICT (name) DO UPDATE SET salt = $2, since_ms = $3, by_account = $4",
        )
        .bind(name)
        .bind(salt)
        .bind(now)
        .bind(by)
        .execute(&mut self.tx)
        .await?;
        Ok(())
    }

    /// Drops every single-use value handed out and not yet used (passkey ceremonies,
    /// actions waiting for a signature): after a key rotation nothing issued before it
    /// completes. Returns how many.
    pub async fn drop_pending_tokens(&mut self) -> Result<u64> {
        let r = q("DELETE FROM pending_tokens")
            .execute(&mut self.tx)
            .await?;
        Ok(r.rows_affected())
    }

    /// Requires a password reset of the accounts in scope that have a password: all
    /// (`club` and `account` `None`), a club's members, or one account; never `keep`.
    /// Returns how many accounts.
    pub async fn require_password_reset(
        &mut self,
        club: Option<&str>,
        account: Option<&str>,
        keep: Option<&str>,
    ) -> Result<u64> {
        let r = q("UPDATE accounts SET password_reset_required = 1 \
                   WHERE password_hash IS NOT NULL AND id <> $1 \
                   AND ($2 IS NULL OR id = $2) AND ($2 IS NOT NULL OR NOT is_operator) \
                   AND ($3 IS NULL OR id IN (SELECT account_id FROM memberships WHERE club_id = $3))")
        .bind(keep.unwrap_or_default())
        .bind(account)
        .bind(club)
        .execute(&mut self.tx)
        .await?;
        Ok(r.rows_affected())
    }

    /// Turns `switch` on (with `reason`) or off; false when it already was.
    pub async fn set_switch(
        &mut self,
        switch: &str,
        on: bool,
        reason: &str,
        by: Option<&str>,
        now: i64,
    ) -> Result<bool> {
        let r = match on {
            true => {
                q(
                    "INSERT INTO containment (switch, since_ms, reason, by_account) \
                   VALUES ($1, $2, $3, $4) ON CONFLICT (switch) DO NOTHING",
                )
                .bind(switch)
                .bind(now)
                .bind(reason)
                .bind(by)
                .execute(&mut self.tx)
                .await?
            }
            false => {
                q("DELETE FROM containment WHERE switch = $1")
                    .bind(switch)
                    .execute(&mut self.tx)
                    .await?
            }
        };
        Ok(r.rows_affected() > 0)
    }

    /// Whether `switch` is on, as of this transaction.
    pub async fn switch_is_on(&mut self, switch: &str) -> Result<bool> {
        let n: i64 = scalar("SELECT COUNT(*) FROM containment WHERE switch = $1")
            .bind(switch)
            .fetch_one(&mut self.tx)
            .await?;
        Ok(n > 0)
    }

    /// Ends every session but `keep`; returns how many.
    pub async fn delete_all_sessions(&mut self, keep: Option<&str>) -> Result<u64> {
        let r = q("DELETE FROM sessions WHERE id <> $1")
            .bind(keep.unwrap_or_default())
            .execute(&mut self.tx)
            .await?;
        Ok(r.rows_affected())
    }

    /// Ends the sessions of everyone with a membership in `club` (guardians included),
    /// but `keep`; returns how many.
    pub async fn delete_club_sessions(&mut self, club: &str, keep: Option<&str>) -> Result<u64> {
        let r = q("DELETE FROM sessions WHERE id <> $1 AND account_id IN \
                   (SELECT account_id FROM memberships WHERE club_id = $2)")
        .bind(keep.unwrap_or_default())
        .bind(club)
        .execute(&mut self.tx)
        .await?;
        Ok(r.rows_affected())
    }
}
