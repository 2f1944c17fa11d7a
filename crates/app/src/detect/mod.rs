//! Anomaly detection at work: requests and log-ins feed the rules (see [`rules`]);
//! each firing is audited as `detection.<AppSensor id>`, answered by its automatic
//! response when the rule enforces (an escalating block of the address prefix, which
//! asks a password sign-in for more proof and never stops a known device or a
//! passkey), and told to the operator by webhook, push, e-mail and in-app, grouped so
//! an attack is one alert and then updates (see [`group`]). A heartbeat goes to an
//! outside dead man's switch.
//!
//! The hot path only counts in memory and hands firings to a channel; a task of its
//! own ([`App::run_detections`]) does the writing and the sending.

pub mod group;
pub mod rules;

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::Serialize;
use tekkan_notify::webhook::{Alert, Format, Poster};
use tekkan_storage::now_ms;
use tokio::sync::{mpsc, watch};

pub use rules::{Fired, Rule, Severity, Thresholds, prefix};

use crate::actor::system_event;
use crate::notify::{Notice, NoticeKind, notify};
use crate::{Actor, App, AppError, Origin, Result};

/// Requests already on their way when a session ended are no replay.
pub const REPLAY_GRACE_MS: i64 = 30_000;

/// Blocks of one prefix escalate: 1 min, 10 min, 1 h, 1 day.
pub const BLOCK_STEPS_MS: [i64; 4] = [60_000, 600_000, 3_600_000, 86_400_000];
/// A block begun within this time before makes the next one longer.
const BLOCK_MEMORY_MS: i64 = 86_400_000;

/// Where alerts go (`[alerts]`).
#[derive(Debug, Clone, Default)]
pub struct AlertSettings {
    pub webhooks: Vec<WebhookTarget>,
    /// An outside dead man's switch, posted to every `heartbeat_secs`.
    pub heartbeat_url: Option<String>,
    pub heartbeat_secs: u64,
}

#[derive(Debug, Clone)]
pub struct WebhookTarget {
    pub url: String,
    pub ntfy: bool,
    /// Alerts below this are not sent here.
    pub min_severity: Severity,
}

/// The detector's state in the application.
pub(crate) struct Detector {
    rules: Mutex<rules::Rules>,
    tx: mpsc::Sender<Fired>,
    rx: Mutex<Option<mpsc::Receiver<Fired>>>,
    poster: Option<Poster>,
    /// Whether the last alert or test reached at least one channel.
    reached: AtomicBool,
}

impl Detector {
    pub(crate) fn new(thresholds: Thresholds) -> Self {
        let (tx, rx) = mpsc::channel(4096);
        Self {
            rules: Mutex::new(rules::Rules::new(thresholds)),
            tx,
            rx: Mutex::new(Some(rx)),
            poster: Poster::new().ok(),
            reached: AtomicBool::new(true),
        }
    }
}

/// How one channel fared in a test.
#[derive(Debug, Clone, Serialize)]
pub struct ChannelResult {
    pub channel: String,
    pub ok: bool,
    pub detail: String,
}

impl App {
    fn emit(&self, fired: Vec<Fired>) {
        for f in fired {
            crate::metrics::detection(f.rule.name(), f.enforce);
            tracing::warn!(rule = f.rule.name(), appsensor = f.rule.appsensor(),
                subject = %f.subject, count = f.count, enforce = f.enforce, "DETECTION");
            if self.inner.detector.tx.try_send(f).is_err() {
                tracing::error!(
                    "detections are arriving faster than they are handled; one dropped"
                );
            }
        }
    }

    fn rules(&self) -> std::sync::MutexGuard<'_, rules::Rules> {
        self.inner
            .detector
            .rules
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// A failed password sign-in.
    pub(crate) fn observe_failed_login(&self, account_key: &str, origin: &Origin, password: &str) {
        let p = prefix(origin.ip.as_deref());
        let fired = self
            .rules()
            .failed_login(account_key, &p, password, now_ms());
        self.emit(fired);
    }

