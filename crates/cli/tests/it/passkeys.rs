//! Passkeys through a real browser: Chromium's virtual authenticator (DevTools
//! `WebAuthn.addVirtualAuthenticator`) registers a passkey from the security page and
//! signs in with it from the login page. Then answers made by that authenticator are
//! forged (signature, origin, authenticator data, user handle) or replayed, and refused.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tekkan_storage::sql as raw;

use crate::support::cdp::Browser;
use crate::support::{TestApp, code};

const PW: &str = "a long enough passphrase";

/// An assertion made by the browser's authenticator for options fetched outside it.
async fn assertion(b: &mut Browser, app: &TestApp) -> Value {
    let (s, opts) = app
        .client()
        .api(Method::POST, "/api/v1/session/passkey/options", None)
        .await;
    assert_eq!(s, StatusCode::OK, "{opts}");
    let js = format!(
        "(async () => {{ const c = await navigator.credentials.get({{publicKey: \
         PublicKeyCredential.parseRequestOptionsFromJSON({opts})}}); \
         return JSON.stringify(c.toJSON()); }})()"
    );
    serde_json::from_str(b.eval(&js).await.as_str().unwrap()).unwrap()
}

async fn sign_in(app: &TestApp, credential: &Value) -> (StatusCode, Value) {
    app.client()
        .api(
            Method::POST,
            "/api/v1/session/passkey",
            Some(json!({ "credential": credential })),
        )
        .await
}

/// A change that turns a genuine answer into a forged one.
type Forgery = Box<dyn FnOnce(&mut Value)>;

