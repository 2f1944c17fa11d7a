//! Backups as the application sees them: a consistent snapshot of the database and the
//! key store, and the record of each run. A run with a failed destination is audited
//! and told to every operator on every channel (like security notices, it cannot be
//! switched off). Sealing and sending live in `tekkan-backup`; files are the CLI's.

use std::path::Path;

use tekkan_storage::now_ms;

use crate::actor::{Origin, event};
use crate::notify::{Notice, NoticeKind, notify};
use crate::{App, Result};

impl App {
    /// Signs a checkpoint over every entry so far, then copies the database, then the
    /// key store (after, so that every sealed row in the copy has its key, unless the
    /// key was destroyed meanwhile, which is what erasure means). A checkpoint that
    /// cannot be signed (another process holding the write lock, or a chain that does
    /// not hold) does not stop the backup: the copy carries the newest signed one, and
    /// verifying the backup names any fault.
    pub async fn snapshot_into(&self, db: &Path, keys: &Path) -> Result<()> {
        if let Err(e) = self.checkpoint().await {
            tracing::error!(error = %e, "no checkpoint signed before the backup snapshot");
        }
        self.db().snapshot_into(db).await?;
        self.keystore().snapshot_into(keys).await?;
        Ok(())
    }

    /// Records a backup run; notifies the operators when a destination failed. Returns
    /// how many operators were notified.
    pub async fn record_backup(
        &self,
        id: &str,
        stored: &[String],
        failed: &[(String, String)],
    ) -> Result<usize> {
        let now = now_ms();
        let mut tx = self.db().begin().await?;
        let mut told = 0;
        if !failed.is_empty() {
            let operators = tx.operator_accounts().await?;
            let n = Notice {
                kind: NoticeKind::Security,
                club: None,
                params: serde_json::json!({
                    "what": "backup_failed",
                    "backup": id,
                    "destinations": failed.iter().map(|f| &f.0).collect::<Vec<_>>(),
                }),
                url: "/".into(),
            };
            told = notify(&mut tx, self.channels(), operators, None, &n, now).await?;
        }
        let action = match (stored.is_empty(), failed.is_empty()) {
            (_, true) => "backup.completed",
            (false, false) => "backup.partial",
            (true, false) => "backup.failed",
        };
        let change = serde_json::json!({ "stored": stored, "failed": failed });
        let ev = event(
            None,
            None,
            &Origin::default(),
            None,
            action,
            format!("backup:{id}"),
            &change,
        );
        tx.commit(vec![ev]).await?;
        Ok(told)
    }
}
