//! 出欠: answering for oneself, for one's child, or as an officer; the waiting list;
//! what each person sees of an occurrence.

use serde::{Deserialize, Serialize};
use tekkan_core::schedule::{Zone, parse_date};
use tekkan_core::{
    AccountId, AnswerComment, AnswerStatus, AnsweredAs, ClubId, MembershipId, MembershipStatus,
    OccurrenceId, Permission, Reply, Role, ValidationError, place_for,
};
use tekkan_storage::{Answer, Event, Membership, Occurrence, ScheduleRow, Tally, WriteTx, now_ms};

use crate::clubs::authorize_found;
use crate::events::event_notice;
use crate::notify::{NoticeKind, notify};
use crate::{Actor, App, AppError, Result};

mod roll_call;
pub use roll_call::{OPENS_BEFORE_MS, RollCall, RollCallLine};

/// An answer as typed.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct AnswerInput {
    pub status: Reply,
    #[serde(default)]
    pub comment: String,
    /// For 未定: the date by which they will know (`2026-12-05`).
    #[serde(default)]
    pub decide_by: Option<String>,
}

/// An answer once its text is checked, as it waits for its batch.
struct Typed {
    status: Reply,
    comment: String,
    decide_by: Option<tekkan_core::schedule::Date>,
}

/// One occurrence as a member of its club sees it.
#[derive(Clone, Debug)]
pub struct OccurrenceView {
    pub occurrence: Occurrence,
    pub event: Event,
    pub me: Membership,
    pub tally: Tally,
    pub answers: Vec<(Answer, String)>,
    /// People the caller answers for here: themselves if invited, and their children.
    pub mine: Vec<(MembershipId, String, Option<Answer>)>,
    /// For those who manage attendance: who has not answered.
    pub non_responders: Option<Vec<(MembershipId, String)>>,
    pub can_manage_events: bool,
    pub can_manage_attendance: bool,
}

