//! Events, their occurrences and who they are for.

use crate::sql::{Row, q, scalar};
use tekkan_core::{AccountId, ClubId, EventId, MembershipId, OccurrenceId, SubgroupId};

use crate::records::id_col;
use crate::{Db, Result, StorageError, WriteTx};

#[derive(Debug, Clone)]
pub struct Event {
    pub id: EventId,
    pub club_id: ClubId,
    pub title: String,
    pub place: String,
    pub bring: String,
    pub notes: String,
    pub timezone: String,
    /// The stored recurrence rule (see `tekkan_core::schedule::Recurrence`).
    pub rrule: Option<String>,
    pub first_start: String,
    pub first_end: String,
    pub meet_before_min: Option<i64>,
    pub deadline_before_min: i64,
    pub capacity: Option<i64>,
    /// Minutes before the deadline at which non-responders are reminded.
    pub reminders: Vec<i64>,
    pub all_members: bool,
    pub targets: Vec<SubgroupId>,
    pub created_by: AccountId,
    pub created_at: i64,
    pub updated_at: i64,
    pub cancelled_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Occurrence {
    pub id: OccurrenceId,
    pub event_id: EventId,
    pub club_id: ClubId,
    pub original_start: i64,
    pub starts_at: i64,
    pub ends_at: i64,
    pub meet_at: Option<i64>,
    pub deadline_at: i64,
    pub title: String,
    pub place: String,
    pub bring: String,
    pub notes: String,
    pub capacity: Option<i64>,
    /// Changed on its own; changes to the whole series leave it alone.
    pub detached: bool,
    pub cancelled_at: Option<i64>,
    pub updated_at: i64,
}

fn event_row(r: &Row) -> Result<Event> {
    let reminders: String = r.try_get("reminders")?;
    Ok(Event {
        id: id_col(r, "id", EventId)?,
        club_id: id_col(r, "club_id", ClubId)?,
        title: r.try_get("title")?,
        place: r.try_get("place")?,
        bring: r.try_get("bring")?,
        notes: r.try_get("notes")?,
        timezone: r.try_get("timezone")?,
        rrule: r.try_get("rrule")?,
        first_start: r.try_get("first_start")?,
        first_end: r.try_get("first_end")?,
        meet_before_min: r.try_get("meet_before_min")?,
        deadline_before_min: r.try_get("deadline_before_min")?,
        capacity: r.try_get("capacity")?,
        reminders: reminders
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse()
                    .map_err(|_| StorageError::Corrupt(format!("reminders: {s:?}")))
            })
            .collect::<Result<_>>()?,
        all_members: r.try_get("all_members")?,
        targets: Vec::new(),
        created_by: id_col(r, "created_by", AccountId)?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        cancelled_at: r.try_get("cancelled_at")?,
    })
}

/// Reads an occurrence from columns prefixed `o_`.
pub(crate) fn occurrence_row(r: &Row) -> Result<Occurrence> {
    Ok(Occurrence {
        id: id_col(r, "o_id", OccurrenceId)?,
        event_id: id_col(r, "o_event_id", EventId)?,
        club_id: id_col(r, "o_club_id", ClubId)?,
        original_start: r.try_get("o_original_start")?,
        starts_at: r.try_get("o_starts_at")?,
        ends_at: r.try_get("o_ends_at")?,
        meet_at: r.try_get("o_meet_at")?,
        deadline_at: r.try_get("o_deadline_at")?,
        title: r.try_get("o_title")?,
        place: r.try_get("o_place")?,
        bring: r.try_get("o_bring")?,
        notes: r.try_get("o_notes")?,
        capacity: r.try_get("o_capacity")?,
        detached: r.try_get("o_detached")?,
        cancelled_at: r.try_get("o_cancelled_at")?,
        updated_at: r.try_get("o_updated_at")?,
    })
}

