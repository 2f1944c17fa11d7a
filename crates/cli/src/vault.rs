//! The master keys: the vault a server seals personal data with (re-reading the key file
//! when another process has rotated it), and `tekkan keys rotate`.

use std::sync::Arc;

use tekkan_app::{MasterKey, Vault};

use crate::config::Config;
use crate::keys;
use crate::server::{CliError, open_app};

fn master_keys(ring: &[Vec<u8>]) -> tekkan_app::Result<Vec<MasterKey>> {
    ring.iter().map(|k| MasterKey::from_bytes(k)).collect()
}

/// The master keys; from the key file, they are read again when another process
/// (`tekkan keys rotate`) has put a new key in front.
pub(crate) fn vault(cfg: &Config, k: &keys::ServerKeys) -> Result<Vault, CliError> {
    let keys = master_keys(&k.master)?;
    if k.master_from_config {
        return Ok(Vault::new(keys)?);
    }
    let dir = cfg.data_dir.clone();
    let loader: tekkan_app::KeyLoader = Arc::new(move || {
        let ring = keys::read_master_ring(&dir)
            .map_err(|e| tekkan_app::AppError::Internal(e.to_string()))?;
        master_keys(&ring)
    });
    Ok(Vault::with_loader(keys, loader)?)
}

/// `tekkan keys rotate`: puts a new master key in front of the key file (older keys stay,
/// for what they wrapped and for older backups), then re-seals every data key under it
/// while servers keep running. Returns the new key's id and how many keys moved.
pub async fn rotate_master_key(cfg: &Config) -> Result<(String, u64), CliError> {
    if cfg.keys.master_key.is_some() {
        return Err(CliError::MasterKeyInConfig);
    }
    let at = cfg.database();
    if at.is_new().await? {
        return Err(CliError::Io(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("no database at {}", at.redacted()),
        )));
    }
    // Check the keys against the database before changing anything.
    let (app, _, _) = open_app(cfg).await?;
    app.db().close().await;
    keys::add_master_key(&cfg.data_dir)?;
    let (app, k, _) = open_app(cfg).await?;
    let moved = app.rewrap_data_keys().await;
    app.db().close().await;
    let id = MasterKey::from_bytes(&k.master[0])?.id().to_owned();
    Ok((id, moved?))
}
