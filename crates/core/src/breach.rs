//! A personal-data breach (漏えい等) under Japan's APPI: the data items a person can
//! lose, which of them are sensitive (要配慮個人情報) or could cause financial harm, the
//! four cases of 個人情報保護法施行規則 7条 that make a report to the Commission
//! mandatory, the exemption for data kept under strong encryption with its key apart,
//! and the deadlines of 規則 8条, counted from the day the operator became aware.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::ValidationError;
use crate::personal::PersonalField;

/// More people than this makes a report mandatory (規則7条4号: 千人を超える).
pub const MANY_PEOPLE: usize = 1_000;

/// One kind of personal data the service holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DataItem {
    /// Display name (氏名・表示名).
    Name,
    Email,
    /// Who is whose guardian.
    GuardianLink,
    /// Attendance answers and records.
    Attendance,
    /// The audit trail's record of what the person did, when and from which address.
    ActivityLog,
    Phone,
    Address,
    BirthDate,
    School,
    Grade,
    GuardianContact,
    HealthNotes,
}

impl DataItem {
    pub const ALL: [DataItem; 12] = [
        Self::Name,
        Self::Email,
        Self::GuardianLink,
        Self::Attendance,
        Self::ActivityLog,
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
            Self::Name => "name",
            Self::Email => "email",
            Self::GuardianLink => "guardian_link",
            Self::Attendance => "attendance",
            Self::ActivityLog => "activity_log",
            Self::Phone => "phone",
            Self::Address => "address",
            Self::BirthDate => "birth_date",
            Self::School => "school",
            Self::Grade => "grade",
            Self::GuardianContact => "guardian_contact",
            Self::HealthNotes => "health_notes",
        }
    }

    /// The item's name in the report and the notices (Japanese, English).
    pub fn label(self) -> (&'static str, &'static str) {
        match self {
            Self::Name => ("氏名（表示名）", "name (display name)"),
            Self::Email => ("メールアドレス", "e-mail address"),
            Self::GuardianLink => ("保護者と生徒の続柄", "guardian–student links"),
            Self::Attendance => ("出欠の記録", "attendance records"),
            Self::ActivityLog => (
                "操作の記録（日時・IPアドレスを含む）",
                "activity records (times and IP addresses)",
            ),
            Self::Phone => ("電話番号", "phone number"),
            Self::Address => ("住所", "postal address"),
            Self::BirthDate => ("生年月日", "date of birth"),
            Self::School => ("学校名", "school"),
            Self::Grade => ("学年", "grade"),
            Self::GuardianContact => ("保護者の連絡先", "guardian's contact"),
            Self::HealthNotes => (
                "健康に関する情報（要配慮個人情報）",
                "health notes (special care-required personal information)",
            ),
        }
    }

    pub fn from_field(f: PersonalField) -> Self {
        match f {
            PersonalField::Phone => Self::Phone,
            PersonalField::Address => Self::Address,
            PersonalField::BirthDate => Self::BirthDate,
            PersonalField::School => Self::School,
            PersonalField::Grade => Self::Grade,
            PersonalField::GuardianContact => Self::GuardianContact,
            PersonalField::HealthNotes => Self::HealthNotes,
        }
    }

    /// 要配慮個人情報 (法2条3項): health notes are information about a person's health.
    pub fn sensitive(self) -> bool {
        matches!(self, Self::HealthNotes)
    }

    /// Could be used for financial harm (規則7条2号: bank or card numbers, credentials
    /// of a payment service). The service stores none of these today; the operator
    /// states the harm separately when a leak makes it possible by other means.
    pub fn financial(self) -> bool {
        false
    }

    /// Stored under AES-256-GCM with per-person keys wrapped by a master key that never
    /// enters the database: the personal fields.
    pub fn sealed(self) -> bool {
        matches!(
            self,
            Self::Phone
                | Self::Address
                | Self::BirthDate
                | Self::School
                | Self::Grade
                | Self::GuardianContact
                | Self::HealthNotes
        )
    }
}

/// How the data got out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Exposure {
    /// Read through the service (a taken-over account, a misused role): the service
    /// decrypted what it showed, so nothing is exempt. Who read what comes from the
    /// audit trail.
    Access,
    /// A copy of the database or its disk was taken: the sealed fields stay protected
    /// unless the master key went with it.
    DatabaseCopy,
    /// A backup was taken: backups are sealed whole (age), so everything stays
    /// protected unless the backup's key went with it.
    BackupCopy,
}

impl Exposure {
    pub const ALL: [Exposure; 3] = [Self::Access, Self::DatabaseCopy, Self::BackupCopy];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::DatabaseCopy => "database_copy",
            Self::BackupCopy => "backup_copy",
        }
    }

    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        Self::ALL
            .into_iter()
            .find(|e| e.as_str() == s)
            .ok_or(ValidationError::Invalid { field: "exposure" })
    }

    /// Whether `item` stayed protected by strong encryption whose key was kept apart
    /// (the exemption of 規則7条1号 括弧書: 高度な暗号化その他の…必要な措置).
    pub fn protected(self, item: DataItem, key_compromised: bool) -> bool {
        !key_compromised
            && match self {
                Self::Access => false,
                Self::DatabaseCopy => item.sealed(),
                Self::BackupCopy => true,
            }
    }
}

/// The four cases of 規則7条 that make a report and notices mandatory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Cases {
    /// 1号: 要配慮個人情報.
    pub sensitive: bool,
    /// 2号: 不正に利用されることにより財産的被害が生じるおそれ.
    pub financial: bool,
    /// 3号: 不正の目的をもって行われたおそれ.
    pub malicious: bool,
    /// 4号: 本人の数が千人を超える.
    pub many_people: bool,
}

