//! In-app notifications, preferences per kind and channel, Web Push subscriptions and
//! the delivery outbox.

use crate::sql::{Row, q, scalar};
use tekkan_core::{AccountId, ClubId, NotificationId, PushSubscriptionId};

use crate::records::{id_col, opt_id_col};
use crate::{Db, Result, WriteTx};

#[derive(Debug, Clone)]
pub struct Notification {
    pub id: NotificationId,
    pub account_id: AccountId,
    pub club_id: Option<ClubId>,
    /// What happened (`reminder`, `event_changed`, ...), rendered in the reader's language.
    pub kind: String,
    /// JSON object of the values the message needs.
    pub params: String,
    /// Where the notification leads, a local path.
    pub url: String,
    pub created_at: i64,
    pub read_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct PushSubscription {
    pub id: PushSubscriptionId,
    pub account_id: AccountId,
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
    pub created_at: i64,
}

/// One pending send: a notification over one channel to one target.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: NotificationId,
    pub notification: Notification,
    pub channel: String,
    /// An e-mail address or a push subscription id.
    pub target: String,
    pub attempts: i64,
    /// The recipient's language.
    pub lang: String,
}

fn notification_row(r: &Row) -> Result<Notification> {
    Ok(Notification {
        id: id_col(r, "id", NotificationId)?,
        account_id: id_col(r, "account_id", AccountId)?,
        club_id: opt_id_col(r, "club_id", ClubId)?,
        kind: r.try_get("kind")?,
        params: r.try_get("params")?,
        url: r.try_get("url")?,
        created_at: r.try_get("created_at")?,
        read_at: r.try_get("read_at")?,
    })
}

fn push_row(r: &Row) -> Result<PushSubscription> {
    Ok(PushSubscription {
        id: id_col(r, "id", PushSubscriptionId)?,
        account_id: id_col(r, "account_id", AccountId)?,
        endpoint: r.try_get("endpoint")?,
        p256dh: r.try_get("p256dh")?,
        auth: r.try_get("auth")?,
        created_at: r.try_get("created_at")?,
    })
}

impl Db {
    /// How many operators could be reached: (operators in use, push subscriptions of
    /// theirs), for the "no alert channel" warning.
    pub async fn operator_reach(&self) -> Result<(i64, i64)> {
        let ops: i64 = crate::sql::scalar(
            "SELECT COUNT(*) FROM accounts WHERE is_operator AND disabled_at IS NULL",
        )
        .fetch_one(&self.reader)
        .await?;
        let subs: i64 = crate::sql::scalar(
            "SELECT COUNT(*) FROM push_subscriptions WHERE account_id IN \
             (SELECT id FROM accounts WHERE is_operator AND disabled_at IS NULL)",
        )
        .fetch_one(&self.reader)
        .await?;
        Ok((ops, subs))
    }

    /// The newest notifications of an account.
    pub async fn notifications(&self, account: AccountId, limit: i64) -> Result<Vec<Notification>> {
        let rows = q(
            "SELECT * FROM notifications WHERE account_id = $1 ORDER BY created_at DESC, id LIMIT 200",
        )
        .bind(account.to_string())
        .fetch_all(&self.reader)
        .await?;
        // A literal LIMIT: a bound one makes SQLite re-plan the statement on every run.
        rows.iter()
            .take(limit.clamp(0, 200) as usize)
            .map(notification_row)
            .collect()
    }

    pub async fn unread_count(&self, account: AccountId) -> Result<i64> {
        let n =
            scalar("SELECT COUNT(*) FROM notifications WHERE account_id = $1 AND read_at IS NULL")
                .bind(account.to_string())
                .fetch_one(&self.reader)
                .await?;
        Ok(n)
    }

