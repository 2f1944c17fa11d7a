//! Realistic data at scale, for benchmarks: `tekkan demo --clubs N` writes N school
//! clubs with members, guardians, sub-groups, a year of recurring practice (half past,
//! half to come), answers, announcements and who read them.
//!
//! Generated accounts have no password (they cannot log in); a benchmark gets sessions
//! through `sessions`, whose tokens are returned once.

use jiff::civil::Weekday;
use tekkan_core::jiff;
use tekkan_core::schedule::{Freq, Recurrence, Zone};
use tekkan_core::{
    AccountId, AnnouncementId, AnswerStatus, AnsweredAs, ClubId, MembershipId, MembershipStatus,
    OccurrenceId, Role, SessionId, SubgroupId, SubgroupKind,
};
use tekkan_storage::{
    Announcement, Answer, Club, Membership, NewAccount, NewSession, Subgroup, WriteTx, now_ms,
};

use crate::actor::event;
use crate::token::{hash_token, new_id, random_token};
use crate::{App, Origin, Result};

#[derive(Clone, Debug)]
pub struct ScaleOptions {
    pub clubs: usize,
    /// Sessions to open for benchmark clients, spread over the clubs' members.
    pub sessions: usize,
    pub seed: u64,
}

/// What a benchmark client needs: a session token, and an occurrence to come that its
/// member may answer.
#[derive(Clone, Debug)]
pub struct BenchSession {
    pub token: String,
    pub club: ClubId,
    pub member: MembershipId,
    pub occurrence: OccurrenceId,
}

#[derive(Clone, Debug, Default)]
pub struct ScaleReport {
    pub clubs: usize,
    pub members: usize,
    pub occurrences: usize,
    pub answers: usize,
    pub announcements: usize,
    pub sessions: Vec<BenchSession>,
}

/// A recurring practice of every generated club.
struct Plan {
    title: &'static str,
    days: Vec<Weekday>,
    hour: i8,
    minutes: i64,
    targets: Vec<SubgroupId>,
}

/// splitmix64: small, deterministic for a seed, good enough for fake data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

const SURNAMES: [&str; 20] = [
    "佐藤",
    "鈴木",
    "高橋",
    "田中",
    "伊藤",
    "渡辺",
    "山本",
    "中村",
    "小林",
    "加藤",
    "吉田",
    "山田",
    "佐々木",
    "山口",
    "松本",
    "井上",
    "木村",
    "林",
    "斎藤",
    "清水",
];
const GIVEN: [&str; 20] = [
    "陽菜",
    "蓮",
    "結衣",
    "大翔",
    "さくら",
    "湊",
    "葵",
    "悠真",
    "芽依",
    "颯",
    "凛",
    "陽翔",
    "美咲",
    "樹",
    "結菜",
    "蒼",
    "莉子",
    "律",
    "花",
    "朝陽",
];
const SCHOOLS: [&str; 10] = [
    "桜ヶ丘",
    "緑ヶ丘",
    "青葉",
    "若葉",
    "東",
    "西",
    "南",
    "北",
    "旭",
    "港",
];
const ACTIVITIES: [&str; 8] = [
    "吹奏楽部",
    "野球部",
    "サッカー部",
    "バスケットボール部",
    "合唱部",
    "陸上部",
    "軽音楽部",
    "テニス部",
];
const MEMBERS_PER_CLUB: usize = 30;
const GUARDIANS: usize = 3;

fn role_of(j: usize) -> Role {
    match j {
        0 => Role::Owner,
        1 | 2 => Role::Officer,
        3 => Role::Treasurer,
        4 => Role::Coach,
        j if j >= MEMBERS_PER_CLUB - GUARDIANS => Role::Guardian,
        _ => Role::Member,
    }
}

