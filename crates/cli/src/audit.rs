//! `tekkan audit verify` and `tekkan audit export`: the outside verifier over a data
//! directory (a copy of the database and, when present, the key files) or over an
//! export file with nothing but a public key.

use std::io::BufReader;
use std::path::{Path, PathBuf};

use tekkan_audit::signed::{KeyRecord, PublicKey};
use tekkan_storage::Db;

use crate::config::Config;
use crate::{CliError, keys};

/// What the verifier concluded, as printed.
pub enum Verdict {
    Intact(String),
    Tampered(String),
}

/// Where the verifier's trust comes from.
pub struct Trust {
    /// `--pubkey` values: a key (`name+id+base64`) or a file holding one per line.
    pub pubkeys: Vec<String>,
    /// `--checkpoint`: a signed note saved earlier.
    pub saved: Option<PathBuf>,
}

/// A command-line input that cannot be used (a bad key, a missing option).
pub(crate) fn invalid(msg: String) -> CliError {
    CliError::Io(std::io::Error::new(std::io::ErrorKind::InvalidInput, msg))
}

impl Trust {
    fn keys(&self) -> Result<Vec<PublicKey>, CliError> {
        let mut out = Vec::new();
        for k in &self.pubkeys {
            let text = match Path::new(k).is_file() {
                true => std::fs::read_to_string(k)?,
                false => k.clone(),
            };
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                out.push(
                    PublicKey::parse(line)
                        .map_err(|_| invalid(format!("not a public key: {line}")))?,
                );
            }
        }
        Ok(out)
    }

    fn saved(&self) -> Result<Option<String>, CliError> {
        Ok(match &self.saved {
            Some(p) => Some(std::fs::read_to_string(p)?),
            None => None,
        })
    }
}

/// Verifies an export file offline.
pub fn verify_export(file: &Path, trust: &Trust) -> Result<Verdict, CliError> {
    let keys = trust.keys()?;
    if keys.is_empty() {
        return Err(invalid("--export needs --pubkey".into()));
    }
    let saved = trust.saved()?;
    let input = BufReader::new(std::fs::File::open(file)?);
    Ok(
        match tekkan_audit::export::verify_export(input, &keys, saved.as_deref()) {
            Ok(tekkan_audit::export::ExportReport::All(r)) => Verdict::Intact(format!(
                "audit export OK: {} entries, {} checkpoints verified (signed up to {})",
                r.entries, r.checkpoints, r.signed_size
            )),
            Ok(tekkan_audit::export::ExportReport::Club {
                proven,
                after_checkpoint,
                checkpoint_size,
            }) => Verdict::Intact(format!(
                "audit export OK: {proven} entries proven in the checkpoint over \
                 {checkpoint_size} entries; {after_checkpoint} newer entries not yet signed for"
            )),
            Err(e) => Verdict::Tampered(e.to_string()),
        },
    )
}

