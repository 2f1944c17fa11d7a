//! The outside verifier of the whole log: walks every entry once, checking each hash
//! and link, grows the Merkle tree, and compares its root with every signed checkpoint
//! and with a checkpoint the auditor saved earlier. Nothing here trusts the server: it
//! needs the entries, the signed notes and a public key.

use crate::merkle::Frontier;
use crate::signed::{KeyRecord, PublicKey, SignError, accepted_keys, open_checkpoint};
use crate::{Entry, GENESIS, Hash};

/// What the walk established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogReport {
    pub entries: u64,
    pub root: Hash,
    /// Signed checkpoints whose root was recomputed and matched.
    pub checkpoints: usize,
    /// The newest checkpoint's size (entries after it are not yet signed for).
    pub signed_size: u64,
    /// The keys the checkpoints were accepted under.
    pub keys: usize,
}

/// The first thing wrong, named.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogError {
    #[error("entry {seq}: content does not match its hash (altered)")]
    Altered { seq: u64 },
    #[error("entry {seq}: does not link to the entry before it (entries reordered or replaced)")]
    BrokenLink { seq: u64 },
    #[error(
        "entry {expected} is missing (found {found} in its place): entries deleted or reordered"
    )]
    Missing { expected: u64, found: u64 },
    #[error(
        "a signed checkpoint covers {signed} entries but only {entries} exist: entries removed from the end"
    )]
    Truncated { entries: u64, signed: u64 },
    #[error("the checkpoint over {size} entries does not match them: history rewritten")]
    CheckpointMismatch { size: u64 },
    #[error(
        "rolled back: the saved checkpoint covers {saved} entries but the log has only {entries}"
    )]
    RolledBack { saved: u64, entries: u64 },
    #[error(
        "history rewritten after the saved checkpoint: the first {size} entries no longer have its root"
    )]
    Rewritten { size: u64 },
    #[error("checkpoint {index}: {source}")]
    Checkpoint { index: usize, source: SignError },
    #[error("saved checkpoint: {0}")]
    Saved(SignError),
}

/// Verifies the whole log: `entries` in stored order, every signed checkpoint note,
/// the published key history, the keys the auditor trusts, and optionally a
/// checkpoint note saved earlier.
pub fn verify_log<I>(
    entries: I,
    checkpoints: &[String],
    history: &[KeyRecord],
    trusted: &[PublicKey],
    saved: Option<&str>,
) -> Result<LogReport, LogError>
where
    I: IntoIterator<Item = Entry>,
{
    let keys = accepted_keys(trusted, history);
    // (size, root, is the saved one)
    let mut targets: Vec<(u64, Hash, bool)> = Vec::with_capacity(checkpoints.len() + 1);
    for (index, note) in checkpoints.iter().enumerate() {
        let c = open_checkpoint(note, &keys)
            .map_err(|source| LogError::Checkpoint { index, source })?;
        targets.push((c.checkpoint.size, c.checkpoint.root, false));
    }
    let signed_size = targets.iter().map(|t| t.0).max().unwrap_or(0);
    if let Some(note) = saved {
        let c = open_checkpoint(note, &keys).map_err(LogError::Saved)?;
        targets.push((c.checkpoint.size, c.checkpoint.root, true));
    }
    targets.sort_by_key(|t| (t.0, t.2));
    let mut next_target = 0usize;
    let mut tree = Frontier::default();
    let mut prev = GENESIS;
    let check = |tree: &Frontier, next: &mut usize| -> Result<(), LogError> {
        while let Some(&(size, root, is_saved)) = targets.get(*next) {
            if size != tree.size() {
                break;
            }
            if tree.root() != root {
                return Err(match is_saved {
                    true => LogError::Rewritten { size },
                    false => LogError::CheckpointMismatch { size },
                });
            }
            *next += 1;
        }
        Ok(())
    };
    check(&tree, &mut next_target)?;
    let entries: Vec<Entry> = entries.into_iter().collect();
    let intact = hashes_hold(&entries);
    for (e, intact) in entries.into_iter().zip(intact) {
        let expected = tree.size() + 1;
        if e.seq != expected {
            return Err(LogError::Missing {
                expected,
                found: e.seq,
            });
        }
        let altered = !intact;
        if e.prev_hash != prev {
            return Err(LogError::BrokenLink { seq: e.seq });
        }
        if altered {
            return Err(LogError::Altered { seq: e.seq });
        }
        prev = e.hash;
        tree.push(e.leaf_hash());
        check(&tree, &mut next_target)?;
    }
    if let Some(&(size, _, is_saved)) = targets.get(next_target) {
        return Err(match is_saved {
            true => LogError::RolledBack {
                saved: size,
                entries: tree.size(),
            },
            false => LogError::Truncated {
                entries: tree.size(),
                signed: size,
            },
        });
    }
    Ok(LogReport {
        entries: tree.size(),
        root: tree.root(),
        checkpoints: checkpoints.len(),
        signed_size,
        keys: keys.len(),
    })
}

/// Whether each entry's content matches its hash, computed on every core: recomputing
/// the entry hashes is most of the verifier's work, and each is independent.
fn hashes_hold(entries: &[Entry]) -> Vec<bool> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = entries.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let parts: Vec<_> = entries
            .chunks(chunk)
            .map(|c| {
                let h = s.spawn(move || {
                    c.iter()
                        .map(|e| e.computed_hash() == e.hash)
                        .collect::<Vec<bool>>()
                });
                (c.len(), h)
            })
            .collect();
        // A worker that died counts its entries as not holding: never as skipped.
        parts
            .into_iter()
            .flat_map(|(n, h)| h.join().unwrap_or_else(|_| vec![false; n]))
            .collect()
    })
}

#[cfg(test)]
#[path = "log_tests.rs"]
mod tests;
