//! The operator's incident pages: the list with a form to open one, and each incident
//! with every step (internal ones included) and a form for the next step.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tekkan_app::incidents::{IncidentStep, IncidentView, NewIncident};
use tekkan_core::IncidentId;
use tekkan_core::incident::{Category, State as IncidentState};

use super::{render, see_other};
use crate::AppState;
use crate::error::{WebError, WebResult};
use crate::extract::{Ids, PageCtx, PageForm};
use crate::routes::Routes;
use crate::session::Auth;

pub fn routes() -> Routes {
    Routes::new()
        .get("/admin/incidents", list)
        .post("/admin/incidents", open)
        .get("/admin/incidents/{incident}", show)
        .post("/admin/incidents/{incident}/updates", step)
}

#[derive(Template)]
#[template(path = "admin_incidents.html")]
struct ListPage {
    p: PageCtx,
    incidents: Vec<IncidentView>,
    categories: Vec<&'static str>,
}

#[derive(Template)]
#[template(path = "admin_incident.html")]
struct ShowPage {
    p: PageCtx,
    i: IncidentView,
    states: Vec<&'static str>,
}

impl ShowPage {
    fn when(&self, ms: &i64) -> String {
        self.p.t.datetime(*ms)
    }
    fn state(&self, s: &str) -> &'static str {
        self.p.t.s(&format!("incident.state.{s}"))
    }
    fn category(&self, c: &str) -> &'static str {
        self.p.t.s(&format!("incident.category.{c}"))
    }
    /// Personal data may be involved: the APPI breach workflow applies.
    fn breach_kind(&self) -> bool {
        !matches!(
            Category::parse(&self.i.category),
            Ok(Category::Outage | Category::Vulnerability)
        )
    }
}

impl ListPage {
    fn when(&self, ms: &i64) -> String {
        self.p.t.datetime(*ms)
    }
    fn state(&self, s: &str) -> &'static str {
        self.p.t.s(&format!("incident.state.{s}"))
    }
    fn category(&self, c: &str) -> &'static str {
        self.p.t.s(&format!("incident.category.{c}"))
    }
}

fn operator(a: &tekkan_app::Actor) -> Result<(), WebError> {
    crate::api::v1::operator(a)
}

async fn list(State(st): State<AppState>, Auth(a): Auth, p: PageCtx) -> WebResult<Response> {
    operator(&a)?;
    let incidents = st.app.incidents(Some(&a)).await?;
    let categories = Category::ALL.iter().map(|c| c.as_str()).collect();
    Ok(render(&ListPage {
        p,
        incidents,
        categories,
    })?
    .into_response())
}

#[derive(Deserialize)]
struct OpenForm {
    category: String,
    title: String,
    #[serde(default)]
    title_en: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    message_en: String,
    publish: Option<String>,
}

async fn open(
    State(st): State<AppState>,
    Auth(a): Auth,
    PageForm(f): PageForm<OpenForm>,
) -> WebResult<Response> {
    operator(&a)?;
    let id = st
        .app
        .open_incident(
            Some(&a),
            NewIncident {
                category: f.category,
                title: f.title,
                title_en: f.title_en,
                message: f.message,
                message_en: f.message_en,
                publish: f.publish.is_some(),
                ..Default::default()
            },
        )
        .await?;
    Ok(see_other(&format!("/admin/incidents/{id}")))
}

async fn show(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids(id): Ids<IncidentId>,
    p: PageCtx,
) -> WebResult<Response> {
    operator(&a)?;
    let i = st.app.incident(Some(&a), id).await?;
    let states = IncidentState::ALL.iter().map(|s| s.as_str()).collect();
    Ok(render(&ShowPage { p, i, states })?.into_response())
}

#[derive(Deserialize)]
struct StepForm {
    #[serde(default)]
    state: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    message_en: String,
    #[serde(default)]
    actions: String,
    internal: Option<String>,
    publish: Option<String>,
    #[serde(default)]
    cause: String,
    #[serde(default)]
    prevention: String,
}

async fn step(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids(id): Ids<IncidentId>,
    PageForm(f): PageForm<StepForm>,
) -> WebResult<Response> {
    operator(&a)?;
    let text = |s: String| Some(s).filter(|s| !s.trim().is_empty());
    st.app
        .update_incident(
            Some(&a),
            id,
            IncidentStep {
                state: text(f.state),
                message: f.message,
                message_en: f.message_en,
                actions: f.actions,
                internal: f.internal.is_some(),
                publish: f.publish.is_some(),
                cause: text(f.cause),
                prevention: text(f.prevention),
            },
        )
        .await?;
    Ok(see_other(&format!("/admin/incidents/{id}?msg=saved")))
}