/// Verifies a data directory: the chain and its head (with `secrets/audit.key` when
/// present), then the Merkle tree against every signed checkpoint and a saved one.
pub async fn verify_data_dir(cfg: &Config, trust: &Trust) -> Result<Verdict, CliError> {
    let at = cfg.database();
    if at.is_new().await? {
        return Err(CliError::Io(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("no database at {}", at.redacted()),
        )));
    }
    let secrets = cfg.data_dir.join("secrets");
    let read_key = |name: &str| -> Option<Vec<u8>> {
        let text = std::fs::read_to_string(secrets.join(name)).ok()?;
        hex::decode(text.trim()).ok()
    };
    let audit_key = read_key("audit.key");
    let key = audit_key.clone().unwrap_or_default();
    // The database under examination is evidence: it is never opened for writing
    // (opening would apply migrations and checkpoint the WAL). Of a SQLite file a
    // scratch copy is read; PostgreSQL is read without migrating or writing.
    let (db, _scratch) = match &at {
        tekkan_storage::Location::Sqlite(path) => {
            let scratch = Scratch::copy_of(path)?;
            (Db::open(&scratch.db, key).await?, Some(scratch))
        }
        tekkan_storage::Location::Postgres(url) => (Db::inspect_postgres(url, key).await?, None),
    };
    let loaded = async {
        Ok::<_, CliError>((
            db.audit_entries().await?,
            db.audit_head().await?,
            db.checkpoints().await?,
            db.audit_keys().await?,
            db.signed_actions().await?,
            // Live rows against their seals: only with the key that made them.
            match audit_key {
                Some(_) => Some(db.verify_row_seals().await?),
                None => None,
            },
        ))
    }
    .await;
    db.close().await;
    let (entries, head, checkpoints, key_rows, records, seals) = loaded?;
    if let Some(m) = seals.as_ref().and_then(|s| s.mismatch.clone()) {
        return Ok(Verdict::Tampered(format!("live data: {m}")));
    }
    let signed = match tekkan_audit::action::verify_signed(&entries, &records) {
        Ok(n) => n,
        Err(e) => return Ok(Verdict::Tampered(e.to_string())),
    };
    let chain = tekkan_audit::verify(entries.clone(), head, audit_key.as_deref());
    let chain = match chain {
        Ok(r) => r,
        Err(e) => return Ok(Verdict::Tampered(e.to_string())),
    };
    let history = key_rows
        .iter()
        .map(|k| {
            Ok(KeyRecord {
                key: PublicKey::parse(&k.public_key)
                    .map_err(|_| invalid("a stored key is malformed".into()))?,
                by_previous: k.by_previous.clone(),
                by_this: k.by_this.clone(),
            })
        })
        .collect::<Result<Vec<_>, CliError>>()?;
    // Trust what the auditor gave; else the server's own key file; else (weakest) the
    // first key the database itself lists.
    let mut trusted = trust.keys()?;
    let mut source = "--pubkey";
    if trusted.is_empty() {
        let seed = read_key(keys::LOG_FILE).and_then(|k| <[u8; 32]>::try_from(k).ok());
        if let (Some(seed), Some(newest)) = (seed, history.last()) {
            let s = tekkan_audit::signed::Signer::new(&newest.key.name, &seed);
            trusted.push(s.public());
            source = "secrets/log.key";
        } else if let Some(first) = history.first() {
            trusted.push(first.key.clone());
            source = "the database's own key history (give --pubkey for an independent check)";
        }
    }
    let notes: Vec<String> = checkpoints.into_iter().map(|c| c.note).collect();
    let saved = trust.saved()?;
    Ok(
        match tekkan_audit::log::verify_log(entries, &notes, &history, &trusted, saved.as_deref()) {
            Ok(r) => Verdict::Intact(format!(
                "audit log OK: {} entries, head authenticated: {}, {} checkpoints verified \
                 (signed up to {}) under keys trusted from {source}, {} passkey-signed \
                 actions verified against keys the log committed{}, {}{}",
                r.entries,
                chain.head_authenticated,
                r.checkpoints,
                r.signed_size,
                signed.verified,
                match signed.key_backfilled {
                    0 => String::new(),
                    n => format!(
                        " ({n} older than key commitments, their keys vouched for afterwards)"
                    ),
                },
                match &seals {
                    Some(s) => format!("{} live rows match their seals", s.rows),
                    None => "live rows not checked (no secrets/audit.key)".to_owned(),
                },
                match &saved {
                    Some(_) => ", consistent with the saved checkpoint",
                    None => "",
                }
            )),
            Err(e) => Verdict::Tampered(e.to_string()),
        },
    )
}

/// A private copy of a database file (and its WAL), removed when dropped.
struct Scratch {
    _dir: crate::backup::Work,
    db: PathBuf,
}

impl Scratch {
    fn copy_of(db: &Path) -> Result<Self, CliError> {
        let dir = crate::backup::Work::new(&std::env::temp_dir(), "verify")?;
        let copy = dir.0.join("tekkan.sqlite3");
        std::fs::copy(db, &copy)?;
        let wal = PathBuf::from(format!("{}-wal", db.display()));
        if wal.exists() {
            std::fs::copy(&wal, format!("{}-wal", copy.display()))?;
        }
        Ok(Self {
            _dir: dir,
            db: copy,
        })
    }
}

