//! A demo dataset: a Japanese school brass band with grades and sections, officers, a
//! treasurer, an adviser, students and guardians, and a month of club life (`month`).
//! Every account gets its own random password, printed once by the command line: there
//! is no default password. `scale` writes many clubs for benchmarks.

use serde::Serialize;
use tekkan_core::jiff;
use tekkan_core::schedule::{Recurrence, Timing, Zone};
use tekkan_core::{
    AccountId, ClubId, EventId, MembershipId, MembershipStatus, OccurrenceId, Password, Role,
    SubgroupId, SubgroupKind,
};
use tekkan_storage::{Club, Event, Membership, NewAccount, Occurrence, Subgroup, now_ms};

mod month;
pub(crate) mod scale;

use crate::actor::event;
use crate::token::new_id;
use crate::{App, AppError, Origin, Result, random_token};

/// One demo account, with the password generated for it.
#[derive(Clone, Debug, Serialize)]
pub struct DemoLogin {
    pub email: String,
    pub password: String,
    pub display_name: String,
    pub role: Role,
}

/// What to generate (more knobs come with the activities data).
#[derive(Clone, Debug, Default)]
pub struct DemoOptions {}

const CLUB: &str = "桜ヶ丘高校 吹奏楽部";
const GRADES: [&str; 3] = ["1年", "2年", "3年"];
const PARTS: [&str; 4] = ["フルート", "クラリネット", "トランペット", "パーカッション"];
/// (name, e-mail local part, role, grade index)
const PEOPLE: [(&str, &str, Role, usize); 16] = [
    ("山田 花子", "buchou", Role::Owner, 2),
    ("佐藤 健太", "fukubuchou", Role::Officer, 2),
    ("鈴木 美咲", "kaikei", Role::Treasurer, 1),
    ("高橋 誠 先生", "komon", Role::Coach, 9),
    ("田中 陽菜", "tanaka.hina", Role::Member, 0),
    ("伊藤 蓮", "ito.ren", Role::Member, 0),
    ("渡辺 結衣", "watanabe.yui", Role::Member, 0),
    ("中村 大翔", "nakamura.hiroto", Role::Member, 1),
    ("小林 さくら", "kobayashi.sakura", Role::Member, 1),
    ("加藤 湊", "kato.minato", Role::Member, 1),
    ("吉田 葵", "yoshida.aoi", Role::Member, 2),
    ("山口 悠真", "yamaguchi.yuma", Role::Member, 2),
    ("松本 芽依", "matsumoto.mei", Role::Member, 0),
    ("井上 颯", "inoue.hayate", Role::Member, 1),
    ("田中 由美(保護者)", "tanaka.hogosha", Role::Guardian, 9),
    ("伊藤 誠一(保護者)", "ito.hogosha", Role::Guardian, 9),
];
/// (guardian index, student index) into PEOPLE.
const LINKS: [(usize, usize); 2] = [(14, 4), (15, 5)];

