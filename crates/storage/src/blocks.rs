//! The automatic responses' state, shared by every instance: address prefixes blocked
//! (one row per prefix, kept after it ends so the next block of the same prefix
//! escalates), and accounts asked to re-authenticate before reading more.

use crate::sql::{q, scalar};
use crate::{Db, Result, WriteTx};

impl Db {
    /// Until when `prefix` is blocked, if it is at `now`.
    pub async fn blocked_until(&self, prefix: &str, now: i64) -> Result<Option<i64>> {
        let until: Option<i64> =
            scalar("SELECT MAX(until_ms) FROM address_blocks WHERE prefix = $1 AND until_ms > $2")
                .bind(prefix)
                .bind(now)
                .fetch_one(&self.reader)
                .await?;
        Ok(until)
    }
}

impl WriteTx {
    /// Blocks `prefix` from `now`, one step longer than its last block if that began
    /// less than `memory_ms` ago. `steps` are the durations in order; returns the level
    /// used and the block's end.
    pub async fn block_prefix(
        &mut self,
        prefix: &str,
        now: i64,
        steps: &[i64],
        memory_ms: i64,
        reason: &str,
    ) -> Result<(usize, i64)> {
        let last = q("SELECT since_ms, until_ms, level FROM address_blocks WHERE prefix = $1")
            .bind(prefix)
            .fetch_optional(&mut self.tx)
            .await?;
        let level = match last {
            Some(r) => {
                let since: i64 = r.try_get("since_ms")?;
                let until: i64 = r.try_get("until_ms")?;
                let level: i64 = r.try_get("level")?;
                if until > now {
                    // Still blocked: nothing to escalate yet.
                    return Ok((usize::try_from(level).unwrap_or(0), until));
                }
                match now - since < memory_ms {
                    true => (usize::try_from(level).unwrap_or(0) + 1).min(steps.len() - 1),
                    false => 0,
                }
            }
            None => 0,
        };
        let until = now + steps.get(level).copied().unwrap_or(60_000);
        q(
            "INSERT INTO address_blocks (prefix, since_ms, until_ms, level, reason) \
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT (prefix) DO UPDATE SET \
           since_ms = excluded.since_ms, until_ms = excluded.until_ms, level = excluded.level, \
           reason = excluded.reason",
        )
        .bind(prefix)
        .bind(now)
        .bind(until)
        .bind(level as i64)
        .bind(reason)
        .execute(&mut self.tx)
        .await?;
        Ok((level, until))
    }

    /// Lifts the block on `prefix` (the operator's decision); false when none was on.
    pub async fn unblock_prefix(&mut self, prefix: &str, now: i64) -> Result<bool> {
        let r = q("UPDATE address_blocks SET until_ms = $1 WHERE prefix = $2 AND until_ms > $1")
            .bind(now)
            .bind(prefix)
            .execute(&mut self.tx)
            .await?;
        Ok(r.rows_affected() > 0)
    }
}

impl Db {
    /// Since when `account` must re-authenticate before reading more people's data.
    pub async fn step_up_since(&self, account: &str) -> Result<Option<i64>> {
        Ok(
            scalar::<i64>("SELECT since_ms FROM step_ups WHERE account_id = $1")
                .bind(account)
                .fetch_optional(&self.reader)
                .await?,
        )
    }
}

impl WriteTx {
    /// Asks `account` to re-authenticate before reading more (from `now` on).
    pub async fn require_step_up(&mut self, account: &str, now: i64, rule: &str) -> Result<()> {
        q(
            "INSERT INTO step_ups (account_id, since_ms, rule) VALUES ($1, $2, $3) \
           ON CONFLICT (account_id) DO UPDATE SET since_ms = $2, rule = $3",
        )
        .bind(account)
        .bind(now)
        .bind(rule)
        .execute(&mut self.tx)
        .await?;
        Ok(())
    }
}
