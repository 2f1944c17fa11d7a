//! Personal fields: sealed at rest (the raw SQLite file and its WAL never hold the
//! values), shown by the visibility rules, and kept for a minor only after a linked
//! guardian's consent.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tekkan_storage::sql as raw;

use crate::support::fixture::join;
use crate::support::{Client, TestApp, code};

const PHONE: &str = "090-7777-1234";
const ADDRESS: &str = "東京都千代田区千代田1-1 秘密荘101";
const HEALTH: &str = "ピーナッツと甲殻類のアレルギー(エピペン携帯)";
const GUARDIAN: &str = "母 080-5555-9876";

struct Club {
    id: String,
    owner: Client,
    member: Client,
    member_id: String,
    guardian: Client,
    plain: Client,
}

async fn club(app: &TestApp) -> Club {
    let mut owner = app.sign_up("部長", None).await;
    let id = owner.create_club("陸上部").await;
    let (member, member_id) = join(app, &mut owner, &id, "member", false).await;
    let (guardian, guardian_id) = join(app, &mut owner, &id, "guardian", false).await;
    let (plain, _) = join(app, &mut owner, &id, "member", false).await;
    let (s, v) = owner
        .api(
            Method::PUT,
            &format!("/api/v1/clubs/{id}/members/{guardian_id}/students/{member_id}"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    Club {
        id,
        owner,
        member,
        member_id,
        guardian,
        plain,
    }
}

async fn seen_by(c: &Client, club: &Club) -> Value {
    let (s, v) = c
        .clone()
        .api(
            Method::GET,
            &format!(
                "/api/v1/clubs/{}/members/{}/personal",
                club.id, club.member_id
            ),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["fields"].clone()
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personal_fields_are_sealed_at_rest_and_shown_by_the_rules() {
    let app = TestApp::start().await;
    let mut c = club(&app).await;
    let body = json!({
        "fields": {"phone": PHONE, "address": ADDRESS, "health_notes": HEALTH,
                   "guardian_contact": GUARDIAN, "birth_date": "2000-05-05", "school": "都立テスト高校"},
        "phone_visibility": "club",
        "address_visibility": "nobody",
    });
    let (s, v) = c
        .member
        .api(Method::PUT, "/api/v1/me/personal", Some(body))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["fields"]["health_notes"], HEALTH);
    assert_eq!(v["phone_visibility"], "club");

    // The raw file and its WAL hold none of the values, and neither does the audit log.
    let raw = app.stored_bytes().await;
    assert!(raw.len() > 4096);
    // What is stored in the clear is found (these are the right files).
    assert!(contains(&raw, &c.member.email));
    for secret in [PHONE, ADDRESS, HEALTH, GUARDIAN, "都立テスト高校"] {
        assert!(!contains(&raw, secret), "{secret} is in the database file");
    }
    let mut db = app.raw_db().await;
    let sealed: Vec<String> = raw::scalar("SELECT sealed FROM personal_fields")
        .fetch_all(&mut db)
        .await
        .unwrap();
    assert_eq!(sealed.len(), 6);
    // Who sees what.
    let own = seen_by(&c.member, &c).await;
    assert_eq!(
        own.as_object().unwrap().len(),
        6,
        "the person sees everything"
    );
    let officer = seen_by(&c.owner, &c).await;
    assert_eq!(officer["phone"], PHONE);
    assert_eq!(officer["health_notes"], HEALTH);
    assert_eq!(officer["guardian_contact"], GUARDIAN);
    assert!(
        officer.get("address").is_none(),
        "address is for no one: {officer}"
    );
    let plain = seen_by(&c.plain, &c).await;
    assert_eq!(
        plain.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["phone"]
    );
    let guardian = seen_by(&c.guardian, &c).await;
    assert_eq!(
        guardian["health_notes"], HEALTH,
        "a linked guardian sees their child's"
    );

    // The phone back to officers only: the plain member sees nothing.
    let (s, _) = c
        .member
        .api(
            Method::PUT,
            "/api/v1/me/personal",
            Some(json!({"phone_visibility": "officers"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(seen_by(&c.plain, &c).await.as_object().unwrap().is_empty());

    // Another club's member id, and outsiders, get nothing.
    let mut outsider = app.sign_up("部外者", None).await;
    let other = outsider.create_club("他部").await;
    let (s, _) = outsider
        .api(
            Method::GET,
            &format!("/api/v1/clubs/{other}/members/{}/personal", c.member_id),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = outsider
        .api(
            Method::GET,
            &format!("/api/v1/clubs/{}/members/{}/personal", c.id, c.member_id),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Empty removes; bad values are refused and change nothing.
    for bad in [
        json!({"fields": {"phone": "<script>alert(1)</script>"}}),
        json!({"fields": {"birth_date": "2999-01-01"}}),
        json!({"fields": {"blood_type": "A"}}),
        json!({"phone_visibility": "everyone"}),
    ] {
        let (s, _) = c
            .member
            .api(Method::PUT, "/api/v1/me/personal", Some(bad.clone()))
            .await;
        assert!(
            s == StatusCode::UNPROCESSABLE_ENTITY || s == StatusCode::BAD_REQUEST,
            "{bad}: {s}"
        );
    }
    let (s, v) = c
        .member
        .api(
            Method::PUT,
            "/api/v1/me/personal",
            Some(json!({"fields": {"health_notes": ""}})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(v["fields"].get("health_notes").is_none());
    assert_eq!(v["fields"]["phone"], PHONE);

    // The page shows the form with the values.
    let mut b = c.member.as_browser();
    let page = b.get("/settings/profile").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(PHONE));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_minor_keeps_personal_fields_only_after_a_linked_guardian_consents() {
    let app = TestApp::start().await;
    let mut c = club(&app).await;
    let (s, v) = c
        .member
        .api(
            Method::PUT,
            "/api/v1/me/personal",
            Some(json!({"fields": {"birth_date": "2015-04-01", "phone": PHONE}})),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::CONFLICT, "guardian_consent_required")
    );
    // The birth date alone may be kept, and the person is told consent is needed.
    let (s, v) = c
        .member
        .api(
            Method::PUT,
            "/api/v1/me/personal",
            Some(json!({"fields": {"birth_date": "2015-04-01"}})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["consent_needed"], true);
    let (s, v) = c
        .member
        .api(
            Method::PUT,
            "/api/v1/me/personal",
            Some(json!({"fields": {"health_notes": HEALTH}})),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::CONFLICT, "guardian_consent_required")
    );

    // Only a guardian linked to this member can consent.
    let path = format!(
        "/api/v1/clubs/{}/members/{}/personal-consent",
        c.id, c.member_id
    );
    for who in [&mut c.owner, &mut c.plain] {
        let (s, _) = who.api(Method::POST, &path, None).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
    }
    let (s, _) = c.guardian.api(Method::POST, &path, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = c
        .member
        .api(
            Method::PUT,
            "/api/v1/me/personal",
            Some(json!({"fields": {"health_notes": HEALTH}})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v.get("consent_needed").is_none());
    let mut db = app.raw_db().await;
    let (guardian, at): (String, i64) = crate::support::tuple(
        raw::q("SELECT guardian_account, given_at FROM personal_consents"),
        &mut db,
    )
    .await;
    assert_eq!(guardian.len(), 32);
    assert!(at > 0);
    app.settle_log().await;
    let n: i64 =
        raw::scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'personal.guardian_consent'")
            .fetch_one(&mut db)
            .await
            .unwrap();
    assert_eq!(n, 1);
}
