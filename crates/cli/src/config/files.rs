//! The `[files]` section: where uploaded files are kept.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::Secret;

/// `kind = "dir"` (a directory on this machine: `path`, or `<data_dir>/files`) or
/// `kind = "s3"` (an S3-compatible bucket that every instance shares).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Files {
    pub kind: String,
    pub path: Option<PathBuf>,
    pub endpoint: String,
    pub bucket: String,
    /// Where the bucket keeps its data; outside Japan only with `allow_outside_japan`.
    pub region: String,
    pub allow_outside_japan: bool,
    pub prefix: String,
    pub path_style: bool,
    pub access_key_id: String,
    pub secret_access_key: Option<Secret>,
}

impl Default for Files {
    fn default() -> Self {
        Self {
            kind: "dir".into(),
            path: None,
            endpoint: String::new(),
            bucket: String::new(),
            region: String::new(),
            allow_outside_japan: false,
            prefix: String::new(),
            path_style: false,
            access_key_id: String::new(),
            secret_access_key: None,
        }
    }
}

impl Files {
    /// The store's settings, or what is wrong with them.
    pub fn settings(&self, data_dir: &Path) -> Result<tekkan_files::Settings, String> {
        match self.kind.as_str() {
            "dir" => Ok(tekkan_files::Settings::Dir(
                self.path.clone().unwrap_or_else(|| data_dir.join("files")),
            )),
            "s3" => Ok(tekkan_files::Settings::S3(tekkan_files::S3Settings {
                endpoint: self.endpoint.clone(),
                bucket: self.bucket.clone(),
                region: self.region.clone(),
                allow_outside_japan: self.allow_outside_japan,
                prefix: self.prefix.clone(),
                path_style: self.path_style,
                access_key_id: self.access_key_id.clone(),
                secret_access_key: self
                    .secret_access_key
                    .as_ref()
                    .map(|s| s.expose().to_owned())
                    .unwrap_or_default(),
            })),
            other => Err(format!(
                "files.kind: {other:?} is neither \"dir\" nor \"s3\""
            )),
        }
    }
}
