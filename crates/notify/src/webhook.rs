//! Alerts to the operator's webhooks: a generic JSON POST, or an ntfy-compatible one
//! (the message as the body, title, priority and tags as headers). The URLs come from
//! the operator's configuration, so loopback and private addresses are allowed (a
//! relay on the same network is the usual setup).

use std::time::Duration;

use crate::SendError;

/// How a webhook wants its alerts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `application/json`: the alert object as it is.
    Json,
    /// ntfy: `Title`, `Priority` (1–5) and `Tags` headers, the message as plain text.
    Ntfy,
}

/// One alert, in the words both formats need.
#[derive(Debug, Clone)]
pub struct Alert {
    pub title: String,
    pub message: String,
    /// 1 (min) to 5 (max), as ntfy counts.
    pub priority: u8,
    pub tags: Vec<String>,
    /// Everything, for the JSON format.
    pub json: serde_json::Value,
}

/// Posts alerts.
#[derive(Clone)]
pub struct Poster {
    http: reqwest::Client,
}

impl Poster {
    pub fn new() -> Result<Self, SendError> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| SendError::Fatal(e.to_string()))?;
        Ok(Self { http })
    }

    /// Sends `alert` to `url` in `format`.
    pub async fn post(&self, url: &str, format: Format, alert: &Alert) -> Result<(), SendError> {
        let req = match format {
            Format::Json => self
                .http
                .post(url)
                .header("Content-Type", "application/json")
                .body(alert.json.to_string()),
            Format::Ntfy => self
                .http
                .post(url)
                // Header values must be visible ASCII or encoded: ntfy reads RFC 2047.
                .header("Title", rfc2047(&alert.title))
                .header("Priority", alert.priority.clamp(1, 5).to_string())
                .header("Tags", alert.tags.join(","))
                .header("Content-Type", "text/plain; charset=utf-8")
                .body(alert.message.clone()),
        };
        let res = req
            .send()
            .await
            .map_err(|e| SendError::Retry(e.to_string()))?;
        match res.status().as_u16() {
            200..=299 => Ok(()),
            408 | 429 | 500..=599 => Err(SendError::Retry(format!("status {}", res.status()))),
            s => Err(SendError::Fatal(format!("status {s}"))),
        }
    }

    /// A heartbeat to a dead man's switch: a small POST; any 2xx counts.
    pub async fn heartbeat(&self, url: &str, body: &serde_json::Value) -> Result<(), SendError> {
        let res = self
            .http
            .post(url)
            .header("Content-Type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| SendError::Retry(e.to_string()))?;
        match res.status().is_success() {
            true => Ok(()),
            false => Err(SendError::Retry(format!("status {}", res.status()))),
        }
    }
}

/// `=?UTF-8?B?...?=` when the text is not plain ASCII.
fn rfc2047(s: &str) -> String {
    use base64::Engine;
    match s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        true => s.to_owned(),
        false => format!(
            "=?UTF-8?B?{}?=",
            base64::engine::general_purpose::STANDARD.encode(s.as_bytes())
        ),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn titles_outside_ascii_are_encoded_words() {
        assert_eq!(super::rfc2047("TEKKAN alert"), "TEKKAN alert");
        assert_eq!(super::rfc2047("検知"), "=?UTF-8?B?5qSc55+l?=");
    }
}
