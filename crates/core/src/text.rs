//! Validated text values: e-mail addresses, names and descriptions.
//!
//! Names may contain any printable text, HTML and SQL included: they are stored as given
//! and escaped on output. What is refused is what no person types: control characters,
//! empty or oversized values.

use std::fmt;

use serde::Serialize;

use crate::ValidationError;

/// Trims, then checks length in characters and refuses control characters. `multiline`
/// lets line breaks and tabs through (descriptions) but nothing else below U+0020.
pub(crate) fn clean(
    field: &'static str,
    raw: &str,
    min: usize,
    max: usize,
    multiline: bool,
) -> Result<String, ValidationError> {
    let s = raw.trim();
    if s.is_empty() && min > 0 {
        return Err(ValidationError::Empty { field });
    }
    let bad = |c: char| {
        let allowed_ws = multiline && matches!(c, '\n' | '\r' | '\t');
        (c.is_control() && !allowed_ws)
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if s.chars().any(bad) {
        return Err(ValidationError::BadCharacters { field });
    }
    let n = s.chars().count();
    if n > max {
        return Err(ValidationError::TooLong { field, max });
    }
    if n < min {
        return Err(ValidationError::TooShort { field, min });
    }
    Ok(s.to_owned())
}

macro_rules! text_value {
    ($(#[$doc:meta])* $name:ident, $field:literal, $min:expr, $max:expr, $multiline:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub const MAX_CHARS: usize = $max;

            pub fn parse(raw: &str) -> Result<Self, ValidationError> {
                $crate::text::clean($field, raw, $min, $max, $multiline).map(Self)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }
    };
}

pub(crate) use text_value;

text_value!(
    /// How a person is shown to others: 1 to 50 characters.
    DisplayName, "display_name", 1, 50, false
);
text_value!(
    /// A club's name: 1 to 80 characters.
    ClubName, "name", 1, 80, false
);
text_value!(
    /// A sub-group's name (「1年」, 「トランペット」): 1 to 40 characters.
    SubgroupName, "name", 1, 40, false
);
text_value!(
    /// Free text about a club: up to 2,000 characters, line breaks allowed.
    Description, "description", 0, 2000, true
);

/// An e-mail address, trimmed and lower-cased so that one mailbox is one account.
///
/// Deliberately permissive (RFC 5321 allows far more than a regex can check): one `@`,
/// a non-empty local part of at most 64 bytes, a domain with a dot, no spaces or control
/// characters, at most 254 bytes. Whether it receives mail is proven by sending mail.
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        const FIELD: &str = "email";
        let s = raw.trim().to_lowercase();
        if s.is_empty() {
            return Err(ValidationError::Empty { field: FIELD });
        }
        if s.len() > 254 {
            return Err(ValidationError::TooLong {
                field: FIELD,
                max: 254,
            });
        }
        if s.chars().any(|c| {
            c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | ',' | ';')
        }) {
            return Err(ValidationError::BadCharacters { field: FIELD });
        }
        let Some((local, domain)) = s.split_once('@') else {
            return Err(ValidationError::Invalid { field: FIELD });
        };
        let domain_ok = domain.contains('.')
            && !domain.contains('@')
            && !domain.starts_with(['.', '-'])
            && !domain.ends_with(['.', '-'])
            && !domain.contains("..");
        if local.is_empty() || local.len() > 64 || !domain_ok {
            return Err(ValidationError::Invalid { field: FIELD });
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// What a sub-group stands for, so that lists can group 学年 apart from パート.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubgroupKind {
    /// 学年: a school year.
    Grade,
    /// パート: an instrument section, a position, a squad.
    Part,
    Other,
}

impl SubgroupKind {
    pub const ALL: [SubgroupKind; 3] = [Self::Grade, Self::Part, Self::Other];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Grade => "grade",
            Self::Part => "part",
            Self::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or(ValidationError::Invalid { field: "kind" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keep_html_and_sql_but_refuse_control_characters() {
        let n = DisplayName::parse("  <script>alert(1)</script>'; DROP TABLE x;-- ").unwrap();
        assert_eq!(n.as_str(), "<script>alert(1)</script>'; DROP TABLE x;--");
        assert!(DisplayName::parse("a\u{0}b").is_err());
        assert!(DisplayName::parse("a\u{202e}b").is_err());
        assert!(DisplayName::parse("   ").is_err());
        assert!(DisplayName::parse(&"あ".repeat(50)).is_ok());
        assert!(DisplayName::parse(&"あ".repeat(51)).is_err());
        assert!(Description::parse("一行目\n二行目").is_ok());
        assert!(ClubName::parse("一行目\n二行目").is_err());
    }

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse(" Taro@Example.JP ").unwrap().as_str(),
            "taro@example.jp"
        );
        for bad in [
            "",
            "taro",
            "taro@",
            "@example.jp",
            "taro@example",
            "a b@example.jp",
            "a@b@example.jp",
            "a@.example.jp",
            "a@example..jp",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
        assert!(Email::parse(&format!("{}@example.jp", "a".repeat(65))).is_err());
    }

    #[test]
    fn subgroup_kinds_parse() {
        assert_eq!(SubgroupKind::parse("part").unwrap(), SubgroupKind::Part);
        assert!(SubgroupKind::parse("PART").is_err());
    }
}
