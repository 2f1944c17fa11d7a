//! The audit chain's table: append inside a write transaction, read back for verifying.

use crate::sql::{Builder, Conn, Row, q, scalar};
use tekkan_audit::{Entry, Event, Hash, Head, from_hex, to_hex};

use crate::{Db, Result, StorageError};

/// The stored head: the last entry's sequence number and hash.
pub(crate) async fn read_head(conn: &mut Conn) -> Result<Option<(u64, Hash)>> {
    let head = q("SELECT seq, hash FROM audit_head WHERE id = 1")
        .fetch_optional(&mut *conn)
        .await?;
    match head {
        None => Ok(None),
        Some(row) => {
            let seq: i64 = row.try_get("seq")?;
            let hash: String = row.try_get("hash")?;
            let hash =
                from_hex(&hash).ok_or_else(|| StorageError::Corrupt("audit_head.hash".into()))?;
            Ok(Some((seq as u64, hash)))
        }
    }
}

/// Links `events` into the chain after `prev`, all stamped `now`.
pub(crate) fn chain(
    mut prev: Option<(u64, Hash)>,
    now: i64,
    events: impl IntoIterator<Item = Event>,
) -> Vec<Entry> {
    events
        .into_iter()
        .map(|ev| {
            let e = Entry::next(prev, now, ev);
            prev = Some((e.seq, e.hash));
            e
        })
        .collect()
}

/// Rows per multi-row INSERT: 13 binds each stays far below SQLite's variable limit.
const ROWS_PER_INSERT: usize = 1000;

/// Inserts `entries` (with their content hashes when `with_content`: entries whose
/// authors hold promises), moves the head to the last (a trigger writes `audit_head` from
/// each row's `head_mac`) and commits, in one statement list: the audit chain costs a
/// write no extra round trip to the database. Sequence numbers are the primary key, so
/// an entry appended by someone else meanwhile makes this fail with a conflict, before
/// the COMMIT, rather than fork the chain.
pub(crate) async fn append_and_commit(
    conn: &mut Conn,
    key: &[u8],
    entries: &[Entry],
    with_content: bool,
) -> Result<()> {
    let last = entries.len().div_ceil(ROWS_PER_INSERT).saturating_sub(1);
    for (i, chunk) in entries.chunks(ROWS_PER_INSERT).enumerate() {
        let mut b = Builder::new(
            "INSERT INTO audit_log (seq, ts_ms, actor_account, actor_session, club_id, action, \
             target, change_digest, ip, user_agent, prev_hash, hash, format, head_mac, \
             content_hash) ",
        );
        let end = chunk.last().map(|e| e.seq);
        b.push_values(chunk.iter(), |mut row, entry| {
            let e = &entry.event;
            // Only the chunk's last entry moves the head: one update of audit_head per
            // statement, not one per entry.
            let head = (Some(entry.seq) == end)
                .then(|| to_hex(&Head::new(key, entry.seq, entry.hash).mac));
            row.push_bind(entry.seq as i64)
                .push_bind(entry.ts_ms)
                .push_bind(e.actor_account.clone())
                .push_bind(e.actor_session.clone())
                .push_bind(e.club.clone())
                .push_bind(e.action.clone())
                .push_bind(e.target.clone())
                .push_bind(to_hex(&e.change_digest))
                .push_bind(e.ip.clone())
                .push_bind(e.user_agent.clone())
                .push_bind(to_hex(&entry.prev_hash))
                .push_bind(to_hex(&entry.hash))
                .push_bind(i64::from(entry.format.number()))
                .push_bind(head)
                .push_bind(with_content.then(|| to_hex(&entry.content_hash())));
        });
        // SQLite: the COMMIT travels with the last insert. PostgreSQL takes one statement
        // per query; its transaction is committed by the caller.
        if i == last && !conn.is_postgres() {
            b.push("; COMMIT");
        }
        b.build()
            .execute(&mut *conn)
            .await
            .map_err(crate::conflict("audit_log"))?;
    }
    Ok(())
}

fn bad(what: &str, seq: i64) -> StorageError {
    StorageError::Corrupt(format!("audit entry {seq}: its {what} is malformed"))
}

/// An audit entry as listed for people (club officers, the operator).
#[derive(Debug, Clone)]
pub struct AuditRow {
    pub seq: i64,
    pub ts_ms: i64,
    pub actor_account: Option<String>,
    /// The actor's current display name (`None` for a deleted person or the system).
    pub actor_name: Option<String>,
    pub action: String,
    pub target: String,
}