impl App {
    /// Writes the clubs, one transaction (and one audit entry) per club.
    pub async fn seed_scale(&self, opts: &ScaleOptions) -> Result<ScaleReport> {
        let mut rng = Rng(opts.seed);
        let mut report = ScaleReport::default();
        let zone = Zone::tokyo();
        let now = now_ms();
        let today = zone.local(now).date();
        let span = |days: i64| {
            today
                .checked_add(jiff::Span::new().days(days))
                .unwrap_or(today)
        };
        let origin = Origin {
            ip: None,
            user_agent: Some("tekkan demo --clubs".into()),
            device: None,
        };
        let per_club = opts.sessions.div_ceil(opts.clubs.max(1));
        for i in 0..opts.clubs {
            let mut tx = self.db().begin().await?;
            let club = Club {
                id: new_id!(ClubId),
                name: format!(
                    "{}高校 {} ({})",
                    SCHOOLS[i % 10],
                    ACTIVITIES[(i / 10) % 8],
                    i + 1
                ),
                description: "毎週月・水・金 16:00〜18:30 練習。土曜は上級生の自主練。".into(),
                timezone: zone.name().to_owned(),
                created_at: now,
            };
            let mut members = Vec::with_capacity(MEMBERS_PER_CLUB);
            let mut accounts = Vec::with_capacity(MEMBERS_PER_CLUB);
            for j in 0..MEMBERS_PER_CLUB {
                let id = new_id!(AccountId);
                let name = format!("{} {}", SURNAMES[rng.below(20)], GIVEN[rng.below(20)]);
                let email = format!("c{i}m{j}.{}@demo.tekkan.invalid", &id.to_string()[..6]);
                tx.insert_account(&NewAccount {
                    id,
                    email: &email,
                    display_name: &name,
                    password_hash: None,
                    is_operator: false,
                    created_at: now,
                })
                .await?;
                if j == 0 {
                    tx.insert_club(&club, id).await?;
                }
                let m = Membership {
                    id: new_id!(MembershipId),
                    club_id: club.id,
                    account_id: id,
                    role: role_of(j),
                    status: MembershipStatus::Active,
                    joined_at: now - 400 * 86_400_000,
                    left_at: None,
                };
                tx.upsert_membership(&m).await?;
                members.push(m.id);
                accounts.push(id);
            }
            let mut groups = Vec::new();
            for (k, name) in ["1年", "2年", "3年", "Aパート", "Bパート", "Cパート"]
                .iter()
                .enumerate()
            {
                let s = Subgroup {
                    id: new_id!(SubgroupId),
                    club_id: club.id,
                    name: (*name).into(),
                    kind: if k < 3 {
                        SubgroupKind::Grade
                    } else {
                        SubgroupKind::Part
                    },
                    created_at: now,
                };
                tx.insert_subgroup(&s).await?;
                groups.push(s.id);
            }
            let students: Vec<usize> = (0..MEMBERS_PER_CLUB)
                .filter(|j| {
                    matches!(
                        role_of(*j),
                        Role::Owner | Role::Officer | Role::Treasurer | Role::Member
                    )
                })
                .collect();
            for (n, j) in students.iter().enumerate() {
                tx.add_to_subgroup(groups[n % 3], members[*j]).await?;
                tx.add_to_subgroup(groups[3 + n % 3], members[*j]).await?;
            }
            for g in 0..GUARDIANS {
                tx.link_guardian(
                    club.id,
                    members[MEMBERS_PER_CLUB - GUARDIANS + g],
                    members[5 + g],
                    now,
                )
                .await?;
            }
            // Weekday practice for everyone; Saturday practice for grades 2 and 3.
            let plans = [
                Plan {
                    title: "通常練習",
                    days: vec![Weekday::Monday, Weekday::Wednesday, Weekday::Friday],
                    hour: 16,
                    minutes: 150,
                    targets: vec![],
                },
                Plan {
                    title: "土曜練習",
                    days: vec![Weekday::Saturday],
                    hour: 9,
                    minutes: 180,
                    targets: vec![groups[1], groups[2]],
                },
            ];
            let mut future = Vec::new();
            for Plan {
                title,
                days,
                hour: h,
                minutes,
                targets,
            } in plans
            {
                let first = span(-182).at(h, 0, 0, 0);
                let rule = Recurrence::new(Freq::Weekly, 1, days, span(182), first)?;
                let (e, occurrences) = super::Planned {
                    title,
                    bring: "",
                    start: first,
                    minutes,
                    rule: Some(&rule),
                    targets: targets.clone(),
                }
                .write_out(club.id, accounts[0], now, &zone)?;
                tx.insert_event(&e).await?;
                let attendees: Vec<usize> = (0..MEMBERS_PER_CLUB)
                    .filter(|j| role_of(*j) != Role::Guardian)
                    .filter(|j| {
                        targets.is_empty()
                            || students
                                .iter()
                                .position(|s| s == j)
                                .is_some_and(|n| n % 3 != 0)
                    })
                    .collect();
                for o in occurrences {
                    tx.insert_occurrence(&o).await?;
                    report.occurrences += 1;
                    let past = o.starts_at < now;
                    let soon = o.starts_at < now + 14 * 86_400_000;
                    // Benchmark clients answer practices that are for everyone.
                    if targets.is_empty() && o.starts_at > now && o.deadline_at > now {
                        future.push(o.id);
                    }
                    for j in &attendees {
                        let answers = if past {
                            rng.chance(92)
                        } else {
                            soon && rng.chance(60)
                        };
                        if !answers {
                            continue;
                        }
                        let roll = rng.below(100);
                        let status = match roll {
                            0..80 => AnswerStatus::Yes,
                            80..95 => AnswerStatus::No,
                            _ => AnswerStatus::Maybe,
                        };
                        let comment = if status == AnswerStatus::Yes && rng.chance(5) {
                            "遅刻します"
                        } else {
                            ""
                        };
                        tx.put_answer(&Answer {
                            occurrence_id: o.id,
                            membership_id: members[*j],
                            status,
                            comment: comment.into(),
                            decide_by: None,
                            queued_at: None,
                            answered_by: accounts[*j],
                            answered_as: AnsweredAs::Member,
                            answered_at: o.starts_at - 2 * 86_400_000,
                        })
                        .await?;
                        report.answers += 1;
                    }
                }
            }
            report.announcements += self
                .seed_announcements(&mut tx, &mut rng, &club, &members, now)
                .await?;
            // Sessions go to plain members: the owners and officers of a real club would
            // have enrolled a second factor, which generated accounts cannot have.
            let plain: Vec<usize> = students
                .iter()
                .copied()
                .filter(|j| role_of(*j) == Role::Member)
                .collect();
            for s in 0..per_club.min(opts.sessions.saturating_sub(report.sessions.len())) {
                let j = plain[(s * 7) % plain.len()];
                let token = random_token();
                tx.insert_session(&NewSession {
                    id: new_id!(SessionId),
                    token_hash: &hash_token(&token),
                    account_id: accounts[j],
                    now,
                    expires_at: now + 30 * 86_400_000,
                    ip: None,
                    user_agent: Some("tekkan demo --clubs"),
                    device_hash: None,
                })
                .await?;
                if let Some(o) = future.get(rng.below(future.len().max(1))) {
                    report.sessions.push(BenchSession {
                        token,
                        club: club.id,
                        member: members[j],
                        occurrence: *o,
                    });
                }
            }
            tx.commit(vec![event(
                None,
                None,
                &origin,
                Some(club.id),
                "demo.seed",
                format!("club:{}", club.id),
                &i,
            )])
            .await?;
            report.clubs += 1;
            report.members += MEMBERS_PER_CLUB;
        }
        Ok(report)
    }

