//! Sub-groups (学年, パート) and who is in them.

use crate::sql::{q, scalar};
use tekkan_core::{ClubId, MembershipId, SubgroupId};

use crate::records::{id_col, subgroup};
use crate::{Db, Result, Subgroup, WriteTx, conflict};

impl Db {
    /// The club's sub-groups that were not deleted, grades first, then by name.
    pub async fn subgroups(&self, club: ClubId) -> Result<Vec<Subgroup>> {
        let rows = q(
            "SELECT * FROM subgroups WHERE club_id = $1 AND deleted_at IS NULL \
             ORDER BY CASE kind WHEN 'grade' THEN 0 WHEN 'part' THEN 1 ELSE 2 END, name",
        )
        .bind(club.to_string())
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(subgroup).collect()
    }

    /// (sub-group, membership) pairs of the club's live sub-groups.
    pub async fn subgroup_members(&self, club: ClubId) -> Result<Vec<(SubgroupId, MembershipId)>> {
        let rows = q(
            "SELECT sm.subgroup_id, sm.membership_id FROM subgroup_members sm \
             JOIN subgroups s ON s.id = sm.subgroup_id WHERE s.club_id = $1 AND s.deleted_at IS NULL",
        )
        .bind(club.to_string())
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    id_col(r, "subgroup_id", SubgroupId)?,
                    id_col(r, "membership_id", MembershipId)?,
                ))
            })
            .collect()
    }
}

impl WriteTx {
    pub async fn insert_subgroup(&mut self, s: &Subgroup) -> Result<()> {
        q(
            "INSERT INTO subgroups (id, club_id, name, kind, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(s.id.to_string())
        .bind(s.club_id.to_string())
        .bind(&s.name)
        .bind(s.kind.as_str())
        .bind(s.created_at)
        .execute(&mut self.tx)
        .await?;
        Ok(())
    }

    /// A live sub-group of this club, or `None` (another club's id, or deleted).
    pub async fn subgroup(&mut self, club: ClubId, id: SubgroupId) -> Result<Option<Subgroup>> {
        let row =
            q("SELECT * FROM subgroups WHERE club_id = $1 AND id = $2 AND deleted_at IS NULL")
                .bind(club.to_string())
                .bind(id.to_string())
                .fetch_optional(&mut self.tx)
                .await?;
        row.as_ref().map(subgroup).transpose()
    }

    pub async fn rename_subgroup(&mut self, id: SubgroupId, name: &str, kind: &str) -> Result<()> {
        q("UPDATE subgroups SET name = $1, kind = $2 WHERE id = $3")
            .bind(name)
            .bind(kind)
            .bind(id.to_string())
            .execute(&mut self.tx)
            .await?;
        Ok(())
    }

    /// Marks a sub-group deleted; its row stays so that older records can name it.
    pub async fn delete_subgroup(&mut self, id: SubgroupId, now: i64) -> Result<()> {
        q("UPDATE subgroups SET deleted_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id.to_string())
            .execute(&mut self.tx)
            .await?;
        Ok(())
    }

    pub async fn add_to_subgroup(&mut self, sg: SubgroupId, m: MembershipId) -> Result<()> {
        q(
            "INSERT INTO subgroup_members (club_id, subgroup_id, membership_id) \
           VALUES ((SELECT club_id FROM subgroups WHERE id = $1), $2, $3)",
        )
        .bind(sg.to_string())
        .bind(sg.to_string())
        .bind(m.to_string())
        .execute(&mut self.tx)
        .await
        .map_err(conflict("already in this sub-group"))?;
        Ok(())
    }

    pub async fn remove_from_subgroup(&mut self, sg: SubgroupId, m: MembershipId) -> Result<bool> {
        let r = q("DELETE FROM subgroup_members WHERE subgroup_id = $1 AND membership_id = $2")
            .bind(sg.to_string())
            .bind(m.to_string())
            .execute(&mut self.tx)
            .await?;
        Ok(r.rows_affected() > 0)
    }

    /// How many live sub-groups the club has (a cap keeps lists usable).
    pub async fn subgroup_count(&mut self, club: ClubId) -> Result<i64> {
        let n = scalar("SELECT COUNT(*) FROM subgroups WHERE club_id = $1 AND deleted_at IS NULL")
            .bind(club.to_string())
            .fetch_one(&mut self.tx)
            .await?;
        Ok(n)
    }
}
