//! Audit entries that wait for a position (PostgreSQL), and the integrator that links
//! them into the one chain. Writes on several instances commit their entries here
//! without contending for the chain's head; one integrator at a time takes what is
//! committed, in queue order, links it after the head, and deletes exactly the rows it
//! linked, in one transaction.

use subtle::ConstantTimeEq;
use tekkan_audit::{Entry, Event, Hash, content_hash, from_hex, queued_mac, to_hex};

use crate::sql::{Builder, Conn, Pool, Row, q, scalar};
use crate::{Db, Result, StorageError, audit_log};

/// The promise every receipt of a queued entry carries: its entry has a position in the
/// chain within this many milliseconds of its commit while any instance runs (each
/// integrates every [`INTEGRATE_EVERY_MS`]; a batch takes far less than a second on
/// this machine). A signed checkpoint covers it at most one checkpoint interval later.
pub const MAX_MERGE_DELAY_MS: u64 = 5_000;

/// How often each instance looks for queued entries.
pub const INTEGRATE_EVERY_MS: u64 = 50;

/// The advisory lock an integration holds: one integrator at a time across instances.
const INTEGRATE_LOCK: i64 = 0x7e6b_616e_0003;

/// Entries linked per transaction.
const BATCH: i64 = 5_000;

/// What an integration did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Integrated {
    /// Entries given a position.
    pub linked: usize,
    /// Queued rows whose MAC did not match (slipped in without the key, or edited in
    /// the queue): never linked as they are; each is replaced in the chain by an
    /// `audit.queue_forgery` entry that names its queue id and content hash.
    pub forged: Vec<i64>,
}

/// Puts `events` in the queue, in the write's own transaction; returns each one's
/// content hash (what the receipt promises).
pub(crate) async fn enqueue(
    conn: &mut Conn,
    key: &[u8],
    ts_ms: i64,
    events: &[Event],
) -> Result<Vec<Hash>> {
    let contents: Vec<Hash> = events.iter().map(|e| content_hash(ts_ms, e)).collect();
    let mut b = Builder::new(
        "INSERT INTO audit_queue (ts_ms, actor_account, actor_session, club_id, action, \
         target, change_digest, ip, user_agent, mac) ",
    );
    b.push_values(events.iter().zip(&contents), |mut row, (e, c)| {
        row.push_bind(ts_ms)
            .push_bind(e.actor_account.clone())
            .push_bind(e.actor_session.clone())
            .push_bind(e.club.clone())
            .push_bind(e.action.clone())
            .push_bind(e.target.clone())
            .push_bind(to_hex(&e.change_digest))
            .push_bind(e.ip.clone())
            .push_bind(e.user_agent.clone())
            .push_bind(to_hex(&queued_mac(key, c)));
    });
    b.build().execute(&mut *conn).await?;
    Ok(contents)
}

fn queued(r: &Row) -> Result<(i64, i64, Event, String)> {
    let id: i64 = r.try_get(0)?;
    let digest: String = r.try_get(7)?;
    let event = Event {
        actor_account: r.try_get(2)?,
        actor_session: r.try_get(3)?,
        club: r.try_get(4)?,
        action: r.try_get(5)?,
        target: r.try_get(6)?,
        // A digest that is not a hash cannot have a valid MAC either: it is named as
        // forged below rather than failing the whole batch.
        change_digest: from_hex(&digest).unwrap_or_default(),
        ip: r.try_get(8)?,
        user_agent: r.try_get(9)?,
    };
    Ok((id, r.try_get(1)?, event, r.try_get(10)?))
}

impl Db {
    /// Links the committed queued entries into the chain. `wait`: wait for another
    /// instance's integration to end (a reader that must see every committed entry);
    /// otherwise return at once when one is running (the periodic run). Nothing on
    /// SQLite, whose writes link their entries at once, and nothing while writes are held.
    pub async fn integrate(&self, wait: bool) -> Result<Integrated> {
        if !self.writer.is_postgres() {
            return Ok(Integrated::default());
        }
        self.integrate_all(wait).await
    }

    /// Links what a database moved from PostgreSQL brought in its queue (entries
    /// committed there but not yet linked when it was copied), when SQLite opens it:
    /// their promises hold on the new engine too.
    pub(crate) async fn integrate_moved(&self) -> Result<Integrated> {
        self.integrate_all(true).await
    }

    async fn integrate_all(&self, wait: bool) -> Result<Integrated> {
        let mut done = Integrated::default();
        if self.writes_held().is_some() {
            return Ok(done);
        }
        loop {
            let (linked, forged, full) = self.integrate_batch(wait).await?;
            for id in &forged {
                tracing::error!(
                    security_event = "audit_queue_forged",
                    queue_id = id,
                    "SECURITY EVENT: a queued audit entry without a valid MAC was refused; \
                     the chain records the refusal in its place"
                );
            }
            done.linked += linked;
            done.forged.extend(forged);
            if !full {
                return Ok(done);
            }
        }
    }

