//! The detection rules, as a pure state machine over observations and a clock passed
//! in (so each rule is replayed in tests against a controlled clock). Windows are kept
//! in this instance's memory: a rule counts what this instance saw. A wrong password is
//! kept only as a keyed hash (the key is random per process and never leaves it).

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::net::IpAddr;

use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;

/// A rule, with the OWASP AppSensor detection point it implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// AE2, multiple failed passwords: one account.
    FailedLoginsAccount,
    /// AE3, high rate of login attempts: one address prefix (/24, /64).
    FailedLoginsPrefix,
    /// AE1, use of multiple usernames: many accounts tried from one prefix.
    CredentialStuffing,
    /// AE1 turned around: one wrong password tried against many accounts.
    PasswordSpraying,
    /// ACE3, force browsing: refusals (403/404) across many objects.
    ForcedBrowsing,
    /// STE3-like burst: many requests answered with 5xx.
    ServerErrors,
    /// UT2, speed of application use: one account reading many people's data (distinct
    /// rosters, personal fields, attendance reports, audit exports) faster than people
    /// do.
    BulkReads,
    /// SE4-like: a session token presented after it was revoked (signed out, ended by
    /// its owner or the operator): a stolen token replayed.
    RevokedSessionReuse,
    /// AE13-like, deviation from the usual place: a sign-in from a device (and network)
    /// the account never used. Its response is the notice to the person (and a minor's
    /// guardians); it is audited, and not alerted to the operator (it is common).
    NewDevice,
    /// UT1, irregular use: a right password whose second step was never completed
    /// (someone may hold the password).
    AbandonedSecondStep,
    /// The audit chain, a checkpoint, the database's integrity or a sealed row failed
    /// its check. AppSensor has no detection point for the server's own state: these
    /// three carry TEKKAN's own ids in the same form (SYS1–SYS3).
    IntegrityFailure,
    /// Backups are scheduled daily, yet none is known from the last 26 hours.
    BackupStale,
    /// Less than 10% of the data directory's disk is free.
    DiskLow,
}

impl Rule {
    pub const ALL: [Rule; 13] = [
        Self::FailedLoginsAccount,
        Self::FailedLoginsPrefix,
        Self::CredentialStuffing,
        Self::PasswordSpraying,
        Self::ForcedBrowsing,
        Self::ServerErrors,
        Self::BulkReads,
        Self::AbandonedSecondStep,
        Self::RevokedSessionReuse,
        Self::NewDevice,
        Self::IntegrityFailure,
        Self::BackupStale,
        Self::DiskLow,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::FailedLoginsAccount => "failed_logins_account",
            Self::FailedLoginsPrefix => "failed_logins_prefix",
            Self::CredentialStuffing => "credential_stuffing",
            Self::PasswordSpraying => "password_spraying",
            Self::ForcedBrowsing => "forced_browsing",
            Self::ServerErrors => "server_errors",
            Self::BulkReads => "bulk_reads",
            Self::AbandonedSecondStep => "abandoned_second_step",
            Self::RevokedSessionReuse => "revoked_session_reuse",
            Self::NewDevice => "new_device",
            Self::IntegrityFailure => "integrity_failure",
            Self::BackupStale => "backup_stale",
            Self::DiskLow => "disk_low",
        }
    }

    /// The AppSensor detection point, which names the audit entry (`detection.AE1`).
    pub fn appsensor(self) -> &'static str {
        match self {
            Self::FailedLoginsAccount => "AE2",
            Self::FailedLoginsPrefix => "AE3",
            Self::CredentialStuffing | Self::PasswordSpraying => "AE1",
            Self::ForcedBrowsing => "ACE3",
            Self::ServerErrors => "STE3",
            Self::BulkReads => "UT2",
            Self::AbandonedSecondStep => "UT1",
            Self::RevokedSessionReuse => "SE4",
            Self::NewDevice => "AE13",
            Self::IntegrityFailure => "SYS1",
            Self::BackupStale => "SYS2",
            Self::DiskLow => "SYS3",
        }
    }

    /// How loud the alert is.
    pub fn severity(self) -> Severity {
        match self {
            Self::CredentialStuffing
            | Self::PasswordSpraying
            | Self::BulkReads
            | Self::IntegrityFailure
            | Self::BackupStale
            | Self::RevokedSessionReuse => Severity::Critical,
            Self::NewDevice => Severity::Info,
            _ => Severity::Warning,
        }
    }

    /// Whether enforcing this rule blocks the address prefix it names.
    pub fn blocks_prefix(self) -> bool {
        matches!(
            self,
            Self::FailedLoginsPrefix | Self::CredentialStuffing | Self::PasswordSpraying
        )
    }

    pub fn parse(s: &str) -> Option<Rule> {
        Self::ALL.into_iter().find(|r| r.name() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        [Self::Info, Self::Warning, Self::Critical]
            .into_iter()
            .find(|v| v.name() == s)
    }
}

