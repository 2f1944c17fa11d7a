//! Invitation links: only a hash of each token is stored.

use crate::sql::q;
use tekkan_core::{ClubId, InvitationId};

use crate::records::invitation;
use crate::{Club, Db, Invitation, Result, WriteTx};

/// A new invitation; `token_hash` is the SHA-256 of the secret in the link.
pub struct NewInvitation<'a> {
    pub invitation: &'a Invitation,
    pub token_hash: &'a str,
}

impl Db {
    /// The club's invitations, newest first.
    pub async fn invitations(&self, club: ClubId) -> Result<Vec<Invitation>> {
        let rows = q("SELECT * FROM invitations WHERE club_id = $1 ORDER BY created_at DESC")
            .bind(club.to_string())
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(invitation).collect()
    }

    /// The invitation a link's token belongs to, with its club, whether usable or not
    /// (the caller says why it cannot be used).
    pub async fn invitation_by_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<(Invitation, Club)>> {
        let row = q(
            "SELECT i.*, c.name, c.description, c.timezone FROM invitations i JOIN clubs c ON c.id = i.club_id WHERE i.token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.reader)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let inv = invitation(&row)?;
        // Only the club's name and description are joined in; the rest is the invitation's.
        let c = Club {
            id: inv.club_id,
            name: row.try_get("name")?,
            description: row.try_get("description")?,
            timezone: row.try_get("timezone")?,
            created_at: 0,
        };
        Ok(Some((inv, c)))
    }
}

impl WriteTx {
    pub async fn insert_invitation(&mut self, n: &NewInvitation<'_>) -> Result<()> {
        let i = n.invitation;
        q(
            "INSERT INTO invitations (id, club_id, token_hash, role, requires_approval, max_uses, uses, expires_at, \
             subgroup_id, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8, $9, $10)",
        )
        .bind(i.id.to_string())
        .bind(i.club_id.to_string())
        .bind(n.token_hash)
        .bind(i.role.as_str())
        .bind(i.requires_approval)
        .bind(i.max_uses)
        .bind(i.expires_at)
        .bind(i.subgroup_id.map(|s| s.to_string()))
        .bind(i.created_by.to_string())
        .bind(i.created_at)
        .execute(&mut self.tx)
        .await?;
        Ok(())
    }

    pub async fn invitation(
        &mut self,
        club: ClubId,
        id: InvitationId,
    ) -> Result<Option<Invitation>> {
        let row = q("SELECT * FROM invitations WHERE club_id = $1 AND id = $2")
            .bind(club.to_string())
            .bind(id.to_string())
            .fetch_optional(&mut self.tx)
            .await?;
        row.as_ref().map(invitation).transpose()
    }

    pub async fn invitation_by_token(&mut self, token_hash: &str) -> Result<Option<Invitation>> {
        let row = q("SELECT * FROM invitations WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(&mut self.tx)
            .await?;
        row.as_ref().map(invitation).transpose()
    }

    pub async fn revoke_invitation(&mut self, id: InvitationId, now: i64) -> Result<()> {
        q("UPDATE invitations SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(id.to_string())
            .execute(&mut self.tx)
            .await?;
        Ok(())
    }

    /// Counts one use if the invitation is still usable at `now`; returns whether it was.
    /// The check and the count are one statement, so two people racing for the last use
    /// cannot both get it.
    pub async fn use_invitation(&mut self, id: InvitationId, now: i64) -> Result<bool> {
        let r = q("UPDATE invitations SET uses = uses + 1 \
             WHERE id = $1 AND revoked_at IS NULL AND expires_at > $2 AND uses < max_uses")
        .bind(id.to_string())
        .bind(now)
        .execute(&mut self.tx)
        .await?;
        Ok(r.rows_affected() == 1)
    }
}