    /// A request refused with 403 or 404: by an account, or by whoever is at `ip`.
    pub fn observe_denial(
        &self,
        account: Option<tekkan_core::AccountId>,
        ip: &Option<String>,
        object: &str,
    ) {
        let actor = match account {
            Some(a) => format!("account:{a}"),
            None => prefix(ip.as_deref()),
        };
        let fired = self.rules().denied(&actor, object, now_ms());
        self.emit(fired);
    }

    /// `actor` read people's data (`action` on `target`): counted for the bulk-reads
    /// rule.
    pub(crate) fn observe_sensitive_read(&self, actor: &Actor, action: &str, target: &str) {
        let fired = self.rules().sensitive_read(
            &format!("account:{}", actor.account),
            &format!("{action} {target}"),
            now_ms(),
        );
        self.emit(fired);
    }

    /// Asks for re-authentication (passkey, or password and second factor) while a
    /// bulk-reads response stands for the actor's account and this session has not
    /// proved itself since: more proof, never a refusal of the rightful owner.
    pub(crate) async fn check_step_up(&self, actor: &Actor) -> Result<()> {
        match self.db().step_up_since(&actor.account.to_string()).await? {
            Some(since) if actor.reauth_at < since => Err(AppError::ReauthRequired),
            _ => Ok(()),
        }
    }

    /// A session token matched no live session: if it was revoked before its end, a
    /// stolen token is being replayed.
    pub(crate) async fn observe_dead_token(&self, token_hash: &str) {
        let grace = now_ms() - REPLAY_GRACE_MS;
        match self.db().take_revoked_session(token_hash, grace).await {
            Ok(Some((account, device))) => {
                let fired = self.rules().revoked_session(
                    &format!("account:{account}"),
                    device.as_deref(),
                    now_ms(),
                );
                self.emit(fired);
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "revoked sessions could not be read"),
        }
    }

    /// A sign-in of `account` from a new device (its owner is told elsewhere).
    pub(crate) fn observe_new_device(&self, account: tekkan_core::AccountId) {
        let fired = self
            .rules()
            .new_device(&format!("account:{account}"), now_ms());
        self.emit(fired);
    }

    /// Finds sign-ins whose right password was never followed by the second step.
    async fn sweep_abandoned_second_steps(&self, now: i64) {
        match self.db().take_expired_challenges(now).await {
            Ok(found) => {
                let fired: Vec<Fired> = {
                    let mut r = self.rules();
                    found
                        .iter()
                        .flat_map(|(a, n)| {
                            r.abandoned_second_step(&format!("account:{a}"), *n, now)
                        })
                        .collect()
                };
                self.emit(fired);
            }
            Err(e) => tracing::warn!(error = %e, "expired sign-in challenges could not be read"),
        }
    }

    /// Looks at the server's own state: failing integrity checks, the newest backup's
    /// age while backups are scheduled, the disk's free space.
    fn observe_system(&self, now: i64, started: i64) {
        let faults: Vec<String> = self.health_faults().into_iter().map(|(c, _)| c).collect();
        let (configured, newest, free, total) = crate::metrics::system_state();
        let backup_age_s = match (configured, newest) {
            (true, Some(at)) => Some(now / 1000 - at),
            // None known yet: stale once the server has run that long without one.
            (true, None) => Some((now - started) / 1000),
            (false, _) => None,
        };
        let disk = (total > 0).then_some((free, total));
        let fired = self.rules().system(&faults, backup_age_s, disk, now);
        self.emit(fired);
    }

    /// A request answered with a 5xx.
    pub fn observe_server_error(&self) {
        let fired = self.rules().server_error(now_ms());
        self.emit(fired);
    }

    /// Until when password sign-in from `origin`'s prefix is blocked, if it is.
    pub(crate) async fn prefix_blocked(&self, origin: &Origin) -> Result<Option<i64>> {
        let p = prefix(origin.ip.as_deref());
        Ok(self.db().blocked_until(&p, now_ms()).await?)
    }