impl App {
    /// Writes the demo club and its people; fails with a conflict if it is already there.
    pub async fn seed_demo(&self, _opts: &DemoOptions) -> Result<Vec<DemoLogin>> {
        let origin = Origin {
            ip: None,
            user_agent: Some("tekkan demo".into()),
            device: None,
        };
        let mut logins = Vec::new();
        let mut hashes = Vec::new();
        for (name, local, role, _) in PEOPLE {
            let password = random_token()[..16].to_owned();
            let email = format!("{local}@demo.tekkan.invalid");
            let pw = Password::parse(&password, &[&email, name])?;
            hashes.push(self.hasher().hash(pw).await?);
            logins.push(DemoLogin {
                email,
                password,
                display_name: name.to_owned(),
                role,
            });
        }
        let now = now_ms();
        let mut tx = self.db().begin().await?;
        let mut events = Vec::new();
        let mut ev =
            |account: Option<AccountId>, club: Option<ClubId>, action: &str, target: String| {
                events.push(event(account, None, &origin, club, action, target, &now));
            };
        let club = Club {
            id: new_id!(ClubId),
            name: CLUB.into(),
            description:
                "毎週月・水・金 16:00〜18:30 音楽室で練習しています。\n定期演奏会は3月です。".into(),
            timezone: tekkan_core::schedule::DEFAULT_ZONE.to_owned(),
            created_at: now,
        };
        let mut members = Vec::new();
        let mut accounts = Vec::new();
        for (login, hash) in logins.iter().zip(&hashes) {
            let id = new_id!(AccountId);
            accounts.push(id);
            let acc = NewAccount {
                id,
                email: &login.email,
                display_name: &login.display_name,
                password_hash: Some(hash),
                is_operator: false,
                created_at: now,
            };
            tx.insert_account(&acc).await.map_err(|e| match e {
                tekkan_storage::StorageError::Conflict(_) => AppError::Conflict("demo_exists"),
                e => e.into(),
            })?;
            ev(Some(id), None, "account.create", format!("account:{id}"));
            if members.is_empty() {
                tx.insert_club(&club, id).await?;
                ev(
                    Some(id),
                    Some(club.id),
                    "club.create",
                    format!("club:{}", club.id),
                );
            }
            let m = Membership {
                id: new_id!(MembershipId),
                club_id: club.id,
                account_id: id,
                role: login.role,
                status: MembershipStatus::Active,
                joined_at: now,
                left_at: None,
            };
            tx.upsert_membership(&m).await?;
            ev(
                Some(id),
                Some(club.id),
                "membership.join",
                format!("membership:{}", m.id),
            );
            members.push(m.id);
        }
        let mut groups = Vec::new();
        for (i, name) in GRADES.iter().chain(PARTS.iter()).enumerate() {
            let kind = if i < GRADES.len() {
                SubgroupKind::Grade
            } else {
                SubgroupKind::Part
            };
            let s = Subgroup {
                id: new_id!(SubgroupId),
                club_id: club.id,
                name: (*name).into(),
                kind,
                created_at: now,
            };
            tx.insert_subgroup(&s).await?;
            ev(
                None,
                Some(club.id),
                "subgroup.create",
                format!("subgroup:{}", s.id),
            );
            groups.push(s.id);
        }
        for (i, (_, _, role, grade)) in PEOPLE.iter().enumerate() {
            if matches!(role, Role::Coach | Role::Guardian) {
                continue;
            }
            tx.add_to_subgroup(groups[*grade], members[i]).await?;
            tx.add_to_subgroup(groups[GRADES.len() + i % PARTS.len()], members[i])
                .await?;
            ev(
                None,
                Some(club.id),
                "subgroup.add_member",
                format!("membership:{}", members[i]),
            );
        }
        for (g, s) in LINKS {
            tx.link_guardian(club.id, members[g], members[s], now)
                .await?;
            ev(
                None,
                Some(club.id),
                "guardian.link",
                format!("membership:{}", members[g]),
            );
        }
        let names: Vec<&str> = PEOPLE.iter().map(|p| p.0).collect();
        let players: Vec<usize> = (0..PEOPLE.len())
            .filter(|i| !matches!(PEOPLE[*i].2, Role::Coach | Role::Guardian))
            .collect();
        let cast = month::Cast {
            club: club.id,
            members: &members,
            accounts: &accounts,
            names: &names,
            players: &players,
            guardian: LINKS[0].0,
        };
        let month = month::seed(&mut tx, &cast, now, |account, action, target| {
            event(account, None, &origin, Some(club.id), action, target, &now)
        })
        .await?;
        events.extend(month.events);
        tx.commit(events).await?;
        Ok(logins)
    }
}

/// An event the demo writes, and when it happens.
pub(super) struct Planned<'a> {
    pub title: &'a str,
    pub bring: &'a str,
    pub start: jiff::civil::DateTime,
    pub minutes: i64,
    /// Every start of this rule, or `start` alone.
    pub rule: Option<&'a Recurrence>,
    /// The sub-groups it is for; everyone when empty.
    pub targets: Vec<SubgroupId>,
}

impl Planned<'_> {
    /// The event, in the music room, and its occurrences.
    pub(super) fn write_out(
        self,
        club: ClubId,
        by: AccountId,
        now: i64,
        zone: &Zone,
    ) -> Result<(Event, Vec<Occurrence>)> {
        let end = self
            .start
            .checked_add(jiff::Span::new().minutes(self.minutes))
            .unwrap_or(self.start);
        let timing = Timing {
            zone: zone.clone(),
            start: self.start,
            end,
            meet_before_min: Some(15),
            deadline_before_min: 1440,
        };
        let e = Event {
            id: new_id!(EventId),
            club_id: club,
            title: self.title.into(),
            place: "音楽室".into(),
            bring: self.bring.into(),
            notes: String::new(),
            timezone: zone.name().to_owned(),
            rrule: self.rule.map(Recurrence::to_storage),
            first_start: timing.start.to_string(),
            first_end: timing.end.to_string(),
            meet_before_min: Some(15),
            deadline_before_min: 1440,
            capacity: None,
            reminders: Vec::new(),
            all_members: self.targets.is_empty(),
            targets: self.targets,
            created_by: by,
            created_at: now,
            updated_at: now,
            cancelled_at: None,
        };
        let starts = match self.rule {
            Some(r) => r.expand(self.start)?,
            None => vec![self.start],
        };
        let mut occurrences = Vec::with_capacity(starts.len());
        for s in starts {
            let s = timing.slot(s)?;
            occurrences.push(Occurrence {
                id: new_id!(OccurrenceId),
                event_id: e.id,
                club_id: club,
                original_start: s.original_start,
                starts_at: s.starts_at,
                ends_at: s.ends_at,
                meet_at: s.meet_at,
                deadline_at: s.deadline_at,
                title: e.title.clone(),
                place: e.place.clone(),
                bring: e.bring.clone(),
                notes: String::new(),
                capacity: None,
                detached: false,
                cancelled_at: None,
                updated_at: now,
            });
        }
        Ok((e, occurrences))
    }
}
