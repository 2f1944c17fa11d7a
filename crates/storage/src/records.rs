//! Plain rows as the application reads them. Ids are typed; text is stored as given.

use crate::sql::Row;
use tekkan_core::{
    AccountId, ClubId, Id, InvitationId, MembershipId, MembershipStatus, Role, SessionId,
    SubgroupId, SubgroupKind,
};

use crate::{Result, StorageError};

#[derive(Debug, Clone)]
pub struct Account {
    pub id: AccountId,
    pub email: String,
    pub display_name: String,
    /// PHC string; `None` for an account that cannot log in with a password.
    pub password_hash: Option<String>,
    pub is_operator: bool,
    pub created_at: i64,
    /// Set while the operator has disabled the account: it cannot log in.
    pub disabled_at: Option<i64>,
    /// A containment step: the password alone no longer signs in until it is reset.
    pub password_reset_required: bool,
}

#[derive(Debug, Clone)]
pub struct Session {
    pub id: SessionId,
    pub account_id: AccountId,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    /// When the owner last proved who they are in this session (login or re-check).
    pub reauth_at: i64,
    /// The account has a confirmed second factor.
    pub has_mfa: bool,
    /// The account must have one: the operator, anyone holding a privileged role, or a
    /// member of a club that requires it.
    pub mfa_required: bool,
}

#[derive(Debug, Clone)]
pub struct Club {
    pub id: ClubId,
    pub name: String,
    pub description: String,
    /// IANA zone the club's times are entered and shown in.
    pub timezone: String,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct Membership {
    pub id: MembershipId,
    pub club_id: ClubId,
    pub account_id: AccountId,
    pub role: Role,
    pub status: MembershipStatus,
    pub joined_at: i64,
    pub left_at: Option<i64>,
}

/// A roster line: a membership with the person's name and e-mail.
#[derive(Debug, Clone)]
pub struct Member {
    pub membership: Membership,
    pub display_name: String,
    pub email: String,
}

#[derive(Debug, Clone)]
pub struct GuardianLink {
    pub guardian_id: MembershipId,
    pub student_id: MembershipId,
}

#[derive(Debug, Clone)]
pub struct Subgroup {
    pub id: SubgroupId,
    pub club_id: ClubId,
    pub name: String,
    pub kind: SubgroupKind,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct Invitation {
    pub id: InvitationId,
    pub club_id: ClubId,
    pub role: Role,
    pub requires_approval: bool,
    pub max_uses: i64,
    pub uses: i64,
    pub expires_at: i64,
    pub subgroup_id: Option<SubgroupId>,
    pub created_by: AccountId,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

impl Invitation {
    /// Whether the link can still be used at `now`.
    pub fn is_usable(&self, now: i64) -> bool {
        self.revoked_at.is_none() && self.expires_at > now && self.uses < self.max_uses
    }
}

fn corrupt(what: &str, v: &str) -> StorageError {
    StorageError::Corrupt(format!("{what}: {v:?}"))
}

/// Reads an id column of any id type.
pub(crate) fn id_col<T>(row: &Row, col: &str, wrap: fn(Id) -> T) -> Result<T> {
    let s: String = row.try_get(col)?;
    Id::parse(&s).map(wrap).ok_or_else(|| corrupt(col, &s))
}

pub(crate) fn opt_id_col<T>(row: &Row, col: &str, wrap: fn(Id) -> T) -> Result<Option<T>> {
    let s: Option<String> = row.try_get(col)?;
    s.map(|s| Id::parse(&s).map(wrap).ok_or_else(|| corrupt(col, &s)))
        .transpose()
}

pub(crate) fn account(row: &Row) -> Result<Account> {
    Ok(Account {
        id: id_col(row, "id", AccountId)?,
        email: row.try_get("email")?,
        display_name: row.try_get("display_name")?,
        password_hash: row.try_get("password_hash")?,
        is_operator: row.try_get("is_operator")?,
        created_at: row.try_get("created_at")?,
        disabled_at: row.try_get("disabled_at")?,
        password_reset_required: row.try_get::<i64, _>("password_reset_required")? != 0,
    })
}

pub(crate) fn club(row: &Row) -> Result<Club> {
    Ok(Club {
        id: id_col(row, "id", ClubId)?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        timezone: row.try_get("timezone")?,
        created_at: row.try_get("created_at")?,
    })
}

/// Reads a membership from columns prefixed `m_` (so it can be joined with others).
pub(crate) fn membership(row: &Row) -> Result<Membership> {
    let role: String = row.try_get("m_role")?;
    let status: String = row.try_get("m_status")?;
    Ok(Membership {
        id: id_col(row, "m_id", MembershipId)?,
        club_id: id_col(row, "m_club_id", ClubId)?,
        account_id: id_col(row, "m_account_id", AccountId)?,
        role: Role::parse(&role).map_err(|_| corrupt("role", &role))?,
        status: MembershipStatus::parse(&status).map_err(|_| corrupt("status", &status))?,
        joined_at: row.try_get("m_joined_at")?,
        left_at: row.try_get("m_left_at")?,
    })
}

/// A membership read with [`membership_cols`] and `row_seals::seal_cols("membership",
/// "m", …)`: the row, and whether it matches its seal (or is this write's own change).
pub(crate) fn sealed_membership(key: &[u8], row: &Row) -> Result<(Membership, bool)> {
    let m = membership(row)?;
    let sealed = crate::row_seals::row_sealed(key, "membership", &m.id.to_string(), row)?;
    Ok((m, sealed))
}

/// The select list matching [`membership`], as a macro so that queries stay `&'static str`.
macro_rules! membership_cols {
    () => {
        "m.id AS m_id, m.club_id AS m_club_id, m.account_id AS m_account_id, m.role AS m_role, \
         m.status AS m_status, m.joined_at AS m_joined_at, m.left_at AS m_left_at"
    };
}
pub(crate) use membership_cols;

pub(crate) fn subgroup(row: &Row) -> Result<Subgroup> {
    let kind: String = row.try_get("kind")?;
    Ok(Subgroup {
        id: id_col(row, "id", SubgroupId)?,
        club_id: id_col(row, "club_id", ClubId)?,
        name: row.try_get("name")?,
        kind: SubgroupKind::parse(&kind).map_err(|_| corrupt("kind", &kind))?,
        created_at: row.try_get("created_at")?,
    })
}

pub(crate) fn invitation(row: &Row) -> Result<Invitation> {
    let role: String = row.try_get("role")?;
    Ok(Invitation {
        id: id_col(row, "id", InvitationId)?,
        club_id: id_col(row, "club_id", ClubId)?,
        role: Role::parse(&role).map_err(|_| corrupt("role", &role))?,
        requires_approval: row.try_get("requires_approval")?,
        max_uses: row.try_get("max_uses")?,
        uses: row.try_get("uses")?,
        expires_at: row.try_get("expires_at")?,
        subgroup_id: opt_id_col(row, "subgroup_id", SubgroupId)?,
        created_by: id_col(row, "created_by", AccountId)?,
        created_at: row.try_get("created_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}
