//! Reminder jobs: when to remind an occurrence's non-responders, and which were done.

use crate::sql::{q, scalar};
use tekkan_core::{ClubId, MembershipId, OccurrenceId};

use crate::records::id_col;
use crate::{Db, Result, WriteTx};

impl Db {
    /// Pending reminder jobs due at `now`: (occurrence, minutes before the deadline).
    pub async fn due_reminders(&self, now: i64, limit: i64) -> Result<Vec<(OccurrenceId, i64)>> {
        let rows = q("SELECT occurrence_id, before_min FROM reminder_jobs \
             WHERE done_at IS NULL AND due_at <= $1 ORDER BY due_at LIMIT $2")
        .bind(now)
        .bind(limit)
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    id_col(r, "occurrence_id", OccurrenceId)?,
                    r.try_get("before_min")?,
                ))
            })
            .collect()
    }

    /// The club an occurrence belongs to.
    pub async fn occurrence_club(&self, occ: OccurrenceId) -> Result<Option<ClubId>> {
        let row = q("SELECT club_id FROM occurrences WHERE id = $1")
            .bind(occ.to_string())
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref()
            .map(|r| id_col(r, "club_id", ClubId))
            .transpose()
    }

    /// When the next pending reminder is due.
    pub async fn next_reminder_at(&self) -> Result<Option<i64>> {
        let n = scalar("SELECT MIN(due_at) FROM reminder_jobs WHERE done_at IS NULL")
            .fetch_one(&self.reader)
            .await?;
        Ok(n)
    }
}

impl WriteTx {
    /// Replaces the occurrence's pending reminders with one per offset that is still in
    /// the future. Reminders already sent stay recorded as sent.
    pub async fn schedule_reminders(
        &mut self,
        occ: OccurrenceId,
        deadline_at: i64,
        offsets: &[i64],
        now: i64,
    ) -> Result<()> {
        q("DELETE FROM reminder_jobs WHERE occurrence_id = $1 AND done_at IS NULL")
            .bind(occ.to_string())
            .execute(&mut self.tx)
            .await?;
        for before in offsets {
            let due = deadline_at - before * 60_000;
            if due <= now {
                continue;
            }
            q(
                "INSERT INTO reminder_jobs (club_id, occurrence_id, before_min, due_at) \
                 VALUES ((SELECT club_id FROM occurrences WHERE id = $1), $2, $3, $4) \
                 ON CONFLICT (club_id, occurrence_id, before_min) DO NOTHING",
            )
            .bind(occ.to_string())
            .bind(occ.to_string())
            .bind(before)
            .bind(due)
            .execute(&mut self.tx)
            .await?;
        }
        Ok(())
    }

    /// Claims a due reminder job. False if it was already done: the claim and the
    /// notifications it creates commit together, so a reminder goes out once.
    pub async fn claim_reminder(
        &mut self,
        occ: OccurrenceId,
        before: i64,
        now: i64,
    ) -> Result<bool> {
        let r = q(
            "UPDATE reminder_jobs SET done_at = $1 WHERE occurrence_id = $2 AND before_min = $3 \
             AND done_at IS NULL",
        )
        .bind(now)
        .bind(occ.to_string())
        .bind(before)
        .execute(&mut self.tx)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Records a "remind now" and says when the previous one was.
    pub async fn mark_reminded(&mut self, occ: OccurrenceId, now: i64) -> Result<Option<i64>> {
        let prev: Option<i64> = scalar("SELECT last_reminded_at FROM occurrences WHERE id = $1")
            .bind(occ.to_string())
            .fetch_one(&mut self.tx)
            .await?;
        q("UPDATE occurrences SET last_reminded_at = $1 WHERE id = $2")
            .bind(now)
            .bind(occ.to_string())
            .execute(&mut self.tx)
            .await?;
        Ok(prev)
    }

    /// Whether `guardian` is linked to `student`.
    pub async fn guards(&mut self, guardian: MembershipId, student: MembershipId) -> Result<bool> {
        let n: i64 = scalar(
            "SELECT COUNT(*) FROM guardian_links WHERE guardian_id = $1 AND student_id = $2",
        )
        .bind(guardian.to_string())
        .bind(student.to_string())
        .fetch_one(&mut self.tx)
        .await?;
        Ok(n > 0)
    }
}
