//! Receipts: what a write's author keeps as proof that the server accepted it. A V1
//! receipt names the entry's leaf index and leaf hash (the position was known at
//! commit); a V2 receipt promises the entry's content hash and the maximum delay
//! within which it gets a position (several instances appending to one log).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::signed::{PublicKey, SignError};
use crate::{Hash, from_hex, to_hex};

/// The server's signed statement that it accepted the entry at `index` (0-based leaf
/// index, the entry's sequence number minus one) whose leaf hash is `leaf`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub index: u64,
    pub leaf: Hash,
    pub key_id: [u8; 4],
    pub signature: [u8; 64],
}

impl Receipt {
    pub(crate) fn message(&self, origin: &str) -> String {
        format!(
            "tekkan-receipt-v1\n{origin}\n{}\n{}\n",
            self.index,
            to_hex(&self.leaf)
        )
    }

    /// `v1.<index>.<leaf hex>.<key id hex>.<signature base64url>`: one header value.
    pub fn encode(&self) -> String {
        format!(
            "v1.{}.{}.{}.{}",
            self.index,
            to_hex(&self.leaf),
            hex::encode(self.key_id),
            URL_SAFE_NO_PAD.encode(self.signature)
        )
    }

    pub fn parse(s: &str) -> Result<Self, SignError> {
        let bad = SignError::Malformed("receipt");
        let p: Vec<&str> = s.trim().split('.').collect();
        let ["v1", index, leaf, id, sig] = p[..] else {
            return Err(bad);
        };
        Ok(Self {
            index: index.parse().map_err(|_| bad.clone())?,
            leaf: from_hex(leaf).ok_or(bad.clone())?,
            key_id: key_id_hex(id).ok_or(bad.clone())?,
            signature: signature_b64(sig).ok_or(bad)?,
        })
    }

    /// Checks the signature against whichever of `keys` has the receipt's key id.
    pub fn verify(&self, keys: &[PublicKey]) -> Result<(), SignError> {
        verify_signed(keys, self.key_id, &self.signature, |o| self.message(o))
    }
}

/// The server's signed promise, given at once when an entry's position is assigned
/// after its commit (several instances on one database): the entry whose content hash
/// ([`crate::content_hash`]) is `content` was committed at `ts_ms` and will be in the
/// tree within `mmd_ms` (the maximum merge delay, as Certificate Transparency's signed
/// certificate timestamps promise). Its position and link, published later, turn the
/// promise into a leaf an inclusion proof covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Promise {
    pub content: Hash,
    pub ts_ms: i64,
    pub mmd_ms: u64,
    pub key_id: [u8; 4],
    pub signature: [u8; 64],
}

impl Promise {
    pub(crate) fn message(&self, origin: &str) -> String {
        format!(
            "tekkan-receipt-v2\n{origin}\n{}\n{}\n{}\n",
            to_hex(&self.content),
            self.ts_ms,
            self.mmd_ms
        )
    }

    /// `v2.<content hex>.<ts_ms>.<mmd_ms>.<key id hex>.<signature base64url>`.
    pub fn encode(&self) -> String {
        format!(
            "v2.{}.{}.{}.{}.{}",
            to_hex(&self.content),
            self.ts_ms,
            self.mmd_ms,
            hex::encode(self.key_id),
            URL_SAFE_NO_PAD.encode(self.signature)
        )
    }

    pub fn parse(s: &str) -> Result<Self, SignError> {
        let bad = SignError::Malformed("receipt");
        let p: Vec<&str> = s.trim().split('.').collect();
        let ["v2", content, ts, mmd, id, sig] = p[..] else {
            return Err(bad);
        };
        Ok(Self {
            content: from_hex(content).ok_or(bad.clone())?,
            ts_ms: ts.parse().map_err(|_| bad.clone())?,
            mmd_ms: mmd.parse().map_err(|_| bad.clone())?,
            key_id: key_id_hex(id).ok_or(bad.clone())?,
            signature: signature_b64(sig).ok_or(bad)?,
        })
    }

    /// Checks the signature against whichever of `keys` has the promise's key id.
    pub fn verify(&self, keys: &[PublicKey]) -> Result<(), SignError> {
        verify_signed(keys, self.key_id, &self.signature, |o| self.message(o))
    }

    /// The leaf hash of the entry at `seq` linked to `prev`, if this promise's content
    /// sits there: what the inclusion proof is then checked against.
    pub fn leaf_at(&self, seq: u64, prev: &Hash) -> Hash {
        crate::merkle::leaf_hash(&crate::positioned_hash(seq, prev, &self.content))
    }
}

/// Either kind of receipt, as a `Tekkan-Receipt` header carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnyReceipt {
    /// The position was known at commit (one writer).
    Placed(Receipt),
    /// The position comes within the maximum merge delay.
    Promised(Promise),
}

impl AnyReceipt {
    pub fn parse(s: &str) -> Result<Self, SignError> {
        match s.trim().split('.').next() {
            Some("v2") => Promise::parse(s).map(AnyReceipt::Promised),
            _ => Receipt::parse(s).map(AnyReceipt::Placed),
        }
    }

    pub fn encode(&self) -> String {
        match self {
            AnyReceipt::Placed(r) => r.encode(),
            AnyReceipt::Promised(p) => p.encode(),
        }
    }
}

/// Either receipt's signature, by the key of `keys` with `key_id`, over the message
/// made for that key's origin.
fn verify_signed(
    keys: &[PublicKey],
    key_id: [u8; 4],
    signature: &[u8; 64],
    message: impl Fn(&str) -> String,
) -> Result<(), SignError> {
    let k = keys
        .iter()
        .find(|k| k.id() == key_id)
        .ok_or(SignError::UnknownKey("receipt"))?;
    match k.verify(message(&k.name).as_bytes(), signature) {
        true => Ok(()),
        false => Err(SignError::BadSignature("receipt")),
    }
}

fn key_id_hex(s: &str) -> Option<[u8; 4]> {
    hex::decode(s).ok().and_then(|v| v.try_into().ok())
}

fn signature_b64(s: &str) -> Option<[u8; 64]> {
    URL_SAFE_NO_PAD
        .decode(s)
        .ok()
        .and_then(|v| v.try_into().ok())
}
