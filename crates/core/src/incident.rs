//! An incident's vocabulary: its category, the states it moves through, and the text
//! the operator writes about it (validated once, here).

use std::fmt;

use serde::Serialize;

use crate::ValidationError;
use crate::text::text_value;

/// What kind of incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Someone reached data or accounts they should not have.
    UnauthorizedAccess,
    /// Personal data left the service (漏えい).
    DataLeak,
    /// Data lost or damaged (滅失・毀損).
    DataLoss,
    Ransomware,
    /// The service is down or degraded.
    Outage,
    /// A weakness found, not known to have been used.
    Vulnerability,
    Other,
}

impl Category {
    pub const ALL: [Category; 7] = [
        Self::UnauthorizedAccess,
        Self::DataLeak,
        Self::DataLoss,
        Self::Ransomware,
        Self::Outage,
        Self::Vulnerability,
        Self::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnauthorizedAccess => "unauthorized_access",
            Self::DataLeak => "data_leak",
            Self::DataLoss => "data_loss",
            Self::Ransomware => "ransomware",
            Self::Outage => "outage",
            Self::Vulnerability => "vulnerability",
            Self::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or(ValidationError::Invalid { field: "category" })
    }

    /// The category in words (Japanese, English).
    pub fn label(self) -> (&'static str, &'static str) {
        match self {
            Self::UnauthorizedAccess => ("不正アクセス", "unauthorized access"),
            Self::DataLeak => ("個人データの漏えい", "personal data leak"),
            Self::DataLoss => ("データの滅失・毀損", "data lost or damaged"),
            Self::Ransomware => ("ランサムウェア", "ransomware"),
            Self::Outage => ("サービス停止", "outage"),
            Self::Vulnerability => ("脆弱性", "vulnerability"),
            Self::Other => ("その他", "other"),
        }
    }
}

/// Where an incident stands. It moves forward only: investigating → identified →
/// monitoring → resolved (steps may be skipped).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Investigating,
    Identified,
    Monitoring,
    Resolved,
}

impl State {
    pub const ALL: [State; 4] = [
        Self::Investigating,
        Self::Identified,
        Self::Monitoring,
        Self::Resolved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Investigating => "investigating",
            Self::Identified => "identified",
            Self::Monitoring => "monitoring",
            Self::Resolved => "resolved",
        }
    }

    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or(ValidationError::Invalid { field: "state" })
    }

    /// Whether an incident in this state may move to `next` (forward, or staying).
    pub fn may_become(self, next: State) -> bool {
        next >= self
    }
}

text_value!(
    /// An incident's public title: 1 to 120 characters.
    IncidentTitle, "title", 1, 120, false
);
text_value!(
    /// What an update says (public or internal): up to 4,000 characters.
    IncidentText, "message", 0, 4000, true
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_move_forward_only() {
        assert!(State::Investigating.may_become(State::Resolved));
        assert!(State::Monitoring.may_become(State::Monitoring));
        assert!(!State::Resolved.may_become(State::Investigating));
        assert!(!State::Monitoring.may_become(State::Identified));
        for s in State::ALL {
            assert_eq!(State::parse(s.as_str()), Ok(s));
        }
        for c in Category::ALL {
            assert_eq!(Category::parse(c.as_str()), Ok(c));
        }
        assert!(Category::parse("ddos").is_err());
    }

    #[test]
    fn text_is_checked_once() {
        assert!(IncidentTitle::parse("  ").is_err());
        assert!(IncidentTitle::parse("不正ログインの調査\u{7}").is_err());
        assert!(IncidentText::parse("一行目\n二行目").is_ok());
        assert!(IncidentTitle::parse(&"あ".repeat(121)).is_err());
    }
}
