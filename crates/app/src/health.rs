//! What `/healthz` reports beyond "the database answers": the outcome of the last
//! integrity check of the database file, of the last verification of the audit chain,
//! of the file store's probe, and of the last checkpoint. A failure stays reported until a later check passes,
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

    /// Runs SQLite's quick check over the database, verifies every hash and link of the
    /// audit chain, and scrubs every sealed row against its seal; records what each found. Reads only (from the read pool), so
    /// writers are never held up. Returns whether both passed.
    pub async fn run_health_check(&self) -> Result<bool> {
        let integrity = match self.db().quick_check().await {
            Ok(p) if p.is_empty() => None,
            Ok(p) => Some(format!("database integrity: {}", p.join("; "))),
            Err(e) => Some(format!("database integrity check could not run: {e}")),
        };
        let chain = self.verify_chain().await;
        let seals = self.scrub_rows().await;
        let files = self.check_files().await;
        // Destroyed data keys leave no dead row version behind (see KeyStore::compact).
        if let Err(e) = self.keystore().compact().await {
            tracing::warn!(error = %e, "the data key store could not be compacted");
        }
        let ok = integrity.is_none() && chain.is_none() && seals.is_none() && files.is_none();
        self.health().set("integrity", integrity);
        self.health().set("audit_chain", chain);
        self.health().set("row_seals", seals);
        self.health().set("files", files);
        Ok(ok)
    }

    /// Whether the file store takes, returns and deletes a probe (a bucket unreachable
    /// or refusing this server's keys makes the server degraded, not dead: everything
    /// but files keeps working).
    pub async fn check_files(&self) -> Option<String> {
        match self.files().check().await {
            Ok(()) => None,
            Err(e) => Some(format!("files ({}): {e}", self.files().describe())),
        }
    }

    /// Of the rows of `kind` about to be served, those changed outside TEKKAN: each is a
    /// security event, withheld by the caller, and `/healthz` reports it until a scrub
    /// finds every row sound again.
    pub(crate) async fn tampered(&self, kind: &str, ids: Vec<String>) -> Result<Vec<String>> {
        let bad = self.db().unsealed(kind, &ids).await?;
        self.report_tampered(kind, &bad);
        Ok(bad)
    }

    pub(crate) fn report_tampered(&self, kind: &str, bad: &[String]) {
        for id in bad {
            log_tampered(kind, id);
        }
        if let Some(first) = bad.first() {
            self.health().set(
                "row_seals",
                Some(format!(
                    "row seals: {kind} {first} does not match its seal (withheld)"
                )),
            );
        }
    }

    /// The scrub: every sealed row against its seal. A mismatch is a security event
    /// (someone or something changed the data outside TEKKAN), logged as such.
    async fn scrub_rows(&self) -> Option<String> {
        match self.db().verify_row_seals().await {
            Ok(r) => r.mismatch.map(|m| {
                tracing::error!(
                    security_event = "row_tampered",
                    first = %m,
                    rows_checked = r.rows,
                    "SECURITY EVENT: live data does not match what its audited write sealed"
                );
                format!("row seals: {m}")
            }),
            Err(e) => Some(format!("row seals could not be checked: {e}")),
        }
    }

    /// Walks the chain up to the head read first (entries committed after it are the
    /// next check's), a page at a time, so that memory stays flat however long the log
    /// is. The walk itself is the verifier's, on a blocking thread.
    async fn verify_chain(&self) -> Option<String> {
        const PAGE: i64 = 10_000;
        let db = self.db().clone();
        let head = match db.audit_head().await {
            Ok(h) => h,
            Err(e) => return Some(format!("audit chain could not be read: {e}")),
        };
        let last = head.as_ref().map_or(0, |h| h.seq as i64);
        let rt = tokio::runtime::Handle::current();
        let walked = tokio::task::spawn_blocking(move || {
            let mut read_error = None;
            let mut next = 1i64;
            let mut page = Vec::new().into_iter();
            let entries = std::iter::from_fn(|| {
                loop {
                    if let Some(e) = page.next() {
                        return Some(e);
                    }
                    if next > last || read_error.is_some() {
                        return None;
                    }
                    match rt.block_on(db.audit_entries_from(next, PAGE.min(last - next + 1))) {
                        Ok(v) if v.is_empty() => return None,
                        Ok(v) => {
                            next = v.last().map_or(last, |e| e.seq as i64) + 1;
                            page = v.into_iter();
                        }
                        Err(e) => read_error = Some(e),
                    }
                }
            });
            let verdict = tekkan_audit::verify(entries, head, None);
            (verdict, read_error)
        })
        .await;
        match walked {
            Ok((_, Some(e))) => Some(format!("audit chain could not be read: {e}")),
            Ok((Err(e), None)) => Some(format!("audit chain: {e}")),
            Ok((Ok(_), None)) => None,
            Err(e) => Some(format!("audit chain check failed: {e}")),
        }
    }
}

/// The security event of a row changed outside TEKKAN that was about to be used.
pub(crate) fn log_tampered(kind: &str, id: &str) {
    tracing::error!(
        security_event = "row_tampered",
        kind,
        id,
        "SECURITY EVENT: a row changed outside TEKKAN was about to be used; withheld"
    );
}
