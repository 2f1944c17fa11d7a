//! Group commit for members' actions on one item of a club (an answer to an
//! occurrence): actions that arrive while an earlier batch commits share one
//! transaction, one audit append and one commit. Each runs inside a savepoint of its
//! own, so that one refused action leaves the others whole.
//!
//! Why: a commit costs more than an answer's own reads and writes. On SQLite each
//! commit waits for its flush to disk and extends the audit chain, one writer at a
//! time (batches took the audited answer rate from 990/s to 2,600/s); on PostgreSQL
//! BEGIN, the row-seal check, queueing the audit entry and COMMIT are a round trip
//! each.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

use tokio::sync::oneshot;

use crate::{Db, Result, StorageError, WriteTx, Written, backend, receipts};

/// The most actions one batch carries. PostgreSQL keeps the ids of up to 64
/// subtransactions per session in shared memory; past that, every snapshot other
/// sessions take has to look them up on disk.
const MAX_BATCH: usize = 32;

/// Batches committing at once per instance, on PostgreSQL. Actions on one item always
/// go to the same lane, so they never wait for each other's locks across lanes; lanes
/// of two instances may, and then wait in a global order (see [`run_batch`]). Four
/// measured best here (two instances on 2 cores: 1,180 answers/s against 1,060 with 16
/// lanes and 1,015 with 8; `docs/benchmarks.md`).
const PG_LANES: usize = 4;

/// What an action gives back to its batch: its result, and the audit events that say
/// what it changed.
pub type ActionFuture<'a, T, E> = Pin<
    Box<dyn Future<Output = std::result::Result<(T, Vec<tekkan_audit::Event>), E>> + Send + 'a>,
>;

type Events = Vec<tekkan_audit::Event>;

/// How an action's caller learns the end: its result and its audit entries, or why not.
type Reply<T, E> = oneshot::Sender<std::result::Result<(T, Vec<Written>), E>>;

/// One queued action, its types erased.
trait Job: Send {
    fn club(&self) -> &str;
    fn item(&self) -> &str;
    /// Runs the action; its events if it is to be kept, `None` if it was refused (and
    /// has already told its caller why).
    fn run<'a>(
        &'a mut self,
        tx: &'a mut WriteTx,
    ) -> Pin<Box<dyn Future<Output = Option<Events>> + Send + 'a>>;
    /// Tells the caller how the batch ended.
    fn finish(self: Box<Self>, written: Result<Vec<Written>>);
}

struct Action<T, E, F> {
    club: String,
    item: String,
    action: Option<F>,
    done: Option<T>,
    reply: Option<Reply<T, E>>,
}

impl<T, E, F> Job for Action<T, E, F>
where
    T: Send + 'static,
    E: From<StorageError> + Send + 'static,
    F: for<'a> FnOnce(&'a mut WriteTx) -> ActionFuture<'a, T, E> + Send + 'static,
{
    fn club(&self) -> &str {
        &self.club
    }

    fn item(&self) -> &str {
        &self.item
    }

    fn run<'a>(
        &'a mut self,
        tx: &'a mut WriteTx,
    ) -> Pin<Box<dyn Future<Output = Option<Events>> + Send + 'a>> {
        Box::pin(async move {
            let action = self.action.take()?;
            let refused = match action(tx).await {
                Ok((_, events)) if events.is_empty() => E::from(StorageError::Unaudited),
                Ok((out, events)) => {
                    self.done = Some(out);
                    return Some(events);
                }
                Err(e) => e,
            };
            if let Some(reply) = self.reply.take() {
                let _ = reply.send(Err(refused));
            }
            None
        })
    }

    fn finish(mut self: Box<Self>, written: Result<Vec<Written>>) {
        let Some(reply) = self.reply.take() else {
            return;
        };
        let outcome = match (self.done.take(), written) {
            (Some(out), Ok(w)) => Ok((out, w)),
            (_, Err(e)) => Err(E::from(e)),
            (None, Ok(_)) => Err(E::from(batch_failed("the action did not run"))),
        };
        let _ = reply.send(outcome);
    }
}