/// Thresholds (configuration, `[detect]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thresholds {
    pub failed_logins_account: usize,
    pub failed_logins_prefix: usize,
    pub stuffing_accounts: usize,
    pub spraying_accounts: usize,
    pub denials: usize,
    pub denial_objects: usize,
    pub server_errors: usize,
    /// Distinct reads of people's data by one account in 10 minutes.
    pub bulk_reads: usize,
    /// Rules that only notify (no automatic response).
    pub notify_only: BTreeSet<Rule>,
    /// Rules that are off.
    pub off: BTreeSet<Rule>,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            failed_logins_account: 10,
            failed_logins_prefix: 50,
            stuffing_accounts: 20,
            spraying_accounts: 10,
            denials: 10,
            denial_objects: 5,
            server_errors: 10,
            bulk_reads: 30,
            notify_only: BTreeSet::new(),
            off: BTreeSet::new(),
        }
    }
}

const MINUTE: i64 = 60_000;

/// The health checks whose failure is an integrity detection.
pub const INTEGRITY_CHECKS: [&str; 6] = [
    "integrity",
    "audit_chain",
    "row_seals",
    "checkpoint",
    "rollback",
    "audit_queue",
];

/// A rule that fired: what, about whom, how many in its window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fired {
    pub rule: Rule,
    /// The account key, address prefix or actor the rule counted.
    pub subject: String,
    pub count: usize,
    /// Whether the automatic response applies (not notify-only).
    pub enforce: bool,
    /// The device family a revoked-session replay belongs to (its response ends it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    pub at: i64,
}

/// One sliding window: timestamped items, and whether it is over its threshold now
/// (so a rule fires once when crossing, not on every event above it).
#[derive(Default)]
struct Window {
    events: VecDeque<(i64, u64)>,
    latched: bool,
}

impl Window {
    fn push(&mut self, now: i64, span: i64, item: u64) {
        self.events.push_back((now, item));
        while self.events.front().is_some_and(|(t, _)| *t <= now - span) {
            self.events.pop_front();
        }
    }

    fn count(&self) -> usize {
        self.events.len()
    }

    fn distinct(&self) -> usize {
        self.events
            .iter()
            .map(|(_, i)| *i)
            .collect::<BTreeSet<_>>()
            .len()
    }

    /// True once when `over` becomes true; re-arms when it is false again.
    fn crossed(&mut self, over: bool) -> bool {
        let fire = over && !self.latched;
        self.latched = over;
        fire
    }
}

/// Windows by (rule, key), bounded so a flood of distinct keys cannot grow memory
/// without end.
#[derive(Default)]
struct Windows(HashMap<(Rule, String), Window>);

const MAX_KEYS: usize = 50_000;

impl Windows {
    fn get(&mut self, rule: Rule, key: &str, now: i64) -> &mut Window {
        if self.0.len() >= MAX_KEYS {
            // Drop windows with nothing in the last ten minutes first.
            self.0
                .retain(|_, w| w.events.back().is_some_and(|(t, _)| *t > now - 10 * MINUTE));
            if self.0.len() >= MAX_KEYS {
                self.0.clear();
            }
        }
        self.0.entry((rule, key.to_owned())).or_default()
    }
}

