//! Maintenance commands that open the data directory and exit: the demo data sets and
//! the audit log key's rotation.

use std::path::Path;

use tekkan_app::{DemoLogin, DemoOptions};

use crate::config::Config;
use crate::{CliError, open_app};

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

/// `tekkan keys rotate-log`: a new checkpoint key, whose succession both keys sign;
/// running instances load it from the database, and `secrets/log.key` gets it here.
pub async fn rotate_log_key(cfg: &Config) -> Result<String, CliError> {
    let (app, k, _) = open_app(cfg).await?;
    let rotate = async {
        let public = app.rotate_log_key().await?;
        crate::server::keep_log_key_file(&app, &cfg.data_dir, &k.log)?;
        Ok(public.encode())
    };
    let r = rotate.await;
    app.db().close().await;
    r
}
