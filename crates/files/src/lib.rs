//! Uploaded files (photos and documents of clubs, from albums on), kept in a local
//! directory (the default) or an S3-compatible bucket through `object_store`. A file is
//! stored under its club and its SHA-256, and checked against that hash on every read:
//! a file changed or swapped at rest is refused, never served.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use bytes::Bytes;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, ObjectStoreExt as _, PutPayload};
use sha2::{Digest, Sha256};

mod key;
pub use key::FileKey;

#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    /// The configuration cannot work (a region outside Japan, plain HTTP to another
    /// machine, a missing bucket name); said before anything is stored.
    #[error("file storage configuration: {0}")]
    Config(String),
    #[error("no such file")]
    NotFound,
    /// The stored bytes are not the ones written: changed or swapped at rest.
    #[error("file {0} does not match its hash: changed where it is stored")]
    Tampered(String),
    #[error("not a file key or club id: {0:?}")]
    BadKey(String),
    #[error("file storage: {0}")]
    Store(#[from] object_store::Error),
}

pub type Result<T> = std::result::Result<T, FilesError>;

/// Where files go.
#[derive(Debug, Clone)]
pub enum Settings {
    /// A directory on this machine (one instance, or a shared mount).
    Dir(PathBuf),
    /// An S3-compatible bucket, which any number of instances share.
    S3(S3Settings),
}

#[derive(Clone)]
pub struct S3Settings {
    /// `https://s3.ap-northeast-1.amazonaws.com`, or another provider's endpoint.
    pub endpoint: String,
    pub bucket: String,
    /// Where the bucket keeps its data; outside Japan only with `allow_outside_japan`.
    pub region: String,
    pub allow_outside_japan: bool,
    /// Keys under this folder of the bucket (empty: the bucket's root).
    pub prefix: String,
    /// `https://endpoint/bucket/key` rather than `https://bucket.endpoint/key`.
    pub path_style: bool,
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl std::fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Settings")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("prefix", &self.prefix)
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// The file store. Cheap to clone.
#[derive(Clone)]
pub struct Files {
    store: Arc<dyn ObjectStore>,
    describe: Arc<str>,
}

impl std::fmt::Debug for Files {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Files({})", self.describe)
    }
}

impl Files {
    /// Opens the store `settings` name, checking the configuration (not yet the
    /// connection: see [`Files::check`]).
    pub fn open(settings: &Settings) -> Result<Self> {
        match settings {
            Settings::Dir(dir) => {
                std::fs::create_dir_all(dir)
                    .map_err(|e| FilesError::Config(format!("{}: {e}", dir.display())))?;
                restrict(dir)?;
                let local = object_store::local::LocalFileSystem::new_with_prefix(dir)?;
                Ok(Self {
                    store: Arc::new(local),
                    describe: format!("directory {}", dir.display()).into(),
                })
            }
            Settings::S3(s) => open_s3(s),
        }
    }

    /// What this store is, for logs and `/healthz` (no secrets).
    pub fn describe(&self) -> &str {
        &self.describe
    }

    /// Stores `bytes` as a file of `club`; returns its key. Storing the same content
    /// again for the same club gives the same key and keeps one copy.
    pub async fn put(&self, club: &str, bytes: Bytes) -> Result<FileKey> {
        let key = FileKey::new(club, Sha256::digest(&bytes).into())?;
        self.store
            .put(&key.path(), PutPayload::from_bytes(bytes))
            .await?;
        Ok(key)
    }

    /// The file's bytes, once they match its hash.
    pub async fn get(&self, key: &FileKey) -> Result<Bytes> {
        let got = match self.store.get(&key.path()).await {
            Ok(r) => r.bytes().await?,
            Err(object_store::Error::NotFound { .. }) => return Err(FilesError::NotFound),
            Err(e) => return Err(e.into()),
        };
        if <[u8; 32]>::from(Sha256::digest(&got)) != key.sha256() {
            tracing::error!(
                security_event = "file_tampered",
                file = %key,
                "SECURITY EVENT: a stored file does not match its hash; withheld"
            );
            return Err(FilesError::Tampered(key.to_string()));
        }
        Ok(got)
    }

