//! The audit log's checkpoint key: opened at start from the key file or, once rotated,
//! from its seed sealed in the database; rotated online (both keys sign the
//! succession); and picked up by every instance within a second of a rotation.
//!
//! The seed in the database is sealed under the master key, which never enters the
//! database: a copy of the database still cannot sign a checkpoint.

use std::sync::{Arc, RwLock};

use rand_core::{OsRng, RngCore};
use tekkan_audit::signed::{PublicKey, Signer};
use tekkan_storage::{Db, SealedLogSeed, WriteTx};

use crate::vault::Vault;
use crate::{App, AppError, Result};

/// The key epoch whose value is the current checkpoint key's public half.
pub(crate) const EPOCH: &str = "log";

/// The current key: its signer and seed.
pub(crate) struct Held {
    pub(crate) signer: Signer,
    seed: [u8; 32],
}

/// The log's signer (swapped whole on rotation) and the lock that keeps checkpoints
/// one at a time.
pub struct LogKey {
    held: RwLock<Arc<Held>>,
    pub(super) lock: tokio::sync::Mutex<()>,
}

/// What binds a sealed seed to its key, so that a sealed value moved onto another
/// row does not open.
fn seed_aad(public: &str) -> Vec<u8> {
    format!("tekkan-log-key\0{public}").into_bytes()
}

/// The origin a new log is named by: the public URL's host, without port.
fn origin_for(base_url: &str) -> String {
    let rest = base_url.split_once("://").map_or(base_url, |(_, r)| r);
    let host = rest.split(['/', ':']).next().unwrap_or_default();
    let host = if host.is_empty() { "localhost" } else { host };
    format!("{host}/tekkan-audit")
}

fn malformed() -> AppError {
    AppError::Internal("audit log: a stored key is malformed".into())
}

/// Opens a sealed seed and checks it is the key it claims to be.
fn unseal(vault: &Vault, name: &str, s: &SealedLogSeed) -> Result<Held> {
    let raw = vault.open_secret(&s.master_key_id, &seed_aad(&s.public_key), &s.sealed)?;
    let seed: [u8; 32] = raw.try_into().map_err(|_| AppError::Tampered)?;
    let signer = Signer::new(name, &seed);
    if signer.public().encode() != s.public_key {
        return Err(AppError::Tampered);
    }
    Ok(Held { signer, seed })
}

impl LogKey {
    /// The signer to use, checked against the database's key history. The first start
    /// records the file's key. Later starts use the file's key when it is the newest;
    /// else the sealed seed of the newest key, when the file holds an older key of the
    /// history (the key was rotated online). Any other key file is refused: a lost or
    /// substituted key, to be restored from backup.
    pub(crate) async fn open(
        db: &Db,
        vault: &Vault,
        file_seed: &[u8; 32],
        base_url: &str,
    ) -> Result<Self> {
        let keys = db.audit_keys().await?;
        let name = match keys.last() {
            Some(k) => {
                PublicKey::parse(&k.public_key)
                    .map_err(|_| malformed())?
                    .name
            }
            None => origin_for(base_url),
        };
        let from_file = Held {
            signer: Signer::new(&name, file_seed),
            seed: *file_seed,
        };
        let file_public = from_file.signer.public().encode();
        let held = match keys.last() {
            None => {
                db.add_audit_key(&file_public, None, None).await?;
                from_file
            }
            Some(k) if k.public_key == file_public => from_file,
            Some(newest) => {
                let sealed = db
                    .log_seed()
                    .await?
                    .filter(|s| s.public_key == newest.public_key);
                let known = keys.iter().any(|k| k.public_key == file_public);
                match (sealed, known) {
                    (Some(s), true) => unseal(vault, &name, &s)?,
                    _ => {
                        return Err(AppError::Internal(
                            "secrets/log.key is not the newest key of the audit log's key \
                             history, nor an earlier one whose successor the database holds: \
                             restore it from backup (a new key is added only by `tekkan keys \
                             rotate-log` or `tekkan contain rotate-keys`)"
                                .into(),
                        ));
                    }
                }
            }
        };
        Ok(Self {
            held: RwLock::new(Arc::new(held)),
            lock: tokio::sync::Mutex::new(()),
        })
    }

    /// The current key. A poisoned lock still holds a whole key (it is only ever
    /// swapped), so it is used.
    pub(crate) fn held(&self) -> Arc<Held> {
        Arc::clone(&self.held.read().unwrap_or_else(|e| e.into_inner()))
    }

    fn swap(&self, next: Held) {
        *self.held.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(next);
    }
}

impl App {
    /// This server's current checkpoint key.
    pub fn log_public_key(&self) -> PublicKey {
        self.log().held().signer.public()
    }

    /// The current key's seed, for the command line to keep `secrets/log.key` current
    /// after a rotation made elsewhere (the file is what a fresh start reads first).
    pub fn log_seed_for_key_file(&self) -> [u8; 32] {
        self.log().held().seed
    }

