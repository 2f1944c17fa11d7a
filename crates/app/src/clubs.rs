//! Creating and describing clubs, and the read-side authorization check.

use serde::Serialize;
use tekkan_core::{
    ClubId, ClubName, Description, MembershipId, MembershipStatus, Permission, Role,
};
use tekkan_storage::{Club, Membership, Subgroup, WriteTx, now_ms};

use crate::token::new_id;
use crate::{Actor, App, AppError, Result};

/// A club's home page: the club, the caller's place in it, and a few counts.
#[derive(Clone, Debug)]
pub struct ClubOverview {
    pub club: Club,
    pub me: Membership,
    pub active_members: usize,
    pub pending_requests: usize,
    pub subgroups: Vec<Subgroup>,
}

#[derive(Serialize)]
struct ClubChange<'a> {
    name: &'a str,
    description: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    timezone: Option<&'a str>,
}

impl App {
    /// The caller's active membership in `club` if its role allows `perm`. Reads only;
    /// writes check again inside their transaction.
    pub async fn authorize(
        &self,
        actor: &Actor,
        club: ClubId,
        perm: Permission,
    ) -> Result<Membership> {
        let m = self
            .db()
            .membership_of(club, actor.account)
            .await?
            .filter(|m| m.status == MembershipStatus::Active)
            .ok_or(AppError::NotFound)?;
        // A role raised by editing the database grants nothing.
        if !self
            .tampered("membership", vec![m.id.to_string()])
            .await?
            .is_empty()
        {
            return Err(AppError::Tampered);
        }
        if !m.role.allows(perm) {
            return Err(AppError::Forbidden);
        }
        Ok(m)
    }

    /// Any logged-in person may start a club and becomes its owner.
    pub async fn create_club(&self, actor: &Actor, name: &str, description: &str) -> Result<Club> {
        let (name, description) = (ClubName::parse(name)?, Description::parse(description)?);
        let now = now_ms();
        let club = Club {
            id: new_id!(ClubId),
            name: name.to_string(),
            description: description.to_string(),
            timezone: tekkan_core::schedule::DEFAULT_ZONE.to_owned(),
            created_at: now,
        };
        let owner = Membership {
            id: new_id!(MembershipId),
            club_id: club.id,
            account_id: actor.account,
            role: Role::Owner,
            status: MembershipStatus::Active,
            joined_at: now,
            left_at: None,
        };
        let mut tx = self.db().begin().await?;
        tx.insert_club(&club, actor.account).await?;
        tx.upsert_membership(&owner).await?;
        let change = ClubChange {
            name: &club.name,
            description: &club.description,
            timezone: None,
        };
        tx.commit(vec![
            actor.event(
                Some(club.id),
                "club.create",
                format!("club:{}", club.id),
                &change,
            ),
            actor.event(
                Some(club.id),
                "membership.join",
                format!("membership:{}", owner.id),
                &Role::Owner,
            ),
        ])
        .await?;
        Ok(club)
    }

    /// The clubs the caller is in or waiting to join.
    pub async fn my_clubs(&self, actor: &Actor) -> Result<Vec<(Club, Membership)>> {
        Ok(self.db().clubs_of(actor.account).await?)
    }

    pub async fn club_overview(&self, actor: &Actor, club: ClubId) -> Result<ClubOverview> {
        let me = self.authorize(actor, club, Permission::ViewClub).await?;
        let c = self.db().club(club).await?.ok_or(AppError::NotFound)?;
        let (active, pending) = self.db().member_counts(club).await?;
        let pending = if me.role.allows(Permission::ApproveMembers) {
            pending
        } else {
            0
        };
        Ok(ClubOverview {
            club: c,
            me,
            active_members: active as usize,
            pending_requests: pending as usize,
            subgroups: self.db().subgroups(club).await?,
        })
    }

    /// The club as its settings form shows it, for those who may edit it.
    pub async fn club_settings(&self, actor: &Actor, club: ClubId) -> Result<Club> {
        self.authorize(actor, club, Permission::EditClub).await?;
        self.db().club(club).await?.ok_or(AppError::NotFound)
    }

    pub async fn update_club(
        &self,
        actor: &Actor,
        club: ClubId,
        name: &str,
        description: &str,
        timezone: Option<&str>,
    ) -> Result<Club> {
        let (name, description) = (ClubName::parse(name)?, Description::parse(description)?);
        // Events keep the zone they were made in; this one is for events made from now.
        let zone = timezone
            .filter(|z| !z.trim().is_empty())
            .map(|z| tekkan_core::schedule::Zone::parse(z.trim()))
            .transpose()?;
        let now = now_ms();
        let mut tx = self.db().begin().await?;
        authorize_tx(&mut tx, actor, club, Permission::EditClub).await?;
        tx.update_club(club, name.as_str(), description.as_str(), now)
            .await?;
        if let Some(z) = &zone {
            tx.set_club_timezone(club, z.name()).await?;
        }
        let change = ClubChange {
            name: name.as_str(),
            description: description.as_str(),
            timezone: zone.as_ref().map(|z| z.name()),
        };
        tx.commit(vec![actor.event(
            Some(club),
            "club.update",
            format!("club:{club}"),
            &change,
        )])
        .await?;
        self.db().club(club).await?.ok_or(AppError::NotFound)
    }
}

impl App {
    /// Whether `club` requires two-step verification (for those who may edit it).
    pub async fn club_requires_mfa(&self, actor: &Actor, club: ClubId) -> Result<bool> {
        self.authorize(actor, club, Permission::EditClub).await?;
        Ok(self.db().club_requires_mfa(club).await?)
    }

    /// Requires (or stops requiring) two-step verification of every member of `club`.
    /// Members without a factor must enrol before anything else, as officers must.
    pub async fn set_club_mfa(&self, actor: &Actor, club: ClubId, required: bool) -> Result<()> {
        let mut tx = self.db().begin().await?;
        authorize_tx(&mut tx, actor, club, Permission::EditClub).await?;
        tx.set_club_mfa(club, required).await?;
        let ev = actor.event(
            Some(club),
            "club.require_mfa",
            format!("club:{club}"),
            &required,
        );
        tx.commit(vec![ev]).await?;
        Ok(())
    }
}

/// The actor's active membership in `club` with `perm`, checked inside the write
/// transaction so that the answer still holds at commit. Not a member (or another
/// club's id): [`AppError::NotFound`]; a member without the permission: [`AppError::Forbidden`].
pub(crate) async fn authorize_tx(
    tx: &mut WriteTx,
    actor: &Actor,
    club: ClubId,
    perm: Permission,
) -> Result<Membership> {
    let found = tx.sealed_membership_of(club, actor.account).await?;
    authorize_found(found, perm)
}

/// [`authorize_tx`]'s decision on a membership read (with its seal check) by a query
/// that reads more besides.
pub(crate) fn authorize_found(
    found: Option<(Membership, bool)>,
    perm: Permission,
) -> Result<Membership> {
    let (m, sealed) = found
        .filter(|(m, _)| m.status == MembershipStatus::Active)
        .ok_or(AppError::NotFound)?;
    if !sealed {
        // Logged here; `/healthz` reports it from the next read or scrub.
        crate::health::log_tampered("membership", &m.id.to_string());
        return Err(AppError::Tampered);
    }
    if !m.role.allows(perm) {
        return Err(AppError::Forbidden);
    }
    Ok(m)
}
