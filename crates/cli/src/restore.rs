//! `tekkan backup verify`, `tekkan restore` and `tekkan backup keygen`: fetching a
//! backup, checking its signature and every hash, decrypting it with the operator's
//! private key, and proving the copy sound (SQLite's integrity check, the audit
//! verifier against the checkpoint the manifest names) before anything is kept.

use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use tekkan_audit::signed::PublicKey;
use tekkan_backup::age::Identity;
use tekkan_backup::{BackupError, Manifest};
use tekkan_storage::Location;
use tekkan_storage::copy::{Schema, copy};

use crate::audit::invalid;
use crate::backup::{Work, destinations};
use crate::config::Config;
use crate::{CliError, keys};

/// Where a backup is taken from, and the keys to open it.
pub struct Source {
    pub destination: String,
    /// The newest when `None`.
    pub id: Option<String>,
    pub identity_file: PathBuf,
    /// `--signer` keys, on top of `backup.trusted_signers`.
    pub signers: Vec<String>,
}

/// The manifest signers to trust: given, configured, and this data directory's own.
fn trusted(cfg: &Config, src: &Source) -> Result<Vec<PublicKey>, CliError> {
    let mut out = Vec::new();
    for k in src.signers.iter().chain(&cfg.backup.trusted_signers) {
        out.push(PublicKey::parse(k).map_err(|_| invalid(format!("not a signer key: {k}")))?);
    }
    if cfg
        .data_dir
        .join("secrets")
        .join(keys::BACKUP_FILE)
        .exists()
    {
        out.push(keys::backup_signer(&cfg.data_dir)?.public());
    }
    if out.is_empty() {
        return Err(invalid(
            "no trusted manifest signer: pass --signer (printed by `tekkan backup run`) or set \
             backup.trusted_signers"
                .into(),
        ));
    }
    Ok(out)
}

fn identities(file: &Path) -> Result<Vec<Identity>, CliError> {
    let text =
        std::fs::read_to_string(file).map_err(|e| invalid(format!("{}: {e}", file.display())))?;
    Identity::parse_file(&text).map_err(|e| CliError::Backup(e.into()))
}

/// What verification found.
pub struct Verified {
    pub manifest: Manifest,
    pub audit: String,
}

/// Fetches and unpacks into `into`, then runs every check on the copy.
async fn fetch_checked(
    cfg: &Config,
    src: &Source,
    work: &Path,
    into: &Path,
) -> Result<Verified, CliError> {
    let trusted = trusted(cfg, src)?;
    let ids = identities(&src.identity_file)?;
    let dest = destinations(cfg)?
        .into_iter()
        .find(|d| d.name == src.destination)
        .ok_or_else(|| invalid(format!("no destination named {}", src.destination)))?;
    let m = tekkan_backup::fetch(
        &dest,
        src.id.as_deref(),
        &trusted,
        &ids,
        tekkan_storage::latest_version(),
        work,
        into,
    )
    .await?;
    // The database checks and the audit verifier read different connections: run
    // them side by side (they are most of a restore's time).
    let (sound, audit) = tokio::join!(integrity(into), audit_check(cfg, &m, work, into));
    sound?;
    let audit = audit?;
    Ok(Verified { manifest: m, audit })
}

/// SQLite's integrity and foreign-key checks over the restored database and key store.
async fn integrity(into: &Path) -> Result<(), CliError> {
    for db in [
        into.join("tekkan.sqlite3"),
        into.join("secrets").join("data-keys.sqlite3"),
    ] {
        let problems = tekkan_storage::snapshot::integrity_check(&db).await?;
        if !problems.is_empty() {
            return Err(BackupError::Corrupt(format!(
                "{}: {}",
                db.file_name().unwrap_or_default().to_string_lossy(),
                problems.join("; ")
            ))
            .into());
        }
    }
    Ok(())
}

/// The audit verifier over the restored copy, against the manifest's checkpoint.
async fn audit_check(
    cfg: &Config,
    m: &Manifest,
    work: &Path,
    into: &Path,
) -> Result<String, CliError> {
    let saved = match &m.audit.checkpoint {
        Some(note) => {
            let p = work.join("checkpoint.note");
            std::fs::write(&p, note)?;
            Some(p)
        }
        None => None,
    };
    // The unpacked copy is SQLite files in `into`, whatever engine the deployment uses.
    let mut copy = cfg.clone();
    copy.data_dir = into.to_owned();
    copy.database = Default::default();
    let trust = crate::audit::Trust {
        pubkeys: Vec::new(),
        saved,
    };
    match crate::audit::verify_data_dir(&copy, &trust).await? {
        crate::audit::Verdict::Intact(t) => Ok(t),
        crate::audit::Verdict::Tampered(t) => {
            Err(BackupError::Corrupt(format!("audit log: {t}")).into())
        }
    }
}

