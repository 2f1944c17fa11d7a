//! The verifiable log's tables: the Merkle tree's perfect subtrees, the signed
//! checkpoints and the checkpoint keys' public history. These are bookkeeping rows
//! derived from the audit chain (not state changes of their own), so they are written
//! directly, and only ever appended.

use crate::sql::{Builder, Row, q, scalar};
use std::collections::HashMap;

use tekkan_audit::Hash;
use tekkan_audit::merkle::Frontier;

use crate::{Db, Result, StorageError};

/// Perfect subtrees from this level up are stored; the ones below (up to 8 leaves) are
/// cheaper to recompute from the log than to write for every entry.
pub const STORED_FROM_LEVEL: u32 = 4;

/// Rows per multi-row INSERT (3 binds each, far below SQLite's limit).
const ROWS_PER_INSERT: usize = 500;

/// A checkpoint as stored: its fields and the signed note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    pub size: i64,
    pub root: String,
    pub ts_ms: i64,
    pub key_id: String,
    pub note: String,
}

/// One checkpoint key of the public history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRow {
    pub position: i64,
    pub public_key: String,
    pub added_at: i64,
    pub by_previous: Option<String>,
    pub by_this: Option<String>,
}

fn hash_of(v: Vec<u8>, level: u32, idx: u64) -> Result<Hash> {
    v.try_into()
        .map_err(|_| StorageError::Corrupt(format!("audit node ({level}, {idx}) is not a hash")))
}

fn checkpoint_row(r: &Row) -> Result<StoredCheckpoint> {
    Ok(StoredCheckpoint {
        size: r.try_get("size")?,
        root: r.try_get("root")?,
        ts_ms: r.try_get("ts_ms")?,
        key_id: r.try_get("key_id")?,
        note: r.try_get("note")?,
    })
}

impl Db {
    /// How many entries the stored tree covers: the newest checkpoint's size (nodes,
    /// search keys and checkpoint are written together).
    pub async fn tree_size(&self) -> Result<u64> {
        let max: Option<i64> = scalar("SELECT MAX(size) FROM audit_checkpoints")
            .fetch_one(&self.reader)
            .await?;
        Ok(max.map_or(0, |m| m as u64))
    }

    /// The perfect-subtree hashes at `keys`; a missing one is corruption. Subtrees below
    /// [`STORED_FROM_LEVEL`] are not stored: they are recomputed from the (at most 8)
    /// entries they cover.
    pub async fn tree_nodes(&self, keys: &[(u32, u64)]) -> Result<HashMap<(u32, u64), Hash>> {
        let mut conn = self.reader.acquire().await?;
        let mut out = HashMap::with_capacity(keys.len());
        for &(level, idx) in keys {
            if out.contains_key(&(level, idx)) {
                continue;
            }
            if level < STORED_FROM_LEVEL {
                let width = 1u64 << level;
                let first = idx * width;
                let hashes: Vec<String> =
                    scalar("SELECT hash FROM audit_log WHERE seq > $1 AND seq <= $2 ORDER BY seq")
                        .bind(first as i64)
                        .bind((first + width) as i64)
                        .fetch_all(&mut conn)
                        .await?;
                let mut row: Vec<Hash> = hashes
                    .iter()
                    .map(|h| tekkan_audit::from_hex(h).map(|h| tekkan_audit::merkle::leaf_hash(&h)))
                    .collect::<Option<_>>()
                    .ok_or_else(|| StorageError::Corrupt("audit entry hash".into()))?;
                if row.len() as u64 != width {
                    return Err(StorageError::Corrupt(format!(
                        "audit entries of node ({level}, {idx}) are missing"
                    )));
                }
                while row.len() > 1 {
                    row = row
                        .chunks(2)
                        .map(|p| tekkan_audit::merkle::node_hash(&p[0], &p[1]))
                        .collect();
                }
                out.insert((level, idx), row[0]);
                continue;
            }
            let h: Option<Vec<u8>> =
                scalar("SELECT hash FROM audit_nodes WHERE level = $1 AND idx = $2")
                    .bind(level as i64)
                    .bind(idx as i64)
                    .fetch_optional(&mut conn)
                    .await?;
            let h = h.ok_or_else(|| {
                StorageError::Corrupt(format!("audit node ({level}, {idx}) is missing"))
            })?;
            out.insert((level, idx), hash_of(h, level, idx)?);
        }
        Ok(out)
    }

