//! A breach under APPI: the operator states the window, the scope and how the data got
//! out; who was affected and which of their data items is computed from the audit
//! trail (reads included) every time the report is drawn, so it follows the evidence.
//! The drafts built from it (the Commission's report, the notices) are in `draft.rs`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;
use tekkan_core::breach::{Cases, DataItem, Deadlines, Exposure};
use tekkan_core::incident::Category;
use tekkan_core::personal::PersonalField;
use tekkan_core::{AccountId, IncidentId, ValidationError};
use tekkan_storage::{BreachRow, IncidentRow, PersonInClub, TrailEntry, now_ms};

use super::text;
use crate::actor::{Actor, system_event};
use crate::containment::operator_or_cli;
use crate::{App, AppError, Result};

/// What the operator states about a breach.
#[derive(Debug, Clone, Default)]
pub struct BreachInput {
    pub from_ms: i64,
    pub to_ms: i64,
    pub exposure: String,
    /// Accounts (ids or e-mail addresses) whose actions are in scope: the taken-over
    /// or misused accounts. Empty: anyone's actions.
    pub actors: Vec<String>,
    /// Address prefixes the actions came from, such as `203.0.113.` or `2001:db8:`.
    pub address_prefixes: Vec<String>,
    /// The master key (database copy) or the backup key went with the data.
    pub key_compromised: bool,
    /// 不正の目的をもって行われたおそれ.
    pub malicious: bool,
    /// Financial harm is possible by other means (phishing with the leaked addresses).
    pub financial_harm: bool,
    pub secondary_harm: String,
    pub response: String,
    pub publication: String,
    pub other: String,
}

/// One person's part in a breach.
#[derive(Debug, Clone, Serialize)]
pub struct AffectedPerson {
    pub account: String,
    pub name: String,
    /// Items whose protection failed.
    pub exposed: Vec<DataItem>,
    /// Items that stayed under strong encryption with the key apart.
    pub protected: Vec<DataItem>,
    /// The person is one of the accounts in scope (their own data was open to whoever
    /// held the account).
    pub own_account: bool,
}

/// How many people lost each item.
#[derive(Debug, Clone, Serialize)]
pub struct ItemCount {
    pub item: DataItem,
    pub label: &'static str,
    pub label_en: &'static str,
    pub exposed: usize,
    pub protected: usize,
}

/// The computed breach: the evidence's answer, before any wording.
#[derive(Debug, Clone, Serialize)]
pub struct Breach {
    pub incident: IncidentId,
    pub from_ms: i64,
    pub to_ms: i64,
    pub exposure: Exposure,
    pub actors: Vec<String>,
    pub address_prefixes: Vec<String>,
    pub key_compromised: bool,
    /// Audit entries that touched personal data in the window and scope.
    pub entries: usize,
    /// Of those, by action.
    pub entries_by_action: BTreeMap<String, usize>,
    /// Everyone whose data was reached, protected or not.
    pub people: usize,
    /// People with at least one item not protected: the number to report.
    pub people_exposed: usize,
    pub items: Vec<ItemCount>,
    pub cases: Cases,
    pub mandatory: bool,
    /// Some items stayed protected by encryption with the key kept apart.
    pub exemption_applies: bool,
    pub deadlines: Deadlines,
    pub affected: Vec<AffectedPerson>,
    #[serde(skip)]
    pub statement: BreachRow,
}

/// The actions that show someone's data to their actor.
const READS: [&str; 5] = [
    "personal.read",
    "roster.read",
    "attendance.report_read",
    "audit.exported",
    "privacy.exported",
];

/// Which of a person's personal fields a `personal.read` entry showed: its digest is
/// that of the list of field names shown, in the fields' order (see
/// `App::profile_of`), so the one subset whose digest matches is the answer. `None`
/// when nothing matches (an entry written by another version).
fn fields_shown(digest_hex: &str) -> Option<Vec<PersonalField>> {
    let all = PersonalField::ALL;
    (1u32..(1 << all.len())).find_map(|mask| {
        let chosen: Vec<PersonalField> = all
            .iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << i) != 0)
            .map(|(_, f)| *f)
            .collect();
        let names: Vec<&str> = chosen.iter().map(|f| f.as_str()).collect();
        let bytes = serde_json::to_vec(&names).ok()?;
        (tekkan_audit::to_hex(&tekkan_audit::Event::digest(&bytes)) == digest_hex).then_some(chosen)
    })
}

