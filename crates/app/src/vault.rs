//! Encryption at rest: AES-256-GCM under per-person data keys, which are themselves
//! sealed ("wrapped") under a master key that never enters the database.
//!
//! Every sealed value is bound to where it belongs by its associated data (whose key,
//! which field), so a ciphertext copied onto another row or field does not open, and a
//! tampered one is refused, never decrypted into garbage. Destroying a person's data
//! key makes all their sealed values unreadable, in every copy of the database.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};
use std::sync::{Arc, RwLock};
use tekkan_core::AccountId;

use tekkan_storage::{Db, KeyStore, now_ms};

use crate::{App, AppError, Result};

fn poisoned() -> AppError {
    AppError::Internal("master key lock poisoned".into())
}

/// A master key and its public id (a hash prefix, safe to store beside what it seals).
#[derive(Clone)]
pub struct MasterKey {
    id: String,
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey({})", self.id)
    }
}

impl MasterKey {
    /// From 32 secret bytes.
    pub fn from_bytes(key: &[u8]) -> Result<Self> {
        let cipher = Aes256Gcm::new_from_slice(key)
            .map_err(|_| AppError::Internal("a master key is 32 bytes".into()))?;
        let id =
            hex::encode(&Sha256::digest([b"tekkan-master-id\0".as_slice(), key].concat())[..8]);
        Ok(Self { id, cipher })
    }

    pub fn id(&self) -> &str {
        &self.id
    }
}

const CHECK_AAD: &[u8] = b"tekkan-master-check";
const CHECK_TEXT: &[u8] = b"TEKKAN master key check v1";

/// Seals `plain` under `cipher`, bound to `aad`: base64 of nonce ‖ ciphertext ‖ tag.
fn seal_with(cipher: &Aes256Gcm, aad: &[u8], plain: &[u8]) -> Result<String> {
    let mut nonce = [0u8; 12];
    OsRng.fill_bytes(&mut nonce);
    let ct = cipher
        .encrypt(Nonce::from_slice(&nonce), Payload { msg: plain, aad })
        .map_err(|_| AppError::Internal("sealing failed".into()))?;
    Ok(STANDARD_NO_PAD.encode([nonce.as_slice(), &ct].concat()))
}

/// Opens what [`seal_with`] made; any change to it or to `aad` is refused.
fn open_with(cipher: &Aes256Gcm, aad: &[u8], sealed: &str) -> Result<Vec<u8>> {
    let raw = STANDARD_NO_PAD
        .decode(sealed)
        .map_err(|_| AppError::Tampered)?;
    if raw.len() < 12 + 16 {
        return Err(AppError::Tampered);
    }
    let (nonce, ct) = raw.split_at(12);
    cipher
        .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad })
        .map_err(|_| AppError::Tampered)
}

fn dk_aad(account: AccountId) -> Vec<u8> {
    format!("tekkan-data-key\0{account}").into_bytes()
}

fn field_aad(account: AccountId, field: &str) -> Vec<u8> {
    format!("tekkan-field\0{account}\0{field}").into_bytes()
}

/// Reads the master keys afresh (current first), for a server that meets a key id it
/// does not hold yet: another process (`tekkan keys rotate`) has rotated the key.
pub type KeyLoader = Arc<dyn Fn() -> Result<Vec<MasterKey>> + Send + Sync>;

/// The master keys this server holds: the current one seals, any of them opens.
pub struct Vault {
    keys: RwLock<Vec<MasterKey>>,
    loader: Option<KeyLoader>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Vault({:?})", self.keys.read().map(|k| k.len()).ok())
    }
}

impl Vault {
    /// `keys[0]` is current; the rest are older keys still able to open.
    pub fn new(keys: Vec<MasterKey>) -> Result<Self> {
        if keys.is_empty() {
            return Err(AppError::Internal("no master key".into()));
        }
        Ok(Self {
            keys: RwLock::new(keys),
            loader: None,
        })
    }

    /// Keys that can be read again when an unknown key id turns up.
    pub fn with_loader(keys: Vec<MasterKey>, loader: KeyLoader) -> Result<Self> {
        let mut v = Self::new(keys)?;
        v.loader = Some(loader);
        Ok(v)
    }

    pub fn current(&self) -> Result<MasterKey> {
        let keys = self.keys.read().map_err(|_| poisoned())?;
        keys.first().cloned().ok_or(AppError::WrongMasterKey)
    }

