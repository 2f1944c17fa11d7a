//! Signatures an outsider can check with nothing but a public key: checkpoints (tree
//! size, root, time) as C2SP signed notes, the same text format Go's checksum database
//! and other transparency logs use, and receipts (an entry's index and leaf hash) that
//! prove the server accepted an action. Keys are Ed25519 and named by their origin;
//! a new key is endorsed by the key it replaces, so old checkpoints stay verifiable.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::Hash;
pub use crate::receipt::{AnyReceipt, Promise, Receipt};

/// Why a signed object or key does not check out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    #[error("malformed {0}")]
    Malformed(&'static str),
    #[error("no trusted key signed this {0}")]
    UnknownKey(&'static str),
    #[error("the {0}'s signature is not valid")]
    BadSignature(&'static str),
}

/// A public key with its name, written `name+keyid+base64(0x01 || key)` as signed-note
/// verifier keys are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    pub name: String,
    pub key: VerifyingKey,
}

impl PublicKey {
    /// The 4-byte id of signed notes: SHA-256(name || "\n" || 0x01 || key)[..4].
    pub fn id(&self) -> [u8; 4] {
        key_id(&self.name, &self.key)
    }

    pub fn encode(&self) -> String {
        let mut raw = vec![1u8];
        raw.extend_from_slice(self.key.as_bytes());
        format!(
            "{}+{}+{}",
            self.name,
            hex::encode(self.id()),
            STANDARD.encode(raw)
        )
    }

    pub fn parse(s: &str) -> Result<Self, SignError> {
        let bad = SignError::Malformed("public key");
        // The name holds no '+'; the base64 key may.
        let mut parts = s.trim().splitn(3, '+');
        let (Some(name), Some(id), Some(raw)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad);
        };
        let raw = STANDARD.decode(raw).map_err(|_| bad.clone())?;
        let (Some(1), Ok(bytes)) = (raw.first().copied(), <[u8; 32]>::try_from(&raw[1..])) else {
            return Err(bad);
        };
        let key = VerifyingKey::from_bytes(&bytes).map_err(|_| bad.clone())?;
        let pk = Self {
            name: name.to_string(),
            key,
        };
        if name.is_empty() || name.contains(char::is_whitespace) || hex::encode(pk.id()) != id {
            return Err(bad);
        }
        Ok(pk)
    }

    pub(crate) fn verify(&self, msg: &[u8], sig: &[u8; 64]) -> bool {
        self.key
            .verify_strict(msg, &Signature::from_bytes(sig))
            .is_ok()
    }
}

fn key_id(name: &str, key: &VerifyingKey) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n\x01");
    h.update(key.as_bytes());
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

/// The private half, held by the server outside the database.
pub struct Signer {
    name: String,
    key: SigningKey,
}

impl Signer {
    /// `name` is the log's origin, such as `club.example.jp/audit`.
    pub fn new(name: &str, seed: &[u8; 32]) -> Self {
        Self {
            name: name.to_string(),
            key: SigningKey::from_bytes(seed),
        }
    }

    pub fn public(&self) -> PublicKey {
        PublicKey {
            name: self.name.clone(),
            key: self.key.verifying_key(),
        }
    }

    fn sign(&self, msg: &[u8]) -> [u8; 64] {
        self.key.sign(msg).to_bytes()
    }

    /// The checkpoint as a signed note.
    pub fn sign_checkpoint(&self, c: &Checkpoint) -> String {
        self.sign_note(&c.body(&self.name))
    }

    /// Any text as a signed note; `body` ends with a newline and holds no blank line.
    pub fn sign_note(&self, body: &str) -> String {
        let mut sig = self.public().id().to_vec();
        sig.extend_from_slice(&self.sign(body.as_bytes()));
        format!("{body}\n\u{2014} {} {}\n", self.name, STANDARD.encode(sig))
    }

    /// A receipt for the entry at leaf `index` with `leaf` as its leaf hash.
    pub fn receipt(&self, index: u64, leaf: &Hash) -> Receipt {
        let mut r = Receipt {
            index,
            leaf: *leaf,
            key_id: self.public().id(),
            signature: [0; 64],
        };
        r.signature = self.sign(r.message(&self.name).as_bytes());
        r
    }

    /// A promise that the entry with content hash `content`, committed at `ts_ms`, is
    /// in the tree within `mmd_ms`.
    pub fn promise(&self, content: &Hash, ts_ms: i64, mmd_ms: u64) -> Promise {
        let mut p = Promise {
            content: *content,
            ts_ms,
            mmd_ms,
            key_id: self.public().id(),
            signature: [0; 64],
        };
        p.signature = self.sign(p.message(&self.name).as_bytes());
        p
    }

    /// Signs the succession `prev` → `next`; both keys sign it when a key is rotated,
    /// so that trusting either one leads to the other.
    pub fn sign_succession(&self, prev: &PublicKey, next: &PublicKey) -> String {
        STANDARD.encode(self.sign(succession_message(prev, next).as_bytes()))
    }
}

