//! The account-protection endpoints refuse broken bodies with a clear 4xx and write
//! nothing; forged, used and malformed tokens and codes are refused, never a 500.

use reqwest::{Method, StatusCode};
use serde_json::json;
use tekkan_storage::sql as raw;

use crate::bad_input_activities::refuses_broken_json;
use crate::support::{TestApp, code};

async fn rows(app: &TestApp) -> Vec<i64> {
    let mut db = app.raw_db().await;
    let mut out = Vec::new();
    for sql in [
        "SELECT COUNT(*) FROM audit_log",
        "SELECT COUNT(*) FROM login_throttle",
        "SELECT COUNT(*) FROM mfa_totp",
        "SELECT COUNT(*) FROM mfa_recovery_codes",
        "SELECT COUNT(*) FROM sessions",
        "SELECT COUNT(*) FROM clubs WHERE require_mfa",
    ] {
        out.push(raw::scalar(sql).fetch_one(&mut db).await.unwrap());
    }
    out
}

#[tokio::test]
async fn protection_endpoints_refuse_broken_input() {
    let app = TestApp::start().await;
    let mut owner = app.sign_up("入力", None).await;
    let club = owner.create_club("弓道部").await;
    let writes = [
        (Method::POST, "/api/v1/unlock".to_owned()),
        (Method::POST, "/api/v1/session/second-step".to_owned()),
        (Method::POST, "/api/v1/me/mfa/totp/confirm".to_owned()),
        (Method::POST, "/api/v1/me/reauth".to_owned()),
        (Method::PUT, format!("/api/v1/clubs/{club}/require-mfa")),
    ];
    let before = rows(&app).await;
    refuses_broken_json(&mut owner, &writes).await;
    assert_eq!(rows(&app).await, before, "nothing was written");

    // Forged tokens, HTML and SQL where a token or a code goes.
    let mut anon = app.client();
    for token in ["forged", "' OR 1=1 --", "<script>alert(1)</script>", ""] {
        let body = json!({"token": token, "code": "123456"});
        let (s, v) = anon
            .api(Method::POST, "/api/v1/session/second-step", Some(body))
            .await;
        assert_eq!((s, code(&v)), (StatusCode::GONE, "second_step"), "{token}");
        let (s, v) = anon
            .api(
                Method::POST,
                "/api/v1/unlock",
                Some(json!({"token": token})),
            )
            .await;
        assert_eq!((s, code(&v)), (StatusCode::GONE, "unlock_link"), "{token}");
    }
    let (s, v) = owner
        .api(
            Method::POST,
            "/api/v1/me/mfa/totp/confirm",
            Some(json!({"code": "' OR 1=1 --"})),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "totp_not_started"));

    // The code page: invalid UTF-8 is a 400; markup in the fields comes back escaped.
    let mut b = app.client();
    let csrf = b.csrf().await;
    let form = format!("_csrf={csrf}&token=x&code=%FF%FE");
    let headers = [("content-type", "application/x-www-form-urlencoded")];
    let r = b
        .raw(Method::POST, "/login/code", &headers, form.into_bytes())
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let p = b
        .post_form(
            "/login/code",
            &csrf,
            &[("token", "\"><script>x()</script>"), ("code", "1")],
        )
        .await;
    assert_eq!(p.status, StatusCode::GONE);
    assert!(!p.body.contains("<script>x()"), "{}", p.body);
    assert_eq!(rows(&app).await, before, "still nothing written");
}

