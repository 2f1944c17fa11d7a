//! Time on the club's clock: time zones, local date-times, and the recurrence rules of
//! events, expanded into the dated occurrences people answer for.
//!
//! Times are kept as UTC milliseconds; rules are applied on the local (civil) clock of
//! the event's zone, so a weekly 16:00 practice stays at 16:00 across a DST change.

use std::fmt;

pub use jiff::civil::Date;
use jiff::civil::{DateTime, Weekday};
use jiff::tz::TimeZone;

use crate::ValidationError;

/// The zone new clubs and events get unless told otherwise.
pub const DEFAULT_ZONE: &str = "Asia/Tokyo";
/// At most this many occurrences per recurring event (a year of practice, twice a week,
/// is about 104).
pub const MAX_OCCURRENCES: usize = 400;
/// A recurring event ends at most this many days after it starts.
pub const MAX_SERIES_DAYS: i32 = 731;
/// Longest single occurrence (合宿 can last days; anything longer is a typo).
pub const MAX_DURATION_MIN: i64 = 14 * 24 * 60;

fn rule(field: &'static str, code: &'static str) -> ValidationError {
    ValidationError::Rule { field, code }
}

/// An IANA time zone, validated against the bundled database.
#[derive(Clone)]
pub struct Zone {
    name: String,
    tz: TimeZone,
}

impl Zone {
    pub fn parse(name: &str) -> Result<Self, ValidationError> {
        let invalid = ValidationError::Invalid { field: "timezone" };
        if name.len() > 64 {
            return Err(invalid);
        }
        let tz = TimeZone::get(name).map_err(|_| invalid.clone())?;
        // Store the database's spelling ("asia/tokyo" is accepted, "Asia/Tokyo" kept).
        let name = tz.iana_name().ok_or(invalid)?.to_owned();
        Ok(Self { name, tz })
    }

    pub fn tokyo() -> Self {
        Self::parse(DEFAULT_ZONE).unwrap_or_else(|_| Self {
            name: DEFAULT_ZONE.to_owned(),
            tz: TimeZone::fixed(jiff::tz::offset(9)),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn tz(&self) -> &TimeZone {
        &self.tz
    }

    /// The local clock reading at `ms` (UTC milliseconds).
    pub fn local(&self, ms: i64) -> DateTime {
        jiff::Timestamp::from_millisecond(ms)
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
            .to_zoned(self.tz.clone())
            .datetime()
    }

    /// The instant a local reading names. A reading skipped by a DST gap moves forward;
    /// a repeated one takes the earlier instant (RFC 5545 §3.3.5 does the same).
    pub fn instant(&self, dt: DateTime) -> Result<i64, ValidationError> {
        self.tz
            .to_ambiguous_zoned(dt)
            .compatible()
            .map(|z| z.timestamp().as_millisecond())
            .map_err(|_| ValidationError::Invalid { field: "starts_at" })
    }
}

impl fmt::Debug for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl PartialEq for Zone {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

/// Parses a local date-time as forms send it: `2026-12-01T16:00` (seconds allowed).
pub fn parse_local(field: &'static str, s: &str) -> Result<DateTime, ValidationError> {
    let s = s.trim();
    if s.len() > 32 {
        return Err(ValidationError::Invalid { field });
    }
    s.parse::<DateTime>()
        .map_err(|_| ValidationError::Invalid { field })
}

/// Parses a date: `2027-03-31`.
pub fn parse_date(field: &'static str, s: &str) -> Result<Date, ValidationError> {
    let s = s.trim();
    if s.len() != 10 {
        return Err(ValidationError::Invalid { field });
    }
    s.parse::<Date>()
        .map_err(|_| ValidationError::Invalid { field })
}

/// How often a recurring event repeats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Freq {
    Daily,
    Weekly,
}

/// A recurrence rule: the subset of RFC 5545 RRULE clubs use. Always has an end date.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recurrence {
    pub freq: Freq,
    /// Every `interval` days or weeks (1 to 4: 隔週 is 2).
    pub interval: i32,
    /// Days of the week, for weekly rules; never empty once built.
    pub by_day: Vec<Weekday>,
    /// The last day an occurrence may fall on, inclusive.
    pub until: Date,
}

const DAYS: [(Weekday, &str); 7] = [
    (Weekday::Monday, "MO"),
    (Weekday::Tuesday, "TU"),
    (Weekday::Wednesday, "WE"),
    (Weekday::Thursday, "TH"),
    (Weekday::Friday, "FR"),
    (Weekday::Saturday, "SA"),
    (Weekday::Sunday, "SU"),
];

pub fn weekday_code(d: Weekday) -> &'static str {
    DAYS.iter()
        .find(|(w, _)| *w == d)
        .map(|x| x.1)
        .unwrap_or("MO")
}

pub fn parse_weekday(s: &str) -> Result<Weekday, ValidationError> {
    DAYS.iter()
        .find(|(_, c)| c.eq_ignore_ascii_case(s.trim()))
        .map(|x| x.0)
        .ok_or(ValidationError::Invalid { field: "by_day" })
}

impl Recurrence {
    /// Builds a rule; a weekly rule without days repeats on the first occurrence's day.
    pub fn new(
        freq: Freq,
        interval: i32,
        mut by_day: Vec<Weekday>,
        until: Date,
        first: DateTime,
    ) -> Result<Self, ValidationError> {
        if !(1..=4).contains(&interval) {
            return Err(ValidationError::Invalid { field: "interval" });
        }
        if freq == Freq::Daily {
            by_day.clear();
        } else if by_day.is_empty() {
            by_day.push(first.date().weekday());
        }
        by_day.sort_by_key(|d| d.to_monday_zero_offset());
        by_day.dedup();
        if until < first.date() {
            return Err(rule("until", "until_before_start"));
        }
        let days = first
            .date()
            .until(until)
            .map(|s| s.get_days())
            .unwrap_or(i32::MAX);
        if days > MAX_SERIES_DAYS {
            return Err(rule("until", "series_too_long"));
        }
        Ok(Self {
            freq,
            interval,
            by_day,
            until,
        })
    }

