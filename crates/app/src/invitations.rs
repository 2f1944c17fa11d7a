//! Invitations by link and QR code: expiring, revocable, limited in uses, optionally
//! waiting for an officer's approval.

use serde::Serialize;
use tekkan_core::{
    AccountId, ClubId, InvitationId, MembershipId, MembershipStatus, Permission, Role, SessionId,
    SubgroupId,
};
use tekkan_storage::{Invitation, Membership, NewInvitation, WriteTx, now_ms};

use crate::actor::event;
use crate::clubs::authorize_tx;
use crate::limits::IpPolicy;
use crate::token::new_id;
use crate::{Actor, App, AppError, Origin, Result, hash_token, random_token};

/// What an officer asks for when creating an invitation.
#[derive(Clone, Debug)]
pub struct InvitationSpec {
    pub role: Role,
    /// 1 hour to 30 days.
    pub expires_in_hours: i64,
    /// 1 to 500 people.
    pub max_uses: i64,
    pub requires_approval: bool,
    /// Put whoever joins into this sub-group.
    pub subgroup: Option<SubgroupId>,
}

/// What a person holding a link is shown before joining.
#[derive(Clone, Debug, Serialize)]
pub struct InvitationPreview {
    pub club_id: ClubId,
    pub club_name: String,
    pub role: Role,
    pub requires_approval: bool,
    pub expires_at: i64,
}

/// The result of using an invitation.
#[derive(Clone, Debug, Serialize)]
pub struct JoinOutcome {
    pub club_id: ClubId,
    pub membership_id: MembershipId,
    /// `active`, or `pending` until an officer approves.
    pub status: MembershipStatus,
}

#[derive(Serialize)]
struct InvitationChange {
    role: Role,
    expires_at: i64,
    max_uses: i64,
    requires_approval: bool,
    subgroup: Option<SubgroupId>,
}

impl App {
    pub async fn create_invitation(
        &self,
        actor: &Actor,
        club: ClubId,
        spec: InvitationSpec,
    ) -> Result<(Invitation, String)> {
        self.refuse_if(crate::containment::Switch::SignupsPaused)?;
        if !(1..=720).contains(&spec.expires_in_hours) {
            return Err(tekkan_core::ValidationError::Invalid {
                field: "expires_in_hours",
            }
            .into());
        }
        if !(1..=500).contains(&spec.max_uses) {
            return Err(tekkan_core::ValidationError::Invalid { field: "max_uses" }.into());
        }
        let now = now_ms();
        let mut tx = self.db().begin().await?;
        let me = authorize_tx(&mut tx, actor, club, Permission::ManageInvitations).await?;
        if !me.role.may_grant(spec.role) {
            return Err(AppError::Forbidden);
        }
        if let Some(sg) = spec.subgroup {
            tx.subgroup(club, sg)
                .await?
                .ok_or(tekkan_core::ValidationError::Invalid { field: "subgroup" })?;
        }
        let token = random_token();
        let inv = Invitation {
            id: new_id!(InvitationId),
            club_id: club,
            role: spec.role,
            requires_approval: spec.requires_approval,
            max_uses: spec.max_uses,
            uses: 0,
            expires_at: now + spec.expires_in_hours * 3_600_000,
            subgroup_id: spec.subgroup,
            created_by: actor.account,
            created_at: now,
            revoked_at: None,
        };
        tx.insert_invitation(&NewInvitation {
            invitation: &inv,
            token_hash: &hash_token(&token),
        })
        .await?;
        let change = InvitationChange {
            role: inv.role,
            expires_at: inv.expires_at,
            max_uses: inv.max_uses,
            requires_approval: inv.requires_approval,
            subgroup: inv.subgroup_id,
        };
        tx.commit(vec![actor.event(
            Some(club),
            "invitation.create",
            format!("invitation:{}", inv.id),
            &change,
        )])
        .await?;
        Ok((inv, token))
    }

    /// The club's invitations, with the caller's membership (which decides the roles
    /// they may invite to).
    pub async fn invitations(
        &self,
        actor: &Actor,
        club: ClubId,
    ) -> Result<(Membership, Vec<Invitation>)> {
        let me = self
            .authorize(actor, club, Permission::ManageInvitations)
            .await?;
        Ok((me, self.db().invitations(club).await?))
    }

    pub async fn revoke_invitation(
        &self,
        actor: &Actor,
        club: ClubId,
        id: InvitationId,
    ) -> Result<()> {
        let now = now_ms();
        let mut tx = self.db().begin().await?;
        authorize_tx(&mut tx, actor, club, Permission::ManageInvitations).await?;
        let inv = tx.invitation(club, id).await?.ok_or(AppError::NotFound)?;
        if inv.revoked_at.is_some() {
            return Err(AppError::Conflict("already_revoked"));
        }
        tx.revoke_invitation(id, now).await?;
        tx.commit(vec![actor.event(
            Some(club),
            "invitation.revoke",
            format!("invitation:{id}"),
            &now,
        )])
        .await?;
        Ok(())
    }

