//! Incidents and their updates: what the operator's pages, the command line and the
//! public status page read. Each change is also an audit entry (the caller's
//! transaction commits both), so these rows are a view, not the evidence.

use tekkan_core::{AccountId, IncidentId};

use crate::records::id_col;
use crate::sql::{Row, q};
use crate::{Db, Result, WriteTx};

/// An incident as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentRow {
    pub id: IncidentId,
    pub category: String,
    pub title: String,
    pub title_en: String,
    /// Club ids the incident concerns; empty for the whole service.
    pub scope_clubs: Vec<String>,
    pub state: String,
    pub detected_at: i64,
    pub aware_at: i64,
    pub opened_at: i64,
    pub published_at: Option<i64>,
    pub resolved_at: Option<i64>,
    pub cause: String,
    pub prevention: String,
}

/// One step of an incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentUpdateRow {
    pub id: String,
    pub incident_id: IncidentId,
    pub at: i64,
    pub state: String,
    /// `public` (on the status page once published) or `internal`.
    pub visibility: String,
    pub message: String,
    pub message_en: String,
    /// What was done (internal).
    pub actions: String,
}

fn incident(r: &Row) -> Result<IncidentRow> {
    let scope: String = r.try_get("scope_clubs")?;
    Ok(IncidentRow {
        id: id_col(r, "id", IncidentId)?,
        category: r.try_get("category")?,
        title: r.try_get("title")?,
        title_en: r.try_get("title_en")?,
        scope_clubs: serde_json::from_str(&scope).unwrap_or_default(),
        state: r.try_get("state")?,
        detected_at: r.try_get("detected_at")?,
        aware_at: r.try_get("aware_at")?,
        opened_at: r.try_get("opened_at")?,
        published_at: r.try_get("published_at")?,
        resolved_at: r.try_get("resolved_at")?,
        cause: r.try_get("cause")?,
        prevention: r.try_get("prevention")?,
    })
}

fn update(r: &Row) -> Result<IncidentUpdateRow> {
    Ok(IncidentUpdateRow {
        id: r.try_get("id")?,
        incident_id: id_col(r, "incident_id", IncidentId)?,
        at: r.try_get("at")?,
        state: r.try_get("state")?,
        visibility: r.try_get("visibility")?,
        message: r.try_get("message")?,
        message_en: r.try_get("message_en")?,
        actions: r.try_get("actions")?,
    })
}

impl Db {
    /// Incidents, newest first; only published ones when `published_only`.
    pub async fn incidents(&self, published_only: bool, limit: i64) -> Result<Vec<IncidentRow>> {
        let sql = match published_only {
            true => {
                "SELECT * FROM incidents WHERE published_at IS NOT NULL \
                 ORDER BY opened_at DESC LIMIT $1"
            }
            false => "SELECT * FROM incidents ORDER BY opened_at DESC LIMIT $1",
        };
        let rows = q(sql).bind(limit).fetch_all(&self.reader).await?;
        rows.iter().map(incident).collect()
    }

    /// Published incidents not yet resolved: what the banner shows.
    pub async fn open_published_incidents(&self) -> Result<Vec<IncidentRow>> {
        let rows = q("SELECT * FROM incidents WHERE published_at IS NOT NULL \
                      AND resolved_at IS NULL ORDER BY opened_at DESC")
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(incident).collect()
    }

    pub async fn incident(&self, id: IncidentId) -> Result<Option<IncidentRow>> {
        let row = q("SELECT * FROM incidents WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(incident).transpose()
    }

    /// The updates of the incidents `ids`, oldest first, in one query (a page lists
    /// up to a hundred incidents: never a query per incident).
    pub async fn incident_updates(&self, ids: &[IncidentId]) -> Result<Vec<IncidentUpdateRow>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut b =
            crate::sql::Builder::new("SELECT * FROM incident_updates WHERE incident_id IN (");
        let mut list = b.separated(", ");
        for id in ids {
            list.push_bind(id.to_string());
        }
        b.push(") ORDER BY at, id");
        let rows = b.build().fetch_all(&self.reader).await?;
        rows.iter().map(update).collect()
    }

