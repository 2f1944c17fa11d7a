//! The public status page: published incidents and their public updates, as HTML,
//! Atom and JSON. It needs no sign-in and writes nothing, so it keeps working in
//! read-only mode; [`status_files`] renders the same pages as static files, to be
//! hosted elsewhere while the server is down.

use askama::Template;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tekkan_app::App;
use tekkan_app::incidents::IncidentView;

use super::render;
use crate::AppState;
use crate::error::{WebError, WebResult};
use crate::i18n::{Lang, Tr};
use crate::routes::Routes;
use crate::session::lang_of;

pub fn routes() -> Routes {
    Routes::new()
        .get("/status", html)
        .get("/status.atom", atom)
        .get("/status.json", json)
}

/// One incident as the page shows it.
struct Shown {
    id: String,
    title: String,
    category: &'static str,
    state: &'static str,
    published: String,
    resolved: Option<String>,
    cause: String,
    prevention: String,
    /// (when, state, message)
    updates: Vec<(String, &'static str, String)>,
}

#[derive(Template)]
#[template(path = "status.html")]
struct StatusPage {
    t: Tr,
    lang: &'static str,
    css: &'static str,
    /// Where the feeds are: `/` served, `` beside the exported files.
    prefix: &'static str,
    generated: String,
    open: Vec<Shown>,
    past: Vec<Shown>,
}

struct Entry {
    id: String,
    title: String,
    state: &'static str,
    updated: String,
    published: String,
    text: String,
}

#[derive(Template)]
#[template(path = "status_atom.xml")]
struct StatusFeed {
    t: Tr,
    lang: &'static str,
    base: String,
    updated: String,
    entries: Vec<Entry>,
}

#[derive(Serialize)]
struct StatusJson {
    generated_at: i64,
    /// How many published incidents are being handled now.
    open: usize,
    incidents: Vec<IncidentView>,
}

fn rfc3339(ms: i64) -> String {
    tekkan_core::jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

fn shown(t: Tr, lang: Lang, i: &IncidentView) -> Shown {
    let en = lang == Lang::En;
    Shown {
        id: i.id.to_string(),
        title: if en {
            i.title_en.clone()
        } else {
            i.title.clone()
        },
        category: t.s(&format!("incident.category.{}", i.category)),
        state: t.s(&format!("incident.state.{}", i.state)),
        published: t.datetime(i.published_at.unwrap_or(i.opened_at)),
        resolved: i.resolved_at.map(|r| t.datetime(r)),
        cause: i.cause.clone(),
        prevention: i.prevention.clone(),
        updates: i
            .updates
            .iter()
            .rev()
            .map(|u| {
                let m = match (en, u.message_en.is_empty()) {
                    (true, false) => u.message_en.clone(),
                    _ => u.message.clone(),
                };
                (
                    t.datetime(u.at),
                    t.s(&format!("incident.state.{}", u.state)),
                    m,
                )
            })
            .collect(),
    }
}

fn page(lang: Lang, served: bool, now: i64, incidents: &[IncidentView]) -> StatusPage {
    let t = Tr(lang);
    let (open, past): (Vec<_>, Vec<_>) = incidents.iter().partition(|i| i.resolved_at.is_none());
    StatusPage {
        t,
        lang: lang.code(),
        css: if served { "/static/app.css" } else { "app.css" },
        prefix: if served { "/" } else { "" },
        generated: t.datetime(now),
        open: open.into_iter().map(|i| shown(t, lang, i)).collect(),
        past: past.into_iter().map(|i| shown(t, lang, i)).collect(),
    }
}

fn feed(lang: Lang, base: &str, now: i64, incidents: &[IncidentView]) -> StatusFeed {
    let t = Tr(lang);
    let entries: Vec<Entry> = incidents
        .iter()
        .map(|i| {
            let s = shown(t, lang, i);
            let last = i.updates.iter().map(|u| u.at).max().unwrap_or(i.opened_at);
            Entry {
                text: s
                    .updates
                    .iter()
                    .map(|(when, state, m)| format!("{when} {state}: {m}"))
                    .collect::<Vec<_>>()
                    .join("\n"),
                id: s.id,
                title: s.title,
                state: s.state,
                updated: rfc3339(last),
                published: rfc3339(i.published_at.unwrap_or(i.opened_at)),
            }
        })
        .collect();
    let updated = incidents
        .iter()
        .flat_map(|i| i.updates.iter().map(|u| u.at))
        .max()
        .unwrap_or(now);
    StatusFeed {
        t,
        lang: lang.code(),
        base: base.trim_end_matches('/').to_owned(),
        updated: rfc3339(updated),
        entries,
    }
}

fn status_json(now: i64, incidents: Vec<IncidentView>) -> StatusJson {
    StatusJson {
        generated_at: now,
        open: incidents.iter().filter(|i| i.resolved_at.is_none()).count(),
        incidents,
    }
}

async fn html(State(st): State<AppState>, headers: HeaderMap) -> WebResult<Response> {
    let incidents = st.app.public_incidents().await?;
    let now = tekkan_storage::now_ms();
    Ok(render(&page(lang_of(&headers), true, now, &incidents))?.into_response())
}

async fn atom(State(st): State<AppState>, headers: HeaderMap) -> WebResult<Response> {
    let incidents = st.app.public_incidents().await?;
    let now = tekkan_storage::now_ms();
    let body = feed(lang_of(&headers), &st.config.base_url, now, &incidents)
        .render()
        .map_err(|e| WebError::App(tekkan_app::AppError::Internal(format!("template: {e}"))))?;
    Ok((
        [(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")],
        body,
    )
        .into_response())
}

async fn json(State(st): State<AppState>) -> WebResult<Json<StatusJson>> {
    let incidents = st.app.public_incidents().await?;
    Ok(Json(status_json(tekkan_storage::now_ms(), incidents)))
}

/// The status page as static files (index.html in Japanese, en.html, status.atom,
/// status.json and app.css), to host elsewhere when the server is down.
pub async fn status_files(app: &App, base_url: &str) -> WebResult<Vec<(&'static str, Vec<u8>)>> {
    let incidents = app.public_incidents().await?;
    let now = tekkan_storage::now_ms();
    let fail =
        |e: askama::Error| WebError::App(tekkan_app::AppError::Internal(format!("template: {e}")));
    let ja = page(Lang::Ja, false, now, &incidents)
        .render()
        .map_err(fail)?;
    let en = page(Lang::En, false, now, &incidents)
        .render()
        .map_err(fail)?;
    let atom = feed(Lang::Ja, base_url, now, &incidents)
        .render()
        .map_err(fail)?;
    let json = serde_json::to_vec_pretty(&status_json(now, incidents))
        .map_err(|e| WebError::App(tekkan_app::AppError::Internal(e.to_string())))?;
    Ok(vec![
        ("index.html", ja.into_bytes()),
        ("en.html", en.into_bytes()),
        ("status.atom", atom.into_bytes()),
        ("status.json", json),
        ("app.css", include_bytes!("../../static/app.css").to_vec()),
    ])
}
