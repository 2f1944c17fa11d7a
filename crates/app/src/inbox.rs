//! A person's own notifications: the list, marking read, and their preferences.

use tekkan_core::NotificationId;
use tekkan_storage::{Notification, now_ms};

use crate::notify::{CHANNELS, PREF_GROUPS};
use crate::{Actor, App, AppError, Result};

impl App {
    /// The newest notifications and how many are unread.
    pub async fn inbox(&self, actor: &Actor, limit: i64) -> Result<(Vec<Notification>, i64)> {
        let list = self
            .db()
            .notifications(actor.account, limit.clamp(1, 200))
            .await?;
        let unread = self.db().unread_count(actor.account).await?;
        Ok((list, unread))
    }

    /// Marks one notification, or all with `None`, read. Bookkeeping of the reader's own
    /// inbox, still audited like every write.
    pub async fn mark_read(&self, actor: &Actor, id: Option<NotificationId>) -> Result<u64> {
        let mut tx = self.db().begin().await?;
        let n = tx
            .mark_notifications_read(actor.account, id, now_ms())
            .await?;
        if n == 0 {
            // Someone else's id, an unknown one, or already read: nothing changes.
            return Ok(0);
        }
        tx.commit(vec![actor.event(
            None,
            "notification.read",
            format!("account:{}", actor.account),
            &(id, n),
        )])
        .await?;
        Ok(n)
    }

    /// (group, channel, on) for every switchable preference.
    pub async fn notification_prefs(
        &self,
        actor: &Actor,
    ) -> Result<Vec<(&'static str, &'static str, bool)>> {
        let set = self.db().notification_prefs(actor.account).await?;
        let mut out = Vec::new();
        for g in PREF_GROUPS {
            for c in CHANNELS {
                let on = set
                    .iter()
                    .find(|(k, ch, _)| k == g && ch == c)
                    .map(|x| x.2)
                    .unwrap_or(true);
                out.push((g, c, on));
            }
        }
        Ok(out)
    }

    pub async fn set_notification_pref(
        &self,
        actor: &Actor,
        group: &str,
        channel: &str,
        on: bool,
    ) -> Result<()> {
        let group = PREF_GROUPS
            .iter()
            .find(|g| **g == group)
            .ok_or(AppError::Invalid(tekkan_core::ValidationError::Invalid {
                field: "kind",
            }))?;
        let channel = CHANNELS
            .iter()
            .find(|c| **c == channel)
            .ok_or(AppError::Invalid(tekkan_core::ValidationError::Invalid {
                field: "channel",
            }))?;
        let mut tx = self.db().begin().await?;
        tx.set_pref(actor.account, group, channel, on).await?;
        tx.commit(vec![actor.event(
            None,
            "notification.pref",
            format!("account:{}", actor.account),
            &(group, channel, on),
        )])
        .await?;
        Ok(())
    }
}
