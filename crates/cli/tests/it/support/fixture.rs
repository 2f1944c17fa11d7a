//! Two clubs with a member in every role, built through the public API the way people
//! would build them: sign up, create a club, invite by link, join.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{Client, TestApp};

/// Who makes a request in the matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Who {
    Anon,
    /// Logged in, a member of the other club only.
    Outsider,
    Owner,
    Officer,
    Treasurer,
    Coach,
    Member,
    Guardian,
    /// The operator: runs the service, is a member of no club.
    Operator,
}

impl Who {
    pub const ALL: [Who; 9] = [
        Who::Anon,
        Who::Outsider,
        Who::Operator,
        Who::Guardian,
        Who::Member,
        Who::Coach,
        Who::Treasurer,
        Who::Officer,
        Who::Owner,
    ];

    pub fn role(self) -> Option<&'static str> {
        Some(match self {
            Who::Owner => "owner",
            Who::Officer => "officer",
            Who::Treasurer => "treasurer",
            Who::Coach => "coach",
            Who::Member => "member",
            Who::Guardian => "guardian",
            Who::Anon | Who::Outsider | Who::Operator => return None,
        })
    }
}

pub struct ClubFx {
    pub id: String,
    pub owner: Client,
    /// Members by role (owner first); each with `membership` set.
    pub people: Vec<(Who, Client, String)>,
    /// The student the guardian is linked to.
    pub student: String,
}

pub struct Fixture {
    pub app: TestApp,
    pub a: ClubFx,
    pub b: ClubFx,
    /// A member of club B only.
    pub outsider: Client,
    pub operator: Client,
}

impl Fixture {
    pub async fn new() -> Fixture {
        let app = TestApp::start().await;
        let operator = operator(&app).await;
        let a = club(
            &app,
            "A",
            &[
                Who::Officer,
                Who::Treasurer,
                Who::Coach,
                Who::Member,
                Who::Guardian,
            ],
        )
        .await;
        let b = club(&app, "B", &[Who::Member]).await;
        let outsider = b
            .people
            .iter()
            .find(|p| p.0 == Who::Member)
            .unwrap()
            .1
            .clone();
        Fixture {
            app,
            a,
            b,
            outsider,
            operator,
        }
    }

    /// The client acting as `who` (in club A).
    pub fn client(&self, who: Who) -> Client {
        match who {
            Who::Anon => self.app.client(),
            Who::Outsider => self.outsider.clone(),
            Who::Operator => self.operator.clone(),
            w => self.a.people.iter().find(|p| p.0 == w).unwrap().1.clone(),
        }
    }

    pub fn membership(&self, who: Who) -> String {
        self.a.people.iter().find(|p| p.0 == who).unwrap().2.clone()
    }
}

