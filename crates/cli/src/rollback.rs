//! Rollback noticed: the newest signed checkpoint is kept outside the database, in
//! `secrets/latest-checkpoint` (and in every backup manifest). At start-up the server
//! checks that the database still extends it; a database behind it (a truncated WAL, a
//! file copied back, a rewritten log) gets no writes until the operator decides.
//!
//! The file trails the database by at most one checkpoint interval
//! (`scheduler.checkpoint_ms`): writes acknowledged after the last checkpoint and lost
//! with it are not seen here; the checkpoint interval is that bound.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use tekkan_app::App;

use crate::CliError;

/// The file's name in `<data_dir>/secrets/`.
pub const FILE: &str = "latest-checkpoint";

fn path(data_dir: &Path) -> PathBuf {
    data_dir.join("secrets").join(FILE)
}

/// The saved checkpoint (a signed note), if any.
pub fn saved(data_dir: &Path) -> Result<Option<String>, CliError> {
    match fs::read_to_string(path(data_dir)) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The size a signed note names (its second line).
fn size_of(note: &str) -> Option<u64> {
    note.lines().nth(1)?.parse().ok()
}

/// Keeps `note` as the saved checkpoint when it is newer than the one there: written
/// aside, synced, renamed over, and the directory synced, so that a crash leaves the old
/// file or the new one.
pub fn save(data_dir: &Path, note: &str) -> Result<(), CliError> {
    let have = saved(data_dir)?.as_deref().and_then(size_of);
    if have.is_some_and(|h| size_of(note).is_none_or(|n| n <= h)) {
        return Ok(());
    }
    write(data_dir, note)
}

/// Replaces the saved checkpoint, whatever it was (a restore, an accepted rollback).
pub fn write(data_dir: &Path, note: &str) -> Result<(), CliError> {
    let dir = data_dir.join("secrets");
    let tmp = dir.join(format!("{FILE}.new"));
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(note.as_bytes())?;
    f.sync_all()?;
    fs::rename(&tmp, path(data_dir))?;
    fs::File::open(&dir)?.sync_all()?;
    Ok(())
}

/// At start-up: compares the database with the saved checkpoint. Behind, forked or
/// unverifiable, writes are held (and `/healthz` says why); otherwise the newest
/// checkpoint in the database becomes the saved one.
pub async fn guard(app: &App, data_dir: &Path) -> Result<(), CliError> {
    if let Some(note) = saved(data_dir)?
        && let Some(reason) = app.behind_saved_checkpoint(&note).await?
    {
        app.hold_writes(reason);
        return Ok(());
    }
    if let Some(c) = app.db().latest_checkpoint().await? {
        save(data_dir, &c.note)?;
    }
    Ok(())
}

/// What `tekkan audit accept-rollback` did.
pub enum Accepted {
    /// The database extends the saved checkpoint: nothing to accept.
    Nothing,
    /// The operator's decision is in the log; the new checkpoint is the saved one.
    Recorded { reason: String, saved_size: u64 },
}

/// `tekkan audit accept-rollback` (server stopped): the operator keeps the database as
/// it is. The decision, with what was lost, becomes an audit entry; the checkpoint over
/// it replaces the saved one.
pub async fn accept(cfg: &crate::config::Config) -> Result<Accepted, CliError> {
    let (app, _, _) = crate::open_app(cfg).await?;
    let r = async {
        let Some(note) = saved(&cfg.data_dir)? else {
            return Ok(Accepted::Nothing);
        };
        let Some(reason) = app.behind_saved_checkpoint(&note).await? else {
            return Ok(Accepted::Nothing);
        };
        let saved_size = size_of(&note).unwrap_or(0);
        let c = app.accept_rollback(saved_size, &reason).await?;
        write(&cfg.data_dir, &c.note)?;
        Ok(Accepted::Recorded { reason, saved_size })
    }
    .await;
    app.db().close().await;
    r
}
