//! `tekkan backup ...`: taking, listing, verifying and pruning backups, and the
//! operator's key pair. The work is in `tekkan_cli::backup` and `::restore`; this
//! file parses the arguments and prints.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use tekkan_cli::CliError;

use crate::{init_logging, load};

#[derive(clap::Args)]
pub struct SourceArgs {
    /// The destination to take the backup from (its name in the configuration).
    #[arg(long)]
    pub from: String,
    /// The backup's id (default: the newest there).
    #[arg(long)]
    pub backup: Option<String>,
    /// The age identity file holding the private key (`tekkan backup keygen`).
    #[arg(long)]
    pub identity: PathBuf,
    /// A trusted manifest signer key (`tekkan-backup+...`); repeatable.
    #[arg(long)]
    pub signer: Vec<String>,
}

impl SourceArgs {
    pub fn source(self) -> tekkan_cli::restore::Source {
        tekkan_cli::restore::Source {
            destination: self.from,
            id: self.backup,
            identity_file: self.identity,
            signers: self.signer,
        }
    }
}

#[derive(Subcommand)]
pub enum BackupCommand {
    /// Take a backup now (the server may keep running) and send it to every destination.
    /// Exits 1 when a destination failed.
    Run {
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// What each destination holds.
    List,
    /// Fetch a backup, check its signature and hashes, decrypt it, restore it into a
    /// scratch directory and check the database and the audit log there.
    Verify {
        #[command(flatten)]
        source: SourceArgs,
    },
    /// Delete the backups the retention policy no longer keeps at one destination. Meant
    /// to run elsewhere, with credentials that may delete.
    Prune {
        #[arg(long)]
        destination: String,
        /// Only say what would be deleted.
        #[arg(long)]
        dry_run: bool,
    },
    /// Make an age key pair: the private key into --out (keep it off the server), the
    /// public key printed for backup.recipients.
    Keygen {
        #[arg(long)]
        out: PathBuf,
    },
}

pub async fn run(config: Option<&PathBuf>, command: BackupCommand) -> Result<ExitCode, CliError> {
    match command {
        BackupCommand::Run { data_dir } => {
            let cfg = load(config, data_dir)?;
            init_logging(&cfg.log);
            let (app, _, _) = tekkan_cli::open_app(&cfg).await?;
            let r = tekkan_cli::backup::run(&app, &cfg).await;
            app.db().close().await;
            let r = r?;
            let m = &r.manifest;
            println!(
                "backup {}: {} files, {} bytes sealed, schema {}, {} audit entries, in {:.1} s",
                m.id,
                m.entries.len(),
                m.archive.size,
                m.schema_version,
                m.audit.entries,
                r.seconds
            );
            println!("manifest signed by {}", r.signer);
            for (d, lock) in &r.stored {
                match lock {
                    Some(until) => println!("  stored at {d} (locked until {until})"),
                    None => println!("  stored at {d}"),
                }
            }
            for (d, e) in &r.failed {
                eprintln!("  FAILED at {d}: {e}");
            }
            Ok(match (r.failed.is_empty(), r.stored.is_empty()) {
                (true, _) => ExitCode::SUCCESS,
                (false, false) => ExitCode::from(1),
                (false, true) => ExitCode::from(3),
            })
        }
        BackupCommand::List => {
            let cfg = load(config, None)?;
            let mut failed = false;
            for (dest, r) in tekkan_cli::backup::list(&cfg).await? {
                match r {
                    Err(e) => {
                        failed = true;
                        eprintln!("{dest}: {e}");
                    }
                    Ok(items) => {
                        println!("{dest}: {} backups", items.len());
                        for l in items {
                            let (size, schema) = match &l.manifest {
                                Some(m) => {
                                    (m.archive.size.to_string(), m.schema_version.to_string())
                                }
                                None => ("?".into(), "?".into()),
                            };
                            let state = match l.archive_size {
                                Some(_) => "complete",
                                None => "ARCHIVE MISSING",
                            };
                            println!("  {}  {size} bytes  schema {schema}  {state}", l.id);
                        }
                    }
                }
            }
            Ok(if failed {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        BackupCommand::Verify { source } => {
            let cfg = load(config, None)?;
            let v = tekkan_cli::restore::verify(&cfg, &source.source()).await?;
            println!(
                "backup {} OK: signature, {} files and their hashes, database integrity; {}",
                v.manifest.id,
                v.manifest.entries.len(),
                v.audit
            );
            Ok(ExitCode::SUCCESS)
        }
        BackupCommand::Prune {
            destination,
            dry_run,
        } => {
            let cfg = load(config, None)?;
            init_logging(&cfg.log);
            let mut failed = false;
            for (id, keep, error) in tekkan_cli::backup::prune(&cfg, &destination, dry_run).await? {
                match (keep, error) {
                    (Some(why), _) => println!("keep    {id}  ({why})"),
                    (None, None) if dry_run => println!("would delete {id}"),
                    (None, None) => println!("deleted {id}"),
                    (None, Some(e)) => {
                        failed = true;
                        eprintln!("NOT deleted {id}: {e}");
                    }
                }
            }
            Ok(if failed {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        BackupCommand::Keygen { out } => {
            let public = tekkan_cli::restore::keygen(&out)?;
            println!(
                "private key written to {} (keep it off the server)",
                out.display()
            );
            println!("public key (add it to backup.recipients):\n{public}");
            Ok(ExitCode::SUCCESS)
        }
    }
}
