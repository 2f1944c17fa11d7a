//! The audit chain: every state change in TEKKAN becomes an [`Entry`] that carries the
//! hash of the entry before it, and a [`Head`] authenticated with a key kept outside the
//! database records where the chain ends.
//!
//! This crate knows nothing of the database: the server appends through
//! [`Entry::next`], and an auditor hands [`verify`] the entries in sequence order (read
//! from a copy of the database or an export). Editing, deleting or reordering any entry
//! breaks a hash or a link; cutting entries off the end no longer matches the head.

pub mod action;
pub mod export;
pub mod log;
pub mod merkle;
pub mod passkey_keys;
pub mod receipt;
pub mod signed;
mod verify;

use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::{Digest, Sha256};

pub use verify::{Report, VerifyError, verify};

/// A SHA-256 value.
pub type Hash = [u8; 32];

/// The `prev_hash` of the first entry.
pub const GENESIS: Hash = [0; 32];

/// What happened, as the application reports it. Who (account, session), what (action,
/// target, digest of the change), where (club, IP, user agent). The time and the links
/// are added when the event is appended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Event {
    pub actor_account: Option<String>,
    pub actor_session: Option<String>,
    pub club: Option<String>,
    /// Dotted verb such as `club.create` or `member.role_change`.
    pub action: String,
    /// What was acted on, such as `membership:ab12…`.
    pub target: String,
    /// SHA-256 of the change's canonical JSON: proves what changed without copying
    /// personal data into the log.
    pub change_digest: Hash,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl Event {
    /// The digest of a change given as bytes (the caller's canonical JSON).
    pub fn digest(change: &[u8]) -> Hash {
        Sha256::digest(change).into()
    }
}

/// How an entry's hash is formed. Both stay verifiable forever; new entries are V2.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub enum Format {
    /// Before schema 19: one hash over position, content and link.
    V1,
    /// The content hashed on its own first ([`content_hash`]), then bound to its
    /// position and link. A receipt can promise the content before the entry has a
    /// position (several instances appending to one log), and the position and link
    /// later tie that promise to the tree without revealing the content.
    #[default]
    V2,
}

impl Format {
    /// As stored in the `format` column and in exports.
    pub fn number(self) -> u8 {
        match self {
            Format::V1 => 1,
            Format::V2 => 2,
        }
    }

    pub fn from_number(n: i64) -> Option<Self> {
        match n {
            1 => Some(Format::V1),
            2 => Some(Format::V2),
            _ => None,
        }
    }
}

/// One link of the chain as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// 1, 2, 3, … with no gaps.
    pub seq: u64,
    /// Milliseconds since the Unix epoch, UTC.
    pub ts_ms: i64,
    pub event: Event,
    pub prev_hash: Hash,
    pub hash: Hash,
    pub format: Format,
}

impl Entry {
    /// The entry that follows `prev` (or starts the chain when `prev` is `None`).
    pub fn next(prev: Option<(u64, Hash)>, ts_ms: i64, event: Event) -> Self {
        let (seq, prev_hash) = match prev {
            Some((seq, hash)) => (seq + 1, hash),
            None => (1, GENESIS),
        };
        let hash = positioned_hash(seq, &prev_hash, &content_hash(ts_ms, &event));
        Self {
            seq,
            ts_ms,
            event,
            prev_hash,
            hash,
            format: Format::V2,
        }
    }

    /// A V1 entry, as written before schema 19 (tests of the verifier's legacy path).
    pub fn next_v1(prev: Option<(u64, Hash)>, ts_ms: i64, event: Event) -> Self {
        let mut e = Self::next(prev, ts_ms, event);
        e.format = Format::V1;
        e.hash = e.computed_hash();
        e
    }

    /// What a V2 receipt promises: the hash of the entry's time and event alone.
    pub fn content_hash(&self) -> Hash {
        content_hash(self.ts_ms, &self.event)
    }

    /// The entry's leaf in the Merkle tree: RFC 9162's leaf hash of the entry's hash
    /// (which commits to every field and to the entry before it).
    pub fn leaf_hash(&self) -> Hash {
        merkle::leaf_hash(&self.hash)
    }

    /// The hash this entry should carry, recomputed from its content.
    pub fn computed_hash(&self) -> Hash {
        match self.format {
            Format::V1 => entry_hash_v1(self.seq, self.ts_ms, &self.event, &self.prev_hash),
            Format::V2 => positioned_hash(self.seq, &self.prev_hash, &self.content_hash()),
        }
    }
}

