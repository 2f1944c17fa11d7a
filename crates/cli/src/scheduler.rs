//! The in-process scheduler: sends due reminders, then delivers queued e-mail and push
//! notifications. Its state is in the database (each
//! job is claimed in the transaction that writes its notifications), so it survives
//! restarts and never sends a reminder twice; several instances may run it at once.

use std::time::Duration;

use tekkan_app::App;
use tekkan_storage::now_ms;
use tokio::sync::watch;

/// Runs until `stop` turns true. Wakes every `poll`, or sooner when a reminder is due.
pub async fn run(app: App, poll: Duration, mut stop: watch::Receiver<bool>) {
    loop {
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
