//! Calendar feeds: a secret, revocable URL per person that calendar apps subscribe to.

use tekkan_storage::now_ms;

use crate::ical::{self, Zones, line};
use crate::token::{hash_token, random_token};
use crate::{Actor, App, AppError, Result};

/// How far back a feed reaches.
const FEED_PAST_MS: i64 = 90 * 86_400_000;

impl App {
    /// Makes a new feed token, revoking any earlier one. The token is shown once.
    pub async fn create_feed(&self, actor: &Actor) -> Result<String> {
        let token = random_token();
        let now = now_ms();
        let mut tx = self.db().begin().await?;
        tx.revoke_feeds(actor.account, now).await?;
        tx.insert_feed(actor.account, &hash_token(&token), now)
            .await?;
        tx.commit(vec![actor.event(
            None,
            "feed.create",
            format!("account:{}", actor.account),
            &now,
        )])
        .await?;
        Ok(token)
    }

    /// Revokes the feed; its URL stops working at once.
    pub async fn revoke_feed(&self, actor: &Actor) -> Result<bool> {
        let mut tx = self.db().begin().await?;
        let n = tx.revoke_feeds(actor.account, now_ms()).await?;
        if n == 0 {
            return Ok(false);
        }
        tx.commit(vec![actor.event(
            None,
            "feed.revoke",
            format!("account:{}", actor.account),
            &n,
        )])
        .await?;
        Ok(true)
    }

    /// When the caller's live feed was made, if any.
    pub async fn feed_status(&self, actor: &Actor) -> Result<Option<i64>> {
        Ok(self.db().feed_created(actor.account).await?)
    }

    /// The iCalendar text of the feed `token` names; not found when unknown or revoked.
    pub async fn feed(
        &self,
        token: &str,
        host: &str,
        name: &str,
        bring_label: &str,
    ) -> Result<String> {
        if token.len() > 64 {
            return Err(AppError::NotFound);
        }
        let account = self
            .db()
            .feed_account(&hash_token(token))
            .await?
            .ok_or(AppError::NotFound)?;
        let now = now_ms();
        let mut body = String::new();
        let mut zones = Zones::default();
        for (club, event, club_name) in self.db().feed_events(account, now - FEED_PAST_MS).await? {
            let Some(e) = self.db().event(club, event).await? else {
                continue;
            };
            let occ = self.db().occurrences_of(event).await?;
            if let (Some(f), Some(l)) = (occ.first(), occ.last()) {
                zones.add(
                    &e.timezone,
                    f.original_start.min(f.starts_at),
                    l.ends_at.max(l.original_start),
                );
            }
            ical::event(&mut body, &e, &occ, &club_name, host, now, bring_label);
        }
        let mut out = String::new();
        line(&mut out, "BEGIN:VCALENDAR");
        line(&mut out, "VERSION:2.0");
        line(&mut out, "PRODID:-//TEKKAN//Club schedule//JA");
        line(&mut out, "CALSCALE:GREGORIAN");
        line(&mut out, "METHOD:PUBLISH");
        line(&mut out, &format!("X-WR-CALNAME:{}", ical::escape(name)));
        line(&mut out, "REFRESH-INTERVAL;VALUE=DURATION:PT1H");
        line(&mut out, "X-PUBLISHED-TTL:PT1H");
        for z in &zones.names {
            if let Ok(zone) = tekkan_core::schedule::Zone::parse(z) {
                ical::vtimezone(&mut out, &zone, zones.from, zones.to);
            }
        }
        out.push_str(&body);
        line(&mut out, "END:VCALENDAR");
        Ok(out)
    }
}
