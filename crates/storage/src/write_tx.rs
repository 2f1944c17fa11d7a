//! [`WriteTx`]: an open write transaction, committed only together with the audit
//! entries that describe it; and [`Written`], what the author of a write gets back.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::sql::Conn;
use crate::{Result, StorageError, audit_log, audit_queue, now_ms, receipts, recent, row_seals};

/// An open write transaction. Dropping it rolls back (in the writer pool's release
/// hook); [`WriteTx::commit`] appends the audit events and commits everything at once.
pub struct WriteTx {
    pub(crate) tx: Conn,
    pub(crate) open: Arc<AtomicBool>,
    pub(crate) audit_key: Arc<[u8]>,
    pub(crate) head: Arc<std::sync::Mutex<Option<(u64, tekkan_audit::Hash)>>>,
    pub(crate) recent: recent::Recent,
    /// Inside a batch: whether an action's savepoint is open (see [`crate::batch`]).
    pub(crate) in_action: bool,
    #[cfg(feature = "bench-unaudited")]
    pub(crate) unaudited: bool,
}

impl WriteTx {
    fn set_head(&self, h: Option<(u64, tekkan_audit::Hash)>) {
        if let Ok(mut g) = self.head.lock() {
            *g = h;
        }
    }

    /// Starts the next action of a batch: its savepoint, and on PostgreSQL its item's
    /// locks. The previous action's savepoint is released (its changes kept).
    pub(crate) async fn enter_action(&mut self, club: &str, item: &str) -> Result<()> {
        let release = std::mem::replace(&mut self.in_action, true);
        let script = if self.tx.is_postgres() {
            crate::backend::postgres::action_script(club, item, release)
        } else if release {
            "RELEASE SAVEPOINT action; SAVEPOINT action".to_owned()
        } else {
            "SAVEPOINT action".to_owned()
        };
        self.tx.execute_script(script).await?;
        Ok(())
    }

    /// Undoes what the current action of a batch changed.
    pub(crate) async fn undo_action(&mut self) -> Result<()> {
        self.tx
            .execute_script("ROLLBACK TO SAVEPOINT action".to_owned())
            .await?;
        Ok(())
    }

    /// Appends `events` to the audit chain and commits. Refuses an empty list: every
    /// state change must say what it was.
    pub async fn commit(self, events: Vec<tekkan_audit::Event>) -> Result<()> {
        self.commit_entries(events).await.map(|_| ())
    }

    /// Like [`WriteTx::commit`], and returns each audit entry written: what a receipt a
    /// person can later point to is made from.
    pub async fn commit_entries(
        mut self,
        events: Vec<tekkan_audit::Event>,
    ) -> Result<Vec<Written>> {
        if events.is_empty() {
            return Err(StorageError::Unaudited);
        }
        #[cfg(feature = "bench-unaudited")]
        if self.unaudited {
            row_seals::reseal(&mut self.tx, &self.audit_key).await?;
            self.tx.commit().await?;
            self.open.store(false, Ordering::Release);
            return Ok(Vec::new());
        }
        row_seals::reseal(&mut self.tx, &self.audit_key).await?;
        let now = now_ms();
        if self.tx.is_postgres() {
            // Several instances write at once: the entries wait in the queue for the
            // integrator, and the author gets a promise over each entry's content.
            let contents =
                audit_queue::enqueue(&mut self.tx, &self.audit_key, now, &events).await?;
            // sqlx's commit takes the transaction.
            let WriteTx { tx, .. } = self;
            tx.commit().await?;
            let out: Vec<Written> = contents
                .into_iter()
                .map(|content| Written::Queued {
                    content,
                    ts_ms: now,
                })
                .collect();
            receipts::record(&out);
            return Ok(out);
        }
        let cached = self.head.lock().ok().and_then(|h| *h);
        // Forget the cached head until this commit succeeds.
        self.set_head(None);
        let prev = match cached {
            Some(h) => Some(h),
            None => audit_log::read_head(&mut self.tx).await?,
        };
        let mut entries = audit_log::chain(prev, now, events);
        match audit_log::append_and_commit(&mut self.tx, &self.audit_key, &entries, false).await {
            Ok(()) => {}
            Err(StorageError::Conflict(_)) if cached.is_some() => {
                // Another process appended since this one last did: link to its entry.
                let prev = audit_log::read_head(&mut self.tx).await?;
                entries = audit_log::chain(prev, now, entries.into_iter().map(|e| e.event));
                audit_log::append_and_commit(&mut self.tx, &self.audit_key, &entries, false)
                    .await?;
            }
            Err(e) => return Err(e),
        }
        self.open.store(false, Ordering::Release);
        let out: Vec<Written> = entries
            .iter()
            .map(|e| Written::Placed {
                seq: e.seq as i64,
                hash: e.hash,
            })
            .collect();
        self.set_head(entries.last().map(|e| (e.seq, e.hash)));
        self.recent.push(entries);
        receipts::record(&out);
        Ok(out)
    }
}

/// An audit entry a write committed, as its author gets it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// Linked at commit (SQLite's single writer): its sequence number and chain hash.
    Placed { seq: i64, hash: tekkan_audit::Hash },
    /// Queued for the integrator (PostgreSQL): its content hash and commit time.
    Queued {
        content: tekkan_audit::Hash,
        ts_ms: i64,
    },
}
