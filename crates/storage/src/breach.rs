//! What a breach report reads: the operator's statement about a breach (one row per
//! incident), the audit entries of a time window, the people of the clubs in scope
//! with their memberships over time, and which personal fields each person holds
//! (their names only: the values stay sealed and are never read here).

use tekkan_core::IncidentId;

use crate::sql::{Builder, Row, q};
use crate::{Db, Result, WriteTx};

/// The operator's statement about a breach.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BreachRow {
    pub incident_id: String,
    pub from_ms: i64,
    pub to_ms: i64,
    pub exposure: String,
    /// Accounts whose actions are in scope; empty: anyone's.
    pub actors: Vec<String>,
    /// Address prefixes the actions came from; empty: any address.
    pub address_prefixes: Vec<String>,
    pub key_compromised: bool,
    pub malicious: bool,
    pub financial_harm: bool,
    pub secondary_harm: String,
    pub response: String,
    pub publication: String,
    pub other: String,
    pub assessed_at: i64,
}

/// One audit entry, as a breach report reads it.
#[derive(Debug, Clone)]
pub struct TrailEntry {
    pub seq: i64,
    pub ts_ms: i64,
    pub actor_account: Option<String>,
    pub club_id: Option<String>,
    pub action: String,
    pub target: String,
    pub change_digest: String,
    pub ip: Option<String>,
}

/// A membership with its person, over time.
#[derive(Debug, Clone)]
pub struct PersonInClub {
    pub club_id: String,
    pub membership_id: String,
    pub account_id: String,
    pub display_name: String,
    pub role: String,
    pub status: String,
    pub joined_at: i64,
    pub left_at: Option<i64>,
    /// Linked to a guardian or a student in this club.
    pub linked: bool,
}

fn list(r: &Row, col: &str) -> Result<Vec<String>> {
    let raw: String = r.try_get(col)?;
    Ok(serde_json::from_str(&raw).unwrap_or_default())
}

fn breach(r: &Row) -> Result<BreachRow> {
    let flag = |c: &str| -> Result<bool> { Ok(r.try_get::<i64, _>(c)? != 0) };
    Ok(BreachRow {
        incident_id: r.try_get("incident_id")?,
        from_ms: r.try_get("from_ms")?,
        to_ms: r.try_get("to_ms")?,
        exposure: r.try_get("exposure")?,
        actors: list(r, "actors")?,
        address_prefixes: list(r, "address_prefixes")?,
        key_compromised: flag("key_compromised")?,
        malicious: flag("malicious")?,
        financial_harm: flag("financial_harm")?,
        secondary_harm: r.try_get("secondary_harm")?,
        response: r.try_get("response")?,
        publication: r.try_get("publication")?,
        other: r.try_get("other")?,
        assessed_at: r.try_get("assessed_at")?,
    })
}

/// `column IN (values)`, or nothing when `values` is empty.
fn push_in(b: &mut Builder<'_>, prefix: &str, column: &str, values: &[String]) {
    if values.is_empty() {
        return;
    }
    b.push(format!("{prefix} {column} IN ("));
    let mut l = b.separated(", ");
    for v in values {
        l.push_bind(v.clone());
    }
    b.push(")");
}

impl Db {
    pub async fn breach(&self, incident: IncidentId) -> Result<Option<BreachRow>> {
        let row = q("SELECT * FROM incident_breaches WHERE incident_id = $1")
            .bind(incident.to_string())
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(breach).transpose()
    }

    /// Audit entries from `from_ms` to `to_ms` (inclusive) whose action is one of
    /// `actions`, by one of `actors` (anyone's when empty), in one of `clubs` or about
    /// no club (every club when empty), in the chain's order.
    pub async fn trail_entries(
        &self,
        from_ms: i64,
        to_ms: i64,
        actions: &[&str],
        actors: &[String],
        clubs: &[String],
    ) -> Result<Vec<TrailEntry>> {
        let mut b = Builder::new(
            "SELECT seq, ts_ms, actor_account, club_id, action, target, change_digest, ip \
             FROM audit_log WHERE ts_ms >= ",
        );
        b.push_bind(from_ms).push(" AND ts_ms <= ").push_bind(to_ms);
        let actions: Vec<String> = actions.iter().map(|a| (*a).to_owned()).collect();
        push_in(&mut b, " AND", "action", &actions);
        push_in(&mut b, " AND", "actor_account", actors);
        if !clubs.is_empty() {
            push_in(&mut b, " AND (club_id IS NULL OR", "club_id", clubs);
            b.push(")");
        }
        b.push(" ORDER BY seq");
        let rows = b.build().fetch_all(&self.reader).await?;
        rows.iter()
            .map(|r| {
                Ok(TrailEntry {
                    seq: r.try_get("seq")?,
                    ts_ms: r.try_get("ts_ms")?,
                    actor_account: r.try_get("actor_account")?,
                    club_id: r.try_get("club_id")?,
                    action: r.try_get("action")?,
                    target: r.try_get("target")?,
                    change_digest: r.try_get("change_digest")?,
                    ip: r.try_get("ip")?,
                })
            })
            .collect()
    }

