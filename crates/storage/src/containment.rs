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

impl WriteTx {
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
