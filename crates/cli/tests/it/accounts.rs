//! First-run setup, sign-up, login, password rules and storage, and sessions.

use reqwest::{Method, StatusCode};
use serde_json::json;
use tekkan_storage::sql as raw;

use crate::support::{Client, TestApp};

const PW: &str = "a long enough passphrase";

async fn count(app: &TestApp, sql: &'static str) -> i64 {
    let mut db = app.raw_db().await;
    raw::scalar(sql).fetch_one(&mut db).await.unwrap()
}

#[tokio::test]
async fn first_run_setup_link_works_once_and_no_default_account_exists() {
    let app = TestApp::builder().open_signup(false).start().await;
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM accounts").await,
        0,
        "no default account, so no default password"
    );
    let url = app
        .running()
        .setup_url
        .clone()
        .expect("a setup URL on first run");
    let token = url.split("token=").nth(1).unwrap().to_owned();
    let mut c = app.client();
    let page = c.get(&format!("/setup?token={token}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(&token));

    let body = |t: &str| json!({"token": t, "email": "operator@example.jp", "display_name": "運営者", "password": PW});
    let (s, v) = c
        .api(Method::POST, "/api/v1/setup", Some(body("forged-token")))
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::GONE, Some("setup_token"))
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM accounts").await, 0);

    let (s, v) = c
        .api(Method::POST, "/api/v1/setup", Some(body(&token)))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let mut op = app.client();
    op.bearer = Some(v["token"].as_str().unwrap().to_owned());
    let (s, me) = op.api(Method::GET, "/api/v1/me", None).await;
    assert_eq!(
        (s, me["is_operator"].as_bool()),
        (StatusCode::OK, Some(true))
    );

    let (s, _) = app.client().api(Method::POST, "/api/v1/setup", Some(json!({"token": token, "email": "second@example.jp", "display_name": "x", "password": PW}))).await;
    assert_eq!(s, StatusCode::GONE, "the link is single use");

    // Restarting a server that has an operator prints no setup link.
    let dir = app.stop().await;
    let app = TestApp::builder().data_dir(dir).start().await;
    assert!(app.running().setup_url.is_none());
}

#[tokio::test]
async fn an_expired_setup_link_is_refused() {
    let app = TestApp::start().await;
    let token = app
        .running()
        .setup_url
        .clone()
        .unwrap()
        .split("token=")
        .nth(1)
        .unwrap()
        .to_owned();
    let mut db = app.raw_db().await;
    raw::q("UPDATE setup_tokens SET expires_at = 0")
        .execute(&mut db)
        .await
        .unwrap();
    let (s, _) = app.client().api(Method::POST, "/api/v1/setup", Some(json!({"token": token, "email": "o@example.jp", "display_name": "o", "password": PW}))).await;
    assert_eq!(s, StatusCode::GONE);
}

