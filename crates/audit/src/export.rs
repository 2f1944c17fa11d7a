//! The export an auditor verifies offline: JSON Lines, a header then one entry per line.
//! A whole-log export carries every entry and every checkpoint; a club's export carries
//! that club's entries, each with its inclusion proof in the header's checkpoint.

use std::io::BufRead;

use serde::{Deserialize, Serialize};

use crate::log::{LogError, LogReport, verify_log};
use crate::merkle::verify_inclusion;
use crate::signed::{KeyRecord, PublicKey, SignError, accepted_keys, open_checkpoint};
use crate::{Entry, Event, from_hex, to_hex};

pub const FORMAT: &str = "tekkan-audit-export-v1";

/// The first line.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Header {
    pub format: String,
    /// `all`, or `club:<id>` for one club's entries with proofs.
    pub scope: String,
    pub keys: Vec<KeyLine>,
    /// The checkpoint the proofs are against (the newest when exported).
    pub checkpoint: Option<String>,
    /// Every checkpoint (whole-log exports only).
    #[serde(default)]
    pub checkpoints: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyLine {
    pub public_key: String,
    pub by_previous: Option<String>,
    pub by_this: Option<String>,
}

/// One entry, hashes in hex; `proof` only in club exports.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EntryLine {
    pub seq: u64,
    pub ts_ms: i64,
    pub actor_account: Option<String>,
    pub actor_session: Option<String>,
    pub club: Option<String>,
    pub action: String,
    pub target: String,
    pub change_digest: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub prev_hash: String,
    pub hash: String,
    /// How the hash is formed (see [`crate::Format`]); exports from before schema 19
    /// have no such field and are V1.
    #[serde(default = "legacy_format")]
    pub format: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<Vec<String>>,
    /// For a passkey-signed action: the signed record the entry commits to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed: Option<String>,
}

fn legacy_format() -> u8 {
    1
}

impl EntryLine {
    pub fn from_entry(e: &Entry, proof: Option<Vec<String>>, signed: Option<String>) -> Self {
        let v = &e.event;
        Self {
            seq: e.seq,
            ts_ms: e.ts_ms,
            actor_account: v.actor_account.clone(),
            actor_session: v.actor_session.clone(),
            club: v.club.clone(),
            action: v.action.clone(),
            target: v.target.clone(),
            change_digest: to_hex(&v.change_digest),
            ip: v.ip.clone(),
            user_agent: v.user_agent.clone(),
            prev_hash: to_hex(&e.prev_hash),
            hash: to_hex(&e.hash),
            format: e.format.number(),
            proof,
            signed,
        }
    }

    fn entry(self, line: usize) -> Result<Entry, ExportError> {
        let h = |s: &str| from_hex(s).ok_or(ExportError::Line(line));
        Ok(Entry {
            seq: self.seq,
            ts_ms: self.ts_ms,
            event: Event {
                actor_account: self.actor_account,
                actor_session: self.actor_session,
                club: self.club,
                action: self.action,
                target: self.target,
                change_digest: h(&self.change_digest)?,
                ip: self.ip,
                user_agent: self.user_agent,
            },
            prev_hash: h(&self.prev_hash)?,
            hash: h(&self.hash)?,
            format: crate::Format::from_number(self.format.into())
                .ok_or(ExportError::Line(line))?,
        })
    }
}

