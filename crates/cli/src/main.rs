//! `tekkan`: the one binary. `tekkan --help` lists the commands.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

mod backup_cmd;
mod contain_cmd;
mod incident_cmd;

use clap::{Parser, Subcommand};
use tekkan_cli::config::{self, Config};
use tekkan_cli::{CliError, ServeOptions};

#[derive(Parser)]
#[command(
    name = "tekkan",
    version,
    about = "TEKKAN: clubs, schedules and members' data, kept safe"
)]
struct Cli {
    /// Configuration file (default: ./tekkan.toml when it exists).
    #[arg(long, global = true, env = "TEKKAN_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        #[arg(long)]
        data_dir: Option<PathBuf>,
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Seed the demo club when the data directory is empty.
        #[arg(long)]
        demo: bool,
    },
    /// Create or upgrade the database schema, then exit.
    Migrate {
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Write a demo dataset (a school brass band) and print its logins; with --clubs N,
    /// N generated clubs for benchmarks instead.
    Demo {
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Generate this many realistic clubs (about 30 members each, a year of practice).
        #[arg(long)]
        clubs: Option<usize>,
        /// Open this many sessions for benchmark clients (with --clubs).
        #[arg(long, default_value_t = 0)]
        sessions: usize,
        /// Where to write the sessions' tokens, one per line (mode 0600).
        #[arg(long)]
        sessions_file: Option<PathBuf>,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Audit log tools.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Key tools.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Backups: take, list, verify, prune; make the operator's key pair.
    Backup {
        #[command(subcommand)]
        command: backup_cmd::BackupCommand,
    },
    /// Containment during an incident: read-only mode, sign-ups paused, sessions
    /// ended, or everything locked down at once. Audited; every instance follows
    /// within seconds.
    Contain {
        #[command(subcommand)]
        command: contain_cmd::ContainCommand,
    },
    /// Incidents: open, update, resolve, list; export the status page as static files.
    Incident {
        #[command(subcommand)]
        command: incident_cmd::IncidentCommand,
    },
    /// Rebuild a data directory from a backup (every check of `backup verify` first).
    Restore {
        #[command(flatten)]
        source: backup_cmd::SourceArgs,
        /// The data directory to rebuild (default: data_dir of the configuration).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Replace an existing data directory (it is moved aside, not deleted).
        #[arg(long)]
        replace: bool,
    },
    /// Print an annotated tekkan.toml with every default.
    DefaultConfig,
    /// Uploaded files' store (`[files]`).
    Files {
        #[command(subcommand)]
        command: FilesCommand,
    },
    /// The database as a whole.
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
}

#[derive(Subcommand)]
enum DbCommand {
    /// Copy the database and the data key store to another engine or server (SQLite to
    /// PostgreSQL, or back), then verify the copy's audit log. Stop every instance
    /// first; afterwards set [database] url (and keys_url) to what it prints.
    Copy {
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Where to: `postgres://…` or a SQLite file's path (`sqlite://PATH`).
        #[arg(long)]
        to: String,
        /// Where the data keys go (default: beside the new database; for a SQLite
        /// destination, `<data_dir>/secrets/data-keys.sqlite3`).
        #[arg(long)]
        keys_to: Option<String>,
    },
}

#[derive(Subcommand)]
enum FilesCommand {
    /// Write, read back and delete a probe file in the configured store (a directory or
    /// a bucket); exits non-zero saying what failed.
    Check {
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Put a new master key in front and re-seal every person's data key under it, while
    /// the server keeps running. Older keys stay in the key file (older backups need them).
    Rotate {
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Replace the audit log's checkpoint key. Old and new key both sign the succession,
    /// so checkpoints signed before stay verifiable; the old private key is destroyed.
    /// Running instances sign with the new key within seconds.
    RotateLog {
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check every hash, link, proof and signature of the audit log; exits non-zero
    /// naming the first thing wrong. Works on a data directory (a copy will do) or,
    /// with only a public key, on an export file.
    Verify {
        #[arg(long, conflicts_with = "export")]
        data_dir: Option<PathBuf>,
        /// An export from `tekkan audit export` or a club's audit export.
        #[arg(long)]
        export: Option<PathBuf>,
        /// A trusted checkpoint key (`name+id+base64`), or a file of them; repeatable.
        #[arg(long)]
        pubkey: Vec<String>,
        /// A checkpoint (signed note) saved earlier: the log must still extend it.
        #[arg(long)]
        checkpoint: Option<PathBuf>,
    },
    /// Check a receipt from a `Tekkan-Receipt` header offline: its signature and, with
    /// the saved answer of `/api/v1/transparency/inclusion`, its signed checkpoint.
    VerifyReceipt {
        receipt: String,
        #[arg(long)]
        pubkey: Vec<String>,
        #[arg(long)]
        inclusion: Option<PathBuf>,
    },
    /// After the server refused writes because the database is behind its newest
    /// signed checkpoint: keep the database as it is. The decision is logged as an audit
    /// entry and the saved checkpoint replaced. Prefer restoring a newer backup when
    /// there is one. Run it with the server stopped.
    AcceptRollback {
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Write the whole log with every checkpoint as JSON Lines.
    Export {
        #[arg(long)]
        data_dir: Option<PathBuf>,
        #[arg(long)]
        out: PathBuf,
    },
}

pub(crate) fn load(
    cli_config: Option<&PathBuf>,
    data_dir: Option<PathBuf>,
) -> Result<Config, CliError> {
    let mut cfg = config::load(cli_config.map(PathBuf::as_path), std::env::vars())?;
    if let Some(d) = data_dir {
        cfg.data_dir = d;
    }
    Ok(cfg)
}

pub(crate) fn init_logging(log: &config::Log) {
    let level = &log.level;
    let filter: tracing_subscriber::filter::Targets = level.parse().unwrap_or_else(|_| {
        eprintln!("log.level {level:?} is not valid; using info");
        tracing_subscriber::filter::Targets::new().with_default(tracing::Level::INFO)
    });
    use tracing_subscriber::prelude::*;
    let layer = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let layer = match log.format {
        config::LogFormat::Text => layer
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .boxed(),
        // The request's span (id, method, path) goes along with each line, flattened
        // beside the event's own fields, so a collector can group one request's lines.
        config::LogFormat::Json => layer
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .boxed(),
    };
    tracing_subscriber::registry()
        .with(layer)
        .with(filter)
        .init();
}

/// Registers the SIGTERM and SIGINT handlers now (not at first poll, as an `async fn`
/// would), so a signal that arrives while the server is still starting already means
/// a graceful shutdown rather than the default instant death.
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()> + Send> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
}

async fn run(cli: Cli) -> Result<ExitCode, CliError> {
    match cli.command {
        Command::Serve {
            data_dir,
            listen,
            demo,
        } => {
            let mut cfg = load(cli.config.as_ref(), data_dir)?;
            if let Some(l) = listen {
                cfg.server.listen = l;
            }
            init_logging(&cfg.log);
            tracing::debug!(config = ?cfg, "configuration");
            let running =
                tekkan_cli::start(&cfg, &ServeOptions { demo }, shutdown_signal()?).await?;
            print_logins(&running.demo_logins);
            if let Some(why) = &running.demo_skipped {
                println!("{why}");
            }
            println!("TEKKAN is running at {}", running.base_url);
            if let Some(url) = &running.setup_url {
                println!(
                    "First run: create the operator account at\n  {url}\n(this link works once)"
                );
            }
            running.wait().await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate { data_dir } => {
            let cfg = load(cli.config.as_ref(), data_dir)?;
            let (app, _, _) = tekkan_cli::open_app(&cfg).await?;
            app.db().close().await;
            println!("schema is at version {}", tekkan_storage::latest_version());
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo {
            data_dir,
            clubs: Some(clubs),
            sessions,
            sessions_file,
            seed,
        } => {
            let cfg = load(cli.config.as_ref(), data_dir)?;
            let opts = tekkan_app::ScaleOptions {
                clubs,
                sessions,
                seed,
            };
            let started = std::time::Instant::now();
            let r = tekkan_cli::run_scale_demo(&cfg, &opts, sessions_file.as_deref()).await?;
            println!(
                "{} clubs, {} members, {} occurrences, {} answers, {} announcements, {} sessions in {:.1} s",
                r.clubs,
                r.members,
                r.occurrences,
                r.answers,
                r.announcements,
                r.sessions.len(),
                started.elapsed().as_secs_f64()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo { data_dir, .. } => {
            let cfg = load(cli.config.as_ref(), data_dir)?;
            let logins = tekkan_cli::run_demo(&cfg).await?;
            print_logins(&logins);
            Ok(ExitCode::SUCCESS)
        }
        Command::Files {
            command: FilesCommand::Check { data_dir },
        } => {
            let cfg = load(cli.config.as_ref(), data_dir)?;
            init_logging(&cfg.log);
            let settings = cfg
                .files
                .settings(&cfg.data_dir)
                .map_err(tekkan_files::FilesError::Config)?;
            let files = tekkan_files::Files::open(&settings)?;
            files.check().await?;
            println!(
                "files: {}: a probe was written, read back and deleted",
                files.describe()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Db {
            command:
                DbCommand::Copy {
                    data_dir,
                    to,
                    keys_to,
                },
        } => {
            let cfg = load(cli.config.as_ref(), data_dir)?;
            init_logging(&cfg.log);
            let started = std::time::Instant::now();
            let m = tekkan_cli::db_copy::run(&cfg, &to, keys_to.as_deref()).await?;
            println!(
                "copied {} tables, {} rows ({} audit entries, {} queued) and {} data keys in \
                 {:.1} s\n{}\nnow set in [database]:\n  url = \"{}\"\n  keys_url = \"{}\"",
                m.data.tables,
                m.data.rows,
                m.data.audit_entries,
                m.data.audit_queued,
                m.keys.rows,
                started.elapsed().as_secs_f64(),
                m.audit,
                m.to.redacted(),
                m.keys_to.redacted(),
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Keys {
            command: KeysCommand::Rotate { data_dir },
        } => {
            let cfg = load(cli.config.as_ref(), data_dir)?;
            init_logging(&cfg.log);
            let (id, moved) = tekkan_cli::rotate_master_key(&cfg).await?;
            println!("master key {id} is now current; {moved} data keys re-sealed under it");
            Ok(ExitCode::SUCCESS)
        }
        Command::Keys {
            command: KeysCommand::RotateLog { data_dir },
        } => {
            let cfg = load(cli.config.as_ref(), data_dir)?;
            init_logging(&cfg.log);
            let key = tekkan_cli::rotate_log_key(&cfg).await?;
            println!("audit log key rotated; the new public key is {key}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit {
            command:
                AuditCommand::Verify {
                    data_dir,
                    export,
                    pubkey,
                    checkpoint,
                },
        } => {
            let trust = tekkan_cli::audit::Trust {
                pubkeys: pubkey,
                saved: checkpoint,
            };
            let verdict = match export {
                Some(file) => tekkan_cli::audit::verify_export(&file, &trust)?,
                None => {
                    let cfg = load(cli.config.as_ref(), data_dir)?;
                    tekkan_cli::audit::verify_data_dir(&cfg, &trust).await?
                }
            };
            match verdict {
                tekkan_cli::audit::Verdict::Intact(text) => {
                    println!("{text}");
                    Ok(ExitCode::SUCCESS)
                }
                tekkan_cli::audit::Verdict::Tampered(text) => {
                    eprintln!("audit log TAMPERED: {text}");
                    Ok(ExitCode::from(1))
                }
            }
        }
        Command::Audit {
            command:
                AuditCommand::VerifyReceipt {
                    receipt,
                    pubkey,
                    inclusion,
                },
        } => {
            let trust = tekkan_cli::audit::Trust {
                pubkeys: pubkey,
                saved: None,
            };
            match tekkan_cli::audit::verify_receipt(&receipt, inclusion.as_deref(), &trust)? {
                tekkan_cli::audit::Verdict::Intact(text) => {
                    println!("{text}");
                    Ok(ExitCode::SUCCESS)
                }
                tekkan_cli::audit::Verdict::Tampered(text) => {
                    eprintln!("receipt NOT VALID: {text}");
                    Ok(ExitCode::from(1))
                }
            }
        }
        Command::Audit {
            command: AuditCommand::AcceptRollback { data_dir },
        } => {
            let cfg = load(cli.config.as_ref(), data_dir)?;
            match tekkan_cli::rollback::accept(&cfg).await? {
                tekkan_cli::rollback::Accepted::Nothing => {
                    println!("nothing to accept: the database extends its saved checkpoint");
                }
                tekkan_cli::rollback::Accepted::Recorded { reason, saved_size } => {
                    println!(
                        "rollback accepted and logged as audit.rollback_accepted. What was \
                         found: {reason}. The checkpoint once signed over {saved_size} \
                         entries is replaced by a new one over this database."
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit {
            command: AuditCommand::Export { data_dir, out },
        } => {
            let cfg = load(cli.config.as_ref(), data_dir)?;
            let n = tekkan_cli::audit::export_all(&cfg, &out).await?;
            println!("{n} audit entries written to {}", out.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Backup { command } => backup_cmd::run(cli.config.as_ref(), command).await,
        Command::Contain { command } => contain_cmd::run(cli.config.as_ref(), command).await,
        Command::Incident { command } => incident_cmd::run(cli.config.as_ref(), command).await,
        Command::Restore {
            source,
            data_dir,
            replace,
        } => {
            let cfg = load(cli.config.as_ref(), data_dir)?;
            init_logging(&cfg.log);
            let started = std::time::Instant::now();
            let (v, aside) = tekkan_cli::restore::restore(&cfg, &source.source(), replace).await?;
            for a in aside {
                println!("{a}");
            }
            println!(
                "restored backup {} into {} in {:.1} s ({} files; schema {}; {})",
                v.manifest.id,
                cfg.data_dir.display(),
                started.elapsed().as_secs_f64(),
                v.manifest.entries.len(),
                v.manifest.schema_version,
                v.audit
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::DefaultConfig => {
            print!("{}", config::DEFAULT_TOML);
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn print_logins(logins: &[tekkan_app::DemoLogin]) {
    if logins.is_empty() {
        return;
    }
    println!("Demo accounts (passwords are random and shown only now):");
    for l in logins {
        println!(
            "  {:<36} {:<18} {} ({})",
            l.email,
            l.password,
            l.display_name,
            l.role.as_str()
        );
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tekkan_cli::install_crypto_provider();
    match run(Cli::parse()).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("tekkan: {e}");
            ExitCode::from(2)
        }
    }
}
