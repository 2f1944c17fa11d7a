//! Reminders to those who have not answered: on a schedule (run by the server's
//! scheduler, at most once per job) and on an officer's "remind now".

use tekkan_core::{ClubId, OccurrenceId, Permission};
use tekkan_storage::now_ms;

use crate::actor::event;
use crate::clubs::authorize_tx;
use crate::{Actor, App, AppError, Origin, Result};

/// An officer may remind an occurrence's non-responders once per this long.
const REMIND_NOW_EVERY_MS: i64 = 10 * 60 * 1000;

impl App {
    /// Reminds the occurrence's non-responders (and their guardians) now.
    pub async fn remind_now(&self, actor: &Actor, club: ClubId, id: OccurrenceId) -> Result<usize> {
        let (zone, club_name) = self.club_zone(club).await?;
        let now = now_ms();
        let mut tx = self.db().begin().await?;
        authorize_tx(&mut tx, actor, club, Permission::ManageAttendance).await?;
        let o = tx.occurrence(club, id).await?.ok_or(AppError::NotFound)?;
        if o.cancelled_at.is_some() {
            return Err(AppError::Conflict("cancelled"));
        }
        if o.ends_at <= now {
            return Err(AppError::Conflict("event_over"));
        }
        if tx
            .mark_reminded(id, now)
            .await?
            .is_some_and(|t| now - t < REMIND_NOW_EVERY_MS)
        {
            return Err(AppError::Conflict("reminded_recently"));
        }
        let count = self
            .remind_non_responders(&mut tx, &o, (&club_name, zone.name()), now)
            .await?;
        tx.commit(vec![actor.event(
            Some(club),
            "attendance.remind",
            format!("occurrence:{id}"),
            &count,
        )])
        .await?;
        Ok(count)
    }

    /// Sends every reminder that is due. Each job is claimed in the transaction that
    /// writes its notifications, so a crash or a restart never sends one twice, and a
    /// job missed while the server was down goes out when it starts, if the deadline
    /// has not passed.
    pub async fn run_due_reminders(&self) -> Result<usize> {
        let now = now_ms();
        let mut sent = 0;
        for (occ, before) in self.db().due_reminders(now, 200).await? {
            let mut tx = self.db().begin().await?;
            if !tx.claim_reminder(occ, before, now).await? {
                continue;
            }
            let club = match self.db().occurrence_club(occ).await? {
                Some(c) => c,
                None => continue,
            };
            let Some(o) = tx.occurrence(club, occ).await? else {
                continue;
            };
            let mut count = 0;
            if o.cancelled_at.is_none() && o.deadline_at > now {
                let (zone, club_name) = self.club_zone(club).await?;
                count = self
                    .remind_non_responders(&mut tx, &o, (&club_name, zone.name()), now)
                    .await?;
            }
            tx.commit(vec![event(
                None,
                None,
                &Origin::default(),
                Some(club),
                "attendance.reminder",
                format!("occurrence:{occ}"),
                &(before, count),
            )])
            .await?;
            sent += count;
        }
        Ok(sent)
    }

    /// When the scheduler should next look for work.
    pub async fn next_reminder_at(&self) -> Result<Option<i64>> {
        Ok(self.db().next_reminder_at().await?)
    }
}
