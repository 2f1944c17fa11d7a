//! Clubs, memberships and guardian links.

use crate::sql::{q, scalar};
use tekkan_core::{AccountId, ClubId, MembershipId, MembershipStatus, Role};

use crate::records::{club, id_col, membership, membership_cols, sealed_membership};
use crate::{Club, Db, GuardianLink, Member, Membership, Result, WriteTx, conflict};

/// A membership of `club` looked up by account, or by membership id.
const BY_ACCOUNT: &str = concat!(
    "SELECT ",
    membership_cols!(),
    " FROM memberships m WHERE m.club_id = $1 AND m.account_id = $2"
);
const BY_ID: &str = concat!(
    "SELECT ",
    membership_cols!(),
    " FROM memberships m WHERE m.club_id = $1 AND m.id = $2"
);

/// Runs one of the lookups above on the read pool or inside a write transaction.
async fn fetch_membership<'e, E: Into<crate::sql::Target<'e>>>(
    e: E,
    sql: &'static str,
    club: ClubId,
    key: String,
) -> Result<Option<Membership>> {
    let row = q(sql)
        .bind(club.to_string())
        .bind(key)
        .fetch_optional(e)
        .await?;
    row.as_ref().map(membership).transpose()
}

impl Db {
    pub async fn club(&self, id: ClubId) -> Result<Option<Club>> {
        let row = q("SELECT * FROM clubs WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(club).transpose()
    }

    /// Whether the club requires two-step verification of every member.
    pub async fn club_requires_mfa(&self, club: ClubId) -> Result<bool> {
        let v: Option<bool> = scalar("SELECT require_mfa FROM clubs WHERE id = $1")
            .bind(club.to_string())
            .fetch_optional(&self.reader)
            .await?;
        Ok(v.unwrap_or(false))
    }

    /// A membership of the club by its id, whatever its status.
    pub async fn membership_by_id(
        &self,
        club: ClubId,
        id: MembershipId,
    ) -> Result<Option<Membership>> {
        fetch_membership(&self.reader, BY_ID, club, id.to_string()).await
    }

    /// The caller's membership in a club, whatever its status.
    pub async fn membership_of(
        &self,
        club: ClubId,
        account: AccountId,
    ) -> Result<Option<Membership>> {
        fetch_membership(&self.reader, BY_ACCOUNT, club, account.to_string()).await
    }

    /// Clubs where the account is active or waiting for approval, by name.
    pub async fn clubs_of(&self, account: AccountId) -> Result<Vec<(Club, Membership)>> {
        let rows = q(concat!(
            "SELECT c.*, ",
            membership_cols!(),
            " FROM memberships m JOIN clubs c ON c.id = m.club_id \
             WHERE m.account_id = $1 AND m.status IN ('active', 'pending') ORDER BY c.name"
        ))
        .bind(account.to_string())
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|r| Ok((club(r)?, membership(r)?)))
            .collect()
    }

    /// Everyone who ever had a membership in the club, active first, then by name.
    pub async fn members(&self, club: ClubId) -> Result<Vec<Member>> {
        let rows = q(concat!(
            "SELECT a.display_name, a.email, ", membership_cols!(),
            " FROM memberships m JOIN accounts a ON a.id = m.account_id WHERE m.club_id = $1 \
             ORDER BY CASE m.status WHEN 'active' THEN 0 WHEN 'pending' THEN 1 ELSE 2 END, a.display_name"
        ))
        .bind(club.to_string())
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Member {
                    membership: membership(r)?,
                    display_name: r.try_get("display_name")?,
                    email: r.try_get("email")?,
                })
            })
            .collect()
    }

    /// (active, pending) members of a club, counted by the database.
    pub async fn member_counts(&self, club: ClubId) -> Result<(i64, i64)> {
        let row = q(
            "SELECT COALESCE(SUM(CASE WHEN status = 'active' THEN 1 ELSE 0 END), 0) AS active, \
             COALESCE(SUM(CASE WHEN status = 'pending' THEN 1 ELSE 0 END), 0) AS pending \
             FROM memberships WHERE club_id = $1",
        )
        .bind(club.to_string())
        .fetch_one(&self.reader)
        .await?;
        Ok((row.try_get("active")?, row.try_get("pending")?))
    }

    pub async fn guardian_links(&self, club: ClubId) -> Result<Vec<GuardianLink>> {
        let rows = q("SELECT guardian_id, student_id FROM guardian_links WHERE club_id = $1")
            .bind(club.to_string())
            .fetch_all(&self.reader)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(GuardianLink {
                    guardian_id: id_col(r, "guardian_id", MembershipId)?,
                    student_id: id_col(r, "student_id", MembershipId)?,
                })
            })
            .collect()
    }
}

