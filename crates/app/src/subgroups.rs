//! Sub-groups inside a club (学年, パート) and their members.

use std::collections::HashMap;

use serde::Serialize;
use tekkan_core::{
    ClubId, MembershipId, MembershipStatus, Permission, SubgroupId, SubgroupKind, SubgroupName,
};
use tekkan_storage::{Membership, Subgroup, now_ms};

use crate::clubs::authorize_tx;
use crate::token::new_id;
use crate::{Actor, App, AppError, Result};

/// Sub-groups are for dividing a club, not a second club: this many at most.
const MAX_SUBGROUPS: i64 = 100;

/// A club's sub-groups, with who may manage them and whom they could add.
#[derive(Clone, Debug)]
pub struct Subgroups {
    pub me: Membership,
    pub groups: Vec<SubgroupView>,
    /// Active members by name, for choosing whom to add.
    pub active_members: Vec<(MembershipId, String)>,
}

/// A sub-group with its active members' names.
#[derive(Clone, Debug, Serialize)]
pub struct SubgroupView {
    pub id: SubgroupId,
    pub name: String,
    pub kind: SubgroupKind,
    pub members: Vec<(MembershipId, String)>,
}

impl App {
    pub async fn subgroups(&self, actor: &Actor, club: ClubId) -> Result<Subgroups> {
        let me = self.authorize(actor, club, Permission::ViewClub).await?;
        let members = self.db().members(club).await?;
        let active: HashMap<MembershipId, String> = members
            .into_iter()
            .filter(|m| m.membership.status == MembershipStatus::Active)
            .map(|m| (m.membership.id, m.display_name))
            .collect();
        let mut by_group: HashMap<SubgroupId, Vec<(MembershipId, String)>> = HashMap::new();
        for (sg, m) in self.db().subgroup_members(club).await? {
            if let Some(name) = active.get(&m) {
                by_group.entry(sg).or_default().push((m, name.clone()));
            }
        }
        let groups = self
            .db()
            .subgroups(club)
            .await?
            .into_iter()
            .map(|s| {
                let mut members = by_group.remove(&s.id).unwrap_or_default();
                members.sort_by(|a, b| a.1.cmp(&b.1));
                SubgroupView {
                    id: s.id,
                    name: s.name,
                    kind: s.kind,
                    members,
                }
            })
            .collect();
        let mut active_members: Vec<(MembershipId, String)> = active.into_iter().collect();
        active_members.sort_by(|a, b| a.1.cmp(&b.1));
        Ok(Subgroups {
            me,
            groups,
            active_members,
        })
    }

    /// The club's sub-groups alone (for choosing one), for any member.
    pub async fn subgroup_list(&self, actor: &Actor, club: ClubId) -> Result<Vec<Subgroup>> {
        self.authorize(actor, club, Permission::ViewClub).await?;
        Ok(self.db().subgroups(club).await?)
    }

    pub async fn create_subgroup(
        &self,
        actor: &Actor,
        club: ClubId,
        name: &str,
        kind: SubgroupKind,
    ) -> Result<Subgroup> {
        let name = SubgroupName::parse(name)?;
        let mut tx = self.db().begin().await?;
        authorize_tx(&mut tx, actor, club, Permission::ManageSubgroups).await?;
        if tx.subgroup_count(club).await? >= MAX_SUBGROUPS {
            return Err(AppError::Conflict("too_many_subgroups"));
        }
        let s = Subgroup {
            id: new_id!(SubgroupId),
            club_id: club,
            name: name.to_string(),
            kind,
            created_at: now_ms(),
        };
        tx.insert_subgroup(&s).await?;
        tx.commit(vec![actor.event(
            Some(club),
            "subgroup.create",
            format!("subgroup:{}", s.id),
            &(&s.name, kind),
        )])
        .await?;
        Ok(s)
    }

    pub async fn update_subgroup(
        &self,
        actor: &Actor,
        club: ClubId,
        id: SubgroupId,
        name: &str,
        kind: SubgroupKind,
    ) -> Result<()> {
        let name = SubgroupName::parse(name)?;
        let mut tx = self.db().begin().await?;
        authorize_tx(&mut tx, actor, club, Permission::ManageSubgroups).await?;
        tx.subgroup(club, id).await?.ok_or(AppError::NotFound)?;
        tx.rename_subgroup(id, name.as_str(), kind.as_str()).await?;
        tx.commit(vec![actor.event(
            Some(club),
            "subgroup.update",
            format!("subgroup:{id}"),
            &(name.as_str(), kind),
        )])
        .await?;
        Ok(())
    }

    pub async fn delete_subgroup(&self, actor: &Actor, club: ClubId, id: SubgroupId) -> Result<()> {
        let mut tx = self.db().begin().await?;
        authorize_tx(&mut tx, actor, club, Permission::ManageSubgroups).await?;
        tx.subgroup(club, id).await?.ok_or(AppError::NotFound)?;
        tx.delete_subgroup(id, now_ms()).await?;
        tx.commit(vec![actor.event(
            Some(club),
            "subgroup.delete",
            format!("subgroup:{id}"),
            &id,
        )])
        .await?;
        Ok(())
    }

    /// Puts an active member of the club into one of its sub-groups.
    pub async fn add_to_subgroup(
        &self,
        actor: &Actor,
        club: ClubId,
        id: SubgroupId,
        member: MembershipId,
    ) -> Result<()> {
        let mut tx = self.db().begin().await?;
        authorize_tx(&mut tx, actor, club, Permission::ManageSubgroups).await?;
        tx.subgroup(club, id).await?.ok_or(AppError::NotFound)?;
        let m = tx
            .membership(club, member)
            .await?
            .ok_or(AppError::NotFound)?;
        if m.status != MembershipStatus::Active {
            return Err(AppError::Conflict("not_active"));
        }
        tx.add_to_subgroup(id, member).await?;
        tx.commit(vec![actor.event(
            Some(club),
            "subgroup.add_member",
            format!("subgroup:{id}"),
            &member,
        )])
        .await?;
        Ok(())
    }

    pub async fn remove_from_subgroup(
        &self,
        actor: &Actor,
        club: ClubId,
        id: SubgroupId,
        member: MembershipId,
    ) -> Result<()> {
        let mut tx = self.db().begin().await?;
        authorize_tx(&mut tx, actor, club, Permission::ManageSubgroups).await?;
        tx.subgroup(club, id).await?.ok_or(AppError::NotFound)?;
        if !tx.remove_from_subgroup(id, member).await? {
            return Err(AppError::NotFound);
        }
        tx.commit(vec![actor.event(
            Some(club),
            "subgroup.remove_member",
            format!("subgroup:{id}"),
            &member,
        )])
        .await?;
        Ok(())
    }
}