impl Cases {
    /// Classifies a breach: `exposed` counts, per item, the people whose item is not
    /// protected; `people` is the number of people with any unprotected item.
    pub fn classify(
        exposed: &BTreeMap<DataItem, usize>,
        people: usize,
        malicious: bool,
        financial_harm: bool,
    ) -> Self {
        let any = |f: fn(DataItem) -> bool| exposed.iter().any(|(i, n)| *n > 0 && f(*i));
        Self {
            sensitive: any(DataItem::sensitive),
            financial: financial_harm || any(DataItem::financial),
            malicious,
            many_people: people > MANY_PEOPLE,
        }
    }

    /// A report to the Commission and a notice to each person are required.
    pub fn mandatory(self) -> bool {
        self.sensitive || self.financial || self.malicious || self.many_people
    }
}

/// The deadlines of 規則8条, as instants (milliseconds since the epoch, the last
/// millisecond of the day in Japan).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Deadlines {
    /// 速報: 速やかに, by the guidance's reckoning within about 3 to 5 days.
    pub preliminary_soon: i64,
    pub preliminary_by: i64,
    /// 確報: 30 days, 60 when unauthorized intent is suspected (規則8条2項).
    pub final_by: i64,
    pub final_days: i64,
}

const DAY_MS: i64 = 86_400_000;
/// Japan keeps one offset all year.
const JST_MS: i64 = 9 * 3_600_000;

/// The end of the day in Japan that is `days` days after the day of `at`: the first
/// day is not counted (民法140条), so the period ends with the `days`-th day after it.
fn end_of_day_after(at: i64, days: i64) -> i64 {
    let day = (at + JST_MS).div_euclid(DAY_MS);
    (day + days + 1) * DAY_MS - JST_MS - 1
}

impl Deadlines {
    pub fn from_awareness(aware_at: i64, malicious: bool) -> Self {
        let final_days = if malicious { 60 } else { 30 };
        Self {
            preliminary_soon: end_of_day_after(aware_at, 3),
            preliminary_by: end_of_day_after(aware_at, 5),
            final_by: end_of_day_after(aware_at, final_days),
            final_days,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(items: &[(DataItem, usize)]) -> BTreeMap<DataItem, usize> {
        items.iter().copied().collect()
    }

    #[test]
    fn the_four_cases() {
        let plain = counts(&[(DataItem::Name, 12), (DataItem::Email, 12)]);
        assert!(!Cases::classify(&plain, 12, false, false).mandatory());
        let health = counts(&[(DataItem::Name, 12), (DataItem::HealthNotes, 1)]);
        let c = Cases::classify(&health, 12, false, false);
        assert!(c.sensitive && c.mandatory());
        // An item with nobody behind it does not count.
        let none = counts(&[(DataItem::HealthNotes, 0)]);
        assert!(!Cases::classify(&none, 0, false, false).sensitive);
        assert!(Cases::classify(&plain, 12, true, false).malicious);
        assert!(Cases::classify(&plain, 12, false, true).financial);
        assert!(!Cases::classify(&plain, MANY_PEOPLE, false, false).many_people);
        assert!(Cases::classify(&plain, MANY_PEOPLE + 1, false, false).many_people);
    }

    #[test]
    fn encryption_with_its_key_apart_protects() {
        use DataItem::*;
        for item in DataItem::ALL {
            assert!(!Exposure::Access.protected(item, false), "{item:?}");
            assert!(Exposure::BackupCopy.protected(item, false));
            assert!(!Exposure::BackupCopy.protected(item, true));
        }
        assert!(Exposure::DatabaseCopy.protected(HealthNotes, false));
        assert!(!Exposure::DatabaseCopy.protected(HealthNotes, true));
        assert!(!Exposure::DatabaseCopy.protected(Name, false));
        assert!(!Exposure::DatabaseCopy.protected(Email, false));
        for e in Exposure::ALL {
            assert_eq!(Exposure::parse(e.as_str()), Ok(e));
        }
        assert!(Exposure::parse("stolen").is_err());
    }

    #[test]
    fn deadlines_count_whole_days_in_japan() {
        // 2026-12-07 23:30 JST = 14:30 UTC.
        let aware = 1_796_653_800_000;
        let d = Deadlines::from_awareness(aware, false);
        // The 3rd day after 12-07 is 12-10; its end in Japan is 14:59:59.999 UTC.
        assert_eq!(d.preliminary_soon, 1_796_914_799_999);
        assert_eq!(d.preliminary_by - d.preliminary_soon, 2 * DAY_MS);
        assert_eq!(d.final_by - d.preliminary_soon, 27 * DAY_MS);
        let m = Deadlines::from_awareness(aware, true);
        assert_eq!((m.final_days, m.final_by - d.final_by), (60, 30 * DAY_MS));
        // 00:30 JST the next day (15:30 UTC) is already the next day.
        let next = Deadlines::from_awareness(aware + 3_600_000, false);
        assert_eq!(next.preliminary_soon - d.preliminary_soon, DAY_MS);
    }

    #[test]
    fn every_personal_field_is_an_item_and_sealed() {
        for f in PersonalField::ALL {
            assert!(DataItem::from_field(f).sealed());
        }
        assert_eq!(
            DataItem::ALL.iter().filter(|i| i.sensitive()).count(),
            1,
            "only health notes are 要配慮"
        );
    }
}
