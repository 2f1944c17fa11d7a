//! Attendance rates per member over a period, and their CSV export.

use std::collections::HashMap;

use serde::Serialize;
use tekkan_core::schedule::parse_date;
use tekkan_core::{
    AnswerStatus, ClubId, EventId, MembershipId, MembershipStatus, Permission, Role,
    ValidationError,
};
use tekkan_storage::now_ms;

use crate::{Actor, App, AppError, Result};

/// One member's line: how many past occurrences were for them and how they answered.
#[derive(Clone, Debug, Serialize)]
pub struct MemberRate {
    pub membership_id: MembershipId,
    pub display_name: String,
    pub status: MembershipStatus,
    pub targeted: i64,
    pub yes: i64,
    pub no: i64,
    pub maybe: i64,
    pub unanswered: i64,
    /// Occurrences they came to: at the roll call where one was taken, else by their
    /// answer 出席.
    pub attended: i64,
    /// Of their occurrences, how many had a roll call.
    pub checked: i64,
    /// attended / targeted, as a percentage with one decimal; `None` when nothing was
    /// targeted.
    pub rate: Option<f64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub from: String,
    pub to: String,
    pub occurrences: usize,
    pub members: Vec<MemberRate>,
}

impl App {
    /// Rates over the occurrences that started between `from` and `to` (dates on the
    /// club's clock, inclusive) and are already over, cancelled ones left out.
    pub async fn attendance_report(
        &self,
        actor: &Actor,
        club: ClubId,
        from: &str,
        to: &str,
    ) -> Result<Report> {
        self.authorize(actor, club, Permission::ManageAttendance)
            .await?;
        let (zone, _) = self.club_zone(club).await?;
        let (f, t) = (parse_date("from", from)?, parse_date("to", to)?);
        if t < f {
            return Err(ValidationError::Rule {
                field: "to",
                code: "end_before_start",
            }
            .into());
        }
        if f.until(t).map(|s| s.get_days()).unwrap_or(i32::MAX) > 800 {
            return Err(ValidationError::Rule {
                field: "to",
                code: "period_too_long",
            }
            .into());
        }
        let start = zone.instant(f.to_datetime(jiff::civil::Time::midnight()))?;
        let end = zone.instant(
            t.tomorrow()
                .map_err(|_| ValidationError::Invalid { field: "to" })?
                .to_datetime(jiff::civil::Time::midnight()),
        )?;
        // Every member's attendance: recorded as a read of the club's data.
        self.audit_read_now(
            actor,
            Some(club),
            "attendance.report_read",
            format!("club:{club}"),
            &(from, to),
        )
        .await?;
        let now = now_ms();
        let occs: Vec<_> = self
            .db()
            .club_occurrences(club, start, end.min(now), 100_000)
            .await?
            .into_iter()
            .filter(|o| o.cancelled_at.is_none() && o.starts_at < now)
            .collect();
        let mut events: HashMap<EventId, (bool, Vec<tekkan_core::SubgroupId>)> = HashMap::new();
        for o in &occs {
            if let std::collections::hash_map::Entry::Vacant(slot) = events.entry(o.event_id) {
                let e = self
                    .db()
                    .event(club, o.event_id)
                    .await?
                    .ok_or(AppError::NotFound)?;
                slot.insert((e.all_members, e.targets));
            }
        }
        let groups = self.db().subgroup_members(club).await?;
        let answers: HashMap<(tekkan_core::OccurrenceId, MembershipId), AnswerStatus> = self
            .db()
            .club_answers(club, start, end)
            .await?
            .into_iter()
            .map(|(o, m, s)| ((o, m), s))
            .collect();
        // Who came, where a roll call was taken: it decides over the answers there.
        let mut checks: HashMap<tekkan_core::OccurrenceId, HashMap<MembershipId, bool>> =
            HashMap::new();
        for (o, m, present) in self.db().club_roll_calls(club, start, end).await? {
            checks.entry(o).or_default().insert(m, present);
        }
        let mut members = Vec::new();
        for m in self.db().members(club).await? {
            let ms = &m.membership;
            if ms.role == Role::Guardian
                || !matches!(
                    ms.status,
                    MembershipStatus::Active | MembershipStatus::Left | MembershipStatus::Removed
                )
            {
                continue;
            }
            let mut r = MemberRate {
                membership_id: ms.id,
                display_name: m.display_name.clone(),
                status: ms.status,
                targeted: 0,
                yes: 0,
                no: 0,
                maybe: 0,
                unanswered: 0,
                attended: 0,
                checked: 0,
                rate: None,
            };
            for o in &occs {
                let member_then =
                    ms.joined_at <= o.starts_at && ms.left_at.is_none_or(|l| l > o.starts_at);
                let (all, targets) = &events[&o.event_id];
                let invited = *all
                    || groups
                        .iter()
                        .any(|(sg, gm)| *gm == ms.id && targets.contains(sg));
                if !member_then || !invited {
                    continue;
                }
                r.targeted += 1;
                let answer = answers.get(&(o.id, ms.id));
                match answer {
                    Some(AnswerStatus::Yes) => r.yes += 1,
                    Some(AnswerStatus::No) => r.no += 1,
                    Some(AnswerStatus::Maybe | AnswerStatus::Waitlisted) => r.maybe += 1,
                    None => r.unanswered += 1,
                }
                // At a roll call, someone not marked did not come.
                let came = match checks.get(&o.id) {
                    Some(c) => {
                        r.checked += 1;
                        c.get(&ms.id).copied().unwrap_or(false)
                    }
                    None => answer == Some(&AnswerStatus::Yes),
                };
                r.attended += i64::from(came);
            }
            if r.targeted > 0 {
                r.rate = Some((r.attended as f64 * 1000.0 / r.targeted as f64).round() / 10.0);
            }
            if r.targeted > 0 || ms.status == MembershipStatus::Active {
                members.push(r);
            }
        }
        members.sort_by(|a, b| a.display_name.cmp(&b.display_name));
        Ok(Report {
            from: f.to_string(),
            to: t.to_string(),
            occurrences: occs.len(),
            members,
        })
    }
}

/// The report as CSV: UTF-8 with a byte-order mark, so that Excel reads Japanese names
/// correctly; CRLF line ends (RFC 4180); cells that a spreadsheet would run as a formula
/// are prefixed with `'` (CSV injection).
pub fn report_csv(r: &Report, header: &[&str; 8]) -> String {
    let mut out = String::from("\u{feff}");
    let line = |cells: Vec<String>| -> String {
        let quoted: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
        quoted.join(",") + "\r\n"
    };
    out.push_str(&line(header.iter().map(|s| s.to_string()).collect()));
    for m in &r.members {
        out.push_str(&line(vec![
            m.display_name.clone(),
            m.targeted.to_string(),
            m.yes.to_string(),
            m.no.to_string(),
            m.maybe.to_string(),
            m.unanswered.to_string(),
            m.attended.to_string(),
            m.rate.map(|x| format!("{x:.1}")).unwrap_or_default(),
        ]));
    }
    out
}

pub(crate) fn csv_cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

use tekkan_core::jiff;

#[cfg(test)]
mod tests {
    use super::csv_cell;

    #[test]
    fn cells_are_quoted_and_formulas_defused() {
        assert_eq!(csv_cell("山田 太郎"), "山田 太郎");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("-1"), "'-1");
    }
}