    /// Handles firings until `stop`: audit, respond, alert; updates and heartbeats on a
    /// timer. Runs on every instance (each alerts about what it saw).
    pub async fn run_detections(&self, mut stop: watch::Receiver<bool>) {
        let Some(mut rx) = self
            .inner
            .detector
            .rx
            .lock()
            .ok()
            .and_then(|mut r| r.take())
        else {
            return;
        };
        let mut groups = group::Groups::default();
        let started = now_ms();
        let mut last_prune = 0;
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        let beat_every = self.settings().alerts.heartbeat_secs.max(10) as i64 * 1000;
        let mut last_beat = 0;
        loop {
            tokio::select! {
                f = rx.recv() => {
                    let Some(f) = f else { return };
                    let response = match self.record_detection(&f).await {
                        Ok(r) => r,
                        Err(e) => {
                            tracing::error!(error = %e, "a detection could not be recorded");
                            None
                        }
                    };
                    // Info rules (a new device) are audited, not alerted: they are
                    // common and their person is told directly.
                    if f.rule.severity() == Severity::Info {
                        continue;
                    }
                    if let Some(out) = groups.observe(&f, now_ms()) {
                        self.alert(&out, response.as_deref()).await;
                    }
                }
                _ = tick.tick() => {
                    let now = now_ms();
                    self.observe_system(now, started);
                    self.sweep_abandoned_second_steps(now).await;
                    // Revoked tokens past every session's lifetime, and idempotency keys past
                    // their day, are no use to keep.
                    if now - last_prune >= 600_000 {
                        last_prune = now;
                        let before = now - self.settings().sessions.absolute_ms;
                        if let Err(e) = self.db().prune_revoked_sessions(before).await {
                            tracing::warn!(error = %e, "old revoked sessions could not be dropped");
                        }
                        let before = now - crate::idempotency::KEEP_MS;
                        if let Err(e) = self.db().prune_idempotency_keys(before).await {
                            tracing::warn!(error = %e, "old idempotency keys could not be dropped");
                        }
                    }
                    for out in groups.tick(now) {
                        self.alert(&out, None).await;
                    }
                    if now - last_beat >= beat_every {
                        last_beat = now;
                        self.heartbeat().await;
                    }
                }
                _ = stop.changed() => return,
            }
        }
    }

    /// Audits the firing and applies its response; returns what was done.
    async fn record_detection(&self, f: &Fired) -> Result<Option<String>> {
        let now = now_ms();
        let mut tx = self.db().begin().await?;
        let mut events = vec![system_event(
            &format!("detection.{}", f.rule.appsensor()),
            format!("rule:{}", f.rule.name()),
            &serde_json::json!({"subject": f.subject, "count": f.count, "enforce": f.enforce}),
        )];
        let mut response = None;
        if f.enforce && f.rule.blocks_prefix() && f.subject != "unknown" {
            let (level, until) = tx
                .block_prefix(
                    &f.subject,
                    now,
                    &BLOCK_STEPS_MS,
                    BLOCK_MEMORY_MS,
                    f.rule.name(),
                )
                .await?;
            let secs = (until - now).max(0) / 1000;
            events.push(system_event(
                "response.prefix_blocked",
                format!("prefix:{}", f.subject),
                &serde_json::json!({"rule": f.rule.name(), "level": level, "until": until}),
            ));
            response = Some(format!(
                "{} blocked for {secs} s (step {})",
                f.subject,
                level + 1
            ));
        }
        if let (true, Rule::RevokedSessionReuse, Some(account), Some(device)) = (
            f.enforce,
            f.rule,
            f.subject
                .strip_prefix("account:")
                .and_then(tekkan_core::AccountId::parse),
            f.device.as_deref(),
        ) {
            // The replayed token's family: every session opened on that device, and the
            // device itself. Its owner signs in again (a new device to the account, so
            // told) and is told now.
            let ended = tx.end_device_family(&account.to_string(), device).await?;
            self.security_notice(&mut tx, account, "sessions_ended", now)
                .await?;
            events.push(system_event(
                "response.session_family_ended",
                format!("account:{account}"),
                &serde_json::json!({"rule": f.rule.name(), "sessions": ended}),
            ));
            response = Some(format!(
                "{ended} sessions on that device ended for {}",
                f.subject
            ));
        }
        if let (true, Rule::AbandonedSecondStep, Some(account)) = (
            f.enforce,
            f.rule,
            f.subject
                .strip_prefix("account:")
                .and_then(tekkan_core::AccountId::parse),
        ) {
            // Its owner is told: whoever it was knows the password.
            self.security_notice(&mut tx, account, "second_step_abandoned", now)
                .await?;
            events.push(system_event(
                "response.owner_told",
                format!("account:{account}"),
                &serde_json::json!({"rule": f.rule.name()}),
            ));
            response = Some(format!("{} was told to change the password", f.subject));
        }
        if let (true, Rule::BulkReads, Some(account)) =
            (f.enforce, f.rule, f.subject.strip_prefix("account:"))
        {
            tx.require_step_up(account, now, f.rule.name()).await?;
            events.push(system_event(
                "response.step_up_required",
                format!("account:{account}"),
                &serde_json::json!({"rule": f.rule.name(), "since": now}),
            ));
            response = Some(format!(
                "{} must re-authenticate before reading more",
                f.subject
            ));
        }
        tx.commit(events).await?;
        Ok(response)
    }