/// `tekkan backup verify`: everything a restore does, into a scratch directory.
pub async fn verify(cfg: &Config, src: &Source) -> Result<Verified, CliError> {
    let work = Work::new(&std::env::temp_dir(), "verify")?;
    let into = work.0.join("data");
    keys::private_dir(&into)?;
    fetch_checked(cfg, src, &work.0, &into).await
}

/// Whether `dir` holds a data directory (a database or keys).
fn live(dir: &Path) -> bool {
    crate::db_path(dir).exists() || dir.join("secrets").exists()
}

/// `tekkan restore`: rebuilds `cfg.data_dir` from a backup, and on PostgreSQL the
/// database and key store the configuration names (a backup of either engine restores
/// into either). A data directory or database already there is refused unless
/// `replace`; then it is kept aside (the directory moved, the databases renamed), never
/// deleted, and only a fully checked copy takes its place. Returns what was kept aside.
pub async fn restore(
    cfg: &Config,
    src: &Source,
    replace: bool,
) -> Result<(Verified, Vec<String>), CliError> {
    let target = cfg.data_dir.clone();
    let db_at = cfg.database();
    let keys_at = cfg.keystore()?;
    let pg = db_at.is_postgres();
    if !replace && (live(&target) || (pg && !db_at.is_new().await?)) {
        return Err(invalid(format!(
            "{} already holds a deployment: stop the server and pass --replace to replace \
             it (it is kept aside, not deleted)",
            if pg {
                db_at.redacted()
            } else {
                target.display().to_string()
            }
        )));
    }
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent)?;
    // Beside the target, so that the final step is a rename on one file system.
    let work = Work::new(&parent, "restore")?;
    let into = work.0.join("data");
    keys::private_dir(&into)?;
    let mut verified = fetch_checked(cfg, src, &work.0, &into).await?;
    // Restoring is the operator choosing this state: its checkpoint is the saved one
    // (the directory replaced keeps its own, aside).
    if let Some(note) = &verified.manifest.audit.checkpoint {
        crate::rollback::write(&into, note)?;
    }
    let stamp = jiff::Timestamp::now().strftime("%Y%m%dT%H%M%SZ");
    let mut aside = Vec::new();
    if pg {
        // The checked copy moves into PostgreSQL; the directory keeps keys and files.
        if replace {
            let suffix = format!("replaced_{stamp}").to_lowercase();
            for at in [&db_at, &keys_at] {
                if let Some(name) = at.set_aside(&suffix).await? {
                    aside.push(format!(
                        "the database {} was renamed to {name}",
                        at.redacted()
                    ));
                }
            }
        }
        let copied = into.join("tekkan.sqlite3");
        copy(&Location::Sqlite(copied.clone()), &db_at, Schema::Data).await?;
        std::fs::remove_file(&copied)?;
        let keys_file = crate::keystore_path(&into);
        if keys_at != Location::Sqlite(crate::keystore_path(&target)) {
            copy(&Location::Sqlite(keys_file.clone()), &keys_at, Schema::Keys).await?;
            std::fs::remove_file(&keys_file)?;
        }
    }
    if target.exists() {
        let name = target.file_name().unwrap_or_default().to_string_lossy();
        let a = parent.join(format!("{name}.replaced-{stamp}"));
        std::fs::rename(&target, &a)?;
        aside.push(format!(
            "the previous data directory was moved to {}",
            a.display()
        ));
    }
    std::fs::rename(&into, &target)?;
    if pg {
        // What is now live is checked again, where it now is.
        let saved = target.join("secrets").join(crate::rollback::FILE);
        let trust = crate::audit::Trust {
            pubkeys: Vec::new(),
            saved: saved.exists().then_some(saved),
        };
        verified.audit = match crate::audit::verify_data_dir(cfg, &trust).await? {
            crate::audit::Verdict::Intact(t) => t,
            crate::audit::Verdict::Tampered(t) => {
                return Err(BackupError::Corrupt(format!("audit log after the move: {t}")).into());
            }
        };
    }
    Ok((verified, aside))
}

/// `tekkan backup keygen`: a new age key pair; the private key goes to `out` (mode
/// 0600, never overwritten), the public key is returned for `backup.recipients`.
pub fn keygen(out: &Path) -> Result<String, CliError> {
    use std::io::Write;
    let id = Identity::generate();
    let public = id.recipient().encode();
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(out)
        .map_err(|e| invalid(format!("{}: {e}", out.display())))?;
    let created = jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ");
    write!(
        f,
        "# created: {created}\n# public key: {public}\n{}\n",
        id.encode().as_str()
    )?;
    f.sync_all()?;
    Ok(public)
}
