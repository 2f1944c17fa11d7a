//! The roll call on the day: an officer marks who actually came, one tap a person. For
//! an occurrence that had a roll call, the attendance rate counts it in place of the
//! answers (see [`crate::report`]).

use serde::Serialize;
use tekkan_core::{AnswerStatus, ClubId, MembershipId, OccurrenceId, Permission};
use tekkan_storage::now_ms;

use crate::{Actor, App, AppError, Result};

/// How long before the start the roll call opens (people arrive early).
pub const OPENS_BEFORE_MS: i64 = 2 * 3_600_000;

/// One person an occurrence is for, as an officer's list shows them.
#[derive(Clone, Debug, Serialize)]
pub struct RollCallLine {
    pub membership_id: MembershipId,
    pub display_name: String,
    pub answer: Option<AnswerStatus>,
    pub comment: String,
    /// At the roll call: came (`true`), did not (`false`), not checked (`None`).
    pub present: Option<bool>,
}

/// An officer's list for an occurrence: each person with their answer and roll call.
#[derive(Clone, Debug, Serialize)]
pub struct RollCall {
    pub lines: Vec<RollCallLine>,
    /// Whether the roll call can be taken now (from two hours before the start, and
    /// not for a cancelled occurrence).
    pub roll_call_open: bool,
}

impl App {
    /// The list of the people occurrence `id` is for, for those who manage attendance.
    pub async fn roll_call(
        &self,
        actor: &Actor,
        club: ClubId,
        id: OccurrenceId,
    ) -> Result<RollCall> {
        self.authorize(actor, club, Permission::ManageAttendance)
            .await?;
        let (o, event) = self
            .db()
            .occurrence(club, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let answers = self.db().answers(id).await?;
        let checks = self.db().roll_call(id).await?;
        let lines = self
            .db()
            .targeted_members(event.id)
            .await?
            .into_iter()
            .map(|(m, name)| {
                let a = answers.iter().find(|(a, _)| a.membership_id == m);
                RollCallLine {
                    membership_id: m,
                    display_name: name,
                    answer: a.map(|(a, _)| a.status),
                    comment: a.map(|(a, _)| a.comment.clone()).unwrap_or_default(),
                    present: checks.iter().find(|(c, _)| *c == m).map(|(_, p)| *p),
                }
            })
            .collect();
        Ok(RollCall {
            lines,
            roll_call_open: o.cancelled_at.is_none() && now_ms() >= o.starts_at - OPENS_BEFORE_MS,
        })
    }

    /// Marks whether `member` came to occurrence `id`, or clears the mark (`None`). For
    /// those who manage attendance, once the roll call is open; only for the people the
    /// occurrence is for. Audited; returns false when nothing changed.
    pub async fn set_roll_call(
        &self,
        actor: &Actor,
        club: ClubId,
        id: OccurrenceId,
        member: MembershipId,
        present: Option<bool>,
    ) -> Result<bool> {
        self.authorize(actor, club, Permission::ManageAttendance)
            .await?;
        let (o, _) = self
            .db()
            .occurrence(club, id)
            .await?
            .ok_or(AppError::NotFound)?;
        if o.cancelled_at.is_some() {
            return Err(AppError::Conflict("cancelled"));
        }
        let now = now_ms();
        if now < o.starts_at - OPENS_BEFORE_MS {
            return Err(AppError::Conflict("roll_call_not_open"));
        }
        let mut tx = self.db().begin().await?;
        if !tx.is_targeted(id, member).await? {
            return Err(AppError::NotFound);
        }
        if !tx
            .set_roll_call(club, id, member, present, actor.account, now)
            .await?
        {
            return Ok(false);
        }
        let ev = actor.event(
            Some(club),
            "attendance.roll_call",
            format!("occurrence:{id}/member:{member}"),
            &present,
        );
        tx.commit(vec![ev]).await?;
        Ok(true)
    }
}
