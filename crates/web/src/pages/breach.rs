//! A breach incident's APPI pages for the operator: the statement form (window, scope,
//! how the data got out), the computed breach with the Commission's report draft
//! (printable), and the notices to each person (printable, one per page).

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tekkan_app::incidents::{BreachDraft, BreachInput, IncidentView};
use tekkan_core::breach::Exposure;
use tekkan_core::{IncidentId, ValidationError, jiff};

use super::{render, see_other};
use crate::AppState;
use crate::error::{WebError, WebResult};
use crate::extract::{Ids, PageCtx, PageForm};
use crate::routes::Routes;
use crate::session::Auth;

/// Legal deadlines and the Commission's forms are on Japan's clock.
const JAPAN: &str = "Asia/Tokyo";

pub fn routes() -> Routes {
    Routes::new()
        .get("/admin/incidents/{incident}/breach", show)
        .post("/admin/incidents/{incident}/breach", assess)
        .get("/admin/incidents/{incident}/breach/notices", notices)
}

#[derive(Template)]
#[template(path = "admin_breach.html")]
struct BreachPage {
    p: PageCtx,
    i: IncidentView,
    d: Option<BreachDraft>,
    exposures: Vec<&'static str>,
    from: String,
    to: String,
}

impl BreachPage {
    fn when(&self, ms: &i64) -> String {
        self.p.t.datetime(*ms)
    }
    fn exposure(&self, e: &str) -> &'static str {
        self.p.t.s(&format!("breach.exposure.{e}"))
    }
    fn chosen(&self, e: &str) -> bool {
        self.d
            .as_ref()
            .is_some_and(|d| d.breach.exposure.as_str() == e)
    }
}

#[derive(Template)]
#[template(path = "admin_breach_notices.html")]
struct NoticesPage {
    p: PageCtx,
    d: BreachDraft,
}

fn operator(a: &tekkan_app::Actor) -> Result<(), WebError> {
    crate::api::v1::operator(a)
}

/// A `datetime-local` value on Japan's clock (whole minutes), to milliseconds: its
/// first millisecond.
fn parse_time(field: &'static str, s: &str) -> Result<i64, WebError> {
    let dt = tekkan_core::schedule::parse_local(field, s).map_err(tekkan_app::AppError::from)?;
    jiff::tz::TimeZone::get(JAPAN)
        .ok()
        .and_then(|tz| dt.to_zoned(tz).ok())
        .map(|z| z.timestamp().as_millisecond())
        .ok_or_else(|| tekkan_app::AppError::from(ValidationError::Invalid { field }).into())
}

/// The window's end from the form: the last millisecond of its minute, and never later
/// than now. The page shows a stored window in whole minutes (the start rounded down,
/// the end too), so a form sent back unchanged covers at least what it showed: the
/// window never shrinks, and a window inside the current minute stays valid.
fn parse_end(s: &str, now: i64) -> Result<i64, WebError> {
    Ok((parse_time("to", s)? + 59_999).min(now))
}

async fn show(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids(id): Ids<IncidentId>,
    p: PageCtx,
) -> WebResult<Response> {
    operator(&a)?;
    let i = st.app.incident(Some(&a), id).await?;
    let d = match st.app.breach_draft(Some(&a), id).await {
        Ok(d) => Some(d),
        Err(tekkan_app::AppError::NotFound) => None,
        Err(e) => return Err(e.into()),
    };
    let (from, to) = match &d {
        Some(d) => (d.breach.from_ms, d.breach.to_ms),
        None => (i.detected_at, tekkan_storage::now_ms()),
    };
    let (from, to) = (p.t.input_value(from, JAPAN), p.t.input_value(to, JAPAN));
    Ok(render(&BreachPage {
        p,
        exposures: Exposure::ALL.iter().map(|e| e.as_str()).collect(),
        from,
        to,
        i,
        d,
    })?
    .into_response())
}

#[derive(Deserialize)]
struct AssessForm {
    from: String,
    to: String,
    exposure: String,
    /// One account (e-mail address or id) per line.
    #[serde(default)]
    actors: String,
    /// One prefix per line.
    #[serde(default)]
    address_prefixes: String,
    key_compromised: Option<String>,
    malicious: Option<String>,
    financial_harm: Option<String>,
    #[serde(default)]
    secondary_harm: String,
    #[serde(default)]
    response: String,
    #[serde(default)]
    publication: String,
    #[serde(default)]
    other: String,
}

fn lines(s: &str) -> Vec<String> {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

async fn assess(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids(id): Ids<IncidentId>,
    PageForm(f): PageForm<AssessForm>,
) -> WebResult<Response> {
    operator(&a)?;
    let input = BreachInput {
        from_ms: parse_time("from", &f.from)?,
        to_ms: parse_end(&f.to, tekkan_storage::now_ms())?,
        exposure: f.exposure,
        actors: lines(&f.actors),
        address_prefixes: lines(&f.address_prefixes),
        key_compromised: f.key_compromised.is_some(),
        malicious: f.malicious.is_some(),
        financial_harm: f.financial_harm.is_some(),
        secondary_harm: f.secondary_harm,
        response: f.response,
        publication: f.publication,
        other: f.other,
    };
    st.app.assess_breach(Some(&a), id, input).await?;
    Ok(see_other(&format!(
        "/admin/incidents/{id}/breach?msg=saved"
    )))
}

async fn notices(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids(id): Ids<IncidentId>,
    p: PageCtx,
) -> WebResult<Response> {
    operator(&a)?;
    let d = st.app.breach_draft(Some(&a), id).await?;
    Ok(render(&NoticesPage { p, d })?.into_response())
}
