//! Configuration: defaults in code, then `tekkan.toml`, then `TEKKAN_*` variables
//! (`TEKKAN_SERVER__LISTEN` sets `server.listen`). Unknown keys are errors, so a typo
//! never silently falls back to a default. Secrets never show in `Debug` output.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

mod backup;
mod files;
mod monitoring;
pub use backup::{Backup, Destination, Retention};
pub use files::Files;
pub use monitoring::{Alerts, Detect, Webhook};

/// A value that must not be logged: its `Debug` shows nothing of it.
#[derive(Clone, Deserialize, PartialEq, Eq, Default)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub data_dir: PathBuf,
    pub database: Database,
    pub server: Server,
    pub tls: Tls,
    pub accounts: Accounts,
    pub password: PasswordCfg,
    pub keys: Keys,
    pub log: Log,
    pub scheduler: Scheduler,
    pub mail: Mail,
    pub push: Push,
    pub limits: Limits,
    pub backup: Backup,
    pub files: Files,
    pub detect: Detect,
    pub alerts: Alerts,
}

/// Where the data lives. Without a URL, a SQLite file in the data directory (the
/// one-command default); `postgres://user:password@host:port/db` puts it on PostgreSQL,
/// where several instances can share it (`TEKKAN_DATABASE__URL`).
#[derive(Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Database {
    pub url: Option<String>,
    /// Where the personal data keys are kept, apart from the data they open (so that
    /// destroying one shreds every copy of the data). Empty: `secrets/data-keys.sqlite3`
    /// beside a SQLite database; beside a PostgreSQL database `NAME`, the database
    /// `NAME_keys` on the same server, which every instance shares.
    pub keys_url: Option<String>,
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = self
            .url
            .as_deref()
            .map(|u| tekkan_storage::Location::parse(u).redacted());
        let keys_url = self
            .keys_url
            .as_deref()
            .map(|u| tekkan_storage::Location::parse(u).redacted());
        f.debug_struct("Database")
            .field("url", &url)
            .field("keys_url", &keys_url)
            .finish()
    }
}

impl Config {
    /// The database this configuration names.
    pub fn database(&self) -> tekkan_storage::Location {
        match self
            .database
            .url
            .as_deref()
            .filter(|u| !u.trim().is_empty())
        {
            Some(url) => tekkan_storage::Location::parse(url),
            None => tekkan_storage::Location::Sqlite(crate::db_path(&self.data_dir)),
        }
    }

    /// The data key store this configuration names (see [`Database::keys_url`]).
    pub fn keystore(&self) -> Result<tekkan_storage::Location, tekkan_storage::StorageError> {
        match self
            .database
            .keys_url
            .as_deref()
            .filter(|u| !u.trim().is_empty())
        {
            Some(url) => Ok(tekkan_storage::Location::parse(url)),
            None => tekkan_storage::KeyStore::default_location(
                &self.database(),
                &crate::keystore_path(&self.data_dir),
            ),
        }
    }
}

/// Throttling. Per account (shared by all instances): delays after failed logins, a
/// lockout the owner lifts by e-mail, a daily cap. Per client address (per instance):
/// `[count, seconds]` windows.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    pub login_free_failures: i64,
    pub login_base_delay_ms: i64,
    pub login_max_delay_secs: i64,
    pub login_lock_after: i64,
    pub login_daily_max: i64,
    pub login_cap_window_secs: i64,
    pub unlock_link_minutes: i64,
    pub reset_link_minutes: i64,
    pub login_per_address: (u32, u64),
    pub login_failures_per_address: (u32, u64),
    pub signups_per_address: (u32, u64),
    pub invitation_lookups_per_address: (u32, u64),
    pub reset_requests_per_address: (u32, u64),
    pub exports_per_address: (u32, u64),
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            login_free_failures: 3,
            login_base_delay_ms: 1000,
            login_max_delay_secs: 900,
            login_lock_after: 10,
            login_daily_max: 100,
            login_cap_window_secs: 86_400,
            unlock_link_minutes: 60,
            reset_link_minutes: 30,
            login_per_address: (300, 900),
            login_failures_per_address: (50, 900),
            signups_per_address: (60, 3600),
            invitation_lookups_per_address: (120, 900),
            reset_requests_per_address: (20, 3600),
            exports_per_address: (10, 3600),
        }
    }
}

