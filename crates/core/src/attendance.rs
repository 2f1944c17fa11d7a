//! 出欠: what a member answers for an occurrence, and who gave the answer.

use serde::{Deserialize, Serialize};

use crate::ValidationError;

/// What a person answers: 出席 / 欠席 / 未定.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reply {
    Yes,
    No,
    Maybe,
}

/// Where an answer stands. `Waitlisted` is a "yes" that found the event full; it is
/// promoted, oldest first, when a place frees up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerStatus {
    Yes,
    No,
    Maybe,
    Waitlisted,
}

/// Who gave an answer: the member, a guardian for their child, or an officer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnsweredAs {
    #[serde(rename = "self")]
    Member,
    Guardian,
    Officer,
}

macro_rules! str_enum {
    ($t:ty, $field:literal, [$($v:ident => $s:literal),*]) => {
        impl $t {
            pub const ALL: &'static [$t] = &[$(<$t>::$v),*];
            pub fn as_str(self) -> &'static str {
                match self { $(<$t>::$v => $s),* }
            }
            pub fn parse(s: &str) -> Result<Self, ValidationError> {
                match s { $($s => Ok(<$t>::$v),)* _ => Err(ValidationError::Invalid { field: $field }) }
            }
        }
    };
}

str_enum!(Reply, "status", [Yes => "yes", No => "no", Maybe => "maybe"]);
str_enum!(AnswerStatus, "status", [Yes => "yes", No => "no", Maybe => "maybe", Waitlisted => "waitlisted"]);
str_enum!(AnsweredAs, "answered_as", [Member => "self", Guardian => "guardian", Officer => "officer"]);

impl AnswerStatus {
    /// Whether this answer holds or wants a place.
    pub fn wants_place(self) -> bool {
        matches!(self, Self::Yes | Self::Waitlisted)
    }
}

/// Where a "yes" lands: a place if one is free, else the waiting list. `taken` counts
/// the places held by others.
pub fn place_for(reply: Reply, capacity: Option<i64>, taken: i64) -> AnswerStatus {
    match reply {
        Reply::No => AnswerStatus::No,
        Reply::Maybe => AnswerStatus::Maybe,
        Reply::Yes => match capacity {
            Some(c) if taken >= c => AnswerStatus::Waitlisted,
            _ => AnswerStatus::Yes,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_event_waitlists_yes_only() {
        assert_eq!(place_for(Reply::Yes, Some(2), 1), AnswerStatus::Yes);
        assert_eq!(place_for(Reply::Yes, Some(2), 2), AnswerStatus::Waitlisted);
        assert_eq!(place_for(Reply::No, Some(0), 5), AnswerStatus::No);
        assert_eq!(place_for(Reply::Yes, None, 500), AnswerStatus::Yes);
        for s in AnswerStatus::ALL {
            assert_eq!(AnswerStatus::parse(s.as_str()).unwrap(), *s);
        }
        assert_eq!(
            serde_json::to_string(&AnsweredAs::Member).unwrap(),
            "\"self\""
        );
    }
}
