//! The roster, roles, approvals, leaving and removal, and guardian links.

use std::collections::HashMap;

use serde::Serialize;
use tekkan_core::{ClubId, MembershipId, MembershipStatus, Permission, Role};
use tekkan_storage::{Member, Membership, now_ms};

use crate::clubs::authorize_tx;
use crate::{Actor, App, AppError, Result};

/// One line of the roster as the caller may see it.
#[derive(Clone, Debug, Serialize)]
pub struct RosterEntry {
    pub membership_id: MembershipId,
    pub display_name: String,
    /// Only for those who manage members.
    pub email: Option<String>,
    pub role: Role,
    pub status: MembershipStatus,
    pub joined_at: i64,
    pub left_at: Option<i64>,
    pub subgroups: Vec<String>,
    /// For a guardian: the students they answer for.
    pub guardian_of: Vec<(MembershipId, String)>,
    /// For a student: their guardians.
    pub guardians: Vec<(MembershipId, String)>,
}

/// The roster with what the caller may do on it.
#[derive(Clone, Debug)]
pub struct Roster {
    pub me: Membership,
    pub can_manage: bool,
    pub entries: Vec<RosterEntry>,
}

impl App {
    /// Active members for everyone in the club; officers also see requests and former
    /// members (whose history stays), and e-mail addresses.
    pub async fn roster(&self, actor: &Actor, club: ClubId) -> Result<Roster> {
        let me = self.authorize(actor, club, Permission::ViewRoster).await?;
        let can_manage = me.role.allows(Permission::ChangeRoles);
        let members = self.db().members(club).await?;
        let names: HashMap<MembershipId, String> = members
            .iter()
            .map(|m| (m.membership.id, m.display_name.clone()))
            .collect();
        let sg_names: HashMap<_, _> = self
            .db()
            .subgroups(club)
            .await?
            .into_iter()
            .map(|s| (s.id, s.name))
            .collect();
        let mut in_groups: HashMap<MembershipId, Vec<String>> = HashMap::new();
        for (sg, m) in self.db().subgroup_members(club).await? {
            if let Some(n) = sg_names.get(&sg) {
                in_groups.entry(m).or_default().push(n.clone());
            }
        }
        // Who is whose guardian is family data: members see only their own links.
        let links: Vec<_> = self
            .db()
            .guardian_links(club)
            .await?
            .into_iter()
            .filter(|l| can_manage || l.guardian_id == me.id || l.student_id == me.id)
            .collect();
        let named = |id: MembershipId| (id, names.get(&id).cloned().unwrap_or_default());
        let entries = members
            .into_iter()
            .filter(|m| can_manage || m.membership.status == MembershipStatus::Active)
            .map(
                |Member {
                     membership: m,
                     display_name,
                     email,
                 }| RosterEntry {
                    membership_id: m.id,
                    display_name,
                    email: can_manage.then_some(email),
                    role: m.role,
                    status: m.status,
                    joined_at: m.joined_at,
                    left_at: m.left_at,
                    subgroups: in_groups.remove(&m.id).unwrap_or_default(),
                    guardian_of: links
                        .iter()
                        .filter(|l| l.guardian_id == m.id)
                        .map(|l| named(l.student_id))
                        .collect(),
                    guardians: links
                        .iter()
                        .filter(|l| l.student_id == m.id)
                        .map(|l| named(l.guardian_id))
                        .collect(),
                },
            )
            .collect::<Vec<_>>();
        if can_manage {
            // After a bulk-reads detection, more proof first.
            self.check_step_up(actor).await?;
            // Officers see every e-mail address and guardian link: a read of contact
            // details, recorded (the count, never the data).
            self.audit_read(
                actor,
                Some(club),
                "roster.read",
                format!("club:{club}"),
                &entries.len(),
            )
            .await;
        }
        Ok(Roster {
            me,
            can_manage,
            entries,
        })
    }

    /// Changes a member's role. Only owners make or unmake owners, and a club never
    /// loses its last owner. Guardians are other people than students: that role is
    /// given by invitation and not switched.
    pub async fn change_role(
        &self,
        actor: &Actor,
        club: ClubId,
        target: MembershipId,
        role: Role,
        signature: Option<&crate::SignatureInput>,
    ) -> Result<()> {
        let signed = self
            .check_signed(
                actor,
                "member.role_change",
                club,
                &format!("membership:{target}"),
                serde_json::json!({ "role": role }),
                signature,
            )
            .await?;
        let mut tx = self.db().begin().await?;
        let me = authorize_tx(&mut tx, actor, club, Permission::ChangeRoles).await?;
        let t = tx
            .membership(club, target)
            .await?
            .ok_or(AppError::NotFound)?;
        if t.status != MembershipStatus::Active {
            return Err(AppError::Conflict("not_active"));
        }
        if (t.role == Role::Owner && me.role != Role::Owner) || !me.role.may_grant(role) {
            return Err(AppError::Forbidden);
        }
        if (t.role == Role::Guardian) != (role == Role::Guardian) {
            return Err(AppError::Conflict("guardian_role_fixed"));
        }
        if t.role == role {
            return Err(AppError::Conflict("unchanged"));
        }
        if t.role == Role::Owner && tx.active_owner_count(club).await? <= 1 {
            return Err(AppError::Conflict("last_owner"));
        }
        tx.set_role(target, role).await?;
        let ev = actor
            .maybe_signed(
                &mut tx,
                Some(club),
                "member.role_change",
                format!("membership:{target}"),
                &(t.role, role),
                signed,
            )
            .await?;
        tx.commit(vec![ev]).await?;
        Ok(())
    }

