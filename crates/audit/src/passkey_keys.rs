//! Which passkey public keys the log vouches for, entry by entry. Enrolling a passkey
//! appends `passkey.added` whose change digest commits to a [`KeyCommitment`] (whose
//! account, which credential, which public key); removing one appends `passkey.removed`
//! naming the credential. A signed action then verifies only under a key committed for
//! its actor earlier in the log and not removed since: whoever controls the database
//! cannot swap the key an officer's signature is checked against.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Entry, Hash};

/// Enrolment by the account itself.
pub const ADDED: &str = "passkey.added";
/// A key enrolled before keys were committed, vouched for by the server afterwards.
pub const BACKFILLED: &str = "passkey.key_committed";
/// Removal; the entry's target is `passkey:<credential id>`.
pub const REMOVED: &str = "passkey.removed";

/// What an enrolment entry commits to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyCommitment {
    pub account: String,
    pub credential_id: String,
    /// As in [`crate::action::SignedAction::public_key`].
    pub public_key: String,
}

impl KeyCommitment {
    /// SHA-256 of the record's JSON (fields in declaration order).
    pub fn digest(&self) -> Hash {
        Sha256::digest(self.to_json().as_bytes()).into()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Whether an entry enrols or removes a key: such entries travel with club exports too.
pub fn is_key_entry(e: &Entry) -> bool {
    matches!(e.event.action.as_str(), ADDED | BACKFILLED | REMOVED)
}

/// A committed key as seen so far.
#[derive(Debug, Clone)]
struct Committed {
    account: String,
    public_key: String,
}

/// The keys vouched for at the current point of a walk through the log in order, and
/// the keys the server backfilled anywhere in it.
#[derive(Debug, Default)]
pub struct KeyBook {
    live: HashMap<String, Committed>,
    backfilled: HashMap<String, (u64, Committed)>,
}

/// The commitment an enrolment entry vouches for, if its record is there and matches.
fn commitment(e: &Entry, records: &HashMap<String, String>) -> Option<KeyCommitment> {
    let c = records
        .get(&crate::to_hex(&e.event.change_digest))
        .and_then(|r| serde_json::from_str::<KeyCommitment>(r).ok())
        .filter(|c| c.digest() == e.event.change_digest)?;
    // An account enrols its own keys; only the server's backfill has no actor.
    let own = e.event.actor_account.as_deref() == Some(c.account.as_str());
    (own || e.event.action == BACKFILLED).then_some(c)
}

impl KeyBook {
    /// A book that knows every backfill in `entries` (which may come in any order).
    pub fn new<'a>(
        entries: impl IntoIterator<Item = &'a Entry>,
        records: &HashMap<String, String>,
    ) -> Self {
        let mut book = Self::default();
        for e in entries {
            if e.event.action == BACKFILLED
                && let Some(c) = commitment(e, records)
            {
                let k = Committed {
                    account: c.account,
                    public_key: c.public_key,
                };
                book.backfilled.insert(c.credential_id, (e.seq, k));
            }
        }
        book
    }

    /// Takes note of `e` if it enrols or removes a key. An enrolment whose record is
    /// missing or does not match its digest vouches for nothing.
    pub fn observe(&mut self, e: &Entry, records: &HashMap<String, String>) {
        match e.event.action.as_str() {
            ADDED | BACKFILLED => {
                if let Some(c) = commitment(e, records) {
                    let k = Committed {
                        account: c.account,
                        public_key: c.public_key,
                    };
                    self.live.insert(c.credential_id, k);
                }
            }
            REMOVED => {
                if let Some(id) = e.event.target.strip_prefix("passkey:") {
                    self.live.remove(id);
                }
            }
            _ => {}
        }
    }

    /// How the key a signed action at `seq` used stands at this point of the walk.
    pub fn standing(
        &self,
        seq: u64,
        account: Option<&str>,
        credential_id: &str,
        public_key: &str,
    ) -> Standing {
        let same =
            |k: &Committed| Some(k.account.as_str()) == account && k.public_key == public_key;
        if self.live.get(credential_id).is_some_and(same) {
            return Standing::Committed;
        }
        match self.backfilled.get(credential_id) {
            Some((at, k)) if *at > seq && same(k) => Standing::Backfilled,
            _ => Standing::Unknown,
        }
    }
}

/// How a signed action's key stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Committed for the actor before the action and not removed since.
    Committed,
    /// The action predates key commitments; the server's backfill vouched for its key
    /// afterwards.
    Backfilled,
    /// Not vouched for: a swapped, removed or never-enrolled key.
    Unknown,
}