    /// The clubs `account` is an active member of (guardians included).
    pub async fn active_club_ids(&self, account: AccountId) -> Result<Vec<String>> {
        let rows = q("SELECT club_id FROM memberships WHERE account_id = $1 AND status = 'active'")
            .bind(account.to_string())
            .fetch_all(&self.reader)
            .await?;
        rows.iter()
            .map(|r| r.try_get("club_id").map_err(Into::into))
            .collect()
    }
}

impl WriteTx {
    pub async fn insert_incident(&mut self, i: &IncidentRow) -> Result<()> {
        q(
            "INSERT INTO incidents (id, category, title, title_en, scope_clubs, state, \
           detected_at, aware_at, opened_at, published_at, resolved_at, cause, prevention) \
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(i.id.to_string())
        .bind(&i.category)
        .bind(&i.title)
        .bind(&i.title_en)
        .bind(serde_json::to_string(&i.scope_clubs).unwrap_or_else(|_| "[]".into()))
        .bind(&i.state)
        .bind(i.detected_at)
        .bind(i.aware_at)
        .bind(i.opened_at)
        .bind(i.published_at)
        .bind(i.resolved_at)
        .bind(&i.cause)
        .bind(&i.prevention)
        .execute(&mut self.tx)
        .await?;
        Ok(())
    }

    /// The incident as of this transaction (to change it).
    pub async fn incident_for_update(&mut self, id: IncidentId) -> Result<Option<IncidentRow>> {
        let row = q("SELECT * FROM incidents WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&mut self.tx)
            .await?;
        row.as_ref().map(incident).transpose()
    }

    /// Writes the incident's changeable fields back.
    pub async fn save_incident(&mut self, i: &IncidentRow) -> Result<()> {
        q(
            "UPDATE incidents SET state = $1, published_at = $2, resolved_at = $3, cause = $4, \
           prevention = $5 WHERE id = $6",
        )
        .bind(&i.state)
        .bind(i.published_at)
        .bind(i.resolved_at)
        .bind(&i.cause)
        .bind(&i.prevention)
        .bind(i.id.to_string())
        .execute(&mut self.tx)
        .await?;
        Ok(())
    }

    pub async fn insert_incident_update(&mut self, u: &IncidentUpdateRow) -> Result<()> {
        q(
            "INSERT INTO incident_updates (id, incident_id, at, state, visibility, message, \
           message_en, actions) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&u.id)
        .bind(u.incident_id.to_string())
        .bind(u.at)
        .bind(&u.state)
        .bind(&u.visibility)
        .bind(&u.message)
        .bind(&u.message_en)
        .bind(&u.actions)
        .execute(&mut self.tx)
        .await?;
        Ok(())
    }

    /// Everyone an incident in `clubs` concerns: their active members, guardians
    /// included; with no clubs, every account still in use.
    pub async fn affected_accounts(&mut self, clubs: &[String]) -> Result<Vec<AccountId>> {
        let rows = match clubs {
            [] => {
                q("SELECT id AS account_id FROM accounts WHERE disabled_at IS NULL")
                    .fetch_all(&mut self.tx)
                    .await?
            }
            _ => {
                let mut b = crate::sql::Builder::new(
                    "SELECT DISTINCT account_id FROM memberships WHERE status = 'active' \
                     AND club_id IN (",
                );
                for (i, c) in clubs.iter().enumerate() {
                    if i > 0 {
                        b.push(", ");
                    }
                    b.push_bind(c.clone());
                }
                b.push(")");
                b.build().fetch_all(&mut self.tx).await?
            }
        };
        rows.iter()
            .map(|r| id_col(r, "account_id", AccountId))
            .collect()
    }
}
