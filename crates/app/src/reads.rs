//! Who accessed what: reads of sensitive data go into the audit log, naming what was
//! read but never the values. Searching the trail and "who viewed my data" live here too.
//!
//! Two kinds of read, two promises:
//! - **Sensitive reads** (personal fields, health notes among them; attendance reports,
//!   which are downloaded; searches of the audit trail; the exports, which write their
//!   own entries) are committed before the data leaves the server: if the entry cannot
//!   be written, the data is not served.
//! - **Other recorded reads** (officers' rosters) are queued and written in batches by a
//!   background task, so that viewing a page never waits for the disk. The queue is
//!   bounded, a full queue makes readers wait rather than drop entries, and it is drained
//!   at shutdown. A `kill -9` loses at most the queue and the batch being written:
//!   [`READS_AT_RISK`] reads, in practice those of the last few milliseconds.

use serde::Serialize;
use tekkan_audit::Event;
use tekkan_core::{ClubId, Permission};
use tekkan_storage::{AuditQuery, AuditRow, ViewRow};
use tokio::sync::{Mutex, mpsc, watch};

use crate::{Actor, App, AppError, Result};

/// Queued reads before readers wait.
const QUEUE: usize = 512;
/// Reads written per transaction at most.
const BATCH: usize = 256;
/// The most queued reads a `kill -9` can lose: every read served before it was either
/// written, in the batch being written, or in the queue.
pub const READS_AT_RISK: usize = QUEUE + BATCH;

pub(crate) struct ReadLog {
    tx: mpsc::Sender<Event>,
    rx: Mutex<Option<mpsc::Receiver<Event>>>,
}

impl Default for ReadLog {
    fn default() -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        Self {
            tx,
            rx: Mutex::new(Some(rx)),
        }
    }
}

/// One line of an audit search, with the actor's name when known.
#[derive(Debug, Clone, Serialize)]
pub struct AuditLine {
    pub seq: i64,
    pub ts_ms: i64,
    pub actor_account: Option<String>,
    pub actor_name: Option<String>,
    pub action: String,
    pub target: String,
}

/// Filters as people give them.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub before_seq: Option<i64>,
    pub limit: Option<i64>,
}

impl App {
    /// Records a sensitive read durably: returns once committed, and fails (so that
    /// nothing is served) when the entry cannot be written.
    pub(crate) async fn audit_read_now(
        &self,
        actor: &Actor,
        club: Option<ClubId>,
        action: &str,
        target: String,
        what: &impl Serialize,
    ) -> Result<()> {
        self.check_step_up(actor).await?;
        self.observe_sensitive_read(actor, action, &target);
        let tx = self.db().begin().await?;
        tx.commit(vec![actor.event(club, action, target, what)])
            .await?;
        Ok(())
    }

    /// Records that `actor` read something (not among the sensitive reads). Returns once
    /// queued.
    pub(crate) async fn audit_read(
        &self,
        actor: &Actor,
        club: Option<ClubId>,
        action: &str,
        target: String,
        what: &impl Serialize,
    ) {
        self.observe_sensitive_read(actor, action, &target);
        let ev = actor.event(club, action, target, what);
        if self.inner.reads.tx.send(ev).await.is_err() {
            tracing::error!(action, "read log closed: a read went unrecorded");
        }
    }

    /// Writes queued reads until `stop`, then drains the queue. Runs once per process.
    pub async fn run_read_log(&self, mut stop: watch::Receiver<bool>) {
        let Some(mut rx) = self.inner.reads.rx.lock().await.take() else {
            return;
        };
        loop {
            let first = tokio::select! {
                ev = rx.recv() => ev,
                _ = stop.changed() => None,
            };
            let Some(first) = first else { break };
            let mut batch = vec![first];
            while batch.len() < BATCH {
                match rx.try_recv() {
                    Ok(ev) => batch.push(ev),
                    Err(_) => break,
                }
            }
            self.write_reads(batch).await;
        }
        rx.close();
        let mut rest = Vec::new();
        while let Ok(ev) = rx.try_recv() {
            rest.push(ev);
        }
        for chunk in rest.chunks(BATCH) {
            self.write_reads(chunk.to_vec()).await;
        }
    }