impl WriteTx {
    pub async fn insert_club(&mut self, c: &Club, created_by: AccountId) -> Result<()> {
        q("INSERT INTO clubs (id, name, description, timezone, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(c.id.to_string())
            .bind(&c.name)
            .bind(&c.description)
            .bind(&c.timezone)
            .bind(created_by.to_string())
            .bind(c.created_at)
            .bind(c.created_at)
            .execute(&mut self.tx)
            .await?;
        Ok(())
    }

    pub async fn update_club(
        &mut self,
        id: ClubId,
        name: &str,
        description: &str,
        now: i64,
    ) -> Result<()> {
        q("UPDATE clubs SET name = $1, description = $2, updated_at = $3 WHERE id = $4")
            .bind(name)
            .bind(description)
            .bind(now)
            .bind(id.to_string())
            .execute(&mut self.tx)
            .await?;
        Ok(())
    }

    pub async fn set_club_mfa(&mut self, id: ClubId, required: bool) -> Result<()> {
        q("UPDATE clubs SET require_mfa = $1 WHERE id = $2")
            .bind(required)
            .bind(id.to_string())
            .execute(&mut self.tx)
            .await?;
        Ok(())
    }

    pub async fn set_club_timezone(&mut self, id: ClubId, zone: &str) -> Result<()> {
        q("UPDATE clubs SET timezone = $1 WHERE id = $2")
            .bind(zone)
            .bind(id.to_string())
            .execute(&mut self.tx)
            .await?;
        Ok(())
    }

    /// A membership as seen inside this transaction (for checks that must hold at commit).
    pub async fn membership(
        &mut self,
        club: ClubId,
        id: MembershipId,
    ) -> Result<Option<Membership>> {
        fetch_membership(&mut self.tx, BY_ID, club, id.to_string()).await
    }

    pub async fn membership_of(
        &mut self,
        club: ClubId,
        account: AccountId,
    ) -> Result<Option<Membership>> {
        fetch_membership(&mut self.tx, BY_ACCOUNT, club, account.to_string()).await
    }

    /// The account's membership in the club, and whether it matches its row seal: what
    /// authorizes every write, in one round trip instead of two.
    pub async fn sealed_membership_of(
        &mut self,
        club: ClubId,
        account: AccountId,
    ) -> Result<Option<(Membership, bool)>> {
        static SQL: std::sync::LazyLock<[String; 2]> = std::sync::LazyLock::new(|| {
            [false, true].map(|pg| {
                format!(
                    "SELECT {}, {} FROM memberships m WHERE m.club_id = $1 AND m.account_id = $2",
                    membership_cols!(),
                    crate::row_seals::seal_cols("membership", "m", pg)
                )
            })
        });
        let sql = SQL[usize::from(self.tx.is_postgres())].clone();
        let row = crate::sql::q_built(sql)
            .bind(club.to_string())
            .bind(account.to_string())
            .fetch_optional(&mut self.tx)
            .await?;
        row.map(|r| sealed_membership(&self.audit_key, &r))
            .transpose()
    }

    pub async fn active_owner_count(&mut self, club: ClubId) -> Result<i64> {
        let n = scalar("SELECT COUNT(*) FROM memberships WHERE club_id = $1 AND role = 'owner' AND status = 'active'")
            .bind(club.to_string())
            .fetch_one(&mut self.tx)
            .await?;
        Ok(n)
    }

    /// Inserts a membership, or brings back the account's earlier one in this club (a
    /// member who left and is invited again keeps one history).
    pub async fn upsert_membership(&mut self, m: &Membership) -> Result<MembershipId> {
        let id: String = scalar(
            "INSERT INTO memberships (id, club_id, account_id, role, status, joined_at, left_at) \
             VALUES ($1, $2, $3, $4, $5, $6, NULL) \
             ON CONFLICT (club_id, account_id) DO UPDATE SET role = excluded.role, status = excluded.status, \
             joined_at = excluded.joined_at, left_at = NULL RETURNING id",
        )
        .bind(m.id.to_string())
        .bind(m.club_id.to_string())
        .bind(m.account_id.to_string())
        .bind(m.role.as_str())
        .bind(m.status.as_str())
        .bind(m.joined_at)
        .fetch_one(&mut self.tx)
        .await?;
        MembershipId::parse(&id)
            .ok_or_else(|| crate::StorageError::Corrupt(format!("membership id {id:?}")))
    }

    pub async fn set_role(&mut self, id: MembershipId, role: Role) -> Result<()> {
        q("UPDATE memberships SET role = $1 WHERE id = $2")
            .bind(role.as_str())
            .bind(id.to_string())
            .execute(&mut self.tx)
            .await?;
        Ok(())
    }

    /// Changes the status; `left_at` is set when the membership ends and cleared when it
    /// becomes active again.
    pub async fn set_status(
        &mut self,
        id: MembershipId,
        status: MembershipStatus,
        now: i64,
    ) -> Result<()> {
        let ended = matches!(
            status,
            MembershipStatus::Left | MembershipStatus::Removed | MembershipStatus::Rejected
        );
        q("UPDATE memberships SET status = $1, left_at = $2 WHERE id = $3")
            .bind(status.as_str())
            .bind(ended.then_some(now))
            .bind(id.to_string())
            .execute(&mut self.tx)
            .await?;
        Ok(())
    }

    pub async fn link_guardian(
        &mut self,
        club: ClubId,
        guardian: MembershipId,
        student: MembershipId,
        now: i64,
    ) -> Result<()> {
        q("INSERT INTO guardian_links (club_id, guardian_id, student_id, created_at) VALUES ($1, $2, $3, $4)")
            .bind(club.to_string())
            .bind(guardian.to_string())
            .bind(student.to_string())
            .bind(now)
            .execute(&mut self.tx)
            .await
            .map_err(conflict("already linked"))?;
        Ok(())
    }

    /// Removes one link; returns whether it existed.
    pub async fn unlink_guardian(
        &mut self,
        guardian: MembershipId,
        student: MembershipId,
    ) -> Result<bool> {
        let r = q("DELETE FROM guardian_links WHERE guardian_id = $1 AND student_id = $2")
            .bind(guardian.to_string())
            .bind(student.to_string())
            .execute(&mut self.tx)
            .await?;
        Ok(r.rows_affected() > 0)
    }

    /// Removes every link in which the membership is the guardian.
    pub async fn unlink_all_of_guardian(&mut self, guardian: MembershipId) -> Result<()> {
        q("DELETE FROM guardian_links WHERE guardian_id = $1")
            .bind(guardian.to_string())
            .execute(&mut self.tx)
            .await?;
        Ok(())
    }
}