    /// The stored form, which is also the RRULE without its UNTIL time:
    /// `FREQ=WEEKLY;INTERVAL=1;BYDAY=TU,TH;UNTIL=20270331`.
    pub fn to_storage(&self) -> String {
        let mut s = match self.freq {
            Freq::Daily => format!("FREQ=DAILY;INTERVAL={}", self.interval),
            Freq::Weekly => format!("FREQ=WEEKLY;INTERVAL={}", self.interval),
        };
        if !self.by_day.is_empty() {
            let days: Vec<&str> = self.by_day.iter().map(|d| weekday_code(*d)).collect();
            s.push_str(";BYDAY=");
            s.push_str(&days.join(","));
        }
        s.push_str(&format!(";UNTIL={}", self.until.strftime("%Y%m%d")));
        s
    }

    pub fn from_storage(s: &str) -> Result<Self, ValidationError> {
        let bad = || ValidationError::Invalid { field: "rrule" };
        let (mut freq, mut interval, mut by_day, mut until) = (None, 1, Vec::new(), None);
        for part in s.split(';') {
            let (k, v) = part.split_once('=').ok_or_else(bad)?;
            match k {
                "FREQ" if v == "DAILY" => freq = Some(Freq::Daily),
                "FREQ" if v == "WEEKLY" => freq = Some(Freq::Weekly),
                "INTERVAL" => interval = v.parse().map_err(|_| bad())?,
                "BYDAY" => {
                    by_day = v.split(',').map(parse_weekday).collect::<Result<_, _>>()?;
                }
                "UNTIL" => {
                    until = Some(Date::strptime("%Y%m%d", v).map_err(|_| bad())?);
                }
                _ => return Err(bad()),
            }
        }
        Ok(Self {
            freq: freq.ok_or_else(bad)?,
            interval,
            by_day,
            until: until.ok_or_else(bad)?,
        })
    }

    /// The local start of every occurrence, from `first` (which the rule moves forward
    /// to its first matching day) to `until`.
    pub fn expand(&self, first: DateTime) -> Result<Vec<DateTime>, ValidationError> {
        let start = first.date();
        let monday = |d: Date| {
            d.checked_sub(jiff::Span::new().days(d.weekday().to_monday_zero_offset()))
                .unwrap_or(d)
        };
        let week0 = monday(start);
        let mut out = Vec::new();
        let mut day = start;
        while day <= self.until {
            let offset = start.until(day).map(|s| s.get_days()).unwrap_or(0);
            let hit = match self.freq {
                Freq::Daily => offset % self.interval == 0,
                Freq::Weekly => {
                    let weeks = week0.until(monday(day)).map(|s| s.get_days()).unwrap_or(0) / 7;
                    weeks % self.interval == 0 && self.by_day.contains(&day.weekday())
                }
            };
            if hit {
                if out.len() == MAX_OCCURRENCES {
                    return Err(rule("until", "too_many_occurrences"));
                }
                out.push(day.to_datetime(first.time()));
            }
            day = match day.tomorrow() {
                Ok(d) => d,
                Err(_) => break,
            };
        }
        if out.is_empty() {
            return Err(rule("by_day", "no_occurrences"));
        }
        Ok(out)
    }