    /// Removes a member (退部させる). The membership row and everything it is linked to
    /// stay, marked removed.
    pub async fn remove_member(
        &self,
        actor: &Actor,
        club: ClubId,
        target: MembershipId,
    ) -> Result<()> {
        let mut tx = self.db().begin().await?;
        let me = authorize_tx(&mut tx, actor, club, Permission::RemoveMembers).await?;
        let t = tx
            .membership(club, target)
            .await?
            .ok_or(AppError::NotFound)?;
        if t.id == me.id {
            return Err(AppError::Conflict("use_leave"));
        }
        if t.status != MembershipStatus::Active {
            return Err(AppError::Conflict("not_active"));
        }
        if t.role == Role::Owner && me.role != Role::Owner {
            return Err(AppError::Forbidden);
        }
        tx.set_status(target, MembershipStatus::Removed, now_ms())
            .await?;
        tx.commit(vec![actor.event(
            Some(club),
            "member.remove",
            format!("membership:{target}"),
            &t.role,
        )])
        .await?;
        Ok(())
    }

    /// The caller leaves the club; a last owner must hand the club on first.
    pub async fn leave_club(&self, actor: &Actor, club: ClubId) -> Result<()> {
        let mut tx = self.db().begin().await?;
        let me = authorize_tx(&mut tx, actor, club, Permission::ViewClub).await?;
        if me.role == Role::Owner && tx.active_owner_count(club).await? <= 1 {
            return Err(AppError::Conflict("last_owner"));
        }
        tx.set_status(me.id, MembershipStatus::Left, now_ms())
            .await?;
        tx.commit(vec![actor.event(
            Some(club),
            "member.leave",
            format!("membership:{}", me.id),
            &me.role,
        )])
        .await?;
        Ok(())
    }

    /// Approves (`true`) or turns down a join request.
    pub async fn decide_request(
        &self,
        actor: &Actor,
        club: ClubId,
        target: MembershipId,
        approve: bool,
    ) -> Result<()> {
        let mut tx = self.db().begin().await?;
        authorize_tx(&mut tx, actor, club, Permission::ApproveMembers).await?;
        let t = tx
            .membership(club, target)
            .await?
            .ok_or(AppError::NotFound)?;
        if t.status != MembershipStatus::Pending {
            return Err(AppError::Conflict("not_pending"));
        }
        // An officer may not approve someone into a role they could not grant.
        let me = tx
            .membership_of(club, actor.account)
            .await?
            .ok_or(AppError::NotFound)?;
        if approve && !me.role.may_grant(t.role) {
            return Err(AppError::Forbidden);
        }
        let (status, action) = match approve {
            true => (MembershipStatus::Active, "member.approve"),
            false => (MembershipStatus::Rejected, "member.reject"),
        };
        tx.set_status(target, status, now_ms()).await?;
        tx.commit(vec![actor.event(
            Some(club),
            action,
            format!("membership:{target}"),
            &t.role,
        )])
        .await?;
        Ok(())
    }

    /// Links a guardian to a student member of the same club.
    pub async fn link_guardian(
        &self,
        actor: &Actor,
        club: ClubId,
        guardian: MembershipId,
        student: MembershipId,
    ) -> Result<()> {
        let mut tx = self.db().begin().await?;
        authorize_tx(&mut tx, actor, club, Permission::LinkGuardians).await?;
        let g = tx
            .membership(club, guardian)
            .await?
            .ok_or(AppError::NotFound)?;
        let s = tx
            .membership(club, student)
            .await?
            .ok_or(AppError::NotFound)?;
        if g.role != Role::Guardian || g.status != MembershipStatus::Active {
            return Err(AppError::Conflict("not_a_guardian"));
        }
        if s.role == Role::Guardian || s.status != MembershipStatus::Active {
            return Err(AppError::Conflict("not_a_student"));
        }
        tx.link_guardian(club, guardian, student, now_ms()).await?;
        tx.commit(vec![actor.event(
            Some(club),
            "guardian.link",
            format!("membership:{guardian}"),
            &student,
        )])
        .await?;
        Ok(())
    }

    pub async fn unlink_guardian(
        &self,
        actor: &Actor,
        club: ClubId,
        guardian: MembershipId,
        student: MembershipId,
    ) -> Result<()> {
        let mut tx = self.db().begin().await?;
        authorize_tx(&mut tx, actor, club, Permission::LinkGuardians).await?;
        tx.membership(club, guardian)
            .await?
            .ok_or(AppError::NotFound)?;
        if !tx.unlink_guardian(guardian, student).await? {
            return Err(AppError::NotFound);
        }
        tx.commit(vec![actor.event(
            Some(club),
            "guardian.unlink",
            format!("membership:{guardian}"),
            &student,
        )])
        .await?;
        Ok(())
    }
}
