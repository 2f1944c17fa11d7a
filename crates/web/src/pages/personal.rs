//! My personal fields as a form: each value sealed when saved, and who sees my phone
//! number and address.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use tekkan_app::{Profile, ProfileInput};
use tekkan_core::personal::{PersonalField, Visibility};

use super::{form_error, render, see_other};
use crate::AppState;
use crate::error::{WebError, WebResult};
use crate::extract::{PageCtx, PageForm};
use crate::routes::Routes;
use crate::session::Auth;

pub fn routes() -> Routes {
    Routes::new()
        .get("/settings/profile", show)
        .post("/settings/profile", save)
}

#[derive(Template)]
#[template(path = "personal.html")]
struct PersonalPage {
    p: PageCtx,
    profile: Profile,
    /// What was typed, kept on a refusal.
    typed: BTreeMap<String, String>,
    error: Option<String>,
}

impl PersonalPage {
    fn fields(&self) -> Vec<(&'static str, &'static str, bool)> {
        PersonalField::ALL
            .iter()
            .map(|f| {
                let multiline = matches!(f, PersonalField::Address | PersonalField::HealthNotes);
                (
                    f.as_str(),
                    self.p.t.s(&format!("personal.{}", f.as_str())),
                    multiline,
                )
            })
            .collect()
    }

    fn value(&self, name: &str) -> String {
        if let Some(v) = self.typed.get(name) {
            return v.clone();
        }
        PersonalField::parse(name)
            .and_then(|f| self.profile.fields.get(&f).cloned())
            .unwrap_or_default()
    }

    fn choices(&self) -> Vec<(&'static str, &'static str)> {
        [Visibility::Officers, Visibility::Club, Visibility::Nobody]
            .iter()
            .map(|v| {
                (
                    v.as_str(),
                    self.p.t.s(&format!("visibility.{}", v.as_str())),
                )
            })
            .collect()
    }

    fn chosen(&self, which: &str, v: &str) -> bool {
        let cur = match which {
            "phone" => self.profile.phone_visibility,
            _ => self.profile.address_visibility,
        };
        cur.unwrap_or(Visibility::Officers).as_str() == v
    }
}

async fn show(State(st): State<AppState>, Auth(a): Auth, p: PageCtx) -> WebResult<Response> {
    let profile = st.app.my_profile(&a).await?;
    let page = PersonalPage {
        p,
        profile,
        typed: BTreeMap::new(),
        error: None,
    };
    Ok(render(&page)?.into_response())
}

async fn save(
    State(st): State<AppState>,
    Auth(a): Auth,
    p: PageCtx,
    PageForm(f): PageForm<BTreeMap<String, String>>,
) -> WebResult<Response> {
    let mut input = ProfileInput::default();
    for field in PersonalField::ALL {
        if let Some(v) = f.get(field.as_str()) {
            input.fields.insert(field, v.clone());
        }
    }
    input.phone_visibility = f.get("phone_visibility").and_then(|v| Visibility::parse(v));
    input.address_visibility = f
        .get("address_visibility")
        .and_then(|v| Visibility::parse(v));
    match st.app.update_profile(&a, input).await {
        Ok(_) => Ok(see_other("/settings/profile?msg=saved")),
        Err(e) => {
            let e = WebError::from(e);
            let profile = st.app.my_profile(&a).await?;
            let page = PersonalPage {
                error: form_error(&p, &e),
                p,
                profile,
                typed: f,
            };
            let mut res = render(&page)?.into_response();
            *res.status_mut() = e.info().status;
            Ok(res)
        }
    }
}