    /// Tells the operator: webhooks by severity, and push, e-mail and in-app.
    async fn alert(&self, out: &group::Outgoing, response: Option<&str>) {
        let (rule, title, message, json) = match out {
            group::Outgoing::New(f) => (
                f.rule,
                format!("TEKKAN 検知 / detection: {}", f.rule.name()),
                format!(
                    "{} ({}) {}: {} / {}",
                    f.rule.name(),
                    f.rule.appsensor(),
                    f.subject,
                    f.count,
                    response.unwrap_or(if f.enforce {
                        "no response needed"
                    } else {
                        "notify only"
                    })
                ),
                serde_json::json!({
                    "source": "tekkan", "kind": "detection", "rule": f.rule.name(),
                    "appsensor": f.rule.appsensor(), "severity": f.rule.severity().name(),
                    "subject": f.subject, "count": f.count, "enforce": f.enforce,
                    "response": response, "at": f.at,
                    "base_url": self.settings().base_url,
                    "runbook": "docs/operations/incident-response.md#detections",
                }),
            ),
            group::Outgoing::Update {
                rule,
                firings,
                subjects,
                since,
            } => (
                *rule,
                format!("TEKKAN 検知 継続 / ongoing: {}", rule.name()),
                format!(
                    "{}: {firings} firings from {subjects} sources since {since}",
                    rule.name()
                ),
                serde_json::json!({
                    "source": "tekkan", "kind": "update", "rule": rule.name(),
                    "appsensor": rule.appsensor(), "severity": rule.severity().name(),
                    "firings": firings, "subjects": subjects, "since": since,
                    "base_url": self.settings().base_url,
                    "runbook": "docs/operations/incident-response.md#detections",
                }),
            ),
        };
        let alert = Alert {
            title,
            message: message.clone(),
            priority: match rule.severity() {
                Severity::Critical => 5,
                Severity::Warning => 4,
                Severity::Info => 3,
            },
            tags: vec!["warning".into(), rule.name().into()],
            json: json.clone(),
        };
        let results = self.send_webhooks(&alert, rule.severity()).await;
        let told = self.tell_operators("detection", json).await;
        let reached = results.iter().any(|r| r.ok) || told > 0;
        self.inner
            .detector
            .reached
            .store(reached, Ordering::Relaxed);
        if !reached {
            tracing::error!(%message, "NO ALERT CHANNEL REACHED: the operator was not told");
        }
    }

    async fn send_webhooks(&self, alert: &Alert, severity: Severity) -> Vec<ChannelResult> {
        let mut out = Vec::new();
        let Some(poster) = &self.inner.detector.poster else {
            return out;
        };
        for w in &self.settings().alerts.webhooks {
            if severity < w.min_severity {
                continue;
            }
            let format = if w.ntfy { Format::Ntfy } else { Format::Json };
            let r = poster.post(&w.url, format, alert).await;
            if let Err(e) = &r {
                tracing::error!(url = %w.url, error = %e, "an alert webhook failed");
            }
            out.push(ChannelResult {
                channel: format!("webhook {}", w.url),
                ok: r.is_ok(),
                detail: r.err().map(|e| e.to_string()).unwrap_or_default(),
            });
        }
        out
    }

