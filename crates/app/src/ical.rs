//! Writing iCalendar (RFC 5545): escaping, folding, time zones, and one event (a series
//! with its RRULE, EXDATEs and changed occurrences, or a one-off).

use std::collections::BTreeSet;
use std::fmt::Write;

use tekkan_core::jiff::civil::DateTime;
use tekkan_core::jiff::{self, Timestamp};
use tekkan_core::schedule::{Recurrence, Zone};
use tekkan_storage::{Event, Occurrence};

/// Escapes a TEXT value (§3.3.11).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends one content line, folded at 75 octets without splitting a character (§3.1).
pub fn line(out: &mut String, content: &str) {
    let mut width = 0;
    for c in content.chars() {
        let n = c.len_utf8();
        if width + n > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += n;
    }
    out.push_str("\r\n");
}

fn utc(ms: i64) -> String {
    Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y%m%dT%H%M%SZ").to_string())
        .unwrap_or_default()
}

fn local(dt: DateTime) -> String {
    dt.strftime("%Y%m%dT%H%M%S").to_string()
}

fn offset(secs: i32) -> String {
    let sign = if secs < 0 { '-' } else { '+' };
    let a = secs.abs();
    format!("{sign}{:02}{:02}", a / 3600, (a % 3600) / 60)
}

/// A VTIMEZONE for `zone` covering [from, to]: the offset in force at `from`, then every
/// transition until `to`, so that any reader can resolve the local times without its
/// own copy of the time-zone database.
pub fn vtimezone(out: &mut String, zone: &Zone, from: i64, to: i64) {
    let tz = zone.tz();
    let start = Timestamp::from_millisecond(from).unwrap_or(Timestamp::UNIX_EPOCH);
    let info = tz.to_offset_info(start);
    line(out, "BEGIN:VTIMEZONE");
    line(out, &format!("TZID:{}", zone.name()));
    let kind = |dst: bool| if dst { "DAYLIGHT" } else { "STANDARD" };
    let first = kind(info.dst().is_dst());
    let off = offset(info.offset().seconds());
    line(out, &format!("BEGIN:{first}"));
    line(out, "DTSTART:19700101T000000");
    line(out, &format!("TZOFFSETFROM:{off}"));
    line(out, &format!("TZOFFSETTO:{off}"));
    line(out, &format!("TZNAME:{}", escape(info.abbreviation())));
    line(out, &format!("END:{first}"));
    let mut prev = info.offset();
    for t in tz.following(start) {
        if t.timestamp().as_millisecond() > to {
            break;
        }
        let k = kind(t.dst().is_dst());
        // The onset is written on the clock in force before the change.
        let onset = prev.to_datetime(t.timestamp());
        line(out, &format!("BEGIN:{k}"));
        line(out, &format!("DTSTART:{}", local(onset)));
        line(out, &format!("TZOFFSETFROM:{}", offset(prev.seconds())));
        line(out, &format!("TZOFFSETTO:{}", offset(t.offset().seconds())));
        line(out, &format!("TZNAME:{}", escape(t.abbreviation())));
        line(out, &format!("END:{k}"));
        prev = t.offset();
    }
    line(out, "END:VTIMEZONE");
}

/// The zones a calendar uses and the span it covers, for [`vtimezone`].
#[derive(Default)]
pub struct Zones {
    pub names: BTreeSet<String>,
    pub from: i64,
    pub to: i64,
}

impl Zones {
    pub fn add(&mut self, zone: &str, from: i64, to: i64) {
        if self.names.is_empty() || from < self.from {
            self.from = from;
        }
        self.to = self.to.max(to);
        self.names.insert(zone.to_owned());
    }
}

fn props(out: &mut String, title: &str, place: &str, description: &str) {
    line(out, &format!("SUMMARY:{}", escape(title)));
    if !place.is_empty() {
        line(out, &format!("LOCATION:{}", escape(place)));
    }
    if !description.is_empty() {
        line(out, &format!("DESCRIPTION:{}", escape(description)));
    }
}

fn description(club: &str, bring: &str, notes: &str, bring_label: &str) -> String {
    let mut d = club.to_owned();
    if !bring.is_empty() {
        let _ = write!(d, "\n{bring_label}: {bring}");
    }
    if !notes.is_empty() {
        let _ = write!(d, "\n{notes}");
    }
    d
}