/// The hash of an event and its time, without its position: what a write's author can
/// be promised before the entry is placed in the chain.
pub fn content_hash(ts_ms: i64, e: &Event) -> Hash {
    let mut h = Sha256::new();
    h.update(b"tekkan-audit-content-v1\0");
    h.update(ts_ms.to_be_bytes());
    put_event(&mut h, e);
    h.finalize().into()
}

/// A V2 entry's hash: its position and link over its content hash.
pub fn positioned_hash(seq: u64, prev: &Hash, content: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update(b"tekkan-audit-entry-v2\0");
    h.update(seq.to_be_bytes());
    h.update(prev);
    h.update(content);
    h.finalize().into()
}

/// Hashes every field with a length prefix, so that no two different entries can
/// serialise to the same bytes.
fn entry_hash_v1(seq: u64, ts_ms: i64, e: &Event, prev: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update(b"tekkan-audit-entry-v1\0");
    h.update(seq.to_be_bytes());
    h.update(ts_ms.to_be_bytes());
    put_event(&mut h, e);
    h.update(prev);
    h.finalize().into()
}

fn put_event(h: &mut Sha256, e: &Event) {
    for field in [&e.actor_account, &e.actor_session, &e.club] {
        put_opt(h, field.as_deref());
    }
    put(h, &e.action);
    put(h, &e.target);
    h.update(e.change_digest);
    put_opt(h, e.ip.as_deref());
    put_opt(h, e.user_agent.as_deref());
}

fn put(h: &mut Sha256, s: &str) {
    h.update((s.len() as u64).to_be_bytes());
    h.update(s.as_bytes());
}

fn put_opt(h: &mut Sha256, s: Option<&str>) {
    match s {
        None => h.update([0u8]),
        Some(s) => {
            h.update([1u8]);
            put(h, s);
        }
    }
}

/// Where the chain ends: the last sequence number and hash, with a MAC under a key that
/// lives outside the database. Without the key, nobody can cut the tail of the chain and
/// move the head back unnoticed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Head {
    pub seq: u64,
    pub hash: Hash,
    pub mac: Hash,
}

impl Head {
    pub fn new(key: &[u8], seq: u64, hash: Hash) -> Self {
        Self {
            seq,
            hash,
            mac: head_mac(key, seq, &hash),
        }
    }

    /// Constant-time check of the MAC.
    pub fn is_authentic(&self, key: &[u8]) -> bool {
        use subtle::ConstantTimeEq;
        head_mac(key, self.seq, &self.hash).ct_eq(&self.mac).into()
    }
}

/// The seal of a row of live state: an HMAC, under the key that authenticates the
/// chain's head (kept outside the database), of the row's kind, key and canonical
/// content. Whoever edits the database file without the key cannot make a matching one.
pub fn row_seal(key: &[u8], kind: &str, id: &str, content: &str) -> Hash {
    #[allow(clippy::expect_used)] // HMAC accepts keys of any length: this cannot fail.
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("hmac takes any key length");
    m.update(b"tekkan-row-seal-v1\0");
    for part in [kind, id, content] {
        m.update(&(part.len() as u64).to_be_bytes());
        m.update(part.as_bytes());
    }
    m.finalize().into_bytes().into()
}

/// The MAC a queued entry carries (under the key that authenticates the head): only
/// the server, which holds the key, can put an entry in the queue that the integrator
/// links into the chain.
pub fn queued_mac(key: &[u8], content: &Hash) -> Hash {
    #[allow(clippy::expect_used)] // HMAC accepts keys of any length: this cannot fail.
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("hmac takes any key length");
    m.update(b"tekkan-audit-queued-v1\0");
    m.update(content);
    m.finalize().into_bytes().into()
}

fn head_mac(key: &[u8], seq: u64, hash: &Hash) -> Hash {
    #[allow(clippy::expect_used)] // HMAC accepts keys of any length: this cannot fail.
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("hmac takes any key length");
    m.update(b"tekkan-audit-head-v1\0");
    m.update(&seq.to_be_bytes());
    m.update(hash);
    m.finalize().into_bytes().into()
}

/// Hex for storage and display.
pub fn to_hex(h: &Hash) -> String {
    hex::encode(h)
}

/// Parses a stored hex hash; `None` when it is not 64 hex digits.
pub fn from_hex(s: &str) -> Option<Hash> {
    let v = hex::decode(s).ok()?;
    v.try_into().ok()
}
