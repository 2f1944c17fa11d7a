//! `tekkan contain ...`: the containment switches from the command line, for an
//! operator who cannot (or should not) sign in to a page during an incident. Each step
//! is audited as the server's own decision and reaches every instance within seconds.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use tekkan_app::containment::{SessionScope, Switch};
use tekkan_cli::CliError;
use tekkan_core::{AccountId, ClubId};

use crate::{init_logging, load};

#[derive(Subcommand)]
pub enum ContainCommand {
    /// Which switches are on, since when and why.
    Status {
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Turn a switch on: read_only (every change refused with 503, reads go on) or
    /// signups_paused (no sign-ups, invitations or joining).
    On {
        switch: String,
        /// Why: kept in the audit log and shown to the operator.
        #[arg(long)]
        reason: String,
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Turn a switch off again.
    Off {
        switch: String,
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// End sessions: everyone's (--all), a club's members' (--club ID) or one
    /// person's (--account ID). They must sign in again.
    EndSessions {
        #[command(flatten)]
        whose: Whose,
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Require new passwords: everyone's (--all, operators excepted), a club's members'
    /// (--club ID) or one person's (--account ID). Their sessions end, and their
    /// password alone no longer signs them in until they reset it by e-mail (or sign in
    /// with a passkey and change it).
    RequirePasswordReset {
        #[command(flatten)]
        whose: Whose,
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Rotate what authenticates requests on every instance: a new CSRF key epoch,
    /// every session ended, every passkey ceremony and pending signature voided.
    RotateKeys {
        #[arg(long)]
        reason: String,
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Lock everything down at once: read-only, sign-ups paused, every session ended.
    /// Lift it with `contain off read_only` and `contain off signups_paused`.
    Lockdown {
        #[arg(long)]
        reason: String,
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

/// Whose sessions or passwords: everyone (--all), a club's members (--club ID) or one
/// person (--account ID).
#[derive(clap::Args)]
pub struct Whose {
    #[arg(long, conflicts_with_all = ["club", "account"])]
    all: bool,
    #[arg(long, conflicts_with = "account")]
    club: Option<String>,
    #[arg(long)]
    account: Option<String>,
}

fn switch(name: &str) -> Result<Switch, CliError> {
    Switch::parse(name).ok_or_else(|| {
        CliError::Usage(format!(
            "unknown switch {name:?}: one of {}",
            Switch::ALL.map(Switch::name).join(", ")
        ))
    })
}

fn malformed(what: &str, v: &str) -> CliError {
    CliError::Usage(format!("{v:?} is not a {what} id"))
}

/// Exactly one of the three.
fn scope(w: Whose) -> Result<SessionScope, CliError> {
    match (w.all, w.club, w.account) {
        (true, None, None) => Ok(SessionScope::All),
        (false, Some(c), None) => Ok(SessionScope::Club(
            ClubId::parse(&c).ok_or_else(|| malformed("club", &c))?,
        )),
        (false, None, Some(a)) => Ok(SessionScope::Account(
            AccountId::parse(&a).ok_or_else(|| malformed("account", &a))?,
        )),
        _ => Err(CliError::Usage(
            "say whose: --all, --club ID or --account ID".into(),
        )),
    }
}

pub async fn run(config: Option<&PathBuf>, command: ContainCommand) -> Result<ExitCode, CliError> {
    let data_dir = match &command {
        ContainCommand::Status { data_dir }
        | ContainCommand::On { data_dir, .. }
        | ContainCommand::Off { data_dir, .. }
        | ContainCommand::EndSessions { data_dir, .. }
        | ContainCommand::RequirePasswordReset { data_dir, .. }
        | ContainCommand::RotateKeys { data_dir, .. }
        | ContainCommand::Lockdown { data_dir, .. } => data_dir.clone(),
    };
    let cfg = load(config, data_dir)?;
    init_logging(&cfg.log);
    let (app, k, _) = tekkan_cli::open_app(&cfg).await?;
    // Rotating the keys replaces the audit log's key: this machine's file gets it too.
    let r = match act(&app, command).await {
        Ok(code) => tekkan_cli::keep_log_key_file(&app, &cfg.data_dir, &k.log).map(|_| code),
        Err(e) => Err(e),
    };
    app.db().close().await;
    r
}

async fn act(app: &tekkan_app::App, command: ContainCommand) -> Result<ExitCode, CliError> {
    match command {
        ContainCommand::Status { .. } => {
            let c = app.switches(None).await?;
            for s in Switch::ALL {
                let state = match s {
                    Switch::ReadOnly => &c.read_only,
                    Switch::SignupsPaused => &c.signups_paused,
                };
                match state {
                    Some(st) => {
                        let since = jiff::Timestamp::from_millisecond(st.since_ms)
                            .map(|t| t.to_string())
                            .unwrap_or_default();
                        println!("{}: ON since {since} ({})", s.name(), st.reason);
                    }
                    None => println!("{}: off", s.name()),
                }
            }
        }
        ContainCommand::On {
            switch: s, reason, ..
        } => {
            if reason.trim().is_empty() {
                return Err(CliError::Usage("--reason must say why".into()));
            }
            let s = switch(&s)?;
            let changed = app.set_switch(None, s, true, &reason).await?;
            println!(
                "{}: on{} (every instance within seconds)",
                s.name(),
                if changed { "" } else { " already" }
            );
        }
        ContainCommand::Off { switch: s, .. } => {
            let s = switch(&s)?;
            let changed = app.set_switch(None, s, false, "").await?;
            println!("{}: off{}", s.name(), if changed { "" } else { " already" });
        }
        ContainCommand::EndSessions { whose, .. } => {
            let n = app.end_sessions(None, scope(whose)?).await?;
            println!("{n} sessions ended");
        }
        ContainCommand::RequirePasswordReset { whose, .. } => {
            let r = app.require_password_reset(None, scope(whose)?).await?;
            println!(
                "{} accounts must set a new password; {} sessions ended",
                r.accounts, r.sessions_ended
            );
        }
        ContainCommand::RotateKeys { reason, .. } => {
            if reason.trim().is_empty() {
                return Err(CliError::Usage("--reason must say why".into()));
            }
            let r = app.rotate_keys(None, &reason).await?;
            println!(
                "keys rotated (every instance within seconds): {} sessions ended, {} pending \
                 ceremonies voided; the audit log's new key is {}",
                r.sessions_ended, r.pending_dropped, r.log_key
            );
        }
        ContainCommand::Lockdown { reason, .. } => {
            if reason.trim().is_empty() {
                return Err(CliError::Usage("--reason must say why".into()));
            }
            let r = app.lock_down(None, &reason).await?;
            println!(
                "locked down: {} switched on, {} sessions ended",
                if r.switched_on.is_empty() {
                    "nothing newly".to_owned()
                } else {
                    r.switched_on.join(" and ")
                },
                r.sessions_ended
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
