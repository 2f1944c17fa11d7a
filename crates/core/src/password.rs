//! Password rules after OWASP ASVS 5.0 (V6.2): length is what counts.
//!
//! At least 8 characters, at least 64 allowed (we take up to 1,024 bytes, so a pasted
//! passphrase fits while a megabyte "password" cannot make hashing a denial of service),
//! no composition rules, never truncated, and refused when it is one of the 20,000 most
//! common passwords (the list Django ships, built from Royce Williams' breach corpus) or
//! the user's own name or address.

use std::collections::HashSet;
use std::fmt;
use std::sync::LazyLock;

use crate::ValidationError;

pub const MIN_PASSWORD_CHARS: usize = 8;

/// Words tied to this service (ASVS 6.1.2): refused alone or padded with digits,
/// spaces and punctuation ("tekkan2026!", "部活 1234").
pub const CONTEXT_WORDS: &[&str] = &[
    "tekkan",
    "tekkanapp",
    "てっかん",
    "テッカン",
    "鉄環",
    "bukatsu",
    "部活",
    "部活動",
    "サークル",
    "circle",
    "club",
    "clubs",
    "password",
    "passw0rd",
    "パスワード",
];

/// The letters of `s`, lower-cased, without digits, spaces and punctuation.
fn core_word(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphabetic())
        .flat_map(char::to_lowercase)
        .collect()
}
pub const MAX_PASSWORD_BYTES: usize = 1024;

static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../data/common-passwords.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect()
});

/// A password that passed the rules. Its `Debug` never shows it.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// Checks a new password. `context` holds what the user is known by (e-mail,
    /// display name): a password equal to one of them is as guessable as a common one.
    pub fn parse(raw: &str, context: &[&str]) -> Result<Self, ValidationError> {
        const FIELD: &str = "password";
        if raw.is_empty() {
            return Err(ValidationError::Empty { field: FIELD });
        }
        if raw.len() > MAX_PASSWORD_BYTES {
            return Err(ValidationError::TooLong {
                field: FIELD,
                max: MAX_PASSWORD_BYTES,
            });
        }
        if raw.chars().count() < MIN_PASSWORD_CHARS {
            return Err(ValidationError::TooShort {
                field: FIELD,
                min: MIN_PASSWORD_CHARS,
            });
        }
        let lower = raw.to_lowercase();
        if COMMON.contains(lower.as_str()) {
            return Err(ValidationError::CommonPassword);
        }
        let is_context = context.iter().any(|c| {
            let c = c.trim().to_lowercase();
            let local = c.split('@').next().unwrap_or_default().to_owned();
            !c.is_empty() && (lower == c || lower == local)
        });
        let core = core_word(raw);
        let repeats = |w: &str| {
            let w = core_word(w);
            !core.is_empty()
                && core.len().is_multiple_of(w.len())
                && core == w.repeat(core.len() / w.len())
        };
        if is_context || CONTEXT_WORDS.iter().any(|w| repeats(w)) {
            return Err(ValidationError::CommonPassword);
        }
        Ok(Self(raw.to_owned()))
    }

    /// A password typed at login: only the size cap applies, so that an old password
    /// set under other rules still works and nothing reveals the rules to a guesser.
    pub fn for_login(raw: &str) -> Option<Self> {
        (!raw.is_empty() && raw.len() <= MAX_PASSWORD_BYTES).then(|| Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_rules_without_composition_rules() {
        assert_eq!(
            Password::parse("short", &[]).unwrap_err().code(),
            "too_short"
        );
        assert!(Password::parse("すごく長いパスフレーズです", &[]).is_ok());
        assert!(Password::parse("correct horse battery staple", &[]).is_ok());
        let long64 = "x9!".repeat(30);
        assert!(Password::parse(&long64, &[]).is_ok());
        assert!(Password::parse(&"y".repeat(MAX_PASSWORD_BYTES + 1), &[]).is_err());
    }

    #[test]
    fn common_and_contextual_passwords_are_refused() {
        for p in ["password", "12345678", "Password", "qwertyuiop", "iloveyou"] {
            assert_eq!(
                Password::parse(p, &[]).unwrap_err(),
                ValidationError::CommonPassword,
                "{p}"
            );
        }
        assert!(COMMON.len() > 19_000);
        let err = Password::parse("yamada.taro", &["Yamada.Taro@example.jp"]).unwrap_err();
        assert_eq!(err, ValidationError::CommonPassword);
        for p in [
            "tekkan2026!",
            "TEKKAN-TEKKAN",
            "部活動 12345678",
            "clubclub",
            "99 password 99",
        ] {
            assert!(Password::parse(p, &[]).is_err(), "{p}");
        }
        assert!(Password::parse("tekkan is our club app", &[]).is_ok());
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let p = Password::parse("a long secret phrase", &[]).unwrap();
        assert!(!format!("{p:?}").contains("secret"));
    }
}
