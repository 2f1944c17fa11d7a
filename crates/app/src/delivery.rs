//! Delivering notifications outside the app: the outbox worker (e-mail and Web Push,
//! with retries), the messages' text in the recipient's language, and push
//! subscriptions.

use tekkan_core::jiff;
use tekkan_core::{PushSubscriptionId, ValidationError};
use tekkan_notify::SendError;
use tekkan_notify::mail::Mailer;
use tekkan_notify::webpush::{Keys, Pusher};
use tekkan_storage::{Delivery as Outbox, PushSubscription, now_ms};

use crate::token::new_id;
use crate::{Actor, App, AppError, Result};

/// The outside channels this server is set up for.
#[derive(Clone, Default)]
pub struct Delivery {
    pub mailer: Option<Mailer>,
    pub pusher: Option<Pusher>,
}

/// Waits before the next attempt, by attempts made so far; then it is given up.
/// How long a claimed delivery is this sender's before another may take it up.
const DELIVERY_LEASE_MS: i64 = 5 * 60 * 1000;

const RETRY_AFTER_MS: [i64; 4] = [60_000, 5 * 60_000, 30 * 60_000, 2 * 3_600_000];

/// (kind, 日本語, English); `{club}`, `{title}` and `{when}` are filled in.
const TEXTS: [(&str, &str, &str); 6] = [
    (
        "event_new",
        "{club}: 新しい予定「{title}」({when})",
        "{club}: new event “{title}” ({when})",
    ),
    (
        "event_changed",
        "{club}: 「{title}」({when}) が変更されました",
        "{club}: “{title}” ({when}) was changed",
    ),
    (
        "event_cancelled",
        "{club}: 「{title}」({when}) は中止になりました",
        "{club}: “{title}” ({when}) was cancelled",
    ),
    (
        "waitlist_promoted",
        "{club}: キャンセル待ちから「{title}」({when}) に参加できるようになりました",
        "{club}: a place opened up for you at “{title}” ({when})",
    ),
    (
        "reminder",
        "{club}: 「{title}」({when}) の出欠が未回答です",
        "{club}: please answer for “{title}” ({when})",
    ),
    (
        "announcement",
        "{club}: お知らせ「{title}」",
        "{club}: announcement “{title}”",
    ),
];