    /// One transaction: (entries linked, forged rows, whether a full batch was taken).
    async fn integrate_batch(&self, wait: bool) -> Result<(usize, Vec<i64>, bool)> {
        // Most runs find nothing: answered without a transaction.
        let any: bool = scalar("SELECT EXISTS (SELECT 1 FROM audit_queue)")
            .fetch_one(&self.writer)
            .await?;
        if !any {
            return Ok((0, Vec::new(), false));
        }
        let pool = match &self.writer {
            Pool::Postgres(pool) => pool,
            Pool::Sqlite(_) => {
                // Only when SQLite opens a moved database: nothing else writes yet.
                let mut tx = self.writer.acquire().await?;
                q("BEGIN IMMEDIATE").execute(&mut tx).await?;
                let r = self.link_queued(&mut tx).await;
                // The append commits what it links; anything else is undone.
                if !matches!(r, Ok((n, _, _)) if n > 0) {
                    let _ = q("ROLLBACK").execute(&mut tx).await;
                }
                return r;
            }
        };
        let mut tx = Conn::PgTx(pool.begin().await?);
        if wait {
            q("SELECT pg_advisory_xact_lock($1)")
                .bind(INTEGRATE_LOCK)
                .execute(&mut tx)
                .await?;
        } else {
            let got: bool = scalar("SELECT pg_try_advisory_xact_lock($1)")
                .bind(INTEGRATE_LOCK)
                .fetch_one(&mut tx)
                .await?;
            if !got {
                return Ok((0, Vec::new(), false));
            }
        }
        let r = self.link_queued(&mut tx).await?;
        tx.commit().await?;
        Ok(r)
    }

    /// Links a batch of queued entries inside `tx`, a write transaction (on SQLite the
    /// append commits it; on PostgreSQL the caller does).
    async fn link_queued(&self, tx: &mut Conn) -> Result<(usize, Vec<i64>, bool)> {
        let rows = q(
            "SELECT id, ts_ms, actor_account, actor_session, club_id, action, target, \
             change_digest, ip, user_agent, mac FROM audit_queue ORDER BY id LIMIT $1",
        )
        .bind(BATCH)
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            return Ok((0, Vec::new(), false));
        }
        let full = rows.len() as i64 == BATCH;
        let mut ids = Vec::with_capacity(rows.len());
        let mut items = Vec::with_capacity(rows.len());
        let mut forged = Vec::new();
        for r in &rows {
            let (id, ts_ms, event, mac) = queued(r)?;
            let content = content_hash(ts_ms, &event);
            let expected = to_hex(&queued_mac(&self.audit_key, &content));
            ids.push(id);
            if bool::from(expected.as_bytes().ct_eq(mac.as_bytes())) {
                items.push((ts_ms, event));
            } else {
                forged.push(id);
                items.push((ts_ms, forgery(id, &content)));
            }
        }
        // Taken off the queue first: on SQLite the append below commits.
        let mut b = Builder::new("DELETE FROM audit_queue WHERE id IN (");
        let mut list = b.separated(", ");
        for id in &ids {
            list.push_bind(*id);
        }
        b.push(")");
        let deleted = b.build().execute(&mut *tx).await?;
        if deleted.rows_affected() as usize != ids.len() {
            // Another integrator took some of them: nothing of this one is kept.
            return Err(StorageError::Conflict("audit_queue"));
        }
        let prev = audit_log::read_head(tx).await?;
        let entries = link(prev, items);
        audit_log::append_and_commit(tx, &self.audit_key, &entries, true).await?;
        let linked = entries.len();
        self.recent.push(entries);
        Ok((linked, forged, full))
    }

    /// Where the entry a promise was given for sits: (sequence number, the hash it links
    /// to), once it has its position. Entries committed so far are integrated first.
    pub async fn locate_content(&self, content: &Hash) -> Result<Option<(u64, Hash)>> {
        self.integrate(true).await?;
        let row =
            q("SELECT seq, prev_hash FROM audit_log WHERE content_hash = $1 ORDER BY seq LIMIT 1")
                .bind(to_hex(content))
                .fetch_optional(&self.reader)
                .await?;
        let Some(r) = row else { return Ok(None) };
        let seq: i64 = r.try_get(0)?;
        let prev: String = r.try_get(1)?;
        let prev = from_hex(&prev)
            .ok_or_else(|| StorageError::Corrupt(format!("audit entry {seq}: prev_hash")))?;
        Ok(Some((seq as u64, prev)))
    }
}

/// What takes a forged row's place in the chain: the rejection itself, naming it.
fn forgery(id: i64, content: &Hash) -> Event {
    Event {
        actor_account: None,
        actor_session: None,
        club: None,
        action: "audit.queue_forgery".into(),
        target: format!("audit_queue:{id}"),
        change_digest: *content,
        ip: None,
        user_agent: None,
    }
}

/// Links `items` (each with its own commit time) after `prev`.
fn link(mut prev: Option<(u64, Hash)>, items: Vec<(i64, Event)>) -> Vec<Entry> {
    items
        .into_iter()
        .map(|(ts_ms, event)| {
            let e = Entry::next(prev, ts_ms, event);
            prev = Some((e.seq, e.hash));
            e
        })
        .collect()
}
