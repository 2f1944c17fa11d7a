//! PostgreSQL: one pool for reads and writes, shared by every instance of the service.
//! Each connection gets the session's own `row_dirty` table for row seals on connect.
//! Writes take transaction-scoped advisory locks (see [`lock_write`]), so that a write's
//! checks hold at its commit exactly as under SQLite's single writer.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::Result;
use crate::sql::Pool;

/// The advisory lock every write transaction holds until it ends: exclusively for a
/// write that may touch anything, shared for a write scoped to one club (which also
/// holds that club's lock exclusively). So any two writes that could see each other's
/// rows are serialised, and the product's rules (capacity checks, last owner, single-use
/// tokens) hold exactly as they do on SQLite, across any number of instances.
pub const WRITE_LOCK: i64 = 0x7e6b_616e_0001;

/// Takes the locks of a write: every club (`None`) or one. The shared lock comes first,
/// always, so that a club write waiting for a whole-database write never holds its
/// club's lock meanwhile (no lock-order deadlock).
pub(crate) async fn lock_write(tx: &mut crate::sql::Conn, club: Option<&str>) -> Result<()> {
    use crate::sql::q;
    match club {
        None => {
            q("SELECT pg_advisory_xact_lock($1)")
                .bind(WRITE_LOCK)
                .execute(&mut *tx)
                .await?;
        }
        Some(club) => {
            q("SELECT pg_advisory_xact_lock_shared($1)")
                .bind(WRITE_LOCK)
                .execute(&mut *tx)
                .await?;
            // A club's lock: two integers (a key space apart from the one-bigint locks
            // above), 0x7e6b and the hash of the club's id.
            q("SELECT pg_advisory_xact_lock(32363, hashtext($1))")
                .bind(club)
                .execute(&mut *tx)
                .await?;
        }
    }
    Ok(())
}

/// Whether the database at `url` has no TEKKAN schema yet.
pub(crate) async fn is_new(url: &str) -> Result<bool> {
    use sqlx::Connection as _;
    let mut c = sqlx::PgConnection::connect_with(&PgConnectOptions::from_str(url)?).await?;
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_name = 'schema_migrations'",
    )
    .fetch_one(&mut c)
    .await?;
    c.close().await?;
    Ok(n == 0)
}

/// Connects to the server at `url`: (readers, writers), one pool.
pub(crate) async fn open(url: &str) -> Result<(Pool, Pool)> {
    let opts = PgConnectOptions::from_str(url)?
        .application_name("tekkan")
        // Times are milliseconds in BIGINT columns; the session zone only matters to
        // anything printed by the server itself.
        .options([("timezone", "UTC")]);
    let pool = PgPoolOptions::new()
        .max_connections(16)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(10))
        .after_connect(|conn, _| {
            Box::pin(async move {
                // ON COMMIT DELETE ROWS: whatever a transaction noted is gone when it
                // ends, sealed or not.
                sqlx::query(
                    "CREATE TEMP TABLE IF NOT EXISTS row_dirty (kind TEXT NOT NULL, \
                     k1 TEXT NOT NULL, k2 TEXT NOT NULL, k3 TEXT NOT NULL) ON COMMIT DELETE ROWS",
                )
                .execute(&mut *conn)
                .await?;
                Ok(())
            })
        })
        .connect_with(opts)
        .await?;
    let pool = Pool::Postgres(pool);
    Ok((pool.clone(), pool))
}

/// A session of its own holding a session-level advisory lock: the one instance that
/// does a duty. The lock goes with the session: when the process dies, its connection
/// closes and PostgreSQL releases the lock for another instance to take.
pub(crate) async fn try_lead(url: &str, duty: i64) -> Result<Option<sqlx::PgConnection>> {
    use sqlx::Connection as _;
    let mut c = sqlx::PgConnection::connect_with(
        &PgConnectOptions::from_str(url)?.application_name("tekkan leader"),
    )
    .await?;
    let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(duty)
        .fetch_one(&mut c)
        .await?;
    if got {
        Ok(Some(c))
    } else {
        c.close().await?;
        Ok(None)
    }
}
