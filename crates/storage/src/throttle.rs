//! Per-account login throttling state, the single-use links that lift a lockout, and
//! the devices an account has signed in on before (throttled on their own counters).

use crate::sql::{Target, q, scalar};
use tekkan_core::AccountId;

use tekkan_core::throttle::Counter;

use crate::records::id_col;
use crate::{Db, Result, WriteTx};

/// The counter for `key_hash`; a fresh one (no failures) when there is no row yet.
async fn get<'c>(conn: impl Into<Target<'c>>, key_hash: &str) -> Result<Counter> {
    let r = q(
        "SELECT consecutive, last_failure_at, window_start, window_failures, locked_at \
         FROM login_throttle WHERE key_hash = $1",
    )
    .bind(key_hash)
    .fetch_optional(conn)
    .await?;
    let mut c = Counter {
        key_hash: key_hash.to_owned(),
        ..Counter::default()
    };
    if let Some(r) = r {
        c.consecutive = r.try_get("consecutive")?;
        c.last_failure_at = r.try_get("last_failure_at")?;
        c.window_start = r.try_get("window_start")?;
        c.window_failures = r.try_get("window_failures")?;
        c.locked_at = r.try_get("locked_at")?;
    }
    Ok(c)
}

async fn put<'c>(conn: impl Into<Target<'c>>, t: &Counter) -> Result<()> {
    q(
        "INSERT INTO login_throttle (key_hash, consecutive, last_failure_at, window_start, \
         window_failures, locked_at) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (key_hash) DO UPDATE SET consecutive = excluded.consecutive, \
         last_failure_at = excluded.last_failure_at, window_start = excluded.window_start, \
         window_failures = excluded.window_failures, locked_at = excluded.locked_at",
    )
    .bind(&t.key_hash)
    .bind(t.consecutive)
    .bind(t.last_failure_at)
    .bind(t.window_start)
    .bind(t.window_failures)
    .bind(t.locked_at)
    .execute(conn)
    .await?;
    Ok(())
}

impl Db {
    /// Takes the record of a session revoked before its end whose token hashes to
    /// `token_hash`: (account, device hash). One statement that deletes it, so a
    /// replayed token is answered once, on whichever instance saw it. A read first,
    /// so that the common case (an expired or unknown token) writes nothing.
    /// Only tokens revoked before `revoked_before` count: requests already on their way
    /// when a session ended are no replay.
    pub async fn take_revoked_session(
        &self,
        token_hash: &str,
        revoked_before: i64,
    ) -> Result<Option<(String, Option<String>)>> {
        let known: Option<i64> =
            scalar("SELECT revoked_at FROM revoked_sessions WHERE token_hash = $1")
                .bind(token_hash)
                .fetch_optional(&self.reader)
                .await?;
        if known.is_none_or(|at| at >= revoked_before) {
            return Ok(None);
        }
        let row = q("DELETE FROM revoked_sessions WHERE token_hash = $1 \
                     RETURNING account_id, device_hash")
        .bind(token_hash)
        .fetch_optional(&self.writer)
        .await?;
        row.map(|r| Ok((r.try_get("account_id")?, r.try_get("device_hash")?)))
            .transpose()
    }

    /// Forgets revoked tokens older than `before`: past every session's lifetime they
    /// could not have been used anyway. Returns how many.
    pub async fn prune_revoked_sessions(&self, before: i64) -> Result<u64> {
        let r = q("DELETE FROM revoked_sessions WHERE revoked_at < $1")
            .bind(before)
            .execute(&self.writer)
            .await?;
        Ok(r.rows_affected())
    }
}

impl Db {
    /// Reads the counter for `key_hash`, lets `f` decide, and stores what it returns,
    /// all in one write transaction, so that two attempts at once both count.
    /// Bookkeeping, like a session's last-seen time: the outcome of the attempt is what
    /// gets audited.
    pub async fn update_login_counter<E>(
        &self,
        key_hash: &str,
        f: impl FnOnce(Counter) -> std::result::Result<Counter, E>,
    ) -> Result<std::result::Result<Counter, E>> {
        let mut tx = self.writer.begin_write().await?;
        let next = match f(get(&mut tx, key_hash).await?) {
            Ok(n) => n,
            Err(e) => return Ok(Err(e)),
        };
        put(&mut tx, &next).await?;
        tx.commit().await?;
        Ok(Ok(next))
    }
}

impl WriteTx {
    /// The counter as this transaction sees it (a concurrent failure is not lost).
    pub async fn login_counter(&mut self, key_hash: &str) -> Result<Counter> {
        get(&mut self.tx, key_hash).await
    }

    pub async fn put_login_counter(&mut self, t: &Counter) -> Result<()> {
        put(&mut self.tx, t).await
    }