/// Security notices by what happened: (what, 日本語, English).
const SECURITY_TEXTS: [(&str, &str, &str); 17] = [
    (
        "signup_waiting",
        "{email} の登録が確認待ちです。このサーバーはメールを送らないため、次のリンクを本人に渡してください(24時間有効・1回限り): {link}",
        "A sign-up for {email} is waiting. This server sends no e-mail: pass this link on to its owner (valid 24 hours, once): {link}",
    ),
    (
        "signup_registered_address",
        "登録済みのアドレス {email} で新規登録が試みられました。本人ならパスワードの再設定を案内してください",
        "Someone tried to sign up with {email}, which already has an account. If it was its owner, point them to password reset",
    ),
    (
        "account_locked",
        "推測されたパスワードが続いたため、アカウントへの新しい端末からのログインを一時停止しました。これまでログインした端末とパスキーでは引き続きログインできます",
        "After repeated wrong passwords, sign-ins to your account from new devices are paused. Devices you signed in on before, and passkeys, still work",
    ),
    (
        "password_changed",
        "パスワードが変更されました。心当たりがない場合はすぐにパスワードを再設定してください",
        "Your password was changed. If this was not you, reset your password now",
    ),
    (
        "password_reset",
        "メールのリンクからパスワードが再設定されました",
        "Your password was reset from an e-mailed link",
    ),
    (
        "email_changed",
        "ログイン用メールアドレスが変更されました",
        "The e-mail address you sign in with was changed",
    ),
    (
        "factor_added",
        "2段階認証の方法が追加されました",
        "A two-step verification method was added",
    ),
    (
        "factor_removed",
        "2段階認証の方法が削除されました",
        "A two-step verification method was removed",
    ),
    (
        "recovery_codes_renewed",
        "リカバリーコードが再発行されました(以前のコードは使えません)",
        "New recovery codes were issued (the old ones no longer work)",
    ),
    (
        "backup_failed",
        "バックアップを保存できなかった保存先があります。サーバーのログを確認してください",
        "A backup could not be stored at one of its destinations: check the server log",
    ),
    (
        "sessions_ended",
        "あなたのアカウントのログインが終了されました",
        "Sessions on your account were ended",
    ),
    (
        "new_device",
        "新しい端末からログインがありました({device}、{network})。心当たりがない場合は、すぐにパスワードを変更し、ログイン中の端末を確認してください",
        "Someone signed in to your account on a new device ({device}, {network}). If it was not you, change your password now and check your signed-in devices",
    ),
    (
        "second_step_abandoned",
        "あなたのアカウントに正しいパスワードでログインが試みられましたが、2段階目の確認が完了しませんでした。心当たりがない場合は、パスワードを知られています。すぐにパスワードを変更してください",
        "Someone entered your correct password but did not complete the second step. If it was not you, your password is known to someone: change it now",
    ),
    (
        "new_device_guardian",
        "{name} さんのアカウントに新しい端末からログインがありました({device}、{network})。お子さまに心当たりを確認してください",
        "{name}'s account was signed in to on a new device ({device}, {network}). Please check with your child that it was them",
    ),
    (
        "detection",
        "検知: {rule}({subject})。対応: {response}",
        "Detection: {rule} ({subject}). Response: {response}",
    ),
    (
        "test",
        "テスト通知です。届いていれば、この経路は使えます",
        "A test alert: if it arrived, this channel works",
    ),
    (
        "incident",
        "運営からのお知らせ({state}): {title}。詳しくはステータスページをご覧ください: {link}",
        "Notice from the operator ({state}): {title}. Details on the status page: {link}",
    ),
];

/// An incident's state as people read it: (state, 日本語, English).
const INCIDENT_STATES: [(&str, &str, &str); 4] = [
    ("investigating", "調査中", "investigating"),
    ("identified", "原因を特定", "cause identified"),
    ("monitoring", "経過観察中", "monitoring"),
    ("resolved", "解決", "resolved"),
];