impl KeyLine {
    pub fn from_record(k: &KeyRecord) -> Self {
        Self {
            public_key: k.key.encode(),
            by_previous: k.by_previous.clone(),
            by_this: k.by_this.clone(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("line {0}: not a valid export line")]
    Line(usize),
    #[error("not a {FORMAT} file")]
    Format,
    #[error("reading the export: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Log(#[from] LogError),
    #[error("the export's checkpoint: {0}")]
    Checkpoint(SignError),
    #[error("entry {seq}: content does not match its hash (altered)")]
    Altered { seq: u64 },
    #[error("entry {seq}: its inclusion proof does not lead to the signed checkpoint")]
    NotIncluded { seq: u64 },
    #[error("entry {seq} belongs to another scope than the export's")]
    OutOfScope { seq: u64 },
    #[error("saved checkpoint: {0}")]
    Saved(SignError),
    #[error(transparent)]
    Signed(#[from] crate::action::SignedError),
}

/// What an export's verification established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportReport {
    /// A whole-log export, verified like the database itself.
    All(LogReport),
    /// A club's entries: how many were proven in the signed checkpoint, and how many
    /// came after it (their hashes hold, their inclusion is not signed yet).
    Club {
        proven: u64,
        after_checkpoint: u64,
        checkpoint_size: u64,
    },
}

/// Verifies an export read from `input`, trusting `trusted`; with `saved`, also that the
/// log has not been rolled back or rewritten since that checkpoint (whole-log exports).
pub fn verify_export<R: BufRead>(
    input: R,
    trusted: &[PublicKey],
    saved: Option<&str>,
) -> Result<ExportReport, ExportError> {
    let mut lines = input.lines();
    let first = lines.next().ok_or(ExportError::Format)??;
    let header: Header = serde_json::from_str(&first).map_err(|_| ExportError::Format)?;
    if header.format != FORMAT {
        return Err(ExportError::Format);
    }
    let history = header
        .keys
        .iter()
        .map(|k| {
            Ok(KeyRecord {
                key: PublicKey::parse(&k.public_key).map_err(|_| ExportError::Line(1))?,
                by_previous: k.by_previous.clone(),
                by_this: k.by_this.clone(),
            })
        })
        .collect::<Result<Vec<_>, ExportError>>()?;
    let mut entries = Vec::new();
    let mut records = std::collections::HashMap::new();
    for (i, line) in lines.enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let e: EntryLine = serde_json::from_str(&line).map_err(|_| ExportError::Line(i + 2))?;
        if let Some(r) = &e.signed {
            records.insert(e.change_digest.clone(), r.clone());
        }
        entries.push((i + 2, e));
    }
    if header.scope == "all" {
        let all = entries
            .into_iter()
            .map(|(n, e)| e.entry(n))
            .collect::<Result<Vec<_>, _>>()?;
        crate::action::verify_signed(&all, &records)?;
        return Ok(ExportReport::All(verify_log(
            all,
            &header.checkpoints,
            &history,
            trusted,
            saved,
        )?));
    }
    let club = header
        .scope
        .strip_prefix("club:")
        .ok_or(ExportError::Format)?;
    let keys = accepted_keys(trusted, &history);
    let cp = match &header.checkpoint {
        Some(note) => Some(
            open_checkpoint(note, &keys)
                .map_err(ExportError::Checkpoint)?
                .checkpoint,
        ),
        None => None,
    };
    if let Some(note) = saved {
        open_checkpoint(note, &keys).map_err(ExportError::Saved)?;
    }
    let mut lines = Vec::with_capacity(entries.len());
    for (n, line) in entries {
        let proof = line.proof.clone();
        let e = line.entry(n)?;
        // The passkey enrolments that vouch for the club's signers travel with it.
        let in_scope = e.event.club.as_deref() == Some(club)
            || (e.event.club.is_none() && crate::passkey_keys::is_key_entry(&e));
        if !in_scope {
            return Err(ExportError::OutOfScope { seq: e.seq });
        }
        if lines
            .last()
            .is_some_and(|(_, p, _): &(usize, Entry, _)| p.seq >= e.seq)
        {
            return Err(ExportError::Line(n));
        }
        if e.computed_hash() != e.hash {
            return Err(ExportError::Altered { seq: e.seq });
        }
        lines.push((n, e, proof));
    }
    crate::action::verify_signed(lines.iter().map(|(_, e, _)| e), &records)?;
    let (mut proven, mut after) = (0, 0);
    for (n, e, proof) in lines {
        match (&cp, proof) {
            (Some(c), Some(p)) if e.seq <= c.size => {
                let p = p
                    .iter()
                    .map(|h| from_hex(h).ok_or(ExportError::Line(n)))
                    .collect::<Result<Vec<_>, _>>()?;
                if !verify_inclusion(&e.leaf_hash(), e.seq - 1, c.size, &p, &c.root) {
                    return Err(ExportError::NotIncluded { seq: e.seq });
                }
                proven += 1;
            }
            (Some(c), _) if e.seq <= c.size => return Err(ExportError::NotIncluded { seq: e.seq }),
            _ => after += 1,
        }
    }
    Ok(ExportReport::Club {
        proven,
        after_checkpoint: after,
        checkpoint_size: cp.map_or(0, |c| c.size),
    })
}
