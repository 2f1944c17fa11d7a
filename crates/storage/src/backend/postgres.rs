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

/// What opens every write transaction: BEGIN, and forget whatever rows this session
/// noted outside an audited write (so that no later write seals them). Never waits:
/// sqlx rolls back a transaction dropped midway only once BEGIN has returned, so any
/// wait inside it (such as for a lock) could leave a cancelled request's session idle
/// in its transaction, holding what it had taken.
pub(crate) const BEGIN_WRITE: &str = "BEGIN; DELETE FROM pg_temp.row_dirty";

/// Takes a write's locks, coarse to fine, in one statement (so that no two writes wait
/// for each other in opposite orders):
/// - a write that may touch anything: the whole-database lock, exclusively;
/// - a write within one club: that lock shared, then the club's exclusively;
/// - a member's action on one item of a club (an answer, a vote, a read): both shared,
///   then the item's lock exclusively.
///
/// So writes of different clubs, and actions on different items of one club, run side
/// by side, while any write that could invalidate another's checks excludes it.
pub(crate) async fn lock_write(
    tx: &mut crate::sql::Conn,
    club: Option<&str>,
    item: Option<&str>,
) -> Result<()> {
    use crate::sql::q;
    // Two-integer locks are a key space apart from the one-bigint whole-database lock:
    // 0x7e6b for clubs and 0x7e6c for items, each with a hash of the id. Two ids that
    // share a hash merely wait for each other. PostgreSQL evaluates a target list in
    // order, so the locks are taken coarse to fine.
    let query = match (club, item) {
        (None, _) => q("SELECT pg_advisory_xact_lock($1)").bind(WRITE_LOCK),
        (Some(club), None) => {
            q("SELECT pg_advisory_xact_lock_shared($1), pg_advisory_xact_lock(32363, $2::int4)")
                .bind(WRITE_LOCK)
                .bind(i64::from(key(club)))
        }
        (Some(club), Some(item)) => q("SELECT pg_advisory_xact_lock_shared($1), \
             pg_advisory_xact_lock_shared(32363, $2::int4), pg_advisory_xact_lock(32364, $3::int4)")
        .bind(WRITE_LOCK)
        .bind(i64::from(key(club)))
        .bind(i64::from(key(item))),
    };
    query.execute(&mut *tx).await?;
    Ok(())
}

/// FNV-1a over an id: stable across instances and releases.
fn key(id: &str) -> i32 {
    let h = id.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    h as i32
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
        .options([
            ("timezone", "UTC"),
            // A session left idle inside a transaction (a bug, a client gone) would hold
            // its write locks and stall every instance: PostgreSQL ends it instead.
            ("idle_in_transaction_session_timeout", "30000"),
        ]);
    let pool = PgPoolOptions::new()
        .max_connections(16)
        .min_connections(1)
        // A request waits this long for a connection, then gets a clear 503: long
        // enough for any burst this pool serves, short enough that a database that is
        // down (restarting) is said so quickly.
        .acquire_timeout(Duration::from_secs(5))
        .after_connect(|conn, _| {
            Box::pin(async move {
                // Emptied when each audited write begins and as it re-seals (not ON
                // COMMIT DELETE ROWS: truncating at every commit invalidated the cached
                // plans of every statement that names it, and replanning them cost
                // PostgreSQL a third of its time under RSVP load).
                sqlx::query(
                    "CREATE TEMP TABLE IF NOT EXISTS row_dirty (kind TEXT NOT NULL, \
                     k1 TEXT NOT NULL, k2 TEXT NOT NULL, k3 TEXT NOT NULL)",
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
