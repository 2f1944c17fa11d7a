//! All of TEKKAN's SQL. Every write goes through [`WriteTx`] and can only be committed
//! together with the audit events that describe it, so no state change escapes the
//! audit chain.
//!
//! SQLite allows one writer at a time anyway: reads go through a pool of read-only
//! connections and writes through one writer connection, which makes that explicit,
//! removes "database is locked" retries, and links each write's entries into the chain
//! as it commits. On PostgreSQL every instance writes through one pool; writes take
//! advisory locks scoped to what they touch, and queue their entries for the integrator
//! ([`audit_queue`]).

mod accounts;
mod announcements;
mod attendance;
mod audit_log;
pub mod audit_queue;
mod audit_search;
mod backend;
mod batch;
mod blocks;
mod breach;
mod clubs;
mod comments;
mod containment;
pub mod copy;
mod events;
mod feeds;
mod incidents;
mod invitations;
mod keystore;
mod leader;
mod mfa;
mod migrate;
mod notifications;
mod passkeys;
mod personal;
mod polls;
mod privacy;
pub mod receipts;
pub use migrate::latest_version;
mod idempotency;
mod log_key;
mod recent;
mod records;
mod recovery;
mod reminders;
mod roll_call;
mod row_seals;
mod shared_state;
pub mod snapshot;
pub mod sql;
mod subgroups;
mod throttle;
mod transparency;
mod write_tx;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use sql::{Conn, Pool};

pub use accounts::{NewAccount, NewSession};
pub use announcements::{Announcement, AnnouncementLine, Receipt};
pub use attendance::{Answer, AnswerContext, AnswerFacts, ScheduleRow, Tally};
pub use audit_log::AuditRow;
pub use audit_search::{AuditQuery, ViewRow, search_keys};
pub use backend::Location;
pub use batch::ActionFuture;
pub use breach::{BreachRow, PersonInClub, TrailEntry};
pub use comments::Comment;
pub use containment::SwitchOn;
pub use events::{Event, Occurrence};
pub use idempotency::{Claim, KeptAnswer};
pub use incidents::{IncidentRow, IncidentUpdateRow};
pub use invitations::NewInvitation;
pub use keystore::{KeyStore, Wrapped};
pub use leader::{Duty, Leadership};
pub use log_key::SealedLogSeed;
pub use mfa::{Challenge, TotpRow};
pub use notifications::{Delivery, Notification, PushSubscription};
pub use passkeys::PasskeyRow;
pub use polls::{Poll, PollLine};
pub use privacy::ExportPart;
pub use records::*;
pub use recovery::{AccountToken, PendingSignup, SessionLine, TokenPurpose};
pub use row_seals::SealReport;
pub use shared_state::WindowHit;
pub use transparency::{KeyRow, StoredCheckpoint};
pub use write_tx::{WriteTx, Written};

/// What can go wrong below the application.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// A uniqueness rule refused the write (an e-mail already registered, a duplicate
    /// link). Nothing was written.
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// A stored value could not be read back (a hand-edited database).
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// The database was written by a newer TEKKAN: this one must not touch it.
    #[error(
        "the database is at schema {found}, newer than this tekkan knows ({known}): run the \
         newer tekkan"
    )]
    NewerSchema { found: i64, known: i64 },
    /// A write was committed without audit events: a bug, refused.
    #[error("a write must be audited")]
    Unaudited,
    /// Writes are held (the database is behind its last signed checkpoint) until the
    /// operator decides. Nothing was written.
    #[error("writes are held: {0}")]
    WritesHeld(String),
    /// The operation exists on the other backend only.
    #[error("not available on this database backend: {0}")]
    Unsupported(&'static str),
    /// A copy between databases refused to start or to finish (see [`copy`]). Nothing
    /// was kept in the destination.
    #[error("copy: {0}")]
    Copy(String),
    /// A write shared a transaction (see [`Db::write_batched`]) that failed as a whole:
    /// nothing of it was kept. Says whether the failure meant "unavailable" or "disk
    /// full", as the original error (which only one action could own) did.
    #[error("{message}")]
    Shared {
        message: String,
        unavailable: bool,
        disk_full: bool,
    },
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
}

