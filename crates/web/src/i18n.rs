//! Japanese first, English too: the message catalog and the language switch.

pub mod catalog;

use serde::Serialize;

/// A user-interface language.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Default)]
pub enum Lang {
    #[default]
    Ja,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ja => "ja",
            Lang::En => "en",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ja" => Some(Lang::Ja),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The other language, for the switch.
    pub fn other(self) -> Self {
        match self {
            Lang::Ja => Lang::En,
            Lang::En => Lang::Ja,
        }
    }
}

/// Translator handed to templates: `t.s("key")`.
#[derive(Clone, Copy, Debug)]
pub struct Tr(pub Lang);

impl Tr {
    /// The message for `key`; the key itself when missing (a test keeps that from
    /// happening for every key the templates and code use).
    pub fn s(&self, key: &str) -> &'static str {
        catalog::lookup(key, self.0).unwrap_or_else(|| catalog::leak_key(key))
    }

    /// Whether the catalog has `key` in both languages.
    pub fn has(key: &str) -> bool {
        catalog::lookup(key, Lang::Ja).is_some() && catalog::lookup(key, Lang::En).is_some()
    }

    pub fn role(&self, r: tekkan_core::Role) -> &'static str {
        self.s(&format!("role.{}", r.as_str()))
    }

    pub fn status(&self, s: tekkan_core::MembershipStatus) -> &'static str {
        self.s(&format!("status.{}", s.as_str()))
    }

    pub fn kind(&self, k: tekkan_core::SubgroupKind) -> &'static str {
        self.s(&format!("kind.{}", k.as_str()))
    }

    /// A time in Japan Standard Time (no daylight saving, so a fixed +09:00).
    pub fn datetime(&self, ms: i64) -> String {
        let jst = time::UtcOffset::from_hms(9, 0, 0).unwrap_or(time::UtcOffset::UTC);
        let Ok(t) = time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000) else {
            return String::new();
        };
        let t = t.to_offset(jst);
        format!(
            "{}-{:02}-{:02} {:02}:{:02}",
            t.year(),
            t.month() as u8,
            t.day(),
            t.hour(),
            t.minute()
        )
    }
}
