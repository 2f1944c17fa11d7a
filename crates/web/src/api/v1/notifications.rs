//! The caller's notifications and notification preferences.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tekkan_core::{ClubId, NotificationId, PushSubscriptionId};
use tekkan_storage::Notification;

use super::events::rfc3339;
use crate::AppState;
use crate::error::WebResult;
use crate::extract::{ApiJson, Ids, Params};
use crate::routes::Routes;
use crate::session::Auth;

pub fn routes() -> Routes {
    Routes::new()
        .get("/api/v1/me/notifications", list)
        .post("/api/v1/me/notifications/read", read)
        .get("/api/v1/me/notification-prefs", prefs)
        .put("/api/v1/me/notification-prefs", set_pref)
        .get("/api/v1/push/vapid-public-key", vapid_key)
        .post("/api/v1/me/push-subscriptions", subscribe)
        .delete("/api/v1/me/push-subscriptions/{subscription}", unsubscribe)
}

#[derive(Serialize)]
struct VapidKey {
    /// For `pushManager.subscribe({applicationServerKey})`; absent when push is off.
    public_key: Option<String>,
}

async fn vapid_key(State(st): State<AppState>) -> Json<VapidKey> {
    Json(VapidKey {
        public_key: st.app.vapid_public_key(),
    })
}

/// A browser's `PushSubscription.toJSON()`.
#[derive(Deserialize)]
struct SubscriptionReq {
    endpoint: String,
    keys: SubscriptionKeys,
}

#[derive(Deserialize)]
struct SubscriptionKeys {
    p256dh: String,
    auth: String,
}

#[derive(Serialize)]
struct Subscribed {
    id: PushSubscriptionId,
}

async fn subscribe(
    State(st): State<AppState>,
    Auth(a): Auth,
    ApiJson(r): ApiJson<SubscriptionReq>,
) -> WebResult<(StatusCode, Json<Subscribed>)> {
    let id = st
        .app
        .subscribe_push(&a, &r.endpoint, &r.keys.p256dh, &r.keys.auth)
        .await?;
    Ok((StatusCode::CREATED, Json(Subscribed { id })))
}

async fn unsubscribe(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids(id): Ids<PushSubscriptionId>,
) -> WebResult<StatusCode> {
    st.app.unsubscribe_push(&a, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize)]
pub struct NotificationRes {
    id: NotificationId,
    kind: String,
    club_id: Option<ClubId>,
    params: serde_json::Value,
    url: String,
    created_at: String,
    read: bool,
}

impl From<Notification> for NotificationRes {
    fn from(n: Notification) -> Self {
        Self {
            id: n.id,
            kind: n.kind,
            club_id: n.club_id,
            params: serde_json::from_str(&n.params).unwrap_or_default(),
            url: n.url,
            created_at: rfc3339(n.created_at),
            read: n.read_at.is_some(),
        }
    }
}

#[derive(Serialize)]
struct Inbox {
    unread: i64,
    notifications: Vec<NotificationRes>,
}

#[derive(Deserialize)]
struct LimitQ {
    limit: Option<i64>,
}

async fn list(
    State(st): State<AppState>,
    Auth(a): Auth,
    Params(q): Params<LimitQ>,
) -> WebResult<Json<Inbox>> {
    let (list, unread) = st.app.inbox(&a, q.limit.unwrap_or(50)).await?;
    Ok(Json(Inbox {
        unread,
        notifications: list.into_iter().map(Into::into).collect(),
    }))
}

#[derive(Deserialize)]
struct ReadReq {
    /// One notification; all of them when absent.
    #[serde(default)]
    id: Option<NotificationId>,
}

#[derive(Serialize)]
struct Marked {
    marked: u64,
}

async fn read(
    State(st): State<AppState>,
    Auth(a): Auth,
    ApiJson(r): ApiJson<ReadReq>,
) -> WebResult<Json<Marked>> {
    let marked = st.app.mark_read(&a, r.id).await?;
    Ok(Json(Marked { marked }))
}

#[derive(Serialize, Deserialize)]
struct Pref {
    /// `reminders`, `announcements` or `changes`.
    kind: String,
    /// `email` or `push`.
    channel: String,
    enabled: bool,
}

async fn prefs(State(st): State<AppState>, Auth(a): Auth) -> WebResult<Json<Vec<Pref>>> {
    let v = st.app.notification_prefs(&a).await?;
    Ok(Json(
        v.into_iter()
            .map(|(k, c, on)| Pref {
                kind: k.to_owned(),
                channel: c.to_owned(),
                enabled: on,
            })
            .collect(),
    ))
}

async fn set_pref(
    State(st): State<AppState>,
    Auth(a): Auth,
    ApiJson(p): ApiJson<Pref>,
) -> WebResult<StatusCode> {
    st.app
        .set_notification_pref(&a, &p.kind, &p.channel, p.enabled)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
