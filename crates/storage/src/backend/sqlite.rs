//! SQLite: one file, a pool of read-only connections and the one writer connection
//! (SQLite allows one writer at a time anyway; one connection makes that explicit and
//! serialises the appends to the audit chain).

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::sql::Pool;
use crate::{Result, StorageError, row_seals};

/// Opens the file (creating it if needed): (readers, writer).
pub(crate) async fn open(path: &Path, open: Arc<AtomicBool>) -> Result<(Pool, Pool)> {
    let base = SqliteConnectOptions::from_str("sqlite://")?
        .filename(path)
        .journal_mode(SqliteJournalMode::Wal)
        // FULL: a committed write survives a power cut, audit entry included.
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
        // Read pages through a memory map instead of read() calls into each
        // connection's private cache, and keep a larger hot set per connection.
        // Deleted content is overwritten, not left in free pages.
        .pragma("secure_delete", "on")
        .pragma("mmap_size", "1073741824")
        .pragma("cache_size", "-16384");
    let writer = SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .after_connect(|conn, _| {
            Box::pin(async move {
                row_seals::install_sqlite(conn).await.map_err(|e| match e {
                    StorageError::Sqlx(e) => e,
                    other => sqlx::Error::Protocol(other.to_string()),
                })
            })
        })
        .after_release(rollback_if_open(open))
        .connect_with(base.clone().create_if_missing(true))
        .await?;
    let reader = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(base.read_only(true))
        .await?;
    Ok((Pool::Sqlite(reader), Pool::Sqlite(writer)))
}

/// What the release hook returns: whether to keep the connection.
type Released<'c> =
    std::pin::Pin<Box<dyn Future<Output = std::result::Result<bool, sqlx::Error>> + Send + 'c>>;

/// The writer pool's release hook: a connection coming back from a [`WriteTx`] that
/// never committed (an error, or its request cancelled) is rolled back before anyone
/// else can use it. The transaction is managed by hand rather than by sqlx's
/// `Transaction` so that the audit entries and the COMMIT travel in one statement list.
fn rollback_if_open(
    open: Arc<AtomicBool>,
) -> impl for<'c> Fn(&'c mut sqlx::SqliteConnection, sqlx::pool::PoolConnectionMetadata) -> Released<'c>
+ Send
+ Sync
+ 'static {
    move |conn, _| {
        let open = open.clone();
        Box::pin(async move {
            if !open.swap(false, Ordering::AcqRel) {
                return Ok(true);
            }
            match sqlx::query("ROLLBACK").execute(&mut *conn).await {
                Ok(_) => Ok(true),
                // Nothing was open after all (BEGIN failed, or a COMMIT went through
                // whose caller had gone): start again on a fresh connection.
                Err(e) => {
                    tracing::debug!(error = %e, "writer rollback on release failed; reconnecting");
                    Ok(false)
                }
            }
        })
    }
}
