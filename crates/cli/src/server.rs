//! Opening the data directory and starting the server; the maintenance commands that
//! share that setup.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tekkan_app::{
    App, AppSettings, DemoLogin, DemoOptions, HashSettings, IpLimits, LimitSettings,
    SessionSettings,
};
use tekkan_core::throttle::Policy;
use tekkan_storage::Db;
use tekkan_web::{AppState, Keys, WebConfig};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::keys;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Keys(#[from] keys::KeyError),
    #[error("database: {0}")]
    Storage(#[from] tekkan_storage::StorageError),
    #[error("{0}")]
    App(#[from] tekkan_app::AppError),
    #[error(
        "the master key is set in the configuration (keys.master_key): rotate it by hand, or \
         keep it in <data_dir>/secrets/master.key"
    )]
    MasterKeyInConfig,
    #[error(transparent)]
    Tls(#[from] tekkan_web::TlsError),
    #[error(
        "refusing to serve plain HTTP on {0}: that address is reachable from other machines. \
         Configure [tls] cert_file and key_file, or set server.behind_tls_proxy = true if a \
         TLS-terminating proxy sits in front"
    )]
    PlainHttpNotLoopback(SocketAddr),
    #[error("[tls] needs both cert_file and key_file")]
    HalfTls,
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("notifications: {0}")]
    Mail(String),
    #[error(transparent)]
    Backup(#[from] tekkan_backup::BackupError),
    #[error("backup configuration: {0}")]
    BackupConfig(String),
    #[error(transparent)]
    Files(#[from] tekkan_files::FilesError),
    /// A command used wrongly (an unknown switch, a malformed id).
    #[error("{0}")]
    Usage(String),
}

/// The database file inside a data directory.
pub fn db_path(data_dir: &Path) -> PathBuf {
    data_dir.join("tekkan.sqlite3")
}

/// The data key store: beside the master key, never inside the database (so a
/// destroyed key is gone from every copy of the database).
pub fn keystore_path(data_dir: &Path) -> PathBuf {
    data_dir.join("secrets").join("data-keys.sqlite3")
}

/// Passkeys belong to the public URL's host. On a loopback development server they
/// belong to `localhost` (browsers refuse an IP address as a relying party), and the
/// page may be opened as `localhost` or as the address.
fn passkey_settings(base_url: &str) -> tekkan_app::PasskeySettings {
    let (scheme, rest) = base_url.split_once("://").unwrap_or(("https", base_url));
    let authority = rest.split('/').next().unwrap_or_default();
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => (h, Some(p)),
        _ => (authority, None),
    };
    let loopback = matches!(host, "127.0.0.1" | "[::1]" | "localhost");
    let mut origins = vec![base_url.to_owned()];
    let rp_id = match loopback {
        true => {
            let port = port.map(|p| format!(":{p}")).unwrap_or_default();
            origins.push(format!("{scheme}://localhost{port}"));
            "localhost".to_owned()
        }
        false => host.to_owned(),
    };
    origins.dedup();
    tekkan_app::PasskeySettings { rp_id, origins }
}

fn settings(cfg: &Config, base_url: &str) -> AppSettings {
    const HOUR: i64 = 3_600_000;
    let hashing = HashSettings {
        memory_kib: cfg.password.argon2_memory_kib,
        iterations: cfg.password.argon2_iterations,
        parallelism: cfg.password.argon2_parallelism,
        max_concurrent: match cfg.password.max_concurrent_hashes {
            0 => HashSettings::default().max_concurrent,
            n => n,
        },
        ..HashSettings::default()
    };
    AppSettings {
        sessions: SessionSettings {
            idle_ms: cfg.accounts.session_idle_hours * HOUR,
            absolute_ms: cfg.accounts.session_absolute_hours * HOUR,
            ..SessionSettings::default()
        },
        hashing,
        open_signup: cfg.accounts.open_signup,
        setup_token_ttl_ms: cfg.accounts.setup_link_minutes * 60_000,
        base_url: base_url.to_owned(),
        limits: limits(&cfg.limits),
        enforce_mfa: cfg.accounts.enforce_mfa,
        minor_age: cfg.accounts.minor_age,
        confirm_signup: cfg.accounts.confirm_signup,
        passkeys: passkey_settings(base_url),
        // Checked when the server starts (`start`); a command that does not serve
        // runs no detection.
        detect: cfg.detect.thresholds().unwrap_or_default(),
        alerts: cfg.alerts.settings().unwrap_or_default(),
    }
}