impl StorageError {
    /// The disk (or the file system's quota) is full: SQLite's `SQLITE_FULL`, or
    /// `ENOSPC` from a file it writes. Nothing was written; space coming back ends it.
    /// Whether the database could not be reached or went away mid-statement (a
    /// PostgreSQL server restarting, a connection cut): nothing of the write was kept,
    /// and trying again shortly may work. PostgreSQL's connection-exception class (08)
    /// and its shutdown and start-up codes (57P01–57P03) say so, as do a pool that
    /// found no working connection in time and an I/O error on the socket.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StorageError::Sqlx(sqlx::Error::Database(d)) => d.code().is_some_and(|c| {
                c.starts_with("08") || matches!(c.as_ref(), "57P01" | "57P02" | "57P03")
            }),
            StorageError::Sqlx(sqlx::Error::PoolTimedOut | sqlx::Error::Io(_)) => {
                !self.is_disk_full()
            }
            StorageError::Shared { unavailable, .. } => *unavailable,
            _ => false,
        }
    }

    pub fn is_disk_full(&self) -> bool {
        const SQLITE_FULL: &str = "13";
        // PostgreSQL's SQLSTATE disk_full: a write that could not extend a file.
        const PG_DISK_FULL: &str = "53100";
        const ENOSPC: i32 = 28;
        match self {
            StorageError::Sqlx(sqlx::Error::Database(d)) => {
                matches!(d.code().as_deref(), Some(SQLITE_FULL | PG_DISK_FULL))
                    || d.message().contains("database or disk is full")
            }
            StorageError::Sqlx(sqlx::Error::Io(e)) => e.raw_os_error() == Some(ENOSPC),
            StorageError::Shared { disk_full, .. } => *disk_full,
            _ => false,
        }
    }
}

pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// Maps a UNIQUE or PRIMARY KEY violation to [`StorageError::Conflict`].
fn conflict(what: &'static str) -> impl FnOnce(sqlx::Error) -> StorageError {
    move |e| match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => StorageError::Conflict(what),
        _ => StorageError::Sqlx(e),
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// The database: a read pool and the one writer.
#[derive(Clone)]
pub struct Db {
    reader: Pool,
    writer: Pool,
    /// Whether the writer connection is inside a [`WriteTx`] that has not committed.
    open: Arc<AtomicBool>,
    audit_key: Arc<[u8]>,
    /// The chain's head as this process last committed it, to save reading it back on
    /// every write. Checked by the primary key: if another process appended meanwhile,
    /// the insert fails and the head is read again.
    head: Arc<std::sync::Mutex<Option<(u64, tekkan_audit::Hash)>>>,
    recent: recent::Recent,
    /// Why writes are refused, when they are (see [`Db::hold_writes`]).
    held: Arc<std::sync::RwLock<Option<String>>>,
    /// PostgreSQL's URL, for the sessions that hold a duty's lock (see [`Db::try_lead`]).
    pg_url: Option<Arc<str>>,
    /// Members' actions waiting to commit together (see [`Db::write_batched`]).
    lanes: Arc<batch::Lanes>,
    #[cfg(feature = "bench-unaudited")]
    unaudited: Arc<std::sync::atomic::AtomicBool>,
}

impl Db {
    /// Opens (creating if needed) the SQLite file at `path` and brings its schema up to
    /// date. `audit_key` authenticates the audit chain's head; it must come from outside
    /// the database.
    pub async fn open(path: &Path, audit_key: Vec<u8>) -> Result<Self> {
        Self::connect(&Location::Sqlite(path.to_owned()), audit_key).await
    }

    /// Opens the database at `at` (SQLite creating the file if needed, PostgreSQL an
    /// existing database) and brings its schema up to date.
    pub async fn connect(at: &Location, audit_key: Vec<u8>) -> Result<Self> {
        let open = Arc::new(AtomicBool::new(false));
        let (reader, writer) = match at {
            Location::Sqlite(path) => backend::sqlite::open(path, open.clone()).await?,
            Location::Postgres(url) => backend::postgres::open(url).await?,
        };
        migrate::run(&writer).await?;
        {
            // The migrations may have just made the sealed tables: note their changes,
            // and seal what a database from before seals holds.
            let mut conn = writer.acquire().await?;
            row_seals::install(&mut conn).await?;
            let sealed = row_seals::seal_existing(&mut conn, &audit_key).await?;
            if sealed > 0 {
                tracing::info!(
                    sealed,
                    "rows written before row seals existed are now sealed"
                );
            }
        }
        let pg_url = match at {
            Location::Postgres(url) => Some(url.as_str().into()),
            Location::Sqlite(_) => None,
        };
        let db = Self::with_pools(reader, writer, open, audit_key, pg_url);
        if !db.writer.is_postgres() {
            let moved = db.integrate_moved().await?;
            if moved.linked > 0 {
                tracing::info!(
                    linked = moved.linked,
                    "audit entries queued on PostgreSQL before the move are now linked"
                );
            }
        }
        Ok(db)
    }

    /// A handle on pools already open and migrated.
    fn with_pools(
        reader: Pool,
        writer: Pool,
        open: Arc<AtomicBool>,
        audit_key: Vec<u8>,
        pg_url: Option<Arc<str>>,
    ) -> Self {
        Self {
            lanes: Arc::new(batch::Lanes::new(writer.is_postgres())),
            reader,
            writer,
            open,
            audit_key: audit_key.into(),
            head: Arc::default(),
            recent: Default::default(),
            held: Arc::default(),
            pg_url,
            #[cfg(feature = "bench-unaudited")]
            unaudited: Arc::default(),
        }
    }

    /// Becomes the one instance doing `duty` (signing checkpoints, running backups) if
    /// no other is, and holds it until the [`Leadership`] is dropped or the process
    /// ends. On SQLite, where one process owns the file, always granted.
    pub async fn try_lead(&self, duty: Duty) -> Result<Option<Leadership>> {
        let Some(url) = &self.pg_url else {
            return Ok(Some(Leadership { session: None }));
        };
        Ok(backend::postgres::try_lead(url, duty.lock())
            .await?
            .map(|c| Leadership { session: Some(c) }))
    }

    /// Opens a PostgreSQL database only to read it (the verifier examining evidence):
    /// no migration runs and nothing is written. Its schema must be this build's.
    pub async fn inspect_postgres(url: &str, audit_key: Vec<u8>) -> Result<Self> {
        let (reader, writer) = backend::postgres::open(url).await?;
        let found: Option<i64> = sql::scalar("SELECT MAX(version) FROM schema_migrations")
            .fetch_one(&reader)
            .await?;
        let found = found.unwrap_or_default();
        if found > latest_version() {
            return Err(StorageError::NewerSchema {
                found,
                known: latest_version(),
            });
        }
        if found < latest_version() {
            return Err(StorageError::Unsupported(
                "the database's schema is older than this tekkan's: start the server once to \
                 bring it up to date, then examine it",
            ));
        }
        let db = Self::with_pools(reader, writer, Arc::default(), audit_key, None);
        db.hold_writes("opened to be examined, read only".into());
        Ok(db)
    }

    /// Which engine this database runs on: "sqlite" or "postgres".
    pub fn backend(&self) -> &'static str {
        if self.writer.is_postgres() {
            "postgres"
        } else {
            "sqlite"
        }
    }

    /// Refuses every write from now on, for `reason`: a database found behind its
    /// newest signed checkpoint must not grow a history that forks from the one
    /// already published. Reads go on.
    pub fn hold_writes(&self, reason: String) {
        if let Ok(mut h) = self.held.write() {
            *h = Some(reason);
        }
    }

    /// Why writes are held, if they are.
    pub fn writes_held(&self) -> Option<String> {
        self.held.read().ok().and_then(|h| h.clone())
    }

    /// Starts a write. Waits for the writer connection; takes SQLite's write lock at
    /// once (BEGIN IMMEDIATE) so that checks made inside the transaction hold at commit.
    /// On PostgreSQL it excludes every other write, on every instance, for the same
    /// reason.
    pub async fn begin(&self) -> Result<WriteTx> {
        self.begin_scoped(None, None, None).await
    }

    /// Starts a write whose reads and changes all concern `club` (and rows no
    /// club-scoped write changes: accounts, sessions). On PostgreSQL it excludes only
    /// the other writes of that club and the writes [`Db::begin`] starts, so writes of
    /// different clubs run side by side across instances; its checks (capacity, roles,
    /// deadlines) still hold at commit. SQLite has one writer: the same as `begin`.
    /// Writes that change who may do what in the club (roles, removals) must use this
    /// or `begin`, never `begin_on`.
    pub async fn begin_in(&self, club: &str) -> Result<WriteTx> {
        self.begin_scoped(Some(club), None, None).await
    }

    /// Starts a member's action on one item of `club` (an answer to an occurrence, a
    /// vote in a poll, reading an announcement): its reads and changes concern that item
    /// and the acting member's own rows. On PostgreSQL it excludes the other actions on
    /// that item and every write of the whole club (role changes, removals, closing a
    /// poll), which take the club's lock; actions on other items run side by side.
    pub async fn begin_on(&self, club: &str, item: &str) -> Result<WriteTx> {
        self.begin_scoped(Some(club), Some(item), None).await
    }

    /// `batch`: a batch's first action (club, item). A batch takes no lock of its own:
    /// each action takes its item's inside a savepoint (see [`WriteTx::enter_action`]);
    /// the first action's go with BEGIN.
    pub(crate) async fn begin_scoped(
        &self,
        club: Option<&str>,
        item: Option<&str>,
        batch: Option<(&str, &str)>,
    ) -> Result<WriteTx> {
        if let Some(reason) = self.writes_held() {
            return Err(StorageError::WritesHeld(reason));
        }
        let tx = match &self.writer {
            Pool::Postgres(p) => match batch {
                // One round trip fewer per batch. BEGIN may wait here for the action's
                // locks: a batch runs in a task of its own, which no request's
                // cancellation drops midway (see `BEGIN_WRITE`).
                Some((club, item)) => Conn::PgTx(
                    p.begin_with(sqlx::AssertSqlSafe(format!(
                        "{}; {}",
                        backend::postgres::BEGIN_WRITE,
                        backend::postgres::action_script(club, item, false)
                    )))
                    .await?,
                ),
                None => {
                    let mut tx = Conn::PgTx(p.begin_with(backend::postgres::BEGIN_WRITE).await?);
                    backend::postgres::lock_write(&mut tx, club, item).await?;
                    tx
                }
            },
            Pool::Sqlite(_) => {
                let mut tx = self.writer.acquire().await?;
                // Marked open before BEGIN is sent: if this future is dropped midway,
                // the writer pool's release hook still ends whatever was started.
                self.open.store(true, Ordering::Release);
                sql::q("BEGIN IMMEDIATE").execute(&mut tx).await?;
                if batch.is_some() {
                    tx.execute_script("SAVEPOINT action".to_owned()).await?;
                }
                tx
            }
        };
        Ok(WriteTx {
            tx,
            open: self.open.clone(),
            audit_key: self.audit_key.clone(),
            head: self.head.clone(),
            recent: self.recent.clone(),
            in_action: batch.is_some(),
            #[cfg(feature = "bench-unaudited")]
            unaudited: self.unaudited.load(Ordering::Relaxed),
        })
    }

    /// Benchmarks only: commits stop appending to the audit chain.
    #[cfg(feature = "bench-unaudited")]
    pub fn set_unaudited_for_benchmarks(&self) {
        self.unaudited
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Closes both pools, flushing the WAL.
    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
}
