//! `tekkan backup run`, `list` and `prune`, and the server's own backup loop: a
//! snapshot of the data directory (database, key store, key files, uploaded files)
//! sealed to the configured recipients and sent to every destination.

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tekkan_app::App;
use tekkan_audit::signed::Signer;
use tekkan_backup::age::Recipient;
use tekkan_backup::s3::S3Settings;
use tekkan_backup::{BackupError, Destination, Snapshot, manifest};
use tokio::sync::watch;

use crate::config::{self, Config};
use crate::{CliError, keys};

/// The configured destinations, each checked (region rule, settings).
pub fn destinations(cfg: &Config) -> Result<Vec<Destination>, CliError> {
    let mut out: Vec<Destination> = Vec::new();
    for d in &cfg.backup.destinations {
        if out.iter().any(|o| o.name == d.name) {
            return Err(bad(format!("two backup destinations are named {}", d.name)));
        }
        out.push(destination(d)?);
    }
    Ok(out)
}

fn bad(msg: String) -> CliError {
    CliError::BackupConfig(msg)
}

fn destination(d: &config::Destination) -> Result<Destination, CliError> {
    let wrap = |source| {
        CliError::Backup(BackupError::Destination {
            name: d.name.clone(),
            source,
        })
    };
    let kind = match d.kind.as_str() {
        "dir" => Destination::dir(
            d.path
                .clone()
                .ok_or_else(|| bad(format!("destination {}: kind dir needs path", d.name)))?,
        ),
        "s3" => Destination::s3(S3Settings {
            endpoint: d.endpoint.clone(),
            bucket: d.bucket.clone(),
            region: d.region.clone(),
            access_key_id: d.access_key_id.clone(),
            secret_access_key: d
                .secret_access_key
                .as_ref()
                .map(|s| s.expose().to_owned())
                .unwrap_or_default(),
            prefix: d.prefix.clone(),
            path_style: d.path_style,
            lock_days: d.lock_days,
            lock_mode: d.lock_mode.clone(),
        })
        .map_err(wrap)?,
        other => {
            return Err(bad(format!(
                "destination {}: unknown kind {other:?}",
                d.name
            )));
        }
    };
    Destination::new(&d.name, &d.region, d.allow_outside_japan, kind).map_err(wrap)
}

pub fn recipients(cfg: &Config) -> Result<Vec<Recipient>, CliError> {
    if cfg.backup.recipients.is_empty() {
        return Err(bad(
            "backup.recipients is empty: add the public key `tekkan backup keygen` printed".into(),
        ));
    }
    cfg.backup
        .recipients
        .iter()
        .map(|r| Recipient::parse(r).map_err(|e| CliError::Backup(e.into())))
        .collect()
}

/// A private working directory (mode 0700), removed when dropped. It may hold
/// plaintext (a database copy, a decrypted backup), so a run that dies before dropping
/// it must not leave it behind for long: the directory holds a lock file locked for as
/// long as its run lives (the kernel releases it at any death, `kill -9` included), and
/// [`sweep_work`] removes every work directory whose lock nobody holds.
pub struct Work(pub PathBuf, #[allow(dead_code)] std::fs::File);

const WORK_PREFIX: &str = ".tekkan-";
const WORK_LOCK: &str = ".lock";

impl Work {
    pub fn new(parent: &Path, label: &str) -> Result<Self, CliError> {
        use rand_core::{OsRng, RngCore};
        let p = parent.join(format!("{WORK_PREFIX}{label}-{:016x}", OsRng.next_u64()));
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&p)?;
        let lock = std::fs::File::create(p.join(WORK_LOCK))?;
        lock.try_lock()
            .map_err(|e| std::io::Error::other(format!("cannot lock {}: {e}", p.display())))?;
        Ok(Self(p, lock))
    }
}

impl Drop for Work {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Removes the work directories under `dir` that a killed run left behind; returns how
/// many. One whose lock is held belongs to a run going on now and is left alone; one
/// with no lock file at all is removed once a minute old (it died in the instant between
/// creating the directory and its lock).
pub fn sweep_work(dir: &Path) -> usize {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let is_work = name.strip_prefix(WORK_PREFIX).is_some_and(|rest| {
            rest.rsplit_once('-')
                .is_some_and(|(_, id)| id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()))
        });
        if !is_work || !e.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let abandoned = match std::fs::File::open(e.path().join(WORK_LOCK)) {
            Ok(f) => f.try_lock().is_ok(),
            Err(_) => e
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > Duration::from_secs(60)),
        };
        if abandoned {
            tracing::warn!(dir = %e.path().display(), "removing a work directory a killed run left behind");
            if std::fs::remove_dir_all(e.path()).is_ok() {
                removed += 1;
            }
        }
    }
    removed
}