    pub async fn insert_unlock_token(
        &mut self,
        token_hash: &str,
        key_hash: &str,
        account: AccountId,
        now: i64,
        expires_at: i64,
    ) -> Result<()> {
        q(
            "INSERT INTO unlock_tokens (token_hash, key_hash, account_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(key_hash)
        .bind(account.to_string())
        .bind(now)
        .bind(expires_at)
        .execute(&mut self.tx)
        .await?;
        Ok(())
    }

    /// Uses up a live unlock link; returns the throttle key and account it was for.
    pub async fn consume_unlock_token(
        &mut self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<(String, AccountId)>> {
        let r = q(
            "UPDATE unlock_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL \
             AND expires_at > $3 RETURNING key_hash, account_id",
        )
        .bind(now)
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&mut self.tx)
        .await?;
        match r {
            Some(r) => Ok(Some((
                r.try_get("key_hash")?,
                id_col(&r, "account_id", AccountId)?,
            ))),
            None => Ok(None),
        }
    }
}

impl Db {
    /// Whether a device token (by hash) still stands for the account with `email`.
    pub async fn device_trusted_for(&self, token_hash: &str, email: &str) -> Result<bool> {
        let n: i64 = scalar(
            "SELECT COUNT(*) FROM trusted_devices d JOIN accounts a ON a.id = d.account_id \
             WHERE d.token_hash = $1 AND a.email = $2",
        )
        .bind(token_hash)
        .bind(email)
        .fetch_one(&self.reader)
        .await?;
        Ok(n > 0)
    }
}

impl WriteTx {
    /// Marks the device as used now if it belongs to `account`; false when it does not
    /// (unknown, forgotten, or another account's).
    pub async fn touch_trusted_device(
        &mut self,
        token_hash: &str,
        account: AccountId,
        now: i64,
    ) -> Result<bool> {
        let r = q(
            "UPDATE trusted_devices SET last_used_at = $1 WHERE token_hash = $2 AND account_id = $3",
        )
        .bind(now)
        .bind(token_hash)
        .bind(account.to_string())
        .execute(&mut self.tx)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// How many devices `account` has signed in on (and still trusted).
    pub async fn trusted_device_count(&mut self, account: AccountId) -> Result<i64> {
        let n: i64 =
            crate::sql::scalar("SELECT COUNT(*) FROM trusted_devices WHERE account_id = $1")
                .bind(account.to_string())
                .fetch_one(&mut self.tx)
                .await?;
        Ok(n)
    }

    /// The accounts of the active guardians linked to any of `account`'s memberships
    /// (a minor's parents), to be told of what happens to the minor's account.
    pub async fn guardian_accounts_of(&mut self, account: AccountId) -> Result<Vec<AccountId>> {
        let rows = q("SELECT DISTINCT g.account_id FROM guardian_links l \
             JOIN memberships s ON s.id = l.student_id \
             JOIN memberships g ON g.id = l.guardian_id \
             WHERE s.account_id = $1 AND g.status = 'active'")
        .bind(account.to_string())
        .fetch_all(&mut self.tx)
        .await?;
        rows.iter()
            .map(|r| crate::records::id_col(r, "account_id", AccountId))
            .collect()
    }

    /// Trusts a new device of `account`, keeping only its `keep` most recently used
    /// devices: a client that never sends its token back (a script logging in again
    /// and again) must not grow the table without end.
    pub async fn insert_trusted_device(
        &mut self,
        token_hash: &str,
        account: AccountId,
        now: i64,
        keep: i64,
    ) -> Result<()> {
        let id = account.to_string();
        q(
            "INSERT INTO trusted_devices (token_hash, account_id, created_at, last_used_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(&id)
        .bind(now)
        .bind(now)
        .execute(&mut self.tx)
        .await?;
        q(
            "DELETE FROM trusted_devices WHERE account_id = $1 AND token_hash NOT IN \
             (SELECT token_hash FROM trusted_devices WHERE account_id = $2 \
              ORDER BY last_used_at DESC, created_at DESC LIMIT $3)",
        )
        .bind(&id)
        .bind(&id)
        .bind(keep)
        .execute(&mut self.tx)
        .await?;
        Ok(())
    }

    /// Forgets every device of the account (a password reset: whoever signed in before
    /// must prove themselves again); returns how many.
    /// Ends `account`'s sessions opened with the device `device_hash`, and forgets that
    /// device: the family of a session whose token was replayed after it was revoked.
    /// Returns how many sessions.
    pub async fn end_device_family(&mut self, account: &str, device_hash: &str) -> Result<u64> {
        let r = q("DELETE FROM sessions WHERE account_id = $1 AND device_hash = $2")
            .bind(account)
            .bind(device_hash)
            .execute(&mut self.tx)
            .await?;
        q("DELETE FROM trusted_devices WHERE account_id = $1 AND token_hash = $2")
            .bind(account)
            .bind(device_hash)
            .execute(&mut self.tx)
            .await?;
        Ok(r.rows_affected())
    }

    pub async fn forget_trusted_devices(&mut self, account: AccountId) -> Result<u64> {
        let r = q("DELETE FROM trusted_devices WHERE account_id = $1")
            .bind(account.to_string())
            .execute(&mut self.tx)
            .await?;
        Ok(r.rows_affected())
    }
}
