//! Online, consistent copies for backups, and the checks a restored copy must pass.
//! SQLite: `VACUUM INTO` writes a compact copy from one read transaction while writers
//! go on (WAL). PostgreSQL: every table copied from one REPEATABLE READ snapshot into a
//! SQLite file of the same schema ([`crate::copy`]), so that a backup of either engine
//! is the same sealed file set, restorable into either.

use std::path::Path;
use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sqlx::{ConnectOptions, Connection, Row};

use crate::copy::Schema;
use crate::{Db, KeyStore, Location, Result, StorageError};

/// What a database copy says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotInfo {
    pub schema_version: i64,
    pub audit_entries: u64,
    /// The newest signed checkpoint (a signed note).
    pub checkpoint: Option<String>,
}

fn to_str(path: &Path) -> Result<&str> {
    path.to_str()
        .ok_or_else(|| StorageError::Corrupt(format!("{} is not UTF-8", path.display())))
}

impl Db {
    /// Writes a consistent copy of the database to `path` (which must not exist).
    pub async fn snapshot_into(&self, path: &Path) -> Result<()> {
        let crate::sql::Pool::Sqlite(pool) = &self.reader else {
            let url = self.pg_url.as_deref().ok_or(StorageError::Unsupported(
                "a database opened only to be examined is not copied",
            ))?;
            copy_into_file(&Location::Postgres(url.to_owned()), path, Schema::Data).await?;
            return Ok(());
        };
        sqlx::query("VACUUM INTO ?")
            .bind(to_str(path)?)
            .execute(pool)
            .await?;
        Ok(())
    }
}

impl KeyStore {
    /// Writes a consistent copy of the key store to `path` (which must not exist).
    pub async fn snapshot_into(&self, path: &Path) -> Result<()> {
        let crate::sql::Pool::Sqlite(pool) = self.pool() else {
            copy_into_file(self.location(), path, Schema::Keys).await?;
            return Ok(());
        };
        sqlx::query("VACUUM INTO ?")
            .bind(to_str(path)?)
            .execute(pool)
            .await?;
        Ok(())
    }
}

/// A copy of `from` into the new SQLite file `path` (which must not exist, as for
/// `VACUUM INTO`).
async fn copy_into_file(from: &Location, path: &Path, schema: Schema) -> Result<()> {
    if path.exists() {
        return Err(StorageError::Copy(format!(
            "{} already exists",
            path.display()
        )));
    }
    crate::copy::copy(from, &Location::Sqlite(path.to_owned()), schema).await?;
    Ok(())
}

async fn open_read_only(path: &Path) -> Result<sqlx::SqliteConnection> {
    Ok(SqliteConnectOptions::from_str("sqlite://")?
        .filename(path)
        .read_only(true)
        .journal_mode(SqliteJournalMode::Delete)
        .connect()
        .await?)
}

/// Reads a copy's schema version, audit log length and newest checkpoint, without
/// changing it.
pub async fn inspect(path: &Path) -> Result<SnapshotInfo> {
    let mut c = open_read_only(path).await?;
    let r = async {
        let schema_version: i64 =
            sqlx::query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
                .fetch_one(&mut c)
                .await?
                .try_get(0)?;
        let audit_entries: i64 = sqlx::query("SELECT COALESCE(MAX(seq), 0) FROM audit_log")
            .fetch_one(&mut c)
            .await?
            .try_get(0)?;
        let checkpoint: Option<String> =
            sqlx::query("SELECT note FROM audit_checkpoints ORDER BY size DESC LIMIT 1")
                .fetch_optional(&mut c)
                .await?
                .map(|r| r.try_get(0))
                .transpose()?;
        Ok(SnapshotInfo {
            schema_version,
            audit_entries: audit_entries as u64,
            checkpoint,
        })
    }
    .await;
    let _ = c.close().await;
    r
}

/// SQLite's own integrity and foreign-key checks over a copy: the problems found
/// (empty when sound).
pub async fn integrity_check(path: &Path) -> Result<Vec<String>> {
    let mut c = open_read_only(path).await?;
    let r = async {
        let mut problems: Vec<String> = sqlx::query("PRAGMA integrity_check")
            .fetch_all(&mut c)
            .await?
            .iter()
            .map(|r| r.try_get::<String, _>(0))
            .collect::<std::result::Result<Vec<_>, _>>()?
            .into_iter()
            .filter(|s| s != "ok")
            .collect();
        let fk = sqlx::query("PRAGMA foreign_key_check")
            .fetch_all(&mut c)
            .await?;
        for r in fk {
            let table: String = r.try_get(0)?;
            problems.push(format!("foreign key broken in {table}"));
        }
        Ok(problems)
    }
    .await;
    let _ = c.close().await;
    r
}
