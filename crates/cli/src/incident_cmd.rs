//! `tekkan incident ...`: incidents from the command line (open, add a step, resolve,
//! list) and the status page exported as static files for hosting elsewhere. Each step
//! is appended to the audit log as the server's own.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use tekkan_app::incidents::{IncidentStep, NewIncident};
use tekkan_cli::CliError;
use tekkan_core::{ClubId, IncidentId};

use crate::{init_logging, load};

#[derive(Subcommand)]
pub enum IncidentCommand {
    /// Open an incident (state investigating). Prints its id.
    Open {
        /// unauthorized_access, data_leak, data_loss, ransomware, outage,
        /// vulnerability or other.
        #[arg(long)]
        category: String,
        /// The public title, in Japanese.
        #[arg(long)]
        title: String,
        #[arg(long, default_value = "")]
        title_en: String,
        /// A club it concerns (repeatable); none for the whole service.
        #[arg(long)]
        club: Vec<String>,
        /// When you became aware of it (RFC 3339, default now): legal deadlines count
        /// from here.
        #[arg(long)]
        aware_at: Option<String>,
        /// When it started or was detected (RFC 3339, default: the awareness time).
        #[arg(long)]
        detected_at: Option<String>,
        #[arg(long, default_value = "")]
        message: String,
        #[arg(long, default_value = "")]
        message_en: String,
        /// Show it on the status page and as a banner now, and tell the people.
        #[arg(long)]
        publish: bool,
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Add a step: a new state, a message, what was done; publish it.
    Update {
        id: String,
        /// identified, monitoring (states only move forward).
        #[arg(long)]
        state: Option<String>,
        #[arg(long, default_value = "")]
        message: String,
        #[arg(long, default_value = "")]
        message_en: String,
        /// What was done (never public).
        #[arg(long, default_value = "")]
        actions: String,
        /// Keep this step off the status page.
        #[arg(long)]
        internal: bool,
        #[arg(long)]
        publish: bool,
        #[arg(long)]
        cause: Option<String>,
        #[arg(long)]
        prevention: Option<String>,
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Resolve it, with its cause and how it is prevented from recurring.
    Resolve {
        id: String,
        #[arg(long)]
        cause: String,
        #[arg(long)]
        prevention: String,
        #[arg(long, default_value = "")]
        message: String,
        #[arg(long, default_value = "")]
        message_en: String,
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Every incident with its steps, as JSON.
    List {
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Write the status page as static files into --out (index.html, en.html,
    /// status.atom, status.json, app.css), to host elsewhere while the server is down.
    ExportStatus {
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

fn time(what: &str, v: Option<String>) -> Result<Option<i64>, CliError> {
    v.map(|s| {
        s.parse::<jiff::Timestamp>()
            .map(|t| t.as_millisecond())
            .map_err(|e| CliError::Usage(format!("--{what} {s:?}: {e}")))
    })
    .transpose()
}

fn incident_id(v: &str) -> Result<IncidentId, CliError> {
    IncidentId::parse(v).ok_or_else(|| CliError::Usage(format!("{v:?} is not an incident id")))
}

pub async fn run(config: Option<&PathBuf>, command: IncidentCommand) -> Result<ExitCode, CliError> {
    let data_dir = match &command {
        IncidentCommand::Open { data_dir, .. }
        | IncidentCommand::Update { data_dir, .. }
        | IncidentCommand::Resolve { data_dir, .. }
        | IncidentCommand::List { data_dir }
        | IncidentCommand::ExportStatus { data_dir, .. } => data_dir.clone(),
    };
    let cfg = load(config, data_dir)?;
    init_logging(&cfg.log);
    let (app, _, _) = tekkan_cli::open_app(&cfg).await?;
    // Links in the exported feed: the public URL, as the server would name itself.
    let base = match cfg.server.public_url.trim().trim_end_matches('/') {
        "" => format!("http://{}", cfg.server.listen),
        u => u.to_owned(),
    };
    let r = act(&app, &base, command).await;
    app.db().close().await;
    r
}

async fn act(
    app: &tekkan_app::App,
    base: &str,
    command: IncidentCommand,
) -> Result<ExitCode, CliError> {
    match command {
        IncidentCommand::Open {
            category,
            title,
            title_en,
            club,
            aware_at,
            detected_at,
            message,
            message_en,
            publish,
            ..
        } => {
            let clubs = club
                .iter()
                .map(|c| {
                    ClubId::parse(c)
                        .ok_or_else(|| CliError::Usage(format!("{c:?} is not a club id")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let aware_at = time("aware-at", aware_at)?;
            let detected_at = time("detected-at", detected_at)?.or(aware_at);
            let id = app
                .open_incident(
                    None,
                    NewIncident {
                        category,
                        title,
                        title_en,
                        clubs,
                        detected_at,
                        aware_at,
                        message,
                        message_en,
                        publish,
                    },
                )
                .await?;
            println!("{id}");
        }
        IncidentCommand::Update {
            id,
            state,
            message,
            message_en,
            actions,
            internal,
            publish,
            cause,
            prevention,
            ..
        } => {
            let step = IncidentStep {
                state,
                message,
                message_en,
                actions,
                internal,
                publish,
                cause,
                prevention,
            };
            app.update_incident(None, incident_id(&id)?, step).await?;
            println!("incident {id} updated");
        }
        IncidentCommand::Resolve {
            id,
            cause,
            prevention,
            message,
            message_en,
            ..
        } => {
            let step = IncidentStep {
                state: Some("resolved".into()),
                message,
                message_en,
                cause: Some(cause),
                prevention: Some(prevention),
                ..Default::default()
            };
            app.update_incident(None, incident_id(&id)?, step).await?;
            println!("incident {id} resolved");
        }
        IncidentCommand::List { .. } => {
            let all = app.incidents(None).await?;
            println!(
                "{}",
                serde_json::to_string_pretty(&all).map_err(|e| CliError::Usage(e.to_string()))?
            );
        }
        IncidentCommand::ExportStatus { out, .. } => {
            std::fs::create_dir_all(&out)?;
            let files = tekkan_web::status_files(app, base).await.map_err(|e| {
                CliError::Usage(format!("the status page could not be rendered: {e}"))
            })?;
            for (name, bytes) in files {
                std::fs::write(out.join(name), bytes)?;
            }
            println!("status page written to {}", out.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
