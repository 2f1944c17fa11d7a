//! Maintenance commands that open the data directory and exit: the demo data sets and
//! the audit log key's rotation.

use std::path::Path;

use tekkan_app::{DemoLogin, DemoOptions};
use tekkan_storage::Db;

use crate::config::Config;
use crate::{CliError, keys, open_app};

/// `tekkan demo`: writes the demo dataset and returns its logins.
pub async fn run_demo(cfg: &Config) -> Result<Vec<DemoLogin>, CliError> {
    let (app, _, _) = open_app(cfg).await?;
    let r = app.seed_demo(&DemoOptions::default()).await;
    app.db().close().await;
    Ok(r?)
}

/// `tekkan demo --clubs N`: writes generated clubs; with a sessions file, writes one
/// `token<TAB>club<TAB>membership<TAB>occurrence` line per session (mode 0600).
pub async fn run_scale_demo(
    cfg: &Config,
    opts: &tekkan_app::ScaleOptions,
    sessions_file: Option<&Path>,
) -> Result<tekkan_app::ScaleReport, CliError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let (app, _, _) = open_app(cfg).await?;
    let r = app.seed_scale(opts).await;
    app.db().close().await;
    let r = r?;
    if let Some(path) = sessions_file {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)?;
        for s in &r.sessions {
            writeln!(f, "{}\t{}\t{}\t{}", s.token, s.club, s.member, s.occurrence)?;
        }
    }
    Ok(r)
}

/// `tekkan keys rotate-log`: a new checkpoint key; both keys sign the succession, then
/// the new seed replaces the old one in `secrets/log.key`.
pub async fn rotate_log_key(cfg: &Config) -> Result<String, CliError> {
    use rand_core::{OsRng, RngCore};
    let at = cfg.database();
    let k = keys::load(&cfg.data_dir, &cfg.keys, at.is_new().await?)?;
    let db = Db::connect(&at, k.audit.clone()).await?;
    let mut new = [0u8; 32];
    OsRng.fill_bytes(&mut new);
    let base = cfg.server.public_url.trim().trim_end_matches('/');
    let r = tekkan_app::LogKey::rotate(&db, &k.log, &new, base).await;
    db.close().await;
    let public = r?;
    keys::replace_log_key(&cfg.data_dir, &new)?;
    Ok(public)
}