    /// A dozen announcements over the past half year; most are read, and most of those
    /// that ask for it are confirmed.
    async fn seed_announcements(
        &self,
        tx: &mut WriteTx,
        rng: &mut Rng,
        club: &Club,
        members: &[MembershipId],
        now: i64,
    ) -> Result<usize> {
        let titles = [
            "練習日程の変更",
            "定期演奏会について",
            "合宿のお知らせ",
            "部費の集金",
            "楽器の点検",
            "保護者会のご案内",
        ];
        for k in 0..12 {
            let at = now - (k as i64 * 15 + 1) * 86_400_000;
            let title = titles[k % titles.len()].to_owned();
            let body = format!("{title}の詳細です。各自確認してください。");
            let a = Announcement {
                id: new_id!(AnnouncementId),
                club_id: club.id,
                author_id: members[1],
                content_hash: crate::announcements::content_hash(&title, &body),
                title,
                body,
                pinned: k == 0,
                requires_confirmation: k % 3 == 0,
                all_members: true,
                targets: Vec::new(),
                created_at: at,
                updated_at: at,
            };
            tx.insert_announcement(&a).await?;
            for m in members.iter().skip(2) {
                if rng.chance(85) {
                    tx.record_read(a.id, *m, at + 3_600_000).await?;
                    if a.requires_confirmation && rng.chance(80) {
                        tx.record_confirmation(a.id, *m, &a.content_hash, at + 7_200_000)
                            .await?;
                    }
                }
            }
        }
        Ok(12)
    }
}