/// The queues of waiting actions, one per lane.
pub(crate) struct Lanes {
    lanes: Vec<Mutex<Lane>>,
}

#[derive(Default)]
struct Lane {
    waiting: VecDeque<Box<dyn Job>>,
    /// Whether a task is draining this lane.
    running: bool,
}

impl Lanes {
    pub(crate) fn new(postgres: bool) -> Self {
        // SQLite has one writer: a second lane would only wait for it.
        let n = if postgres { PG_LANES } else { 1 };
        Self {
            lanes: (0..n).map(|_| Mutex::default()).collect(),
        }
    }
}

impl Db {
    /// Runs `action` on `item` of `club` (as [`Db::begin_on`] would) inside a batch of
    /// such actions that commits together, and returns its result once the batch has
    /// committed, with the action's audit entries recorded for its receipts. An action
    /// that returns an error has its changes undone; the others in its batch keep
    /// theirs. `action` must not rely on anything outside the transaction it is given.
    pub async fn write_batched<T, E, F>(
        &self,
        club: &str,
        item: &str,
        action: F,
    ) -> std::result::Result<T, E>
    where
        T: Send + 'static,
        E: From<StorageError> + Send + 'static,
        F: for<'a> FnOnce(&'a mut WriteTx) -> ActionFuture<'a, T, E> + Send + 'static,
    {
        if let Some(reason) = self.writes_held() {
            return Err(StorageError::WritesHeld(reason).into());
        }
        let (reply, answer) = oneshot::channel();
        let job = Box::new(Action {
            club: club.to_owned(),
            item: item.to_owned(),
            action: Some(action),
            done: None,
            reply: Some(reply),
        });
        let lanes = &self.lanes.lanes;
        let ix = backend::postgres::key(item) as u32 as usize % lanes.len();
        let start = {
            let mut lane = lanes[ix]
                .lock()
                .map_err(|_| batch_failed("a batch lane was poisoned"))?;
            lane.waiting.push_back(job);
            !std::mem::replace(&mut lane.running, true)
        };
        if start {
            tokio::spawn(drain(self.clone(), ix));
        }
        match answer.await {
            Ok(Ok((out, written))) => {
                receipts::record(&written);
                Ok(out)
            }
            Ok(Err(e)) => Err(e),
            Err(_) => Err(batch_failed("the batch ended before it answered").into()),
        }
    }
}

/// Marks the lane idle if the draining task ends early (a panic in an action), and
/// hands what is still waiting to a new task.
struct Draining {
    db: Db,
    ix: usize,
    armed: bool,
}

impl Drop for Draining {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let Ok(mut lane) = self.db.lanes.lanes[self.ix].lock() else {
            return;
        };
        if lane.waiting.is_empty() {
            lane.running = false;
        } else {
            tokio::spawn(drain(self.db.clone(), self.ix));
        }
    }
}

async fn drain(db: Db, ix: usize) {
    let mut guard = Draining {
        db: db.clone(),
        ix,
        armed: true,
    };
    loop {
        let batch: Vec<Box<dyn Job>> = {
            let Ok(mut lane) = db.lanes.lanes[ix].lock() else {
                return;
            };
            if lane.waiting.is_empty() {
                // Under the lock: an action queued from now on starts a new task.
                lane.running = false;
                guard.armed = false;
                return;
            }
            let n = lane.waiting.len().min(MAX_BATCH);
            lane.waiting.drain(..n).collect()
        };
        run_batch(&db, batch).await;
    }
}

