//! The in-process scheduler: sends due reminders, then delivers queued e-mail and push
//! notifications. Its state is in the database (each
//! job is claimed in the transaction that writes its notifications), so it survives
//! restarts and never sends a reminder twice; several instances may run it at once.

use std::time::Duration;

use tekkan_app::App;
use tekkan_storage::{Duty, Leadership, now_ms};
use tokio::sync::watch;

/// Runs until `stop` turns true. Wakes every `poll`, or sooner when a reminder is due.
pub async fn run(app: App, poll: Duration, mut stop: watch::Receiver<bool>) {
    loop {
        if app.db().writes_held().is_some() {
            // Nothing can be marked sent: sending would repeat at every poll.
            tokio::select! {
                _ = tokio::time::sleep(poll) => continue,
                _ = stop.changed() => return,
            }
        }
        match app.run_due_reminders().await {
            Ok(n) if n > 0 => tracing::info!(notified = n, "reminders sent"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "reminder run failed"),
        }
        match app.run_due_deliveries().await {
            Ok(n) if n > 0 => tracing::info!(sent = n, "notifications delivered"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "delivery run failed"),
        }
        let next = app.next_reminder_at().await.ok().flatten();
        let wait = match next {
            Some(t) => {
                Duration::from_millis((t - now_ms()).clamp(0, poll.as_millis() as i64) as u64)
            }
            None => poll,
        };
        tokio::select! {
            _ = tokio::time::sleep(wait.max(Duration::from_millis(5))) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
    }
}

/// Signs a checkpoint over new audit entries every `every`, and once more on the way
/// out, so that a clean shutdown leaves every entry covered.
/// Each new checkpoint is also saved beside the keys, where a rolled-back database
/// cannot take it along.
pub async fn checkpoints(
    app: App,
    data_dir: std::path::PathBuf,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut lead: Option<Leadership> = None;
    let mut key_on_disk = app.log_seed_for_key_file();
    loop {
        lead = keep_or_take(&app, lead, Duty::Checkpoints, "checkpoints").await;
        // A key rotated on any instance replaces the retired one on this one's disk.
        match crate::server::keep_log_key_file(&app, &data_dir, &key_on_disk) {
            Ok(k) => key_on_disk = k,
            Err(e) => tracing::error!(error = %e, "could not write secrets/log.key"),
        }
        // Held writes (a rollback found at start) leave nothing new to sign; another
        // instance holding the duty signs instead.
        let r = match (app.db().writes_held(), &lead) {
            (Some(_), _) | (None, None) => Ok(None),
            (None, Some(_)) => app.checkpoint().await,
        };
        match r {
            Ok(Some(c)) => {
                tracing::debug!(size = c.size, "audit checkpoint signed");
                if let Err(e) = crate::rollback::save(&data_dir, &c.note) {
                    tracing::error!(error = %e, "could not save the newest checkpoint");
                }
            }
            Ok(None) => {}
            // Loud: a chain that does not hold is an integrity incident.
            Err(e) => tracing::error!(error = %e, "audit checkpoint failed"),
        }
        if *stop.borrow() {
            return;
        }
        // An instance that does not lead asks again within a second: a leader that
        // died is replaced that fast, whatever the checkpoint interval.
        let wait = match lead {
            Some(_) => every,
            None => every.min(TAKEOVER_WITHIN),
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => {}
        }
    }
}

/// How soon an instance that does not lead asks for the checkpoint duty again.
const TAKEOVER_WITHIN: Duration = Duration::from_secs(1);

/// Links queued audit entries into the chain every `every` (PostgreSQL: writes queue
/// their entries; see `tekkan_storage::audit_queue`). Every instance runs it, and one
/// at a time integrates (the others find the lock taken and wait for the next tick), so
/// the promised delay holds as long as any instance runs. Nothing to do on SQLite.
pub async fn integrator(app: App, every: Duration, mut stop: watch::Receiver<bool>) {
    if app.db().backend() != "postgres" {
        return;
    }
    loop {
        if let Err(e) = app.integrate_log(false).await {
            tracing::warn!(error = %e, "audit entries could not be integrated");
        }
        if *stop.borrow() {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => {}
        }
    }
}

/// Keeps `duty` if this instance still holds it, else tries to take it (another
/// instance that held it may have stopped): what was checkpointed by one instance's
/// loop is taken over by another's within a second.
pub(crate) async fn keep_or_take(
    app: &App,
    lead: Option<Leadership>,
    duty: Duty,
    name: &'static str,
) -> Option<Leadership> {
    let lead = match lead {
        Some(mut l) => match l.still_held().await {
            true => Some(l),
            false => {
                tracing::warn!(duty = name, "lost the lead (its database session ended)");
                None
            }
        },
        None => match app.db().try_lead(duty).await {
            Ok(Some(l)) => {
                tracing::info!(duty = name, "this instance now leads");
                Some(l)
            }
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(duty = name, error = %e, "could not ask for the lead");
                None
            }
        },
    };
    app.set_leading(name, lead.is_some());
    lead
}

/// Checks the database's integrity and the whole audit chain at once, then every
/// `every`; what it finds is what `/healthz` reports.
pub async fn health(app: App, every: Duration, mut stop: watch::Receiver<bool>) {
    loop {
        let started = std::time::Instant::now();
        match app.run_health_check().await {
            Ok(true) => {
                let ms = started.elapsed().as_millis() as u64;
                tracing::info!(
                    ms,
                    "health check passed (database quick check, audit chain)"
                );
            }
            Ok(false) => {}
            Err(e) => tracing::error!(error = %e, "health check could not run"),
        }
        if let Err(e) = app.forget_old_address_windows().await {
            tracing::warn!(error = %e, "old per-address windows could not be dropped");
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
    }
}

/// Samples the data directory's file system every `every`: bytes free and in all, for
/// `/metrics` (and the operator's disk alert). The command line does it, since only it
/// touches files.
pub async fn disk_space(dir: std::path::PathBuf, every: Duration, mut stop: watch::Receiver<bool>) {
    loop {
        match nix::sys::statvfs::statvfs(&dir) {
            Ok(s) => {
                let unit = s.fragment_size();
                tekkan_app::metrics::disk_space(
                    s.blocks_available().saturating_mul(unit),
                    s.blocks().saturating_mul(unit),
                );
            }
            Err(e) => {
                tracing::warn!(error = %e, "the data directory's free space could not be read")
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
    }
}
