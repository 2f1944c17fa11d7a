//! Incidents: opened, updated and resolved by the operator (pages, API or command line),
//! each step appended to the audit log; published ones shown as a banner to the people
//! they concern and on the public status page, and told to those people by push,
//! e-mail and in-app (guardians included, since they are members of the club).

mod breach;
mod draft;

use std::sync::{Arc, RwLock};

use serde::Serialize;
use tekkan_core::incident::{Category, IncidentText, IncidentTitle, State};
use tekkan_core::{AccountId, ClubId, IncidentId};
use tekkan_storage::{IncidentRow, IncidentUpdateRow, WriteTx, now_ms};

use crate::actor::{Actor, system_event};
use crate::containment::operator_or_cli;
use crate::notify::{Notice, NoticeKind, notify};
use crate::token::new_id;
use crate::{App, AppError, Result};

pub use breach::{AffectedPerson, Breach, BreachInput, ItemCount};
pub use draft::{BreachDraft, PersonNotice, Section, jst};

/// What the operator gives to open an incident.
#[derive(Debug, Clone, Default)]
pub struct NewIncident {
    pub category: String,
    pub title: String,
    pub title_en: String,
    /// The clubs it concerns; none for the whole service.
    pub clubs: Vec<ClubId>,
    /// When it started or was detected (default: now).
    pub detected_at: Option<i64>,
    /// When the operator became aware of it: legal deadlines count from here
    /// (default: now).
    pub aware_at: Option<i64>,
    pub message: String,
    pub message_en: String,
    /// Show it at once on the status page and as a banner, and tell the people.
    pub publish: bool,
}

/// A step in an incident.
#[derive(Debug, Clone, Default)]
pub struct IncidentStep {
    pub state: Option<String>,
    /// For the status page once published (public) and the operator.
    pub message: String,
    pub message_en: String,
    /// What was done: for the operator only.
    pub actions: String,
    /// Keep this step off the status page.
    pub internal: bool,
    /// Publish the incident now (if it is not yet).
    pub publish: bool,
    pub cause: Option<String>,
    pub prevention: Option<String>,
}

/// An incident with its steps, for the operator.
#[derive(Debug, Clone, Serialize)]
pub struct IncidentView {
    pub id: IncidentId,
    pub category: String,
    pub title: String,
    pub title_en: String,
    pub clubs: Vec<String>,
    pub state: String,
    pub detected_at: i64,
    pub aware_at: i64,
    pub opened_at: i64,
    pub published_at: Option<i64>,
    pub resolved_at: Option<i64>,
    pub cause: String,
    pub prevention: String,
    pub updates: Vec<UpdateView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct UpdateView {
    pub at: i64,
    pub state: String,
    pub public: bool,
    pub message: String,
    pub message_en: String,
    /// Empty on the status page.
    pub actions: String,
}

/// What a page shows at its top while a published incident is open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Banner {
    pub id: IncidentId,
    pub title: String,
    pub title_en: String,
    pub state: String,
    pub since: i64,
}

/// This instance's copy of the open published incidents (refreshed every second with
/// the containment switches), so pages need no query to know there is no banner.
#[derive(Default)]
pub(crate) struct OpenIncidents(RwLock<Arc<Vec<IncidentRow>>>);

fn text(field: &'static str, raw: &str) -> Result<String> {
    IncidentText::parse(raw)
        .map(|t| t.as_str().to_owned())
        .map_err(|e| match e {
            tekkan_core::ValidationError::TooLong { max, .. } => {
                tekkan_core::ValidationError::TooLong { field, max }.into()
            }
            _ => tekkan_core::ValidationError::BadCharacters { field }.into(),
        })
}