fn limits(l: &crate::config::Limits) -> LimitSettings {
    let w = |(n, secs): (u32, u64)| (n, secs as i64 * 1000);
    LimitSettings {
        login: Policy {
            free_failures: l.login_free_failures,
            base_delay_ms: l.login_base_delay_ms,
            max_delay_ms: l.login_max_delay_secs * 1000,
            lock_after: l.login_lock_after,
            daily_max: l.login_daily_max,
            window_ms: l.login_cap_window_secs * 1000,
        },
        ip: IpLimits {
            login: w(l.login_per_address),
            login_failure: w(l.login_failures_per_address),
            sign_up: w(l.signups_per_address),
            invitation: w(l.invitation_lookups_per_address),
            reset: w(l.reset_requests_per_address),
            export: w(l.exports_per_address),
        },
        unlock_ttl_ms: l.unlock_link_minutes * 60_000,
        reset_ttl_ms: l.reset_link_minutes * 60_000,
    }
}

/// Opens (creating if needed) the data directory, its keys and its database.
/// Returns the application, the keys, and whether the database was new.
pub async fn open_app(cfg: &Config) -> Result<(App, keys::ServerKeys, bool), CliError> {
    open_app_at(cfg, cfg.server.public_url.trim().trim_end_matches('/')).await
}

async fn open_app_at(
    cfg: &Config,
    base_url: &str,
) -> Result<(App, keys::ServerKeys, bool), CliError> {
    keys::private_dir(&cfg.data_dir)?;
    let at = cfg.database();
    let fresh = at.is_new().await?;
    let k = keys::load(&cfg.data_dir, &cfg.keys, fresh)?;
    let delivery = delivery(cfg, &k)?;
    let db = Db::connect(&at, k.audit.clone()).await?;
    if let tekkan_storage::Location::Sqlite(path) = &at {
        owner_only(path)?;
    }
    let vault = crate::vault::vault(cfg, &k)?;
    let ks_at = cfg.keystore()?;
    let keystore = tekkan_storage::KeyStore::open(&ks_at, &at).await?;
    if let tekkan_storage::Location::Sqlite(path) = &ks_at {
        owner_only(path)?;
    }
    let files = cfg
        .files
        .settings(&cfg.data_dir)
        .map_err(tekkan_files::FilesError::Config)
        .and_then(|s| tekkan_files::Files::open(&s))?;
    let app = match App::open(
        db.clone(),
        keystore,
        settings(cfg, base_url),
        delivery,
        vault,
        &k.log,
        files,
    )
    .await
    {
        Ok(app) => app,
        Err(e) => {
            db.close().await;
            return Err(e.into());
        }
    };
    keep_log_key_file(&app, &cfg.data_dir, &k.log)?;
    Ok((app, k, fresh))
}

/// Writes the audit log's current key to `secrets/log.key` when the file holds an
/// older one (the key was rotated while this instance was away, or by another
/// instance): a retired key does not stay on disk, and the next start reads the
/// current key first. Returns the key the file now holds.
pub fn keep_log_key_file(
    app: &App,
    data_dir: &Path,
    on_disk: &[u8; 32],
) -> Result<[u8; 32], CliError> {
    let current = app.log_seed_for_key_file();
    if current != *on_disk {
        keys::replace_log_key(data_dir, &current)?;
        tracing::info!("secrets/log.key now holds the audit log's current key");
    }
    Ok(current)
}