    /// Inside `tx`: a new checkpoint key, its succession signed by the current key and
    /// by itself, its seed sealed under the master key in place of the old one, and the
    /// key epoch moved so that every instance loads it. A rotation made elsewhere and
    /// not loaded yet is loaded first; one racing this one refuses it.
    pub(crate) async fn rotate_log_key_in(
        &self,
        tx: &mut WriteTx,
        now: i64,
        by: Option<&str>,
    ) -> Result<PublicKey> {
        let newest = tx.newest_audit_key().await?;
        if newest.as_deref() != Some(self.log_public_key().encode().as_str()) {
            // Rotated elsewhere a moment ago: this rotation follows that one.
            self.reload_log_key().await?;
        }
        let held = self.log().held();
        let current = held.signer.public();
        if newest.as_deref() != Some(current.encode().as_str()) {
            return Err(AppError::Conflict("rotation_in_progress"));
        }
        let mut seed = [0u8; 32];
        OsRng.fill_bytes(&mut seed);
        let next = Signer::new(&current.name, &seed);
        let public = next.public();
        let by_previous = held.signer.sign_succession(&current, &public);
        let by_this = next.sign_succession(&current, &public);
        let encoded = public.encode();
        tx.append_audit_key(&encoded, &by_previous, &by_this, now)
            .await?;
        let (master_key_id, sealed) = self.vault().seal_secret(&seed_aad(&encoded), &seed)?;
        let stored = SealedLogSeed {
            public_key: encoded.clone(),
            master_key_id,
            sealed,
        };
        tx.put_log_seed(&stored, now).await?;
        tx.rotate_key_epoch(EPOCH, &encoded, now, by).await?;
        Ok(public)
    }

    /// `tekkan keys rotate-log`: a new checkpoint key on its own (the containment step
    /// replaces it with the other keys). Audited; every running instance loads it
    /// within a second, and this one at once.
    pub async fn rotate_log_key(&self) -> Result<PublicKey> {
        let mut tx = self.db().begin().await?;
        let public = self
            .rotate_log_key_in(&mut tx, tekkan_storage::now_ms(), None)
            .await?;
        let ev = crate::actor::system_event(
            "keys.log_rotated",
            format!("log_key:{}", hex::encode(public.id())),
            &public.encode(),
        );
        tx.commit(vec![ev]).await?;
        self.reload_log_key().await?;
        Ok(public)
    }

    /// Loads the sealed seed when it is of a newer key than the one held (rotated on
    /// another instance, or by the command line). Returns whether the key changed.
    pub(crate) async fn reload_log_key(&self) -> Result<bool> {
        let held = self.log().held();
        let current = held.signer.public();
        let Some(sealed) = self.db().log_seed().await? else {
            return Ok(false);
        };
        if sealed.public_key == current.encode() {
            return Ok(false);
        }
        if self.db().newest_audit_key().await?.as_deref() != Some(sealed.public_key.as_str()) {
            return Err(AppError::Internal(
                "audit log: the sealed checkpoint key is not the newest key of the history".into(),
            ));
        }
        let next = unseal(self.vault(), &current.name, &sealed)?;
        tracing::warn!(
            key = %hex::encode(next.signer.public().id()),
            "audit log key rotated: checkpoints are signed with the new key"
        );
        self.log().swap(next);
        Ok(true)
    }

    /// Before a checkpoint is signed: the key held must be the newest of the history,
    /// so that no instance signs with a retired key after a rotation it has not yet
    /// noticed.
    pub(super) async fn ensure_newest_log_key(&self) -> Result<()> {
        let newest = self.db().newest_audit_key().await?;
        if newest.as_deref() == Some(self.log_public_key().encode().as_str()) {
            return Ok(());
        }
        self.reload_log_key().await?;
        match newest.as_deref() == Some(self.log_public_key().encode().as_str()) {
            true => Ok(()),
            false => Err(AppError::Internal(
                "audit log: this instance does not hold the newest checkpoint key".into(),
            )),
        }
    }

    /// After a master key rotation: the sealed seed moves under the current master key
    /// with the data keys. Returns whether it moved.
    pub(crate) async fn reseal_log_seed(&self, tx: &mut WriteTx) -> Result<bool> {
        let Some(s) = self.db().log_seed().await? else {
            return Ok(false);
        };
        let current = self.vault().current()?;
        if s.master_key_id == current.id() {
            return Ok(false);
        }
        let aad = seed_aad(&s.public_key);
        let seed = self
            .vault()
            .open_secret(&s.master_key_id, &aad, &s.sealed)?;
        let (master_key_id, sealed) = self.vault().seal_secret(&aad, &seed)?;
        let moved = SealedLogSeed {
            public_key: s.public_key,
            master_key_id,
            sealed,
        };
        tx.put_log_seed(&moved, tekkan_storage::now_ms()).await?;
        Ok(true)
    }
}