#[tokio::test]
async fn recovery_and_session_endpoints_refuse_broken_input() {
    let app = TestApp::start().await;
    let mut user = app.sign_up("復旧入力", None).await;
    let writes = [
        (Method::POST, "/api/v1/password-reset".to_owned()),
        (Method::POST, "/api/v1/password-reset/complete".to_owned()),
        (Method::PUT, "/api/v1/me/password".to_owned()),
        (Method::PUT, "/api/v1/me/email".to_owned()),
        (Method::POST, "/api/v1/email-change/confirm".to_owned()),
        (Method::POST, "/api/v1/me/passkeys".to_owned()),
        (Method::POST, "/api/v1/accounts/confirm".to_owned()),
        (Method::POST, "/api/v1/session/passkey".to_owned()),
        (Method::POST, "/api/v1/me/reauth/passkey".to_owned()),
    ];
    let before = recovery_state(&app).await;
    refuses_broken_json(&mut user, &writes).await;
    assert_eq!(recovery_state(&app).await, before, "nothing was written");

    let mut anon = app.client();
    for token in ["forged", "' OR 1=1 --", "<script>alert(1)</script>", ""] {
        let (s, v) = anon
            .api(
                Method::POST,
                "/api/v1/password-reset/complete",
                Some(json!({"token": token, "password": "a long enough passphrase"})),
            )
            .await;
        assert_eq!((s, code(&v)), (StatusCode::GONE, "reset_link"), "{token}");
        let (s, v) = anon
            .api(
                Method::POST,
                "/api/v1/email-change/confirm",
                Some(json!({ "token": token })),
            )
            .await;
        assert_eq!((s, code(&v)), (StatusCode::GONE, "email_link"), "{token}");
        let page = anon
            .get(&format!("/reset?token={}", urlencode(token)))
            .await;
        assert_eq!(page.status, StatusCode::GONE);
        assert!(!page.body.contains("<script>alert"));
    }
    for email in ["not an address", "<b>x</b>@example.jp", "' OR 1=1 --"] {
        let (s, v) = anon
            .api(
                Method::POST,
                "/api/v1/password-reset",
                Some(json!({ "email": email })),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{email}: {v}");
        let (s, _) = user
            .api(
                Method::PUT,
                "/api/v1/me/email",
                Some(json!({ "email": email })),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{email}");
    }
    // The request form keeps what was typed, escaped.
    let mut b = app.client();
    let csrf = b.get("/password-reset").await.csrf();
    let page = b
        .post_form("/password-reset", &csrf, &[("email", "<script>x</script>")])
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.body.contains("&#60;script&#62;x&#60;/script&#62;"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("<script>x</script>"));
    // Malformed and other people's session ids are simply not found.
    for id in [
        "nothex",
        "00000000000000000000000000000000",
        "'; DROP TABLE sessions; --",
    ] {
        let (s, _) = user
            .api(
                Method::DELETE,
                &format!("/api/v1/me/sessions/{}", urlencode(id)),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{id}");
    }
    assert_eq!(recovery_state(&app).await, before, "still nothing written");
}

/// Links, sessions, audit entries, and every password hash and address.
async fn recovery_state(app: &TestApp) -> (i64, String) {
    let mut db = app.raw_db().await;
    let n: i64 = raw::scalar(
        "SELECT (SELECT COUNT(*) FROM account_tokens) + (SELECT COUNT(*) FROM sessions) \
         + (SELECT COUNT(*) FROM audit_log)",
    )
    .fetch_one(&mut db)
    .await
    .unwrap();
    let accounts: String =
        raw::scalar("SELECT string_agg(password_hash || email, ',') FROM accounts")
            .fetch_one(&mut db)
            .await
            .unwrap();
    (n, accounts)
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn personal_and_privacy_endpoints_refuse_broken_input() {
    let app = TestApp::start().await;
    let mut user = app.sign_up("個人入力", None).await;
    let writes = [
        (Method::PUT, "/api/v1/me/personal".to_owned()),
        (Method::PATCH, "/api/v1/me".to_owned()),
        (Method::POST, "/api/v1/me/privacy-requests".to_owned()),
    ];
    let state = async |app: &TestApp| {
        let mut db = app.raw_db().await;
        let n: i64 = raw::scalar(
                "SELECT (SELECT COUNT(*) FROM personal_fields) + (SELECT COUNT(*) FROM privacy_requests) \
                 + (SELECT COUNT(*) FROM audit_log)",
            )
            .fetch_one(&mut db)
            .await
            .unwrap();
        let names: String = raw::scalar("SELECT string_agg(display_name, ',') FROM accounts")
            .fetch_one(&mut db)
            .await
            .unwrap();
        (n, names)
    };
    let before = state(&app).await;
    refuses_broken_json(&mut user, &writes).await;
    for bad in [
        json!({"fields": {"phone": 12345}}),
        json!({"fields": {"phone": "1".repeat(100_000)}}),
        json!({"fields": {"grade": "1\u{0000}"}}),
        json!({"fields": {"unknown_field": "x"}}),
        json!({"fields": {}, "surprise": true}),
    ] {
        let (s, v) = user
            .api(Method::PUT, "/api/v1/me/personal", Some(bad.clone()))
            .await;
        assert!(s.is_client_error(), "{bad}: {s} {v}");
        assert!(v["error"]["code"].is_string());
    }
    assert_eq!(state(&app).await, before, "nothing was written");

    // Markup and SQL are kept as text and shown escaped.
    let body = json!({"fields": {"school": "<script>alert(1)</script>' OR 1=1 --"}});
    let (s, _) = user
        .api(Method::PUT, "/api/v1/me/personal", Some(body))
        .await;
    assert_eq!(s, StatusCode::OK);
    let page = user.as_browser().get("/settings/profile").await;
    assert!(
        page.body
            .contains("&#60;script&#62;alert(1)&#60;/script&#62;&#39; OR 1=1 --")
    );
    assert!(!page.body.contains("<script>alert(1)"));
}