    /// Deletes one file; a file already gone is not an error.
    pub async fn delete(&self, key: &FileKey) -> Result<()> {
        match self.store.delete(&key.path()).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Every file of `club`.
    pub async fn list(&self, club: &str) -> Result<Vec<FileKey>> {
        use futures_util::TryStreamExt as _;
        let folder = FileKey::folder(club)?;
        let metas: Vec<_> = self.store.list(Some(&folder)).try_collect().await?;
        let mut keys = metas
            .iter()
            .filter_map(|m| FileKey::parse(m.location.as_ref()).ok())
            .collect::<Vec<_>>();
        keys.sort();
        Ok(keys)
    }

    /// Deletes every file of `club` (the club deleted, its data erased); returns how
    /// many there were.
    pub async fn delete_club(&self, club: &str) -> Result<usize> {
        let keys = self.list(club).await?;
        for k in &keys {
            self.delete(k).await?;
        }
        Ok(keys.len())
    }

    /// Writes, reads back and deletes a small probe object: what start-up and the
    /// periodic health check ask of the store.
    pub async fn check(&self) -> Result<()> {
        use rand_core::RngCore as _;
        let mut nonce = [0u8; 16];
        rand_core::OsRng.fill_bytes(&mut nonce);
        let probe = Path::from(format!("health/probe-{}", hex::encode(nonce)));
        let body = Bytes::from(format!("tekkan probe {}", hex::encode(nonce)));
        self.store
            .put(&probe, PutPayload::from_bytes(body.clone()))
            .await?;
        let back = self.store.get(&probe).await?.bytes().await;
        let deleted = self.store.delete(&probe).await;
        if back? != body {
            return Err(FilesError::Tampered(probe.to_string()));
        }
        deleted?;
        Ok(())
    }
}

fn open_s3(s: &S3Settings) -> Result<Files> {
    use object_store::aws::AmazonS3Builder;
    use object_store::{BackoffConfig, RetryConfig};
    if s.bucket.trim().is_empty() || s.endpoint.trim().is_empty() {
        return Err(FilesError::Config(
            "an S3 store needs endpoint and bucket".into(),
        ));
    }
    if s.access_key_id.is_empty() || s.secret_access_key.is_empty() {
        return Err(FilesError::Config(
            "an S3 store needs access_key_id and secret_access_key".into(),
        ));
    }
    region_allowed(&s.region, s.allow_outside_japan)?;
    let plain = s.endpoint.starts_with("http://");
    if plain && !loopback(&s.endpoint) {
        return Err(FilesError::Config(
            "plain http:// is allowed to a bucket on this machine only; use https://".into(),
        ));
    }
    let s3 = AmazonS3Builder::new()
        .with_endpoint(s.endpoint.trim_end_matches('/'))
        .with_bucket_name(&s.bucket)
        .with_region(&s.region)
        .with_access_key_id(&s.access_key_id)
        .with_secret_access_key(&s.secret_access_key)
        .with_virtual_hosted_style_request(!s.path_style)
        .with_allow_http(plain)
        // A few quick retries: a store that stays down is reported (503, degraded),
        // not waited on for minutes.
        .with_retry(RetryConfig {
            backoff: BackoffConfig::default(),
            max_retries: 3,
            retry_timeout: Duration::from_secs(15),
        })
        .build()?;
    let prefix = s.prefix.trim_matches('/');
    let store: Arc<dyn ObjectStore> = match prefix {
        "" => Arc::new(s3),
        p => Arc::new(PrefixStore::new(s3, p)),
    };
    Ok(Files {
        store,
        describe: format!("s3 bucket {} at {} ({})", s.bucket, s.endpoint, s.region).into(),
    })
}

/// Personal data stays in Japan unless the operator says otherwise, and that choice is
/// logged at every start.
fn region_allowed(region: &str, allow_outside_japan: bool) -> Result<()> {
    if region.trim().is_empty() {
        return Err(FilesError::Config(
            "declare the region the bucket keeps its data in".into(),
        ));
    }
    if !tekkan_core::region::is_japanese_region(region) {
        if !allow_outside_japan {
            return Err(FilesError::Config(format!(
                "region {region} is outside Japan; files are kept in Japan unless \
                 allow_outside_japan = true is set"
            )));
        }
        tracing::warn!(
            region,
            "file bucket outside Japan, allowed explicitly by allow_outside_japan"
        );
    }
    Ok(())
}

fn loopback(endpoint: &str) -> bool {
    let host = endpoint
        .trim_start_matches("http://")
        .split(['/', ':'])
        .next()
        .unwrap_or_default();
    matches!(host, "127.0.0.1" | "localhost") || endpoint.starts_with("http://[::1]")
}

/// Files hold club members' data: the directory is the server user's alone.
fn restrict(dir: &std::path::Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| FilesError::Config(format!("{}: {e}", dir.display())))
}

#[cfg(test)]
mod tests;
