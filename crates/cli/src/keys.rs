//! The server's own secrets, kept in `<data_dir>/secrets/` (mode 0600) and never in the
//! database: the CSRF key, the key that authenticates the audit chain's head, the
//! VAPID key that signs Web Push requests, and the master key that wraps every person's
//! data key (keep a copy of it apart from the backups of the database).

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use rand_core::{OsRng, RngCore};

use crate::config::Secret;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{0} must be 64 hex characters")]
    Malformed(String),
    #[error(
        "{0} is missing but the database already exists: the audit log could no longer be \
         verified. Restore the key file from your backup."
    )]
    MissingForExistingData(String),
}

/// Both keys, loaded or created.
pub struct ServerKeys {
    pub csrf: Vec<u8>,
    pub audit: Vec<u8>,
    /// The VAPID private key Web Push messages are signed with (RFC 8292).
    pub vapid: Vec<u8>,
    /// The Ed25519 seed that signs the audit log's checkpoints and receipts. Its public
    /// half is published; a replacement comes only through `tekkan keys rotate-log`.
    pub log: [u8; 32],
    /// The master keys sealing personal data keys: the current one first, then older
    /// ones kept to open what they wrapped (and backups taken before a rotation).
    pub master: Vec<Vec<u8>>,
    /// Whether the master key came from the configuration rather than the key file.
    pub master_from_config: bool,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Creates a directory readable by its owner only.
pub fn private_dir(dir: &Path) -> Result<(), KeyError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io(dir))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io(dir))
}

fn parse(name: &str, hex_text: &str) -> Result<Vec<u8>, KeyError> {
    let k = hex::decode(hex_text.trim()).map_err(|_| KeyError::Malformed(name.into()))?;
    if k.len() != 32 {
        return Err(KeyError::Malformed(name.into()));
    }
    Ok(k)
}

/// Loads `name` from the override or the secrets directory, creating it when allowed.
fn key(
    dir: &Path,
    name: &str,
    over: Option<&Secret>,
    may_create: bool,
) -> Result<Vec<u8>, KeyError> {
    if let Some(s) = over {
        return parse(name, s.expose());
    }
    let path = dir.join(name);
    match fs::read_to_string(&path) {
        Ok(text) => parse(&path.display().to_string(), &text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if !may_create {
                return Err(KeyError::MissingForExistingData(path.display().to_string()));
            }
            let mut k = vec![0u8; 32];
            OsRng.fill_bytes(&mut k);
            let mut f = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .map_err(io(&path))?;
            f.write_all(hex::encode(&k).as_bytes()).map_err(io(&path))?;
            f.sync_all().map_err(io(&path))?;
            Ok(k)
        }
        Err(e) => Err(io(&path)(e)),
    }
}

/// Loads both keys. `fresh_db` says the database does not exist yet, the only time a
/// missing audit key may be created.
pub fn load(
    data_dir: &Path,
    cfg: &crate::config::Keys,
    fresh_db: bool,
) -> Result<ServerKeys, KeyError> {
    let dir = data_dir.join("secrets");
    private_dir(&dir)?;
    Ok(ServerKeys {
        csrf: key(&dir, "csrf.key", cfg.csrf_key.as_ref(), true)?,
        audit: key(&dir, "audit.key", cfg.audit_key.as_ref(), fresh_db)?,
        vapid: key(&dir, "vapid.key", cfg.vapid_key.as_ref(), true)?,
        log: seed(LOG_FILE, key(&dir, LOG_FILE, None, true)?)?,
        master: match &cfg.master_key {
            Some(s) => vec![parse("keys.master_key", s.expose())?],
            None => {
                // Created like the other keys on first use (and missing for an existing
                // database is the same error), then read as a ring.
                if !dir.join(MASTER_FILE).exists() {
                    key(&dir, MASTER_FILE, None, fresh_db)?;
                }
                read_master_ring(data_dir)?
            }
        },
        master_from_config: cfg.master_key.is_some(),
    })
}

const MASTER_FILE: &str = "master.key";
/// The audit log's signing key, in `<data_dir>/secrets/`.
pub const LOG_FILE: &str = "log.key";

/// Replaces the log key file with `new` (written aside, then renamed over the old one,
/// so that a crash leaves one key or the other, never half of one).
pub fn replace_log_key(data_dir: &Path, new: &[u8; 32]) -> Result<(), KeyError> {
    let path = data_dir.join("secrets").join(LOG_FILE);
    let tmp = data_dir.join("secrets").join("log.key.new");
    let _ = fs::remove_file(&tmp);
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io(&tmp))?;
    f.write_all(hex::encode(new).as_bytes()).map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    fs::rename(&tmp, &path).map_err(io(&path))
}

fn seed(name: &str, k: Vec<u8>) -> Result<[u8; 32], KeyError> {
    k.try_into().map_err(|_| KeyError::Malformed(name.into()))
}

/// The master keys in `<data_dir>/secrets/master.key`, one per line, current first.
pub fn read_master_ring(data_dir: &Path) -> Result<Vec<Vec<u8>>, KeyError> {
    let path = data_dir.join("secrets").join(MASTER_FILE);
    let text = fs::read_to_string(&path).map_err(io(&path))?;
    let name = path.display().to_string();
    let ring = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| parse(&name, l))
        .collect::<Result<Vec<_>, _>>()?;
    if ring.is_empty() {
        return Err(KeyError::Malformed(name));
    }
    Ok(ring)
}

/// Puts a new random master key first in the ring file, keeping the older ones; the
/// file is replaced whole (written aside, synced, renamed), mode 0600.
pub fn add_master_key(data_dir: &Path) -> Result<Vec<Vec<u8>>, KeyError> {
    let mut ring = read_master_ring(data_dir)?;
    let mut k = vec![0u8; 32];
    OsRng.fill_bytes(&mut k);
    ring.insert(0, k);
    let dir = data_dir.join("secrets");
    let (tmp, path) = (dir.join("master.key.new"), dir.join(MASTER_FILE));
    let text: String = ring.iter().map(|k| hex::encode(k) + "\n").collect();
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io(&tmp))?;
    f.write_all(text.as_bytes()).map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    fs::rename(&tmp, &path).map_err(io(&path))?;
    Ok(ring)
}

/// The backup manifest signing key's file, in `<data_dir>/secrets/`.
pub const BACKUP_FILE: &str = "backup.key";
/// The name backup manifests are signed under.
pub const BACKUP_SIGNER: &str = "tekkan-backup";

/// The key that signs backup manifests, created on first use.
pub fn backup_signer(data_dir: &Path) -> Result<tekkan_audit::signed::Signer, KeyError> {
    let dir = data_dir.join("secrets");
    private_dir(&dir)?;
    let seed = seed(BACKUP_FILE, key(&dir, BACKUP_FILE, None, true)?)?;
    Ok(tekkan_audit::signed::Signer::new(BACKUP_SIGNER, &seed))
}
