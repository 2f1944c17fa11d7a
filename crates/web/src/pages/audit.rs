//! The audit trail as pages: a club's search (owners and officers), with the export
//! that verifies offline, and each person's "who viewed my data".

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use tekkan_app::{AuditFilter, AuditLine};
use tekkan_core::ClubId;
use tekkan_core::jiff::{civil::Date, tz::TimeZone};
use tekkan_storage::ViewRow;

use super::render;
use crate::AppState;
use crate::error::{WebError, WebResult};
use crate::extract::PageCtx;
use crate::routes::Routes;
use crate::session::Auth;

pub fn routes() -> Routes {
    Routes::new()
        .get("/settings/viewers", viewers)
        .get("/clubs/{club}/audit", club_audit)
}

fn when(ms: i64, zone: &str) -> String {
    tekkan_core::jiff::Timestamp::from_millisecond(ms)
        .ok()
        .and_then(|t| {
            let tz = TimeZone::get(zone).ok()?;
            Some(t.to_zoned(tz).strftime("%Y-%m-%d %H:%M:%S").to_string())
        })
        .unwrap_or_default()
}

#[derive(Template)]
#[template(path = "viewers.html")]
struct ViewersPage {
    p: PageCtx,
    rows: Vec<ViewRow>,
    zone: String,
}

impl ViewersPage {
    fn when(&self, ms: &i64) -> String {
        when(*ms, &self.zone)
    }
    fn what(&self, action: &str) -> &'static str {
        match action {
            "personal.read" => "viewers.personal",
            "roster.read" => "viewers.roster",
            _ => "viewers.attendance",
        }
    }
}

async fn viewers(State(st): State<AppState>, Auth(a): Auth, p: PageCtx) -> WebResult<Response> {
    let rows = st.app.who_viewed_me(&a).await?;
    let zone = tekkan_core::schedule::DEFAULT_ZONE.to_owned();
    Ok(render(&ViewersPage { p, rows, zone })?.into_response())
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    p: PageCtx,
    club: ClubId,
    club_name: String,
    zone: String,
    members: Vec<(String, String)>,
    lines: Vec<AuditLine>,
    actor: String,
    action: String,
    from: String,
    to: String,
}

impl AuditPage {
    fn when(&self, ms: &i64) -> String {
        when(*ms, &self.zone)
    }
}

/// Midnight of `day` in `zone`, in milliseconds; `None` for anything not a date.
fn day_start(day: &str, zone: &str) -> Option<i64> {
    let d: Date = day.parse().ok()?;
    let tz = TimeZone::get(zone).ok()?;
    let z = d.to_zoned(tz).ok()?;
    Some(z.timestamp().as_millisecond())
}

async fn club_audit(
    State(st): State<AppState>,
    Auth(a): Auth,
    Path(club): Path<ClubId>,
    RawQuery(q): RawQuery,
    p: PageCtx,
) -> WebResult<Response> {
    let ov = st.app.club_overview(&a, club).await?;
    let zone = ov.club.timezone.clone();
    let mut f = AuditFilter::default();
    let (mut actor, mut action, mut from, mut to) = Default::default();
    for (k, v) in form_urlencoded::parse(q.as_deref().unwrap_or_default().as_bytes()) {
        let v = v.trim().to_owned();
        if v.is_empty() {
            continue;
        }
        if v.chars().count() > 128 {
            return Err(WebError::BadRequest("a search term is too long"));
        }
        let bad_date = WebError::BadRequest("dates are written YYYY-MM-DD");
        match &*k {
            "actor" => actor = v,
            "action" => action = v,
            "from" => {
                f.from_ms = Some(day_start(&v, &zone).ok_or(bad_date)?);
                from = v;
            }
            "to" => {
                // Through the end of that day.
                let end = day_start(&v, &zone).ok_or(bad_date)? + 24 * 3600 * 1000;
                f.to_ms = Some(end);
                to = v;
            }
            _ => {}
        }
    }
    f.actor = (!actor.is_empty()).then(|| actor.clone());
    f.action = (!action.is_empty()).then(|| action.clone());
    let lines = st.app.search_club_audit(&a, club, f).await?;
    let members = st
        .app
        .roster(&a, club)
        .await?
        .entries
        .into_iter()
        .map(|e| (e.membership_id.to_string(), e.display_name))
        .collect();
    Ok(render(&AuditPage {
        p,
        club,
        club_name: ov.club.name,
        zone,
        members,
        lines,
        actor,
        action,
        from,
        to,
    })?
    .into_response())
}
