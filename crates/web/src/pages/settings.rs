//! Personal settings: the calendar feed URL and notification preferences.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

use super::{render, see_other};
use crate::AppState;
use crate::api::v1::feeds::feed_url;
use crate::error::WebResult;
use crate::extract::{PageCtx, PageForm};
use crate::routes::Routes;
use crate::session::Auth;

pub fn routes() -> Routes {
    Routes::new()
        .get("/settings", show)
        .post("/settings/calendar", create_feed)
        .post("/settings/calendar/revoke", revoke_feed)
        .post("/settings/notifications", prefs)
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    p: PageCtx,
    feed_since: Option<i64>,
    /// Shown once, right after it was made.
    new_feed: Option<(String, String)>,
    prefs: Vec<(&'static str, &'static str, bool)>,
}

async fn page(
    st: &AppState,
    a: &tekkan_app::Actor,
    p: PageCtx,
    new_feed: Option<(String, String)>,
) -> WebResult<Response> {
    let feed_since = st.app.feed_status(a).await?;
    let prefs = st.app.notification_prefs(a).await?;
    Ok(render(&SettingsPage {
        p,
        feed_since,
        new_feed,
        prefs,
    })?
    .into_response())
}

async fn show(State(st): State<AppState>, Auth(a): Auth, p: PageCtx) -> WebResult<Response> {
    page(&st, &a, p, None).await
}

async fn create_feed(State(st): State<AppState>, Auth(a): Auth, p: PageCtx) -> WebResult<Response> {
    let token = st.app.create_feed(&a).await?;
    let url = feed_url(&st, &token);
    let webcal = url
        .replacen("https://", "webcal://", 1)
        .replacen("http://", "webcal://", 1);
    page(&st, &a, p, Some((url, webcal))).await
}

async fn revoke_feed(State(st): State<AppState>, Auth(a): Auth) -> WebResult<Response> {
    st.app.revoke_feed(&a).await?;
    Ok(see_other("/settings?msg=saved"))
}

/// The form lists every (kind, channel) box; an unticked box is absent from the body.
async fn prefs(
    State(st): State<AppState>,
    Auth(a): Auth,
    PageForm(f): PageForm<Vec<(String, String)>>,
) -> WebResult<Response> {
    for (kind, channel, on) in st.app.notification_prefs(&a).await? {
        let want = f.iter().any(|(k, _)| *k == format!("{kind}.{channel}"));
        if want != on {
            st.app
                .set_notification_pref(&a, kind, channel, want)
                .await?;
        }
    }
    Ok(see_other("/settings?msg=saved"))
}