/// The stored columns of an entry, each prefixed with `$p` (a table alias or ""), in the
/// order [`entry_from_row`] reads them: by position, which skips a lookup by name for
/// every column of every row when the checkpointer or an export reads thousands.
macro_rules! entry_columns {
    ($p:literal) => {
        concat!(
            $p,
            "seq, ",
            $p,
            "ts_ms, ",
            $p,
            "actor_account, ",
            $p,
            "actor_session, ",
            $p,
            "club_id, ",
            $p,
            "action, ",
            $p,
            "target, ",
            $p,
            "change_digest, ",
            $p,
            "ip, ",
            $p,
            "user_agent, ",
            $p,
            "prev_hash, ",
            $p,
            "hash, ",
            $p,
            "format"
        )
    };
}
pub(crate) use entry_columns;

/// An entry as stored, selected with [`entry_columns`]; malformed hex is corruption of
/// that entry, not skipped.
pub(crate) fn entry_from_row(r: &Row) -> Result<Entry> {
    let seq: i64 = r.try_get(0)?;
    let hex = |i: usize, col: &str| -> Result<[u8; 32]> {
        let s: String = r.try_get(i)?;
        from_hex(&s).ok_or_else(|| bad(col, seq))
    };
    Ok(Entry {
        seq: seq as u64,
        ts_ms: r.try_get(1)?,
        event: Event {
            actor_account: r.try_get(2)?,
            actor_session: r.try_get(3)?,
            club: r.try_get(4)?,
            action: r.try_get(5)?,
            target: r.try_get(6)?,
            change_digest: hex(7, "change_digest")?,
            ip: r.try_get(8)?,
            user_agent: r.try_get(9)?,
        },
        prev_hash: hex(10, "prev_hash")?,
        hash: hex(11, "hash")?,
        format: tekkan_audit::Format::from_number(r.try_get(12)?)
            .ok_or_else(|| bad("format", seq))?,
    })
}

impl Db {
    /// A check of the storage itself, on a reader (so writers go on): the problems
    /// found, empty when sound. SQLite: its quick check of every table's and index's
    /// b-tree. PostgreSQL: the data-page checksum failures the server has counted in
    /// this database, and, where the `amcheck` extension is installed, a check of every
    /// b-tree index of TEKKAN's tables.
    pub async fn quick_check(&self) -> Result<Vec<String>> {
        if !self.reader.is_postgres() {
            let rows: Vec<String> = scalar("PRAGMA quick_check").fetch_all(&self.reader).await?;
            return Ok(rows.into_iter().filter(|r| r != "ok").collect());
        }
        let mut problems = Vec::new();
        let failures: Option<i64> = scalar(
            "SELECT checksum_failures FROM pg_stat_database WHERE datname = current_database()",
        )
        .fetch_optional(&self.reader)
        .await?
        .flatten();
        if let Some(n) = failures.filter(|n| *n > 0) {
            problems.push(format!("{n} data page checksum failures"));
        }
        let amcheck: i64 = scalar("SELECT COUNT(*) FROM pg_extension WHERE extname = 'amcheck'")
            .fetch_one(&self.reader)
            .await?;
        if amcheck > 0 {
            let indexes: Vec<String> = scalar(
                "SELECT c.relname::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
                 JOIN pg_am a ON a.oid = c.relam JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE a.amname = 'btree' AND n.nspname = current_schema()",
            )
            .fetch_all(&self.reader)
            .await?;
            for name in indexes {
                if let Err(e) = q("SELECT bt_index_check($1::regclass)")
                    .bind(name.as_str())
                    .execute(&self.reader)
                    .await
                {
                    problems.push(format!("index {name}: {e}"));
                }
            }
        }
        Ok(problems)
    }

    /// Every entry in sequence order, as stored, for the verifier. Malformed hex is
    /// reported as corruption of that entry rather than skipped.
    pub async fn audit_entries(&self) -> Result<Vec<Entry>> {
        self.audit_entries_from(1, i64::MAX).await
    }

    /// Up to `limit` entries from sequence number `from` on, in order.
    pub async fn audit_entries_from(&self, from: i64, limit: i64) -> Result<Vec<Entry>> {
        let rows = q(concat!(
            "SELECT ",
            entry_columns!(""),
            " FROM audit_log WHERE seq >= $1 ORDER BY seq LIMIT $2"
        ))
        .bind(from)
        .bind(limit)
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(entry_from_row).collect()
    }