/// Runs one batch: every action in its savepoint, then one commit for those kept.
async fn run_batch(db: &Db, mut jobs: Vec<Box<dyn Job>>) {
    tracing::debug!(actions = jobs.len(), "batch of member actions");
    // Items' locks in one global order, so that batches of two instances never wait
    // for each other in a cycle. The sort is stable: actions on one item keep the order
    // they came in (who gets the last place).
    jobs.sort_by_key(|j| {
        (
            backend::postgres::key(j.club()),
            backend::postgres::key(j.item()),
        )
    });
    let mut kept: Vec<(Box<dyn Job>, usize)> = Vec::with_capacity(jobs.len());
    let mut events = Vec::new();
    let first = jobs
        .first()
        .map(|j| (j.club().to_owned(), j.item().to_owned()));
    let mut rest = jobs.into_iter();
    let outcome: Result<Option<WriteTx>> = async {
        let Some((club, item)) = &first else {
            return Ok(None);
        };
        // The first action's savepoint and locks come with BEGIN.
        let mut tx = db.begin_scoped(None, None, Some((club, item))).await?;
        for (i, mut job) in rest.by_ref().enumerate() {
            if i > 0
                && let Err(e) = tx.enter_action(job.club(), job.item()).await
            {
                job.finish(Err(e.shared()));
                return Err(e);
            }
            match job.run(&mut tx).await {
                Some(ev) => {
                    let n = ev.len();
                    events.extend(ev);
                    kept.push((job, n));
                }
                None => tx.undo_action().await?,
            }
        }
        Ok(Some(tx))
    }
    .await;
    let written = match outcome {
        Ok(Some(tx)) if !events.is_empty() => tx.commit_entries(events).await,
        // Every action was refused: nothing to commit (dropping rolls back).
        Ok(_) => Ok(Vec::new()),
        Err(e) => Err(e),
    };
    match written {
        Ok(written) => {
            let mut written = written.into_iter();
            for (job, n) in kept {
                job.finish(Ok(written.by_ref().take(n).collect()));
            }
        }
        Err(e) => {
            for job in kept.into_iter().map(|(j, _)| j).chain(rest) {
                job.finish(Err(e.shared()));
            }
        }
    }
}

fn batch_failed(why: &str) -> StorageError {
    StorageError::Shared {
        message: why.to_owned(),
        unavailable: false,
        disk_full: false,
    }
}

impl StorageError {
    /// The same failure again, for each action of a batch it ended: what it says, and
    /// whether it means "unavailable" or "disk full".
    fn shared(&self) -> StorageError {
        match self {
            StorageError::WritesHeld(why) => StorageError::WritesHeld(why.clone()),
            StorageError::Conflict(what) => StorageError::Conflict(what),
            other => StorageError::Shared {
                message: other.to_string(),
                unavailable: other.is_unavailable(),
                disk_full: other.is_disk_full(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_failure_keeps_its_meaning() {
        let gone = StorageError::Sqlx(sqlx::Error::PoolTimedOut);
        assert!(gone.shared().is_unavailable());
        assert!(!gone.shared().is_disk_full());
        let held = StorageError::WritesHeld("behind checkpoint".into());
        assert!(matches!(held.shared(), StorageError::WritesHeld(w) if w == "behind checkpoint"));
        // PostgreSQL's disk_full (SQLSTATE 53100) as the server sends it, and SQLite's.
        for code in ["53100", "13"] {
            let full = StorageError::Sqlx(sqlx::Error::Database(Box::new(Refused(code))));
            assert!(full.is_disk_full(), "{code}");
            assert!(full.shared().is_disk_full(), "{code}");
            assert!(!full.shared().is_unavailable(), "{code}");
        }
        let other = StorageError::Sqlx(sqlx::Error::Database(Box::new(Refused("23505"))));
        assert!(!other.shared().is_disk_full());
    }

    /// A database's refusal with an error code, as a driver reports it.
    #[derive(Debug)]
    struct Refused(&'static str);

    impl std::fmt::Display for Refused {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "refused with {}", self.0)
        }
    }

    impl std::error::Error for Refused {}

    impl sqlx::error::DatabaseError for Refused {
        fn message(&self) -> &str {
            "could not extend file"
        }
        fn code(&self) -> Option<std::borrow::Cow<'_, str>> {
            Some(self.0.into())
        }
        fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> sqlx::error::ErrorKind {
            sqlx::error::ErrorKind::Other
        }
    }
}