/// `tekkan audit export --out FILE`: the whole log with every checkpoint.
pub async fn export_all(cfg: &Config, out: &Path) -> Result<u64, CliError> {
    let (app, _, _) = crate::open_app(cfg).await?;
    // Sign what is there, so that the export's last checkpoint covers every entry.
    let r = match app.checkpoint().await {
        Ok(_) => app.full_audit_export().await,
        Err(e) => Err(e),
    };
    app.db().close().await;
    let body = r?;
    std::fs::write(out, &body)?;
    Ok(body.iter().filter(|b| **b == b'\n').count() as u64 - 1)
}

/// `tekkan audit verify-receipt`: the receipt's signature under a trusted key and, given
/// the JSON of `/api/v1/transparency/inclusion` for its entry (`?seq=` for a V1 receipt,
/// `?content=` for a V2 promise), its inclusion in that signed checkpoint. Offline:
/// nothing is fetched.
pub fn verify_receipt(
    receipt: &str,
    inclusion: Option<&Path>,
    trust: &Trust,
) -> Result<Verdict, CliError> {
    use tekkan_audit::signed::{AnyReceipt, open_checkpoint};
    let keys = trust.keys()?;
    if keys.is_empty() {
        return Err(invalid("verify-receipt needs --pubkey".into()));
    }
    let any = AnyReceipt::parse(receipt).map_err(|e| invalid(e.to_string()))?;
    let signed = match &any {
        AnyReceipt::Placed(r) => r.verify(&keys),
        AnyReceipt::Promised(p) => p.verify(&keys),
    };
    if let Err(e) = signed {
        return Ok(Verdict::Tampered(e.to_string()));
    }
    let Some(file) = inclusion else {
        return Ok(Verdict::Intact(match &any {
            AnyReceipt::Placed(r) => format!(
                "receipt OK: the server accepted entry {} (leaf {})",
                r.index + 1,
                tekkan_audit::to_hex(&r.leaf)
            ),
            AnyReceipt::Promised(p) => format!(
                "receipt OK: the server accepted the entry with content {} at {} ms and \
                 promised it a position within {} ms",
                tekkan_audit::to_hex(&p.content),
                p.ts_ms,
                p.mmd_ms
            ),
        }));
    };
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(file)?)
        .map_err(|_| invalid("the inclusion file is not JSON".into()))?;
    // The leaf the proof must lead to, and its index.
    let (leaf, index) = match &any {
        AnyReceipt::Placed(r) => (r.leaf, r.index),
        AnyReceipt::Promised(p) => {
            let seq = v["seq"].as_u64().filter(|s| *s > 0);
            let prev = v["prev_hash"].as_str().and_then(tekkan_audit::from_hex);
            let (Some(seq), Some(prev)) = (seq, prev) else {
                return Err(invalid(
                    "a V2 receipt needs the inclusion JSON fetched with ?content= (seq, prev_hash)"
                        .into(),
                ));
            };
            (p.leaf_at(seq, &prev), seq - 1)
        }
    };
    let note = v["checkpoint"]["note"].as_str().unwrap_or_default();
    let cp = match open_checkpoint(note, &keys) {
        Ok(c) => c.checkpoint,
        Err(e) => return Ok(Verdict::Tampered(format!("checkpoint: {e}"))),
    };
    let proof: Option<Vec<[u8; 32]>> = v["proof"].as_array().and_then(|a| {
        a.iter()
            .map(|h| h.as_str().and_then(tekkan_audit::from_hex))
            .collect()
    });
    let included = proof.is_some_and(|p| {
        tekkan_audit::merkle::verify_inclusion(&leaf, index, cp.size, &p, &cp.root)
    });
    Ok(match included {
        true => Verdict::Intact(format!(
            "receipt OK: entry {} is in the signed checkpoint over {} entries",
            index + 1,
            cp.size
        )),
        false => Verdict::Tampered(format!(
            "the receipt's entry {} is not in the checkpoint over {} entries",
            index + 1,
            cp.size
        )),
    })
}