    /// The RRULE value for a calendar feed whose DTSTART is `first` in `zone`: UNTIL
    /// must then be a UTC time (RFC 5545 §3.3.10), the last moment an occurrence may start.
    pub fn ical(&self, zone: &Zone, first: DateTime) -> String {
        let until_local = self.until.to_datetime(first.time());
        let until = zone
            .instant(until_local)
            .ok()
            .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
            .map(|t| t.strftime("%Y%m%dT%H%M%SZ").to_string())
            .unwrap_or_default();
        let mut s = match self.freq {
            Freq::Daily => format!("FREQ=DAILY;INTERVAL={}", self.interval),
            Freq::Weekly => format!("FREQ=WEEKLY;INTERVAL={};WKST=MO", self.interval),
        };
        if !self.by_day.is_empty() {
            let days: Vec<&str> = self.by_day.iter().map(|d| weekday_code(*d)).collect();
            s.push_str(";BYDAY=");
            s.push_str(&days.join(","));
        }
        s.push_str(";UNTIL=");
        s.push_str(&until);
        s
    }
}

/// One occurrence's times, in UTC milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    /// The start the rule gave it (RFC 5545 RECURRENCE-ID); never changes when moved.
    pub original_start: i64,
    pub starts_at: i64,
    pub ends_at: i64,
    /// 集合時刻, if the event has one.
    pub meet_at: Option<i64>,
    /// Answers close at this instant.
    pub deadline_at: i64,
}

/// When an event happens, as typed into the form, before it is checked.
#[derive(Clone, Debug)]
pub struct Timing {
    pub zone: Zone,
    pub start: DateTime,
    pub end: DateTime,
    /// Meet this many minutes before the start (0 to 24 hours).
    pub meet_before_min: Option<i64>,
    /// Answers close this many minutes before the start (0 = at the start).
    pub deadline_before_min: i64,
}

impl Timing {
    /// Checks the times and gives the slot of an occurrence starting at local `start`.
    pub fn slot(&self, start: DateTime) -> Result<Slot, ValidationError> {
        let length = self.start.duration_until(self.end).as_secs() / 60;
        if length <= 0 {
            return Err(rule("ends_at", "end_before_start"));
        }
        if length > MAX_DURATION_MIN {
            return Err(rule("ends_at", "too_long_event"));
        }
        if let Some(m) = self.meet_before_min
            && !(0..=24 * 60).contains(&m)
        {
            return Err(ValidationError::Invalid {
                field: "meet_before_min",
            });
        }
        if !(0..=30 * 24 * 60).contains(&self.deadline_before_min) {
            return Err(ValidationError::Invalid {
                field: "deadline_before_min",
            });
        }
        let starts_at = self.zone.instant(start)?;
        let end_local = start
            .checked_add(jiff::Span::new().minutes(length))
            .map_err(|_| ValidationError::Invalid { field: "ends_at" })?;
        // The length is kept on the local clock: a 2-hour practice stays 2 hours long
        // on the wall even on a DST day.
        let ends_at = self.zone.instant(end_local)?.max(starts_at + 60_000);
        Ok(Slot {
            original_start: starts_at,
            starts_at,
            ends_at,
            meet_at: self.meet_before_min.map(|m| starts_at - m * 60_000),
            deadline_at: starts_at - self.deadline_before_min * 60_000,
        })
    }

