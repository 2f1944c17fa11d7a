//! Walks a chain and names the first entry that does not hold.

use crate::{Entry, GENESIS, Hash, Head};

/// What a successful walk saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub entries: u64,
    pub last_hash: Hash,
    /// Whether the head's MAC was checked (it needs the key).
    pub head_authenticated: bool,
}

/// The first thing wrong with a chain, naming the entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("entry {seq}: content does not match its hash (altered)")]
    Altered { seq: u64 },
    #[error(
        "entry {seq}: does not link to the entry before it (removed or reordered entries before it)"
    )]
    BrokenLink { seq: u64 },
    #[error("entry {found}: expected sequence number {expected} (entries removed or reordered)")]
    Sequence { expected: u64, found: u64 },
    #[error(
        "the chain ends at entry {last} but the head records entry {head} (entries removed from the end)"
    )]
    Truncated { last: u64, head: u64 },
    #[error("the chain's last hash (entry {seq}) does not match the head")]
    HeadMismatch { seq: u64 },
    #[error("the head's MAC is not valid: the head was rewritten")]
    HeadForged,
    #[error("entries exist but no head was found")]
    MissingHead,
}

impl VerifyError {
    /// The sequence number of the first bad entry, where there is one.
    pub fn seq(&self) -> Option<u64> {
        match self {
            Self::Altered { seq } | Self::BrokenLink { seq } | Self::HeadMismatch { seq } => {
                Some(*seq)
            }
            Self::Sequence { found, .. } => Some(*found),
            Self::Truncated { last, .. } => Some(last + 1),
            Self::HeadForged | Self::MissingHead => None,
        }
    }
}