/// Sweeps every place work directories are made: the data directory and its parent
/// (backups, restores) and the temporary directory (verify, list, prune).
pub fn sweep_all_work(data_dir: &Path) -> usize {
    let temp = std::env::temp_dir();
    let mut dirs = vec![data_dir, temp.as_path()];
    dirs.extend(data_dir.parent());
    dirs.sort();
    dirs.dedup();
    dirs.into_iter().map(sweep_work).sum()
}

/// Every regular file under `dir`, as (path relative to `root`, path on disk).
fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> std::io::Result<()> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for e in rd {
        let e = e?;
        let t = e.file_type()?;
        if t.is_dir() {
            walk(root, &e.path(), out)?;
        } else if t.is_file() {
            let rel = e
                .path()
                .strip_prefix(root)
                .map(Path::to_path_buf)
                .unwrap_or_default();
            out.push((rel.to_string_lossy().into_owned(), e.path()));
        }
    }
    Ok(())
}

/// What a run did.
pub struct RunReport {
    pub manifest: manifest::Manifest,
    pub signer: String,
    pub stored: Vec<(String, Option<String>)>,
    pub failed: Vec<(String, String)>,
    pub seconds: f64,
}

/// Takes one backup while the server may be serving, sends it everywhere, records it.
pub async fn run(app: &App, cfg: &Config) -> Result<RunReport, CliError> {
    let started = std::time::Instant::now();
    let recipients = recipients(cfg)?;
    let dests = destinations(cfg)?;
    if dests.is_empty() {
        return Err(bad("no [[backup.destinations]] configured".into()));
    }
    let signer: Signer = keys::backup_signer(&cfg.data_dir)?;
    sweep_all_work(&cfg.data_dir);
    let work = Work::new(&cfg.data_dir, "backup")?;
    let snap_dir = work.0.join("snapshot");
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(snap_dir.join("secrets"))?;
    let (db, ks) = (
        snap_dir.join("tekkan.sqlite3"),
        snap_dir.join("secrets").join("data-keys.sqlite3"),
    );
    app.snapshot_into(&db, &ks).await?;
    let info = tekkan_storage::snapshot::inspect(&db).await?;
    if let Some(note) = &info.checkpoint {
        crate::rollback::save(&cfg.data_dir, note)?;
    }
    let mut files = vec![
        ("tekkan.sqlite3".to_owned(), db),
        ("secrets/data-keys.sqlite3".to_owned(), ks),
    ];
    // The key files as they are (written whole and renamed, never edited in place).
    let mut secrets = Vec::new();
    walk(&cfg.data_dir, &cfg.data_dir.join("secrets"), &mut secrets)?;
    secrets.retain(|(p, _)| p.ends_with(".key"));
    files.extend(secrets);
    // Uploaded files: written once under a new name, so reading them is consistent.
    walk(&cfg.data_dir, &cfg.data_dir.join("files"), &mut files)?;
    let now = jiff::Timestamp::now();
    let snap = Snapshot {
        id: tekkan_backup::new_id(now),
        created_ms: now.as_millisecond(),
        schema_version: info.schema_version,
        audit: manifest::Audit {
            entries: info.audit_entries,
            checkpoint: info.checkpoint,
        },
        files,
    };
    let staging = work.0.clone();
    let public = signer.public().encode();
    let sealed = tokio::task::spawn_blocking(move || {
        tekkan_backup::seal(&snap, &recipients, &signer, &staging)
    })
    .await
    .map_err(|e| CliError::Io(std::io::Error::other(e)))??;
    let (m, note, archive) = sealed;
    let _ = std::fs::remove_dir_all(&snap_dir);
    let sent = tekkan_backup::send(&dests, &m, &note, &archive, &work.0).await;
    let (mut stored, mut failed) = (Vec::new(), Vec::new());
    for s in sent {
        match s.result {
            Ok(lock) => {
                tracing::info!(backup = %m.id, destination = %s.destination, locked_until = ?lock, "backup stored");
                stored.push((s.destination, lock));
            }
            Err(e) => {
                // Loud: a destination that silently stops receiving is how backups fail.
                tracing::error!(backup = %m.id, destination = %s.destination, error = %e, "BACKUP DESTINATION FAILED");
                failed.push((s.destination, e.to_string()));
            }
        }
    }
    tekkan_app::metrics::backup_result(&stored, &failed, m.archive.size);
    let names: Vec<String> = stored.iter().map(|s| s.0.clone()).collect();
    record(app, &m.id, &names, &failed).await;
    Ok(RunReport {
        manifest: m,
        signer: public,
        stored,
        failed,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Records the run in the audit log (and tells the operators of a failure). A command
/// run beside a busy server may wait for the write lock: it tries for about a minute,
/// then says loudly that the run went unrecorded; the backup itself stands.
async fn record(app: &App, id: &str, stored: &[String], failed: &[(String, String)]) {
    let mut wait = Duration::from_millis(200);
    for attempt in 1..=6 {
        match app.record_backup(id, stored, failed).await {
            Ok(_) => return,
            Err(e) if attempt == 6 => {
                tracing::error!(backup = id, error = %e, "BACKUP NOT RECORDED in the audit log");
                return;
            }
            Err(e) => tracing::warn!(backup = id, error = %e, "recording the backup, will retry"),
        }
        tokio::time::sleep(wait).await;
        wait *= 2;
    }
}

/// The server's backup loop: backs up when the newest backup found is older than the
/// interval; after a run where every destination failed, tries again within 15 minutes.
pub async fn schedule(app: App, cfg: Config, mut stop: watch::Receiver<bool>) {
    let interval = Duration::from_secs(cfg.backup.interval_minutes.saturating_mul(60));
    if interval.is_zero() {
        return;
    }
    if cfg.backup.destinations.is_empty() || cfg.backup.recipients.is_empty() {
        tracing::warn!(
            "no backup destinations or recipients configured: this server is not backed up"
        );
        return;
    }
    let names: Vec<String> = cfg
        .backup
        .destinations
        .iter()
        .map(|d| d.name.clone())
        .collect();
    tekkan_app::metrics::backup_destinations(&names);
    let mut wait = match newest(&cfg).await {
        Some(t) => {
            tekkan_app::metrics::backup_seen(t.as_second());
            let age = jiff::Timestamp::now().duration_since(t);
            interval.saturating_sub(Duration::try_from(age).unwrap_or_default())
        }
        None => Duration::ZERO,
    };
    let mut lead = None;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return,
        }
        // One instance of a service runs the scheduled backups; the others look again
        // a minute later, in case it stopped.
        lead = crate::scheduler::keep_or_take(&app, lead, tekkan_storage::Duty::Backups, "backups")
            .await;
        if lead.is_none() {
            wait = Duration::from_secs(60);
            continue;
        }
        wait = match run(&app, &cfg).await {
            Ok(r) if r.stored.is_empty() => interval.min(Duration::from_secs(900)),
            Ok(_) => interval,
            Err(e) => {
                // Nothing was taken (a snapshot or key error): as loud as a failed
                // destination, and the operators are told the same way.
                tracing::error!(error = %e, "BACKUP FAILED");
                let failed = [("all".to_owned(), e.to_string())];
                tekkan_app::metrics::backup_result(&[], &failed, 0);
                if let Err(e) = app.record_backup("none", &[], &failed).await {
                    tracing::error!(error = %e, "could not record the failed backup");
                }
                interval.min(Duration::from_secs(900))
            }
        };
    }
}

/// The newest backup time any destination holds.
async fn newest(cfg: &Config) -> Option<jiff::Timestamp> {
    let dests = destinations(cfg).ok()?;
    let mut best = None;
    for d in &dests {
        if let Ok(objects) = d.list().await {
            for o in objects {
                if let Some(t) = o
                    .key
                    .strip_suffix(".manifest")
                    .and_then(tekkan_backup::id_time)
                {
                    best = best.max(Some(t));
                }
            }
        }
    }
    best
}

/// One line per backup a destination holds.
pub async fn list(
    cfg: &Config,
) -> Result<Vec<(String, Result<Vec<tekkan_backup::Listed>, String>)>, CliError> {
    let work = Work::new(&std::env::temp_dir(), "list")?;
    let mut out = Vec::new();
    for d in destinations(cfg)? {
        let r = tekkan_backup::list(&d, &work.0)
            .await
            .map_err(|e| e.to_string());
        out.push((d.name.clone(), r));
    }
    Ok(out)
}

/// `tekkan backup prune`: applies the retention policy to one destination.
pub async fn prune(
    cfg: &Config,
    name: &str,
    dry_run: bool,
) -> Result<Vec<(String, Option<String>, Option<String>)>, CliError> {
    let dest = destinations(cfg)?
        .into_iter()
        .find(|d| d.name == name)
        .ok_or_else(|| bad(format!("no destination named {name}")))?;
    let work = Work::new(&std::env::temp_dir(), "prune")?;
    let listed = tekkan_backup::list(&dest, &work.0).await?;
    let times: Vec<(String, jiff::Timestamp)> = listed
        .iter()
        .filter_map(|l| Some((l.id.clone(), tekkan_backup::id_time(&l.id)?)))
        .collect();
    let mut out = Vec::new();
    for v in tekkan_backup::retention::decide(&times, cfg.backup.retention) {
        let mut error = None;
        if v.keep.is_none() && !dry_run {
            // The manifest first: a backup without one is incomplete, never mistaken
            // for a whole one.
            for key in [
                manifest::Manifest::object_name(&v.id),
                format!("{}.tar.zst.age", v.id),
            ] {
                if let Err(e) = dest.delete(&key).await {
                    error = Some(e.to_string());
                    break;
                }
            }
        }
        out.push((v.id, v.keep, error));
    }
    Ok(out)
}
