//! PostgreSQL: one pool for reads and writes, shared by every instance of the service.
//! Each connection gets the session's own `row_dirty` table for row seals on connect.
//! Writes take transaction-scoped advisory locks (see [`lock_write`]), so that a write's
//! checks hold at its commit exactly as under SQLite's single writer.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::sql::Pool;
use crate::{Result, StorageError};

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
    tx.execute_script(lock_sql(club, item)).await?;
    Ok(())
}

/// The statement [`lock_write`] runs. Two-integer locks are a key space apart from the
/// one-bigint whole-database lock: 0x7e6b for clubs and 0x7e6c for items, each with a
/// hash of the id. Two ids that share a hash merely wait for each other. PostgreSQL
/// evaluates a target list in order, so the locks are taken coarse to fine. Literal
/// integers, not parameters: it also goes into scripts of several statements (see
/// [`action_script`]), which cannot carry parameters.
fn lock_sql(club: Option<&str>, item: Option<&str>) -> String {
    match (club, item) {
        (None, _) => format!("SELECT pg_advisory_xact_lock({WRITE_LOCK})"),
        (Some(club), None) => format!(
            "SELECT pg_advisory_xact_lock_shared({WRITE_LOCK}), pg_advisory_xact_lock(32363, {})",
            key(club)
        ),
        (Some(club), Some(item)) => format!(
            "SELECT pg_advisory_xact_lock_shared({WRITE_LOCK}), \
             pg_advisory_xact_lock_shared(32363, {}), pg_advisory_xact_lock(32364, {})",
            key(club),
            key(item)
        ),
    }
}

/// The locks of a member's action on `item` (as [`lock_write`] takes them) inside a
/// batch: a savepoint for the action first, in the same round trip (a script of
/// literal integers, which is why it is not a prepared statement). `release` ends the
/// previous action's savepoint first, keeping what it did.
pub(crate) fn action_script(club: &str, item: &str, release: bool) -> String {
    format!(
        "{}SAVEPOINT action; {}",
        if release {
            "RELEASE SAVEPOINT action; "
        } else {
            ""
        },
        lock_sql(Some(club), Some(item)),
    )
}

/// FNV-1a over an id: stable across instances and releases.
pub(crate) fn key(id: &str) -> i32 {
    let h = id.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    h as i32
}

/// Whether the database at `url` has no TEKKAN schema yet.
pub(crate) async fn is_new(url: &str) -> Result<bool> {
    use sqlx::Connection as _;
    let mut c = match sqlx::PgConnection::connect_with(&PgConnectOptions::from_str(url)?).await {
        Ok(c) => c,
        // 3D000: no such database, so nothing of TEKKAN's either.
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("3D000") => return Ok(true),
        Err(e) => return Err(e.into()),
    };
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_name = 'schema_migrations'",
    )
    .fetch_one(&mut c)
    .await?;
    c.close().await?;
    Ok(n == 0)
}

/// Makes the database `url` names if the server has none by that name (a restore or a
/// copy into a new server), through the server's maintenance database `postgres`; its
/// user needs CREATEDB, or the operator creates the database beforehand.
pub(crate) async fn ensure_database(url: &str) -> Result<()> {
    use sqlx::Connection as _;
    let opts = PgConnectOptions::from_str(url)?;
    match sqlx::PgConnection::connect_with(&opts).await {
        Ok(c) => {
            c.close().await?;
            return Ok(());
        }
        // 3D000: no such database.
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("3D000") => {}
        Err(e) => return Err(e.into()),
    }
    let name = opts.get_database().unwrap_or_default().to_owned();
    let valid = !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !valid {
        return Err(StorageError::Unsupported(
            "the database does not exist and its name is not one TEKKAN creates: create it",
        ));
    }
    let mut c = sqlx::PgConnection::connect_with(&opts.database("postgres")).await?;
    let made = sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut c)
        .await;
    let _ = c.close().await;
    match made {
        Ok(_) => Ok(()),
        // 42P04: made meanwhile by someone else.
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P04") => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Renames the database `url` names to `<name>_<suffix>` (a restore that replaces a
/// deployment keeps the old one, as it keeps a replaced data directory): the new name,
/// or `None` when there was no such database. Nobody may be connected to it.
pub(crate) async fn set_aside(url: &str, suffix: &str) -> Result<Option<String>> {
    use sqlx::Connection as _;
    let opts = PgConnectOptions::from_str(url)?;
    let name = opts.get_database().unwrap_or_default().to_owned();
    let mut c = sqlx::PgConnection::connect_with(&opts.clone().database("postgres")).await?;
    let r = async {
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                .bind(&name)
                .fetch_one(&mut c)
                .await?;
        if !exists {
            return Ok(None);
        }
        let mut aside = format!("{name}_{suffix}");
        aside.truncate(63);
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "ALTER DATABASE \"{}\" RENAME TO \"{}\"",
            name.replace('"', "\"\""),
            aside.replace('"', "\"\"")
        )))
        .execute(&mut c)
        .await?;
        Ok(Some(aside))
    }
    .await;
    let _ = c.close().await;
    r
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
