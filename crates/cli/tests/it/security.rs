//! Security headers on every response, CSRF protection on every state change, and no
//! state change on GET.

use reqwest::{Method, StatusCode};
use serde_json::json;
use tekkan_storage::sql as raw;

use crate::support::TestApp;

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = TestApp::start().await;
    let user = app.sign_up("Headers", None).await;
    let mut b = user.as_browser();
    let mut nonces = Vec::new();
    for path in [
        "/",
        "/login",
        "/clubs",
        "/api/v1/me",
        "/api/v1/nope",
        "/nope",
        "/static/app.css",
        "/healthz",
    ] {
        let p = b.get(path).await;
        let h = |k: &str| {
            p.headers
                .get(k)
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default()
        };
        let csp = h("content-security-policy");
        for d in [
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
            "default-src 'none'",
            "script-src 'nonce-",
        ] {
            assert!(csp.contains(d), "{path}: {csp}");
        }
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "{path}"
        );
        assert_eq!(h("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(h("referrer-policy"), "no-referrer", "{path}");
        assert!(!h("x-request-id").is_empty(), "{path}");
        if !path.starts_with("/static/") {
            assert_eq!(
                h("cache-control"),
                "no-store",
                "{path}: personal pages are never cached"
            );
        }
        if p.body.contains("<script") {
            let nonce = csp
                .split("'nonce-")
                .nth(1)
                .unwrap()
                .split('\'')
                .next()
                .unwrap()
                .to_owned();
            assert!(
                p.body.contains(&format!("nonce=\"{nonce}\"")),
                "{path}: the script carries this response's nonce"
            );
            nonces.push(nonce);
        }
        assert!(
            p.headers.get("strict-transport-security").is_none(),
            "no HSTS over plain loopback HTTP"
        );
    }
    let unique: std::collections::HashSet<_> = nonces.iter().collect();
    assert!(
        nonces.len() >= 2 && unique.len() == nonces.len(),
        "a fresh nonce per response"
    );
}

#[tokio::test]
async fn state_changes_need_a_csrf_token() {
    let app = TestApp::start().await;
    let user = app.sign_up("Csrf", None).await;
    let mut b = user.as_browser();
    let good = b.csrf().await;
    let form = [("content-type", "application/x-www-form-urlencoded")];

    let p = b
        .raw(Method::POST, "/clubs", &form, b"name=x".to_vec())
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN, "no token");
    assert!(p.body.contains("フォームの有効期限が切れたか"));
    let other = app.sign_up("Other", None).await.as_browser().csrf().await;
    let p = b.post_form("/clubs", &other, &[("name", "x")]).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN, "another session's token");
    let p = b.post_form("/clubs", &good, &[("name", "x")]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "the right token");

    // A cross-site request is refused even with a token.
    let body = format!("_csrf={good}&name=y");
    let p = b
        .raw(
            Method::POST,
            "/clubs",
            &[form[0], ("sec-fetch-site", "cross-site")],
            body.into_bytes(),
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);

    // The API with a cookie session needs the header; with a bearer token it does not.
    let json_ct = ("content-type", "application/json");
    let body = serde_json::to_vec(&json!({"name": "api club"})).unwrap();
    let p = b
        .raw(Method::POST, "/api/v1/clubs", &[json_ct], body.clone())
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    let p = b
        .raw(
            Method::POST,
            "/api/v1/clubs",
            &[json_ct, ("x-csrf-token", &good)],
            body.clone(),
        )
        .await;
    assert_eq!(p.status, StatusCode::CREATED);
    let mut api = user.clone();
    assert_eq!(
        api.api(
            Method::POST,
            "/api/v1/clubs",
            Some(json!({"name": "bearer club"}))
        )
        .await
        .0,
        StatusCode::CREATED
    );

    // Logging in through a forged form is refused too (login CSRF).
    let mut anon = app.client();
    let p = anon
        .raw(
            Method::POST,
            "/login",
            &form,
            format!("email={}&password=x", user.email).into_bytes(),
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn get_never_changes_state() {
    let app = TestApp::start().await;
    let mut user = app.sign_up("Get", None).await;
    let club = &user.create_club("将棋部").await;
    let mut db = app.raw_db().await;
    let before: i64 = raw::scalar("SELECT COUNT(*) FROM audit_log")
        .fetch_one(&mut db)
        .await
        .unwrap();
    let mut b = user.as_browser();
    for path in [
        "/logout".to_owned(),
        format!("/clubs/{club}/leave"),
        "/lang".to_owned(),
    ] {
        assert_eq!(
            b.get(&path).await.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{path}"
        );
    }
    for path in [
        format!("/api/v1/clubs/{club}/leave"),
        "/api/v1/session".to_owned(),
    ] {
        assert_eq!(
            user.api(Method::GET, &path, None).await.0,
            StatusCode::METHOD_NOT_ALLOWED,
            "{path}"
        );
    }
    app.settle_log().await;
    let after: i64 = raw::scalar("SELECT COUNT(*) FROM audit_log")
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(before, after);
    assert_eq!(
        user.api(Method::GET, &format!("/api/v1/clubs/{club}"), None)
            .await
            .0,
        StatusCode::OK,
        "still a member, still logged in"
    );
}

#[tokio::test]
async fn the_language_switch_remembers_english() {
    let app = TestApp::start().await;
    let mut b = app.client();
    let csrf = b.csrf().await;
    let p = b
        .post_form("/lang", &csrf, &[("lang", "en"), ("back", "/login")])
        .await;
    assert_eq!(p.location.as_deref(), Some("/login"));
    let page = b.get("/login").await;
    assert!(page.body.contains("<html lang=\"en\">") && page.body.contains("Log in"));
    let p = b
        .post_form(
            "/lang",
            &csrf,
            &[("lang", "fr"), ("back", "//evil.example")],
        )
        .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    let p = b
        .post_form(
            "/lang",
            &csrf,
            &[("lang", "ja"), ("back", "//evil.example")],
        )
        .await;
    assert_eq!(p.location.as_deref(), Some("/clubs"), "no open redirect");
}

/// Stopping the server lets requests already in flight finish: a queue of logins that
/// were accepted before shutdown all get their answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_drains_requests_in_flight() {
    // Logins in flight on one account count against its throttle until they succeed;
    // lifted here, where the point is the drain.
    let app = TestApp::builder()
        .configure(|c| c.limits.login_free_failures = 1000)
        .start()
        .await;
    let user = app.sign_up("Drain", None).await;
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let (mut c, email) = (app.client(), user.email.clone());
        tasks.push(tokio::spawn(async move {
            c.api(
                Method::POST,
                "/api/v1/session",
                Some(json!({"email": email, "password": "a long enough passphrase"})),
            )
            .await
            .0
        }));
    }
    // Let the requests reach the server (they queue behind the hashing threads).
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let base = app.base.clone();
    app.stop().await;
    for t in tasks {
        assert_eq!(
            t.await.unwrap(),
            StatusCode::CREATED,
            "an accepted request was answered"
        );
    }
    assert!(
        reqwest::get(format!("{base}/healthz")).await.is_err(),
        "and new connections are refused"
    );
}
