//! State that decides security and is shared by every instance through the database:
//! single-use values handed to a client (passkey ceremonies, actions to sign) and the
//! per-address request windows. Bookkeeping like the login counters, so not audited
//! themselves: what they let through or refuse is.

use crate::sql::{Target, q, scalar};
use crate::{Db, Result, WriteTx};

/// What [`Db::hit_address_window`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowHit {
    Allowed,
    /// The window's count is spent: it ends in this many milliseconds.
    Refused {
        retry_after_ms: i64,
    },
}

impl Db {
    /// Keeps `value` under (`kind`, `token`) until `expires_at`, for one
    /// [`Db::take_pending`]. Expired values are dropped first; refuses (returns
    /// `false`) when `cap` live values of this kind are waiting already.
    pub async fn put_pending(
        &self,
        kind: &str,
        token: &str,
        value: &[u8],
        now: i64,
        expires_at: i64,
        cap: i64,
    ) -> Result<bool> {
        let mut tx = self.writer.begin_write().await?;
        q("DELETE FROM pending_tokens WHERE expires_at <= $1")
            .bind(now)
            .execute(&mut tx)
            .await?;
        let waiting: i64 = scalar("SELECT COUNT(*) FROM pending_tokens WHERE kind = $1")
            .bind(kind)
            .fetch_one(&mut tx)
            .await?;
        if waiting >= cap {
            return Ok(false);
        }
        q(
            "INSERT INTO pending_tokens (kind, token, value, expires_at) VALUES ($1, $2, $3, $4) \
           ON CONFLICT (kind, token) DO UPDATE SET value = excluded.value, \
           expires_at = excluded.expires_at",
        )
        .bind(kind)
        .bind(token)
        .bind(value)
        .bind(expires_at)
        .execute(&mut tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Takes the value under (`kind`, `token`) if it has not expired: one statement that
    /// deletes it, so of any number of instances asking at once, one gets it.
    pub async fn take_pending(&self, kind: &str, token: &str, now: i64) -> Result<Option<Vec<u8>>> {
        let row = q("DELETE FROM pending_tokens WHERE kind = $1 AND token = $2 \
                     RETURNING value, expires_at")
        .bind(kind)
        .bind(token)
        .fetch_optional(&self.writer)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let expires_at: i64 = row.try_get("expires_at")?;
        if expires_at <= now {
            return Ok(None);
        }
        Ok(Some(row.try_get("value")?))
    }

    /// Counts a request of `policy` from `client` in its window of `window_ms` (which
    /// starts with its first request), unless `max` were counted already; `count ==
    /// false` only checks. One transaction, so requests at once on any instance all
    /// count.
    pub async fn hit_address_window(
        &self,
        policy: &str,
        client: &str,
        now: i64,
        (max, window_ms): (i64, i64),
        count: bool,
    ) -> Result<WindowHit> {
        if !count {
            // Only a look: no write lock.
            let row = q("SELECT window_start, hits FROM address_windows \
                         WHERE policy = $1 AND client = $2")
            .bind(policy)
            .bind(client)
            .fetch_optional(&self.reader)
            .await?;
            return Ok(match row {
                Some(r) => {
                    decide(
                        r.try_get("window_start")?,
                        r.try_get("hits")?,
                        now,
                        max,
                        window_ms,
                    )
                    .1
                }
                None => WindowHit::Allowed,
            });
        }
        let mut tx = self.writer.begin_write().await?;
        let r = hit((&mut tx).into(), policy, client, now, max, window_ms).await;
        match r {
            Ok(hit) => {
                tx.commit().await?;
                Ok(hit)
            }
            Err(e) => Err(e),
        }
    }

    /// Forgets windows that began before `before` (all of them over).
    pub async fn forget_address_windows(&self, before: i64) -> Result<u64> {
        Ok(q("DELETE FROM address_windows WHERE window_start < $1")
            .bind(before)
            .execute(&self.writer)
            .await?
            .rows_affected())
    }
}

impl WriteTx {
    /// [`Db::hit_address_window`] (counting) inside this write: a request refused here
    /// refuses the write too.
    pub async fn hit_address_window(
        &mut self,
        policy: &str,
        client: &str,
        now: i64,
        (max, window_ms): (i64, i64),
    ) -> Result<WindowHit> {
        hit((&mut self.tx).into(), policy, client, now, max, window_ms).await
    }
}

/// The window as of `now` (restarted if it is over) and whether one more is allowed.
fn decide(start: i64, hits: i64, now: i64, max: i64, window_ms: i64) -> ((i64, i64), WindowHit) {
    let (start, hits) = if now - start >= window_ms {
        (now, 0)
    } else {
        (start, hits)
    };
    if hits >= max {
        let refused = WindowHit::Refused {
            retry_after_ms: start + window_ms - now,
        };
        return ((start, hits), refused);
    }
    ((start, hits), WindowHit::Allowed)
}

async fn hit(
    mut t: Target<'_>,
    policy: &str,
    client: &str,
    now: i64,
    max: i64,
    window_ms: i64,
) -> Result<WindowHit> {
    let row = q("SELECT window_start, hits FROM address_windows WHERE policy = $1 AND client = $2")
        .bind(policy)
        .bind(client)
        .fetch_optional(t.reborrow())
        .await?;
    let (start, hits) = match row {
        Some(r) => (
            r.try_get::<i64, _>("window_start")?,
            r.try_get::<i64, _>("hits")?,
        ),
        None => (now, 0),
    };
    let ((start, hits), decision) = decide(start, hits, now, max, window_ms);
    if decision != WindowHit::Allowed {
        return Ok(decision);
    }
    q(
        "INSERT INTO address_windows (policy, client, window_start, hits) \
       VALUES ($1, $2, $3, $4) ON CONFLICT (policy, client) DO UPDATE SET \
       window_start = excluded.window_start, hits = excluded.hits",
    )
    .bind(policy)
    .bind(client)
    .bind(start)
    .bind(hits + 1)
    .execute(t)
    .await?;
    Ok(WindowHit::Allowed)
}
