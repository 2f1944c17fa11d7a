//! Applies the numbered SQL files under `migrations/sqlite` once each, in order, and
//! records them in `schema_migrations`.

use crate::sql::{Pool, q, scalar};

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
    (
        18,
        include_str!("../migrations/sqlite/0018_shared_state.sql"),
    ),
    (
        19,
        include_str!("../migrations/sqlite/0019_audit_queue.sql"),
    ),
    (20, include_str!("../migrations/sqlite/0020_club_keys.sql")),
    (
        21,
        include_str!("../migrations/sqlite/0021_lighter_triggers.sql"),
    ),
    (
        22,
        include_str!("../migrations/sqlite/0022_containment.sql"),
    ),
    (23, include_str!("../migrations/sqlite/0023_incidents.sql")),
    (
        24,
        include_str!("../migrations/sqlite/0024_address_blocks.sql"),
    ),
    (
        25,
        include_str!("../migrations/sqlite/0025_incident_breaches.sql"),
    ),
    (
        26,
        include_str!("../migrations/sqlite/0026_reset_and_key_epochs.sql"),
    ),
    (27, include_str!("../migrations/sqlite/0027_step_ups.sql")),
    (
        28,
        include_str!("../migrations/sqlite/0028_revoked_sessions.sql"),
    ),
    (
        29,
        include_str!("../migrations/sqlite/0029_log_key_seed.sql"),
    ),
    (30, include_str!("../migrations/sqlite/0030_roll_calls.sql")),
    (
        31,
        include_str!("../migrations/sqlite/0031_idempotency_keys.sql"),
    ),
];

/// PostgreSQL's migrations. Numbered like SQLite's, so that one schema version means
/// one logical schema on both (a backup moves between them): PostgreSQL support began
/// at version 17, so its first file creates everything SQLite's first 17 did.
const PG_MIGRATIONS: &[(i64, &str)] = &[
    (17, include_str!("../migrations/postgres/0017_baseline.sql")),
    (
        18,
        include_str!("../migrations/postgres/0018_shared_state.sql"),
    ),
    (
        19,
        include_str!("../migrations/postgres/0019_audit_queue.sql"),
    ),
    (
        20,
        include_str!("../migrations/postgres/0020_club_keys.sql"),
    ),
    (
        21,
        include_str!("../migrations/postgres/0021_lighter_triggers.sql"),
    ),
    (
        22,
        include_str!("../migrations/postgres/0022_containment.sql"),
    ),
    (
        23,
        include_str!("../migrations/postgres/0023_incidents.sql"),
    ),
    (
        24,
        include_str!("../migrations/postgres/0024_address_blocks.sql"),
    ),
    (
        25,
        include_str!("../migrations/postgres/0025_incident_breaches.sql"),
    ),
    (
        26,
        include_str!("../migrations/postgres/0026_reset_and_key_epochs.sql"),
    ),
    (27, include_str!("../migrations/postgres/0027_step_ups.sql")),
    (
        28,
        include_str!("../migrations/postgres/0028_revoked_sessions.sql"),
    ),
    (
        29,
        include_str!("../migrations/postgres/0029_log_key_seed.sql"),
    ),
    (
        30,
        include_str!("../migrations/postgres/0030_roll_calls.sql"),
    ),
    (
        31,
        include_str!("../migrations/postgres/0031_idempotency_keys.sql"),
    ),
];

fn migrations(pool: &Pool) -> &'static [(i64, &'static str)] {
    if pool.is_postgres() {
        PG_MIGRATIONS
    } else {
        MIGRATIONS
    }
}

pub(crate) async fn run(pool: &Pool) -> Result<()> {
    // Read first: a database already up to date takes no write lock at all, so that a
    // maintenance command (a backup) opening it beside a busy server never waits for one.
    let has_table: i64 = if pool.is_postgres() {
        scalar(
            "SELECT COUNT(*) FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = 'schema_migrations'",
        )
    } else {
        scalar(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
        )
    }
    .fetch_one(pool)
    .await?;
    let applied: Vec<i64> = match has_table {
        0 => Vec::new(),
        _ => {
            scalar("SELECT version FROM schema_migrations")
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
    let list = migrations(pool);
    if list.iter().all(|(v, _)| applied.contains(v)) {
        return Ok(());
    }
    q("CREATE TABLE IF NOT EXISTS schema_migrations \
       (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)")
    .execute(pool)
    .await?;
    for (version, sql) in list {
        let mut tx = pool.begin_write().await?;
        if pool.is_postgres() {
            // Instances starting together migrate one after the other: the second finds
            // the version applied. The lock ends with the transaction.
            q("SELECT pg_advisory_xact_lock(7261) ")
                .execute(&mut tx)
                .await?;
        }
        let done: Option<i64> = scalar("SELECT version FROM schema_migrations WHERE version = $1")
            .bind(version)
            .fetch_optional(&mut tx)
            .await?;
        if done.is_some() {
            continue;
        }
        tracing::info!(version, "applying migration");
        tx.execute_script(sql).await?;
        q("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)")
            .bind(version)
            .bind(now_ms())
            .execute(&mut tx)
            .await?;
        tx.commit().await?;
    }
    Ok(())
}

/// The newest schema version this build knows.
pub fn latest_version() -> i64 {
    MIGRATIONS.last().map(|(v, _)| *v).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn both_engines_end_at_the_same_schema_version() {
        let last = |m: &[(i64, &str)]| m.last().map(|(v, _)| *v);
        assert_eq!(last(super::MIGRATIONS), last(super::PG_MIGRATIONS));
    }
}