fn succession_message(prev: &PublicKey, next: &PublicKey) -> String {
    format!(
        "tekkan-key-succession-v1\n{}\n{}\n",
        prev.encode(),
        next.encode()
    )
}

/// What a checkpoint states: the first `size` entries have this Merkle root, as of
/// `ts_ms` (milliseconds since the epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    pub size: u64,
    pub root: Hash,
    pub ts_ms: i64,
}

impl Checkpoint {
    /// The note body: origin, size, base64 root, then a time extension line.
    fn body(&self, origin: &str) -> String {
        format!(
            "{origin}\n{}\n{}\ntime {}\n",
            self.size,
            STANDARD.encode(self.root),
            self.ts_ms
        )
    }
}

/// A checkpoint read from a note, with the key that signed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    pub origin: String,
    pub checkpoint: Checkpoint,
    pub key_id: [u8; 4],
}

/// Parses a signed note and checks its signature against `keys` (any one suffices):
/// the body (with its final newline) and the key that signed it.
pub fn open_note<'k>(
    note: &str,
    keys: &'k [PublicKey],
    what: &'static str,
) -> Result<(String, &'k PublicKey), SignError> {
    let bad = SignError::Malformed(what);
    let (body, sigs) = note.split_once("\n\n").ok_or(bad.clone())?;
    let body = format!("{body}\n");
    for line in sigs.lines() {
        let Some(rest) = line.strip_prefix("\u{2014} ") else {
            return Err(bad);
        };
        let (name, sig) = rest.split_once(' ').ok_or(bad.clone())?;
        let sig = STANDARD.decode(sig).map_err(|_| bad.clone())?;
        if sig.len() != 68 {
            return Err(bad);
        }
        let id: [u8; 4] = [sig[0], sig[1], sig[2], sig[3]];
        let Some(k) = keys.iter().find(|k| k.name == name && k.id() == id) else {
            continue;
        };
        let mut s = [0u8; 64];
        s.copy_from_slice(&sig[4..]);
        if !k.verify(body.as_bytes(), &s) {
            return Err(SignError::BadSignature(what));
        }
        return Ok((body, k));
    }
    Err(SignError::UnknownKey(what))
}

/// Parses a signed checkpoint note and checks its signature against `keys`.
pub fn open_checkpoint(note: &str, keys: &[PublicKey]) -> Result<SignedCheckpoint, SignError> {
    let bad = SignError::Malformed("checkpoint");
    // The body is parsed first, so that a malformed note is named as such whoever signed.
    let (raw, _) = note.split_once("\n\n").ok_or(bad.clone())?;
    let lines: Vec<&str> = raw.lines().collect();
    let [origin, size, root, time] = lines[..] else {
        return Err(bad);
    };
    let size: u64 = size.parse().map_err(|_| bad.clone())?;
    let root: Hash = STANDARD
        .decode(root)
        .ok()
        .and_then(|r| r.try_into().ok())
        .ok_or(bad.clone())?;
    let ts_ms: i64 = time
        .strip_prefix("time ")
        .and_then(|t| t.parse().ok())
        .ok_or(bad.clone())?;
    let (_, key) = open_note(note, keys, "checkpoint")?;
    if origin != key.name {
        return Err(bad);
    }
    Ok(SignedCheckpoint {
        origin: origin.to_string(),
        checkpoint: Checkpoint { size, root, ts_ms },
        key_id: key.id(),
    })
}

/// One key of the published history. Every key after the first carries the
/// succession from the key before it, signed by both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    pub key: PublicKey,
    /// Signature by the previous key over the succession.
    pub by_previous: Option<String>,
    /// Signature by this key over the same succession.
    pub by_this: Option<String>,
}

/// The keys an outsider accepts: those they trust, then, walking the published history
/// both ways, each neighbour whose succession the accepted key signed. A key that only
/// claims a succession, signed by itself, is never accepted.
pub fn accepted_keys(trusted: &[PublicKey], history: &[KeyRecord]) -> Vec<PublicKey> {
    let signed = |sig: Option<&str>, by: &PublicKey, msg: &str| {
        sig.and_then(|e| STANDARD.decode(e).ok())
            .and_then(|s| <[u8; 64]>::try_from(s).ok())
            .is_some_and(|s| by.verify(msg.as_bytes(), &s))
    };
    let mut accepted = trusted.to_vec();
    loop {
        let before = accepted.len();
        for w in history.windows(2) {
            let (prev, next) = (&w[0].key, &w[1].key);
            let msg = succession_message(prev, next);
            if accepted.contains(prev)
                && !accepted.contains(next)
                && signed(w[1].by_previous.as_deref(), prev, &msg)
            {
                accepted.push(next.clone());
            }
            if accepted.contains(next)
                && !accepted.contains(prev)
                && signed(w[1].by_this.as_deref(), next, &msg)
            {
                accepted.push(prev.clone());
            }
        }
        if accepted.len() == before {
            return accepted;
        }
    }
}

#[cfg(test)]
#[path = "signed_tests.rs"]
mod tests;