/// The database holds personal data: readable by the server's user only, like the keys.
fn owner_only(db: &Path) -> Result<(), CliError> {
    use std::os::unix::fs::PermissionsExt;
    for suffix in ["", "-wal", "-shm"] {
        let p = PathBuf::from(format!("{}{suffix}", db.display()));
        if p.exists() {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(())
}

/// The e-mail and push senders the configuration asks for.
fn delivery(cfg: &Config, k: &keys::ServerKeys) -> Result<tekkan_app::Delivery, CliError> {
    use tekkan_notify::mail::{MailSettings, Mailer, Security};
    use tekkan_notify::webpush::{Pusher, Vapid};
    let m = &cfg.mail;
    let mailer = match m.host.trim() {
        "" => None,
        host => {
            let security = match m.security.as_str() {
                "tls" => Security::Tls,
                "starttls" => Security::StartTls,
                "none" if matches!(host, "localhost" | "127.0.0.1" | "::1") => Security::None,
                "none" => {
                    return Err(CliError::Mail(
                        "mail.security = \"none\" is only allowed for a relay on this machine"
                            .into(),
                    ));
                }
                other => {
                    return Err(CliError::Mail(format!(
                        "mail.security: unknown value {other:?}"
                    )));
                }
            };
            let s = MailSettings {
                host: host.to_owned(),
                port: m.port,
                security,
                username: Some(m.username.clone()).filter(|u| !u.is_empty()),
                password: m.password.as_ref().map(|p| p.expose().to_owned()),
                from: m.from.clone(),
            };
            Some(Mailer::new(&s).map_err(|e| CliError::Mail(e.to_string()))?)
        }
    };
    let pusher = match cfg.push.enabled {
        false => None,
        true => {
            let v = Vapid::from_secret(&k.vapid, &cfg.push.subject)
                .ok_or_else(|| CliError::Mail("secrets/vapid.key is not a P-256 key".into()))?;
            Some(
                Pusher::new(v, cfg.push.allow_insecure_endpoints)
                    .map_err(|e| CliError::Mail(e.to_string()))?,
            )
        }
    };
    Ok(tekkan_app::Delivery { mailer, pusher })
}

/// How `serve` was asked to start.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// Seed the demo club when the database is new.
    pub demo: bool,
}

/// A server running in this process.
pub struct Running {
    pub addr: SocketAddr,
    pub base_url: String,
    /// Printed at start while the server has no operator.
    pub setup_url: Option<String>,
    pub demo_logins: Vec<DemoLogin>,
    /// Why `--demo` seeded nothing (the data directory already held data).
    pub demo_skipped: Option<String>,
    pub app: App,
    shutdown: oneshot::Sender<()>,
    handle: JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Stops accepting, lets requests in flight finish, and closes the database.
    pub async fn stop(self) -> std::io::Result<()> {
        let _ = self.shutdown.send(());
        let r = self
            .handle
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)));
        self.app.db().close().await;
        r
    }

    /// Waits until the server ends (after a shutdown signal).
    pub async fn wait(self) -> std::io::Result<()> {
        let r = self
            .handle
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)));
        self.app.db().close().await;
        drop(self.shutdown);
        r
    }
}