macro_rules! occurrence_cols {
    () => {
        "o.id AS o_id, o.event_id AS o_event_id, o.club_id AS o_club_id, \
         o.original_start AS o_original_start, o.starts_at AS o_starts_at, \
         o.ends_at AS o_ends_at, o.meet_at AS o_meet_at, o.deadline_at AS o_deadline_at, \
         o.title AS o_title, o.place AS o_place, o.bring AS o_bring, o.notes AS o_notes, \
         o.capacity AS o_capacity, o.detached AS o_detached, \
         o.cancelled_at AS o_cancelled_at, o.updated_at AS o_updated_at"
    };
}
pub(crate) use occurrence_cols;

/// The condition "membership `m` is among those event `e` is for": the whole club, or
/// a member of one of its target sub-groups. Guardians are never attendees. A scalar
/// subquery rather than EXISTS, for the reason given at [`crate::Db::schedule`].
macro_rules! targeted {
    () => {
        "m.status = 'active' AND m.role <> 'guardian' AND (e.all_members OR ( \
           SELECT 1 FROM event_targets t JOIN subgroup_members sm ON sm.subgroup_id = t.subgroup_id \
           WHERE t.event_id = e.id AND sm.membership_id = m.id LIMIT 1) IS NOT NULL)"
    };
}
pub(crate) use targeted;

async fn targets_of(
    ex: impl Into<crate::sql::Target<'_>>,
    event: EventId,
) -> Result<Vec<SubgroupId>> {
    let rows = q("SELECT subgroup_id FROM event_targets WHERE event_id = $1")
        .bind(event.to_string())
        .fetch_all(ex)
        .await?;
    rows.iter()
        .map(|r| id_col(r, "subgroup_id", SubgroupId))
        .collect()
}

impl Db {
    pub async fn event(&self, club: ClubId, id: EventId) -> Result<Option<Event>> {
        let row = q("SELECT * FROM events WHERE club_id = $1 AND id = $2")
            .bind(club.to_string())
            .bind(id.to_string())
            .fetch_optional(&self.reader)
            .await?;
        let Some(mut e) = row.as_ref().map(event_row).transpose()? else {
            return Ok(None);
        };
        e.targets = targets_of(&self.reader, id).await?;
        Ok(Some(e))
    }

    /// An occurrence of the club with its event.
    pub async fn occurrence(
        &self,
        club: ClubId,
        id: OccurrenceId,
    ) -> Result<Option<(Occurrence, Event)>> {
        let row = q(concat!(
            "SELECT ",
            occurrence_cols!(),
            " FROM occurrences o WHERE o.club_id = $1 AND o.id = $2"
        ))
        .bind(club.to_string())
        .bind(id.to_string())
        .fetch_optional(&self.reader)
        .await?;
        let Some(o) = row.as_ref().map(occurrence_row).transpose()? else {
            return Ok(None);
        };
        let e = self.event(club, o.event_id).await?;
        Ok(e.map(|e| (o, e)))
    }

    pub async fn occurrences_of(&self, event: EventId) -> Result<Vec<Occurrence>> {
        let rows = q(concat!(
            "SELECT ",
            occurrence_cols!(),
            " FROM occurrences o WHERE o.event_id = $1 ORDER BY o.starts_at"
        ))
        .bind(event.to_string())
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(occurrence_row).collect()
    }

    /// The club's occurrences starting in [from, to), cancelled ones included.
    pub async fn club_occurrences(
        &self,
        club: ClubId,
        from: i64,
        to: i64,
        limit: i64,
    ) -> Result<Vec<Occurrence>> {
        let rows = q(concat!(
            "SELECT ",
            occurrence_cols!(),
            " FROM occurrences o WHERE o.club_id = $1 AND o.starts_at >= $2 AND o.starts_at < $3 \
              ORDER BY o.starts_at LIMIT 5000"
        ))
        .bind(club.to_string())
        .bind(from)
        .bind(to)
        .fetch_all(&self.reader)
        .await?;
        // A literal LIMIT: a bound one makes SQLite re-plan the statement on every run.
        rows.iter()
            .take(limit.clamp(0, 5000) as usize)
            .map(occurrence_row)
            .collect()
    }

