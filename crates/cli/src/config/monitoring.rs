//! The `[detect]` and `[alerts]` sections: detection thresholds and modes, and where
//! alerts to the operator go.

use serde::Deserialize;
use tekkan_app::detect::{AlertSettings, Rule, Severity, Thresholds, WebhookTarget};

/// Thresholds of the detection rules, and which only notify or are off.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Detect {
    pub failed_logins_account: usize,
    pub failed_logins_prefix: usize,
    pub stuffing_accounts: usize,
    pub spraying_accounts: usize,
    pub denials: usize,
    pub denial_objects: usize,
    pub server_errors: usize,
    pub bulk_reads: usize,
    pub notify_only: Vec<String>,
    pub off: Vec<String>,
}

impl Default for Detect {
    fn default() -> Self {
        let t = Thresholds::default();
        Self {
            failed_logins_account: t.failed_logins_account,
            failed_logins_prefix: t.failed_logins_prefix,
            stuffing_accounts: t.stuffing_accounts,
            spraying_accounts: t.spraying_accounts,
            denials: t.denials,
            denial_objects: t.denial_objects,
            server_errors: t.server_errors,
            bulk_reads: t.bulk_reads,
            notify_only: Vec::new(),
            off: Vec::new(),
        }
    }
}

fn rules(names: &[String]) -> Result<std::collections::BTreeSet<Rule>, String> {
    names
        .iter()
        .map(|n| {
            Rule::parse(n).ok_or_else(|| {
                format!(
                    "unknown detection rule {n:?}: one of {}",
                    Rule::ALL.map(Rule::name).join(", ")
                )
            })
        })
        .collect()
}

impl Detect {
    pub fn thresholds(&self) -> Result<Thresholds, String> {
        let all = [
            self.failed_logins_account,
            self.failed_logins_prefix,
            self.stuffing_accounts,
            self.spraying_accounts,
            self.denials,
            self.denial_objects,
            self.server_errors,
            self.bulk_reads,
        ];
        if all.contains(&0) {
            return Err("detection thresholds must be at least 1 (use off = [...] instead)".into());
        }
        Ok(Thresholds {
            failed_logins_account: self.failed_logins_account,
            failed_logins_prefix: self.failed_logins_prefix,
            stuffing_accounts: self.stuffing_accounts,
            spraying_accounts: self.spraying_accounts,
            denials: self.denials,
            denial_objects: self.denial_objects,
            server_errors: self.server_errors,
            bulk_reads: self.bulk_reads,
            notify_only: rules(&self.notify_only)?,
            off: rules(&self.off)?,
        })
    }
}

/// Alert webhooks and the dead man's switch.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Alerts {
    pub webhooks: Vec<Webhook>,
    pub heartbeat_url: String,
    pub heartbeat_secs: u64,
}

impl Default for Alerts {
    fn default() -> Self {
        Self {
            webhooks: Vec::new(),
            heartbeat_url: String::new(),
            heartbeat_secs: 60,
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    pub url: String,
    /// `json` (the alert as a JSON object) or `ntfy`.
    #[serde(default = "json")]
    pub format: String,
    /// `info`, `warning` or `critical`: quieter alerts are not sent here.
    #[serde(default = "warning")]
    pub min_severity: String,
}

fn json() -> String {
    "json".into()
}

fn warning() -> String {
    "warning".into()
}

impl Alerts {
    pub fn settings(&self) -> Result<AlertSettings, String> {
        let webhooks = self
            .webhooks
            .iter()
            .map(|w| {
                if !(w.url.starts_with("https://") || w.url.starts_with("http://")) {
                    return Err(format!("alert webhook {:?} is not an http(s) URL", w.url));
                }
                let ntfy = match w.format.as_str() {
                    "json" => false,
                    "ntfy" => true,
                    f => return Err(format!("alert webhook format {f:?}: json or ntfy")),
                };
                let min_severity = Severity::parse(&w.min_severity).ok_or_else(|| {
                    format!(
                        "min_severity {:?}: info, warning or critical",
                        w.min_severity
                    )
                })?;
                Ok(WebhookTarget {
                    url: w.url.clone(),
                    ntfy,
                    min_severity,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(AlertSettings {
            webhooks,
            heartbeat_url: Some(self.heartbeat_url.trim().to_owned()).filter(|u| !u.is_empty()),
            heartbeat_secs: self.heartbeat_secs.max(10),
        })
    }
}