    /// In-app to every operator, and push and e-mail where they are set up (the
    /// delivery worker sends them). Returns how many operators.
    async fn tell_operators(&self, what: &str, params: serde_json::Value) -> usize {
        let r: Result<usize> = async {
            let mut tx = self.db().begin().await?;
            let ops = tx.operator_accounts().await?;
            let mut params = params;
            params["what"] = what.into();
            // Telling the operators writes their notifications: audited like any write.
            let ev = system_event(
                "alerts.operators_told",
                format!("alert:{what}"),
                &serde_json::json!({"rule": params["rule"], "kind": params["kind"]}),
            );
            let n = Notice {
                kind: NoticeKind::Security,
                club: None,
                params,
                url: "/".into(),
            };
            let told = notify(&mut tx, self.channels(), ops, None, &n, now_ms()).await?;
            tx.commit(vec![ev]).await?;
            Ok(told)
        }
        .await;
        r.unwrap_or_else(|e| {
            tracing::error!(error = %e, "operators could not be told of a detection");
            0
        })
    }

    async fn heartbeat(&self) {
        let (Some(url), Some(poster)) = (
            self.settings().alerts.heartbeat_url.as_deref(),
            &self.inner.detector.poster,
        ) else {
            return;
        };
        let body = serde_json::json!({"source": "tekkan", "kind": "heartbeat", "at": now_ms()});
        if let Err(e) = poster.heartbeat(url, &body).await {
            tracing::error!(error = %e, "the heartbeat to the dead man's switch failed");
        }
    }

    /// Whether an alert can reach the operator outside the app: a webhook, e-mail to
    /// an operator, or an operator's push subscription; and the last alert did.
    pub async fn alerting_ok(&self) -> Result<bool> {
        let (ops, subs) = self.db().operator_reach().await?;
        let configured = !self.settings().alerts.webhooks.is_empty()
            || (self.channels().email && ops > 0)
            || (self.channels().push && subs > 0);
        Ok(configured && self.inner.detector.reached.load(Ordering::Relaxed))
    }

    /// Sends a test alert on every channel: each webhook, the heartbeat, and the
    /// operators' push and e-mail. Audited.
    pub async fn test_alert_channels(&self, actor: Option<&Actor>) -> Result<Vec<ChannelResult>> {
        if actor.is_some_and(|a| !a.is_operator) {
            return Err(AppError::Forbidden);
        }
        let json = serde_json::json!({
            "source": "tekkan", "kind": "test", "severity": "critical",
            "message": "テスト通知です / a test alert", "at": now_ms(),
            "base_url": self.settings().base_url,
        });
        let alert = Alert {
            title: "TEKKAN テスト / test".into(),
            message: "テスト通知です。届いていれば、この経路は使えます / A test alert: if it arrived, this channel works".into(),
            priority: 3,
            tags: vec!["test".into()],
            json: json.clone(),
        };
        let mut out = self.send_webhooks(&alert, Severity::Critical).await;
        if let (Some(url), Some(poster)) = (
            self.settings().alerts.heartbeat_url.as_deref(),
            &self.inner.detector.poster,
        ) {
            let r = poster.heartbeat(url, &json).await;
            out.push(ChannelResult {
                channel: format!("heartbeat {url}"),
                ok: r.is_ok(),
                detail: r.err().map(|e| e.to_string()).unwrap_or_default(),
            });
        }
        let told = self.tell_operators("test", json).await;
        out.push(ChannelResult {
            channel: "operators (in-app, push, e-mail)".into(),
            ok: told > 0 && (self.channels().push || self.channels().email),
            detail: format!(
                "{told} operators; push {}, e-mail {}",
                self.channels().push,
                self.channels().email
            ),
        });
        let reached = out.iter().any(|r| r.ok);
        self.inner
            .detector
            .reached
            .store(reached, Ordering::Relaxed);
        let tx = self.db().begin().await?;
        let action = "alerts.tested";
        let change = serde_json::json!(out.iter().map(|r| (&r.channel, r.ok)).collect::<Vec<_>>());
        let ev = match actor {
            Some(a) => a.event(None, action, "alerts".into(), &change),
            None => system_event(action, "alerts".into(), &change),
        };
        tx.commit(vec![ev]).await?;
        Ok(out)
    }
}
