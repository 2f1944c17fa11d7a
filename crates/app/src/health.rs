//! What `/healthz` reports beyond "the database answers": the outcome of the last
//! integrity check of the database file, of the last verification of the audit chain,
//! and of the last checkpoint. A failure stays reported until a later check passes,
//! so a load balancer and the operator see a degraded server, not a healthy one.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::{App, Result};

/// The faults found by the latest checks, by what was checked.
#[derive(Default)]
pub(crate) struct Health {
    faults: Mutex<BTreeMap<&'static str, String>>,
}

impl Health {
    pub(crate) fn set(&self, what: &'static str, fault: Option<String>) {
        if let Ok(mut f) = self.faults.lock() {
            match fault {
                Some(why) => {
                    if f.get(what) != Some(&why) {
                        tracing::error!(check = what, fault = %why, "HEALTH CHECK FAILED: the server reports degraded");
                    }
                    f.insert(what, why);
                }
                None => {
                    if f.remove(what).is_some() {
                        tracing::warn!(check = what, "health check passes again");
                    }
                }
            }
        }
    }
}

impl App {
    /// The current faults (empty when healthy): (what was checked, what is wrong).
    pub fn health_faults(&self) -> Vec<(String, String)> {
        self.inner
            .health
            .faults
            .lock()
            .map(|f| {
                f.iter()
                    .map(|(k, v)| ((*k).to_owned(), v.clone()))
                    .collect()
            })
            .unwrap_or_else(|_| vec![("health".into(), "state unreadable".into())])
    }

    pub(crate) fn health(&self) -> &Health {
        &self.inner.health
    }

    /// Runs SQLite's quick check over the database and verifies every hash and link of
    /// the audit chain; records what each found. Reads only (from the read pool), so
    /// writers are never held up. Returns whether both passed.
    pub async fn run_health_check(&self) -> Result<bool> {
        let problems = self.db().quick_check().await;
        let integrity = match problems {
            Ok(p) if p.is_empty() => None,
            Ok(p) => Some(format!("database integrity: {}", p.join("; "))),
            Err(e) => Some(format!("database integrity check could not run: {e}")),
        };
        let chain = match (
            self.db().audit_entries().await,
            self.db().audit_head().await,
        ) {
            (Ok(entries), Ok(head)) => tekkan_audit::verify(entries, head, None)
                .err()
                .map(|e| format!("audit chain: {e}")),
            (Err(e), _) | (_, Err(e)) => Some(format!("audit chain could not be read: {e}")),
        };
        let ok = integrity.is_none() && chain.is_none();
        self.health().set("integrity", integrity);
        self.health().set("audit_chain", chain);
        Ok(ok)
    }
}