    /// Every slot of the event: one, or one per occurrence of `rule`. Refuses an event
    /// that would start, or stop taking answers, before `now`.
    pub fn slots(
        &self,
        rule_: Option<&Recurrence>,
        now: i64,
    ) -> Result<Vec<Slot>, ValidationError> {
        let starts = match rule_ {
            None => vec![self.start],
            Some(r) => r.expand(self.start)?,
        };
        let slots = starts
            .into_iter()
            .map(|s| self.slot(s))
            .collect::<Result<Vec<_>, _>>()?;
        let first = slots.first().ok_or(rule("starts_at", "no_occurrences"))?;
        if first.starts_at <= now {
            return Err(rule("starts_at", "starts_in_past"));
        }
        if first.deadline_at <= now {
            return Err(rule("deadline_before_min", "deadline_passed"));
        }
        Ok(slots)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn timing(start: DateTime, hours: i64) -> Timing {
        Timing {
            zone: Zone::tokyo(),
            start,
            end: start.checked_add(jiff::Span::new().hours(hours)).unwrap(),
            meet_before_min: Some(15),
            deadline_before_min: 24 * 60,
        }
    }

    #[test]
    fn weekly_practice_on_two_days_until_march() {
        let first = date(2026, 12, 1).at(16, 0, 0, 0); // a Tuesday
        let r = Recurrence::new(
            Freq::Weekly,
            1,
            vec![Weekday::Thursday, Weekday::Tuesday],
            date(2026, 12, 17),
            first,
        )
        .unwrap();
        assert_eq!(
            r.to_storage(),
            "FREQ=WEEKLY;INTERVAL=1;BYDAY=TU,TH;UNTIL=20261217"
        );
        assert_eq!(Recurrence::from_storage(&r.to_storage()).unwrap(), r);
        let days: Vec<i8> = r.expand(first).unwrap().iter().map(|d| d.day()).collect();
        assert_eq!(days, vec![1, 3, 8, 10, 15, 17]);
        assert_eq!(
            r.ical(&Zone::tokyo(), first),
            "FREQ=WEEKLY;INTERVAL=1;WKST=MO;BYDAY=TU,TH;UNTIL=20261217T070000Z"
        );
    }

    #[test]
    fn every_other_week_counts_weeks_from_monday() {
        // Starts on a Thursday; the Tuesday of the same week is before the start.
        let first = date(2026, 12, 3).at(18, 30, 0, 0);
        let r = Recurrence::new(
            Freq::Weekly,
            2,
            vec![Weekday::Tuesday, Weekday::Thursday],
            date(2026, 12, 31),
            first,
        )
        .unwrap();
        let days: Vec<i8> = r.expand(first).unwrap().iter().map(|d| d.day()).collect();
        assert_eq!(days, vec![3, 15, 17, 29, 31]);
    }

    #[test]
    fn local_time_holds_across_daylight_saving() {
        let zone = Zone::parse("europe/london").unwrap();
        assert_eq!(zone.name(), "Europe/London");
        let first = date(2027, 3, 20).at(10, 0, 0, 0);
        let r = Recurrence::new(Freq::Weekly, 1, vec![], date(2027, 4, 3), first).unwrap();
        let t = Timing {
            zone: zone.clone(),
            ..timing(first, 2)
        };
        let slots: Vec<Slot> = r
            .expand(first)
            .unwrap()
            .into_iter()
            .map(|s| t.slot(s).unwrap())
            .collect();
        for s in &slots {
            assert_eq!(zone.local(s.starts_at).hour(), 10);
            assert_eq!(s.ends_at - s.starts_at, 2 * 3_600_000);
        }
        // GMT then BST: the UTC hour moves, the local hour does not.
        assert_eq!(slots[1].starts_at - slots[0].starts_at, 7 * 86_400_000);
        assert_eq!(
            slots[2].starts_at - slots[1].starts_at,
            7 * 86_400_000 - 3_600_000
        );
    }

    #[test]
    fn refuses_what_no_calendar_can_hold() {
        let first = date(2026, 12, 1).at(16, 0, 0, 0);
        let code = |e: ValidationError| e.code();
        let mut t = timing(first, 2);
        t.end = first.checked_sub(jiff::Span::new().minutes(1)).unwrap();
        assert_eq!(code(t.slot(first).unwrap_err()), "end_before_start");
        let r = Recurrence::new(Freq::Weekly, 1, vec![], date(2026, 11, 1), first);
        assert_eq!(code(r.unwrap_err()), "until_before_start");
        let r = Recurrence::new(Freq::Weekly, 1, vec![], date(2029, 1, 1), first);
        assert_eq!(code(r.unwrap_err()), "series_too_long");
        let r = Recurrence::new(Freq::Daily, 1, vec![], date(2028, 6, 1), first).unwrap();
        assert_eq!(code(r.expand(first).unwrap_err()), "too_many_occurrences");
        let r = Recurrence::new(Freq::Weekly, 0, vec![], date(2027, 1, 1), first);
        assert_eq!(code(r.unwrap_err()), "invalid");
        let now = Zone::tokyo().instant(first).unwrap();
        let t = timing(first, 2);
        assert_eq!(code(t.slots(None, now).unwrap_err()), "starts_in_past");
        let day_before = now - 3_600_000;
        assert_eq!(
            code(t.slots(None, day_before).unwrap_err()),
            "deadline_passed"
        );
        let ok = t.slots(None, now - 2 * 86_400_000).unwrap();
        assert_eq!(ok[0].meet_at, Some(ok[0].starts_at - 15 * 60_000));
        // A three-day training camp (合宿) spans days; its length is counted in minutes.
        let camp = timing(first, 3 * 24 + 2).slot(first).unwrap();
        assert_eq!(camp.ends_at - camp.starts_at, (3 * 24 + 2) * 3_600_000);
        assert!(Zone::parse("Mars/Olympus").is_err());
        assert!(parse_local("starts_at", "2026-13-01T16:00").is_err());
        assert!(parse_local("starts_at", "2026-12-01T16:00").is_ok());
    }
}