/// Writes the VEVENTs of one event. `occ` is every occurrence, in order.
pub fn event(
    out: &mut String,
    e: &Event,
    occ: &[Occurrence],
    club: &str,
    host: &str,
    now: i64,
    bring_label: &str,
) {
    let Some(first) = occ.iter().min_by_key(|o| o.original_start) else {
        return;
    };
    let zone = Zone::parse(&e.timezone).unwrap_or_else(|_| Zone::tokyo());
    let tzid = zone.name().to_owned();
    let uid = format!("{}@{host}", e.id);
    let stamp = utc(now);
    let rule = e
        .rrule
        .as_deref()
        .and_then(|r| Recurrence::from_storage(r).ok());
    let Some(rule) = rule else {
        // A one-off: a single VEVENT.
        line(out, "BEGIN:VEVENT");
        line(out, &format!("UID:{uid}"));
        line(out, &format!("DTSTAMP:{stamp}"));
        line(out, &format!("LAST-MODIFIED:{}", utc(first.updated_at)));
        line(
            out,
            &format!("DTSTART;TZID={tzid}:{}", local(zone.local(first.starts_at))),
        );
        line(
            out,
            &format!("DTEND;TZID={tzid}:{}", local(zone.local(first.ends_at))),
        );
        let d = description(club, &first.bring, &first.notes, bring_label);
        props(out, &first.title, &first.place, &d);
        if first.cancelled_at.is_some() {
            line(out, "STATUS:CANCELLED");
        }
        line(out, "END:VEVENT");
        return;
    };
    // The series: what the rule produces, with the event's current details.
    let length = first.ends_at - first.starts_at;
    let master_start = zone.local(first.original_start);
    let master_length = {
        let (s, en) = (
            e.first_start.parse::<DateTime>(),
            e.first_end.parse::<DateTime>(),
        );
        match (s, en) {
            (Ok(s), Ok(en)) => s.duration_until(en).as_millis() as i64,
            _ => length,
        }
    };
    line(out, "BEGIN:VEVENT");
    line(out, &format!("UID:{uid}"));
    line(out, &format!("DTSTAMP:{stamp}"));
    line(out, &format!("LAST-MODIFIED:{}", utc(e.updated_at)));
    line(out, &format!("DTSTART;TZID={tzid}:{}", local(master_start)));
    let master_end = master_start
        .checked_add(jiff::SignedDuration::from_millis(master_length))
        .unwrap_or(master_start);
    line(out, &format!("DTEND;TZID={tzid}:{}", local(master_end)));
    line(out, &format!("RRULE:{}", rule.ical(&zone, master_start)));
    let d = description(club, &e.bring, &e.notes, bring_label);
    props(out, &e.title, &e.place, &d);
    for o in occ.iter().filter(|o| o.cancelled_at.is_some()) {
        line(
            out,
            &format!("EXDATE;TZID={tzid}:{}", local(zone.local(o.original_start))),
        );
    }
    line(out, "END:VEVENT");
    // Occurrences that differ from what the series says are overrides (RECURRENCE-ID).
    for o in occ.iter().filter(|o| o.cancelled_at.is_none()) {
        let same_time = o.starts_at == o.original_start && o.ends_at - o.starts_at == master_length;
        let same_details =
            o.title == e.title && o.place == e.place && o.bring == e.bring && o.notes == e.notes;
        if same_time && same_details {
            continue;
        }
        line(out, "BEGIN:VEVENT");
        line(out, &format!("UID:{uid}"));
        line(out, &format!("DTSTAMP:{stamp}"));
        line(
            out,
            &format!(
                "RECURRENCE-ID;TZID={tzid}:{}",
                local(zone.local(o.original_start))
            ),
        );
        line(
            out,
            &format!("DTSTART;TZID={tzid}:{}", local(zone.local(o.starts_at))),
        );
        line(
            out,
            &format!("DTEND;TZID={tzid}:{}", local(zone.local(o.ends_at))),
        );
        let d = description(club, &o.bring, &o.notes, bring_label);
        props(out, &o.title, &o.place, &d);
        line(out, "END:VEVENT");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_at_75_octets_without_splitting_characters() {
        let mut out = String::new();
        line(&mut out, &format!("SUMMARY:{}", "練習".repeat(30)));
        for l in out.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(l.len() <= 75, "{} octets", l.len());
        }
        let unfolded = out.replace("\r\n ", "");
        assert_eq!(unfolded, format!("SUMMARY:{}\r\n", "練習".repeat(30)));
    }

    #[test]
    fn escapes_text() {
        assert_eq!(escape("a,b;c\\d\ne"), "a\\,b\\;c\\\\d\\ne");
    }

    #[test]
    fn tokyo_needs_one_observance_and_london_has_its_changes() {
        let mut out = String::new();
        vtimezone(
            &mut out,
            &Zone::tokyo(),
            1_780_000_000_000,
            1_800_000_000_000,
        );
        assert_eq!(out.matches("BEGIN:STANDARD").count(), 1);
        assert!(out.contains("TZOFFSETTO:+0900"));
        let mut out = String::new();
        let london = Zone::parse("Europe/London").unwrap();
        vtimezone(&mut out, &london, 1_780_000_000_000, 1_800_000_000_000);
        assert!(
            out.contains("BEGIN:DAYLIGHT") && out.contains("TZOFFSETTO:+0100"),
            "{out}"
        );
    }
}
