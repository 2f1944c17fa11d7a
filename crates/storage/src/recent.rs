//! The entries this process has just committed, kept in memory for the checkpointer, so
//! that adding them to the Merkle tree does not read back what was written a moment ago.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tekkan_audit::Entry;

use crate::{Db, Result};

/// At most this many entries wait in memory; older ones are dropped and read from the
/// database instead (a checkpointer that fell behind, or none running).
const CAPACITY: usize = 50_000;

/// Committed entries in sequence order, possibly with gaps where another process (or a
/// commit whose caller went away) wrote.
#[derive(Clone, Default)]
pub(crate) struct Recent(Arc<Mutex<VecDeque<Entry>>>);

impl Recent {
    /// Remembers entries just committed.
    pub(crate) fn push(&self, entries: Vec<Entry>) {
        let Ok(mut q) = self.0.lock() else { return };
        // A gap (another process appended): what came before it is read from the
        // database anyway, so only the newest run is worth keeping.
        if let (Some(last), Some(first)) = (q.back(), entries.first())
            && last.seq + 1 != first.seq
        {
            q.clear();
        }
        q.extend(entries);
        while q.len() > CAPACITY {
            q.pop_front();
        }
    }

    /// Up to `max` entries starting exactly at `from`, or none if `from` is not held.
    fn take(&self, from: u64, max: usize) -> Vec<Entry> {
        let Ok(mut q) = self.0.lock() else {
            return Vec::new();
        };
        while q.front().is_some_and(|e| e.seq < from) {
            q.pop_front();
        }
        if q.front().is_none_or(|e| e.seq != from) {
            return Vec::new();
        }
        let n = q.len().min(max);
        q.drain(..n).collect()
    }
}

impl Db {
    /// Up to `limit` entries from sequence number `from` on, in order: from memory when
    /// this process wrote them, else from the database. What comes from memory is what
    /// was committed, byte for byte, so the checkpointer may sign it without reading it
    /// back; it still re-checks every hash and link.
    pub async fn new_audit_entries(&self, from: u64, limit: usize) -> Result<Vec<Entry>> {
        let held = self.recent.take(from, limit);
        if !held.is_empty() {
            return Ok(held);
        }
        self.audit_entries_from(from as i64, limit as i64).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tekkan_audit::Event;

    fn entries(seqs: std::ops::RangeInclusive<u64>) -> Vec<Entry> {
        seqs.map(|seq| Entry {
            seq,
            ts_ms: 0,
            event: Event {
                actor_account: None,
                actor_session: None,
                club: None,
                action: "t".into(),
                target: "t".into(),
                change_digest: [0; 32],
                ip: None,
                user_agent: None,
            },
            prev_hash: [0; 32],
            hash: [0; 32],
            format: tekkan_audit::Format::V2,
        })
        .collect()
    }

    fn seqs(v: &[Entry]) -> Vec<u64> {
        v.iter().map(|e| e.seq).collect()
    }

    #[test]
    fn hands_out_only_a_run_that_starts_where_asked() {
        let r = Recent::default();
        r.push(entries(1..=5));
        assert!(r.take(0, 10).is_empty(), "not held: read the database");
        assert_eq!(seqs(&r.take(2, 2)), [2, 3]);
        assert_eq!(seqs(&r.take(4, 10)), [4, 5]);
        assert!(r.take(6, 10).is_empty());
        // Another process wrote 6 and 7: the gap is read from the database, then the
        // run from 8 is served from memory.
        r.push(entries(8..=9));
        assert!(r.take(6, 10).is_empty());
        assert_eq!(seqs(&r.take(8, 10)), [8, 9]);
        // Bounded: a checkpointer that fell far behind reads the rest from the database.
        r.push(entries(10..=(10 + CAPACITY as u64)));
        assert!(r.take(10, 1).is_empty());
        assert_eq!(seqs(&r.take(11, 1)), [11]);
    }
}