    /// What a link offers; [`AppError::NotFound`] for an unknown token and
    /// [`AppError::Gone`] for one that expired, was revoked or is used up.
    /// Lookups are limited per address, so links cannot be guessed by brute force.
    pub async fn preview_invitation(
        &self,
        token: &str,
        origin: &Origin,
    ) -> Result<InvitationPreview> {
        self.limit(IpPolicy::Invitation, origin).await?;
        let (inv, club) = self
            .db()
            .invitation_by_token(&hash_token(token))
            .await?
            .ok_or(AppError::NotFound)?;
        if !inv.is_usable(now_ms()) {
            return Err(AppError::Gone("invitation"));
        }
        Ok(InvitationPreview {
            club_id: club.id,
            club_name: club.name,
            role: inv.role,
            requires_approval: inv.requires_approval,
            expires_at: inv.expires_at,
        })
    }

    /// A logged-in person uses a link.
    pub async fn accept_invitation(&self, actor: &Actor, token: &str) -> Result<JoinOutcome> {
        self.refuse_if(crate::containment::Switch::SignupsPaused)?;
        self.limit(IpPolicy::Invitation, &actor.origin).await?;
        let now = now_ms();
        let mut tx = self.db().begin().await?;
        let mut events = Vec::new();
        let out = self
            .join_in(
                &mut tx,
                token,
                actor.account,
                Some(actor.session),
                &actor.origin,
                now,
                &mut events,
            )
            .await?;
        tx.commit(events).await?;
        Ok(out)
    }

    /// Uses the invitation for `account` inside `tx`: counts the use and creates (or
    /// brings back) the membership.
    #[allow(clippy::too_many_arguments)]
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn join_in(
        &self,
        tx: &mut WriteTx,
        token: &str,
        account: AccountId,
        session: Option<SessionId>,
        origin: &Origin,
        now: i64,
        events: &mut Vec<tekkan_audit::Event>,
    ) -> Result<JoinOutcome> {
        self.join_by_hash(
            tx,
            &hash_token(token),
            account,
            session,
            origin,
            now,
            events,
        )
        .await
    }

    /// Joins through the invitation whose token hashes to `token_hash` (a sign-up
    /// waiting for its e-mail confirmation keeps only the hash).
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn join_by_hash(
        &self,
        tx: &mut WriteTx,
        token_hash: &str,
        account: AccountId,
        session: Option<SessionId>,
        origin: &Origin,
        now: i64,
        events: &mut Vec<tekkan_audit::Event>,
    ) -> Result<JoinOutcome> {
        let inv = tx
            .invitation_by_token(token_hash)
            .await?
            .ok_or(AppError::NotFound)?;
        let existing = tx.membership_of(inv.club_id, account).await?;
        match existing.as_ref().map(|m| m.status) {
            Some(MembershipStatus::Active) => return Err(AppError::Conflict("already_member")),
            Some(MembershipStatus::Pending) => return Err(AppError::Conflict("already_pending")),
            _ => {}
        }
        if !tx.use_invitation(inv.id, now).await? {
            return Err(AppError::Gone("invitation"));
        }
        // Someone an officer removed does not come back through a link still going round
        // the group chat: they come back as a request an officer must approve.
        let was_removed = existing
            .as_ref()
            .is_some_and(|m| m.status == MembershipStatus::Removed);
        let status = if inv.requires_approval || was_removed {
            MembershipStatus::Pending
        } else {
            MembershipStatus::Active
        };
        let m = Membership {
            id: existing
                .map(|m| m.id)
                .unwrap_or_else(|| new_id!(MembershipId)),
            club_id: inv.club_id,
            account_id: account,
            role: inv.role,
            status,
            joined_at: now,
            left_at: None,
        };
        let id = tx.upsert_membership(&m).await?;
        if let Some(sg) = inv.subgroup_id
            && tx.subgroup(inv.club_id, sg).await?.is_some()
        {
            // Already in it from an earlier membership: nothing to add.
            match tx.add_to_subgroup(sg, id).await {
                Ok(()) | Err(tekkan_storage::StorageError::Conflict(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let action = if status == MembershipStatus::Pending {
            "membership.request"
        } else {
            "membership.join"
        };
        events.push(event(
            Some(account),
            session,
            origin,
            Some(inv.club_id),
            action,
            format!("membership:{id}"),
            &(inv.id, inv.role, status),
        ));
        Ok(JoinOutcome {
            club_id: inv.club_id,
            membership_id: id,
            status,
        })
    }
}
