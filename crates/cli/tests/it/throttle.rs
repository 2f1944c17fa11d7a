//! Throttling: per-account delays, lockout and unlock by e-mail, the daily cap, and
//! per-address limits against credential stuffing and enumeration. Each limit is shown
//! holding and then recovering, and an address with no account answers exactly like one
//! with an account.

use std::time::Duration;
use tekkan_storage::sql as raw;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::peers::SmtpServer;
use crate::support::{TestApp, code};

const PW: &str = "a long enough passphrase";

/// One API login; returns status, error code and `Retry-After` seconds.
async fn login(app: &TestApp, email: &str, pw: &str) -> (StatusCode, String, Option<u64>) {
    let res = reqwest::Client::new()
        .post(format!("{}/api/v1/session", app.base))
        .json(&json!({"email": email, "password": pw}))
        .send()
        .await
        .unwrap();
    let status = res.status();
    let retry = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    let v: Value = res.json().await.unwrap_or_default();
    (status, code(&v).to_owned(), retry)
}

/// The text of the `n`th mail received, decoded.
pub async fn wait_mail(smtp: &SmtpServer, n: usize) -> String {
    for _ in 0..100 {
        if let Some(m) = smtp.mails.lock().unwrap().get(n - 1) {
            let msg = mail_parser::MessageParser::default()
                .parse(&m.data)
                .unwrap();
            return msg.body_text(0).unwrap().into_owned();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no mail #{n}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_delay_then_lock_and_the_owner_unlocks_by_email() {
    let smtp = SmtpServer::start().await;
    let app = TestApp::builder()
        .mail_to(smtp.port)
        .configure(|c| {
            c.limits.login_free_failures = 2;
            c.limits.login_base_delay_ms = 300;
            c.limits.login_lock_after = 5;
        })
        .start()
        .await;
    let user = app.sign_up("ロック", None).await;
    let nobody = "nobody-here@example.jp";
    // The same sequence against a real account and an address with no account.
    let mut seen = Vec::new();
    for email in [user.email.as_str(), nobody] {
        let mut trace = Vec::new();
        for _ in 0..2 {
            let (s, c, _) = login(&app, email, "wrong password!!").await;
            trace.push((s, c));
        }
        // From the third attempt on, each must wait: 300 ms, then 600 ms, ...
        let (s, c, retry) = login(&app, email, PW).await;
        assert_eq!(
            (s, c.as_str()),
            (StatusCode::TOO_MANY_REQUESTS, "login_delayed")
        );
        assert_eq!(retry, Some(1));
        trace.push((s, c));
        for wait in [300, 600, 1200] {
            tokio::time::sleep(Duration::from_millis(wait + 50)).await;
            let (s, c, _) = login(&app, email, "wrong password!!").await;
            trace.push((s, c));
        }
        // Five in a row: locked, even with the right password and after any delay.
        tokio::time::sleep(Duration::from_millis(2500)).await;
        let (s, c, retry) = login(&app, email, PW).await;
        assert_eq!(
            (s, c.as_str()),
            (StatusCode::TOO_MANY_REQUESTS, "login_locked")
        );
        assert_eq!(retry, None);
        trace.push((s, c));
        seen.push(trace);
    }
    assert_eq!(
        seen[0], seen[1],
        "an unknown address answers like a real one"
    );
    assert_eq!(
        seen[0][0],
        (StatusCode::UNAUTHORIZED, "bad_credentials".into())
    );

    // Only the real owner got a mail, with a link that lifts the lock once.
    let mail = wait_mail(&smtp, 1).await;
    assert_eq!(smtp.mails.lock().unwrap().len(), 1);
    assert!(
        smtp.mails.lock().unwrap()[0]
            .rcpt
            .iter()
            .any(|r| r.contains(&user.email))
    );
    let i = mail.find("/unlock?token=").expect("an unlock link") + 14;
    let token: String = mail[i..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    assert_eq!(token.len(), 43, "{mail}");
    let mut anon = app.client();
    let (s, v) = anon
        .api(
            reqwest::Method::POST,
            "/api/v1/unlock",
            Some(json!({"token": "forged-token"})),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::GONE, "unlock_link"));
    let (s, _) = anon
        .api(
            reqwest::Method::POST,
            "/api/v1/unlock",
            Some(json!({"token": token})),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = anon
        .api(
            reqwest::Method::POST,
            "/api/v1/unlock",
            Some(json!({"token": token})),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::GONE, "unlock_link"),
        "single use"
    );
    let (s, _, _) = login(&app, &user.email, PW).await;
    assert_eq!(s, StatusCode::CREATED, "recovered");
    // The unknown address stays locked: nobody can unlock it.
    let (s, c, _) = login(&app, nobody, PW).await;
    assert_eq!(
        (s, c.as_str()),
        (StatusCode::TOO_MANY_REQUESTS, "login_locked")
    );

    // Failures, the lock and the unlock are in the audit trail.
    let mut db = app.raw_db().await;
    let actions: Vec<String> =
        raw::scalar("SELECT action FROM audit_log WHERE action LIKE 'auth.%' ORDER BY seq")
            .fetch_all(&mut db)
            .await
            .unwrap();
    let count = |a: &str| actions.iter().filter(|x| *x == a).count();
    assert_eq!(count("auth.login_failed"), 10);
    assert_eq!(count("auth.locked"), 1);
    assert_eq!(count("auth.unlocked"), 1);
}

#[tokio::test]
async fn no_more_than_the_daily_cap_of_guesses_then_it_recovers() {
    let app = TestApp::builder()
        .configure(|c| {
            c.limits.login_free_failures = 1000;
            c.limits.login_lock_after = 1000;
            c.limits.login_daily_max = 8;
            c.limits.login_cap_window_secs = 3;
        })
        .start()
        .await;
    let user = app.sign_up("上限", None).await;
    // Parallel guesses cannot slip past the cap: each is counted before it is checked.
    let tries = (0..20).map(|i| {
        let (app, email) = (&app, user.email.clone());
        async move { login(app, &email, &format!("wrong guess number {i}")).await }
    });
    let results = futures_util::future::join_all(tries).await;
    let checked = results
        .iter()
        .filter(|r| r.0 == StatusCode::UNAUTHORIZED)
        .count();
    let refused = results
        .iter()
        .filter(|r| r.0 == StatusCode::TOO_MANY_REQUESTS && r.1 == "login_locked")
        .count();
    assert_eq!((checked, refused), (8, 12), "{results:?}");
    let (s, c, retry) = login(&app, &user.email, PW).await;
    assert_eq!(
        (s, c.as_str()),
        (StatusCode::TOO_MANY_REQUESTS, "login_locked")
    );
    assert!(matches!(retry, Some(1..=3)), "{retry:?}");
    tokio::time::sleep(Duration::from_millis(3100)).await;
    let (s, _, _) = login(&app, &user.email, PW).await;
    assert_eq!(s, StatusCode::CREATED, "a new window");
}

#[tokio::test]
async fn credential_stuffing_from_one_address_is_stopped_then_recovers() {
    let app = TestApp::builder()
        .configure(|c| c.limits.login_failures_per_address = (5, 2))
        .start()
        .await;
    let user = app.sign_up("詰め込み", None).await;
    // Five different accounts, one wrong password each: no account's own limit is hit.
    for i in 0..5 {
        let (s, _, _) = login(&app, &format!("victim{i}@example.jp"), "leaked password 1").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    let (s, c, retry) = login(&app, &user.email, PW).await;
    assert_eq!(
        (s, c.as_str()),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );
    assert!(matches!(retry, Some(1..=2)), "{retry:?}");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (s, _, _) = login(&app, &user.email, PW).await;
    assert_eq!(s, StatusCode::CREATED);
}

#[tokio::test]
async fn sign_ups_and_invitation_lookups_are_limited_per_address() {
    let app = TestApp::builder()
        .configure(|c| {
            c.limits.signups_per_address = (3, 2);
            c.limits.invitation_lookups_per_address = (4, 2);
        })
        .start()
        .await;
    let mut owner = app.sign_up("一", None).await;
    app.sign_up("二", None).await;
    app.sign_up("三", None).await;
    let mut anon = app.client();
    let body = json!({"email": "fourth@example.jp", "display_name": "四", "password": PW});
    let (s, v) = anon
        .api(
            reqwest::Method::POST,
            "/api/v1/accounts",
            Some(body.clone()),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );
    // Refused before anything was written.
    let mut db = app.raw_db().await;
    let n: i64 = raw::scalar("SELECT COUNT(*) FROM accounts WHERE email = 'fourth@example.jp'")
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(n, 0);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (s, _) = anon
        .api(reqwest::Method::POST, "/api/v1/accounts", Some(body))
        .await;
    assert_eq!(s, StatusCode::CREATED);

    // Guessing invitation tokens: four lookups, then refused, real token or not.
    let club = owner.create_club("野球部").await;
    let (_, inv) = owner
        .api(
            reqwest::Method::POST,
            &format!("/api/v1/clubs/{club}/invitations"),
            Some(json!({"role": "member"})),
        )
        .await;
    let real = inv["token"].as_str().unwrap().to_owned();
    for i in 0..4 {
        let (s, _) = anon
            .api(
                reqwest::Method::GET,
                &format!("/api/v1/invitations/guess{i}"),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }
    let (s, v) = anon
        .api(
            reqwest::Method::GET,
            &format!("/api/v1/invitations/{real}"),
            None,
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );
    let page = anon.get(&format!("/join/{real}")).await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        page.body.contains("しばらくしてから"),
        "a page, in Japanese"
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (s, _) = anon
        .api(
            reqwest::Method::GET,
            &format!("/api/v1/invitations/{real}"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_requests_and_exports_are_limited_per_address_then_recover() {
    let app = TestApp::builder()
        .configure(|c| {
            c.limits.reset_requests_per_address = (3, 2);
            c.limits.exports_per_address = (2, 2);
        })
        .start()
        .await;
    let mut user = app.sign_up("制限", None).await;
    let mut anon = app.client();
    let reset = |i: usize| json!({ "email": format!("someone{i}@example.jp") });
    for i in 0..3 {
        let (s, _) = anon
            .api(
                reqwest::Method::POST,
                "/api/v1/password-reset",
                Some(reset(i)),
            )
            .await;
        assert_eq!(s, StatusCode::ACCEPTED);
    }
    let (s, v) = anon
        .api(
            reqwest::Method::POST,
            "/api/v1/password-reset",
            Some(reset(9)),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );
    // Guessing reset links counts on the same limit.
    let body = json!({"token": "guess", "password": PW});
    let (s, _) = anon
        .api(
            reqwest::Method::POST,
            "/api/v1/password-reset/complete",
            Some(body),
        )
        .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    for _ in 0..2 {
        let (s, _) = user
            .api(reqwest::Method::GET, "/api/v1/me/export", None)
            .await;
        assert_eq!(s, StatusCode::OK);
    }
    let (s, v) = user
        .api(reqwest::Method::GET, "/api/v1/me/export", None)
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );

    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (s, _) = anon
        .api(
            reqwest::Method::POST,
            "/api/v1/password-reset",
            Some(reset(9)),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "recovered");
    let (s, _) = user
        .api(reqwest::Method::GET, "/api/v1/me/export", None)
        .await;
    assert_eq!(s, StatusCode::OK, "recovered");
}