    /// Everyone who ever had a membership in `clubs` (every club when empty), with
    /// when they joined and left, and whether a guardian link names them.
    pub async fn people_in_clubs(&self, clubs: &[String]) -> Result<Vec<PersonInClub>> {
        let mut b = Builder::new(
            "SELECT m.club_id, m.id, m.account_id, a.display_name, m.role, m.status, \
             m.joined_at, m.left_at, EXISTS (SELECT 1 FROM guardian_links g \
             WHERE g.guardian_id = m.id OR g.student_id = m.id) AS linked \
             FROM memberships m JOIN accounts a ON a.id = m.account_id",
        );
        push_in(&mut b, " WHERE", "m.club_id", clubs);
        b.push(" ORDER BY m.club_id, m.account_id");
        let rows = b.build().fetch_all(&self.reader).await?;
        rows.iter()
            .map(|r| {
                Ok(PersonInClub {
                    club_id: r.try_get("club_id")?,
                    membership_id: r.try_get("id")?,
                    account_id: r.try_get("account_id")?,
                    display_name: r.try_get("display_name")?,
                    role: r.try_get("role")?,
                    status: r.try_get("status")?,
                    joined_at: r.try_get("joined_at")?,
                    left_at: r.try_get("left_at")?,
                    linked: r.try_get("linked")?,
                })
            })
            .collect()
    }

    /// The names of the personal fields each of `accounts` holds: (account, field).
    pub async fn personal_field_names(&self, accounts: &[String]) -> Result<Vec<(String, String)>> {
        if accounts.is_empty() {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        // In slices, so that a service-wide report stays under every engine's limit
        // on bound values.
        for chunk in accounts.chunks(500) {
            let mut b = Builder::new("SELECT account_id, field FROM personal_fields WHERE");
            push_in(&mut b, "", "account_id", chunk);
            let rows = b.build().fetch_all(&self.reader).await?;
            for r in &rows {
                out.push((r.try_get("account_id")?, r.try_get("field")?));
            }
        }
        Ok(out)
    }

    /// Display names of `accounts` (those that still exist).
    pub async fn display_names(&self, accounts: &[String]) -> Result<Vec<(String, String)>> {
        let mut out = Vec::new();
        for chunk in accounts.chunks(500) {
            let mut b = Builder::new("SELECT id, display_name FROM accounts WHERE");
            push_in(&mut b, "", "id", chunk);
            let rows = b.build().fetch_all(&self.reader).await?;
            for r in &rows {
                out.push((r.try_get("id")?, r.try_get("display_name")?));
            }
        }
        Ok(out)
    }
}

impl WriteTx {
    /// Records (or replaces) the operator's statement about a breach.
    pub async fn save_breach(&mut self, b: &BreachRow) -> Result<()> {
        let json = |v: &Vec<String>| serde_json::to_string(v).unwrap_or_else(|_| "[]".into());
        q("DELETE FROM incident_breaches WHERE incident_id = $1")
            .bind(&b.incident_id)
            .execute(&mut self.tx)
            .await?;
        q(
            "INSERT INTO incident_breaches (incident_id, from_ms, to_ms, exposure, actors, \
             address_prefixes, key_compromised, malicious, financial_harm, secondary_harm, \
             response, publication, other, assessed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(&b.incident_id)
        .bind(b.from_ms)
        .bind(b.to_ms)
        .bind(&b.exposure)
        .bind(json(&b.actors))
        .bind(json(&b.address_prefixes))
        .bind(i64::from(b.key_compromised))
        .bind(i64::from(b.malicious))
        .bind(i64::from(b.financial_harm))
        .bind(&b.secondary_harm)
        .bind(&b.response)
        .bind(&b.publication)
        .bind(&b.other)
        .bind(b.assessed_at)
        .execute(&mut self.tx)
        .await?;
        Ok(())
    }
}