    async fn write_reads(&self, batch: Vec<Event>) {
        let n = batch.len();
        let r = async {
            let tx = self.db().begin().await?;
            tx.commit(batch).await
        }
        .await;
        if let Err(e) = r {
            tracing::error!(error = %e, reads = n, "writing reads to the audit log failed");
        }
    }

    async fn lines(&self, q: AuditQuery) -> Result<Vec<AuditLine>> {
        let rows: Vec<AuditRow> = self.db().search_audit(&q).await?;
        Ok(rows
            .into_iter()
            .map(|r| AuditLine {
                seq: r.seq,
                ts_ms: r.ts_ms,
                actor_account: r.actor_account,
                actor_name: r.actor_name,
                action: r.action,
                target: r.target,
            })
            .collect())
    }

    fn query(f: AuditFilter, club: Option<String>) -> Result<AuditQuery> {
        if f.from_ms.zip(f.to_ms).is_some_and(|(a, b)| a > b) {
            return Err(AppError::Conflict("from_after_to"));
        }
        Ok(AuditQuery {
            club,
            actor: f.actor,
            action: f.action,
            from_ms: f.from_ms,
            to_ms: f.to_ms,
            before_seq: f.before_seq,
            limit: f.limit.unwrap_or(100).clamp(1, 500),
        })
    }

    /// Owners and officers search their club's trail. `actor` is a membership id of
    /// the club (the person behind it), never an arbitrary account.
    pub async fn search_club_audit(
        &self,
        actor: &Actor,
        club: ClubId,
        mut f: AuditFilter,
    ) -> Result<Vec<AuditLine>> {
        self.authorize(actor, club, Permission::ViewAudit).await?;
        if let Some(m) = f.actor.take() {
            let id = tekkan_core::MembershipId::parse(&m).ok_or(AppError::NotFound)?;
            let m = self.db().membership_by_id(club, id).await?;
            f.actor = Some(m.ok_or(AppError::NotFound)?.account_id.to_string());
        }
        let q = Self::query(f, Some(club.to_string()))?;
        self.audit_search_read(actor, Some(club), format!("club:{club}"), &q)
            .await?;
        self.lines(q).await
    }

    /// The operator searches everything, optionally one club; `actor` is an account id.
    pub async fn search_all_audit(
        &self,
        actor: &Actor,
        f: AuditFilter,
        club: Option<String>,
    ) -> Result<Vec<AuditLine>> {
        if !actor.is_operator {
            return Err(AppError::Forbidden);
        }
        let q = Self::query(f, club)?;
        let target = q
            .club
            .as_ref()
            .map_or_else(|| "audit:all".to_owned(), |c| format!("club:{c}"));
        self.audit_search_read(actor, None, target, &q).await?;
        self.lines(q).await
    }

    /// A search of the trail is itself a sensitive read (it shows who did what, and who
    /// viewed whom): recorded, with its filters, before any line is returned.
    async fn audit_search_read(
        &self,
        actor: &Actor,
        club: Option<ClubId>,
        target: String,
        q: &AuditQuery,
    ) -> Result<()> {
        let filters = (
            &q.actor,
            &q.action,
            q.from_ms,
            q.to_ms,
            q.before_seq,
            q.limit,
        );
        self.audit_read_now(actor, club, "audit.searched", target, &filters)
            .await
    }

    /// Who read my personal fields, and the rosters and reports that showed my data,
    /// newest first.
    pub async fn who_viewed_me(&self, actor: &Actor) -> Result<Vec<ViewRow>> {
        Ok(self.db().views_of(&actor.account.to_string(), 200).await?)
    }
}