    /// Whether membership `m` is among those the event is for.
    pub async fn is_targeted(&self, event: EventId, m: MembershipId) -> Result<bool> {
        let n: i64 = scalar(concat!(
            "SELECT COUNT(*) FROM events e JOIN memberships m ON m.club_id = e.club_id \
             WHERE e.id = $1 AND m.id = $2 AND ",
            targeted!()
        ))
        .bind(event.to_string())
        .bind(m.to_string())
        .fetch_one(&self.reader)
        .await?;
        Ok(n > 0)
    }

    /// (membership, display name) of everyone the event is for, by name.
    pub async fn targeted_members(&self, event: EventId) -> Result<Vec<(MembershipId, String)>> {
        let rows = q(concat!(
            "SELECT m.id, a.display_name FROM events e JOIN memberships m ON m.club_id = e.club_id \
             JOIN accounts a ON a.id = m.account_id WHERE e.id = $1 AND ",
            targeted!(),
            " ORDER BY a.display_name"
        ))
        .bind(event.to_string())
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|r| Ok((id_col(r, "id", MembershipId)?, r.try_get("display_name")?)))
            .collect()
    }
}

impl WriteTx {
    pub async fn insert_event(&mut self, e: &Event) -> Result<()> {
        let reminders: Vec<String> = e.reminders.iter().map(|m| m.to_string()).collect();
        q(
            "INSERT INTO events (id, club_id, title, place, bring, notes, timezone, rrule, \
             first_start, first_end, meet_before_min, deadline_before_min, capacity, reminders, \
             all_members, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
        )
        .bind(e.id.to_string())
        .bind(e.club_id.to_string())
        .bind(&e.title)
        .bind(&e.place)
        .bind(&e.bring)
        .bind(&e.notes)
        .bind(&e.timezone)
        .bind(&e.rrule)
        .bind(&e.first_start)
        .bind(&e.first_end)
        .bind(e.meet_before_min)
        .bind(e.deadline_before_min)
        .bind(e.capacity)
        .bind(reminders.join(","))
        .bind(e.all_members)
        .bind(e.created_by.to_string())
        .bind(e.created_at)
        .bind(e.updated_at)
        .execute(&mut self.tx)
        .await?;
        for sg in &e.targets {
            q("INSERT INTO event_targets (club_id, event_id, subgroup_id) VALUES ($1, $2, $3)")
                .bind(e.club_id.to_string())
                .bind(e.id.to_string())
                .bind(sg.to_string())
                .execute(&mut self.tx)
                .await?;
        }
        Ok(())
    }

    /// Rewrites the event's details (not its times).
    pub async fn update_event(&mut self, e: &Event) -> Result<()> {
        let reminders: Vec<String> = e.reminders.iter().map(|m| m.to_string()).collect();
        q(
            "UPDATE events SET title = $1, place = $2, bring = $3, notes = $4, capacity = $5, \
             reminders = $6, updated_at = $7, cancelled_at = $8 WHERE id = $9",
        )
        .bind(&e.title)
        .bind(&e.place)
        .bind(&e.bring)
        .bind(&e.notes)
        .bind(e.capacity)
        .bind(reminders.join(","))
        .bind(e.updated_at)
        .bind(e.cancelled_at)
        .bind(e.id.to_string())
        .execute(&mut self.tx)
        .await?;
        Ok(())
    }

    pub async fn event(&mut self, club: ClubId, id: EventId) -> Result<Option<Event>> {
        let row = q("SELECT * FROM events WHERE club_id = $1 AND id = $2")
            .bind(club.to_string())
            .bind(id.to_string())
            .fetch_optional(&mut self.tx)
            .await?;
        let Some(mut e) = row.as_ref().map(event_row).transpose()? else {
            return Ok(None);
        };
        e.targets = targets_of(&mut self.tx, id).await?;
        Ok(Some(e))
    }

