//! Roles inside a club and what each may do. Deny by default: a permission not listed
//! for a role is refused.

use serde::{Deserialize, Serialize};

use crate::ValidationError;

/// A member's role in one club.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Created the club or was handed it; a club always keeps at least one.
    Owner,
    /// 役員: runs the club day to day.
    Officer,
    /// 会計: keeps the dues and the ledger.
    Treasurer,
    /// 顧問・コーチ: adviser or coach.
    Coach,
    /// 部員: an ordinary member.
    Member,
    /// 保護者: answers for the student members linked to them.
    Guardian,
}

/// Everything a club member can ask to do, checked on the server for every request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Permission {
    ViewClub,
    ViewRoster,
    EditClub,
    ManageInvitations,
    ApproveMembers,
    ChangeRoles,
    RemoveMembers,
    ManageSubgroups,
    LinkGuardians,
    /// Create, change and cancel events.
    ManageEvents,
    /// See who has not answered and attendance rates; answer for anyone, also after the
    /// deadline; remind now.
    ManageAttendance,
    /// Post announcements and see who has read and confirmed them.
    PostAnnouncements,
    /// Create and close polls.
    ManagePolls,
    /// Read and export the club's audit trail (with proofs).
    ViewAudit,
}

impl Permission {
    pub const ALL: [Permission; 14] = [
        Self::ViewClub,
        Self::ViewRoster,
        Self::EditClub,
        Self::ManageInvitations,
        Self::ApproveMembers,
        Self::ChangeRoles,
        Self::RemoveMembers,
        Self::ManageSubgroups,
        Self::LinkGuardians,
        Self::ManageEvents,
        Self::ManageAttendance,
        Self::PostAnnouncements,
        Self::ManagePolls,
        Self::ViewAudit,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ViewClub => "view_club",
            Self::ViewRoster => "view_roster",
            Self::EditClub => "edit_club",
            Self::ManageInvitations => "manage_invitations",
            Self::ApproveMembers => "approve_members",
            Self::ChangeRoles => "change_roles",
            Self::RemoveMembers => "remove_members",
            Self::ManageSubgroups => "manage_subgroups",
            Self::LinkGuardians => "link_guardians",
            Self::ManageEvents => "manage_events",
            Self::ManageAttendance => "manage_attendance",
            Self::PostAnnouncements => "post_announcements",
            Self::ManagePolls => "manage_polls",
            Self::ViewAudit => "view_audit",
        }
    }
}

impl Role {
    pub const ALL: [Role; 6] = [
        Self::Owner,
        Self::Officer,
        Self::Treasurer,
        Self::Coach,
        Self::Member,
        Self::Guardian,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Officer => "officer",
            Self::Treasurer => "treasurer",
            Self::Coach => "coach",
            Self::Member => "member",
            Self::Guardian => "guardian",
        }
    }

    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or(ValidationError::Invalid { field: "role" })
    }

    /// The permission table. Every arm names its roles; anything else is denied.
    pub fn allows(self, p: Permission) -> bool {
        use Permission::*;
        use Role::*;
        match p {
            ViewClub | ViewRoster => true,
            EditClub | ManageInvitations | ApproveMembers | ChangeRoles | RemoveMembers
            | LinkGuardians | ViewAudit => matches!(self, Owner | Officer),
            // 顧問・コーチ run practice: they plan it, take attendance and tell the club.
            ManageSubgroups | ManageEvents | ManageAttendance | PostAnnouncements | ManagePolls => {
                matches!(self, Owner | Officer | Coach)
            }
        }
    }

    /// Whether a holder of `self` may hand out `target` (by invitation or role change).
    /// Only owners make owners; officers hand out every other role.
    pub fn may_grant(self, target: Role) -> bool {
        match self {
            Role::Owner => true,
            Role::Officer => target != Role::Owner,
            _ => false,
        }
    }
}

/// Where a membership stands. Left and removed memberships are kept, so attendance and
/// records written while they were members still name them (退部しても記録は残る).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MembershipStatus {
    /// Asked to join through an invitation that needs an officer's approval.
    Pending,
    Active,
    Left,
    Removed,
    /// A join request an officer turned down.
    Rejected,
}

impl MembershipStatus {
    pub const ALL: [MembershipStatus; 5] = [
        Self::Pending,
        Self::Active,
        Self::Left,
        Self::Removed,
        Self::Rejected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Left => "left",
            Self::Removed => "removed",
            Self::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or(ValidationError::Invalid { field: "status" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_owners_and_officers_administer() {
        for r in Role::ALL {
            let admin = matches!(r, Role::Owner | Role::Officer);
            assert_eq!(r.allows(Permission::ChangeRoles), admin, "{r:?}");
            assert_eq!(r.allows(Permission::ManageInvitations), admin, "{r:?}");
            assert!(r.allows(Permission::ViewClub));
            assert_eq!(Role::parse(r.as_str()).unwrap(), r);
        }
        assert!(Role::Coach.allows(Permission::ManageSubgroups));
        assert!(!Role::Treasurer.allows(Permission::ManageSubgroups));
    }

    #[test]
    fn officers_cannot_make_owners() {
        assert!(!Role::Officer.may_grant(Role::Owner));
        assert!(Role::Officer.may_grant(Role::Officer));
        assert!(Role::Owner.may_grant(Role::Owner));
        assert!(!Role::Member.may_grant(Role::Member));
    }
}
