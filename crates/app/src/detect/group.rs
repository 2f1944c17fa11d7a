//! Alert grouping: the first firing of a rule is an alert at once; further firings of
//! the same rule while it keeps firing are gathered into an update every few minutes,
//! so an attack gives one alert and then updates, not a thousand. Pure, clock passed in.

use std::collections::{BTreeMap, BTreeSet};

use super::rules::{Fired, Rule};

/// An attack is over when its rule has not fired for this long.
pub const QUIET_MS: i64 = 10 * 60_000;
/// Updates about an ongoing attack at most this often.
pub const UPDATE_EVERY_MS: i64 = 5 * 60_000;

/// What to tell the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outgoing {
    /// A rule fired that was quiet: alert now.
    New(Fired),
    /// The rule kept firing: how often since the alert, about how many subjects.
    Update {
        rule: Rule,
        firings: usize,
        subjects: usize,
        since: i64,
    },
}

struct Group {
    first: i64,
    last: i64,
    firings: usize,
    reported: usize,
    last_sent: i64,
    subjects: BTreeSet<String>,
}

#[derive(Default)]
pub struct Groups(BTreeMap<Rule, Group>);

impl Groups {
    /// A firing: an alert if its rule was quiet, else gathered for the next update.
    pub fn observe(&mut self, f: &Fired, now: i64) -> Option<Outgoing> {
        match self.0.get_mut(&f.rule) {
            Some(g) if now - g.last < QUIET_MS => {
                g.last = now;
                g.firings += 1;
                g.subjects.insert(f.subject.clone());
                None
            }
            _ => {
                self.0.insert(
                    f.rule,
                    Group {
                        first: now,
                        last: now,
                        firings: 1,
                        reported: 1,
                        last_sent: now,
                        subjects: BTreeSet::from([f.subject.clone()]),
                    },
                );
                Some(Outgoing::New(f.clone()))
            }
        }
    }

    /// Updates due at `now`; forgets attacks that went quiet.
    pub fn tick(&mut self, now: i64) -> Vec<Outgoing> {
        let mut out = Vec::new();
        for (rule, g) in &mut self.0 {
            if g.firings > g.reported && now - g.last_sent >= UPDATE_EVERY_MS {
                out.push(Outgoing::Update {
                    rule: *rule,
                    firings: g.firings,
                    subjects: g.subjects.len(),
                    since: g.first,
                });
                g.reported = g.firings;
                g.last_sent = now;
            }
        }
        self.0
            .retain(|_, g| now - g.last < QUIET_MS || g.firings > g.reported);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fired(rule: Rule, subject: &str, at: i64) -> Fired {
        Fired {
            rule,
            subject: subject.into(),
            count: 20,
            enforce: true,
            at,
            device: None,
        }
    }

    #[test]
    fn an_attack_is_one_alert_then_updates() {
        let mut g = Groups::default();
        let t0 = 1_000_000;
        let mut alerts = 0;
        // A thousand firings from 200 prefixes over four minutes.
        for i in 0..1000 {
            let f = fired(
                Rule::CredentialStuffing,
                &format!("p{}", i % 200),
                t0 + i * 240,
            );
            if g.observe(&f, f.at).is_some() {
                alerts += 1;
            }
            assert!(g.tick(f.at).is_empty(), "no update before five minutes");
        }
        assert_eq!(alerts, 1);
        let u = g.tick(t0 + UPDATE_EVERY_MS);
        assert_eq!(
            u,
            vec![Outgoing::Update {
                rule: Rule::CredentialStuffing,
                firings: 1000,
                subjects: 200,
                since: t0
            }]
        );
        assert!(g.tick(t0 + UPDATE_EVERY_MS + 1).is_empty(), "nothing new");
        // Another rule is another alert.
        let f = fired(Rule::ServerErrors, "service", t0 + 1);
        assert!(matches!(g.observe(&f, f.at), Some(Outgoing::New(_))));
        // After a quiet spell, the same rule alerts again.
        let later = t0 + 240_000 + QUIET_MS + 1;
        g.tick(later);
        let f = fired(Rule::CredentialStuffing, "p1", later);
        assert!(matches!(g.observe(&f, later), Some(Outgoing::New(_))));
    }
}
