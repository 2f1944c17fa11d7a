//! Audit exports an auditor verifies offline (`tekkan audit verify --export`): a club's
//! entries with their inclusion proofs, for its officers, and the whole log.

use std::collections::HashMap;

use tekkan_audit::export::{EntryLine, FORMAT, Header, KeyLine};
use tekkan_audit::merkle::{self, NodeRecorder};
use tekkan_audit::{Entry, Hash, to_hex};
use tekkan_core::{ClubId, Permission};

use crate::{Actor, App, AppError, Result};

fn line<T: serde::Serialize>(v: &T, out: &mut Vec<u8>) -> Result<()> {
    serde_json::to_writer(&mut *out, v).map_err(|e| AppError::Internal(e.to_string()))?;
    out.push(b'\n');
    Ok(())
}

/// The record an entry commits to, for the export: a `.signed` entry's signed action, a
/// passkey enrolment's key.
fn signed_record(e: &Entry, records: &HashMap<String, String>) -> Option<String> {
    let carries = e
        .event
        .action
        .ends_with(tekkan_audit::action::SIGNED_SUFFIX)
        || tekkan_audit::passkey_keys::is_key_entry(e);
    carries
        .then(|| records.get(&to_hex(&e.event.change_digest)).cloned())
        .flatten()
}

/// The passkeys whose signatures `entries` carry.
fn signing_keys(entries: &[Entry], records: &HashMap<String, String>) -> Vec<String> {
    let mut ids: Vec<String> = entries
        .iter()
        .filter(|e| {
            e.event
                .action
                .ends_with(tekkan_audit::action::SIGNED_SUFFIX)
        })
        .filter_map(|e| records.get(&to_hex(&e.event.change_digest)))
        .filter_map(|r| serde_json::from_str::<tekkan_audit::action::SignedAction>(r).ok())
        .map(|r| r.credential_id)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

impl App {
    async fn header(&self, scope: String, all_checkpoints: bool) -> Result<(Header, u64)> {
        let keys = self.log_key_history().await?;
        let latest = self.db().latest_checkpoint().await?;
        let size = latest.as_ref().map_or(0, |c| c.size as u64);
        let checkpoints = match all_checkpoints {
            true => self
                .db()
                .checkpoints()
                .await?
                .into_iter()
                .map(|c| c.note)
                .collect(),
            false => Vec::new(),
        };
        Ok((
            Header {
                format: FORMAT.into(),
                scope,
                keys: keys.iter().map(KeyLine::from_record).collect(),
                checkpoint: latest.map(|c| c.note),
                checkpoints,
            },
            size,
        ))
    }

    /// A club's audit trail as JSON Lines, each entry with its inclusion proof in the
    /// newest checkpoint. Owners and officers only; the export is itself audited.
    pub async fn club_audit_export(&self, actor: &Actor, club: ClubId) -> Result<Vec<u8>> {
        self.authorize(actor, club, Permission::ViewAudit).await?;
        let (header, size) = self.header(format!("club:{club}"), false).await?;
        let mut entries = self.db().club_audit_entries(&club.to_string()).await?;
        let records = self.db().signed_actions().await?;
        // The enrolments of the keys its officers signed with, so that an auditor checks
        // each signature against a key the log vouches for.
        let keys = self
            .db()
            .passkey_entries(&signing_keys(&entries, &records))
            .await?;
        let club_entries = entries.len();
        entries.extend(keys);
        entries.sort_unstable_by_key(|e| e.seq);
        entries.dedup_by_key(|e| e.seq);
        let proofs = self.proofs(&entries, size).await?;
        let mut out = Vec::with_capacity(entries.len() * 600);
        line(&header, &mut out)?;
        for (e, p) in entries.iter().zip(proofs) {
            line(
                &EntryLine::from_entry(e, p, signed_record(e, &records)),
                &mut out,
            )?;
        }
        self.check_step_up(actor).await?;
        let tx = self.db().begin().await?;
        self.observe_sensitive_read(actor, "audit.exported", &format!("club:{club}"));
        let ev = actor.event(
            Some(club),
            "audit.exported",
            format!("club:{club}"),
            &(club_entries, size),
        );
        tx.commit(vec![ev]).await?;
        Ok(out)
    }

    /// Inclusion proofs of `entries` in the tree of `size` leaves (`None` for entries
    /// after it). All the nodes needed are fetched in one pass.
    async fn proofs(&self, entries: &[Entry], size: u64) -> Result<Vec<Option<Vec<String>>>> {
        let covered = |e: &Entry| e.seq >= 1 && e.seq <= size;
        let mut rec = NodeRecorder::default();
        for e in entries.iter().filter(|e| covered(e)) {
            let _ = merkle::inclusion_proof(&mut rec, e.seq - 1, size);
        }
        rec.wanted.sort_unstable();
        rec.wanted.dedup();
        let mut nodes: HashMap<(u32, u64), Hash> = self.db().tree_nodes(&rec.wanted).await?;
        entries
            .iter()
            .map(|e| match covered(e) {
                false => Ok(None),
                true => merkle::inclusion_proof(&mut nodes, e.seq - 1, size)
                    .map(|p| Some(p.iter().map(to_hex).collect()))
                    .map_err(|e| AppError::Internal(format!("audit proof: {e}"))),
            })
            .collect()
    }

    /// The whole log as JSON Lines, with every checkpoint: `tekkan audit export`.
    pub async fn full_audit_export(&self) -> Result<Vec<u8>> {
        self.integrate_log(true).await?;
        let (header, _) = self.header("all".into(), true).await?;
        let mut out = Vec::new();
        line(&header, &mut out)?;
        let records = self.db().signed_actions().await?;
        let mut from = 1;
        loop {
            let batch = self.db().audit_entries_from(from, 20_000).await?;
            let Some(last) = batch.last() else { break };
            from = last.seq as i64 + 1;
            for e in &batch {
                line(
                    &EntryLine::from_entry(e, None, signed_record(e, &records)),
                    &mut out,
                )?;
            }
        }
        Ok(out)
    }
}
