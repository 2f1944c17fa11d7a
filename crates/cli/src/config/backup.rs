//! The `[backup]` section: recipients, trusted signers, retention, and destinations.

use std::path::PathBuf;

use serde::Deserialize;

use super::Secret;

pub use tekkan_backup::retention::Policy as Retention;

/// Backups: sealed to `recipients` (age public keys), signed, sent to every destination.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Backup {
    /// Minutes between the server's own backups; 0 leaves it to `tekkan backup run`.
    pub interval_minutes: u64,
    /// age recipients (`age1...`): the operator's public keys. Their private keys are
    /// kept off this server.
    pub recipients: Vec<String>,
    /// Manifest signing keys `verify` and `restore` trust (`name+id+base64`), besides
    /// this server's own when its data directory is at hand.
    pub trusted_signers: Vec<String>,
    /// Grandfather-father-son: the newest backup of each of the last N periods is kept.
    pub retention: Retention,
    pub destinations: Vec<Destination>,
}

impl Default for Backup {
    fn default() -> Self {
        Self {
            interval_minutes: 1440,
            recipients: Vec::new(),
            trusted_signers: Vec::new(),
            retention: Retention::default(),
            destinations: Vec::new(),
        }
    }
}

/// One place backups go: `kind = "dir"` (a local or mounted directory, `path`) or
/// `kind = "s3"` (an S3-compatible bucket).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Destination {
    pub name: String,
    pub kind: String,
    /// Where the data is kept (`ap-northeast-1`, `jp-tokyo`...). Outside Japan only with
    /// `allow_outside_japan = true`, which is logged at every use.
    pub region: String,
    #[serde(default)]
    pub allow_outside_japan: bool,
    #[serde(default)]
    pub path: Option<PathBuf>,
    #[serde(default)]
    pub endpoint: String,
    #[serde(default)]
    pub bucket: String,
    #[serde(default)]
    pub prefix: String,
    #[serde(default)]
    pub path_style: bool,
    #[serde(default)]
    pub access_key_id: String,
    #[serde(default)]
    pub secret_access_key: Option<Secret>,
    /// Days each upload stays locked when the bucket has Object Lock.
    #[serde(default = "default_lock_days")]
    pub lock_days: u32,
    #[serde(default = "default_lock_mode")]
    pub lock_mode: String,
}

fn default_lock_days() -> u32 {
    30
}

fn default_lock_mode() -> String {
    "COMPLIANCE".into()
}
