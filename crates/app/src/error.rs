//! The application's error: what the caller did wrong, or a fault below.

use tekkan_core::ValidationError;
use tekkan_storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// Not logged in (or the session ended).
    #[error("authentication required")]
    Unauthenticated,
    /// Wrong e-mail or password: deliberately does not say which.
    #[error("wrong e-mail address or password")]
    BadCredentials,
    /// Logged in, a member, but the role does not allow it.
    #[error("not allowed")]
    Forbidden,
    /// No such thing, or not visible to the caller: another club's ids end here, so
    /// that they cannot be told apart from ids that do not exist.
    #[error("not found")]
    NotFound,
    /// A link or token that existed but can no longer be used (expired, revoked, used up).
    #[error("no longer valid: {0}")]
    Gone(&'static str),
    /// The request conflicts with the current state; the code says how.
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// Too many attempts: wait (`retry_after_ms`, when known) or, for a locked account,
    /// follow the e-mailed link.
    #[error("rate limited: {code}")]
    RateLimited {
        code: &'static str,
        retry_after_ms: Option<i64>,
    },
    /// Too much work queued (password hashing): try again shortly.
    #[error("overloaded, try again")]
    Overloaded,
    /// A second-factor code that is wrong, used, or missing.
    #[error("wrong or used code")]
    BadCode,
    /// The change needs a recent proof of identity (password and second factor).
    #[error("re-authentication required")]
    ReauthRequired,
    /// The operator disabled this account (told only after a right password).
    #[error("account disabled")]
    AccountDisabled,
    /// The operator required a new password: the current one alone no longer signs in
    /// (told only after a right password).
    #[error("password reset required")]
    PasswordResetRequired,
    /// The account must add a second factor before anything else.
    #[error("two-step verification required")]
    MfaSetupRequired,
    /// A sealed value failed its integrity check: refused, never decrypted.
    #[error("sealed data failed its integrity check")]
    Tampered,
    /// The master key set does not open this database's data.
    #[error(
        "the master key does not match this database: set the key this data was sealed with \
         (keys.master_key or secrets/master.key)"
    )]
    WrongMasterKey,
    /// The server's disk is full: nothing was written, try again later.
    #[error("the disk is full")]
    DiskFull,
    /// The database cannot be reached just now (restarting, a connection cut): nothing
    /// was written, and the request can be tried again shortly.
    #[error("the database is unavailable")]
    Unavailable,
    /// The database is behind its newest signed checkpoint (rolled back): writes are
    /// refused until the operator decides.
    #[error("writes are held: {0}")]
    WritesHeld(String),
    /// A containment switch the operator turned on refuses this (`read_only`,
    /// `signups_paused`): nothing was written.
    #[error("refused while {0} is on")]
    Contained(&'static str),
    #[error(transparent)]
    Storage(StorageError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StorageError> for AppError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::Conflict("email already registered") => Self::Conflict("email_taken"),
            StorageError::Conflict("already linked") => Self::Conflict("already_linked"),
            StorageError::Conflict("already in this sub-group") => {
                Self::Conflict("already_in_subgroup")
            }
            StorageError::Conflict("log key rotated concurrently") => {
                Self::Conflict("rotation_in_progress")
            }
            StorageError::WritesHeld(why) => Self::WritesHeld(why),
            other if other.is_disk_full() => Self::DiskFull,
            other if other.is_unavailable() => {
                tracing::warn!(error = %other, "database unavailable");
                Self::Unavailable
            }
            other => Self::Storage(other),
        }
    }
}