/// A notification's message in Japanese (`ja`) or English.
pub fn notice_text(kind: &str, params: &str, ja: bool) -> String {
    let v: serde_json::Value = serde_json::from_str(params).unwrap_or_default();
    if kind == "security" {
        let what = v["what"].as_str().unwrap_or_default();
        let t = SECURITY_TEXTS.iter().find(|t| t.0 == what);
        let text = t.map(|t| if ja { t.1 } else { t.2 }).unwrap_or_default();
        let state = v["state"].as_str().unwrap_or_default();
        let state = INCIDENT_STATES
            .iter()
            .find(|s| s.0 == state)
            .map(|s| if ja { s.1 } else { s.2 })
            .unwrap_or(state);
        let title = match ja {
            true => v["title"].as_str(),
            false => v["title_en"].as_str().or(v["title"].as_str()),
        };
        let text = text
            .replace("{email}", v["email"].as_str().unwrap_or_default())
            .replace("{link}", v["link"].as_str().unwrap_or_default())
            .replace("{state}", state)
            .replace("{device}", v["device"].as_str().unwrap_or_default())
            .replace("{network}", v["network"].as_str().unwrap_or_default())
            .replace("{name}", v["name"].as_str().unwrap_or_default())
            .replace("{rule}", v["rule"].as_str().unwrap_or_default())
            .replace("{subject}", v["subject"].as_str().unwrap_or_default())
            .replace(
                "{response}",
                v["response"].as_str().unwrap_or(if v["kind"] == "update" {
                    "継続中 / ongoing"
                } else {
                    "-"
                }),
            )
            .replace("{title}", title.unwrap_or_default());
        return format!("TEKKAN: {text}");
    }
    let text = TEXTS
        .iter()
        .find(|t| t.0 == kind)
        .map(|t| if ja { t.1 } else { t.2 })
        .unwrap_or("{title}");
    let zone = v["tz"]
        .as_str()
        .unwrap_or(tekkan_core::schedule::DEFAULT_ZONE);
    let when = v["when"]
        .as_i64()
        .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
        .and_then(|t| Some(t.to_zoned(jiff::tz::TimeZone::get(zone).ok()?)))
        .map(|z| z.strftime("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default();
    text.replace("{club}", v["club"].as_str().unwrap_or_default())
        .replace("{title}", v["title"].as_str().unwrap_or_default())
        .replace("{when}", &when)
}

impl App {
    /// The VAPID public key browsers subscribe with, when push is on.
    pub fn vapid_public_key(&self) -> Option<String> {
        self.delivery()
            .pusher
            .as_ref()
            .map(|p| p.vapid().public_key())
    }

    /// Registers this browser for Web Push.
    pub async fn subscribe_push(
        &self,
        actor: &Actor,
        endpoint: &str,
        p256dh: &str,
        auth: &str,
    ) -> Result<PushSubscriptionId> {
        let pusher = self
            .delivery()
            .pusher
            .as_ref()
            .ok_or(AppError::Conflict("push_disabled"))?;
        if !pusher.allows(endpoint) {
            return Err(ValidationError::Invalid { field: "endpoint" }.into());
        }
        Keys::parse(p256dh, auth).map_err(|e| match e {
            tekkan_notify::webpush::KeyError::P256dh => {
                ValidationError::Invalid { field: "p256dh" }
            }
            tekkan_notify::webpush::KeyError::Auth => ValidationError::Invalid { field: "auth" },
        })?;
        let s = PushSubscription {
            id: new_id!(PushSubscriptionId),
            account_id: actor.account,
            endpoint: endpoint.to_owned(),
            p256dh: p256dh.to_owned(),
            auth: auth.to_owned(),
            created_at: now_ms(),
        };
        let mut tx = self.db().begin().await?;
        if tx.push_subscription_count(actor.account).await? >= 20 {
            return Err(AppError::Conflict("too_many_subscriptions"));
        }
        tx.insert_push_subscription(&s).await?;
        let id = tx.push_subscription_id(endpoint).await?.unwrap_or(s.id);
        tx.commit(vec![actor.event(
            None,
            "push.subscribe",
            format!("push:{id}"),
            &endpoint,
        )])
        .await?;
        Ok(id)
    }

    pub async fn unsubscribe_push(&self, actor: &Actor, id: PushSubscriptionId) -> Result<()> {
        let mut tx = self.db().begin().await?;
        if !tx.delete_push_subscription(actor.account, id).await? {
            return Err(AppError::NotFound);
        }
        tx.commit(vec![actor.event(
            None,
            "push.unsubscribe",
            format!("push:{id}"),
            &id,
        )])
        .await?;
        Ok(())
    }

    /// Sends what is due in the outbox, claimed first so that of several instances
    /// running this at once each message is sent by one. Each outcome is written back at once, so a
    /// restart resends at most the one message that was in flight.
    pub async fn run_due_deliveries(&self) -> Result<usize> {
        let now = now_ms();
        let mut sent = 0;
        // Leased for longer than a send may take (each has its own timeout): a sender
        // that dies mid-batch leaves its messages to another after this.
        let lease_until = now + DELIVERY_LEASE_MS;
        for d in self.db().claim_deliveries(now, lease_until, 50).await? {
            let outcome = self.deliver(&d).await;
            let ok = outcome.is_ok();
            let record = match outcome {
                Ok(()) => Ok(()),
                Err(SendError::Gone) => {
                    if let Some(id) = PushSubscriptionId::parse(&d.target) {
                        let mut tx = self.db().begin().await?;
                        tx.forget_push_subscription(id).await?;
                        tx.delivery_outcome(d.id, now, Err(("subscription gone".into(), None)))
                            .await?;
                        tx.commit(vec![crate::actor::event(
                            None,
                            None,
                            &crate::Origin::default(),
                            None,
                            "push.expired",
                            format!("push:{id}"),
                            &id,
                        )])
                        .await?;
                    }
                    continue;
                }
                Err(SendError::Retry(e)) => {
                    let retry = RETRY_AFTER_MS.get(d.attempts as usize).map(|w| now + w);
                    Err((e, retry))
                }
                Err(SendError::Fatal(e)) => Err((e, None)),
            };
            if let Err((e, _)) = &record {
                tracing::warn!(channel = %d.channel, attempts = d.attempts + 1, error = %e, "delivery failed");
            }
            // Bookkeeping of the outbox, like a session's last-seen time: not audited.
            self.db().record_delivery(d.id, now, record).await?;
            sent += usize::from(ok);
        }
        Ok(sent)
    }

    async fn deliver(&self, d: &Outbox) -> Result<(), SendError> {
        let n = &d.notification;
        let ja = d.lang != "en";
        let text = notice_text(&n.kind, &n.params, ja);
        let link = format!("{}{}", self.settings().base_url, n.url);
        match d.channel.as_str() {
            "email" => {
                let mailer = self
                    .delivery()
                    .mailer
                    .as_ref()
                    .ok_or_else(|| SendError::Fatal("e-mail is off".into()))?;
                let subject: String = format!("[TEKKAN] {text}").chars().take(120).collect();
                let footer = if ja {
                    "通知の設定"
                } else {
                    "Notification settings"
                };
                let body = format!(
                    "{text}\n\n{link}\n\n--\n{footer}: {}/settings\n",
                    self.settings().base_url
                );
                mailer.send(&d.target, &subject, &body).await
            }
            "push" => {
                let pusher = self
                    .delivery()
                    .pusher
                    .as_ref()
                    .ok_or_else(|| SendError::Fatal("push is off".into()))?;
                let id = PushSubscriptionId::parse(&d.target).ok_or(SendError::Gone)?;
                let sub = self
                    .db()
                    .push_subscription(id)
                    .await
                    .map_err(|e| SendError::Retry(e.to_string()))?
                    .ok_or(SendError::Gone)?;
                let keys = Keys::parse(&sub.p256dh, &sub.auth).map_err(|_| SendError::Gone)?;
                let payload = serde_json::json!({"title": "TEKKAN", "body": text, "url": n.url, "tag": n.id.to_string()});
                pusher
                    .send(
                        &sub.endpoint,
                        &keys,
                        payload.to_string().as_bytes(),
                        now_ms() / 1000,
                    )
                    .await
            }
            other => Err(SendError::Fatal(format!("unknown channel {other}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::notice_text;

    #[test]
    fn notices_read_in_the_recipients_language_on_the_clubs_clock() {
        // 2027-01-15 07:00 UTC: 16:00 in Tokyo, 07:00 in London.
        let when = 1_799_996_400_000_i64;
        let p = |tz: &str| {
            serde_json::json!({"title": "練習", "club": "吹奏楽部", "when": when, "tz": tz})
                .to_string()
        };
        let ja = notice_text("reminder", &p("Asia/Tokyo"), true);
        assert!(
            ja.contains("吹奏楽部") && ja.contains("未回答") && ja.contains("16:00"),
            "{ja}"
        );
        let en = notice_text("event_cancelled", &p("Europe/London"), false);
        assert!(en.contains("was cancelled") && en.contains("07:00"), "{en}");
        assert_eq!(notice_text("unknown", &p("UTC"), true), "練習");
    }
}
