//! A lockout cannot be turned against the owner (OWASP "device cookies"): guesses from
//! elsewhere lock the account for every client that never signed in, but a browser or
//! API client that signed in before keeps getting in with the right password, on a
//! counter of its own; the owner is told in the app. Both sides are shown: the lock
//! still holds for strangers, forged and other accounts' device tokens, and a device
//! that guesses itself.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tekkan_storage::sql as raw;

use crate::support::{Client, TestApp, code};

const PW: &str = "a long enough passphrase";
const WRONG: &str = "somebody guessing";

async fn login(app: &TestApp, email: &str, pw: &str, device: Option<&str>) -> (StatusCode, Value) {
    app.client()
        .api(
            Method::POST,
            "/api/v1/session",
            Some(json!({"email": email, "password": pw, "device_token": device})),
        )
        .await
}

/// Logs in through the login page with the cookies `b` holds; returns the status.
async fn page_login(b: &mut Client, email: &str, pw: &str) -> StatusCode {
    let csrf = b.get("/login").await.csrf();
    let res = b
        .post_form("/login", &csrf, &[("email", email), ("password", pw)])
        .await;
    res.status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guesses_from_elsewhere_do_not_lock_out_a_device_that_signed_in_before() {
    let app = TestApp::builder()
        .configure(|c| {
            c.limits.login_free_failures = 1000;
            c.limits.login_lock_after = 5;
        })
        .start()
        .await;
    let owner = app.sign_up("部長", None).await;
    let other = app.sign_up("副部長", None).await;

    // The owner signs in once from an API client and once from a browser; each keeps
    // the device token it is given.
    let (s, v) = login(&app, &owner.email, PW, None).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let device = v["device_token"].as_str().unwrap().to_owned();
    assert_eq!(device.len(), 43);
    let mut browser = app.client();
    assert_eq!(
        page_login(&mut browser, &owner.email, PW).await,
        StatusCode::SEE_OTHER
    );
    assert!(browser.cookies.contains_key("tekkan_device"));
    let (_, v) = login(&app, &other.email, PW, None).await;
    let others_device = v["device_token"].as_str().unwrap().to_owned();
    // A device that is already trusted is kept, not replaced.
    let (s, v) = login(&app, &owner.email, PW, Some(&device)).await;
    assert_eq!(s, StatusCode::CREATED);
    assert!(v.get("device_token").is_none(), "{v}");

    // An attacker from many clients guesses until the account locks.
    for _ in 0..5 {
        let (s, v) = login(&app, &owner.email, WRONG, None).await;
        assert_eq!((s, code(&v)), (StatusCode::UNAUTHORIZED, "bad_credentials"));
    }
    let locked = (StatusCode::TOO_MANY_REQUESTS, "login_locked");
    // Strangers, forged tokens and another account's token are locked out, even with
    // the right password.
    for d in [None, Some("A".repeat(43)), Some(others_device.clone())] {
        let (s, v) = login(&app, &owner.email, PW, d.as_deref()).await;
        assert_eq!((s, code(&v)), locked, "{d:?}");
    }
    assert_eq!(
        page_login(&mut app.client(), &owner.email, PW).await,
        StatusCode::TOO_MANY_REQUESTS
    );

    // The owner's API client and browser still get in.
    let (s, v) = login(&app, &owner.email, PW, Some(&device)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(
        page_login(&mut browser, &owner.email, PW).await,
        StatusCode::SEE_OTHER
    );
    // The other account is untouched by all this.
    let (s, _) = login(&app, &other.email, PW, Some(&others_device)).await;
    assert_eq!(s, StatusCode::CREATED);

    // The owner was told in the app, and the lock is audited.
    let mut me = owner.clone();
    let (_, inbox) = me.api(Method::GET, "/api/v1/me/notifications", None).await;
    assert!(
        inbox["notifications"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["params"]["what"] == "account_locked"),
        "{inbox}"
    );

    // A trusted device that guesses itself is locked on its own counter too: a stolen
    // device token is worth no more than one more lockout's guesses.
    for _ in 0..5 {
        let (s, _) = login(&app, &owner.email, WRONG, Some(&device)).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    let (s, v) = login(&app, &owner.email, PW, Some(&device)).await;
    assert_eq!((s, code(&v)), locked);
    // The browser's own counter is separate: it still gets in.
    assert_eq!(
        page_login(&mut browser, &owner.email, PW).await,
        StatusCode::SEE_OTHER
    );

    let mut db = app.raw_db().await;
    let n: i64 = raw::scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'auth.locked'")
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(n, 2, "the account's lock and the device's");
    // Only hashes of device tokens are stored.
    let stored: Vec<String> = raw::scalar("SELECT token_hash FROM trusted_devices")
        .fetch_all(&mut db)
        .await
        .unwrap();
    assert!(!stored.is_empty() && !stored.contains(&device));
}

/// A client that never sends its device token back (a script) leaves a new device at
/// each login; only the most recently used 20 are kept, and a kept one still works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_keeps_at_most_twenty_devices() {
    let app = TestApp::start().await;
    let owner = app.sign_up("スクリプト", None).await;
    let (_, v) = login(&app, &owner.email, PW, None).await;
    let first = v["device_token"].as_str().unwrap().to_owned();
    for _ in 0..24 {
        let (s, _) = login(&app, &owner.email, PW, None).await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let mut db = app.raw_db().await;
    let n: i64 = raw::scalar("SELECT COUNT(*) FROM trusted_devices")
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(n, 20);
    // The oldest was dropped: presenting it gets a new token.
    let (_, v) = login(&app, &owner.email, PW, Some(&first)).await;
    assert!(v["device_token"].is_string(), "{v}");
    let newest = v["device_token"].as_str().unwrap().to_owned();
    let (_, v) = login(&app, &owner.email, PW, Some(&newest)).await;
    assert!(v.get("device_token").is_none(), "a kept device stays: {v}");
}

/// A broken `device_token` is a clear 4xx that writes nothing; hostile strings in it are
/// simply no device (the right password still works, the wrong one still counts).
#[tokio::test]
async fn broken_device_tokens_are_refused_or_ignored_never_a_500() {
    let app = TestApp::start().await;
    let owner = app.sign_up("入力", None).await;
    let count = |sql: &'static str| {
        let app = &app;
        async move {
            let mut db = app.raw_db().await;
            raw::scalar::<i64>(sql).fetch_one(&mut db).await.unwrap()
        }
    };
    let before = (
        count("SELECT COUNT(*) FROM trusted_devices").await,
        count("SELECT COUNT(*) FROM audit_log").await,
    );
    for bad in [json!(5), json!(["x"]), json!({"t": 1})] {
        let body = json!({"email": owner.email, "password": PW, "device_token": bad});
        let (s, v) = app
            .client()
            .api(Method::POST, "/api/v1/session", Some(body))
            .await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::BAD_REQUEST, "invalid_json"),
            "{bad}"
        );
    }
    assert_eq!(
        (
            count("SELECT COUNT(*) FROM trusted_devices").await,
            count("SELECT COUNT(*) FROM audit_log").await,
        ),
        before,
        "nothing was written"
    );
    let long = "d".repeat(10_000);
    for hostile in [
        "' OR 1=1 --",
        "<script>alert(1)</script>",
        "",
        "\u{0}\u{7f}",
        long.as_str(),
    ] {
        let (s, v) = login(&app, &owner.email, PW, Some(hostile)).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        assert!(v["device_token"].is_string(), "a new device: {v}");
        let (s, v) = login(&app, &owner.email, WRONG, Some(hostile)).await;
        assert_eq!((s, code(&v)), (StatusCode::UNAUTHORIZED, "bad_credentials"));
    }
}
