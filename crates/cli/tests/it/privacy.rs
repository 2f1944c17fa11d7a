//! Privacy rights (APPI): a person downloads all their data (JSON and CSV in a ZIP,
//! read back with an independent ZIP reader), corrects it, stops its use, and deletes
//! their account, whose data key is destroyed so that even a copy of the database taken
//! before the deletion no longer opens their sealed fields.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tekkan_storage::sql as raw;

use crate::support::fixture::{join, operator};
use crate::support::{Client, TestApp, code};

const PW: &str = "a long enough passphrase";
const PHONE: &str = "080-3141-5926";
const HEALTH: &str = "そばアレルギー、喘息の吸入薬を携帯";

async fn get_zip(c: &mut Client) -> (StatusCode, Vec<u8>, reqwest::header::HeaderMap) {
    let mut req = reqwest::Client::new().get(format!("{}/api/v1/me/export", c.base));
    if let Some(t) = &c.bearer {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    let (s, h) = (res.status(), res.headers().clone());
    (s, res.bytes().await.unwrap().to_vec(), h)
}

/// Every file in the ZIP, read and CRC-checked by Python's `zipfile`.
fn unzip(bytes: &[u8]) -> serde_json::Map<String, Value> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("export.zip");
    std::fs::write(&path, bytes).unwrap();
    let script = "import json,sys,zipfile\n\
                  z=zipfile.ZipFile(sys.argv[1])\n\
                  assert z.testzip() is None\n\
                  print(json.dumps({n: z.read(n).decode('utf-8') for n in z.namelist()}))";
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&path)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Value>(&out.stdout)
        .unwrap()
        .as_object()
        .unwrap()
        .clone()
}