fn is_breach_category(c: Category) -> bool {
    !matches!(c, Category::Outage | Category::Vulnerability)
}

fn prefix_ok(p: &str) -> bool {
    !p.is_empty()
        && p.len() <= 39
        && p.chars()
            .all(|c| c.is_ascii_hexdigit() || c == '.' || c == ':')
}

/// Who a membership row says was in the club at `at`.
fn member_at(p: &PersonInClub, at: i64) -> bool {
    p.joined_at <= at && p.left_at.is_none_or(|l| l > at) && p.status != "pending"
}

#[derive(Default)]
struct Reached {
    items: BTreeSet<DataItem>,
    own: bool,
}

impl App {
    /// Records the operator's statement about a breach (replacing an earlier one) and
    /// returns the computed breach. Audited with its counts.
    pub async fn assess_breach(
        &self,
        actor: Option<&Actor>,
        id: IncidentId,
        input: BreachInput,
    ) -> Result<Breach> {
        operator_or_cli(actor)?;
        let incident = self.db().incident(id).await?.ok_or(AppError::NotFound)?;
        if !is_breach_category(Category::parse(&incident.category)?) {
            return Err(AppError::Conflict("not_a_breach"));
        }
        let now = now_ms();
        if input.from_ms >= input.to_ms || input.to_ms > now + 60_000 || input.from_ms < 0 {
            return Err(ValidationError::Rule {
                field: "to",
                code: "window_order",
            }
            .into());
        }
        let exposure = Exposure::parse(&input.exposure)?;
        if input.actors.len() > 100 || input.address_prefixes.len() > 100 {
            return Err(ValidationError::TooLong {
                field: "actors",
                max: 100,
            }
            .into());
        }
        let mut actors = Vec::with_capacity(input.actors.len());
        for a in &input.actors {
            let a = a.trim();
            let account = match a.contains('@') {
                true => self.db().account_by_email(a).await?.map(|x| x.id),
                false => AccountId::parse(a),
            };
            let Some(account) = account else {
                return Err(ValidationError::Invalid { field: "actors" }.into());
            };
            if self.db().account(account).await?.is_none() {
                return Err(ValidationError::Invalid { field: "actors" }.into());
            }
            actors.push(account.to_string());
        }
        let prefixes: Vec<String> = input
            .address_prefixes
            .iter()
            .map(|p| p.trim().to_ascii_lowercase())
            .collect();
        if !prefixes.iter().all(|p| prefix_ok(p)) {
            return Err(ValidationError::Invalid {
                field: "address_prefixes",
            }
            .into());
        }
        let statement = BreachRow {
            incident_id: id.to_string(),
            from_ms: input.from_ms,
            to_ms: input.to_ms,
            exposure: exposure.as_str().to_owned(),
            actors,
            address_prefixes: prefixes,
            key_compromised: input.key_compromised,
            malicious: input.malicious,
            financial_harm: input.financial_harm,
            secondary_harm: text("secondary_harm", &input.secondary_harm)?,
            response: text("response", &input.response)?,
            publication: text("publication", &input.publication)?,
            other: text("other", &input.other)?,
            assessed_at: now,
        };
        let breach = self.compute_breach(&incident, statement.clone()).await?;
        let mut tx = self.db().begin().await?;
        tx.save_breach(&statement).await?;
        let change = serde_json::json!({
            "from_ms": statement.from_ms,
            "to_ms": statement.to_ms,
            "exposure": statement.exposure,
            "actors": statement.actors,
            "people": breach.people,
            "people_exposed": breach.people_exposed,
            "mandatory": breach.mandatory,
        });
        let target = format!("incident:{id}");
        let ev = match actor {
            Some(a) => a.event(None, "incident.breach_assessed", target, &change),
            None => system_event("incident.breach_assessed", target, &change),
        };
        tx.commit(vec![ev]).await?;
        Ok(breach)
    }