/// Verifies `entries`, given in ascending `seq` order as stored, against `head`.
/// With `key`, the head's MAC is checked too.
pub fn verify<I>(entries: I, head: Option<Head>, key: Option<&[u8]>) -> Result<Report, VerifyError>
where
    I: IntoIterator<Item = Entry>,
{
    let mut expected_seq = 1u64;
    let mut prev = GENESIS;
    for e in entries {
        if e.seq != expected_seq {
            return Err(VerifyError::Sequence {
                expected: expected_seq,
                found: e.seq,
            });
        }
        if e.computed_hash() != e.hash {
            // Check the link first when both fail: a moved entry is "reordered", not "altered".
            if e.prev_hash != prev {
                return Err(VerifyError::BrokenLink { seq: e.seq });
            }
            return Err(VerifyError::Altered { seq: e.seq });
        }
        if e.prev_hash != prev {
            return Err(VerifyError::BrokenLink { seq: e.seq });
        }
        prev = e.hash;
        expected_seq += 1;
    }
    let count = expected_seq - 1;
    let mut head_authenticated = false;
    match head {
        None if count > 0 => return Err(VerifyError::MissingHead),
        None => {}
        Some(h) => {
            if let Some(key) = key {
                if !h.is_authentic(key) {
                    return Err(VerifyError::HeadForged);
                }
                head_authenticated = true;
            }
            if h.seq > count {
                return Err(VerifyError::Truncated {
                    last: count,
                    head: h.seq,
                });
            }
            if h.seq < count || h.hash != prev {
                return Err(VerifyError::HeadMismatch { seq: count });
            }
        }
    }
    Ok(Report {
        entries: count,
        last_hash: prev,
        head_authenticated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Event;

    const KEY: &[u8] = b"test key";

    fn event(n: u32) -> Event {
        Event {
            actor_account: Some(format!("acct{n}")),
            actor_session: None,
            club: Some("club".into()),
            action: "test.act".into(),
            target: format!("thing:{n}"),
            change_digest: Event::digest(format!("{n}").as_bytes()),
            ip: Some("127.0.0.1".into()),
            user_agent: None,
        }
    }

    fn chain(n: u32) -> (Vec<Entry>, Head) {
        let mut out: Vec<Entry> = Vec::new();
        for i in 0..n {
            let prev = out.last().map(|e| (e.seq, e.hash));
            out.push(Entry::next(prev, 1_700_000_000_000 + i as i64, event(i)));
        }
        let last = out.last().unwrap();
        let head = Head::new(KEY, last.seq, last.hash);
        (out, head)
    }

    #[test]
    fn intact_chain_verifies() {
        let (c, h) = chain(5);
        let r = verify(c, Some(h), Some(KEY)).unwrap();
        assert_eq!(r.entries, 5);
        assert!(r.head_authenticated);
        assert_eq!(verify(Vec::new(), None, Some(KEY)).unwrap().entries, 0);
    }

    #[test]
    fn each_kind_of_tampering_is_named() {
        let (mut c, h) = chain(5);
        c[2].event.target = "thing:evil".into();
        assert_eq!(
            verify(c, Some(h), Some(KEY)),
            Err(VerifyError::Altered { seq: 3 })
        );

        let (mut c, h) = chain(5);
        c.remove(1);
        assert_eq!(
            verify(c, Some(h), Some(KEY)),
            Err(VerifyError::Sequence {
                expected: 2,
                found: 3
            })
        );

        let (mut c, h) = chain(5);
        c.truncate(3);
        assert_eq!(
            verify(c, Some(h), Some(KEY)),
            Err(VerifyError::Truncated { last: 3, head: 5 })
        );

        let (mut c, h) = chain(5);
        c.swap(1, 2);
        let (s1, s2) = (c[1].seq, c[2].seq);
        c[1].seq = s2;
        c[2].seq = s1;
        assert_eq!(
            verify(c, Some(h), Some(KEY)),
            Err(VerifyError::BrokenLink { seq: 2 })
        );

        let (c, _) = chain(5);
        let forged = Head::new(b"other key", 3, c[2].hash);
        assert_eq!(
            verify(c[..3].to_vec(), Some(forged), Some(KEY)),
            Err(VerifyError::HeadForged)
        );
    }

    #[test]
    fn a_log_of_v1_entries_followed_by_v2_entries_verifies_and_each_format_binds_its_fields() {
        // A database from before schema 19 goes on with V2 entries after its V1 ones.
        let mut out: Vec<Entry> = Vec::new();
        for i in 0..6u32 {
            let prev = out.last().map(|e| (e.seq, e.hash));
            let at = 1_700_000_000_000 + i64::from(i);
            out.push(match i < 3 {
                true => Entry::next_v1(prev, at, event(i)),
                false => Entry::next(prev, at, event(i)),
            });
        }
        assert_eq!(out[2].format, crate::Format::V1);
        assert_eq!(out[3].format, crate::Format::V2);
        let last = out.last().unwrap();
        let head = Head::new(KEY, last.seq, last.hash);
        assert_eq!(
            verify(out.clone(), Some(head), Some(KEY)).unwrap().entries,
            6
        );
        // Relabelling an entry's format changes what its hash must be.
        for i in [1, 4] {
            let mut c = out.clone();
            c[i].format = match c[i].format {
                crate::Format::V1 => crate::Format::V2,
                crate::Format::V2 => crate::Format::V1,
            };
            assert_eq!(
                verify(c, Some(head), Some(KEY)),
                Err(VerifyError::Altered { seq: i as u64 + 1 })
            );
        }
        // In V2 the time, every field, the position and the link are all covered.
        let e = &out[4];
        let mut later = e.clone();
        later.ts_ms += 1;
        let mut other = e.clone();
        other.event.user_agent = Some("x".into());
        let mut moved = e.clone();
        moved.seq += 1;
        let mut relinked = e.clone();
        relinked.prev_hash[0] ^= 1;
        for changed in [later, other, moved, relinked] {
            assert_ne!(changed.computed_hash(), e.hash);
        }
        assert_eq!(
            crate::positioned_hash(e.seq, &e.prev_hash, &e.content_hash()),
            e.hash
        );
    }
}
