//! Operations metrics for `/metrics`, in the Prometheus text format, through the
//! prometheus project's own client: requests and errors, logins, backups, health
//! and disk space. Process-wide, like any metrics registry: the parts that act (the
//! request frame, log-in, the backup loop) write; `/metrics` reads.
//! Every series is per instance; Prometheus adds the `instance` label when it scrapes.

use std::sync::{LazyLock, Mutex};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tekkan_storage::now_ms;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    /// The route's pattern (`/clubs/{club}`), never the path itself: ids would make a
    /// series per object, and some paths carry secrets.
    route: String,
    code: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DetectionLabels {
    rule: &'static str,
    /// `enforce` when the rule's response applies, `notify` when it only tells.
    mode: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CheckLabels {
    check: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DutyLabels {
    duty: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DestinationLabels {
    destination: String,
}

struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    server_errors: Counter,
    duration: Family<KindLabels, Histogram>,
    logins: Family<OutcomeLabels, Counter>,
    detections: Family<DetectionLabels, Counter>,
    backup_success: Family<DestinationLabels, Gauge>,
    backup_failure: Family<DestinationLabels, Gauge>,
    /// No labels: a family only so that the series is absent until a backup is known.
    backup_age: Family<Vec<(String, String)>, Gauge>,
    backups_stored: Family<DestinationLabels, Counter>,
    backup_failures: Family<DestinationLabels, Counter>,
    backup_configured: Gauge,
    backup_size: Gauge,
    disk_free: Gauge,
    disk_total: Gauge,
    health_faults: Family<CheckLabels, Gauge>,
    leading: Family<DutyLabels, Gauge>,
    /// When the newest backup known was taken (Unix seconds), for the age as of
    /// each scrape.
    newest_backup: Mutex<Option<i64>>,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let mut registry = Registry::default();
    let requests = Family::<RequestLabels, Counter>::default();
    registry.register(
        "tekkan_http_requests",
        "Requests answered, by method, route pattern and status code",
        requests.clone(),
    );
    let server_errors = Counter::default();
    registry.register(
        "tekkan_http_server_errors",
        "Requests answered with a 5xx status",
        server_errors.clone(),
    );
    let duration = Family::<KindLabels, Histogram>::new_with_constructor(|| {
        Histogram::new(exponential_buckets(0.001, 2.5, 10))
    });
    registry.register(
        "tekkan_http_request_duration_seconds",
        "Time to answer a request; kind is read (GET, HEAD) or write",
        duration.clone(),
    );
    let logins = Family::<OutcomeLabels, Counter>::default();
    // Every outcome from the start at 0, so that the first refusal is an increase.
    for outcome in LOGIN_OUTCOMES {
        logins.get_or_create(&OutcomeLabels { outcome }).inc_by(0);
    }
    registry.register(
        "tekkan_logins",
        "Password log-in attempts by outcome: session, second_step, refused, throttled, error",
        logins.clone(),
    );
    let detections = Family::<DetectionLabels, Counter>::default();
    // Every rule in both modes from 0, so that a first firing is an increase.
    for rule in crate::detect::Rule::ALL {
        for mode in ["enforce", "notify"] {
            detections
                .get_or_create(&DetectionLabels {
                    rule: rule.name(),
                    mode,
                })
                .inc_by(0);
        }
    }
    registry.register(
        "tekkan_detections",
        "Detection rules that fired, by rule and mode (enforce or notify)",
        detections.clone(),
    );
    let backup_success = Family::<DestinationLabels, Gauge>::default();
    registry.register(
        "tekkan_backup_last_success_timestamp_seconds",
        "When the destination last stored a backup",
        backup_success.clone(),
    );
    let backup_failure = Family::<DestinationLabels, Gauge>::default();
    registry.register(
        "tekkan_backup_last_failure_timestamp_seconds",
        "When the destination last failed",
        backup_failure.clone(),
    );
    let backup_age = Family::<Vec<(String, String)>, Gauge>::default();
    registry.register(
        "tekkan_backup_age_seconds",
        "Seconds since the newest backup this instance knows of (found at start, or \
         stored since); absent until one is known. Take the minimum over instances",
        backup_age.clone(),
    );
    let backups_stored = Family::<DestinationLabels, Counter>::default();
    registry.register(
        "tekkan_backup_stored",
        "Backups stored at the destination",
        backups_stored.clone(),
    );
    let backup_failures = Family::<DestinationLabels, Counter>::default();
    registry.register(
        "tekkan_backup_failures",
        "Backups the destination failed to store",
        backup_failures.clone(),
    );
    let backup_configured = Gauge::default();
    registry.register(
        "tekkan_backup_configured",
        "1 when this instance schedules backups (destinations and recipients set)",
        backup_configured.clone(),
    );
    let backup_size = Gauge::default();
    registry.register(
        "tekkan_backup_last_size_bytes",
        "Size of the last sealed backup",
        backup_size.clone(),
    );
    let disk_free = Gauge::default();
    registry.register(
        "tekkan_disk_free_bytes",
        "Space left for unprivileged writers on the data directory's file system",
        disk_free.clone(),
    );
    let disk_total = Gauge::default();
    registry.register(
        "tekkan_disk_size_bytes",
        "Size of the data directory's file system",
        disk_total.clone(),
    );
    let health_faults = Family::<CheckLabels, Gauge>::default();
    registry.register(
        "tekkan_health_fault",
        "1 for a health check failing now, 0 while it passes",
        health_faults.clone(),
    );
    let leading = Family::<DutyLabels, Gauge>::default();
    registry.register(
        "tekkan_leading",
        "1 for each single-instance duty this instance holds (checkpoint signing, backups)",
        leading.clone(),
    );
    Metrics {
        registry,
        health_faults,
        leading,
        requests,
        server_errors,
        duration,
        logins,
        detections,
        backup_success,
        backup_failure,
        backup_age,
        backups_stored,
        backup_failures,
        backup_configured,
        backup_size,
        disk_free,
        disk_total,
        newest_backup: Mutex::new(None),
    }
});

const LOGIN_OUTCOMES: [&str; 5] = ["session", "second_step", "refused", "throttled", "error"];

/// The health checks `/healthz` reports, served as 0 while they pass.
const HEALTH_CHECKS: [&str; 6] = [
    "integrity",
    "audit_chain",
    "row_seals",
    "files",
    "checkpoint",
    "rollback",
];

fn method_label(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        // Anything else is one series, whatever a client invents.
        _ => "other",
    }
}

