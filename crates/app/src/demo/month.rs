//! The demo club's lively month, so that no page starts empty: four weeks of past
//! practice with answers, eight weeks to come (the next two partly answered), a Saturday
//! joint rehearsal, announcements (one awaiting 確認 from half the club), an open poll
//! with votes, and comments on the next practice and on the announcement.

use jiff::civil::Weekday;
use tekkan_audit::Event as AuditEvent;
use tekkan_core::jiff;
use tekkan_core::schedule::{Freq, Recurrence, Zone};
use tekkan_core::{
    AccountId, AnnouncementId, AnswerStatus, AnsweredAs, ClubId, CommentId, MembershipId, PollId,
};
use tekkan_storage::{Announcement, Answer, Comment, Poll, WriteTx};

use super::Planned;
use crate::Result;
use crate::token::new_id;

const DAY: i64 = 86_400_000;

/// Who the month is written for: the club and its people, in the order of `PEOPLE`.
pub(super) struct Cast<'a> {
    pub club: ClubId,
    pub members: &'a [MembershipId],
    pub accounts: &'a [AccountId],
    pub names: &'a [&'a str],
    /// Indexes of those who answer practice (students and officers).
    pub players: &'a [usize],
    /// A guardian's index.
    pub guardian: usize,
}

/// Same every run: the demo is for looking at, not for statistics.
struct Dice(u64);

impl Dice {
    fn roll(&mut self, sides: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % sides
    }
}

/// What [`seed`] wrote, for the audit entries of the seeding transaction.
pub(super) struct Written {
    pub events: Vec<AuditEvent>,
}

