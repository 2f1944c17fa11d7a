//! TEKKAN's domain: identifiers, validated text values, roles and the permission rules.
//!
//! Everything here is pure: values are validated once, at construction, so the layers
//! above can hold a `ClubName` or an `Email` without checking it again.

mod error;
mod id;
mod password;
mod role;
mod text;

pub use error::ValidationError;
pub use id::{AccountId, ClubId, Id, InvitationId, MembershipId, SessionId, SubgroupId};
pub use password::{MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS, Password};
pub use role::{MembershipStatus, Permission, Role};
pub use text::{ClubName, Description, DisplayName, Email, SubgroupKind, SubgroupName};
