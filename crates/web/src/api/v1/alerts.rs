//! The operator's alert channels: whether any reaches them, and a test sent on every
//! channel (webhooks, the heartbeat, push, e-mail, in-app), audited.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use tekkan_app::detect::ChannelResult;

use crate::AppState;
use crate::error::WebResult;
use crate::routes::Routes;
use crate::session::Auth;

pub fn routes() -> Routes {
    Routes::new()
        .get("/api/v1/admin/alerts", status)
        .post("/api/v1/admin/alerts/test", test)
}

#[derive(Serialize)]
struct Status {
    /// Some channel outside the app reaches the operator, and the last alert did.
    ok: bool,
    webhooks: usize,
    heartbeat: bool,
}

async fn status(State(st): State<AppState>, Auth(a): Auth) -> WebResult<Json<Status>> {
    super::operator(&a)?;
    let s = &st.app.settings().alerts;
    Ok(Json(Status {
        ok: st.app.alerting_ok().await?,
        webhooks: s.webhooks.len(),
        heartbeat: s.heartbeat_url.is_some(),
    }))
}

async fn test(State(st): State<AppState>, Auth(a): Auth) -> WebResult<Json<Vec<ChannelResult>>> {
    super::operator(&a)?;
    Ok(Json(st.app.test_alert_channels(Some(&a)).await?))
}
