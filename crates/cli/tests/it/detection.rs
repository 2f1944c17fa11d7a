//! Detection end to end: a credential-stuffing run from one network is detected
//! (audited as AppSensor AE1), answered by a block of its /24 that a known device still
//! passes, and alerted within 60 seconds to a JSON webhook, an ntfy webhook and the
//! operator's phone (the push decrypted with the subscription's keys); the attack's
//! continuation is grouped, not alerted again; a heartbeat reaches the dead man's
//! switch; "test every channel" reaches them all.

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tekkan_cli::config::Webhook;

use crate::delivery::Browser;
use crate::support::peers::{PushRequest, PushService};
use crate::support::{Client, TestApp, code, unique};

async fn log_in_from(app: &TestApp, ip: &str, body: Value) -> (StatusCode, Value) {
    let page = app
        .client()
        .raw(
            Method::POST,
            "/api/v1/session",
            &[
                ("content-type", "application/json"),
                ("x-forwarded-for", ip),
            ],
            serde_json::to_vec(&body).unwrap(),
        )
        .await;
    let v = page.json();
    (page.status, v)
}

fn requests(push: &PushService, path: &str) -> Vec<PushRequest> {
    push.requests
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.path == path)
        .cloned()
        .collect()
}

fn detections(push: &PushService, rule: &str) -> usize {
    requests(push, "/hook")
        .iter()
        .filter(|r| {
            let v: Value = serde_json::from_slice(&r.body).unwrap_or_default();
            v["kind"] == "detection" && v["rule"] == rule
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credential_stuffing_is_detected_blocked_and_alerted_within_60_seconds() {
    tekkan_cli::install_crypto_provider();
    let push = PushService::start().await;
    let hooks = push.base.clone();
    let app = TestApp::builder()
        .open_signup(true)
        .configure(move |c| {
            c.scheduler.poll_ms = 100;
            c.push.allow_insecure_endpoints = true;
            c.server.behind_tls_proxy = true;
            c.alerts.heartbeat_url = format!("{hooks}/beat");
            c.alerts.webhooks = vec![
                Webhook {
                    url: format!("{hooks}/hook"),
                    format: "json".into(),
                    min_severity: "warning".into(),
                },
                Webhook {
                    url: format!("{hooks}/ntfy"),
                    format: "ntfy".into(),
                    min_severity: "critical".into(),
                },
            ];
        })
        .start()
        .await;
    // The operator's phone.
    let mut op = crate::support::fixture::operator(&app).await;
    let phone = Browser::new();
    let sub = json!({"endpoint": format!("{}/push/operator", push.base),
        "keys": {"p256dh": B64.encode(phone.public()), "auth": B64.encode(phone.auth)}});
    let (s, v) = op
        .api(Method::POST, "/api/v1/me/push-subscriptions", Some(sub))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    // The dead man's switch hears from the server as soon as it runs.
    let beat = Instant::now();
    while requests(&push, "/beat").is_empty() {
        assert!(beat.elapsed() < Duration::from_secs(10), "no heartbeat");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let hb: Value = serde_json::from_slice(&requests(&push, "/beat")[0].body).unwrap();
    assert_eq!(hb["kind"], "heartbeat");
    // A member who signs in from the network the attack will come from: a known device.
    let owner = app.sign_up("持ち主", None).await;
    let (s, v) = log_in_from(
        &app,
        "203.0.113.50",
        json!({"email": owner.email, "password": "a long enough passphrase"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let device = v["device_token"].as_str().unwrap().to_owned();

    // The attack: 25 addresses of one /24, each trying one leaked pair (its own
    // password), in seconds.
    let started = Instant::now();
    for i in 0..25 {
        let (s, v) = log_in_from(
            &app,
            &format!("203.0.113.{}", i + 1),
            json!({"email": format!("{}@example.jp", unique("victim")), "password": format!("leaked-{i}")}),
        )
        .await;
        assert!(
            s == StatusCode::UNAUTHORIZED || s == StatusCode::TOO_MANY_REQUESTS,
            "{s} {v}"
        );
    }
    // Alerted within 60 s: the JSON webhook, ntfy, and the operator's phone.
    loop {
        let phone_told = requests(&push, "/push/operator").iter().any(|r| {
            String::from_utf8_lossy(&phone.decrypt(&r.body)).contains("credential_stuffing")
        });
        if detections(&push, "credential_stuffing") > 0
            && !requests(&push, "/ntfy").is_empty()
            && phone_told
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "not alerted within 60 s: {:?}",
            push.requests
                .lock()
                .unwrap()
                .iter()
                .map(|r| &r.path)
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("alerted {:?} after the attack began", started.elapsed());
    let hook: Value = requests(&push, "/hook")
        .iter()
        .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap())
        .find(|v| v["rule"] == "credential_stuffing")
        .unwrap();
    assert_eq!(hook["appsensor"], "AE1");
    assert_eq!(hook["severity"], "critical");
    assert_eq!(hook["subject"], "203.0.113.0/24");
    assert!(
        hook["response"]
            .as_str()
            .unwrap()
            .contains("blocked for 60 s"),
        "{hook}"
    );
    let ntfy = &requests(&push, "/ntfy")[0];
    assert_eq!(ntfy.header("priority"), Some("5"));
    assert!(ntfy.header("title").unwrap().starts_with("=?UTF-8?B?"));
    assert!(String::from_utf8_lossy(&ntfy.body).contains("credential_stuffing"));
    assert_eq!(app.audit_count("detection.AE1").await, 1);
    assert!(app.audit_count("response.prefix_blocked").await >= 1);

    // The network is blocked for password sign-in from unknown devices ...
    let (s, v) = log_in_from(
        &app,
        "203.0.113.99",
        json!({"email": owner.email, "password": "a long enough passphrase"}),
    )
    .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{v}");
    assert_eq!(v["error"]["code"], "address_blocked");
    // ... but its rightful owner on a known device is asked for no more.
    let (s, v) = log_in_from(
        &app,
        "203.0.113.50",
        json!({"email": owner.email, "password": "a long enough passphrase", "device_token": device}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    // Other networks are not blocked.
    let (s, _) = log_in_from(
        &app,
        "192.0.2.10",
        json!({"email": owner.email, "password": "a long enough passphrase"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);

    // The attack moves to another network: detected and blocked again, not alerted
    // again (one alert, then updates).
    let blocks = app.audit_count("response.prefix_blocked").await;
    for i in 0..25 {
        log_in_from(
            &app,
            &format!("198.51.100.{}", i + 1),
            json!({"email": format!("{}@example.jp", unique("victim")), "password": format!("other-{i}")}),
        )
        .await;
    }
    let until = Instant::now() + Duration::from_secs(20);
    while app.audit_count("response.prefix_blocked").await == blocks {
        assert!(Instant::now() < until, "the second network was not blocked");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        detections(&push, "credential_stuffing"),
        1,
        "grouped: one alert"
    );
    let text = app
        .client()
        .raw(Method::GET, "/metrics", &[], Vec::new())
        .await
        .body;
    assert!(
        text.lines().any(|l| l.starts_with(
            "tekkan_detections_total{rule=\"credential_stuffing\",mode=\"enforce\"} "
        ) && !l.ends_with(" 0")),
        "{text}"
    );

    // "Test every channel": each webhook and the operator's phone.
    let before = requests(&push, "/hook").len();
    let (s, v) = op
        .api(Method::POST, "/api/v1/admin/alerts/test", None)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let results = v.as_array().unwrap();
    assert_eq!(
        results.len(),
        4,
        "two webhooks, the heartbeat, the operators: {v}"
    );
    assert!(results.iter().all(|r| r["ok"] == true), "{v}");
    assert_eq!(requests(&push, "/hook").len(), before + 1);
    let (s, v) = op.api(Method::GET, "/api/v1/admin/alerts", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(app.audit_count("alerts.tested").await, 1);
    app.stop().await;
}

/// With no channel but the app, the operator sees a red warning on every page.
#[tokio::test]
async fn without_an_alert_channel_the_operator_is_warned_on_every_page() {
    let app = TestApp::start().await;
    let op: Client = crate::support::fixture::operator(&app).await;
    let html = op.as_browser().get("/clubs").await.body;
    assert!(html.contains("id=\"alerting-down\""), "{html}");
    // Not shown to anyone else.
    let member = app.sign_up("部員", None).await;
    let html = member.as_browser().get("/clubs").await.body;
    assert!(!html.contains("alerting-down"));
    app.stop().await;
}

fn inbox_whats(v: &Value) -> Vec<String> {
    v["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["params"]["what"].as_str().map(str::to_owned))
        .collect()
}

/// A sign-in from a new device reaches its owner and a minor's guardian by push (and
/// in-app) within a minute; the same device again is nothing new.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_from_a_new_device_is_told_to_its_owner_and_a_minors_guardian() {
    tekkan_cli::install_crypto_provider();
    let push = PushService::start().await;
    let app = TestApp::builder()
        .configure(|c| {
            c.scheduler.poll_ms = 100;
            c.push.allow_insecure_endpoints = true;
        })
        .start()
        .await;
    let mut owner = app.sign_up("顧問", None).await;
    let club = owner.create_club("吹奏楽部").await;
    let (mut student, sm) =
        crate::support::fixture::join(&app, &mut owner, &club, "member", false).await;
    let (mut guardian, gm) =
        crate::support::fixture::join(&app, &mut owner, &club, "guardian", false).await;
    let (s, v) = owner
        .api(
            Method::PUT,
            &format!("/api/v1/clubs/{club}/members/{gm}/students/{sm}"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let phones = [Browser::new(), Browser::new()];
    for (c, (phone, name)) in [&mut student, &mut guardian]
        .into_iter()
        .zip(phones.iter().zip(["student", "guardian"]))
    {
        let sub = json!({"endpoint": format!("{}/push/{name}", push.base),
            "keys": {"p256dh": B64.encode(phone.public()), "auth": B64.encode(phone.auth)}});
        let (s, v) = c
            .api(Method::POST, "/api/v1/me/push-subscriptions", Some(sub))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    // The student signs in on another phone (no device token from before).
    let started = Instant::now();
    let (s, v) = app.log_in(&student.email, "a long enough passphrase").await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let device = v["device_token"].as_str().unwrap().to_owned();
    let told = |path: &str, phone: &Browser, text: &str| {
        requests(&push, path)
            .iter()
            .any(|r| String::from_utf8_lossy(&phone.decrypt(&r.body)).contains(text))
    };
    while !(told("/push/student", &phones[0], "新しい端末")
        && told("/push/guardian", &phones[1], "新しい端末"))
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "not told within a minute"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, inbox) = student
        .api(Method::GET, "/api/v1/me/notifications", None)
        .await;
    assert_eq!(inbox_whats(&inbox), vec!["new_device"]);
    let (_, inbox) = guardian
        .api(Method::GET, "/api/v1/me/notifications", None)
        .await;
    assert_eq!(inbox_whats(&inbox), vec!["new_device_guardian"]);
    assert!(
        inbox.to_string().contains("member-member"),
        "names the student: {inbox}"
    );
    let (_, inbox) = owner
        .api(Method::GET, "/api/v1/me/notifications", None)
        .await;
    assert!(
        !inbox_whats(&inbox)
            .iter()
            .any(|w| w.starts_with("new_device"))
    );
    // The same phone again: nothing new.
    let (s, _) = app
        .client()
        .api(
            Method::POST,
            "/api/v1/session",
            Some(json!({"email": student.email, "password": "a long enough passphrase", "device_token": device})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, inbox) = student
        .api(Method::GET, "/api/v1/me/notifications", None)
        .await;
    assert_eq!(inbox_whats(&inbox).len(), 1);
    app.stop().await;
}

/// An officer reading people's data faster than people do (bulk reads, AppSensor UT2)
/// is detected, alerted, and asked to re-authenticate before reading more; proving
/// themselves again lets the rightful officer go on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_reads_by_an_officer_ask_for_more_proof_and_are_alerted() {
    tekkan_cli::install_crypto_provider();
    let push = PushService::start().await;
    let hooks = push.base.clone();
    let app = TestApp::builder()
        .configure(move |c| {
            c.detect.bulk_reads = 3;
            c.alerts.webhooks = vec![Webhook {
                url: format!("{hooks}/hook"),
                format: "json".into(),
                min_severity: "warning".into(),
            }];
        })
        .start()
        .await;
    let mut owner = app.sign_up("部長", None).await;
    let club = owner.create_club("名簿部").await;
    let mut paths = Vec::new();
    let mut members = Vec::new();
    for i in 0..3 {
        let (member, m) =
            crate::support::fixture::join(&app, &mut owner, &club, "member", false).await;
        let (s, v) = member
            .clone()
            .api(
                Method::PUT,
                "/api/v1/me/personal",
                Some(json!({"fields": {"phone": format!("090-1234-000{i}")}})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        paths.push(format!("/api/v1/clubs/{club}/members/{m}/personal"));
        members.push(member);
    }
    // The same person's fields again and again is no scraping.
    for _ in 0..5 {
        let (s, v) = owner.api(Method::GET, &paths[0], None).await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    // Three people's in a row is (with a threshold of 3 here).
    for p in &paths[1..] {
        let (s, v) = owner.api(Method::GET, p, None).await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    let path = paths[0].clone();
    let member = members[0].clone();
    // The response lands within seconds: further reads ask for re-authentication.
    let started = Instant::now();
    loop {
        let (s, v) = owner.api(Method::GET, &path, None).await;
        if s == StatusCode::FORBIDDEN {
            assert_eq!(code(&v), "reauth_required");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "no step-up: {s}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (s, v) = owner
        .api(Method::GET, &format!("/api/v1/clubs/{club}/members"), None)
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::FORBIDDEN, "reauth_required"),
        "the roster too"
    );
    // The member's own data is theirs to read.
    let (s, _) = member
        .clone()
        .api(Method::GET, "/api/v1/me/personal", None)
        .await;
    assert_eq!(s, StatusCode::OK);
    // Proving it again lets the officer go on.
    let (s, v) = owner
        .api(
            Method::POST,
            "/api/v1/me/reauth",
            Some(json!({"password": "a long enough passphrase"})),
        )
        .await;
    assert!(s.is_success(), "{v}");
    let (s, v) = owner.api(Method::GET, &path, None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // Alerted, and audited under its AppSensor name with its response.
    let started = Instant::now();
    while detections(&push, "bulk_reads") == 0 {
        assert!(started.elapsed() < Duration::from_secs(60), "no alert");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(app.audit_count("detection.UT2").await, 1);
    assert_eq!(app.audit_count("response.step_up_required").await, 1);
}

/// Makes every sign-in challenge of `account` expired (the clock, moved for them).
async fn expire_challenges(app: &TestApp, account: &str) {
    let mut db = app.raw_db().await;
    tekkan_storage::sql::q("UPDATE mfa_challenges SET expires_at = 0 WHERE account_id = $1")
        .bind(account.to_owned())
        .execute(&mut db)
        .await
        .unwrap();
}

/// A right password whose second step is never completed (AppSensor UT1) is detected
/// once the challenge expires, and its owner is told to change the password; a
/// completed second step is nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_second_step_is_told_to_the_owner() {
    let app = TestApp::start().await;
    let mut user = app.sign_up("二段階", None).await;
    let (secret, _, _) = crate::mfa::enrol_at(&mut user).await;
    let (_, me) = user.clone().api(Method::GET, "/api/v1/me", None).await;
    let account = me["account_id"].as_str().unwrap().to_owned();
    // Completed: not abandoned.
    let (s, v) = app.log_in(&user.email, "a long enough passphrase").await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let (s, v) = app
        .client()
        .api(
            Method::POST,
            "/api/v1/session/second-step",
            Some(json!({"token": v["second_step"],
                "code": crate::mfa::totp(&secret, crate::mfa::now_step() + 1)})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    expire_challenges(&app, &account).await;
    // Abandoned: the password was right, the code never came.
    let (s, v) = app.log_in(&user.email, "a long enough passphrase").await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    expire_challenges(&app, &account).await;
    let started = Instant::now();
    loop {
        app.settle_log().await;
        if app.audit_count("response.owner_told").await == 1 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no detection");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        app.audit_count("detection.UT1").await,
        1,
        "only the abandoned one"
    );
    let (s, v) = user
        .api(Method::GET, "/api/v1/me/notifications", None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let told = v["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["params"]["what"] == "second_step_abandoned")
        .count();
    assert_eq!(told, 1, "{v}");
}

/// A session token presented after it was revoked (AppSensor SE4: a stolen token
/// replayed) ends the sessions opened on that token's device, not the owner's others;
/// requests already on their way when it ended are no replay; a sign-in from a new
/// device is audited (AE13).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_revoked_token_ends_its_device_family() {
    let app = TestApp::start().await;
    let user = app.sign_up("端末の家族", None).await;
    let pw = "a long enough passphrase";
    let log_in = |device: Option<String>| {
        let app_client = app.client();
        let email = user.email.clone();
        async move {
            let (s, v) = app_client
                .clone()
                .api(
                    Method::POST,
                    "/api/v1/session",
                    Some(json!({"email": email, "password": pw, "device_token": device})),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{v}");
            v
        }
    };
    let me = |token: String| {
        let mut c = app.client();
        c.bearer = Some(token);
        async move { c.api(Method::GET, "/api/v1/me", None).await.0 }
    };
    let a = log_in(None).await;
    let device = a["device_token"].as_str().unwrap().to_owned();
    let b = log_in(Some(device)).await;
    assert!(b["device_token"].is_null(), "the same device: {b}");
    let other = log_in(None).await;
    let token = |v: &Value| v["token"].as_str().unwrap().to_owned();
    // A signs out; a request already on its way with A's token is no replay.
    let mut a_client = app.client();
    a_client.bearer = Some(token(&a));
    let (s, _) = a_client.api(Method::DELETE, "/api/v1/session", None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(me(token(&a)).await, StatusCode::UNAUTHORIZED);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        me(token(&b)).await,
        StatusCode::OK,
        "within the grace, nothing ends"
    );
    // Later, someone presents A's token again.
    let mut db = app.raw_db().await;
    tekkan_storage::sql::q("UPDATE revoked_sessions SET revoked_at = revoked_at - 60000")
        .execute(&mut db)
        .await
        .unwrap();
    assert_eq!(me(token(&a)).await, StatusCode::UNAUTHORIZED);
    let started = Instant::now();
    while me(token(&b)).await != StatusCode::UNAUTHORIZED {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "B's session lives on"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        me(token(&other)).await,
        StatusCode::OK,
        "another device's session"
    );
    // Once answered, the same replay is no new detection.
    assert_eq!(me(token(&a)).await, StatusCode::UNAUTHORIZED);
    app.settle_log().await;
    assert_eq!(app.audit_count("detection.SE4").await, 1);
    assert_eq!(app.audit_count("response.session_family_ended").await, 1);
    // The sign-ins after the first device were new devices: audited as AE13.
    let started = Instant::now();
    while app.audit_count("detection.AE13").await < 2 {
        assert!(started.elapsed() < Duration::from_secs(5), "no AE13");
        tokio::time::sleep(Duration::from_millis(50)).await;
        app.settle_log().await;
    }
}