fn item(s: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

/// The part of an address a network controls: IPv4 /24, IPv6 /64.
pub fn prefix(ip: Option<&str>) -> String {
    match ip.map(str::parse::<IpAddr>) {
        Some(Ok(IpAddr::V4(v4))) => {
            let o = v4.octets();
            format!("{}.{}.{}.0/24", o[0], o[1], o[2])
        }
        Some(Ok(IpAddr::V6(v6))) => match v6.to_ipv4_mapped() {
            Some(v4) => prefix(Some(&v4.to_string())),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        _ => "unknown".into(),
    }
}

/// The rules' state.
pub struct Rules {
    pub thresholds: Thresholds,
    windows: Windows,
    /// Keys the wrong-password hash; random per process, never stored.
    pepper: [u8; 32],
}

impl Rules {
    pub fn new(thresholds: Thresholds) -> Self {
        let mut pepper = [0u8; 32];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut pepper);
        Self {
            thresholds,
            windows: Windows::default(),
            pepper,
        }
    }

    fn fired(&self, rule: Rule, subject: &str, count: usize, at: i64) -> Option<Fired> {
        (!self.thresholds.off.contains(&rule)).then(|| Fired {
            rule,
            subject: subject.to_owned(),
            count,
            enforce: !self.thresholds.notify_only.contains(&rule),
            at,
            device: None,
        })
    }

    /// A wrong password (or an address with no account) for `account_key`, from
    /// `prefix`. `password` is hashed with the process's key and dropped.
    pub fn failed_login(
        &mut self,
        account_key: &str,
        prefix: &str,
        password: &str,
        now: i64,
    ) -> Vec<Fired> {
        let t = self.thresholds.clone();
        let mut out = Vec::new();
        let account = item(account_key);
        let w = self
            .windows
            .get(Rule::FailedLoginsAccount, account_key, now);
        w.push(now, 10 * MINUTE, 0);
        let n = w.count();
        if w.crossed(n >= t.failed_logins_account) {
            out.extend(self.fired(Rule::FailedLoginsAccount, account_key, n, now));
        }
        let w = self.windows.get(Rule::FailedLoginsPrefix, prefix, now);
        w.push(now, 10 * MINUTE, account);
        let n = w.count();
        if w.crossed(n >= t.failed_logins_prefix) {
            out.extend(self.fired(Rule::FailedLoginsPrefix, prefix, n, now));
        }
        let w = self.windows.get(Rule::CredentialStuffing, prefix, now);
        w.push(now, MINUTE, account);
        let n = w.distinct();
        if w.crossed(n >= t.stuffing_accounts) {
            out.extend(self.fired(Rule::CredentialStuffing, prefix, n, now));
        }
        // HMAC accepts a key of any length: this never fails.
        let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(&self.pepper) else {
            return out;
        };
        mac.update(password.as_bytes());
        let pw = hex::encode(&mac.finalize().into_bytes()[..16]);
        let w = self.windows.get(Rule::PasswordSpraying, &pw, now);
        w.push(now, 10 * MINUTE, account);
        let n = w.distinct();
        if w.crossed(n >= t.spraying_accounts) {
            // The subject is where it came from, never the password or its hash.
            out.extend(self.fired(Rule::PasswordSpraying, prefix, n, now));
        }
        out
    }

    /// A request refused with 403 or 404, by `actor` (an account, or an address
    /// prefix), for `object` (the path).
    pub fn denied(&mut self, actor: &str, object: &str, now: i64) -> Vec<Fired> {
        let t = self.thresholds.clone();
        let w = self.windows.get(Rule::ForcedBrowsing, actor, now);
        w.push(now, 5 * MINUTE, item(object));
        let (n, objects) = (w.count(), w.distinct());
        match w.crossed(n >= t.denials && objects >= t.denial_objects) {
            true => self
                .fired(Rule::ForcedBrowsing, actor, n, now)
                .into_iter()
                .collect(),
            false => Vec::new(),
        }
    }

    /// `account` read people's data: `what` names the read and its target (a roster,
    /// someone's fields, a report, an export). Distinct reads are counted: looking at
    /// the same roster again is not scraping.
    pub fn sensitive_read(&mut self, account: &str, what: &str, now: i64) -> Vec<Fired> {
        let t = self.thresholds.clone();
        let w = self.windows.get(Rule::BulkReads, account, now);
        w.push(now, 10 * MINUTE, item(what));
        let n = w.distinct();
        match w.crossed(n >= t.bulk_reads) {
            true => self
                .fired(Rule::BulkReads, account, n, now)
                .into_iter()
                .collect(),
            false => Vec::new(),
        }
    }

    /// A revoked session token of `account` presented again; `device` is the hash of
    /// the device token it was opened with (its family). Every replay fires.
    pub fn revoked_session(&mut self, account: &str, device: Option<&str>, now: i64) -> Vec<Fired> {
        let mut f: Vec<Fired> = self
            .fired(Rule::RevokedSessionReuse, account, 1, now)
            .into_iter()
            .collect();
        for x in &mut f {
            x.device = device.map(str::to_owned);
        }
        f
    }

    /// A sign-in of `account` from a new device.
    pub fn new_device(&mut self, account: &str, now: i64) -> Vec<Fired> {
        self.fired(Rule::NewDevice, account, 1, now)
            .into_iter()
            .collect()
    }

    /// A right password for `account` whose second step was abandoned: fires once per
    /// account in ten minutes (several abandoned tries are one alert).
    pub fn abandoned_second_step(&mut self, account: &str, attempts: i64, now: i64) -> Vec<Fired> {
        let w = self.windows.get(Rule::AbandonedSecondStep, account, now);
        w.push(now, 10 * MINUTE, 0);
        // The first in the window (older ones were dropped by the push).
        match w.count() == 1 {
            true => self
                .fired(
                    Rule::AbandonedSecondStep,
                    account,
                    usize::try_from(attempts).unwrap_or(0),
                    now,
                )
                .into_iter()
                .collect(),
            false => Vec::new(),
        }
    }

    /// The server's own state, looked at every few seconds: `faults` names the health
    /// checks failing now; `backup_age_s` is the age of the newest known backup when
    /// backups are scheduled (`None` when they are not, or none is known yet and the
    /// server has not run 26 hours); `disk` is (free, total) bytes once sampled. Each
    /// rule fires once when its condition begins.
    pub fn system(
        &mut self,
        faults: &[String],
        backup_age_s: Option<i64>,
        disk: Option<(i64, i64)>,
        now: i64,
    ) -> Vec<Fired> {
        let integrity: Vec<&str> = faults
            .iter()
            .map(String::as_str)
            .filter(|f| INTEGRITY_CHECKS.contains(f))
            .collect();
        let stale = backup_age_s.is_some_and(|a| a > 26 * 3_600);
        let low = disk.is_some_and(|(free, total)| total > 0 && free * 10 < total);
        let mut out = Vec::new();
        for (rule, over, subject, count) in [
            (
                Rule::IntegrityFailure,
                !integrity.is_empty(),
                integrity.join(","),
                integrity.len(),
            ),
            (
                Rule::BackupStale,
                stale,
                "backups".to_owned(),
                usize::try_from(backup_age_s.unwrap_or(0) / 3_600).unwrap_or(0),
            ),
            (
                Rule::DiskLow,
                low,
                "data_dir".to_owned(),
                disk.map_or(0, |(f, t)| usize::try_from(f * 100 / t.max(1)).unwrap_or(0)),
            ),
        ] {
            let w = self.windows.get(rule, "system", now);
            if w.crossed(over) {
                out.extend(self.fired(rule, &subject, count, now));
            }
        }
        out
    }

    /// A request answered with a 5xx.
    pub fn server_error(&mut self, now: i64) -> Vec<Fired> {
        let t = self.thresholds.clone();
        let w = self.windows.get(Rule::ServerErrors, "service", now);
        w.push(now, 5 * MINUTE, 0);
        let n = w.count();
        match w.crossed(n >= t.server_errors) {
            true => self
                .fired(Rule::ServerErrors, "service", n, now)
                .into_iter()
                .collect(),
            false => Vec::new(),
        }
    }
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