impl App {
    /// Opens an incident; returns its id.
    pub async fn open_incident(&self, actor: Option<&Actor>, n: NewIncident) -> Result<IncidentId> {
        operator_or_cli(actor)?;
        let category = Category::parse(&n.category)?;
        let title = IncidentTitle::parse(&n.title)?;
        let title_en = match n.title_en.trim() {
            "" => title.as_str().to_owned(),
            t => IncidentTitle::parse(t)?.as_str().to_owned(),
        };
        let message = text("message", &n.message)?;
        let message_en = text("message_en", &n.message_en)?;
        let now = now_ms();
        let (detected_at, aware_at) = (n.detected_at.unwrap_or(now), n.aware_at.unwrap_or(now));
        if detected_at > now + 60_000 || aware_at > now + 60_000 || aware_at < detected_at {
            return Err(tekkan_core::ValidationError::Rule {
                field: "aware_at",
                code: "aware_before_detected",
            }
            .into());
        }
        for c in &n.clubs {
            if self.db().club(*c).await?.is_none() {
                return Err(AppError::NotFound);
            }
        }
        let id = new_id!(IncidentId);
        let row = IncidentRow {
            id,
            category: category.as_str().to_owned(),
            title: title.as_str().to_owned(),
            title_en,
            scope_clubs: n.clubs.iter().map(ToString::to_string).collect(),
            state: State::Investigating.as_str().to_owned(),
            detected_at,
            aware_at,
            opened_at: now,
            published_at: n.publish.then_some(now),
            resolved_at: None,
            cause: String::new(),
            prevention: String::new(),
        };
        let mut tx = self.db().begin().await?;
        tx.insert_incident(&row).await?;
        tx.insert_incident_update(&IncidentUpdateRow {
            id: new_id!(IncidentId).to_string(),
            incident_id: id,
            at: now,
            state: row.state.clone(),
            visibility: "public".into(),
            message,
            message_en,
            actions: String::new(),
        })
        .await?;
        let mut events = vec![step_event(actor, "incident.opened", id, &row)];
        if n.publish {
            self.tell_affected(&mut tx, &row, now).await?;
            events.push(step_event(actor, "incident.published", id, &row));
        }
        tx.commit(events).await?;
        self.refresh_open_incidents().await?;
        Ok(id)
    }

    /// Adds a step: a new state, a message, actions taken, cause and prevention;
    /// publishes it if asked. Resolving needs the cause and the prevention.
    pub async fn update_incident(
        &self,
        actor: Option<&Actor>,
        id: IncidentId,
        step: IncidentStep,
    ) -> Result<()> {
        operator_or_cli(actor)?;
        let message = text("message", &step.message)?;
        let message_en = text("message_en", &step.message_en)?;
        let actions = text("actions", &step.actions)?;
        let cause = step
            .cause
            .as_deref()
            .map(|c| text("cause", c))
            .transpose()?;
        let prevention = step
            .prevention
            .as_deref()
            .map(|p| text("prevention", p))
            .transpose()?;
        let next = step.state.as_deref().map(State::parse).transpose()?;
        let now = now_ms();
        let mut tx = self.db().begin().await?;
        let Some(mut row) = tx.incident_for_update(id).await? else {
            return Err(AppError::NotFound);
        };
        let current = State::parse(&row.state)?;
        if current == State::Resolved {
            return Err(AppError::Conflict("incident_resolved"));
        }
        let next = next.unwrap_or(current);
        if !current.may_become(next) {
            return Err(AppError::Conflict("incident_state_backwards"));
        }
        if let Some(c) = cause {
            row.cause = c;
        }
        if let Some(p) = prevention {
            row.prevention = p;
        }
        if next == State::Resolved && (row.cause.is_empty() || row.prevention.is_empty()) {
            return Err(tekkan_core::ValidationError::Rule {
                field: "cause",
                code: "resolve_needs_cause_and_prevention",
            }
            .into());
        }
        row.state = next.as_str().to_owned();
        if next == State::Resolved {
            row.resolved_at = Some(now);
        }
        let newly_published = step.publish && row.published_at.is_none();
        if newly_published {
            row.published_at = Some(now);
        }
        tx.save_incident(&row).await?;
        tx.insert_incident_update(&IncidentUpdateRow {
            id: new_id!(IncidentId).to_string(),
            incident_id: id,
            at: now,
            state: row.state.clone(),
            visibility: if step.internal { "internal" } else { "public" }.into(),
            message,
            message_en,
            actions,
        })
        .await?;
        let action = match next {
            State::Resolved => "incident.resolved",
            _ if next != current => "incident.state_changed",
            _ => "incident.updated",
        };
        let mut events = vec![step_event(actor, action, id, &row)];
        // People are told when it is published, and when a published one is resolved.
        if newly_published || (row.published_at.is_some() && next == State::Resolved) {
            self.tell_affected(&mut tx, &row, now).await?;
        }
        if newly_published {
            events.push(step_event(actor, "incident.published", id, &row));
        }
        tx.commit(events).await?;
        self.refresh_open_incidents().await?;
        Ok(())
    }

    /// Every incident with all its steps, newest first: the operator's view.
    pub async fn incidents(&self, actor: Option<&Actor>) -> Result<Vec<IncidentView>> {
        operator_or_cli(actor)?;
        self.views(self.db().incidents(false, 500).await?, true)
            .await
    }

    /// One incident with all its steps, for the operator.
    pub async fn incident(&self, actor: Option<&Actor>, id: IncidentId) -> Result<IncidentView> {
        operator_or_cli(actor)?;
        let row = self.db().incident(id).await?.ok_or(AppError::NotFound)?;
        let mut views = self.views(vec![row], true).await?;
        views.pop().ok_or(AppError::NotFound)
    }