impl App {
    pub async fn occurrence_view(
        &self,
        actor: &Actor,
        club: ClubId,
        id: OccurrenceId,
    ) -> Result<OccurrenceView> {
        let me = self.authorize(actor, club, Permission::ViewClub).await?;
        let (occurrence, event) = self
            .db()
            .occurrence(club, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let answers = self.db().answers(id).await?;
        let tally = self.db().tally(id).await?;
        let targeted = self.db().targeted_members(event.id).await?;
        let links = self.db().guardian_links(club).await?;
        let children: Vec<MembershipId> = links
            .iter()
            .filter(|l| l.guardian_id == me.id)
            .map(|l| l.student_id)
            .collect();
        let answer_of = |m: MembershipId| {
            answers
                .iter()
                .find(|(a, _)| a.membership_id == m)
                .map(|a| a.0.clone())
        };
        let mine = targeted
            .iter()
            .filter(|(m, _)| *m == me.id || children.contains(m))
            .map(|(m, name)| (*m, name.clone(), answer_of(*m)))
            .collect();
        let can_manage_attendance = me.role.allows(Permission::ManageAttendance);
        let non_responders = can_manage_attendance.then(|| {
            targeted
                .iter()
                .filter(|(m, _)| answer_of(*m).is_none())
                .cloned()
                .collect()
        });
        Ok(OccurrenceView {
            can_manage_events: me.role.allows(Permission::ManageEvents),
            can_manage_attendance,
            occurrence,
            event,
            me,
            tally,
            answers,
            mine,
            non_responders,
        })
    }

    /// The caller's schedule for the next `days` days across all their clubs (and their
    /// children's), at most `limit` lines.
    pub async fn schedule(&self, actor: &Actor, days: i64, limit: i64) -> Result<Vec<ScheduleRow>> {
        // Events stay listed until they end, not only until they start.
        let from = now_ms() - 6 * 3_600_000;
        let to = now_ms() + days.clamp(1, 400) * 86_400_000;
        let rows = self
            .db()
            .schedule(actor.account, from, to, limit.clamp(1, 200))
            .await?;
        let now = now_ms();
        Ok(rows
            .into_iter()
            .filter(|r| r.occurrence.ends_at > now)
            .collect())
    }

    /// The line of the actor's schedule for `id` and `member`, as the schedule shows it
    /// (after an answer made in place). Not found unless the actor answers for `member`
    /// (themselves, or their child) and the occurrence is for them.
    pub async fn schedule_line(
        &self,
        actor: &Actor,
        club: ClubId,
        id: OccurrenceId,
        member: MembershipId,
    ) -> Result<ScheduleRow> {
        let (o, _) = self
            .db()
            .occurrence(club, id)
            .await?
            .ok_or(AppError::NotFound)?;
        // Only the lines starting at that moment are read (by club and start time).
        let rows = self
            .db()
            .schedule(actor.account, o.starts_at, o.starts_at + 1, 200)
            .await?;
        rows.into_iter()
            .find(|r| r.occurrence.id == id && r.member == member)
            .ok_or(AppError::NotFound)
    }

    /// Answers for `member`: the member themselves or their guardian before the deadline;
    /// an officer (coach) at any time. Answers are the busiest writes of all: they
    /// commit in batches with others arriving at the same time (see
    /// [`tekkan_storage::Db::write_batched`]), each checked and applied on its own.
    pub async fn answer(
        &self,
        actor: &Actor,
        club: ClubId,
        id: OccurrenceId,
        member: MembershipId,
        input: &AnswerInput,
    ) -> Result<Answer> {
        let comment = AnswerComment::parse(&input.comment)?.to_string();
        let decide_by = match (&input.decide_by, input.status) {
            (Some(d), Reply::Maybe) if !d.trim().is_empty() => Some(parse_date("decide_by", d)?),
            _ => None,
        };
        let typed = Typed {
            status: input.status,
            comment,
            decide_by,
        };
        let (app, actor) = (self.clone(), actor.clone());
        self.db()
            .write_batched(&club.to_string(), &id.to_string(), move |tx| {
                Box::pin(async move { app.answer_in(tx, &actor, club, id, member, typed).await })
            })
            .await
    }

    /// One answer inside its batch's transaction: the checks, the write, and the audit
    /// events that describe it.
    async fn answer_in(
        &self,
        tx: &mut WriteTx,
        actor: &Actor,
        club: ClubId,
        id: OccurrenceId,
        member: MembershipId,
        typed: Typed,
    ) -> Result<(Answer, Vec<tekkan_audit::Event>)> {
        let Typed {
            status: reply,
            comment,
            decide_by,
        } = typed;
        let now = now_ms();
        // Who is answering, and everything the decision needs, in one round trip.
        let ctx = tx.answer_facts(club, id, member, actor.account).await?;
        let me = authorize_found(ctx.actor, Permission::ViewClub)?;
        let facts = ctx.facts.ok_or(AppError::NotFound)?;
        let o = facts.occurrence;
        let zone = Zone::parse(&facts.timezone).unwrap_or_else(|_| Zone::tokyo());
        let subject_status = facts.member_status.ok_or(AppError::NotFound)?;
        let officer = me.role.allows(Permission::ManageAttendance);
        let as_ = if member == me.id {
            AnsweredAs::Member
        } else if me.role == Role::Guardian && tx.guards(me.id, member).await? {
            AnsweredAs::Guardian
        } else if officer {
            AnsweredAs::Officer
        } else {
            return Err(AppError::Forbidden);
        };
        // An officer answering for themselves after the deadline does so as an officer.
        let as_ = if o.deadline_at <= now && officer {
            AnsweredAs::Officer
        } else {
            as_
        };
        if o.cancelled_at.is_some() {
            return Err(AppError::Conflict("cancelled"));
        }
        if o.deadline_at <= now && as_ != AnsweredAs::Officer {
            return Err(AppError::Conflict("deadline_passed"));
        }
        if subject_status != MembershipStatus::Active || !facts.targeted {
            return Err(AppError::Conflict("not_invited"));
        }
        if let Some(d) = decide_by {
            let event_day = zone.local(o.starts_at).date();
            let today = zone.local(now).date();
            if d < today || d > event_day {
                return Err(ValidationError::Rule {
                    field: "decide_by",
                    code: "decide_by_out_of_range",
                }
                .into());
            }
        }
        let prev_status = facts.prev.map(|(s, _)| s);
        let (status, queued_at) = match (reply, facts.prev) {
            // Keeping a place, or a place in the queue, when only the comment changes.
            (Reply::Yes, Some((AnswerStatus::Yes, _))) => (AnswerStatus::Yes, None),
            (Reply::Yes, Some((AnswerStatus::Waitlisted, queued_at))) => {
                (AnswerStatus::Waitlisted, queued_at)
            }
            (reply, _) => {
                let s = place_for(reply, o.capacity, facts.places_taken);
                (s, (s == AnswerStatus::Waitlisted).then_some(now))
            }
        };
        let a = Answer {
            occurrence_id: id,
            membership_id: member,
            status,
            comment,
            decide_by: decide_by.map(|d| d.to_string()),
            queued_at,
            answered_by: actor.account,
            answered_as: as_,
            answered_at: now,
        };
        tx.put_answer(&a).await?;
        let mut events = vec![actor.event(
            Some(club),
            "attendance.answer",
            format!("occurrence:{id}/member:{member}"),
            &(status, &a.comment, &a.decide_by, as_),
        )];
        if prev_status == Some(AnswerStatus::Yes) && status != AnswerStatus::Yes {
            let promoted = self.promote_waiting(tx, &o, now).await?;
            if !promoted.is_empty() {
                events.push(actor.event(
                    Some(club),
                    "attendance.promote",
                    format!("occurrence:{id}"),
                    &promoted,
                ));
            }
        }
        Ok((a, events))
    }

    /// Moves people from the waiting list into free places, oldest first, and tells
    /// them (and their guardians). Returns who was promoted.
    pub(crate) async fn promote_waiting(
        &self,
        tx: &mut WriteTx,
        o: &Occurrence,
        now: i64,
    ) -> Result<Vec<MembershipId>> {
        let mut promoted = Vec::new();
        let (zone, club_name) = self.club_zone(o.club_id).await?;
        loop {
            let taken = tx.places_taken(o.id).await?;
            if o.capacity.is_some_and(|c| taken >= c) {
                break;
            }
            let Some(mut next) = tx.first_waiting(o.id).await? else {
                break;
            };
            next.status = AnswerStatus::Yes;
            next.queued_at = None;
            tx.put_answer(&next).await?;
            let people: Vec<AccountId> = tx.member_and_guardians(next.membership_id).await?;
            let n = event_notice(
                NoticeKind::WaitlistPromoted,
                o.club_id,
                o,
                (&club_name, zone.name()),
            );
            notify(tx, self.channels(), people, None, &n, now).await?;
            promoted.push(next.membership_id);
        }
        Ok(promoted)
    }
}
