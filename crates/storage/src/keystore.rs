//! The data key store: each person's data key, wrapped under the master key, kept
//! apart from the database (a SQLite file of its own, or a PostgreSQL database of its
//! own). Destroying a person's key here (crypto-shredding) makes their sealed fields
//! unreadable in every copy of the database, backups taken before the deletion
//! included.
//!
//! A destroyed key must not linger where it was stored. The SQLite file uses a rollback
//! journal (no WAL that would keep old pages) and `secure_delete`, so that the key is
//! overwritten in the file. On PostgreSQL a deleted row stays in its page until
//! overwritten, so a destruction rewrites the table (`VACUUM FULL`) and the old file,
//! the only one that held the key, is removed (and the health check does it again, for
//! a version some transaction could still see at the time: see [`KeyStore::compact`]). The key database's own WAL archive, if
//! the operator keeps one, must be kept no longer than the deletion promise allows
//! (`docs/operations/scaling.md`).

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use tekkan_core::AccountId;

use crate::sql::{Pool, q, scalar};
use crate::{Location, Result, StorageError};

/// A wrapped key: (id of the master key that wraps it, wrapped key).
pub type Wrapped = (String, String);

const CREATE: &str = "CREATE TABLE IF NOT EXISTS data_keys (account_id TEXT PRIMARY KEY, \
     key_id TEXT NOT NULL, wrapped TEXT NOT NULL, created_at BIGINT NOT NULL)";

/// Serialises the table's creation between instances starting at once (a concurrent
/// `CREATE TABLE IF NOT EXISTS` can still collide in PostgreSQL's catalog).
const CREATE_LOCK: i64 = 0x7e6b_616e_0004;

#[derive(Clone)]
pub struct KeyStore {
    pool: Pool,
    at: Location,
}

impl std::fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.pool.is_postgres() {
            true => "KeyStore(PostgreSQL)",
            false => "KeyStore(SQLite)",
        })
    }
}

impl KeyStore {
    /// Where the key store of a database at `db` is by default: the SQLite file
    /// `sqlite_file` beside a SQLite database; beside a PostgreSQL database `tekkan`,
    /// the database `tekkan_keys` on the same server.
    pub fn default_location(db: &Location, sqlite_file: &Path) -> Result<Location> {
        match db {
            Location::Sqlite(_) => Ok(Location::Sqlite(sqlite_file.to_owned())),
            Location::Postgres(url) => keys_url(url).map(Location::Postgres),
        }
    }

    /// Opens (creating if needed) the key store at `at`. On PostgreSQL a missing key
    /// database is created through `db`'s connection (its user needs CREATEDB, or the
    /// operator creates it beforehand).
    pub async fn open(at: &Location, db: &Location) -> Result<Self> {
        let pool = match at {
            Location::Sqlite(path) => open_sqlite(path).await?,
            Location::Postgres(url) => open_postgres(url, db).await?,
        };
        Ok(Self {
            pool,
            at: at.clone(),
        })
    }

    pub(crate) fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Where the store is.
    pub fn location(&self) -> &Location {
        &self.at
    }

    pub async fn get(&self, account: AccountId) -> Result<Option<Wrapped>> {
        let r = q("SELECT key_id, wrapped FROM data_keys WHERE account_id = $1")
            .bind(account.to_string())
            .fetch_optional(&self.pool)
            .await?;
        match r {
            Some(r) => Ok(Some((r.try_get(0)?, r.try_get(1)?))),
            None => Ok(None),
        }
    }

    /// Stores a new key unless the account has one already; returns the one that stands
    /// (two requests creating a first key at once, on any instances, agree on one).
    pub async fn insert_new(&self, account: AccountId, key: &Wrapped, now: i64) -> Result<Wrapped> {
        q(
            "INSERT INTO data_keys (account_id, key_id, wrapped, created_at) \
           VALUES ($1, $2, $3, $4) ON CONFLICT (account_id) DO NOTHING",
        )
        .bind(account.to_string())
        .bind(key.0.clone())
        .bind(key.1.clone())
        .bind(now)
        .execute(&self.pool)
        .await?;
        self.get(account)
            .await?
            .ok_or_else(|| StorageError::Corrupt("data key vanished".into()))
    }

