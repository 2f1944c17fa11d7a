//! Backup destinations: a local or mounted directory, or an S3-compatible bucket. Each
//! declares the region its data lives in; only Japanese regions are accepted unless the
//! destination explicitly allows another (and that choice is logged on every use).

use std::fs;
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use rand_core::{OsRng, RngCore};

use crate::s3::{S3, S3Settings};

#[derive(Debug, thiserror::Error)]
pub enum DestError {
    #[error("unreachable: {0}")]
    Unreachable(String),
    #[error("full: {0}")]
    Full(String),
    #[error("permission denied: {0}")]
    Denied(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("configuration: {0}")]
    Config(String),
    /// The peer failed in a way that may pass (5xx, 429, a dropped connection): worth
    /// another try.
    #[error("failed for now: {0}")]
    Transient(String),
    /// More than the destination takes in one object.
    #[error("too large: {0}")]
    TooLarge(String),
    #[error("{0}")]
    Other(String),
}

impl DestError {
    /// A local file error, with a full disk named as such.
    pub fn local(e: io::Error) -> Self {
        match e.kind() {
            io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => Self::Full(e.to_string()),
            io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => {
                Self::Denied(e.to_string())
            }
            io::ErrorKind::NotFound => Self::NotFound(e.to_string()),
            _ => Self::Other(e.to_string()),
        }
    }
}

/// An object a destination holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    pub key: String,
    pub size: u64,
}

pub enum Kind {
    Dir(PathBuf),
    S3(Box<S3>),
}

pub struct Destination {
    pub name: String,
    pub region: String,
    pub kind: Kind,
}

pub use tekkan_core::region::is_japanese_region;

impl Destination {
    /// Checks the region rule: outside Japan only with `allow_outside_japan`.
    pub fn new(
        name: &str,
        region: &str,
        allow_outside_japan: bool,
        kind: Kind,
    ) -> Result<Self, DestError> {
        if region.trim().is_empty() {
            return Err(DestError::Config(
                "declare the region its data is kept in".into(),
            ));
        }
        if !is_japanese_region(region) {
            if !allow_outside_japan {
                return Err(DestError::Config(format!(
                    "region {region} is outside Japan; personal data is kept in Japan unless \
                     allow_outside_japan = true is set for this destination"
                )));
            }
            tracing::warn!(
                destination = name,
                region,
                "backup destination outside Japan, allowed explicitly by allow_outside_japan"
            );
        }
        Ok(Self {
            name: name.to_owned(),
            region: region.to_owned(),
            kind,
        })
    }

    pub fn dir(path: PathBuf) -> Kind {
        Kind::Dir(path)
    }

    pub fn s3(s: S3Settings) -> Result<Kind, DestError> {
        Ok(Kind::S3(Box::new(S3::new(s)?)))
    }

    /// Stores `file` as `key`; never replaces an object. Returns the retention date when
    /// the object is locked.
    pub async fn put(&self, key: &str, file: &Path) -> Result<Option<String>, DestError> {
        match &self.kind {
            Kind::Dir(dir) => {
                let (dir, key, file) = (dir.clone(), key.to_owned(), file.to_owned());
                tokio::task::spawn_blocking(move || put_dir(&dir, &key, &file))
                    .await
                    .map_err(|e| DestError::Other(e.to_string()))??;
                Ok(None)
            }
            Kind::S3(s3) => s3.put(key, file).await,
        }
    }

    pub async fn get(&self, key: &str, to: &Path) -> Result<(), DestError> {
        match &self.kind {
            Kind::Dir(dir) => {
                let src = dir.join(key);
                tokio::fs::copy(&src, to).await.map_err(DestError::local)?;
                Ok(())
            }
            Kind::S3(s3) => s3.get(key, to).await,
        }
    }

    pub async fn list(&self) -> Result<Vec<Object>, DestError> {
        match &self.kind {
            Kind::Dir(dir) => {
                let rd = fs::read_dir(dir).map_err(|e| match e.kind() {
                    io::ErrorKind::NotFound => {
                        DestError::Unreachable(format!("{}: not mounted or missing", dir.display()))
                    }
                    _ => DestError::local(e),
                })?;
                let mut out = Vec::new();
                for e in rd {
                    let e = e.map_err(DestError::local)?;
                    let key = e.file_name().to_string_lossy().into_owned();
                    if key.starts_with('.') {
                        continue;
                    }
                    let size = e.metadata().map_err(DestError::local)?.len();
                    out.push(Object { key, size });
                }
                out.sort_by(|a, b| a.key.cmp(&b.key));
                Ok(out)
            }
            Kind::S3(s3) => s3.list().await,
        }
    }

    /// Removes `key` (for `prune`, run elsewhere with delete rights).
    pub async fn delete(&self, key: &str) -> Result<(), DestError> {
        match &self.kind {
            Kind::Dir(dir) => fs::remove_file(dir.join(key)).map_err(DestError::local),
            Kind::S3(s3) => s3.delete(key).await,
        }
    }
}

/// Writes beside the target, syncs, then renames: a reader never sees half a file.
fn put_dir(dir: &Path, key: &str, file: &Path) -> Result<(), DestError> {
    if !dir.is_dir() {
        return Err(DestError::Unreachable(format!(
            "{}: not mounted or missing",
            dir.display()
        )));
    }
    let target = dir.join(key);
    if target.exists() {
        return Err(DestError::Other(format!("{key} already exists")));
    }
    let tmp = dir.join(format!(".{key}.{:016x}.partial", OsRng.next_u64()));
    let r = (|| {
        let mut out = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        io::copy(&mut fs::File::open(file)?, &mut out)?;
        out.sync_all()?;
        fs::rename(&tmp, &target)?;
        fs::File::open(dir)?.sync_all()
    })();
    if r.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    r.map_err(DestError::local)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_japanese_regions_by_default() {
        let dir = || Destination::dir(PathBuf::from("/tmp"));
        assert!(Destination::new("a", "us-east-1", false, dir()).is_err());
        assert!(Destination::new("a", "", true, dir()).is_err());
        assert!(Destination::new("a", "us-east-1", true, dir()).is_ok());
        assert!(Destination::new("a", "ap-northeast-1", false, dir()).is_ok());
    }
}
