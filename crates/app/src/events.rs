//! Events: creating one-off and recurring ones, changing or cancelling the whole series
//! or one occurrence, and telling everyone affected.

use serde::{Deserialize, Serialize};
use tekkan_core::schedule::{
    Freq, Recurrence, Slot, Timing, Zone, parse_date, parse_local, parse_weekday,
};
use tekkan_core::{
    Bring, ClubId, EventId, EventTitle, Notes, OccurrenceId, Permission, Place, SubgroupId,
    ValidationError,
};
use tekkan_storage::{Event, Occurrence, WriteTx, now_ms};

use crate::clubs::authorize_tx;
use crate::notify::{Notice, NoticeKind, notify};
use crate::occurrences::{cancel, set_capacity};
use crate::token::new_id;
use crate::{Actor, App, AppError, Result};

/// At most this many reminders per event.
const MAX_REMINDERS: usize = 5;
const MAX_CAPACITY: i64 = 10_000;

/// The details of an event or an occurrence, as typed.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Details {
    pub title: String,
    #[serde(default)]
    pub place: String,
    #[serde(default)]
    pub bring: String,
    #[serde(default)]
    pub notes: String,
    /// No limit when absent.
    #[serde(default)]
    pub capacity: Option<i64>,
}

/// When an event happens, as typed: local times on the club's clock.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct TimesInput {
    pub starts_at: String,
    pub ends_at: String,
    #[serde(default)]
    pub meet_before_min: Option<i64>,
    /// Answers close this many minutes before the start; at the start when absent.
    #[serde(default)]
    pub deadline_before_min: Option<i64>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct RepeatInput {
    /// `weekly` or `daily`.
    pub freq: String,
    #[serde(default)]
    pub interval: Option<i32>,
    /// `MO` … `SU`; the first day's weekday when empty.
    #[serde(default)]
    pub by_day: Vec<String>,
    /// The last date, inclusive (`2027-03-31`).
    pub until: String,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct EventInput {
    #[serde(flatten)]
    pub details: Details,
    #[serde(flatten)]
    pub times: TimesInput,
    /// Minutes before the deadline at which non-responders are reminded.
    #[serde(default)]
    pub reminders: Vec<i64>,
    /// Target sub-groups; the whole club when empty.
    #[serde(default)]
    pub subgroups: Vec<SubgroupId>,
    #[serde(default)]
    pub repeat: Option<RepeatInput>,
}

/// Checked details.
pub(crate) struct CleanDetails {
    pub title: String,
    pub place: String,
    pub bring: String,
    pub notes: String,
    pub capacity: Option<i64>,
}

pub(crate) fn clean_details(d: &Details) -> Result<CleanDetails> {
    if let Some(c) = d.capacity
        && !(1..=MAX_CAPACITY).contains(&c)
    {
        return Err(ValidationError::Invalid { field: "capacity" }.into());
    }
    Ok(CleanDetails {
        title: EventTitle::parse(&d.title)?.to_string(),
        place: Place::parse(&d.place)?.to_string(),
        bring: Bring::parse(&d.bring)?.to_string(),
        notes: Notes::parse(&d.notes)?.to_string(),
        capacity: d.capacity,
    })
}

fn clean_reminders(r: &[i64]) -> Result<Vec<i64>> {
    let mut v = r.to_vec();
    v.sort_unstable();
    v.dedup();
    if v.len() > MAX_REMINDERS || v.iter().any(|m| !(0..=30 * 24 * 60).contains(m)) {
        return Err(ValidationError::Invalid { field: "reminders" }.into());
    }
    Ok(v)
}

pub(crate) fn timing(zone: Zone, t: &TimesInput) -> Result<Timing> {
    Ok(Timing {
        zone,
        start: parse_local("starts_at", &t.starts_at)?,
        end: parse_local("ends_at", &t.ends_at)?,
        meet_before_min: t.meet_before_min,
        deadline_before_min: t.deadline_before_min.unwrap_or(0),
    })
}

fn recurrence(r: &RepeatInput, first: jiff::civil::DateTime) -> Result<Recurrence> {
    let freq = match r.freq.as_str() {
        "weekly" => Freq::Weekly,
        "daily" => Freq::Daily,
        _ => return Err(ValidationError::Invalid { field: "freq" }.into()),
    };
    if r.by_day.len() > 7 {
        return Err(ValidationError::Invalid { field: "by_day" }.into());
    }
    let days = r
        .by_day
        .iter()
        .map(|d| parse_weekday(d))
        .collect::<Result<Vec<_>, _>>()?;
    let until = parse_date("until", &r.until)?;
    Ok(Recurrence::new(
        freq,
        r.interval.unwrap_or(1),
        days,
        until,
        first,
    )?)
}

use tekkan_core::jiff;

impl App {
    /// Tells everyone the occurrence's event is for, and their guardians, about it;
    /// not `actor`, who did it.
    pub(crate) async fn tell_event_audience(
        &self,
        tx: &mut WriteTx,
        kind: NoticeKind,
        o: &Occurrence,
        label: (&str, &str),
        actor: &Actor,
        now: i64,
    ) -> Result<usize> {
        let audience = tx.event_audience(o.event_id).await?;
        let n = event_notice(kind, o.club_id, o, label);
        notify(tx, self.channels(), audience, Some(actor.account), &n, now).await
    }

    /// Reminds the occurrence's non-responders and their guardians; returns how many.
    pub(crate) async fn remind_non_responders(
        &self,
        tx: &mut WriteTx,
        o: &Occurrence,
        label: (&str, &str),
        now: i64,
    ) -> Result<usize> {
        let mut people = Vec::new();
        for (m, _) in tx.non_responders(o.id).await? {
            people.extend(tx.member_and_guardians(m).await?);
        }
        let n = event_notice(NoticeKind::Reminder, o.club_id, o, label);
        notify(tx, self.channels(), people, None, &n, now).await
    }
}

/// Notice about an occurrence (or a whole event when `occ` is `None`).
pub(crate) fn event_notice(
    kind: NoticeKind,
    club: ClubId,
    o: &Occurrence,
    (club_name, tz): (&str, &str),
) -> Notice {
    Notice {
        kind,
        club: Some(club),
        params: serde_json::json!({"title": o.title, "when": o.starts_at, "club": club_name, "tz": tz}),
        url: format!("/clubs/{club}/occurrences/{}", o.id),
    }
}

impl App {
    /// The club's zone and name.
    pub(crate) async fn club_zone(&self, club: ClubId) -> Result<(Zone, String)> {
        let c = self.db().club(club).await?.ok_or(AppError::NotFound)?;
        let zone = Zone::parse(&c.timezone).unwrap_or_else(|_| Zone::tokyo());
        Ok((zone, c.name))
    }

    pub async fn create_event(
        &self,
        actor: &Actor,
        club: ClubId,
        input: &EventInput,
    ) -> Result<(Event, Vec<Occurrence>)> {
        let (zone, club_name) = self.club_zone(club).await?;
        let d = clean_details(&input.details)?;
        let reminders = clean_reminders(&input.reminders)?;
        let t = timing(zone.clone(), &input.times)?;
        let rule = input
            .repeat
            .as_ref()
            .map(|r| recurrence(r, t.start))
            .transpose()?;
        let now = now_ms();
        let slots = t.slots(rule.as_ref(), now)?;
        let mut targets = input.subgroups.clone();
        targets.sort();
        targets.dedup();
        if targets.len() > 50 {
            return Err(ValidationError::Invalid { field: "subgroups" }.into());
        }

        let mut tx = self.db().begin().await?;
        authorize_tx(&mut tx, actor, club, Permission::ManageEvents).await?;
        for sg in &targets {
            tx.subgroup(club, *sg).await?.ok_or(AppError::NotFound)?;
        }
        let event = Event {
            id: new_id!(EventId),
            club_id: club,
            title: d.title.clone(),
            place: d.place.clone(),
            bring: d.bring.clone(),
            notes: d.notes.clone(),
            timezone: zone.name().to_owned(),
            rrule: rule.as_ref().map(Recurrence::to_storage),
            first_start: t.start.to_string(),
            first_end: t.end.to_string(),
            meet_before_min: t.meet_before_min,
            deadline_before_min: t.deadline_before_min,
            capacity: d.capacity,
            reminders: reminders.clone(),
            all_members: targets.is_empty(),
            targets,
            created_by: actor.account,
            created_at: now,
            updated_at: now,
            cancelled_at: None,
        };
        tx.insert_event(&event).await?;
        let mut occurrences = Vec::with_capacity(slots.len());
        for s in slots {
            let o = occurrence_from(&event, &d, s, now);
            tx.insert_occurrence(&o).await?;
            tx.schedule_reminders(o.id, o.deadline_at, &reminders, now)
                .await?;
            occurrences.push(o);
        }
        if let Some(first) = occurrences.first() {
            self.tell_event_audience(
                &mut tx,
                NoticeKind::EventNew,
                first,
                (&club_name, zone.name()),
                actor,
                now,
            )
            .await?;
        }
        tx.commit(vec![actor.event(
            Some(club),
            "event.create",
            format!("event:{}", event.id),
            input,
        )])
        .await?;
        Ok((event, occurrences))
    }

    /// An event and all its occurrences, for any member of the club.
    pub async fn event(
        &self,
        actor: &Actor,
        club: ClubId,
        id: EventId,
    ) -> Result<(Event, Vec<Occurrence>)> {
        self.authorize(actor, club, Permission::ViewClub).await?;
        let e = self.db().event(club, id).await?.ok_or(AppError::NotFound)?;
        let o = self.db().occurrences_of(id).await?;
        Ok((e, o))
    }

    /// Changes the details of every future occurrence that was not changed on its own.
    pub async fn update_event(
        &self,
        actor: &Actor,
        club: ClubId,
        id: EventId,
        details: &Details,
        reminders: &[i64],
    ) -> Result<usize> {
        let (zone, club_name) = self.club_zone(club).await?;
        let d = clean_details(details)?;
        let reminders = clean_reminders(reminders)?;
        let now = now_ms();
        let mut tx = self.db().begin().await?;
        authorize_tx(&mut tx, actor, club, Permission::ManageEvents).await?;
        let mut e = tx.event(club, id).await?.ok_or(AppError::NotFound)?;
        if e.cancelled_at.is_some() {
            return Err(AppError::Conflict("cancelled"));
        }
        e.title = d.title.clone();
        e.place = d.place.clone();
        e.bring = d.bring.clone();
        e.notes = d.notes.clone();
        e.capacity = d.capacity;
        e.reminders = reminders.clone();
        e.updated_at = now;
        tx.update_event(&e).await?;
        let mut changed = Vec::new();
        for mut o in tx.occurrences_of(id).await? {
            if o.starts_at <= now || o.cancelled_at.is_some() {
                continue;
            }
            tx.schedule_reminders(o.id, o.deadline_at, &reminders, now)
                .await?;
            if o.detached {
                continue;
            }
            o.title = d.title.clone();
            o.place = d.place.clone();
            o.bring = d.bring.clone();
            o.notes = d.notes.clone();
            set_capacity(&mut tx, self, &mut o, d.capacity, now).await?;
            o.updated_at = now;
            tx.update_occurrence(&o).await?;
            changed.push(o);
        }
        if let Some(first) = changed.first() {
            self.tell_event_audience(
                &mut tx,
                NoticeKind::EventChanged,
                first,
                (&club_name, zone.name()),
                actor,
                now,
            )
            .await?;
        }
        tx.commit(vec![actor.event(
            Some(club),
            "event.update",
            format!("event:{id}"),
            &(details, &reminders),
        )])
        .await?;
        Ok(changed.len())
    }

    /// Cancels every future occurrence of the event.
    pub async fn cancel_event(&self, actor: &Actor, club: ClubId, id: EventId) -> Result<usize> {
        let (zone, club_name) = self.club_zone(club).await?;
        let now = now_ms();
        let mut tx = self.db().begin().await?;
        authorize_tx(&mut tx, actor, club, Permission::ManageEvents).await?;
        let mut e = tx.event(club, id).await?.ok_or(AppError::NotFound)?;
        if e.cancelled_at.is_some() {
            return Err(AppError::Conflict("already_cancelled"));
        }
        e.cancelled_at = Some(now);
        e.updated_at = now;
        tx.update_event(&e).await?;
        let mut cancelled = Vec::new();
        for mut o in tx.occurrences_of(id).await? {
            if o.starts_at <= now || o.cancelled_at.is_some() {
                continue;
            }
            cancel(&mut tx, &mut o, now).await?;
            cancelled.push(o);
        }
        if let Some(first) = cancelled.first() {
            self.tell_event_audience(
                &mut tx,
                NoticeKind::EventCancelled,
                first,
                (&club_name, zone.name()),
                actor,
                now,
            )
            .await?;
        }
        tx.commit(vec![actor.event(
            Some(club),
            "event.cancel",
            format!("event:{id}"),
            &id,
        )])
        .await?;
        Ok(cancelled.len())
    }
}

fn occurrence_from(e: &Event, d: &CleanDetails, s: Slot, now: i64) -> Occurrence {
    Occurrence {
        id: new_id!(OccurrenceId),
        event_id: e.id,
        club_id: e.club_id,
        original_start: s.original_start,
        starts_at: s.starts_at,
        ends_at: s.ends_at,
        meet_at: s.meet_at,
        deadline_at: s.deadline_at,
        title: d.title.clone(),
        place: d.place.clone(),
        bring: d.bring.clone(),
        notes: d.notes.clone(),
        capacity: d.capacity,
        detached: false,
        cancelled_at: None,
        updated_at: now,
    }
}