    pub async fn insert_occurrence(&mut self, o: &Occurrence) -> Result<()> {
        q(
            "INSERT INTO occurrences (id, event_id, club_id, original_start, starts_at, ends_at, \
             meet_at, deadline_at, title, place, bring, notes, capacity, detached, cancelled_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        )
        .bind(o.id.to_string())
        .bind(o.event_id.to_string())
        .bind(o.club_id.to_string())
        .bind(o.original_start)
        .bind(o.starts_at)
        .bind(o.ends_at)
        .bind(o.meet_at)
        .bind(o.deadline_at)
        .bind(&o.title)
        .bind(&o.place)
        .bind(&o.bring)
        .bind(&o.notes)
        .bind(o.capacity)
        .bind(o.detached)
        .bind(o.cancelled_at)
        .bind(o.updated_at)
        .execute(&mut self.tx)
        .await?;
        Ok(())
    }

    pub async fn update_occurrence(&mut self, o: &Occurrence) -> Result<()> {
        q(
            "UPDATE occurrences SET starts_at = $1, ends_at = $2, meet_at = $3, deadline_at = $4, \
             title = $5, place = $6, bring = $7, notes = $8, capacity = $9, detached = $10, \
             cancelled_at = $11, updated_at = $12 WHERE id = $13",
        )
        .bind(o.starts_at)
        .bind(o.ends_at)
        .bind(o.meet_at)
        .bind(o.deadline_at)
        .bind(&o.title)
        .bind(&o.place)
        .bind(&o.bring)
        .bind(&o.notes)
        .bind(o.capacity)
        .bind(o.detached)
        .bind(o.cancelled_at)
        .bind(o.updated_at)
        .bind(o.id.to_string())
        .execute(&mut self.tx)
        .await?;
        Ok(())
    }

    pub async fn occurrence(
        &mut self,
        club: ClubId,
        id: OccurrenceId,
    ) -> Result<Option<Occurrence>> {
        let row = q(concat!(
            "SELECT ",
            occurrence_cols!(),
            " FROM occurrences o WHERE o.club_id = $1 AND o.id = $2"
        ))
        .bind(club.to_string())
        .bind(id.to_string())
        .fetch_optional(&mut self.tx)
        .await?;
        row.as_ref().map(occurrence_row).transpose()
    }

    pub async fn occurrences_of(&mut self, event: EventId) -> Result<Vec<Occurrence>> {
        let rows = q(concat!(
            "SELECT ",
            occurrence_cols!(),
            " FROM occurrences o WHERE o.event_id = $1 ORDER BY o.starts_at"
        ))
        .bind(event.to_string())
        .fetch_all(&mut self.tx)
        .await?;
        rows.iter().map(occurrence_row).collect()
    }

    /// Accounts of everyone the event is for, and of their guardians: who is told about
    /// a change.
    pub async fn event_audience(&mut self, event: EventId) -> Result<Vec<AccountId>> {
        let rows = q(concat!(
            "SELECT DISTINCT x.account_id FROM events e JOIN memberships m ON m.club_id = e.club_id \
             JOIN ( SELECT id AS mid, account_id FROM memberships \
                    UNION ALL SELECT g.student_id AS mid, gm.account_id FROM guardian_links g \
                    JOIN memberships gm ON gm.id = g.guardian_id AND gm.status = 'active' ) x \
               ON x.mid = m.id \
             WHERE e.id = $1 AND ",
            targeted!()
        ))
        .bind(event.to_string())
        .fetch_all(&mut self.tx)
        .await?;
        rows.iter()
            .map(|r| id_col(r, "account_id", AccountId))
            .collect()
    }
}
