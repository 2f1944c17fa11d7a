//! The audit log's current checkpoint key, sealed under the master key, and the write
//! that rotates it: a new key appended to the public history and its sealed seed put in
//! place of the old one, in the transaction that records the rotation.

use crate::sql::{Target, q};
use crate::{Db, Result, WriteTx, conflict};

/// The current checkpoint key's seed as stored: sealed under the master key `key_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedLogSeed {
    pub public_key: String,
    pub master_key_id: String,
    pub sealed: String,
}

async fn newest_key(ex: impl Into<Target<'_>>) -> Result<Option<String>> {
    let row = q("SELECT public_key FROM audit_keys ORDER BY position DESC LIMIT 1")
        .fetch_optional(ex)
        .await?;
    Ok(match row {
        Some(r) => Some(r.try_get("public_key")?),
        None => None,
    })
}

impl Db {
    /// The newest key of the public history, if any.
    pub async fn newest_audit_key(&self) -> Result<Option<String>> {
        newest_key(&self.reader).await
    }

    /// The sealed seed of the current key, once a key has been rotated.
    pub async fn log_seed(&self) -> Result<Option<SealedLogSeed>> {
        let row = q("SELECT public_key, master_key_id, sealed FROM log_key_seed")
            .fetch_optional(&self.reader)
            .await?;
        Ok(match row {
            Some(r) => Some(SealedLogSeed {
                public_key: r.try_get("public_key")?,
                master_key_id: r.try_get("master_key_id")?,
                sealed: r.try_get("sealed")?,
            }),
            None => None,
        })
    }
}

impl WriteTx {
    /// The newest key of the public history, read inside the rotation's transaction.
    pub async fn newest_audit_key(&mut self) -> Result<Option<String>> {
        newest_key(&mut self.tx).await
    }

    /// Appends `public_key` to the history with its succession signatures. Two
    /// rotations racing from the same key meet on the position: the second is refused.
    pub async fn append_audit_key(
        &mut self,
        public_key: &str,
        by_previous: &str,
        by_this: &str,
        now: i64,
    ) -> Result<()> {
        q(
            "INSERT INTO audit_keys (position, public_key, added_at, by_previous, by_this) \
             VALUES ((SELECT COALESCE(MAX(position), 0) + 1 FROM audit_keys), $1, $2, $3, $4)",
        )
        .bind(public_key)
        .bind(now)
        .bind(by_previous)
        .bind(by_this)
        .execute(&mut self.tx)
        .await
        .map_err(conflict("log key rotated concurrently"))?;
        Ok(())
    }

    /// Puts `seed` in place of any earlier one: a retired key's seed is not kept.
    pub async fn put_log_seed(&mut self, seed: &SealedLogSeed, now: i64) -> Result<()> {
        q("DELETE FROM log_key_seed").execute(&mut self.tx).await?;
        q(
            "INSERT INTO log_key_seed (public_key, master_key_id, sealed, since_ms) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(&seed.public_key)
        .bind(&seed.master_key_id)
        .bind(&seed.sealed)
        .bind(now)
        .execute(&mut self.tx)
        .await?;
        Ok(())
    }
}
