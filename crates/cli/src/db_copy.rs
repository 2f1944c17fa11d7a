//! `tekkan db copy`: moves a whole deployment's database and data key store to another
//! engine (SQLite to PostgreSQL, or back) or another server, then proves the copy with
//! the audit verifier, against the checkpoint this data directory saved. The data
//! directory (keys, files) stays where it is; the operator points the configuration at
//! the new database and starts TEKKAN there.

use std::path::PathBuf;

use tekkan_storage::copy::{Copied, Schema, copy};
use tekkan_storage::{KeyStore, Location};

use crate::audit::{Trust, Verdict, invalid, verify_data_dir};
use crate::config::Config;
use crate::{CliError, keystore_path};

/// What a copy did, for the operator.
pub struct Moved {
    pub to: Location,
    pub keys_to: Location,
    pub data: Copied,
    pub keys: Copied,
    /// What the audit verifier said of the copy.
    pub audit: String,
}

/// Copies `cfg`'s database to `to` and its key store to `keys_to` (by default, where
/// a deployment on `to` keeps it). Run with every instance stopped: a source written
/// to during the copy is named, and the copy must be made again.
pub async fn run(cfg: &Config, to: &str, keys_to: Option<&str>) -> Result<Moved, CliError> {
    let from = cfg.database();
    let from_keys = cfg.keystore()?;
    if from.is_new().await? {
        return Err(invalid(format!("no database at {}", from.redacted())));
    }
    let to = Location::parse(to);
    let keys_to = match keys_to {
        Some(k) => Location::parse(k),
        None => KeyStore::default_location(&to, &keystore_path(&cfg.data_dir))?,
    };
    for (a, b, what) in [
        (&from, &to, "database"),
        (&from_keys, &keys_to, "key store"),
    ] {
        if same(a, b) {
            return Err(invalid(format!(
                "the {what} would be copied onto itself ({}): name another with --to or \
                 --keys-to",
                a.redacted()
            )));
        }
    }
    let data = copy(&from, &to, Schema::Data).await?;
    let keys = copy(&from_keys, &keys_to, Schema::Keys).await?;
    // Still the same log? A write that came after the snapshot is not in the copy.
    let again = copy_counts(&from).await?;
    if again != (data.audit_entries, data.audit_queued) {
        return Err(invalid(format!(
            "the source was written to during the copy ({} audit entries then, {} now): \
             stop every instance, remove the copy at {} and run this again",
            data.audit_entries + data.audit_queued,
            again.0 + again.1,
            to.redacted()
        )));
    }
    let mut moved = cfg.clone();
    moved.database.url = Some(to.url());
    moved.database.keys_url = Some(keys_to.url());
    let saved = cfg.data_dir.join("secrets").join(crate::rollback::FILE);
    let trust = Trust {
        pubkeys: Vec::new(),
        saved: saved.exists().then_some(saved),
    };
    let audit = match verify_data_dir(&moved, &trust).await? {
        Verdict::Intact(t) => t,
        Verdict::Tampered(t) => {
            return Err(invalid(format!("the copy does not verify: {t}")));
        }
    };
    Ok(Moved {
        to,
        keys_to,
        data,
        keys,
        audit,
    })
}

/// The source's audit entries and queued entries now.
async fn copy_counts(at: &Location) -> Result<(u64, u64), CliError> {
    use tekkan_storage::sql::{connect, scalar};
    let mut c = connect(at)
        .await
        .map_err(tekkan_storage::StorageError::from)?;
    let mut count = async |sql: &'static str| {
        scalar::<i64>(sql)
            .fetch_one(&mut c)
            .await
            .map(|n| n as u64)
            .map_err(tekkan_storage::StorageError::from)
    };
    let entries = count("SELECT COUNT(*) FROM audit_log").await?;
    let queued = count("SELECT COUNT(*) FROM audit_queue").await?;
    let _ = c.close().await;
    Ok((entries, queued))
}

fn same(a: &Location, b: &Location) -> bool {
    match (a, b) {
        (Location::Sqlite(x), Location::Sqlite(y)) => {
            let canon = |p: &PathBuf| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone());
            canon(x) == canon(y)
        }
        (Location::Postgres(x), Location::Postgres(y)) => x == y,
        _ => false,
    }
}