    /// The breach of incident `id` as the audit trail shows it now. Reading it names
    /// the people affected, so the read is recorded.
    pub async fn breach(&self, actor: Option<&Actor>, id: IncidentId) -> Result<Breach> {
        operator_or_cli(actor)?;
        let incident = self.db().incident(id).await?.ok_or(AppError::NotFound)?;
        let statement = self.db().breach(id).await?.ok_or(AppError::NotFound)?;
        let breach = self.compute_breach(&incident, statement).await?;
        if let Some(a) = actor {
            self.audit_read(
                a,
                None,
                "incident.breach_read",
                format!("incident:{id}"),
                &breach.people,
            )
            .await;
        }
        Ok(breach)
    }

    async fn compute_breach(&self, incident: &IncidentRow, st: BreachRow) -> Result<Breach> {
        let exposure = Exposure::parse(&st.exposure)?;
        // Every committed entry gets its place in the trail before it is read.
        self.integrate_log(true).await?;
        let clubs = &incident.scope_clubs;
        let people = self.db().people_in_clubs(clubs).await?;
        // Looked up per person below: a set, not a scan of everyone for each.
        let linked: std::collections::HashSet<&str> = people
            .iter()
            .filter(|p| p.linked)
            .map(|p| p.account_id.as_str())
            .collect();
        let mut reached: HashMap<String, Reached> = HashMap::new();
        let mut by_action: BTreeMap<String, usize> = BTreeMap::new();
        let mut entries = 0;
        let mut want_held: BTreeSet<String> = BTreeSet::new();
        if exposure == Exposure::Access {
            let trail = self
                .db()
                .trail_entries(st.from_ms, st.to_ms, &READS, &st.actors, clubs)
                .await?;
            let from_address = |e: &TrailEntry| {
                st.address_prefixes.is_empty()
                    || e.ip.as_deref().is_some_and(|ip| {
                        let ip = ip.to_ascii_lowercase();
                        st.address_prefixes
                            .iter()
                            .any(|p| ip.starts_with(p.as_str()))
                    })
            };
            for e in trail.iter().filter(|e| from_address(e)) {
                entries += 1;
                *by_action.entry(e.action.clone()).or_default() += 1;
                let at = e.ts_ms;
                let club_people = |c: &str| -> Vec<&PersonInClub> {
                    people
                        .iter()
                        .filter(|p| p.club_id == c && member_at(p, at))
                        .collect()
                };
                let target = e.target.split_once(':').map(|(_, t)| t).unwrap_or("");
                match (e.action.as_str(), e.club_id.as_deref()) {
                    ("personal.read", _) => {
                        let r = reached.entry(target.to_owned()).or_default();
                        match fields_shown(&e.change_digest) {
                            Some(fields) => {
                                r.items.extend(fields.into_iter().map(DataItem::from_field));
                            }
                            None => {
                                want_held.insert(target.to_owned());
                            }
                        }
                        r.items.insert(DataItem::Name);
                    }
                    ("roster.read", Some(c)) => {
                        for p in club_people(c) {
                            let r = reached.entry(p.account_id.clone()).or_default();
                            r.items.extend([DataItem::Name, DataItem::Email]);
                            if p.linked {
                                r.items.insert(DataItem::GuardianLink);
                            }
                        }
                    }
                    ("attendance.report_read", Some(c)) => {
                        for p in club_people(c) {
                            let r = reached.entry(p.account_id.clone()).or_default();
                            r.items.extend([DataItem::Name, DataItem::Attendance]);
                        }
                    }
                    ("audit.exported", Some(c)) => {
                        for p in club_people(c) {
                            let r = reached.entry(p.account_id.clone()).or_default();
                            r.items.extend([DataItem::Name, DataItem::ActivityLog]);
                        }
                    }
                    ("privacy.exported", _) => {
                        reached.entry(target.to_owned()).or_default();
                        want_held.insert(target.to_owned());
                    }
                    _ => {}
                }
            }
            // Whoever held an account in scope saw its owner's own data; reading
            // one's own data is not recorded, so all of it counts.
            for a in &st.actors {
                reached.entry(a.clone()).or_default().own = true;
                want_held.insert(a.clone());
            }
        } else {
            // A copy of the stored data: everyone in scope, everything they hold.
            for p in &people {
                want_held.insert(p.account_id.clone());
            }
        }
        // Everything a person holds: the items every member has, and their fields.
        if !want_held.is_empty() {
            let ids: Vec<String> = want_held.iter().cloned().collect();
            let fields = self.db().personal_field_names(&ids).await?;
            for id in &ids {
                let r = reached.entry(id.clone()).or_default();
                r.items.extend([
                    DataItem::Name,
                    DataItem::Email,
                    DataItem::Attendance,
                    DataItem::ActivityLog,
                ]);
                if linked.contains(id.as_str()) {
                    r.items.insert(DataItem::GuardianLink);
                }
            }
            for (account, field) in fields {
                if let (Some(r), Some(f)) =
                    (reached.get_mut(&account), PersonalField::parse(&field))
                {
                    r.items.insert(DataItem::from_field(f));
                }
            }
        }
        let ids: Vec<String> = reached.keys().cloned().collect();
        let names: HashMap<String, String> =
            self.db().display_names(&ids).await?.into_iter().collect();
        let mut affected: Vec<AffectedPerson> = reached
            .into_iter()
            .filter(|(_, r)| !r.items.is_empty())
            .map(|(account, r)| {
                let (protected, exposed): (Vec<DataItem>, Vec<DataItem>) = r
                    .items
                    .iter()
                    .partition(|i| exposure.protected(**i, st.key_compromised));
                AffectedPerson {
                    name: names.get(&account).cloned().unwrap_or_default(),
                    account,
                    exposed,
                    protected,
                    own_account: r.own,
                }
            })
            .collect();
        affected.sort_by(|a, b| a.name.cmp(&b.name).then(a.account.cmp(&b.account)));
        let mut exposed: BTreeMap<DataItem, usize> = BTreeMap::new();
        let mut protected: BTreeMap<DataItem, usize> = BTreeMap::new();
        for p in &affected {
            for i in &p.exposed {
                *exposed.entry(*i).or_default() += 1;
            }
            for i in &p.protected {
                *protected.entry(*i).or_default() += 1;
            }
        }
        let people_exposed = affected.iter().filter(|p| !p.exposed.is_empty()).count();
        let cases = Cases::classify(&exposed, people_exposed, st.malicious, st.financial_harm);
        let items = DataItem::ALL
            .into_iter()
            .filter(|i| exposed.contains_key(i) || protected.contains_key(i))
            .map(|item| {
                let (label, label_en) = item.label();
                ItemCount {
                    item,
                    label,
                    label_en,
                    exposed: exposed.get(&item).copied().unwrap_or(0),
                    protected: protected.get(&item).copied().unwrap_or(0),
                }
            })
            .collect();
        Ok(Breach {
            incident: incident.id,
            from_ms: st.from_ms,
            to_ms: st.to_ms,
            exposure,
            actors: st.actors.clone(),
            address_prefixes: st.address_prefixes.clone(),
            key_compromised: st.key_compromised,
            entries,
            entries_by_action: by_action,
            people: affected.len(),
            people_exposed,
            items,
            mandatory: cases.mandatory(),
            exemption_applies: !protected.is_empty(),
            cases,
            deadlines: Deadlines::from_awareness(incident.aware_at, st.malicious),
            affected,
            statement: st,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fields_shown_are_read_back_from_the_digest() {
        let shown = [PersonalField::Phone, PersonalField::HealthNotes];
        let names: Vec<&str> = shown.iter().map(|f| f.as_str()).collect();
        let digest = tekkan_audit::Event::digest(&serde_json::to_vec(&names).unwrap());
        assert_eq!(
            fields_shown(&tekkan_audit::to_hex(&digest)),
            Some(shown.to_vec())
        );
        assert_eq!(fields_shown(&"0".repeat(64)), None);
        assert!(prefix_ok("203.0.113.") && prefix_ok("2001:db8:"));
        assert!(!prefix_ok("10.0.0.0/8") && !prefix_ok("' OR 1=1"));
    }
}