/// E-mail notifications over SMTP; off while `host` is empty.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Mail {
    pub host: String,
    pub port: u16,
    /// `tls` (port 465), `starttls` (587), or `none` (a relay on this machine only).
    pub security: String,
    pub username: String,
    pub password: Option<Secret>,
    pub from: String,
}

impl Default for Mail {
    fn default() -> Self {
        Self {
            host: String::new(),
            port: 587,
            security: "starttls".into(),
            username: String::new(),
            password: None,
            from: "TEKKAN <noreply@localhost>".into(),
        }
    }
}

/// Web Push notifications to browsers that subscribed.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Push {
    pub enabled: bool,
    /// Contact the push services can reach the operator at (`mailto:` or `https:`).
    pub subject: String,
    /// Tests only: accept plain-HTTP push endpoints on loopback.
    pub allow_insecure_endpoints: bool,
}

impl Default for Push {
    fn default() -> Self {
        Self {
            enabled: true,
            subject: "mailto:admin@localhost".into(),
            allow_insecure_endpoints: false,
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Scheduler {
    /// How often, at most, the scheduler looks for due reminders and notifications.
    pub poll_ms: u64,
    /// How often new audit entries are added to the Merkle tree under a signed
    /// checkpoint. The transparency promise is at least once a minute.
    pub checkpoint_ms: u64,
    /// How often the database's integrity and the whole audit chain are checked (at
    /// start, then every this many minutes); a failure turns `/healthz` degraded.
    pub health_check_minutes: u64,
}

impl Default for Scheduler {
    fn default() -> Self {
        Self {
            poll_ms: 15_000,
            checkpoint_ms: 30_000,
            health_check_minutes: 60,
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Server {
    pub listen: SocketAddr,
    /// How links sent to people begin; empty means derived from `listen`.
    pub public_url: String,
    /// TLS ends at a reverse proxy in front of TEKKAN, which may then listen on any
    /// address over plain HTTP. Only set this when that is true.
    pub behind_tls_proxy: bool,
    pub body_limit_kib: usize,
    pub request_timeout_secs: u64,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Tls {
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    /// How often the files are checked for a renewed certificate (SIGHUP checks at once).
    pub reload_secs: u64,
}

impl Default for Tls {
    fn default() -> Self {
        Self {
            cert_file: None,
            key_file: None,
            reload_secs: 60,
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Accounts {
    pub open_signup: bool,
    pub session_idle_hours: i64,
    pub session_absolute_hours: i64,
    pub setup_link_minutes: i64,
    /// The operator, owners, officers and treasurers must use two-step verification.
    /// Turn off only on a development machine.
    pub enforce_mfa: bool,
    /// Members younger than this need a linked guardian's consent before their
    /// personal fields are kept.
    pub minor_age: i16,
    /// With e-mail on, a new account waits until the link sent to its address is
    /// followed (so sign-up never reveals which addresses have accounts).
    pub confirm_signup: bool,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordCfg {
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub argon2_parallelism: u32,
    /// Hashes computed at once; 0 means one per core.
    pub max_concurrent_hashes: usize,
}

/// Keys normally live in `<data_dir>/secrets/`; these override them (for instances
/// without a writable disk). 64 hex characters each.
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Keys {
    pub csrf_key: Option<Secret>,
    pub audit_key: Option<Secret>,
    pub vapid_key: Option<Secret>,
    /// The master key that wraps personal data keys (`TEKKAN_KEYS__MASTER_KEY`).
    pub master_key: Option<Secret>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Log {
    /// `error`, `warn`, `info`, `debug`, or per-target (`info,tekkan_web=debug`).
    pub level: String,
    /// `text` for people at a terminal, `json` (one object per line) for a log
    /// collector.
    pub format: LogFormat,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./data"),
            database: Database::default(),
            server: Server::default(),
            tls: Tls::default(),
            accounts: Accounts::default(),
            password: PasswordCfg::default(),
            keys: Keys::default(),
            log: Log::default(),
            scheduler: Scheduler::default(),
            mail: Mail::default(),
            push: Push::default(),
            limits: Limits::default(),
            backup: Backup::default(),
            files: Files::default(),
            detect: Detect::default(),
            alerts: Alerts::default(),
        }
    }
}

impl Default for Log {
    fn default() -> Self {
        Self {
            level: "info".into(),
            format: LogFormat::Text,
        }
    }
}

impl Default for Server {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: String::new(),
            behind_tls_proxy: false,
            body_limit_kib: 64,
            request_timeout_secs: 30,
        }
    }
}

impl Default for Accounts {
    fn default() -> Self {
        Self {
            open_signup: false,
            session_idle_hours: 7 * 24,
            session_absolute_hours: 30 * 24,
            setup_link_minutes: 60,
            enforce_mfa: true,
            minor_age: 16,
            confirm_signup: true,
        }
    }
}

impl Default for PasswordCfg {
    fn default() -> Self {
        Self {
            argon2_memory_kib: 19_456,
            argon2_iterations: 2,
            argon2_parallelism: 1,
            max_concurrent_hashes: 0,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// Loads `file` (if it exists, or must exist when given explicitly) and then the
/// `TEKKAN_*` variables in `env`.
pub fn load(
    file: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Config, ConfigError> {
    let mut table = toml::Table::new();
    let default_path = Path::new("tekkan.toml");
    let path = file.or(default_path.exists().then_some(default_path));
    if let Some(p) = path {
        let text = std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
            path: p.display().to_string(),
            source,
        })?;
        table = text
            .parse::<toml::Table>()
            .map_err(|e| ConfigError::Invalid(format!("{}: {e}", p.display())))?;
    }
    let vars: BTreeMap<String, String> = env
        .into_iter()
        .filter(|(k, _)| k.starts_with("TEKKAN_") && k != "TEKKAN_CONFIG")
        .collect();
    for (k, v) in vars {
        let path: Vec<String> = k["TEKKAN_".len()..]
            .split("__")
            .map(str::to_lowercase)
            .collect();
        set_path(&mut table, &path, env_value(&v))
            .map_err(|e| ConfigError::Invalid(format!("{k}: {e}")))?;
    }
    toml::Value::Table(table)
        .try_into::<Config>()
        .map_err(|e| ConfigError::Invalid(e.to_string()))
}

/// A variable's text as the TOML value it most plausibly means.
fn env_value(v: &str) -> toml::Value {
    if let Ok(b) = v.parse::<bool>() {
        return toml::Value::Boolean(b);
    }
    if let Ok(i) = v.parse::<i64>() {
        return toml::Value::Integer(i);
    }
    toml::Value::String(v.to_owned())
}

fn set_path(table: &mut toml::Table, path: &[String], value: toml::Value) -> Result<(), String> {
    match path {
        [] => Err("empty key".into()),
        [last] => {
            table.insert(last.clone(), value);
            Ok(())
        }
        [first, rest @ ..] => {
            let entry = table
                .entry(first.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            match entry {
                toml::Value::Table(t) => set_path(t, rest, value),
                _ => Err(format!("{first} is not a section")),
            }
        }
    }
}

/// The annotated configuration `tekkan default-config` prints; a test keeps it equal to
/// the defaults in code.
pub const DEFAULT_TOML: &str = include_str!("default-config.toml");