    /// The stored head, if any entry was ever written.
    pub async fn audit_head(&self) -> Result<Option<Head>> {
        let Some(r) = q("SELECT seq, hash, mac FROM audit_head WHERE id = 1")
            .fetch_optional(&self.reader)
            .await?
        else {
            return Ok(None);
        };
        let seq: i64 = r.try_get("seq")?;
        let hash: String = r.try_get("hash")?;
        let mac: String = r.try_get("mac")?;
        Ok(Some(Head {
            seq: seq as u64,
            hash: from_hex(&hash).ok_or_else(|| bad("head hash", seq))?,
            mac: from_hex(&mac).ok_or_else(|| bad("head mac", seq))?,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(n: u32) -> Event {
        Event {
            actor_account: None,
            actor_session: None,
            club: None,
            action: "test.write".into(),
            target: format!("thing:{n}"),
            change_digest: Event::digest(&n.to_be_bytes()),
            ip: None,
            user_agent: None,
        }
    }

    /// Two processes (here two handles on one file) append in turns: each one's cached
    /// head goes stale, is caught by the sequence number, and the chain stays one chain.
    #[tokio::test]
    async fn writers_in_two_processes_keep_one_chain() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sqlite3");
        let key = b"k".to_vec();
        let a = Db::open(&path, key.clone()).await.unwrap();
        let b = Db::open(&path, key.clone()).await.unwrap();
        for n in 0..6 {
            let db = if n % 2 == 0 { &a } else { &b };
            let tx = db.begin().await.unwrap();
            tx.commit(vec![event(n), event(n + 100)]).await.unwrap();
        }
        let entries = a.audit_entries().await.unwrap();
        assert_eq!(entries.len(), 12);
        let report =
            tekkan_audit::verify(entries, a.audit_head().await.unwrap(), Some(&key)).unwrap();
        assert_eq!(report.entries, 12);
    }

    /// A write dropped before its commit, at any point (an error, or a request whose
    /// client went away mid-statement), leaves nothing behind and never leaves the one
    /// writer connection inside a stale transaction.
    #[tokio::test]
    async fn dropped_and_cancelled_writes_roll_back_and_the_writer_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let key = b"k".to_vec();
        let db = Db::open(&dir.path().join("t.sqlite3"), key.clone())
            .await
            .unwrap();
        q("CREATE TABLE t (x INTEGER)")
            .execute(&db.writer)
            .await
            .unwrap();
        let count = |db: Db| async move {
            scalar::<i64>("SELECT COUNT(*) FROM t")
                .fetch_one(&db.reader)
                .await
                .unwrap()
        };
        // Dropped after a write.
        let mut tx = db.begin().await.unwrap();
        q("INSERT INTO t VALUES (1)")
            .execute(&mut tx.tx)
            .await
            .unwrap();
        drop(tx);
        // Cancelled at every poll of BEGIN, of a statement and of the commit.
        // Deadlines grow from nothing to tens of milliseconds, so that on a loaded
        // machine too some steps are cut short and some get through.
        for n in 0..60u32 {
            let step = async {
                let mut tx = db.begin().await.unwrap();
                q("INSERT INTO t VALUES (2)")
                    .execute(&mut tx.tx)
                    .await
                    .unwrap();
                tx.commit(vec![event(n)]).await.unwrap();
            };
            let deadline = std::time::Duration::from_micros(u64::from(n * n) * 20);
            let _ = tokio::time::timeout(deadline, step).await;
        }
        // Whatever got through is whole: as many rows as entries, and one chain.
        let tx = db.begin().await.unwrap();
        tx.commit(vec![event(99)]).await.unwrap();
        let entries = db.audit_entries().await.unwrap();
        assert!(
            (2..61).contains(&entries.len()),
            "some steps were cut short and some got through: {}",
            entries.len()
        );
        assert_eq!(count(db.clone()).await as usize, entries.len() - 1);
        tekkan_audit::verify(entries, db.audit_head().await.unwrap(), Some(&key)).unwrap();
        // The writer is usable outside a WriteTx too, and not inside a transaction.
        q("INSERT INTO t VALUES (3)")
            .execute(&db.writer)
            .await
            .unwrap();
        assert_eq!(
            count(db.clone()).await as usize,
            db.audit_entries().await.unwrap().len()
        );
    }
}