    /// Published incidents with their public steps, newest first: the status page.
    pub async fn public_incidents(&self) -> Result<Vec<IncidentView>> {
        self.views(self.db().incidents(true, 100).await?, false)
            .await
    }

    /// The incidents `rows` with their steps (all of them when `internal`, else the
    /// public ones), the steps read in one query.
    async fn views(&self, rows: Vec<IncidentRow>, internal: bool) -> Result<Vec<IncidentView>> {
        let ids: Vec<IncidentId> = rows.iter().map(|r| r.id).collect();
        let mut steps: std::collections::HashMap<IncidentId, Vec<IncidentUpdateRow>> =
            std::collections::HashMap::new();
        for u in self.db().incident_updates(&ids).await? {
            steps.entry(u.incident_id).or_default().push(u);
        }
        Ok(rows
            .into_iter()
            .map(|row| {
                let updates = steps.remove(&row.id).unwrap_or_default();
                view(row, updates, internal)
            })
            .collect())
    }
}

fn view(row: IncidentRow, updates: Vec<IncidentUpdateRow>, internal: bool) -> IncidentView {
    let updates = updates
        .into_iter()
        .filter(|u| internal || u.visibility == "public")
        .map(|u| UpdateView {
            at: u.at,
            state: u.state,
            public: u.visibility == "public",
            message: u.message,
            message_en: u.message_en,
            actions: if internal { u.actions } else { String::new() },
        })
        .collect();
    IncidentView {
        id: row.id,
        category: row.category,
        title: row.title,
        title_en: row.title_en,
        // The status page names no clubs: which clubs were hit is not public.
        clubs: if internal {
            row.scope_clubs
        } else {
            Vec::new()
        },
        state: row.state,
        detected_at: row.detected_at,
        aware_at: row.aware_at,
        opened_at: row.opened_at,
        published_at: row.published_at,
        resolved_at: row.resolved_at,
        cause: if internal || row.resolved_at.is_some() {
            row.cause
        } else {
            String::new()
        },
        prevention: if internal || row.resolved_at.is_some() {
            row.prevention
        } else {
            String::new()
        },
        updates,
    }
}

impl App {
    /// Reads the open published incidents into this instance's copy.
    pub async fn refresh_open_incidents(&self) -> Result<()> {
        let open = self.db().open_published_incidents().await?;
        if let Ok(mut held) = self.inner.incidents.0.write() {
            *held = Arc::new(open);
        }
        Ok(())
    }

    /// The banner for `account` (or for someone not signed in): the newest open
    /// published incident of the whole service or of one of their clubs.
    pub async fn banner(&self, account: Option<AccountId>) -> Result<Option<Banner>> {
        let open = self
            .inner
            .incidents
            .0
            .read()
            .map(|o| Arc::clone(&o))
            .unwrap_or_default();
        if open.is_empty() {
            return Ok(None);
        }
        let scoped = open.iter().any(|i| !i.scope_clubs.is_empty());
        let clubs = match (scoped, account) {
            (true, Some(a)) => self.db().active_club_ids(a).await?,
            _ => Vec::new(),
        };
        Ok(open
            .iter()
            .find(|i| i.scope_clubs.is_empty() || i.scope_clubs.iter().any(|c| clubs.contains(c)))
            .map(|i| Banner {
                id: i.id,
                title: i.title.clone(),
                title_en: i.title_en.clone(),
                state: i.state.clone(),
                since: i.published_at.unwrap_or(i.opened_at),
            }))
    }

    /// Push, e-mail and in-app to everyone the incident concerns.
    async fn tell_affected(&self, tx: &mut WriteTx, row: &IncidentRow, now: i64) -> Result<usize> {
        let people = tx.affected_accounts(&row.scope_clubs).await?;
        let n = Notice {
            kind: NoticeKind::Security,
            club: None,
            params: serde_json::json!({
                "what": "incident",
                "title": row.title,
                "title_en": row.title_en,
                "state": row.state,
                "incident": row.id.to_string(),
                "link": format!("{}/status", self.settings().base_url),
            }),
            url: format!("/status#{}", row.id),
        };
        notify(tx, self.channels(), people, None, &n, now).await
    }
}

fn step_event(
    actor: Option<&Actor>,
    action: &str,
    id: IncidentId,
    row: &IncidentRow,
) -> tekkan_audit::Event {
    let target = format!("incident:{id}");
    let change = serde_json::json!({
        "state": row.state,
        "category": row.category,
        "clubs": row.scope_clubs,
        "aware_at": row.aware_at,
        "published_at": row.published_at,
    });
    match actor {
        Some(a) => a.event(None, action, target, &change),
        None => system_event(action, target, &change),
    }
}
