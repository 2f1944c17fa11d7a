//! The data key store: each person's data key, wrapped under the master key, kept in a
//! SQLite file of its own, apart from the database. Destroying a person's key here
//! (crypto-shredding) makes their sealed fields unreadable in every copy of the
//! database, backups taken before the deletion included.
//!
//! The file uses a rollback journal (no WAL that would keep old pages) and
//! `secure_delete`, so that a destroyed key is overwritten in the file, not just
//! unlinked from its b-tree.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Executor, Row, SqlitePool};
use tekkan_core::AccountId;

use crate::Result;
use crate::StorageError;

/// A wrapped key: (id of the master key that wraps it, wrapped key).
pub type Wrapped = (String, String);

#[derive(Clone, Debug)]
pub struct KeyStore {
    pool: SqlitePool,
}

impl KeyStore {
    /// Opens (creating if needed) the key store at `path`.
    pub async fn open(path: &Path) -> Result<Self> {
        let opts = SqliteConnectOptions::from_str("sqlite://")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Delete)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .pragma("secure_delete", "on");
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(opts)
            .await?;
        pool.execute(
            "CREATE TABLE IF NOT EXISTS data_keys (account_id TEXT PRIMARY KEY, \
             key_id TEXT NOT NULL, wrapped TEXT NOT NULL, created_at BIGINT NOT NULL)",
        )
        .await?;
        Ok(Self { pool })
    }

    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    pub async fn get(&self, account: AccountId) -> Result<Option<Wrapped>> {
        let r = sqlx::query("SELECT key_id, wrapped FROM data_keys WHERE account_id = ?")
            .bind(account.to_string())
            .fetch_optional(&self.pool)
            .await?;
        match r {
            Some(r) => Ok(Some((r.try_get(0)?, r.try_get(1)?))),
            None => Ok(None),
        }
    }

    /// Stores a new key unless the account has one already; returns the one that stands
    /// (two requests creating a first key at once agree on one).
    pub async fn insert_new(&self, account: AccountId, key: &Wrapped, now: i64) -> Result<Wrapped> {
        sqlx::query(
            "INSERT INTO data_keys (account_id, key_id, wrapped, created_at) VALUES (?, ?, ?, ?) \
             ON CONFLICT (account_id) DO NOTHING",
        )
        .bind(account.to_string())
        .bind(&key.0)
        .bind(&key.1)
        .bind(now)
        .execute(&self.pool)
        .await?;
        self.get(account)
            .await?
            .ok_or_else(|| crate::StorageError::Corrupt("data key vanished".into()))
    }

    /// Up to 500 keys not wrapped under `key_id` (for rotation).
    pub async fn not_under(&self, key_id: &str) -> Result<Vec<(AccountId, Wrapped)>> {
        let rows = sqlx::query(
            "SELECT account_id, key_id, wrapped FROM data_keys WHERE key_id <> ? LIMIT 500",
        )
        .bind(key_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    {
                        let s: String = r.try_get("account_id")?;
                        tekkan_core::Id::parse(&s)
                            .map(AccountId)
                            .ok_or_else(|| StorageError::Corrupt(format!("data key of {s:?}")))?
                    },
                    (r.try_get("key_id")?, r.try_get("wrapped")?),
                ))
            })
            .collect()
    }

    /// Replaces a batch of keys at once (rotation), in one transaction.
    pub async fn replace(&self, keys: &[(AccountId, Wrapped)]) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        for (account, (id, wrapped)) in keys {
            sqlx::query("UPDATE data_keys SET key_id = ?, wrapped = ? WHERE account_id = ?")
                .bind(id)
                .bind(wrapped)
                .bind(account.to_string())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Destroys the account's key for good; returns whether there was one.
    pub async fn destroy(&self, account: AccountId) -> Result<bool> {
        let r = sqlx::query("DELETE FROM data_keys WHERE account_id = ?")
            .bind(account.to_string())
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() > 0)
    }

    pub async fn count(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM data_keys")
            .fetch_one(&self.pool)
            .await?)
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}
