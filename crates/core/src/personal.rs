//! Personal fields a member may keep on their profile, each validated once here, and
//! who may see them. All of them are sealed at rest; health notes are 要配慮個人情報
//! (special-care personal information under APPI).

use serde::{Deserialize, Serialize};

use crate::ValidationError;

/// One personal field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PersonalField {
    Phone,
    Address,
    BirthDate,
    School,
    Grade,
    GuardianContact,
    HealthNotes,
}

/// Who may see a field besides its owner.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Club officers (owners and officers) of the person's clubs.
    Officers,
    /// Every active member of the person's clubs.
    Club,
    /// Only the person.
    Nobody,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Officers => "officers",
            Self::Club => "club",
            Self::Nobody => "nobody",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Officers, Self::Club, Self::Nobody]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

impl PersonalField {
    pub const ALL: [PersonalField; 7] = [
        Self::Phone,
        Self::Address,
        Self::BirthDate,
        Self::School,
        Self::Grade,
        Self::GuardianContact,
        Self::HealthNotes,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Phone => "phone",
            Self::Address => "address",
            Self::BirthDate => "birth_date",
            Self::School => "school",
            Self::Grade => "grade",
            Self::GuardianContact => "guardian_contact",
            Self::HealthNotes => "health_notes",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }

    fn max_chars(self) -> usize {
        match self {
            Self::Phone => 20,
            Self::Address => 200,
            Self::BirthDate => 10,
            Self::School | Self::GuardianContact => 200,
            Self::Grade => 30,
            Self::HealthNotes => 1000,
        }
    }

    /// Whether the person chooses who sees it; the others are for officers only.
    pub fn chosen_visibility(self) -> bool {
        matches!(self, Self::Phone | Self::Address)
    }

    /// Checks and normalises a value (trimmed; `today` is `YYYY-MM-DD`, for birth dates).
    pub fn validate(self, value: &str, today: &str) -> Result<String, ValidationError> {
        let field = self.as_str();
        let v = value.trim();
        if v.is_empty() {
            return Err(ValidationError::Empty { field });
        }
        let max = self.max_chars();
        if v.chars().count() > max {
            return Err(ValidationError::TooLong { field, max });
        }
        let multiline = matches!(
            self,
            Self::Address | Self::HealthNotes | Self::GuardianContact
        );
        if v.chars()
            .any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\r' || c == '\t')))
        {
            return Err(ValidationError::BadCharacters { field });
        }
        match self {
            Self::Phone => {
                let digits = v.chars().filter(char::is_ascii_digit).count();
                let ok = v
                    .chars()
                    .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' ' | '(' | ')'));
                if !ok || !(6..=15).contains(&digits) {
                    return Err(ValidationError::Invalid { field });
                }
            }
            Self::BirthDate => {
                let d: jiff::civil::Date =
                    v.parse().map_err(|_| ValidationError::Invalid { field })?;
                let t: jiff::civil::Date = today
                    .parse()
                    .map_err(|_| ValidationError::Invalid { field })?;
                if d > t || d.year() < 1900 {
                    return Err(ValidationError::Invalid { field });
                }
                return Ok(d.to_string());
            }
            _ => {}
        }
        Ok(v.to_owned())
    }
}

/// Full years from `birth` to `today` (both `YYYY-MM-DD`); `None` if either is malformed.
pub fn age_on(birth: &str, today: &str) -> Option<i16> {
    let b: jiff::civil::Date = birth.parse().ok()?;
    let t: jiff::civil::Date = today.parse().ok()?;
    let mut age = t.year() - b.year();
    if (t.month(), t.day()) < (b.month(), b.day()) {
        age -= 1;
    }
    Some(age)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_checked_once_at_the_edge() {
        let today = "2026-11-26";
        let ok = |f: PersonalField, v: &str| f.validate(v, today).unwrap();
        assert_eq!(ok(PersonalField::Phone, " 090-1234-5678 "), "090-1234-5678");
        assert_eq!(
            ok(PersonalField::Phone, "+81 (90) 1234 5678"),
            "+81 (90) 1234 5678"
        );
        for bad in [
            "12",
            "090-1234-5678<script>",
            "' OR 1=1 --",
            "0901234567890123",
        ] {
            assert!(PersonalField::Phone.validate(bad, today).is_err(), "{bad}");
        }
        assert_eq!(ok(PersonalField::BirthDate, "2011-04-02"), "2011-04-02");
        for bad in ["2027-01-01", "1899-12-31", "2011-02-30", "yesterday"] {
            assert!(
                PersonalField::BirthDate.validate(bad, today).is_err(),
                "{bad}"
            );
        }
        assert!(ok(PersonalField::HealthNotes, "卵アレルギー\n運動誘発喘息").contains('\n'));
        assert!(PersonalField::School.validate("a\nb", today).is_err());
        assert!(PersonalField::Address.validate("   ", today).is_err());
        assert!(
            PersonalField::Grade
                .validate(&"x".repeat(31), today)
                .is_err()
        );
    }

    #[test]
    fn age_counts_full_years() {
        assert_eq!(age_on("2010-11-26", "2026-11-26"), Some(16));
        assert_eq!(age_on("2010-11-27", "2026-11-26"), Some(15));
        assert_eq!(age_on("2008-02-29", "2026-02-28"), Some(17));
        assert_eq!(age_on("bad", "2026-02-28"), None);
    }
}
