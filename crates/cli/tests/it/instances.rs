//! Several instances of one service on one database: nothing that decides security
//! lives in one process. Guesses per account and requests per address count the same
//! across two instances as on one; a passkey ceremony started on one instance finishes
//! on the other (through a load balancer), once; personal data sealed on one machine
//! opens on another, whose data directory holds only the key files.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tekkan_cli::config::Config;

use crate::support::balancer::Balancer;
use crate::support::cdp::Browser;
use tekkan_storage::sql as raw;

use crate::support::{TestApp, code};

const PW: &str = "a long enough passphrase";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guesses_and_address_windows_count_the_same_on_two_instances() {
    let limits = |c: &mut Config| {
        c.limits.login_free_failures = 1000;
        c.limits.login_lock_after = 1000;
        c.limits.login_daily_max = 8;
        c.limits.login_per_address = (30, 3600);
    };
    let a = TestApp::builder().configure(limits).start().await;
    let b = TestApp::builder()
        .instance_of(&a)
        .configure(limits)
        .start()
        .await;
    let user = a.sign_up("二台", None).await;
    // Twenty wrong guesses, every other one on the other instance: the day's cap of
    // eight holds as it does on one instance.
    let mut outcomes = Vec::new();
    for i in 0..20 {
        let app = if i % 2 == 0 { &a } else { &b };
        let (s, v) = app.log_in(&user.email, &format!("wrong guess {i}")).await;
        outcomes.push((s, code(&v).to_owned()));
    }
    let checked = outcomes
        .iter()
        .filter(|o| o.0 == StatusCode::UNAUTHORIZED)
        .count();
    let capped = outcomes
        .iter()
        .filter(|o| o.0 == StatusCode::TOO_MANY_REQUESTS && o.1 == "login_locked")
        .count();
    assert_eq!((checked, capped), (8, 12), "{outcomes:?}");
    // The address's window of 30 logins is one window: ten more on either instance,
    // then the next is refused on both.
    for i in 0..10 {
        let app = if i % 2 == 0 { &b } else { &a };
        let (s, v) = app.log_in(&user.email, PW).await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::TOO_MANY_REQUESTS, "login_locked")
        );
    }
    for app in [&a, &b] {
        let (s, v) = app.log_in(&user.email, PW).await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personal_data_sealed_on_one_machine_opens_on_another_and_erasure_reaches_both() {
    let a = TestApp::start().await;
    let b = TestApp::builder().instance_elsewhere(&a).start().await;
    assert_ne!(a.data_dir(), b.data_dir());
    let fields = |phone: &str| json!({"fields": {"phone": phone, "health_notes": "喘息"}});
    // Sealed through one instance, opened through the other, both ways.
    let mut first = a.sign_up("一号機", None).await;
    let (s, v) = first
        .api(
            Method::PUT,
            "/api/v1/me/personal",
            Some(fields("090-1111-2222")),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let mut second = b.sign_up("二号機", None).await;
    let (s, v) = second
        .api(
            Method::PUT,
            "/api/v1/me/personal",
            Some(fields("080-3333-4444")),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    for (client, app, phone) in [
        (&first, &b, "090-1111-2222"),
        (&second, &a, "080-3333-4444"),
    ] {
        let mut there = client.clone();
        there.base = app.base.clone();
        let (s, v) = there.api(Method::GET, "/api/v1/me/personal", None).await;
        assert_eq!(
            (s, v["fields"]["phone"].as_str()),
            (StatusCode::OK, Some(phone)),
            "{v}"
        );
    }
    // The keys live in the key store both instances share, not in the database.
    let in_store = || async {
        let mut ks = a.raw_keystore().await;
        raw::scalar::<i64>("SELECT COUNT(*) FROM data_keys")
            .fetch_one(&mut ks)
            .await
            .unwrap()
    };
    assert_eq!(in_store().await, 2);
    if a.location() != a.keystore_location() {
        let mut db = a.raw_db().await;
        let n: i64 = raw::scalar("SELECT COUNT(*) FROM data_keys")
            .fetch_one(&mut db)
            .await
            .unwrap();
        assert_eq!(n, 0, "no data key in the database itself");
    }
    // Erased through the second machine: the key is gone for both, and from the bytes
    // its store keeps.
    let (_, me) = second.api(Method::GET, "/api/v1/me", None).await;
    let mut ks = a.raw_keystore().await;
    let wrapped: String = raw::scalar("SELECT wrapped FROM data_keys WHERE account_id = $1")
        .bind(me["account_id"].as_str().unwrap())
        .fetch_one(&mut ks)
        .await
        .unwrap();
    drop(ks);
    assert!(contains(&a.keystore_bytes().await, &wrapped));
    let (s, v) = second.api(Method::DELETE, "/api/v1/me", None).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    assert_eq!(in_store().await, 1);
    // Gone from the store's file, not just unlinked: at once, or (PostgreSQL, when a
    // transaction open at that moment could still see the row) once the health check
    // has compacted the store again.
    let erased = Instant::now();
    while contains(&a.keystore_bytes().await, &wrapped) {
        assert!(
            erased.elapsed() < Duration::from_secs(20),
            "the destroyed key is still in the store's file"
        );
        a.running().app.run_health_check().await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!(
        "destroyed key gone from the file after {:?}",
        erased.elapsed()
    );
    let (s, v) = first.api(Method::GET, "/api/v1/me/personal", None).await;
    assert_eq!(
        (s, v["fields"]["phone"].as_str()),
        (StatusCode::OK, Some("090-1111-2222"))
    );
    b.stop().await;
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// The load balancer's rule: the answers that finish a passkey ceremony go to the
/// second instance, everything else (pages, the ceremonies' options) to the first.
fn finishes_elsewhere(method: &axum::http::Method, path: &str) -> usize {
    let finishes = [
        "/settings/security/passkeys",
        "/api/v1/me/passkeys",
        "/api/v1/session/passkey",
        "/login/passkey",
    ];
    usize::from(method == axum::http::Method::POST && finishes.contains(&path))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passkey_ceremony_started_on_one_instance_finishes_on_the_other() {
    let mut lb = Balancer::bind(2).await;
    let public = lb.base.clone();
    let a = TestApp::builder()
        .configure(|c| c.server.public_url = public.clone())
        .start()
        .await;
    let b = TestApp::builder()
        .instance_of(&a)
        .configure(|c| c.server.public_url = public.clone())
        .start()
        .await;
    lb.serve(vec![a.own_url(), b.own_url()], finishes_elsewhere);
    let user = a.sign_up("二台の鍵", None).await;

    // Registered from the security page: options from the first instance, the
    // authenticator's answer to the second.
    let mut browser = Browser::with_passkey(&lb.base, &user.email, PW, "机の鍵").await;
    let text = browser.text().await;
    assert!(text.contains("机の鍵"), "{text}");
    assert!(
        lb.hits(1) >= 1,
        "the registration finished on the second instance"
    );

    // Signing in: the ceremony starts on the first instance...
    let client = reqwest::Client::new();
    let opts: Value = client
        .post(format!("{}/api/v1/session/passkey/options", a.own_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let js = format!(
        "(async () => {{ const c = await navigator.credentials.get({{publicKey: \
         PublicKeyCredential.parseRequestOptionsFromJSON({opts})}}); \
         return JSON.stringify(c.toJSON()); }})()"
    );
    let credential: Value =
        serde_json::from_str(browser.eval(&js).await.as_str().unwrap()).unwrap();
    // ...and finishes on the second.
    let finish = |url: String| {
        let (client, credential) = (client.clone(), credential.clone());
        async move {
            let r = client
                .post(format!("{url}/api/v1/session/passkey"))
                .json(&json!({ "credential": credential }))
                .send()
                .await
                .unwrap();
            let s = r.status();
            (s, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (s, v) = finish(b.own_url()).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert!(v["token"].as_str().is_some(), "{v}");
    // Once: the same answer again, on either instance, finds no ceremony.
    for url in [a.own_url(), b.own_url()] {
        let (s, v) = finish(url).await;
        assert_eq!((s, code(&v)), (StatusCode::GONE, "passkey_ceremony"), "{v}");
    }
    // The session it made is good on both instances.
    let token = v["token"].as_str().unwrap().to_owned();
    for app in [&a, &b] {
        let r = client
            .get(format!("{}/api/v1/me", app.own_url()))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbox_messages_leave_once_with_two_instances_sending() {
    let smtp = crate::support::peers::SmtpServer::start().await;
    // Both senders poll often, so that they would meet over the same messages.
    let a = TestApp::builder()
        .mail_to(smtp.port)
        .configure(|c| c.scheduler.poll_ms = 20)
        .start()
        .await;
    let b = TestApp::builder()
        .instance_of(&a)
        .mail_to(smtp.port)
        .configure(|c| c.scheduler.poll_ms = 20)
        .start()
        .await;
    let mut owner = a.sign_up("顧問", None).await;
    let club = owner.create_club("合唱部").await;
    let mut members = Vec::new();
    for _ in 0..10 {
        let (m, _) = crate::support::fixture::join(&a, &mut owner, &club, "member", false).await;
        members.push(m.email.clone());
    }
    for i in 0..3 {
        let app = if i % 2 == 0 { &a } else { &b };
        let mut poster = owner.clone();
        poster.base = app.base.clone();
        let (s, v) = poster
            .api(
                reqwest::Method::POST,
                &format!("/api/v1/clubs/{club}/announcements"),
                Some(json!({"title": format!("連絡{i}"), "body": "練習は16時から"})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    let want = members.len() * 3;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while smtp.mails.lock().unwrap().len() < want && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // A little longer: a second copy would come now.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let mails = smtp.mails.lock().unwrap().clone();
    let mut seen = std::collections::BTreeSet::new();
    for m in &mails {
        let subject = String::from_utf8_lossy(&m.data)
            .lines()
            .find(|l| l.starts_with("Subject:"))
            .unwrap_or_default()
            .to_owned();
        assert!(
            seen.insert((m.rcpt.clone(), subject.clone())),
            "sent twice: {:?} {subject}",
            m.rcpt
        );
    }
    assert_eq!(mails.len(), want);
}

/// The newest checkpoint's size and the log's length.
async fn covered(app: &TestApp) -> (i64, i64) {
    let mut db = app.raw_db().await;
    let signed: Option<i64> =
        tekkan_storage::sql::scalar("SELECT MAX(size) FROM audit_checkpoints")
            .fetch_one(&mut db)
            .await
            .unwrap();
    let logged: Option<i64> = tekkan_storage::sql::scalar("SELECT MAX(seq) FROM audit_log")
        .fetch_one(&mut db)
        .await
        .unwrap();
    (signed.unwrap_or_default(), logged.unwrap_or_default())
}

async fn eventually(what: &str, mut f: impl AsyncFnMut() -> bool) -> std::time::Duration {
    let started = std::time::Instant::now();
    while started.elapsed() < std::time::Duration::from_secs(10) {
        if f().await {
            return started.elapsed();
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("not within 10 s: {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_instance_signs_checkpoints_and_another_takes_over_when_it_stops() {
    if crate::support::pg::cluster().is_none() {
        // One SQLite file belongs to one process: its instance always leads.
        return;
    }
    let every = |c: &mut Config| c.scheduler.checkpoint_ms = 100;
    let a = TestApp::builder().configure(every).start().await;
    eventually("the first instance leads", async || {
        a.running().app.leading().contains(&"checkpoints")
    })
    .await;
    let b = TestApp::builder()
        .instance_of(&a)
        .configure(every)
        .start()
        .await;
    let user = b.sign_up("署名", None).await;
    eventually("the leader signs what the other wrote", async || {
        let (signed, logged) = covered(&b).await;
        signed == logged
    })
    .await;
    assert!(!b.running().app.leading().contains(&"checkpoints"));

    // The leader stops: the other takes the duty over and signs what comes next.
    let _dir = a.stop().await;
    let took = eventually("the other instance leads", async || {
        b.running().app.leading().contains(&"checkpoints")
    })
    .await;
    let (s, _) = b.log_in(&user.email, PW).await;
    assert_eq!(s, StatusCode::CREATED);
    eventually("the new leader signs", async || {
        let (signed, logged) = covered(&b).await;
        signed == logged
    })
    .await;
    eprintln!("checkpoint signing taken over in {} ms", took.as_millis());
}