/// Decodes a base64url field, lets `f` change the bytes, and encodes it back.
fn tamper(v: &mut Value, field: &str, f: impl FnOnce(&mut Vec<u8>)) {
    let mut bytes = B64.decode(v["response"][field].as_str().unwrap()).unwrap();
    f(&mut bytes);
    v["response"][field] = Value::String(B64.encode(bytes));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passkey_registers_and_signs_in_and_forged_answers_are_refused() {
    // Three wrong passwords in a row lock an account here, without delays.
    let app = TestApp::builder()
        .configure(|c| {
            c.limits.login_free_failures = 1000;
            c.limits.login_lock_after = 3;
        })
        .start()
        .await;
    let user = app.sign_up("鍵の人", None).await;
    // Browsers refuse an IP address as a relying party: the page is opened as localhost.
    let base = app.base.replace("127.0.0.1", "localhost");
    let (mut b, authenticator) = Browser::with_authenticator().await;

    // Register from the security page.
    b.open_security_page(&base, &user.email, PW).await;
    b.fill("input[name=name]", "通学用スマホ").await;
    b.click_and_wait("#passkey-add").await;
    let text = b.text().await;
    assert!(text.contains("通学用スマホ"), "{text}");
    assert_eq!(
        b.eval("document.querySelectorAll('#recovery-codes li').length")
            .await,
        10,
        "the first factor comes with recovery codes"
    );
    let creds = b
        .call(
            "WebAuthn.getCredentials",
            json!({ "authenticatorId": authenticator }),
        )
        .await;
    assert_eq!(creds["credentials"].as_array().unwrap().len(), 1);
    assert_eq!(creds["credentials"][0]["isResidentCredential"], true);

    // A password login now asks for a second step.
    let (s, _) = app
        .client()
        .api(
            Method::POST,
            "/api/v1/session",
            Some(json!({"email": user.email, "password": PW})),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);

    // Someone else guesses until the account locks: passwords are refused now, even the
    // right one from a client that never signed in...
    for _ in 0..3 {
        app.log_in(&user.email, "a wrong guess, again").await;
    }
    let (s, v) = app.log_in(&user.email, PW).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::TOO_MANY_REQUESTS, "login_locked")
    );

    // ...but a passkey still signs its owner in, from the login page: no password typed.
    b.clear_cookies().await;
    b.goto(&format!("{base}/login")).await;
    b.wait_for("!document.getElementById('passkey-login').hidden")
        .await;
    b.click_and_wait("#passkey-login").await;
    assert!(b.url().await.ends_with("/clubs"), "{}", b.url().await);
    assert!(b.text().await.contains("鍵の人"));

    // Through the API: a genuine answer works once; replaying it is refused.
    let genuine = assertion(&mut b, &app).await;
    let (s, v) = sign_in(&app, &genuine).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = sign_in(&app, &genuine).await;
    assert_eq!((s, code(&v)), (StatusCode::GONE, "passkey_ceremony"));

    // Forged answers, each for a ceremony of its own.
    let forgeries: [(&str, Forgery); 4] = [
        (
            "signature",
            Box::new(|v| tamper(v, "signature", |s| s[8] ^= 1)),
        ),
        (
            "origin",
            Box::new(|v| {
                tamper(v, "clientDataJSON", |c| {
                    let t = String::from_utf8(c.clone()).unwrap();
                    *c = t
                        .replace("http://localhost", "https://evil.example")
                        .into_bytes();
                })
            }),
        ),
        (
            "authenticator data",
            Box::new(|v| tamper(v, "authenticatorData", |a| a[0] ^= 1)),
        ),
        (
            "user handle",
            Box::new(|v| tamper(v, "userHandle", |h| h[0] ^= 1)),
        ),
    ];
    for (what, forge) in forgeries {
        let mut v = assertion(&mut b, &app).await;
        forge(&mut v);
        let (s, body) = sign_in(&app, &v).await;
        assert_eq!(
            (s, code(&body)),
            (StatusCode::UNAUTHORIZED, "bad_code"),
            "{what}: {body}"
        );
    }
    for junk in [
        json!({}),
        json!("not a credential"),
        json!({"id": "x", "response": {}}),
    ] {
        let (s, v) = sign_in(&app, &junk).await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            "{junk}"
        );
    }
    // The genuine way still works after the forgeries.
    let (s, _) = sign_in(&app, &assertion(&mut b, &app).await).await;
    assert_eq!(s, StatusCode::CREATED);

    let mut db = app.raw_db().await;
    let (stored, used): (String, Option<i64>) = crate::support::tuple(
        raw::q("SELECT static_state, last_used_at FROM passkeys"),
        &mut db,
    )
    .await;
    assert!(!stored.is_empty() && used.is_some());
    app.settle_log().await;
    let n: i64 = raw::scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'auth.passkey_used'")
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(n, 3, "the page sign-in and the two genuine API sign-ins");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passkey_only_account_has_no_password_and_keeps_its_last_passkey() {
    let app = TestApp::start().await;
    let user = app.sign_up("鍵だけ", None).await;
    let base = app.base.replace("127.0.0.1", "localhost");
    let (mut b, _) = Browser::with_authenticator().await;
    b.open_security_page(&base, &user.email, PW).await;
    b.click_and_wait("#passkey-add").await;
    b.click_and_wait("#passkey-only").await;
    let mut db = app.raw_db().await;
    let hash: Option<String> = raw::scalar("SELECT password_hash FROM accounts")
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert!(hash.is_none(), "passkey-only");
    let (s, _) = app
        .client()
        .api(
            Method::POST,
            "/api/v1/session",
            Some(json!({"email": user.email, "password": PW})),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "the old password is gone");
    // The last passkey of a passkey-only account cannot be removed.
    let id: String = raw::scalar("SELECT credential_id FROM passkeys")
        .fetch_one(&mut db)
        .await
        .unwrap();
    let mut api = user.clone();
    let (s, v) = api
        .api(Method::DELETE, &format!("/api/v1/me/passkeys/{id}"), None)
        .await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "last_sign_in_method"));
    // Signing in still works with the passkey.
    b.clear_cookies().await;
    b.goto(&format!("{base}/login")).await;
    b.wait_for("!document.getElementById('passkey-login').hidden")
        .await;
    b.click_and_wait("#passkey-login").await;
    assert!(b.url().await.ends_with("/clubs"), "{}", b.url().await);
}
