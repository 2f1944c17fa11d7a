//! TEKKAN's domain: identifiers, validated text values, roles and the permission rules.
//!
//! Everything here is pure: values are validated once, at construction, so the layers
//! above can hold a `ClubName` or an `Email` without checking it again.

mod attendance;
pub mod breach;
mod content;
pub mod device;
mod error;
mod id;
pub mod incident;
mod password;
pub mod personal;
pub mod region;
mod role;
pub mod schedule;
mod text;
pub mod throttle;

pub use attendance::{AnswerStatus, AnsweredAs, Reply, place_for};
pub use content::{
    AnnouncementBody, AnnouncementTitle, AnswerComment, Bring, CommentBody, EventTitle, Notes,
    Place, PollChoice, PollQuestion,
};
pub use error::ValidationError;
pub use id::{
    AccountId, AnnouncementId, ClubId, CommentId, EventId, Id, IncidentId, InvitationId,
    MembershipId, NotificationId, OccurrenceId, PollId, PushSubscriptionId, SessionId, SubgroupId,
};
pub use jiff;
pub use password::{MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS, Password};
pub use role::{MembershipStatus, Permission, Role};
pub use text::{ClubName, Description, DisplayName, Email, SubgroupKind, SubgroupName};
