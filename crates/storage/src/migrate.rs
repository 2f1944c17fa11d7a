//! Applies the numbered SQL files under `migrations/sqlite` once each, in order, and
//! records them in `schema_migrations`.

use sqlx::{Executor, SqlitePool};

use crate::{Result, StorageError, now_ms};

/// (version, SQL). New migrations are appended; applied ones are never edited.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/sqlite/0001_foundation.sql")),
    (2, include_str!("../migrations/sqlite/0002_activities.sql")),
    (3, include_str!("../migrations/sqlite/0003_tallies.sql")),
    (4, include_str!("../migrations/sqlite/0004_throttle.sql")),
    (5, include_str!("../migrations/sqlite/0005_mfa.sql")),
    (6, include_str!("../migrations/sqlite/0006_recovery.sql")),
    (7, include_str!("../migrations/sqlite/0007_personal.sql")),
    (8, include_str!("../migrations/sqlite/0008_privacy.sql")),
    (9, include_str!("../migrations/sqlite/0009_passkeys.sql")),
    (10, include_str!("../migrations/sqlite/0010_signup.sql")),
    (
        11,
        include_str!("../migrations/sqlite/0011_transparency.sql"),
    ),
    (
        12,
        include_str!("../migrations/sqlite/0012_audit_search.sql"),
    ),
    (
        13,
        include_str!("../migrations/sqlite/0013_signed_actions.sql"),
    ),
    (
        14,
        include_str!("../migrations/sqlite/0014_audit_search_clustered.sql"),
    ),
    (
        15,
        include_str!("../migrations/sqlite/0015_trusted_devices.sql"),
    ),
    (
        16,
        include_str!("../migrations/sqlite/0016_passkey_commitments.sql"),
    ),
    (17, include_str!("../migrations/sqlite/0017_row_seals.sql")),
];

pub(crate) async fn run(pool: &SqlitePool) -> Result<()> {
    // Read first: a database already up to date takes no write lock at all, so that a
    // maintenance command (a backup) opening it beside a busy server never waits for one.
    let has_table: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
    )
    .fetch_one(pool)
    .await?;
    let applied: Vec<i64> = match has_table {
        0 => Vec::new(),
        _ => {
            sqlx::query_scalar("SELECT version FROM schema_migrations")
                .fetch_all(pool)
                .await?
        }
    };
    if let Some(newest) = applied.iter().max().filter(|v| **v > latest_version()) {
        return Err(StorageError::NewerSchema {
            found: *newest,
            known: latest_version(),
        });
    }
    if MIGRATIONS.iter().all(|(v, _)| applied.contains(v)) {
        return Ok(());
    }
    pool.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
    )
    .await?;
    for (version, sql) in MIGRATIONS {
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
        let done: Option<i64> =
            sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = ?")
                .bind(version)
                .fetch_optional(&mut *tx)
                .await?;
        if done.is_some() {
            continue;
        }
        tracing::info!(version, "applying migration");
        tx.execute(*sql).await?;
        sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)")
            .bind(version)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    }
    Ok(())
}

/// The newest schema version this build knows.
pub fn latest_version() -> i64 {
    MIGRATIONS.last().map(|(v, _)| *v).unwrap_or_default()
}