#[tokio::test]
async fn sign_up_needs_an_invitation_unless_the_operator_opens_it() {
    let app = TestApp::builder().open_signup(false).start().await;
    let mut c = app.client();
    let (s, v) = c
        .api(
            Method::POST,
            "/api/v1/accounts",
            Some(json!({"email": "x@example.jp", "display_name": "x", "password": PW})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let page = c.get("/signup").await;
    assert!(
        page.body.contains("招待リンクが必要"),
        "the page explains why"
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM accounts").await, 0);
}

#[tokio::test]
async fn login_failures_do_not_reveal_whether_an_account_exists() {
    let app = TestApp::start().await;
    let user = app.sign_up("Taro", None).await;
    let mut c = app.client();
    let (s1, v1) = c
        .api(
            Method::POST,
            "/api/v1/session",
            Some(json!({"email": user.email, "password": "wrong passphrase!"})),
        )
        .await;
    let (s2, v2) = c
        .api(
            Method::POST,
            "/api/v1/session",
            Some(json!({"email": "nobody@example.jp", "password": "wrong passphrase!"})),
        )
        .await;
    let (s3, v3) = c
        .api(
            Method::POST,
            "/api/v1/session",
            Some(json!({"email": "not an address", "password": "x"})),
        )
        .await;
    assert_eq!(
        (s1, s2, s3),
        (
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED
        )
    );
    for v in [&v2, &v3] {
        assert_eq!(v["error"]["code"], v1["error"]["code"]);
        assert_eq!(v["error"]["message"], v1["error"]["message"]);
    }
    // The login page says the same for both.
    let mut b = app.client();
    let csrf = b.csrf().await;
    let p1 = b
        .post_form(
            "/login",
            &csrf,
            &[("email", &user.email), ("password", "wrong passphrase!")],
        )
        .await;
    let p2 = b
        .post_form(
            "/login",
            &csrf,
            &[
                ("email", "nobody@example.jp"),
                ("password", "wrong passphrase!"),
            ],
        )
        .await;
    assert_eq!(p1.status, p2.status);
    assert!(
        p1.body
            .contains("メールアドレスまたはパスワードが正しくありません")
    );
    let strip = |body: &str, email: &str| {
        body.replace(email, "")
            .lines()
            .filter(|l| !l.contains("nonce="))
            .collect::<String>()
    };
    assert_eq!(
        strip(&p1.body, &user.email),
        strip(&p2.body, "nobody@example.jp")
    );
}

#[tokio::test]
async fn password_rules_follow_asvs() {
    let app = TestApp::start().await;
    let mut c = app.client();
    let mut try_pw = async |pw: &str| {
        let email = format!("{}@example.jp", crate::support::unique("pw"));
        let (s, v) = c
            .api(
                Method::POST,
                "/api/v1/accounts",
                Some(json!({"email": email, "display_name": "x", "password": pw})),
            )
            .await;
        (
            s,
            v["error"]["code"].as_str().unwrap_or("").to_owned(),
            email,
        )
    };
    assert_eq!(try_pw("short").await.1, "too_short");
    assert_eq!(try_pw("password1").await.1, "common_password");
    assert_eq!(try_pw("iloveyou").await.1, "common_password");
    assert_eq!(try_pw(&"y".repeat(1025)).await.1, "too_long");
    assert_eq!(
        try_pw("8 chars!").await.0,
        StatusCode::CREATED,
        "8 characters, no composition rules"
    );
    assert_eq!(
        try_pw("ながいパスフレーズ").await.0,
        StatusCode::CREATED,
        "Unicode counts in characters"
    );

    // 64+ characters are accepted and never truncated.
    let long = format!("{}A", "x".repeat(99));
    let (s, _, email) = try_pw(&long).await;
    assert_eq!(s, StatusCode::CREATED);
    let login = async |pw: String| {
        app.client()
            .api(
                Method::POST,
                "/api/v1/session",
                Some(json!({"email": email, "password": pw})),
            )
            .await
            .0
    };
    assert_eq!(login(long.clone()).await, StatusCode::CREATED);
    assert_eq!(
        login(format!("{}B", "x".repeat(99))).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(login(long[..72].to_owned()).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn passwords_are_argon2id_and_rehashed_when_the_cost_rises() {
    let app = TestApp::start().await;
    let user = app.sign_up("Hanako", None).await;
    let mut db = app.raw_db().await;
    let hash: String = raw::scalar("SELECT password_hash FROM accounts WHERE email = $1")
        .bind(user.email.to_lowercase())
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    drop(db);
    let dir = app.stop().await;

    let app = TestApp::builder()
        .data_dir(dir)
        .configure(|c| {
            c.password.argon2_memory_kib = 24_576;
            c.password.argon2_iterations = 3;
        })
        .start()
        .await;
    let (s, _) = app
        .client()
        .api(
            Method::POST,
            "/api/v1/session",
            Some(json!({"email": user.email, "password": PW})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let mut db = app.raw_db().await;
    let hash: String = raw::scalar("SELECT password_hash FROM accounts WHERE email = $1")
        .bind(user.email.to_lowercase())
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert!(
        hash.starts_with("$argon2id$v=19$m=24576,t=3,p=1$"),
        "rehashed at login: {hash}"
    );
}

#[tokio::test]
async fn sessions_are_random_hashed_and_renewed_at_login() {
    let app = TestApp::start().await;
    let user = app.sign_up("Ken", None).await;
    let mut b = app.client();
    let csrf = b.csrf().await;
    let p = b
        .post_form("/login", &csrf, &[("email", &user.email), ("password", PW)])
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    let set = p
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("tekkan_session="))
        .unwrap();
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(set.contains(attr), "{set}");
    }
    let first = b.cookies["tekkan_session"].clone();
    assert_eq!(first.len(), 43, "256 random bits, base64url");

    // Only a hash is stored.
    let mut db = app.raw_db().await;
    let stored: Vec<String> = raw::q("SELECT token_hash FROM sessions")
        .fetch_all(&mut db)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(!stored.iter().any(|h| h.contains(&first)));
    let digest = tekkan_app::hash_token(&first);
    assert!(stored.contains(&digest));

    // Logging in again from the same browser gives a new token and ends the old one.
    let csrf = b.csrf().await;
    b.post_form("/login", &csrf, &[("email", &user.email), ("password", PW)])
        .await;
    let second = b.cookies["tekkan_session"].clone();
    assert_ne!(first, second);
    let mut old = app.client();
    old.bearer = Some(first);
    assert_eq!(
        old.api(Method::GET, "/api/v1/me", None).await.0,
        StatusCode::UNAUTHORIZED
    );

    // Logout ends the session on the server.
    let csrf = b.csrf().await;
    let p = b.post_form("/logout", &csrf, &[]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    let mut gone = app.client();
    gone.bearer = Some(second);
    assert_eq!(
        gone.api(Method::GET, "/api/v1/me", None).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn idle_and_absolute_session_lifetimes_are_enforced() {
    let app = TestApp::start().await;
    let mut idle = app.sign_up("Idle", None).await;
    let mut old = app.sign_up("Old", None).await;
    let mut db = app.raw_db().await;
    let h = |c: &Client| tekkan_app::hash_token(c.bearer.as_ref().unwrap());
    let eight_days_ago = tekkan_storage::now_ms() - 8 * 24 * 3_600_000;
    raw::q("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2")
        .bind(eight_days_ago)
        .bind(h(&idle))
        .execute(&mut db)
        .await
        .unwrap();
    raw::q("UPDATE sessions SET expires_at = $1 WHERE token_hash = $2")
        .bind(tekkan_storage::now_ms() - 1)
        .bind(h(&old))
        .execute(&mut db)
        .await
        .unwrap();
    assert_eq!(
        idle.api(Method::GET, "/api/v1/me", None).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        old.api(Method::GET, "/api/v1/me", None).await.0,
        StatusCode::UNAUTHORIZED
    );
    // A stale cookie is cleared.
    let mut b = idle.as_browser();
    let p = b.get("/clubs").await;
    assert_eq!(p.location.as_deref(), Some("/login?next=%2Fclubs"));
    assert!(!b.cookies.contains_key("tekkan_session"));
}

/// A flood of logins queues behind the hashing limit; other requests keep being served.
/// Judged by order of completion, not by time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_flood_does_not_stall_other_requests() {
    // Throttling would refuse most of a flood on one account before hashing; this test
    // is about the hashing queue, so the per-account limits are lifted.
    let app = TestApp::builder()
        .configure(|c| {
            c.limits.login_free_failures = 1000;
            c.limits.login_lock_after = 1000;
        })
        .start()
        .await;
    let user = app.sign_up("Flood", None).await;
    let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..24 {
        let (mut c, email, done) = (app.client(), user.email.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let s = c
                .api(
                    Method::POST,
                    "/api/v1/session",
                    Some(json!({"email": email, "password": "wrong passphrase!"})),
                )
                .await
                .0;
            done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            s
        }));
    }
    tokio::task::yield_now().await;
    let mut c = app.client();
    let p = c.get("/healthz").await;
    let finished_before_health = done.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(p.status, StatusCode::OK);
    for t in tasks {
        assert_eq!(t.await.unwrap(), StatusCode::UNAUTHORIZED);
    }
    assert!(
        finished_before_health < 24,
        "healthz answered while logins were still hashing ({finished_before_health}/24 done)"
    );
}
