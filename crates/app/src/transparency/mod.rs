//! The audit log as a transparency log: growing the Merkle tree from the chain, signing
//! checkpoints, serving inclusion and consistency proofs, and signing receipts.
//!
//! Writes only append to the hash chain (cheap, inside their own transaction); the
//! checkpointer later takes the new entries (from memory when this process wrote them),
//! re-checks their hashes and links, adds their leaves to the tree and signs the new root. So a write's cost does not grow with the log, and the tree
//! is never built over a chain that does not hold.

use tekkan_audit::merkle::{self, Frontier, NodeRecorder};
use tekkan_audit::signed::{AnyReceipt, Checkpoint, KeyRecord, PublicKey};
use tekkan_audit::{Hash, from_hex, to_hex};
use tekkan_storage::{StoredCheckpoint, Written, now_ms};

use crate::{App, AppError, Result};

pub(crate) mod key;
pub use key::LogKey;

/// Entries read per step while growing the tree.
const BATCH: i64 = 20_000;

/// What an inclusion proof answers with.
#[derive(Debug, Clone)]
pub struct Inclusion {
    pub index: u64,
    pub leaf_hash: Hash,
    pub proof: Vec<Hash>,
    pub checkpoint: StoredCheckpoint,
}

fn corrupt(what: impl std::fmt::Display) -> AppError {
    AppError::Internal(format!("audit log: {what}"))
}

impl App {
    fn log(&self) -> &LogKey {
        &self.inner.log
    }

    /// The published key history, each key with its succession signatures.
    pub async fn log_key_history(&self) -> Result<Vec<KeyRecord>> {
        self.db()
            .audit_keys()
            .await?
            .into_iter()
            .map(|k| {
                Ok(KeyRecord {
                    key: PublicKey::parse(&k.public_key)
                        .map_err(|_| corrupt("a stored key is malformed"))?,
                    by_previous: k.by_previous,
                    by_this: k.by_this,
                })
            })
            .collect()
    }

    /// The signed receipt for an entry a write committed: its leaf when it was linked at
    /// commit, else a promise of its position within the maximum merge delay.
    pub fn receipt(&self, written: &Written) -> Option<AnyReceipt> {
        let held = self.log().held();
        let signer = &held.signer;
        Some(match *written {
            Written::Placed { seq, hash } => {
                let index = u64::try_from(seq).ok()?.checked_sub(1)?;
                AnyReceipt::Placed(signer.receipt(index, &merkle::leaf_hash(&hash)))
            }
            Written::Queued { content, ts_ms } => AnyReceipt::Promised(signer.promise(
                &content,
                ts_ms,
                tekkan_storage::audit_queue::MAX_MERGE_DELAY_MS,
            )),
        })
    }

    /// Adds the entries written since the last run to the tree and signs a checkpoint
    /// over the new root. Returns it, or `None` when nothing was written. Fails, naming
    /// the entry, when the chain does not hold: the tree never covers a broken chain.
    pub async fn checkpoint(&self) -> Result<Option<StoredCheckpoint>> {
        let r = self.checkpoint_inner().await;
        if r.is_ok() {
            self.health().set("checkpoint", None);
        }
        r
    }

    /// A chain that does not hold, found while checkpointing: reported by `/healthz`
    /// until a checkpoint succeeds (a busy database is no fault of the data, and is not
    /// reported).
    fn chain_fault(&self, what: String) -> AppError {
        self.health()
            .set("checkpoint", Some(format!("checkpoint refused: {what}")));
        corrupt(what)
    }

    /// Links the audit entries waiting in the queue into the chain (PostgreSQL; nothing
    /// to do on SQLite). `wait`: also when another instance is integrating (before a
    /// checkpoint, or a read of the log that must see every committed entry). A queued
    /// row without a valid MAC is a security event: it was never written by TEKKAN.
    pub async fn integrate_log(&self, wait: bool) -> Result<usize> {
        let done = self.db().integrate(wait).await?;
        if let Some(id) = done.forged.first() {
            self.health().set(
                "audit_queue",
                Some(format!("forged audit entry refused (queue id {id})")),
            );
        }
        Ok(done.linked)
    }