/// Checks the listening rules, opens everything, binds, and serves in a task until
/// [`Running::stop`] or `signal` resolves.
pub async fn start(
    cfg: &Config,
    opts: &ServeOptions,
    signal: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<Running, CliError> {
    let tls = match (&cfg.tls.cert_file, &cfg.tls.key_file) {
        (Some(c), Some(k)) => Some(tekkan_web::load_tls_config(
            c,
            k,
            Duration::from_secs(cfg.tls.reload_secs),
        )?),
        (None, None) => None,
        _ => return Err(CliError::HalfTls),
    };
    // A detection or alert configuration that cannot work is refused now.
    cfg.detect.thresholds().map_err(CliError::Usage)?;
    cfg.alerts.settings().map_err(CliError::Usage)?;
    // A backup configuration that cannot work is refused now, not at the first run.
    crate::backup::destinations(cfg)?;
    if !cfg.backup.destinations.is_empty() {
        crate::backup::recipients(cfg)?;
    }
    // A backup, restore or verify killed mid-run leaves plaintext copies behind.
    let swept = crate::backup::sweep_all_work(&cfg.data_dir);
    if swept > 0 {
        tracing::warn!(swept, "removed work directories left by killed runs");
    }
    let listen = cfg.server.listen;
    if tls.is_none() && !cfg.server.behind_tls_proxy && !listen.ip().is_loopback() {
        return Err(CliError::PlainHttpNotLoopback(listen));
    }
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|source| CliError::Bind {
            addr: listen,
            source,
        })?;
    let addr = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    // On a loopback server, links name `localhost`: browsers refuse passkeys on an IP
    // address, and a link printed as 127.0.0.1 would open a page where they fail.
    let base_url = match cfg.server.public_url.trim() {
        "" if addr.ip().is_loopback() => format!("{scheme}://localhost:{}", addr.port()),
        "" => format!("{scheme}://{addr}"),
        u => u.trim_end_matches('/').to_owned(),
    };
    let (app, keys, fresh) = open_app_at(cfg, &base_url).await?;
    if let Err(e) = crate::rollback::guard(&app, &cfg.data_dir).await {
        app.db().close().await;
        return Err(e);
    }
    let held = app.db().writes_held().is_some();
    let demo_logins = match opts.demo && fresh && !held {
        true => app.seed_demo(&DemoOptions::default()).await?,
        false => Vec::new(),
    };
    let demo_skipped = (opts.demo && !fresh).then(|| {
        format!(
            "--demo seeded nothing: the data directory {} already holds data (the demo is \
             written only into an empty one; use another --data-dir, or `tekkan demo` to add \
             the demo club here)",
            cfg.data_dir.display()
        )
    });
    if let Some(why) = &demo_skipped {
        tracing::warn!("{why}");
    }
    let setup_url = match held {
        true => None,
        false => app
            .issue_setup_token()
            .await?
            .map(|t| format!("{base_url}/setup?token={t}")),
    };
    let secure = tls.is_some() || cfg.server.behind_tls_proxy;
    let state = AppState {
        app: app.clone(),
        config: Arc::new(WebConfig {
            base_url: base_url.clone(),
            secure_cookies: secure,
            hsts: secure,
            behind_proxy: cfg.server.behind_tls_proxy,
            body_limit: cfg.server.body_limit_kib * 1024,
            request_timeout: Duration::from_secs(cfg.server.request_timeout_secs),
        }),
        keys: Arc::new(Keys { csrf: keys.csrf }),
    };
    let (tx, rx) = oneshot::channel::<()>();
    let stop = async move {
        tokio::select! {
            _ = rx => {}
            _ = signal => {}
        }
        tracing::info!("shutting down");
    };
    let (sched_stop, sched_rx) = tokio::sync::watch::channel(false);
    let scheduler = tokio::spawn(crate::scheduler::run(
        app.clone(),
        Duration::from_millis(cfg.scheduler.poll_ms.max(10)),
        sched_rx.clone(),
    ));
    let reads = tokio::spawn({
        let (app, stop) = (app.clone(), sched_rx);
        async move { app.run_read_log(stop).await }
    });
    // Stopped after the read log has drained, so that its last checkpoint covers it.
    let (cp_stop, cp_rx) = tokio::sync::watch::channel(false);
    let checkpointer = tokio::spawn(crate::scheduler::checkpoints(
        app.clone(),
        cfg.data_dir.clone(),
        Duration::from_millis(cfg.scheduler.checkpoint_ms.clamp(10, 60_000)),
        cp_rx.clone(),
    ));
    let integrator = tokio::spawn(crate::scheduler::integrator(
        app.clone(),
        Duration::from_millis(tekkan_storage::audit_queue::INTEGRATE_EVERY_MS),
        cp_rx.clone(),
    ));
    let backups = tokio::spawn(crate::backup::schedule(
        app.clone(),
        cfg.clone(),
        sched_stop.subscribe(),
    ));
    let health = tokio::spawn(crate::scheduler::health(
        app.clone(),
        Duration::from_secs(cfg.scheduler.health_check_minutes.max(1) * 60),
        sched_stop.subscribe(),
    ));
    // Read once before serving, so a switch that is on applies from the first request.
    if let Err(e) = app.refresh_containment().await {
        tracing::warn!(error = %e, "containment switches could not be read");
    }
    let detections = tokio::spawn({
        let (app, stop) = (app.clone(), sched_stop.subscribe());
        async move { app.run_detections(stop).await }
    });
    if !app.alerting_ok().await.unwrap_or(false) {
        tracing::error!(
            "NO ALERT CHANNEL: detections reach no one. Configure [alerts] webhooks, or \
             e-mail or Web Push for the operator (see docs/operations/incident-response.md)"
        );
    }
    let contain = tokio::spawn({
        let (app, stop) = (app.clone(), sched_stop.subscribe());
        async move { app.watch_containment(stop).await }
    });
    let disk = tokio::spawn(crate::scheduler::disk_space(
        cfg.data_dir.clone(),
        Duration::from_secs(30),
        sched_stop.subscribe(),
    ));
    let serve = tekkan_web::serve(listener, tls, state, stop);
    let handle = tokio::spawn(async move {
        let r = serve.await;
        // The scheduler finishes the job it is on, then stops.
        let _ = sched_stop.send(true);
        let _ = scheduler.await;
        // A backup in progress is abandoned: its work directory is removed, and what
        // was not sent is simply not there (the manifest goes last).
        backups.abort();
        let _ = backups.await;
        health.abort();
        let _ = health.await;
        disk.abort();
        let _ = disk.await;
        let _ = contain.await;
        let _ = detections.await;
        let _ = reads.await;
        let _ = cp_stop.send(true);
        let _ = integrator.await;
        let _ = checkpointer.await;
        r
    });
    tracing::info!(%addr, %base_url, "listening");
    Ok(Running {
        addr,
        base_url,
        setup_url,
        demo_logins,
        demo_skipped,
        app,
        shutdown: tx,
        handle,
    })
}