    /// The right edge of the stored tree, to append to.
    pub async fn tree_frontier(&self) -> Result<Frontier> {
        let size = self.tree_size().await?;
        let mut nodes = self.tree_nodes(&Frontier::keys(size)).await?;
        Frontier::load(&mut nodes, size).map_err(|e| StorageError::Corrupt(e.to_string()))
    }

    /// Appends the tree's new nodes (those stored), the new entries' search keys and the
    /// checkpoint over the new tree, at once.
    pub async fn extend_tree(
        &self,
        nodes: &[(u32, u64, Hash)],
        search: &[(String, i64)],
        checkpoint: &StoredCheckpoint,
    ) -> Result<()> {
        let nodes: Vec<_> = nodes
            .iter()
            .filter(|n| n.0 >= STORED_FROM_LEVEL)
            .copied()
            .collect();
        // In key order, so that consecutive inserts land on the same pages.
        let mut search: Vec<&(String, i64)> = search.iter().collect();
        search.sort_unstable();
        let mut tx = self.writer.begin_write().await?;
        // Many rows per statement: this runs on the one writer, so it is kept short.
        for chunk in search.chunks(ROWS_PER_INSERT) {
            let mut b: Builder<'_> = Builder::new("INSERT INTO audit_search (search_key, seq) ");
            b.push_values(chunk, |mut row, (key, seq)| {
                row.push_bind(key.clone()).push_bind(*seq);
            });
            b.build().execute(&mut tx).await?;
        }
        for chunk in nodes.chunks(ROWS_PER_INSERT) {
            let mut b: Builder<'_> = Builder::new("INSERT INTO audit_nodes (level, idx, hash) ");
            b.push_values(chunk, |mut row, (level, idx, hash)| {
                row.push_bind(*level as i64)
                    .push_bind(*idx as i64)
                    .push_bind(hash.to_vec());
            });
            b.build().execute(&mut tx).await?;
        }
        {
            let c = checkpoint;
            q(
                "INSERT INTO audit_checkpoints (size, root, ts_ms, key_id, note) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(c.size)
            .bind(&c.root)
            .bind(c.ts_ms)
            .bind(&c.key_id)
            .bind(&c.note)
            .execute(&mut tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The newest checkpoint.
    pub async fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>> {
        let r = q("SELECT * FROM audit_checkpoints ORDER BY size DESC LIMIT 1")
            .fetch_optional(&self.reader)
            .await?;
        r.as_ref().map(checkpoint_row).transpose()
    }

    /// The checkpoint over exactly `size` entries, if one was signed.
    pub async fn checkpoint_at(&self, size: i64) -> Result<Option<StoredCheckpoint>> {
        let r = q("SELECT * FROM audit_checkpoints WHERE size = $1")
            .bind(size)
            .fetch_optional(&self.reader)
            .await?;
        r.as_ref().map(checkpoint_row).transpose()
    }

    /// Every checkpoint, oldest first.
    pub async fn checkpoints(&self) -> Result<Vec<StoredCheckpoint>> {
        let rows = q("SELECT * FROM audit_checkpoints ORDER BY size")
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(checkpoint_row).collect()
    }

    /// The checkpoint keys, oldest first.
    pub async fn audit_keys(&self) -> Result<Vec<KeyRow>> {
        let rows = q("SELECT * FROM audit_keys ORDER BY position")
            .fetch_all(&self.reader)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(KeyRow {
                    position: r.try_get("position")?,
                    public_key: r.try_get("public_key")?,
                    added_at: r.try_get("added_at")?,
                    by_previous: r.try_get("by_previous")?,
                    by_this: r.try_get("by_this")?,
                })
            })
            .collect()
    }

    /// Appends a key to the history (its succession signatures given for every key
    /// after the first).
    pub async fn add_audit_key(
        &self,
        public_key: &str,
        by_previous: Option<&str>,
        by_this: Option<&str>,
    ) -> Result<()> {
        q(
            "INSERT INTO audit_keys (position, public_key, added_at, by_previous, by_this) \
             VALUES ((SELECT COALESCE(MAX(position), 0) + 1 FROM audit_keys), $1, $2, $3, $4)",
        )
        .bind(public_key)
        .bind(crate::now_ms())
        .bind(by_previous)
        .bind(by_this)
        .execute(&self.writer)
        .await?;
        Ok(())
    }
}
