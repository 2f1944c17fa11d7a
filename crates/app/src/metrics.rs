//! Operations metrics for monitoring, in the Prometheus text format: how each backup
//! destination fares. Process-wide, like a metrics registry: the backup loop writes,
//! `/metrics` reads.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

use tekkan_storage::now_ms;

#[derive(Default, Clone)]
struct Destination {
    last_success_ms: i64,
    last_failure_ms: i64,
    successes: u64,
    failures: u64,
}

#[derive(Default)]
struct State {
    destinations: BTreeMap<String, Destination>,
    last_size: u64,
}

static STATE: Mutex<State> = Mutex::new(State {
    destinations: BTreeMap::new(),
    last_size: 0,
});

/// Records a backup run: which destinations stored it and which failed.
pub fn backup_result(stored: &[(String, Option<String>)], failed: &[(String, String)], size: u64) {
    let now = now_ms();
    let mut s = STATE.lock().unwrap_or_else(|p| p.into_inner());
    for (name, _) in stored {
        let d = s.destinations.entry(name.clone()).or_default();
        d.last_success_ms = now;
        d.successes += 1;
    }
    for (name, _) in failed {
        let d = s.destinations.entry(name.clone()).or_default();
        d.last_failure_ms = now;
        d.failures += 1;
    }
    if !stored.is_empty() {
        s.last_size = size;
    }
}

/// A per-destination metric: name, type, help, and how to read it.
type Series = (
    &'static str,
    &'static str,
    &'static str,
    fn(&Destination) -> String,
);

/// Every metric, as Prometheus reads them.
pub fn render() -> String {
    let s = STATE.lock().unwrap_or_else(|p| p.into_inner());
    let mut out = String::new();
    let series: [Series; 4] = [
        (
            "tekkan_backup_last_success_timestamp_seconds",
            "gauge",
            "When the destination last stored a backup.",
            |d| (d.last_success_ms / 1000).to_string(),
        ),
        (
            "tekkan_backup_last_failure_timestamp_seconds",
            "gauge",
            "When the destination last failed.",
            |d| (d.last_failure_ms / 1000).to_string(),
        ),
        (
            "tekkan_backup_stored_total",
            "counter",
            "Backups stored at the destination.",
            |d| d.successes.to_string(),
        ),
        (
            "tekkan_backup_failures_total",
            "counter",
            "Backups the destination failed to store.",
            |d| d.failures.to_string(),
        ),
    ];
    for (name, kind, help, value) in series {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (dest, d) in &s.destinations {
            let label = dest.replace('\\', "\\\\").replace('"', "\\\"");
            let _ = writeln!(out, "{name}{{destination=\"{label}\"}} {}", value(d));
        }
    }
    let _ = writeln!(
        out,
        "# HELP tekkan_backup_last_size_bytes Size of the last sealed backup.\n\
         # TYPE tekkan_backup_last_size_bytes gauge\ntekkan_backup_last_size_bytes {}",
        s.last_size
    );
    out
}