    async fn checkpoint_inner(&self) -> Result<Option<StoredCheckpoint>> {
        let _one_at_a_time = self.log().lock.lock().await;
        // Every entry committed so far gets its position before the tree grows.
        self.integrate_log(true).await?;
        let db = self.db();
        let mut frontier = db.tree_frontier().await?;
        let start = frontier.size();
        // The entry before the first new one, to check the first link.
        let mut prev = match start {
            0 => tekkan_audit::GENESIS,
            n => {
                let e = db.audit_entries_from(n as i64, 1).await?;
                e.first()
                    .filter(|e| e.seq == n)
                    .map(|e| e.hash)
                    .ok_or_else(|| {
                        self.chain_fault(format!("entry {n}, already in the tree, is missing"))
                    })?
            }
        };
        let mut checkpoint = None;
        loop {
            let from = frontier.size() + 1;
            let batch = db.new_audit_entries(from, BATCH as usize).await?;
            if batch.is_empty() {
                break;
            }
            if checkpoint.is_none() {
                self.ensure_newest_log_key().await?;
            }
            let mut nodes = Vec::with_capacity(batch.len() * 2);
            let mut search = Vec::with_capacity(batch.len() * 3);
            for e in &batch {
                let want = frontier.size() + 1;
                if e.seq != want {
                    return Err(self.chain_fault(format!("entry {want} is missing")));
                }
                if e.computed_hash() != e.hash || e.prev_hash != prev {
                    tracing::error!(seq = e.seq, "audit chain broken: checkpoint refused");
                    return Err(self.chain_fault(format!("entry {} does not hold", e.seq)));
                }
                prev = e.hash;
                nodes.extend(frontier.push(e.leaf_hash()));
                for key in tekkan_storage::search_keys(e) {
                    search.push((key, e.seq as i64));
                }
            }
            // Every batch is signed: the newest checkpoint is what the tree covers.
            let c = self.sign(&frontier);
            db.extend_tree(&nodes, &search, &c).await?;
            checkpoint = Some(c);
            if batch.len() < BATCH as usize {
                break;
            }
        }
        Ok(checkpoint)
    }

    fn sign(&self, f: &Frontier) -> StoredCheckpoint {
        let c = Checkpoint {
            size: f.size(),
            root: f.root(),
            ts_ms: now_ms(),
        };
        let held = self.log().held();
        let signer = &held.signer;
        StoredCheckpoint {
            size: c.size as i64,
            root: to_hex(&c.root),
            ts_ms: c.ts_ms,
            key_id: hex::encode(signer.public().id()),
            note: signer.sign_checkpoint(&c),
        }
    }

    /// The checkpoint to prove against: the one over exactly `size` entries, or the
    /// newest.
    async fn checkpoint_for(&self, size: Option<u64>) -> Result<StoredCheckpoint> {
        let c = match size {
            Some(s) => self.db().checkpoint_at(s as i64).await?,
            None => self.db().latest_checkpoint().await?,
        };
        c.ok_or(AppError::NotFound)
    }

    /// Runs a proof generator in two passes: record the nodes it needs, fetch them in
    /// one go, then compute.
    async fn with_nodes<T>(
        &self,
        generate: impl Fn(&mut dyn FnMut(u32, u64) -> Option<Hash>) -> Option<T>,
    ) -> Result<T> {
        let mut rec = NodeRecorder::default();
        let mut record = |l, i| merkle::Nodes::node(&mut rec, l, i).ok();
        let _ = generate(&mut record);
        let map = self.db().tree_nodes(&rec.wanted).await?;
        let mut lookup = |l, i| map.get(&(l, i)).copied();
        generate(&mut lookup).ok_or_else(|| corrupt("a proof node is missing"))
    }

    /// The inclusion proof of entry `seq` in the checkpoint over `size` entries (the
    /// newest when `None`). Not found until a checkpoint covers the entry.
    pub async fn inclusion(&self, seq: u64, size: Option<u64>) -> Result<Inclusion> {
        let checkpoint = self.checkpoint_for(size).await?;
        let size = checkpoint.size as u64;
        if seq == 0 || seq > size {
            return Err(AppError::NotFound);
        }
        let index = seq - 1;
        let (leaf_hash, proof) = self
            .with_nodes(|get| {
                let mut src = Fetch(get);
                let leaf = merkle::Nodes::node(&mut src, 0, index).ok()?;
                let proof = merkle::inclusion_proof(&mut src, index, size).ok()?;
                Some((leaf, proof))
            })
            .await?;
        Ok(Inclusion {
            index,
            leaf_hash,
            proof,
            checkpoint,
        })
    }

