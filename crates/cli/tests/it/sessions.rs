//! My sessions: listing devices with an approximate place and last use, ending one or
//! all others; and the operator ending anyone's sessions, disabling and enabling
//! accounts.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tekkan_storage::sql as raw;

use crate::support::fixture::operator;
use crate::support::{Client, TestApp, code};

const PW: &str = "a long enough passphrase";
const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 \
                      (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";

/// Logs in with this user agent; returns a client with the bearer token.
async fn device(app: &TestApp, email: &str, ua: &str) -> Client {
    let res = reqwest::Client::new()
        .post(format!("{}/api/v1/session", app.base))
        .header("user-agent", ua)
        .json(&json!({"email": email, "password": PW}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let v: Value = res.json().await.unwrap();
    let mut c = app.client();
    c.bearer = Some(v["token"].as_str().unwrap().to_owned());
    c.email = email.to_owned();
    c
}

async fn alive(c: &mut Client) -> bool {
    c.api(Method::GET, "/api/v1/me", None).await.0 == StatusCode::OK
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_see_their_devices_and_end_any_of_them() {
    let app = TestApp::start().await;
    let mut laptop = app.sign_up("端末", None).await;
    let mut phone = device(&app, &laptop.email, IPHONE).await;
    let mut third = device(&app, &laptop.email, "curl/8.5.0").await;
    let mut stranger = app.sign_up("他人", None).await;

    let (s, v) = phone.api(Method::GET, "/api/v1/me/sessions", None).await;
    assert_eq!(s, StatusCode::OK);
    let list = v.as_array().unwrap();
    assert_eq!(list.len(), 3, "{v}");
    let me: Vec<&Value> = list.iter().filter(|x| x["current"] == true).collect();
    assert_eq!(me.len(), 1);
    assert_eq!(me[0]["device"], "Safari / iPhone");
    assert_eq!(me[0]["place"], "this_machine");
    assert!(me[0]["last_seen_at"].as_i64().unwrap() > 0);
    assert!(
        list.iter()
            .all(|x| x.get("ip").is_none() && x.get("token").is_none()),
        "neither the address nor a token is shown: {v}"
    );
    let third_id = list.iter().find(|x| x["device"].is_null()).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Someone else cannot end it, nor tell it exists.
    let path = format!("/api/v1/me/sessions/{third_id}");
    let (s, _) = stranger.api(Method::DELETE, &path, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(alive(&mut third).await);
    let (s, _) = phone.api(Method::DELETE, &path, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert!(
        !alive(&mut third).await,
        "the ended session no longer works"
    );
    let (s, _) = phone.api(Method::DELETE, &path, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // End every other session.
    let (s, v) = phone.api(Method::DELETE, "/api/v1/me/sessions", None).await;
    assert_eq!((s, v["ended"].as_u64()), (StatusCode::OK, Some(1)));
    assert!(!alive(&mut laptop).await);
    assert!(alive(&mut phone).await);
    assert!(
        alive(&mut stranger).await,
        "other people's sessions are untouched"
    );

    // The page shows the device and ends sessions by form.
    let mut b = phone.as_browser();
    let page = b.get("/settings/sessions").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Safari / iPhone") || page.body.contains("id=\"current-session\""));
    let mut other = device(
        &app,
        &phone.email,
        "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0",
    )
    .await;
    let page = b.get("/settings/sessions").await;
    assert!(page.body.contains("Firefox / Linux"), "{}", page.body);
    let csrf = page.csrf();
    let done = b
        .post_form("/settings/sessions/revoke-others", &csrf, &[])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert!(!alive(&mut other).await);
    assert!(alive(&mut phone).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_ends_sessions_and_disables_accounts() {
    let app = TestApp::start().await;
    let mut op = operator(&app).await;
    let mut user = app.sign_up("対象", None).await;
    let mut user_phone = device(&app, &user.email, IPHONE).await;
    let (_, me) = user.api(Method::GET, "/api/v1/me", None).await;
    let id = me["account_id"].as_str().unwrap().to_owned();
    let mut bystander = app.sign_up("傍観", None).await;

    // Only the operator may.
    for p in ["sessions", "disable", "enable"] {
        let m = if p == "sessions" {
            Method::DELETE
        } else {
            Method::POST
        };
        let (s, v) = bystander
            .api(m, &format!("/api/v1/admin/accounts/{id}/{p}"), None)
            .await;
        assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"), "{p}");
    }
    assert!(alive(&mut user).await);

    let (s, v) = op
        .api(
            Method::DELETE,
            &format!("/api/v1/admin/accounts/{id}/sessions"),
            None,
        )
        .await;
    assert_eq!((s, v["ended"].as_u64()), (StatusCode::OK, Some(2)), "{v}");
    assert!(!alive(&mut user).await && !alive(&mut user_phone).await);
    assert!(alive(&mut bystander).await);

    // Disabled: every session ends at once and logging in is refused; only the right
    // password learns why.
    let mut again = device(&app, &user.email, IPHONE).await;
    let (s, _) = op
        .api(
            Method::POST,
            &format!("/api/v1/admin/accounts/{id}/disable"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert!(!alive(&mut again).await);
    let login = |pw: &'static str| {
        let (app, email) = (&app, user.email.clone());
        async move {
            app.client()
                .api(
                    Method::POST,
                    "/api/v1/session",
                    Some(json!({"email": email, "password": pw})),
                )
                .await
        }
    };
    let (s, v) = login(PW).await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "account_disabled"));
    let (s, v) = login("not the password!!").await;
    assert_eq!((s, code(&v)), (StatusCode::UNAUTHORIZED, "bad_credentials"));
    let (s, _) = app
        .client()
        .api(
            Method::POST,
            "/api/v1/password-reset",
            Some(json!({"email": user.email})),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let mut db = app.raw_db().await;
    let links: i64 = raw::scalar("SELECT COUNT(*) FROM account_tokens")
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(links, 0, "a disabled account is sent no reset link");

    // Operators cannot be disabled; unknown accounts are not found.
    let (_, op_me) = op.api(Method::GET, "/api/v1/me", None).await;
    let op_id = op_me["account_id"].as_str().unwrap();
    let (s, v) = op
        .api(
            Method::POST,
            &format!("/api/v1/admin/accounts/{op_id}/disable"),
            None,
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "operator_account"));
    let (s, _) = op
        .api(
            Method::POST,
            "/api/v1/admin/accounts/00000000000000000000000000000000/disable",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let (s, _) = op
        .api(
            Method::POST,
            &format!("/api/v1/admin/accounts/{id}/enable"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(login(PW).await.0, StatusCode::CREATED);
    app.settle_log().await;
    let actions: Vec<String> =
        raw::scalar("SELECT action FROM audit_log WHERE action LIKE 'admin.%' ORDER BY seq")
            .fetch_all(&mut db)
            .await
            .unwrap();
    assert_eq!(
        actions,
        [
            "admin.sessions_ended",
            "admin.account_disabled",
            "admin.account_enabled"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ending_other_sessions_needs_a_recent_proof_of_identity() {
    let app = TestApp::start().await;
    let mut me = app.sign_up("確認", None).await;
    let mut other = device(&app, &me.email, IPHONE).await;
    let mut db = app.raw_db().await;
    raw::q("UPDATE sessions SET reauth_at = 0")
        .execute(&mut db)
        .await
        .unwrap();
    let (s, v) = me.api(Method::DELETE, "/api/v1/me/sessions", None).await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "reauth_required"));
    assert!(alive(&mut other).await);
    let (s, _) = me
        .api(
            Method::POST,
            "/api/v1/me/reauth",
            Some(json!({"password": PW})),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = me.api(Method::DELETE, "/api/v1/me/sessions", None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(!alive(&mut other).await);
}