    /// The key with `id`; reloads the keys once if this server does not hold it.
    fn by_id(&self, id: &str) -> Result<MasterKey> {
        let find = |keys: &[MasterKey]| keys.iter().find(|k| k.id == id).cloned();
        if let Some(k) = find(&self.keys.read().map_err(|_| poisoned())?) {
            return Ok(k);
        }
        let Some(load) = &self.loader else {
            return Err(AppError::WrongMasterKey);
        };
        let fresh = load()?;
        let found = find(&fresh);
        if !fresh.is_empty() {
            tracing::info!(current = %fresh[0].id, "master keys reloaded");
            *self.keys.write().map_err(|_| poisoned())? = fresh;
        }
        found.ok_or(AppError::WrongMasterKey)
    }

    /// The check value stored once per database.
    pub fn check_value(&self) -> Result<(String, String)> {
        let cur = self.current()?;
        Ok((
            cur.id.clone(),
            seal_with(&cur.cipher, CHECK_AAD, CHECK_TEXT)?,
        ))
    }

    /// Whether these keys open the database's check value (sealed under key `key_id`).
    pub fn verify_check(&self, key_id: &str, sealed: &str) -> Result<()> {
        let k = self.by_id(key_id)?;
        match open_with(&k.cipher, CHECK_AAD, sealed) {
            Ok(v) if v == CHECK_TEXT => Ok(()),
            _ => Err(AppError::WrongMasterKey),
        }
    }

    /// Seals a secret of the server's own (not a person's) under the current master
    /// key, bound to `aad`: (key id, sealed).
    pub(crate) fn seal_secret(&self, aad: &[u8], plain: &[u8]) -> Result<(String, String)> {
        let cur = self.current()?;
        Ok((cur.id.clone(), seal_with(&cur.cipher, aad, plain)?))
    }

    /// Opens what [`Vault::seal_secret`] sealed under the master key `key_id`.
    pub(crate) fn open_secret(&self, key_id: &str, aad: &[u8], sealed: &str) -> Result<Vec<u8>> {
        open_with(&self.by_id(key_id)?.cipher, aad, sealed)
    }

    /// Unwraps a stored data key.
    fn unwrap(&self, account: AccountId, key_id: &str, wrapped: &str) -> Result<Aes256Gcm> {
        let k = self.by_id(key_id)?;
        let raw = open_with(&k.cipher, &dk_aad(account), wrapped)?;
        Aes256Gcm::new_from_slice(&raw).map_err(|_| AppError::Tampered)
    }

    /// Re-seals a data key under the current master key: (key id, wrapped).
    fn rewrap(&self, account: AccountId, key_id: &str, wrapped: &str) -> Result<(String, String)> {
        let k = self.by_id(key_id)?;
        let raw = open_with(&k.cipher, &dk_aad(account), wrapped)?;
        let cur = self.current()?;
        Ok((
            cur.id.clone(),
            seal_with(&cur.cipher, &dk_aad(account), &raw)?,
        ))
    }

    /// The account's data key, if it has one (none, or a destroyed one, reads nothing).
    pub(crate) async fn existing_data_key(
        &self,
        store: &KeyStore,
        account: AccountId,
    ) -> Result<Option<DataKey>> {
        match store.get(account).await? {
            Some((key_id, wrapped)) => Ok(Some(DataKey {
                account,
                cipher: self.unwrap(account, &key_id, &wrapped)?,
            })),
            None => Ok(None),
        }
    }

    /// The account's data key, created (in the key store) on first use.
    pub(crate) async fn data_key(
        &self,
        store: &KeyStore,
        account: AccountId,
        now: i64,
    ) -> Result<DataKey> {
        if let Some(k) = self.existing_data_key(store, account).await? {
            return Ok(k);
        }
        let mut raw = [0u8; 32];
        OsRng.fill_bytes(&mut raw);
        let cur = self.current()?;
        let wrapped = seal_with(&cur.cipher, &dk_aad(account), &raw)?;
        let (key_id, wrapped) = store
            .insert_new(account, &(cur.id.clone(), wrapped), now)
            .await?;
        Ok(DataKey {
            account,
            cipher: self.unwrap(account, &key_id, &wrapped)?,
        })
    }
}

/// One person's data key, unwrapped for the length of a request.
pub(crate) struct DataKey {
    account: AccountId,
    cipher: Aes256Gcm,
}

impl DataKey {
    pub(crate) fn seal(&self, field: &str, plain: &[u8]) -> Result<String> {
        seal_with(&self.cipher, &field_aad(self.account, field), plain)
    }

    pub(crate) fn open(&self, field: &str, sealed: &str) -> Result<Vec<u8>> {
        open_with(&self.cipher, &field_aad(self.account, field), sealed)
    }
}

