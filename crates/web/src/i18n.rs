//! Japanese first, English too: the message catalog and the language switch.

mod activities;
mod audit;
mod breach;
pub mod catalog;
mod incidents;
mod privacy;
mod security;

use serde::Serialize;
use tekkan_core::jiff;

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

/// Milliseconds since the epoch, however many references templates wrap them in.
pub trait Millis {
    fn ms(&self) -> i64;
}

impl Millis for i64 {
    fn ms(&self) -> i64 {
        *self
    }
}

impl<T: Millis + ?Sized> Millis for &T {
    fn ms(&self) -> i64 {
        (**self).ms()
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

    /// A time in Japan Standard Time: 「2026-12-01 16:00」.
    pub fn datetime(&self, ms: impl Millis) -> String {
        Self::local(ms.ms(), tekkan_core::schedule::DEFAULT_ZONE)
            .map(|t| t.strftime("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_default()
    }

    fn local(ms: i64, zone: &str) -> Option<jiff::civil::DateTime> {
        let tz = jiff::tz::TimeZone::get(zone).ok()?;
        Some(
            jiff::Timestamp::from_millisecond(ms)
                .ok()?
                .to_zoned(tz)
                .datetime(),
        )
    }

    /// Date, weekday and time on `zone`'s clock, as people read them: 「12月7日(月) 16:00」
    /// (「2027年1月5日(火) 16:00」 in another year than this one), 「Mon 7 Dec 16:00」.
    pub fn when(&self, ms: impl Millis, zone: &str) -> String {
        let now = Self::local(jiff::Timestamp::now().as_millisecond(), zone);
        Self::when_at(self.0, ms.ms(), zone, now.map(|n| n.year()))
    }

    fn when_at(lang: Lang, ms: i64, zone: &str, this_year: Option<i16>) -> String {
        let Some(t) = Self::local(ms, zone) else {
            return String::new();
        };
        let wd = t.date().weekday().to_monday_zero_offset() as usize;
        let other_year = this_year != Some(t.year());
        match lang {
            Lang::Ja => {
                let day = ["月", "火", "水", "木", "金", "土", "日"][wd];
                let year = match other_year {
                    true => format!("{}年", t.year()),
                    false => String::new(),
                };
                format!(
                    "{year}{}月{}日({day}) {}",
                    t.month(),
                    t.day(),
                    t.strftime("%H:%M")
                )
            }
            Lang::En => {
                let day = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][wd];
                let date = match other_year {
                    true => t.strftime("%-d %b %Y").to_string(),
                    false => t.strftime("%-d %b").to_string(),
                };
                format!("{day} {date} {}", t.strftime("%H:%M"))
            }
        }
    }

    /// The time of day on `zone`'s clock: 「18:30」.
    pub fn clock(&self, ms: impl Millis, zone: &str) -> String {
        Self::local(ms.ms(), zone)
            .map(|t| t.strftime("%H:%M").to_string())
            .unwrap_or_default()
    }

    /// The reading a `datetime-local` input takes: 「2026-12-01T16:00」.
    pub fn input_value(&self, ms: impl Millis, zone: &str) -> String {
        Self::local(ms.ms(), zone)
            .map(|t| t.strftime("%Y-%m-%dT%H:%M").to_string())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::{Lang, Tr};

    #[test]
    fn dates_read_as_people_write_them() {
        // 2026-12-07 07:30 UTC is Monday 16:30 in Tokyo.
        let ms = 1_796_628_600_000;
        let tokyo = "Asia/Tokyo";
        assert_eq!(
            Tr::when_at(Lang::Ja, ms, tokyo, Some(2026)),
            "12月7日(月) 16:30"
        );
        assert_eq!(
            Tr::when_at(Lang::Ja, ms, tokyo, Some(2025)),
            "2026年12月7日(月) 16:30"
        );
        assert_eq!(
            Tr::when_at(Lang::En, ms, tokyo, Some(2026)),
            "Mon 7 Dec 16:30"
        );
        assert_eq!(
            Tr::when_at(Lang::En, ms, tokyo, Some(2027)),
            "Mon 7 Dec 2026 16:30"
        );
        // On the club's clock: the same instant is Sunday 21:30 in Honolulu.
        assert_eq!(
            Tr::when_at(Lang::Ja, ms, "Pacific/Honolulu", Some(2026)),
            "12月6日(日) 21:30"
        );
    }
}