    /// (kind, channel, enabled) rows the account has set.
    pub async fn notification_prefs(
        &self,
        account: AccountId,
    ) -> Result<Vec<(String, String, bool)>> {
        let rows = q("SELECT kind, channel, enabled FROM notification_prefs WHERE account_id = $1")
            .bind(account.to_string())
            .fetch_all(&self.reader)
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("kind")?,
                    r.try_get("channel")?,
                    r.try_get("enabled")?,
                ))
            })
            .collect()
    }

    pub async fn push_subscriptions(&self, account: AccountId) -> Result<Vec<PushSubscription>> {
        let rows = q("SELECT * FROM push_subscriptions WHERE account_id = $1 ORDER BY created_at")
            .bind(account.to_string())
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(push_row).collect()
    }

    pub async fn push_subscription(
        &self,
        id: PushSubscriptionId,
    ) -> Result<Option<PushSubscription>> {
        let row = q("SELECT * FROM push_subscriptions WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(push_row).transpose()
    }

    /// Claims up to `limit` deliveries due at `now`, oldest first, for this sender
    /// alone: each is leased until `lease_until` (its next attempt moves there), so
    /// another instance's sender skips it, and takes it up only if this one dies before
    /// recording the outcome. PostgreSQL skips rows another claim has locked; SQLite's
    /// single writer makes the claim one step anyway.
    pub async fn claim_deliveries(
        &self,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> Result<Vec<Delivery>> {
        let claim = if self.writer.is_postgres() {
            q(
                "UPDATE deliveries SET next_attempt_at = $1 WHERE id IN (SELECT id FROM deliveries \
               WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $2 \
               ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING id",
            )
        } else {
            q(
                "UPDATE deliveries SET next_attempt_at = $1 WHERE id IN (SELECT id FROM deliveries \
               WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $2 \
               ORDER BY next_attempt_at LIMIT $3) RETURNING id",
            )
        };
        let ids: Vec<String> = claim
            .bind(lease_until)
            .bind(now)
            .bind(limit)
            .fetch_all(&self.writer)
            .await?
            .iter()
            .map(|r| r.try_get::<String, _>(0))
            .collect::<std::result::Result<_, _>>()?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut b = crate::sql::Builder::new(
            "SELECT n.*, d.id AS d_id, d.channel, d.target, d.attempts, a.lang FROM deliveries d \
             JOIN notifications n ON n.id = d.notification_id \
             JOIN accounts a ON a.id = n.account_id WHERE d.id IN ",
        );
        b.push("(");
        let mut list = b.separated(", ");
        for id in ids {
            list.push_bind(id);
        }
        b.push(") ORDER BY d.id");
        // The writer: what was just claimed is read back on the connection that wrote
        // it (SQLite's readers may lag a commit behind).
        let rows = b.build().fetch_all(&self.writer).await?;
        rows.iter()
            .map(|r| {
                Ok(Delivery {
                    id: id_col(r, "d_id", NotificationId)?,
                    notification: notification_row(r)?,
                    channel: r.try_get("channel")?,
                    target: r.try_get("target")?,
                    attempts: r.try_get("attempts")?,
                    lang: r.try_get("lang")?,
                })
            })
            .collect()
    }

    /// Records the outcome of one attempt: sent, retry at `retry_at`, or given up.
    pub async fn record_delivery(
        &self,
        id: NotificationId,
        now: i64,
        outcome: Result<(), (String, Option<i64>)>,
    ) -> Result<()> {
        let (sent, failed, next, err) = match outcome {
            Ok(()) => (Some(now), None, now, None),
            Err((e, Some(retry_at))) => (None, None, retry_at, Some(e)),
            Err((e, None)) => (None, Some(now), now, Some(e)),
        };
        q(
            "UPDATE deliveries SET attempts = attempts + 1, sent_at = $1, failed_at = $2, \
             next_attempt_at = $3, last_error = $4 WHERE id = $5",
        )
        .bind(sent)
        .bind(failed)
        .bind(next)
        .bind(err)
        .bind(id.to_string())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// When the next pending delivery is due, if any.
    pub async fn next_delivery_at(&self) -> Result<Option<i64>> {
        let n = scalar(
            "SELECT MIN(next_attempt_at) FROM deliveries WHERE sent_at IS NULL AND failed_at IS NULL",
        )
        .fetch_one(&self.reader)
        .await?;
        Ok(n)
    }
}

impl WriteTx {
    pub async fn insert_notification(&mut self, n: &Notification) -> Result<()> {
        q(
            "INSERT INTO notifications (id, account_id, club_id, kind, params, url, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(n.id.to_string())
        .bind(n.account_id.to_string())
        .bind(n.club_id.map(|c| c.to_string()))
        .bind(&n.kind)
        .bind(&n.params)
        .bind(&n.url)
        .bind(n.created_at)
        .execute(&mut self.tx)
        .await?;
        Ok(())
    }

    /// Marks one (or, with `None`, every) notification of the account read.
    pub async fn mark_notifications_read(
        &mut self,
        account: AccountId,
        id: Option<NotificationId>,
        now: i64,
    ) -> Result<u64> {
        let r = q(
            "UPDATE notifications SET read_at = $1 WHERE account_id = $2 AND read_at IS NULL \
             AND ($3 IS NULL OR id = $4)",
        )
        .bind(now)
        .bind(account.to_string())
        .bind(id.map(|i| i.to_string()))
        .bind(id.map(|i| i.to_string()))
        .execute(&mut self.tx)
        .await?;
        Ok(r.rows_affected())
    }

    /// Whether `account` wants `kind` over `channel`; unset means yes.
    pub async fn wants(&mut self, account: AccountId, kind: &str, channel: &str) -> Result<bool> {
        let v: Option<bool> = scalar(
            "SELECT enabled FROM notification_prefs WHERE account_id = $1 AND kind = $2 AND channel = $3",
        )
        .bind(account.to_string())
        .bind(kind)
        .bind(channel)
        .fetch_optional(&mut self.tx)
        .await?;
        Ok(v.unwrap_or(true))
    }

    pub async fn set_pref(
        &mut self,
        account: AccountId,
        kind: &str,
        channel: &str,
        on: bool,
    ) -> Result<()> {
        q(
            "INSERT INTO notification_prefs (account_id, kind, channel, enabled) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (account_id, kind, channel) DO UPDATE SET enabled = excluded.enabled",
        )
        .bind(account.to_string())
        .bind(kind)
        .bind(channel)
        .bind(on)
        .execute(&mut self.tx)
        .await?;
        Ok(())
    }

    /// The account's e-mail address and its push subscription ids.
    pub async fn delivery_targets(
        &mut self,
        account: AccountId,
    ) -> Result<(String, Vec<PushSubscriptionId>)> {
        let email: String = scalar("SELECT email FROM accounts WHERE id = $1")
            .bind(account.to_string())
            .fetch_one(&mut self.tx)
            .await?;
        let rows = q("SELECT id FROM push_subscriptions WHERE account_id = $1")
            .bind(account.to_string())
            .fetch_all(&mut self.tx)
            .await?;
        let subs = rows
            .iter()
            .map(|r| id_col(r, "id", PushSubscriptionId))
            .collect::<Result<_>>()?;
        Ok((email, subs))
    }

    pub async fn insert_delivery(
        &mut self,
        id: NotificationId,
        notification: NotificationId,
        channel: &str,
        target: &str,
        now: i64,
    ) -> Result<()> {
        q(
            "INSERT INTO deliveries (id, notification_id, channel, target, next_attempt_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id.to_string())
        .bind(notification.to_string())
        .bind(channel)
        .bind(target)
        .bind(now)
        .execute(&mut self.tx)
        .await?;
        Ok(())
    }

    pub async fn insert_push_subscription(&mut self, s: &PushSubscription) -> Result<()> {
        // The same browser subscribing again replaces its old keys.
        q(
            "INSERT INTO push_subscriptions (id, account_id, endpoint, p256dh, auth, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (endpoint) DO UPDATE SET \
             account_id = excluded.account_id, p256dh = excluded.p256dh, auth = excluded.auth",
        )
        .bind(s.id.to_string())
        .bind(s.account_id.to_string())
        .bind(&s.endpoint)
        .bind(&s.p256dh)
        .bind(&s.auth)
        .bind(s.created_at)
        .execute(&mut self.tx)
        .await?;
        Ok(())
    }

    /// Records one attempt's outcome inside a write (used with other changes).
    pub async fn delivery_outcome(
        &mut self,
        id: NotificationId,
        now: i64,
        outcome: Result<(), (String, Option<i64>)>,
    ) -> Result<()> {
        let failed = match &outcome {
            Err((_, None)) => Some(now),
            _ => None,
        };
        let err = outcome.err().map(|e| e.0);
        q(
            "UPDATE deliveries SET attempts = attempts + 1, failed_at = $1, last_error = $2 WHERE id = $3",
        )
        .bind(failed)
        .bind(err)
        .bind(id.to_string())
        .execute(&mut self.tx)
        .await?;
        Ok(())
    }

    pub async fn push_subscription_count(&mut self, account: AccountId) -> Result<i64> {
        let n = scalar("SELECT COUNT(*) FROM push_subscriptions WHERE account_id = $1")
            .bind(account.to_string())
            .fetch_one(&mut self.tx)
            .await?;
        Ok(n)
    }

    pub async fn push_subscription_id(
        &mut self,
        endpoint: &str,
    ) -> Result<Option<PushSubscriptionId>> {
        let r = q("SELECT id FROM push_subscriptions WHERE endpoint = $1")
            .bind(endpoint)
            .fetch_optional(&mut self.tx)
            .await?;
        r.as_ref()
            .map(|r| id_col(r, "id", PushSubscriptionId))
            .transpose()
    }

    /// Drops a subscription the push service says is gone, and its pending sends.
    pub async fn forget_push_subscription(&mut self, id: PushSubscriptionId) -> Result<()> {
        q("DELETE FROM push_subscriptions WHERE id = $1")
            .bind(id.to_string())
            .execute(&mut self.tx)
            .await?;
        Ok(())
    }

    pub async fn delete_push_subscription(
        &mut self,
        account: AccountId,
        id: PushSubscriptionId,
    ) -> Result<bool> {
        let r = q("DELETE FROM push_subscriptions WHERE id = $1 AND account_id = $2")
            .bind(id.to_string())
            .bind(account.to_string())
            .execute(&mut self.tx)
            .await?;
        Ok(r.rows_affected() > 0)
    }
}