impl App {
    /// Re-seals every data key, and the check value, under the current master key, in
    /// batches, while the server keeps serving. Returns how many data keys moved.
    pub async fn rewrap_data_keys(&self) -> Result<u64> {
        let vault = self.vault();
        let current = vault.current()?.id().to_owned();
        let mut moved = 0u64;
        loop {
            let batch = self.keystore().not_under(&current).await?;
            if batch.is_empty() {
                let mut tx = self.db().begin().await?;
                let (id, check) = vault.check_value()?;
                tx.set_master_key_check(&id, &check).await?;
                self.reseal_log_seed(&mut tx).await?;
                let ev =
                    crate::actor::system_event("keys.rotated", format!("master_key:{id}"), &moved);
                tx.commit(vec![ev]).await?;
                return Ok(moved);
            }
            let n = batch.len() as u64;
            let mut next = Vec::with_capacity(batch.len());
            for (account, (key_id, wrapped)) in batch {
                next.push((account, vault.rewrap(account, &key_id, &wrapped)?));
            }
            self.keystore().replace(&next).await?;
            moved += n;
            let tx = self.db().begin().await?;
            let ev = crate::actor::system_event(
                "keys.rewrapped",
                format!("master_key:{current}"),
                &(n, now_ms()),
            );
            tx.commit(vec![ev]).await?;
        }
    }

    /// Moves data keys kept in the database by earlier versions into the key store,
    /// once, so that destroying a key reaches copies of the database too.
    pub(crate) async fn move_legacy_data_keys(db: &Db, store: &KeyStore) -> Result<u64> {
        let mut moved = 0;
        loop {
            let mut tx = db.begin().await?;
            let batch = tx.legacy_data_keys().await?;
            if batch.is_empty() {
                return Ok(moved);
            }
            for (account, key_id, wrapped) in &batch {
                store
                    .insert_new(*account, &(key_id.clone(), wrapped.clone()), now_ms())
                    .await?;
                tx.forget_legacy_data_key(*account).await?;
            }
            moved += batch.len() as u64;
            let ev = crate::actor::system_event(
                "keys.moved_to_key_store",
                "data_keys".into(),
                &batch.len(),
            );
            tx.commit(vec![ev]).await?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> MasterKey {
        MasterKey::from_bytes(&[b; 32]).unwrap()
    }

    #[test]
    fn sealed_values_open_only_where_they_belong() {
        let c = &key(1).cipher;
        let s = seal_with(c, b"a", b"090-1234-5678").unwrap();
        assert_eq!(open_with(c, b"a", &s).unwrap(), b"090-1234-5678");
        assert!(matches!(open_with(c, b"b", &s), Err(AppError::Tampered)));
        assert!(matches!(
            open_with(&key(2).cipher, b"a", &s),
            Err(AppError::Tampered)
        ));
        // Flip each byte in turn: never opens.
        let raw = STANDARD_NO_PAD.decode(&s).unwrap();
        for i in 0..raw.len() {
            let mut t = raw.clone();
            t[i] ^= 0x01;
            let t = STANDARD_NO_PAD.encode(&t);
            assert!(
                matches!(open_with(c, b"a", &t), Err(AppError::Tampered)),
                "byte {i}"
            );
        }
        assert!(matches!(
            open_with(c, b"a", "short"),
            Err(AppError::Tampered)
        ));
        assert!(matches!(
            open_with(c, b"a", "not base64!"),
            Err(AppError::Tampered)
        ));
    }

    #[test]
    fn the_check_value_tells_a_wrong_master_key() {
        let v = Vault::new(vec![key(1)]).unwrap();
        let (_, check) = v.check_value().unwrap();
        assert!(v.verify_check(key(1).id(), &check).is_ok());
        let wrong = Vault::new(vec![key(2)]).unwrap();
        assert!(matches!(
            wrong.verify_check(key(1).id(), &check),
            Err(AppError::WrongMasterKey)
        ));
        // Rotation: a ring holding the new and the old key opens both.
        let ring = Vault::new(vec![key(2), key(1)]).unwrap();
        assert!(ring.verify_check(key(1).id(), &check).is_ok());
        let acct = AccountId::from_bytes([7; 16]);
        let w = seal_with(&key(1).cipher, &dk_aad(acct), &[9; 32]).unwrap();
        let (id, w2) = ring.rewrap(acct, key(1).id(), &w).unwrap();
        assert_eq!(id, key(2).id());
        assert!(
            Vault::new(vec![key(2)])
                .unwrap()
                .unwrap(acct, &id, &w2)
                .is_ok()
        );
    }
}
