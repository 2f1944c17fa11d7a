//! The one error type of the domain: a value that does not satisfy its rules.

/// Why a value was refused. The `field` names the input; the web layer turns it into a
/// 4xx answer that points at that field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    #[error("{field} is required")]
    Empty { field: &'static str },
    #[error("{field} is too long (at most {max} characters)")]
    TooLong { field: &'static str, max: usize },
    #[error("{field} is too short (at least {min} characters)")]
    TooShort { field: &'static str, min: usize },
    #[error("{field} contains characters that are not allowed")]
    BadCharacters { field: &'static str },
    #[error("{field} is not valid")]
    Invalid { field: &'static str },
    #[error("this password is too common")]
    CommonPassword,
    /// A well-formed value that breaks a rule of the domain (an end before its start);
    /// `code` says which rule.
    #[error("{field}: {code}")]
    Rule {
        field: &'static str,
        code: &'static str,
    },
}

impl ValidationError {
    /// The input field this error is about.
    pub fn field(&self) -> &'static str {
        match self {
            Self::Empty { field }
            | Self::TooLong { field, .. }
            | Self::TooShort { field, .. }
            | Self::BadCharacters { field }
            | Self::Invalid { field }
            | Self::Rule { field, .. } => field,
            Self::CommonPassword => "password",
        }
    }

    /// A stable machine-readable code for API clients.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty { .. } => "required",
            Self::TooLong { .. } => "too_long",
            Self::TooShort { .. } => "too_short",
            Self::BadCharacters { .. } => "bad_characters",
            Self::Invalid { .. } => "invalid",
            Self::CommonPassword => "common_password",
            Self::Rule { code, .. } => code,
        }
    }
}