/// Writes the month inside the demo's transaction; returns its audit entries (made with
/// `audit`).
pub(super) async fn seed(
    tx: &mut WriteTx,
    cast: &Cast<'_>,
    now: i64,
    audit: impl Fn(Option<AccountId>, &str, String) -> AuditEvent,
) -> Result<Written> {
    let mut dice = Dice(20_260_401);
    let mut events = Vec::new();
    let zone = Zone::tokyo();
    let today = zone.local(now).date();
    let day = |n: i64| {
        today
            .checked_add(jiff::Span::new().days(n))
            .unwrap_or(today)
    };
    let owner = cast.accounts[0];

    // Practice: Monday, Wednesday and Friday, four weeks back and eight ahead.
    let first = day(-28).at(16, 0, 0, 0);
    let days = vec![Weekday::Monday, Weekday::Wednesday, Weekday::Friday];
    let rule = Recurrence::new(Freq::Weekly, 1, days, day(56), first)?;
    let practice = Planned {
        title: "合奏練習",
        bring: "楽器・楽譜・チューナー",
        start: first,
        minutes: 150,
        rule: Some(&rule),
        targets: Vec::new(),
    }
    .write_out(cast.club, owner, now, &zone)?;
    tx.insert_event(&practice.0).await?;
    events.push(audit(
        Some(owner),
        "event.create",
        format!("event:{}", practice.0.id),
    ));
    // A one-off joint rehearsal on a Saturday a week or two from now.
    let ahead = (6 - today.weekday().to_monday_zero_offset() as i64).rem_euclid(7) + 7;
    let rehearsal = Planned {
        title: "定期演奏会 合同リハーサル",
        bring: "楽器・楽譜・チューナー",
        start: day(ahead).at(9, 30, 0, 0),
        minutes: 300,
        rule: None,
        targets: Vec::new(),
    }
    .write_out(cast.club, owner, now, &zone)?;
    tx.insert_event(&rehearsal.0).await?;
    events.push(audit(
        Some(owner),
        "event.create",
        format!("event:{}", rehearsal.0.id),
    ));

    let mut next_practice = None;
    for (e, starts) in [practice, rehearsal] {
        for o in starts {
            tx.insert_occurrence(&o).await?;
            let past = o.ends_at < now;
            if !past && next_practice.is_none() && e.rrule.is_some() {
                next_practice = Some(o.id);
            }
            let answered = |d: &mut Dice| match past {
                true => d.roll(100) < 93,
                false if o.starts_at < now + 14 * DAY => d.roll(100) < 55,
                false => false,
            };
            for &p in cast.players {
                if !answered(&mut dice) {
                    continue;
                }
                let (status, comment) = match dice.roll(100) {
                    0..78 => (AnswerStatus::Yes, ""),
                    78..84 => (AnswerStatus::Yes, "塾のため17時から参加します"),
                    84..96 => (AnswerStatus::No, "体調不良のため"),
                    _ => (AnswerStatus::Maybe, ""),
                };
                let at = (o.starts_at - (1 + dice.roll(3) as i64) * DAY).min(now);
                tx.put_answer(&Answer {
                    occurrence_id: o.id,
                    membership_id: cast.members[p],
                    status,
                    comment: comment.into(),
                    decide_by: None,
                    queued_at: None,
                    answered_by: cast.accounts[p],
                    answered_as: AnsweredAs::Member,
                    answered_at: at,
                })
                .await?;
            }
        }
    }
    events.push(audit(None, "demo.answers", format!("club:{}", cast.club)));

    // Announcements: a pinned one everyone has read, and a fresh one that asks for 確認.
    let notices = [
        (
            "定期演奏会について",
            "3月20日(金・祝)14:00開演、市民会館大ホールです。チケットは1人10枚まで。保護者の皆さまもぜひお越しください。",
            true,
            false,
            20,
        ),
        (
            "合奏練習の持ち物(確認をお願いします)",
            "来週から本番の楽譜で合奏します。楽譜ファイル・チューナー・鉛筆を必ず持ってきてください。読んだら「確認しました」を押してください。",
            false,
            true,
            2,
        ),
    ];
    let mut confirm_notice = None;
    for (title, body, pinned, confirm, days_ago) in notices {
        let at = now - days_ago * DAY;
        let a = Announcement {
            id: new_id!(AnnouncementId),
            club_id: cast.club,
            author_id: cast.members[1],
            content_hash: crate::announcements::content_hash(title, body),
            title: title.into(),
            body: body.into(),
            pinned,
            requires_confirmation: confirm,
            all_members: true,
            targets: Vec::new(),
            created_at: at,
            updated_at: at,
        };
        tx.insert_announcement(&a).await?;
        events.push(audit(
            Some(cast.accounts[1]),
            "announcement.post",
            format!("announcement:{}", a.id),
        ));
        // Half the players have read and confirmed the fresh one; the rest have not yet.
        for (k, &p) in cast.players.iter().enumerate() {
            let m = cast.members[p];
            if !confirm || k % 2 == 0 {
                tx.record_read(a.id, m, at + DAY / 4).await?;
                if confirm {
                    tx.record_confirmation(a.id, m, &a.content_hash, at + DAY / 3)
                        .await?;
                }
            }
        }
        if confirm {
            confirm_notice = Some(a.id);
        }
    }

    // An open poll, about half the club has voted.
    let poll = Poll {
        id: new_id!(PollId),
        club_id: cast.club,
        author_id: cast.members[0],
        question: "夏合宿の日程はどちらが良いですか?".into(),
        multiple: false,
        anonymous: false,
        all_members: true,
        targets: Vec::new(),
        closes_at: now + 7 * DAY,
        created_at: now - DAY,
        closed_at: None,
    };
    let options = ["8月1日〜3日", "8月8日〜10日", "どちらでも参加できる"].map(String::from);
    tx.insert_poll(&poll, &options).await?;
    events.push(audit(
        Some(owner),
        "poll.create",
        format!("poll:{}", poll.id),
    ));
    for (k, &p) in cast.players.iter().enumerate() {
        if k % 2 == 1 {
            tx.add_voter(poll.id, cast.members[p], true).await?;
            let choice = [0, 0, 2, 1, 0, 2][(k / 2) % 6];
            tx.set_named_votes(poll.id, cast.members[p], &[choice])
                .await?;
        }
    }

    // Comments: a question on the next practice, one on the announcement, with answers.
    let mut talk = Vec::new();
    if let Some(o) = next_practice {
        talk.push((
            "occurrence",
            o.to_string(),
            4,
            "パート練習はどの教室ですか?",
        ));
        talk.push((
            "occurrence",
            o.to_string(),
            1,
            "第2音楽室です。椅子を並べておいてください。",
        ));
    }
    if let Some(a) = confirm_notice {
        talk.push((
            "announcement",
            a.to_string(),
            cast.guardian,
            "楽譜ファイルはA4サイズでよいでしょうか?",
        ));
        talk.push((
            "announcement",
            a.to_string(),
            1,
            "はい、A4のクリアファイルで大丈夫です。",
        ));
    }
    for (n, (kind, parent, who, body)) in talk.into_iter().enumerate() {
        let c = Comment {
            id: new_id!(CommentId),
            club_id: cast.club,
            parent_kind: kind.into(),
            parent_id: parent,
            author_id: cast.members[who],
            author_name: cast.names[who].into(),
            body: body.into(),
            created_at: now - DAY / 2 + n as i64 * 3_600_000,
            edited_at: None,
            deleted_at: None,
        };
        tx.insert_comment(&c).await?;
        events.push(audit(
            Some(cast.accounts[who]),
            "comment.add",
            format!("comment:{}", c.id),
        ));
    }
    Ok(Written { events })
}
