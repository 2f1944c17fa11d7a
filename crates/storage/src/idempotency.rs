//! Idempotency keys: the first answer to a request sent with an `Idempotency-Key`,
//! kept for a day so that a retry gets the same answer and writes nothing twice.
//! Bookkeeping beside the write it protects (which is audited itself), so it is written
//! directly.

use crate::sql::q;
use crate::{Db, Result};

/// A stored first answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptAnswer {
    pub status: u16,
    /// The headers worth giving again, as JSON: `[["content-type", "…"], …]`.
    pub headers: String,
    pub body: String,
}

/// What a key's first sight, or a later one, finds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This request is the first with the key (or the key had expired, or its first
    /// request was abandoned): answer it, then keep the answer.
    First,
    /// The key was used for another request.
    OtherRequest,
    /// The first request with the key is still being answered.
    InFlight,
    /// The first answer, to be given again.
    Answered(KeptAnswer),
}

impl Db {
    /// Claims `key` for `account`'s request `fingerprint` at `now`. A kept answer older
    /// than `expire_ms`, or a first request unanswered for `abandon_ms`, no longer holds
    /// the key.
    pub async fn claim_idempotency_key(
        &self,
        account: &str,
        key: &str,
        fingerprint: &str,
        now: i64,
        (expire_ms, abandon_ms): (i64, i64),
    ) -> Result<Claim> {
        let inserted = q(
            "INSERT INTO idempotency_keys (account_id, idem_key, fingerprint, status, headers, \
             body, created_at) VALUES ($1, $2, $3, 0, '[]', '', $4) \
             ON CONFLICT (account_id, idem_key) DO NOTHING",
        )
        .bind(account)
        .bind(key)
        .bind(fingerprint)
        .bind(now)
        .execute(&self.writer)
        .await?;
        if inserted.rows_affected() == 1 {
            return Ok(Claim::First);
        }
        let row = q(
            "SELECT fingerprint, status, headers, body, created_at FROM idempotency_keys \
             WHERE account_id = $1 AND idem_key = $2",
        )
        .bind(account)
        .bind(key)
        .fetch_optional(&self.writer)
        .await?;
        let Some(row) = row else {
            // Forgotten between the two statements (a failed first answer): try again.
            return Ok(Claim::InFlight);
        };
        let status: i64 = row.try_get("status")?;
        let created: i64 = row.try_get("created_at")?;
        let stale = match status {
            0 => now - created > abandon_ms,
            _ => now - created > expire_ms,
        };
        if stale {
            // Taken over only if no one else took it over first.
            let taken = q(
                "UPDATE idempotency_keys SET fingerprint = $3, status = 0, headers = '[]', \
                 body = '', created_at = $4 \
                 WHERE account_id = $1 AND idem_key = $2 AND created_at = $5",
            )
            .bind(account)
            .bind(key)
            .bind(fingerprint)
            .bind(now)
            .bind(created)
            .execute(&self.writer)
            .await?;
            return Ok(match taken.rows_affected() {
                1 => Claim::First,
                _ => Claim::InFlight,
            });
        }
        let kept: String = row.try_get("fingerprint")?;
        if kept != fingerprint {
            return Ok(Claim::OtherRequest);
        }
        Ok(match status {
            0 => Claim::InFlight,
            s => Claim::Answered(KeptAnswer {
                status: u16::try_from(s).unwrap_or(500),
                headers: row.try_get("headers")?,
                body: row.try_get("body")?,
            }),
        })
    }

    /// Keeps the first answer to the request that claimed `key`.
    pub async fn keep_idempotent_answer(
        &self,
        account: &str,
        key: &str,
        answer: &KeptAnswer,
    ) -> Result<()> {
        q(
            "UPDATE idempotency_keys SET status = $3, headers = $4, body = $5 \
           WHERE account_id = $1 AND idem_key = $2",
        )
        .bind(account)
        .bind(key)
        .bind(i64::from(answer.status))
        .bind(&answer.headers)
        .bind(&answer.body)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Lets go of `key` (its request failed on the server's side: a retry runs again).
    pub async fn release_idempotency_key(&self, account: &str, key: &str) -> Result<()> {
        q("DELETE FROM idempotency_keys WHERE account_id = $1 AND idem_key = $2")
            .bind(account)
            .bind(key)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Drops the keys claimed before `before`; returns how many.
    pub async fn prune_idempotency_keys(&self, before: i64) -> Result<u64> {
        let r = q("DELETE FROM idempotency_keys WHERE created_at < $1")
            .bind(before)
            .execute(&self.writer)
            .await?;
        Ok(r.rows_affected())
    }
}
