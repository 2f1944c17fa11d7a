//! One occurrence at a time: moving or changing it (an exception to its series),
//! cancelling it, its capacity, and the club calendar.

use tekkan_core::schedule::parse_date;
use tekkan_core::{ClubId, OccurrenceId, Permission, ValidationError, jiff};
use tekkan_storage::{Occurrence, WriteTx, now_ms};

use crate::clubs::authorize_tx;
use crate::events::{Details, TimesInput, clean_details, timing};
use crate::notify::NoticeKind;
use crate::{Actor, App, AppError, Result};

impl App {
    /// Changes or moves one occurrence (an exception to its series).
    pub async fn update_occurrence(
        &self,
        actor: &Actor,
        club: ClubId,
        id: OccurrenceId,
        details: &Details,
        times: &TimesInput,
    ) -> Result<Occurrence> {
        let (zone, club_name) = self.club_zone(club).await?;
        let d = clean_details(details)?;
        let t = timing(zone.clone(), times)?;
        let slot = t.slot(t.start)?;
        let now = now_ms();
        let mut tx = self.db().begin().await?;
        authorize_tx(&mut tx, actor, club, Permission::ManageEvents).await?;
        let mut o = tx.occurrence(club, id).await?.ok_or(AppError::NotFound)?;
        if o.cancelled_at.is_some() {
            return Err(AppError::Conflict("cancelled"));
        }
        let e = tx
            .event(club, o.event_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let moved = slot.starts_at != o.starts_at
            || slot.ends_at != o.ends_at
            || slot.deadline_at != o.deadline_at
            || slot.meet_at != o.meet_at;
        if moved {
            if slot.starts_at <= now {
                return Err(ValidationError::Rule {
                    field: "starts_at",
                    code: "starts_in_past",
                }
                .into());
            }
            if slot.deadline_at <= now {
                return Err(ValidationError::Rule {
                    field: "deadline_before_min",
                    code: "deadline_passed",
                }
                .into());
            }
            let clash = tx.occurrences_of(o.event_id).await?.into_iter().any(|x| {
                x.id != o.id
                    && x.cancelled_at.is_none()
                    && x.starts_at < slot.ends_at
                    && slot.starts_at < x.ends_at
            });
            if clash {
                return Err(AppError::Conflict("overlapping_occurrence"));
            }
        }
        let before = o.clone();
        o.starts_at = slot.starts_at;
        o.ends_at = slot.ends_at;
        o.meet_at = slot.meet_at;
        o.deadline_at = slot.deadline_at;
        o.title = d.title;
        o.place = d.place;
        o.bring = d.bring;
        o.notes = d.notes;
        set_capacity(&mut tx, self, &mut o, d.capacity, now).await?;
        o.detached = e.rrule.is_some();
        o.updated_at = now;
        if o == before {
            return Ok(o);
        }
        tx.update_occurrence(&o).await?;
        if moved {
            tx.schedule_reminders(o.id, o.deadline_at, &e.reminders, now)
                .await?;
        }
        self.tell_event_audience(
            &mut tx,
            NoticeKind::EventChanged,
            &o,
            (&club_name, zone.name()),
            actor,
            now,
        )
        .await?;
        tx.commit(vec![actor.event(
            Some(club),
            "occurrence.update",
            format!("occurrence:{id}"),
            &(details, times),
        )])
        .await?;
        Ok(o)
    }

    /// Cancels one occurrence; for a one-off event, the event.
    pub async fn cancel_occurrence(
        &self,
        actor: &Actor,
        club: ClubId,
        id: OccurrenceId,
    ) -> Result<()> {
        let (zone, club_name) = self.club_zone(club).await?;
        let now = now_ms();
        let mut tx = self.db().begin().await?;
        authorize_tx(&mut tx, actor, club, Permission::ManageEvents).await?;
        let mut o = tx.occurrence(club, id).await?.ok_or(AppError::NotFound)?;
        if o.cancelled_at.is_some() {
            return Err(AppError::Conflict("already_cancelled"));
        }
        cancel(&mut tx, &mut o, now).await?;
        let mut e = tx
            .event(club, o.event_id)
            .await?
            .ok_or(AppError::NotFound)?;
        if e.rrule.is_none() {
            e.cancelled_at = Some(now);
            e.updated_at = now;
            tx.update_event(&e).await?;
        }
        self.tell_event_audience(
            &mut tx,
            NoticeKind::EventCancelled,
            &o,
            (&club_name, zone.name()),
            actor,
            now,
        )
        .await?;
        tx.commit(vec![actor.event(
            Some(club),
            "occurrence.cancel",
            format!("occurrence:{id}"),
            &id,
        )])
        .await?;
        Ok(())
    }
}

/// Sets an occurrence's capacity: refused below the places already taken; a larger one
/// promotes people from the waiting list.
/// Cancels one occurrence: marked cancelled, and its pending reminders dropped.
pub(crate) async fn cancel(tx: &mut WriteTx, o: &mut Occurrence, now: i64) -> Result<()> {
    o.cancelled_at = Some(now);
    o.updated_at = now;
    tx.update_occurrence(o).await?;
    tx.schedule_reminders(o.id, o.deadline_at, &[], now).await?;
    Ok(())
}

pub(crate) async fn set_capacity(
    tx: &mut WriteTx,
    app: &App,
    o: &mut Occurrence,
    capacity: Option<i64>,
    now: i64,
) -> Result<()> {
    if let Some(c) = capacity
        && tx.places_taken(o.id).await? > c
    {
        return Err(AppError::Conflict("capacity_below_attendance"));
    }
    o.capacity = capacity;
    app.promote_waiting(tx, o, now).await.map(|_| ())
}

impl App {
    /// The club's occurrences between two dates on its clock (default: the next 60 days).
    pub async fn calendar(
        &self,
        actor: &Actor,
        club: ClubId,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<Vec<Occurrence>> {
        self.authorize(actor, club, Permission::ViewClub).await?;
        let (zone, _) = self.club_zone(club).await?;
        let today = zone.local(now_ms()).date();
        let f = from
            .map(|s| parse_date("from", s))
            .transpose()?
            .unwrap_or(today);
        let t = match to {
            Some(s) => parse_date("to", s)?,
            None => f.checked_add(jiff::Span::new().days(60)).unwrap_or(f),
        };
        if t < f || f.until(t).map(|s| s.get_days()).unwrap_or(i32::MAX) > 400 {
            return Err(ValidationError::Rule {
                field: "to",
                code: "period_too_long",
            }
            .into());
        }
        let midnight = jiff::civil::Time::midnight();
        let start = zone.instant(f.to_datetime(midnight))?;
        let end = zone.instant(t.tomorrow().unwrap_or(t).to_datetime(midnight))?;
        Ok(self.db().club_occurrences(club, start, end, 2000).await?)
    }
}