async fn set_fields(c: &mut Client) {
    let body = json!({"fields": {"phone": PHONE, "health_notes": HEALTH}});
    let (s, v) = c.api(Method::PUT, "/api/v1/me/personal", Some(body)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

async fn stale(app: &TestApp) {
    let mut db = app.raw_db().await;
    raw::q("UPDATE sessions SET reauth_at = 0")
        .execute(&mut db)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_download_all_their_data_as_json_and_csv() {
    let app = TestApp::builder()
        .configure(|c| c.limits.exports_per_address = (2, 3600))
        .start()
        .await;
    let mut owner = app.sign_up("部長", None).await;
    let club = owner.create_club("茶道部").await;
    let (mut member, _) = join(&app, &mut owner, &club, "member", false).await;
    set_fields(&mut member).await;

    let (s, zip, h) = get_zip(&mut member).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h["content-type"], "application/zip");
    assert!(
        h["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );
    assert_eq!(h["cache-control"], "no-store");
    let files = unzip(&zip);
    for f in [
        "data.json",
        "account.csv",
        "memberships.csv",
        "personal.csv",
        "sessions.csv",
    ] {
        assert!(files.contains_key(f), "{f} in {:?}", files.keys());
    }
    let data: Value = serde_json::from_str(files["data.json"].as_str().unwrap()).unwrap();
    assert_eq!(data["account"][0]["email"], member.email);
    assert_eq!(data["memberships"][0]["club"], "茶道部");
    let personal = data["personal"].as_array().unwrap();
    assert!(
        personal
            .iter()
            .any(|p| p["field"] == "phone" && p["value"] == PHONE)
    );
    let csv = files["personal.csv"].as_str().unwrap();
    assert!(
        csv.starts_with("field,value\r\n") && csv.contains(HEALTH),
        "{csv}"
    );
    assert!(
        files["memberships.csv"]
            .as_str()
            .unwrap()
            .contains("茶道部")
    );
    // Nobody else's data: the owner's address is not in the member's copy.
    assert!(
        !files
            .values()
            .any(|v| v.as_str().unwrap().contains(&owner.email))
    );

    // Limited per address, and it needs a recent proof of identity.
    let (s, _, _) = get_zip(&mut member).await;
    assert_eq!(s, StatusCode::OK);
    let (s, body, _) = get_zip(&mut member).await;
    assert_eq!(
        s,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        String::from_utf8_lossy(&body)
    );
    stale(&app).await;
    let mut fresh = app.sign_up("別人", None).await;
    stale(&app).await;
    let (s, _) = fresh.api(Method::GET, "/api/v1/me/export", None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let mut db = app.raw_db().await;
    let n: i64 = raw::scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'privacy.exported'")
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(n, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_account_cannot_be_read_back_even_from_an_older_copy() {
    let app = TestApp::start().await;
    let mut owner = app.sign_up("部長", None).await;
    let club = owner.create_club("写真部").await;
    let (mut leaver, leaver_m) = join(&app, &mut owner, &club, "member", false).await;
    let (mut stayer, stayer_m) = join(&app, &mut owner, &club, "member", false).await;
    set_fields(&mut leaver).await;
    set_fields(&mut stayer).await;
    let (_, me) = leaver.api(Method::GET, "/api/v1/me", None).await;
    let id = me["account_id"].as_str().unwrap().to_owned();

    // A copy of the database taken before the deletion, as a backup would be.
    let copy = crate::support::pg::OlderCopy::of(&app.data_dir()).await;
    let mut db = app.raw_db().await;
    let mut ks = app.raw_keystore().await;
    let wrapped: String = raw::scalar("SELECT wrapped FROM data_keys WHERE account_id = $1")
        .bind(&id)
        .fetch_one(&mut ks)
        .await
        .unwrap();

    // The owner of a club with members must hand it over first.
    let (s, v) = owner.api(Method::DELETE, "/api/v1/me", None).await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "sole_owner"));
    // Deleting needs a recent proof of identity.
    stale(&app).await;
    let (s, v) = leaver.api(Method::DELETE, "/api/v1/me", None).await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "reauth_required"));
    let (s, _) = leaver
        .api(
            Method::POST,
            "/api/v1/me/reauth",
            Some(json!({"password": PW})),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = leaver.api(Method::DELETE, "/api/v1/me", None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);

    // Gone: the session, the login, the fields, the key (overwritten in its file).
    assert_eq!(
        leaver.api(Method::GET, "/api/v1/me", None).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (s, _) = app
        .client()
        .api(
            Method::POST,
            "/api/v1/session",
            Some(json!({"email": leaver.email, "password": PW})),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let left: i64 = raw::scalar("SELECT COUNT(*) FROM data_keys WHERE account_id = $1")
        .bind(&id)
        .fetch_one(&mut ks)
        .await
        .unwrap();
    assert_eq!(left, 0);
    drop(ks);
    // Overwritten in the store's file, not just unlinked: at once, or (PostgreSQL, when
    // a transaction open at that moment, in any database of a busy cluster, could still
    // see the row) once the health check has compacted the store again.
    let holds = async || {
        app.keystore_bytes()
            .await
            .windows(wrapped.len())
            .any(|w| w == wrapped.as_bytes())
    };
    let erased = std::time::Instant::now();
    while holds().await && erased.elapsed() < std::time::Duration::from_secs(20) {
        app.running().app.run_health_check().await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(
        !holds().await,
        "the destroyed key is overwritten, not just unlinked"
    );
    let (email, name, status): (String, String, String) = crate::support::tuple(
        raw::q(
            "SELECT a.email, a.display_name, m.status FROM accounts a \
         JOIN memberships m ON m.account_id = a.id WHERE a.id = $1",
        )
        .bind(&id),
        &mut db,
    )
    .await;
    assert!(email.ends_with("@invalid") && !email.contains(&leaver.email));
    assert_eq!((name.as_str(), status.as_str()), ("—", "left"));
    // Nothing of the account's own is left in any table that held it.
    for table in [
        "personal_fields",
        "personal_consents",
        "mfa_totp",
        "mfa_recovery_codes",
        "mfa_challenges",
        "passkeys",
        "sessions",
        "account_tokens",
        "unlock_tokens",
        "trusted_devices",
        "feed_tokens",
        "notifications",
        "notification_prefs",
        "push_subscriptions",
    ] {
        let n: i64 = raw::Scalar::new(format!(
            "SELECT COUNT(*) FROM {table} WHERE account_id = $1"
        ))
        .bind(&id)
        .fetch_one(&mut db)
        .await
        .unwrap();
        assert_eq!(n, 0, "{table} still holds rows of the erased account");
    }
    let (roster_s, roster) = owner
        .api(Method::GET, &format!("/api/v1/clubs/{club}/members"), None)
        .await;
    assert_eq!(roster_s, StatusCode::OK);
    assert!(!roster.to_string().contains(&leaver.email));
    app.settle_log().await;
    let audit: Vec<String> =
        raw::scalar("SELECT target FROM audit_log WHERE action = 'account.deleted'")
            .fetch_all(&mut db)
            .await
            .unwrap();
    assert_eq!(
        audit,
        [format!("account:{id}")],
        "the trail keeps a pseudonymous id"
    );
    drop(db);

    // Restore the older copy in place of the database: its sealed rows and even the
    // deleted person's session are back, but nothing of theirs opens any more, while
    // the other member's fields still do.
    let dir = app.stop().await;
    copy.put_back(dir.path());
    // The server notices the older copy (see `it::rollback`); the operator keeps it.
    let (ok, text) = crate::support::tekkan_on(&["audit", "accept-rollback"], dir.path());
    assert!(ok && text.contains("rollback accepted"), "{text}");
    let app = TestApp::builder().data_dir(dir).start().await;
    let mut db = app.raw_db().await;
    let sealed: i64 = raw::scalar("SELECT COUNT(*) FROM personal_fields WHERE account_id = $1")
        .bind(&id)
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(sealed, 2, "the old copy still holds the sealed values");
    let mut owner = owner.clone();
    owner.base = app.base.clone();
    let path = |m: &str| format!("/api/v1/clubs/{club}/members/{m}/personal");
    let (s, v) = owner.api(Method::GET, &path(&leaver_m), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["fields"], json!({}), "no key, nothing opens: {v}");
    let (s, v) = owner.api(Method::GET, &path(&stayer_m), None).await;
    assert_eq!(
        (s, v["fields"]["phone"].as_str()),
        (StatusCode::OK, Some(PHONE))
    );
    let mut leaver = leaver.clone();
    leaver.base = app.base.clone();
    let (s, v) = leaver.api(Method::GET, "/api/v1/me/personal", None).await;
    assert_eq!((s, &v["fields"]), (StatusCode::OK, &json!({})), "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_of_use_hides_the_fields_and_reaches_the_operator() {
    let app = TestApp::start().await;
    let mut op = operator(&app).await;
    let mut owner = app.sign_up("部長", None).await;
    let club = owner.create_club("囲碁部").await;
    let (mut member, m) = join(&app, &mut owner, &club, "member", false).await;
    set_fields(&mut member).await;
    let path = format!("/api/v1/clubs/{club}/members/{m}/personal");
    let (_, v) = owner.api(Method::GET, &path, None).await;
    assert_eq!(v["fields"]["health_notes"], HEALTH);

    for bad in [
        json!({"kind": "everything", "details": ""}),
        json!({"kind": "other", "details": "x".repeat(2001)}),
    ] {
        let (s, _) = member
            .api(Method::POST, "/api/v1/me/privacy-requests", Some(bad))
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let (s, v) = member
        .api(
            Method::POST,
            "/api/v1/me/privacy-requests",
            Some(json!({"kind": "stop_use", "details": "<b>卒業したため</b>"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (_, v) = owner.api(Method::GET, &path, None).await;
    assert_eq!(v["fields"], json!({}), "officers no longer see them");
    let (_, v) = member.api(Method::GET, "/api/v1/me/personal", None).await;
    assert_eq!(v["fields"]["phone"], PHONE, "the person still does");

    let (s, _) = owner
        .api(Method::GET, "/api/v1/admin/privacy-requests", None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, list) = op
        .api(Method::GET, "/api/v1/admin/privacy-requests", None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list[0]["kind"], "stop_use");
    assert_eq!(list[0]["details"], "<b>卒業したため</b>");

    // Correcting the name.
    let (s, _) = member
        .api(
            Method::PATCH,
            "/api/v1/me",
            Some(json!({"display_name": "新しい名前"})),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, me) = member.api(Method::GET, "/api/v1/me", None).await;
    assert_eq!(me["display_name"], "新しい名前");
    let (s, _) = member
        .api(
            Method::PATCH,
            "/api/v1/me",
            Some(json!({"display_name": ""})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
}
