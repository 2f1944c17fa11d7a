//! Grandfather-father-son retention: which backups `prune` keeps. The newest backup of
//! each of the last `daily` days, `weekly` ISO weeks, `monthly` months and `yearly`
//! years is kept (times in Japan), and always the newest backup of all.

use std::collections::BTreeSet;

use jiff::Timestamp;
use jiff::tz::TimeZone;

/// How many of each period to keep (the `[backup.retention]` configuration section).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    pub daily: usize,
    pub weekly: usize,
    pub monthly: usize,
    pub yearly: usize,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            daily: 7,
            weekly: 5,
            monthly: 12,
            yearly: 3,
        }
    }
}

/// A verdict on one backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub id: String,
    /// Why it is kept (`daily 2026-11-27`...); `None`: it may be deleted.
    pub keep: Option<String>,
}

/// Decides for every backup (id and creation time). Order of the answer: newest first.
pub fn decide(backups: &[(String, Timestamp)], policy: Policy) -> Vec<Verdict> {
    let tz = TimeZone::get("Asia/Tokyo").unwrap_or(TimeZone::UTC);
    let mut sorted: Vec<&(String, Timestamp)> = backups.iter().collect();
    sorted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| b.0.cmp(&a.0)));
    let period = |t: &Timestamp, kind: usize| -> String {
        let z = t.to_zoned(tz.clone());
        match kind {
            0 => z.strftime("%Y-%m-%d").to_string(),
            1 => {
                let w = z.date().iso_week_date();
                format!("{}-W{:02}", w.year(), w.week())
            }
            2 => z.strftime("%Y-%m").to_string(),
            _ => z.strftime("%Y").to_string(),
        }
    };
    let limits = [policy.daily, policy.weekly, policy.monthly, policy.yearly];
    let names = ["daily", "weekly", "monthly", "yearly"];
    let mut seen: [BTreeSet<String>; 4] = Default::default();
    sorted
        .iter()
        .enumerate()
        .map(|(i, (id, t))| {
            let mut reasons = Vec::new();
            if i == 0 {
                reasons.push("newest".to_owned());
            }
            for k in 0..4 {
                let p = period(t, k);
                if !seen[k].contains(&p) && seen[k].len() < limits[k] {
                    reasons.push(format!("{} {p}", names[k]));
                    seen[k].insert(p);
                }
            }
            Verdict {
                id: id.clone(),
                keep: (!reasons.is_empty()).then(|| reasons.join(", ")),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_one_per_period_newest_first() {
        // Two backups a day (03:00 and 15:00 JST) for 400 days.
        let start: Timestamp = "2025-10-01T18:00:00Z".parse().expect("time");
        let backups: Vec<(String, Timestamp)> = (0..800)
            .map(|i| {
                let t = start + jiff::SignedDuration::from_hours(12 * i);
                (format!("b{i:04}"), t)
            })
            .collect();
        let p = Policy::default();
        let v = decide(&backups, p);
        let kept: Vec<&Verdict> = v.iter().filter(|v| v.keep.is_some()).collect();
        assert_eq!(v[0].id, "b0799");
        assert!(v[0].keep.as_deref().is_some_and(|k| k.contains("newest")));
        // 7 days + older weeks + older months + older years, each period counted once.
        let distinct_days = kept
            .iter()
            .filter(|v| v.keep.as_deref().is_some_and(|k| k.contains("daily")))
            .count();
        assert_eq!(distinct_days, 7);
        assert!(kept.len() <= 7 + 5 + 12 + 3 + 1);
        assert!(kept.len() > 12, "{}", kept.len());
        // Of each day only the later backup is kept.
        assert!(v.iter().any(|v| v.id == "b0798" && v.keep.is_none()));
        // The oldest backup is the newest of its year only if the year limit reaches it.
        let yearly: Vec<_> = kept
            .iter()
            .filter(|v| v.keep.as_deref().is_some_and(|k| k.contains("yearly 2025")))
            .collect();
        assert_eq!(yearly.len(), 1);
        assert_eq!(
            decide(
                &backups,
                Policy {
                    daily: 0,
                    weekly: 0,
                    monthly: 0,
                    yearly: 0
                }
            )
            .iter()
            .filter(|v| v.keep.is_some())
            .count(),
            1
        );
    }
}
