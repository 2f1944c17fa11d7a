//! The roll call taken on the day: who actually came to an occurrence. Once an
//! occurrence has any row here, its rows (not the answers) decide attendance.

use crate::events::targeted;
use crate::records::id_col;
use crate::sql::{q, scalar};
use tekkan_core::{AccountId, ClubId, MembershipId, OccurrenceId};

use crate::{Db, Result, WriteTx};

impl Db {
    /// The roll call of `occ`: who was checked, and whether they came.
    pub async fn roll_call(&self, occ: OccurrenceId) -> Result<Vec<(MembershipId, bool)>> {
        let rows = q("SELECT membership_id, present FROM roll_calls WHERE occurrence_id = $1")
            .bind(occ.to_string())
            .fetch_all(&self.reader)
            .await?;
        rows.iter()
            .map(|r| {
                let present: i64 = r.try_get("present")?;
                Ok((id_col(r, "membership_id", MembershipId)?, present != 0))
            })
            .collect()
    }

    /// Every roll call row of the club's occurrences starting in `[from, to)`.
    pub async fn club_roll_calls(
        &self,
        club: ClubId,
        from: i64,
        to: i64,
    ) -> Result<Vec<(OccurrenceId, MembershipId, bool)>> {
        let rows = q(
            "SELECT r.occurrence_id, r.membership_id, r.present FROM roll_calls r \
             JOIN occurrences o ON o.id = r.occurrence_id \
             WHERE o.club_id = $1 AND o.starts_at >= $2 AND o.starts_at < $3",
        )
        .bind(club.to_string())
        .bind(from)
        .bind(to)
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|r| {
                let present: i64 = r.try_get("present")?;
                Ok((
                    id_col(r, "occurrence_id", OccurrenceId)?,
                    id_col(r, "membership_id", MembershipId)?,
                    present != 0,
                ))
            })
            .collect()
    }
}

impl WriteTx {
    /// Whether `member` is one of the people `occ` is for (active, not a guardian, and
    /// invited: everyone, or a sub-group they are in).
    pub async fn is_targeted(&mut self, occ: OccurrenceId, member: MembershipId) -> Result<bool> {
        let n: i64 = scalar(concat!(
            "SELECT COUNT(*) FROM occurrences o JOIN events e ON e.id = o.event_id \
             JOIN memberships m ON m.club_id = e.club_id WHERE o.id = $1 AND m.id = $2 AND ",
            targeted!()
        ))
        .bind(occ.to_string())
        .bind(member.to_string())
        .fetch_one(&mut self.tx)
        .await?;
        Ok(n > 0)
    }

    /// Records whether `member` came (`Some`), or clears the check (`None`). Returns
    /// false when nothing changed.
    pub async fn set_roll_call(
        &mut self,
        club: ClubId,
        occ: OccurrenceId,
        member: MembershipId,
        present: Option<bool>,
        by: AccountId,
        now: i64,
    ) -> Result<bool> {
        let r = match present {
            Some(p) => {
                q(
                    "INSERT INTO roll_calls (club_id, occurrence_id, membership_id, present, \
                     checked_by, checked_at) VALUES ($6, $1, $2, $3, $4, $5) \
                     ON CONFLICT (club_id, occurrence_id, membership_id) DO UPDATE \
                     SET present = $3, checked_by = $4, checked_at = $5 \
                     WHERE roll_calls.present <> $3",
                )
                .bind(occ.to_string())
                .bind(member.to_string())
                .bind(i64::from(p))
                .bind(by.to_string())
                .bind(now)
                .bind(club.to_string())
                .execute(&mut self.tx)
                .await?
            }
            None => {
                q("DELETE FROM roll_calls \
                   WHERE club_id = $1 AND occurrence_id = $2 AND membership_id = $3")
                .bind(club.to_string())
                .bind(occ.to_string())
                .bind(member.to_string())
                .execute(&mut self.tx)
                .await?
            }
        };
        Ok(r.rows_affected() > 0)
    }
}
