//! Telling people: an in-app notification per person, plus one outbox row per channel
//! they want it on, all in the transaction of the change that caused it.

use std::collections::BTreeSet;

use serde::Serialize;
use tekkan_core::{AccountId, ClubId, NotificationId};
use tekkan_storage::{Notification, WriteTx};

use crate::Result;
use crate::token::new_id;

/// What a notification is about. Each belongs to one preference group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    EventNew,
    EventChanged,
    EventCancelled,
    WaitlistPromoted,
    Reminder,
    Announcement,
    /// A change to how the account is protected (password, e-mail, factors, sessions).
    /// Always sent on every channel: a person cannot switch these off.
    Security,
}

impl NoticeKind {
    pub const ALL: [NoticeKind; 7] = [
        Self::EventNew,
        Self::EventChanged,
        Self::EventCancelled,
        Self::WaitlistPromoted,
        Self::Reminder,
        Self::Announcement,
        Self::Security,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::EventNew => "event_new",
            Self::EventChanged => "event_changed",
            Self::EventCancelled => "event_cancelled",
            Self::WaitlistPromoted => "waitlist_promoted",
            Self::Reminder => "reminder",
            Self::Announcement => "announcement",
            Self::Security => "security",
        }
    }

    /// The preference a person sets for this kind.
    pub fn group(self) -> &'static str {
        match self {
            Self::Reminder => "reminders",
            Self::Announcement => "announcements",
            Self::Security => "security",
            _ => "changes",
        }
    }
}

/// Preference groups and channels a person can switch (in-app is always on).
pub const PREF_GROUPS: [&str; 3] = ["reminders", "announcements", "changes"];
pub const CHANNELS: [&str; 2] = ["email", "push"];

/// Which outside channels this server can deliver on.
#[derive(Clone, Copy, Debug, Default)]
pub struct Channels {
    pub email: bool,
    pub push: bool,
}

/// A notification to send: kind, club, the values its message needs, where it leads.
#[derive(Clone, Debug)]
pub struct Notice {
    pub kind: NoticeKind,
    pub club: Option<ClubId>,
    pub params: serde_json::Value,
    pub url: String,
}

/// Notifies each of `accounts` once, except `skip` (whoever caused it). Returns how many
/// people were notified.
pub(crate) async fn notify(
    tx: &mut WriteTx,
    channels: Channels,
    accounts: impl IntoIterator<Item = AccountId>,
    skip: Option<AccountId>,
    n: &Notice,
    now: i64,
) -> Result<usize> {
    let people: BTreeSet<AccountId> = accounts.into_iter().filter(|a| Some(*a) != skip).collect();
    let params = n.params.to_string();
    for account in &people {
        let id = new_id!(NotificationId);
        tx.insert_notification(&Notification {
            id,
            account_id: *account,
            club_id: n.club,
            kind: n.kind.as_str().to_owned(),
            params: params.clone(),
            url: n.url.clone(),
            created_at: now,
            read_at: None,
        })
        .await?;
        if !channels.email && !channels.push {
            continue;
        }
        let (email, subs) = tx.delivery_targets(*account).await?;
        let always = n.kind == NoticeKind::Security;
        if channels.email && (always || tx.wants(*account, n.kind.group(), "email").await?) {
            tx.insert_delivery(new_id!(NotificationId), id, "email", &email, now)
                .await?;
        }
        if channels.push && (always || tx.wants(*account, n.kind.group(), "push").await?) {
            for s in subs {
                tx.insert_delivery(new_id!(NotificationId), id, "push", &s.to_string(), now)
                    .await?;
            }
        }
    }
    Ok(people.len())
}