/// The operator's account, made with the first-run setup link.
pub async fn operator(app: &TestApp) -> Client {
    let url = app.running().setup_url.clone().expect("a setup link");
    let token = url.split("token=").nth(1).unwrap();
    let mut op = app.client();
    let email = format!("{}@example.jp", super::unique("operator"));
    let body = json!({"token": token, "email": email, "display_name": "運営者",
        "password": "a long enough passphrase"});
    let (s, v) = op.api(Method::POST, "/api/v1/setup", Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    op.bearer = Some(v["token"].as_str().unwrap().to_owned());
    op.email = email;
    op
}

/// An invitation token created by `by` in `club`.
pub async fn invite(by: &mut Client, club: &str, role: &str, approval: bool) -> String {
    let body =
        json!({"role": role, "max_uses": 5, "expires_in_hours": 24, "requires_approval": approval});
    let (s, v) = by
        .api(
            Method::POST,
            &format!("/api/v1/clubs/{club}/invitations"),
            Some(body),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["token"].as_str().unwrap().to_owned()
}

/// A new person who joins `club` in `role` by invitation; returns the client and the
/// membership id.
pub async fn join(
    app: &TestApp,
    owner: &mut Client,
    club: &str,
    role: &str,
    approval: bool,
) -> (Client, String) {
    let token = invite(owner, club, role, approval).await;
    let c = app.sign_up(&format!("{role}-member"), Some(&token)).await;
    let m = c.joined.as_ref().unwrap()["membership_id"]
        .as_str()
        .unwrap()
        .to_owned();
    (c, m)
}

async fn club(app: &TestApp, name: &str, roles: &[Who]) -> ClubFx {
    let mut owner = app.sign_up(&format!("owner {name}"), None).await;
    let id = owner.create_club(&format!("Club {name}")).await;
    let (_, detail) = owner
        .api(Method::GET, &format!("/api/v1/clubs/{id}"), None)
        .await;
    let owner_m = detail["membership_id"].as_str().unwrap().to_owned();
    let mut people = vec![(Who::Owner, owner.clone(), owner_m)];
    for who in roles {
        let (c, m) = join(app, &mut owner, &id, who.role().unwrap(), false).await;
        people.push((*who, c, m));
    }
    let student = people
        .iter()
        .find(|p| p.0 == Who::Member)
        .map(|p| p.2.clone())
        .unwrap_or_default();
    if let Some((_, _, g)) = people.iter().find(|p| p.0 == Who::Guardian) {
        let (s, v) = owner
            .api(
                Method::PUT,
                &format!("/api/v1/clubs/{id}/members/{g}/students/{student}"),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    }
    ClubFx {
        id,
        owner,
        people,
        student,
    }
}

/// Creates a sub-group in `club`; returns its id.
pub async fn subgroup(owner: &mut Client, club: &str) -> String {
    let (s, v) = owner
        .api(
            Method::POST,
            &format!("/api/v1/clubs/{club}/subgroups"),
            Some(json!({"name": "トランペット", "kind": "part"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["id"].as_str().unwrap().to_owned()
}

/// The invitation id of a freshly created invitation.
pub async fn invitation_id(owner: &mut Client, club: &str) -> String {
    let body = json!({"role": "member"});
    let (s, v): (StatusCode, Value) = owner
        .api(
            Method::POST,
            &format!("/api/v1/clubs/{club}/invitations"),
            Some(body),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["invitation"]["id"].as_str().unwrap().to_owned()
}

/// A local reading on the Tokyo clock `days` from today at `hh:mm` (or, with
/// `secs_from_now`, that many seconds from now), as forms send it.
pub fn jst_in_days(days: i64, hh: i8, mm: i8) -> String {
    use tekkan_core::jiff::{Timestamp, tz::TimeZone};
    let now = Timestamp::now().to_zoned(TimeZone::get("Asia/Tokyo").unwrap());
    let d = now
        .date()
        .checked_add(tekkan_core::jiff::Span::new().days(days))
        .unwrap();
    d.at(hh, mm, 0, 0).strftime("%Y-%m-%dT%H:%M").to_string()
}

/// The weekday code (MO..SU) `days` from today in Tokyo.
pub fn weekday_in(days: i64) -> &'static str {
    use tekkan_core::jiff::{Timestamp, tz::TimeZone};
    let d = Timestamp::now()
        .to_zoned(TimeZone::get("Asia/Tokyo").unwrap())
        .date()
        .checked_add(tekkan_core::jiff::Span::new().days(days))
        .unwrap();
    ["MO", "TU", "WE", "TH", "FR", "SA", "SU"][d.weekday().to_monday_zero_offset() as usize]
}

/// The Tokyo-clock reading `secs` seconds from now, with seconds.
pub fn jst_in_secs(secs: i64) -> String {
    use tekkan_core::jiff::{Timestamp, tz::TimeZone};
    let t = Timestamp::now() + tekkan_core::jiff::SignedDuration::from_secs(secs);
    t.to_zoned(TimeZone::get("Asia/Tokyo").unwrap())
        .datetime()
        .strftime("%Y-%m-%dT%H:%M:%S")
        .to_string()
}

/// A one-off event in `club` the day after tomorrow, for the whole club; returns the
/// event id and its occurrence id.
pub async fn event(by: &mut Client, club: &str) -> (String, String) {
    let body = json!({
        "title": "通常練習", "place": "音楽室",
        "starts_at": jst_in_days(2, 16, 0), "ends_at": jst_in_days(2, 18, 0),
        "deadline_before_min": 60
    });
    let (s, v) = by
        .api(
            Method::POST,
            &format!("/api/v1/clubs/{club}/events"),
            Some(body),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    (
        v["id"].as_str().unwrap().to_owned(),
        v["occurrences"][0]["id"].as_str().unwrap().to_owned(),
    )
}

/// An announcement for the whole club that asks for confirmation; returns its id.
pub async fn announcement(by: &mut Client, club: &str) -> String {
    let body = json!({"title": "お知らせ", "body": "本文", "requires_confirmation": true});
    let (s, v) = by
        .api(
            Method::POST,
            &format!("/api/v1/clubs/{club}/announcements"),
            Some(body),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["id"].as_str().unwrap().to_owned()
}

/// A comment by `by` under a new event's occurrence; returns its id.
pub async fn comment(by: &mut Client, club: &str) -> String {
    let (_, occ) = event(by, club).await;
    let (s, v) = by
        .api(
            Method::POST,
            &format!("/api/v1/clubs/{club}/occurrences/{occ}/comments"),
            Some(json!({"body": "よろしくお願いします"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["id"].as_str().unwrap().to_owned()
}

/// A named poll for the whole club, open for three days; returns its id.
pub async fn poll(by: &mut Client, club: &str) -> String {
    let body = json!({"question": "集合場所は？", "options": ["駅", "学校"], "closes_at": jst_in_days(3, 20, 0)});
    let (s, v) = by
        .api(
            Method::POST,
            &format!("/api/v1/clubs/{club}/polls"),
            Some(body),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["id"].as_str().unwrap().to_owned()
}