    /// The consistency proof between the checkpoints over `first` and `second`
    /// entries (both must have been signed).
    pub async fn consistency(
        &self,
        first: u64,
        second: u64,
    ) -> Result<(StoredCheckpoint, StoredCheckpoint, Vec<Hash>)> {
        if first > second {
            return Err(AppError::Conflict("first_after_second"));
        }
        let a = self.checkpoint_for(Some(first)).await?;
        let b = self.checkpoint_for(Some(second)).await?;
        let proof = self
            .with_nodes(|get| merkle::consistency_proof(&mut Fetch(get), first, second).ok())
            .await?;
        Ok((a, b, proof))
    }
}

impl App {
    /// Compares the database with `saved`: the newest checkpoint this server signed, as
    /// kept outside the database (a file beside the keys, a backup manifest). Returns why
    /// the database does not extend it (rolled back, restored from an older copy, or
    /// rewritten), or `None` when it does.
    pub async fn behind_saved_checkpoint(&self, saved: &str) -> Result<Option<String>> {
        let history = self.log_key_history().await?;
        let keys = tekkan_audit::signed::accepted_keys(&[self.log_public_key()], &history);
        let saved = match tekkan_audit::signed::open_checkpoint(saved, &keys) {
            Ok(s) => s.checkpoint,
            Err(e) => {
                return Ok(Some(format!(
                    "the saved checkpoint does not verify under this server's log keys ({e})"
                )));
            }
        };
        let (size, root) = match self.db().latest_checkpoint().await? {
            Some(c) => (
                c.size as u64,
                from_hex(&c.root).ok_or_else(|| corrupt("a checkpoint root is malformed"))?,
            ),
            None => (0, [0; 32]),
        };
        if size < saved.size {
            return Ok(Some(format!(
                "the database is behind its newest signed checkpoint: it covers {size} audit \
                 entries, but {} were signed and acknowledged (rolled back, or an older copy)",
                saved.size
            )));
        }
        let proof = match size == saved.size {
            true => Vec::new(),
            false => {
                self.with_nodes(|get| {
                    merkle::consistency_proof(&mut Fetch(get), saved.size, size).ok()
                })
                .await?
            }
        };
        if !merkle::verify_consistency(saved.size, size, &saved.root, &root, &proof) {
            return Ok(Some(format!(
                "the database's audit log no longer extends its newest signed checkpoint \
                 over {} entries (rewritten)",
                saved.size
            )));
        }
        Ok(None)
    }

    /// The operator keeps a database that is behind its saved checkpoint: the decision
    /// (the size that was signed, and why it no longer holds) becomes an audit entry,
    /// and the checkpoint over it is returned, to be saved in place of the old one.
    pub async fn accept_rollback(&self, saved_size: u64, reason: &str) -> Result<StoredCheckpoint> {
        let tx = self.db().begin().await?;
        let ev = crate::actor::system_event(
            "audit.rollback_accepted",
            format!("checkpoint:{saved_size}"),
            &reason,
        );
        tx.commit(vec![ev]).await?;
        self.checkpoint()
            .await?
            .ok_or_else(|| corrupt("no checkpoint after the acceptance"))
    }

    /// Refuses every write from now on and reports degraded, for `reason`, until the
    /// operator decides (`tekkan audit accept-rollback`, or a restore).
    pub fn hold_writes(&self, reason: String) {
        tracing::error!(
            %reason,
            "ROLLBACK DETECTED: writes are refused until the operator decides \
             (restore a newer backup, or run `tekkan audit accept-rollback`)"
        );
        self.db().hold_writes(reason.clone());
        self.health().set("rollback", Some(reason));
    }
}

/// Adapts a lookup closure to the generators' node source.
struct Fetch<'a>(&'a mut dyn FnMut(u32, u64) -> Option<Hash>);

impl merkle::Nodes for Fetch<'_> {
    type Error = ();
    fn node(&mut self, level: u32, index: u64) -> Result<Hash, ()> {
        (self.0)(level, index).ok_or(())
    }
}