/// Records one answered request. `route` is the matched pattern, or `None` when no
/// route matched (then one series for all of them).
pub fn request(method: &str, route: Option<&str>, code: u16, seconds: f64) {
    let m = &*METRICS;
    let method = method_label(method);
    m.requests
        .get_or_create(&RequestLabels {
            method,
            route: route.unwrap_or("unmatched").to_owned(),
            code,
        })
        .inc();
    if code >= 500 {
        m.server_errors.inc();
    }
    let kind = match method {
        "GET" | "HEAD" => "read",
        _ => "write",
    };
    m.duration
        .get_or_create(&KindLabels { kind })
        .observe(seconds);
}

/// Records a password log-in attempt's outcome.
pub(crate) fn login(outcome: &'static str) {
    debug_assert!(LOGIN_OUTCOMES.contains(&outcome));
    METRICS
        .logins
        .get_or_create(&OutcomeLabels { outcome })
        .inc();
}

/// Records a detection rule firing.
pub(crate) fn detection(rule: &'static str, enforced: bool) {
    let mode = if enforced { "enforce" } else { "notify" };
    METRICS
        .detections
        .get_or_create(&DetectionLabels { rule, mode })
        .inc();
}

/// Records the data directory's file system: bytes free and in all.
pub fn disk_space(free: u64, total: u64) {
    METRICS
        .disk_free
        .set(i64::try_from(free).unwrap_or(i64::MAX));
    METRICS
        .disk_total
        .set(i64::try_from(total).unwrap_or(i64::MAX));
}

/// Records a backup run: which destinations stored it and which failed.
pub fn backup_result(stored: &[(String, Option<String>)], failed: &[(String, String)], size: u64) {
    let m = &*METRICS;
    let now = now_ms() / 1000;
    for (name, _) in stored {
        let l = DestinationLabels {
            destination: name.clone(),
        };
        m.backup_success.get_or_create(&l).set(now);
        m.backups_stored.get_or_create(&l).inc();
    }
    for (name, _) in failed {
        let l = DestinationLabels {
            destination: name.clone(),
        };
        m.backup_failure.get_or_create(&l).set(now);
        m.backup_failures.get_or_create(&l).inc();
    }
    if !stored.is_empty() {
        m.backup_size.set(i64::try_from(size).unwrap_or(i64::MAX));
        backup_seen(now);
    }
}

/// Notes that backups are scheduled to `names`, and serves each destination's
/// counters from 0, so that its first failure is an increase a rule sees.
pub fn backup_destinations(names: &[String]) {
    let m = &*METRICS;
    m.backup_configured.set(1);
    for name in names {
        let l = DestinationLabels {
            destination: name.clone(),
        };
        m.backups_stored.get_or_create(&l).inc_by(0);
        m.backup_failures.get_or_create(&l).inc_by(0);
    }
}

/// Notes a backup known to exist, taken at `at` (Unix seconds): the newest one found
/// at start, or one just stored.
pub fn backup_seen(at: i64) {
    let mut newest = METRICS
        .newest_backup
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    *newest = Some(newest.map_or(at, |n| n.max(at)));
}

/// What the system detections read: whether backups are scheduled, when the newest
/// known backup was taken (Unix seconds), and the disk's free and total bytes.
pub(crate) fn system_state() -> (bool, Option<i64>, i64, i64) {
    let m = &*METRICS;
    let newest = *m.newest_backup.lock().unwrap_or_else(|p| p.into_inner());
    (
        m.backup_configured.get() == 1,
        newest,
        m.disk_free.get(),
        m.disk_total.get(),
    )
}

impl crate::App {
    /// Every metric, as Prometheus reads them (text format 0.0.4), with this
    /// instance's health faults and duties as of now.
    pub fn metrics_text(&self) -> String {
        let m = &*METRICS;
        m.health_faults.clear();
        for check in HEALTH_CHECKS {
            m.health_faults
                .get_or_create(&CheckLabels {
                    check: check.to_owned(),
                })
                .set(0);
        }
        for (check, _) in self.health_faults() {
            m.health_faults.get_or_create(&CheckLabels { check }).set(1);
        }
        m.leading.clear();
        for duty in self.leading() {
            m.leading.get_or_create(&DutyLabels { duty }).set(1);
        }
        render()
    }
}

fn render() -> String {
    let m = &*METRICS;
    // The age is as of this scrape, not as of the last backup.
    let now = now_ms() / 1000;
    let newest = *m.newest_backup.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(at) = newest {
        m.backup_age.get_or_create(&Vec::new()).set(now - at);
    }
    let mut out = String::new();
    if prometheus_client::encoding::prometheus_text::encode(&mut out, &m.registry).is_err() {
        tracing::error!("the metrics could not be encoded");
    }
    out
}