    /// Up to 500 keys not wrapped under `key_id` (for rotation).
    pub async fn not_under(&self, key_id: &str) -> Result<Vec<(AccountId, Wrapped)>> {
        let rows = q(
            "SELECT account_id, key_id, wrapped FROM data_keys WHERE key_id <> $1 \
             ORDER BY account_id LIMIT 500",
        )
        .bind(key_id.to_owned())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let s: String = r.try_get("account_id")?;
                let account = tekkan_core::Id::parse(&s)
                    .map(AccountId)
                    .ok_or_else(|| StorageError::Corrupt(format!("data key of {s:?}")))?;
                Ok((account, (r.try_get("key_id")?, r.try_get("wrapped")?)))
            })
            .collect()
    }

    /// Replaces a batch of keys at once (rotation), in one transaction.
    pub async fn replace(&self, keys: &[(AccountId, Wrapped)]) -> Result<()> {
        let mut tx = self.pool.begin_read_write().await?;
        for (account, (id, wrapped)) in keys {
            q("UPDATE data_keys SET key_id = $1, wrapped = $2 WHERE account_id = $3")
                .bind(id.clone())
                .bind(wrapped.clone())
                .bind(account.to_string())
                .execute(&mut tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Destroys the account's key for good; returns whether there was one.
    pub async fn destroy(&self, account: AccountId) -> Result<bool> {
        // One connection for both: the rewrite then runs after the deletion is
        // visible to it, not on another connection racing it.
        let mut c = self.pool.acquire().await?;
        let r = q("DELETE FROM data_keys WHERE account_id = $1")
            .bind(account.to_string())
            .execute(&mut c)
            .await?;
        if r.rows_affected() > 0 && self.pool.is_postgres() {
            q("VACUUM FULL data_keys").execute(&mut c).await?;
        }
        Ok(r.rows_affected() > 0)
    }

    /// PostgreSQL: rewrites the table with its live rows only and removes the old file,
    /// so that no destroyed key lingers as a dead row version. A version that a
    /// transaction open at that moment could still see is copied along; the health
    /// check compacts again (hourly), which removes it once nothing can see it.
    /// SQLite overwrites deleted content at once (`secure_delete`): nothing to do.
    pub async fn compact(&self) -> Result<()> {
        if self.pool.is_postgres() {
            q("VACUUM FULL data_keys").execute(&self.pool).await?;
        }
        Ok(())
    }

    pub async fn count(&self) -> Result<i64> {
        Ok(scalar("SELECT COUNT(*) FROM data_keys")
            .fetch_one(&self.pool)
            .await?)
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

async fn open_sqlite(path: &Path) -> Result<Pool> {
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
    let pool = Pool::Sqlite(pool);
    q(CREATE).execute(&pool).await?;
    Ok(pool)
}

async fn open_postgres(url: &str, db: &Location) -> Result<Pool> {
    let opts = PgConnectOptions::from_str(url)?.application_name("tekkan keys");
    let connect = || {
        PgPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(opts.clone())
    };
    let pool = match connect().await {
        Ok(p) => p,
        // 3D000: no such database. Made once, then connected to.
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("3D000") => {
            create_database(opts.get_database().unwrap_or_default(), db).await?;
            connect().await?
        }
        Err(e) => return Err(e.into()),
    };
    let pool = Pool::Postgres(pool);
    let mut tx = pool.begin_read_write().await?;
    q("SELECT pg_advisory_xact_lock($1)")
        .bind(CREATE_LOCK)
        .execute(&mut tx)
        .await?;
    q(CREATE).execute(&mut tx).await?;
    tx.commit().await?;
    Ok(pool)
}

async fn create_database(name: &str, db: &Location) -> Result<()> {
    let valid = !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !valid {
        return Err(StorageError::Unsupported(
            "the key database does not exist and its name is not one TEKKAN creates: \
             create it, or set [database] keys_url",
        ));
    }
    let mut c = crate::sql::connect(db).await?;
    let made = crate::sql::q_built(format!("CREATE DATABASE \"{name}\""))
        .execute(&mut &mut c)
        .await;
    let _ = c.close().await;
    match made {
        Ok(_) => {
            tracing::info!(database = name, "created the data key database");
            Ok(())
        }
        // 42P04: another instance made it first.
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P04") => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// `postgres://u:p@h/tekkan?x=y` → `postgres://u:p@h/tekkan_keys?x=y`.
fn keys_url(url: &str) -> Result<String> {
    let (base, query) = match url.split_once('?') {
        Some((b, qs)) => (b, Some(qs)),
        None => (url, None),
    };
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let name = base[after_scheme..]
        .split_once('/')
        .map(|(_, n)| n)
        .filter(|n| !n.is_empty())
        .ok_or(StorageError::Unsupported(
            "the database URL names no database: name one, or set [database] keys_url",
        ))?;
    let base = base.strip_suffix(name).unwrap_or(base);
    Ok(match query {
        Some(qs) => format!("{base}{name}_keys?{qs}"),
        None => format!("{base}{name}_keys"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_database_sits_beside_the_database() {
        assert_eq!(
            keys_url("postgres://t:pw@db:5432/tekkan?sslmode=require").unwrap(),
            "postgres://t:pw@db:5432/tekkan_keys?sslmode=require"
        );
        assert_eq!(
            keys_url("postgresql://db/club").unwrap(),
            "postgresql://db/club_keys"
        );
        assert!(keys_url("postgres://db").is_err());
        assert!(keys_url("postgres://db/").is_err());
    }
}
