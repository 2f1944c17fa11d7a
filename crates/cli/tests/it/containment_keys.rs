//! The containment steps that renew credentials: rotating the keys that authenticate
//! requests (a form token from before is refused on a second instance within 5 s,
//! every other session ends, the operator's stays) and the audit log's signing key
//! (the second instance signs with the new one within 5 s, and every instance's key
//! file follows), and requiring new passwords (a
//! correct password alone no longer signs in, a wrong one says nothing more, and the
//! e-mailed reset lets the owner back in). Both from the API and the command line,
//! both audited.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;

use tekkan_audit::signed::{AnyReceipt, PublicKey, Signer, accepted_keys, open_checkpoint};

use crate::containment::within;
use crate::recovery::{ask_reset, complete, link_token, mail_app, wait_mail_to};
use crate::support::fixture::operator;
use crate::support::peers::SmtpServer;
use crate::support::{Client, TestApp, code, tekkan_on};
use crate::transparency::{published_key, signed_checkpoint};

const PW: &str = "a long enough passphrase";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotated_keys_void_form_tokens_on_every_instance_within_5_seconds() {
    let first = TestApp::start().await;
    // The operator first: a starting instance renews the one-time setup link.
    let mut op = operator(&first).await;
    let second = TestApp::builder().instance_of(&first).start().await;
    let member = first.sign_up("鍵の利用者", None).await;
    let mut on_second = member.clone();
    on_second.base = second.own_url();
    // A browser signed out on the second instance holds a form token.
    let mut browser = second.client();
    let page = browser.get("/login").await;
    assert_eq!(page.status, StatusCode::OK);
    let old = page.csrf();
    let res = browser
        .post_form("/lang", &old, &[("lang", "ja"), ("back", "/")])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "the token works before");

    let (s, v) = op
        .api(
            Method::POST,
            "/api/v1/admin/keys/rotate",
            Some(json!({"reason": "CSRF鍵の漏えいの疑い"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["sessions_ended"].as_u64().unwrap() >= 1, "{v}");
    let took = within(Duration::from_secs(5), || {
        let mut b = browser.clone();
        let old = old.clone();
        async move {
            let res = b
                .post_form("/lang", &old, &[("lang", "ja"), ("back", "/")])
                .await;
            res.status == StatusCode::FORBIDDEN
        }
    })
    .await;
    eprintln!("the rotation reached the second instance in {took:?}");
    // A fresh page has a token of the new epoch, and it works.
    let page = browser.get("/login").await;
    let new = page.csrf();
    assert_ne!(new, old);
    let res = browser
        .post_form("/lang", &new, &[("lang", "ja"), ("back", "/")])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    // Every other session ended, on both instances; the operator's goes on.
    let (s, _) = on_second.api(Method::GET, "/api/v1/me", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = op.api(Method::GET, "/api/v1/admin/containment", None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = second.log_in(&member.email, PW).await;
    assert_eq!(s, StatusCode::CREATED, "signing in again works");
    // A reason is required; and from the command line too.
    let (s, v) = op
        .api(
            Method::POST,
            "/api/v1/admin/keys/rotate",
            Some(json!({"reason": " "})),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "reason_required"));
    let (ok, out) = tekkan_on(
        &["contain", "rotate-keys", "--reason", "定期的な更新"],
        &first.data_dir(),
    );
    assert!(ok && out.contains("keys rotated"), "{out}");
    assert_eq!(first.audit_count("containment.keys_rotated").await, 2);
    second.stop_instance().await;
    first.stop().await;
}

/// Writes through `c` and returns the receipt the write came back with.
async fn receipt_of_a_write(c: &mut Client, name: &str) -> AnyReceipt {
    let p = c
        .api_page(
            Method::POST,
            "/api/v1/clubs",
            Some(json!({ "name": name })),
            &[],
        )
        .await;
    assert_eq!(p.status, StatusCode::CREATED);
    AnyReceipt::parse(p.headers["tekkan-receipt"].to_str().unwrap()).unwrap()
}

fn verifies(r: &AnyReceipt, key: &PublicKey) -> bool {
    let keys = std::slice::from_ref(key);
    match r {
        AnyReceipt::Placed(r) => r.verify(keys).is_ok(),
        AnyReceipt::Promised(p) => p.verify(keys).is_ok(),
    }
}

/// The public half of the key in `dir`'s `secrets/log.key`.
fn key_file(dir: &std::path::Path, name: &str) -> PublicKey {
    let text = std::fs::read_to_string(dir.join("secrets/log.key")).unwrap();
    let seed: [u8; 32] = hex::decode(text.trim()).unwrap().try_into().unwrap();
    Signer::new(name, &seed).public()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_log_key_signs_on_every_instance_within_5_seconds() {
    let fast = |c: &mut tekkan_cli::config::Config| c.scheduler.checkpoint_ms = 100;
    let first = TestApp::builder().configure(fast).start().await;
    let mut op = operator(&first).await;
    // Another machine with copies of the key files, and one that is away during the
    // rotation (its copies taken now, started later).
    let second = TestApp::builder()
        .configure(fast)
        .instance_elsewhere(&first)
        .start()
        .await;
    let away = TestApp::builder()
        .configure(fast)
        .instance_elsewhere(&first);
    let old = published_key(&first).await;
    let mut op_second = op.clone();
    op_second.base = second.own_url();
    assert!(verifies(
        &receipt_of_a_write(&mut op_second, "前の鍵").await,
        &old
    ));

    let (s, v) = op
        .api(
            Method::POST,
            "/api/v1/admin/keys/rotate",
            Some(json!({"reason": "署名鍵の漏えいの疑い"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let new = PublicKey::parse(v["log_key"].as_str().unwrap()).unwrap();
    assert_ne!(new, old);
    assert!(verifies(
        &receipt_of_a_write(&mut op, "新しい鍵").await,
        &new
    ));
    let took = within(Duration::from_secs(5), || {
        let mut c = op_second.clone();
        let new = new.clone();
        async move { verifies(&receipt_of_a_write(&mut c, "二台目").await, &new) }
    })
    .await;
    eprintln!("the new log key signed on the second instance after {took:?}");
    // Both instances' key files hold the new key within the same 5 s: the retired
    // one is not left on disk.
    within(Duration::from_secs(5), || {
        let ok = [first.data_dir(), second.data_dir()]
            .iter()
            .all(|d| key_file(d, &new.name) == new);
        async move { ok }
    })
    .await;

    // The history is published with the succession both keys signed: trusting only
    // the old key accepts the new one, and the next checkpoint is by the new key.
    let (_, history) = second
        .client()
        .api(Method::GET, "/transparency/keys", None)
        .await;
    assert_eq!(history.as_array().unwrap().len(), 2, "{history}");
    let records = first.running().app.log_key_history().await.unwrap();
    assert!(accepted_keys(std::slice::from_ref(&old), &records).contains(&new));
    let (note, _) = signed_checkpoint(&second).await;
    assert!(open_checkpoint(&note, std::slice::from_ref(&new)).is_ok());
    assert!(open_checkpoint(&note, std::slice::from_ref(&old)).is_err());

    // A rotation right after, from the second instance, follows the first one.
    let (s, v) = op_second
        .api(
            Method::POST,
            "/api/v1/admin/keys/rotate",
            Some(json!({"reason": "続けて更新"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let newer = PublicKey::parse(v["log_key"].as_str().unwrap()).unwrap();
    let records = first.running().app.log_key_history().await.unwrap();
    assert_eq!(records.len(), 3);
    assert!(accepted_keys(std::slice::from_ref(&old), &records).contains(&newer));

    // The machine that was away starts with its old key file: it signs with the
    // newest key (from the database, sealed under the master key), and its file is
    // brought up to date.
    let away = away.start().await;
    assert_eq!(key_file(&away.data_dir(), &old.name), newer);
    let mut op_away = op.clone();
    op_away.base = away.own_url();
    assert!(verifies(
        &receipt_of_a_write(&mut op_away, "戻ってきた").await,
        &newer
    ));
    assert_eq!(first.audit_count("containment.keys_rotated").await, 2);
    away.stop_instance().await;
    second.stop_instance().await;
    first.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forced_password_reset_asks_for_more_proof_and_never_locks_the_owner_out() {
    let smtp = SmtpServer::start().await;
    let app = mail_app(&smtp).await;
    let mut op = operator(&app).await;
    let user = app.sign_up("再設定の対象", None).await;
    let bystander = app.sign_up("対象外", None).await;
    let (_, me) = user.clone().api(Method::GET, "/api/v1/me", None).await;
    let account = me["account_id"].as_str().unwrap().to_owned();

    let (s, v) = op
        .api(
            Method::POST,
            "/api/v1/admin/password-reset",
            Some(json!({"scope": "account", "account": account})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (v["accounts"].as_u64(), v["sessions_ended"].as_u64()),
        (Some(1), Some(1))
    );
    let (s, _) = user.clone().api(Method::GET, "/api/v1/me", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "the session ended");
    // The right password alone is refused, and says why; a wrong one says no more
    // than it ever did.
    let (s, v) = app.log_in(&user.email, PW).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::FORBIDDEN, "password_reset_required"),
        "{v}"
    );
    let (s, v) = app.log_in(&user.email, "a wrong passphrase here").await;
    assert_eq!((s, code(&v)), (StatusCode::UNAUTHORIZED, "bad_credentials"));
    // Others are untouched.
    let (s, _) = bystander.clone().api(Method::GET, "/api/v1/me", None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app.log_in(&bystander.email, PW).await;
    assert_eq!(s, StatusCode::CREATED);
    // The page says so in Japanese.
    let mut b = app.client();
    let page = b.get("/login").await;
    let res = b
        .post_form(
            "/login",
            &page.csrf(),
            &[("email", &user.email), ("password", PW)],
        )
        .await;
    assert!(
        res.body.contains("パスワードの再設定が必要です"),
        "{}",
        res.body
    );

    // The owner resets it by e-mail and is back in; the new password works after.
    assert_eq!(ask_reset(&app, &user.email).await, StatusCode::ACCEPTED);
    let token = link_token(
        &wait_mail_to(&smtp, &user.email, "/reset?token=", 1).await,
        "/reset",
    );
    let (s, v) = complete(&app, &token, "a brand new passphrase", None).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, _) = app.log_in(&user.email, "a brand new passphrase").await;
    assert_eq!(s, StatusCode::CREATED);

    // Only the operator may ask.
    let mut not_operator = bystander.clone();
    let (s, _) = not_operator
        .api(
            Method::POST,
            "/api/v1/admin/password-reset",
            Some(json!({"scope": "all"})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // A club's members from the command line: the operator is never among them.
    let mut owner = app.sign_up("部長", None).await;
    let club = owner.create_club("再設定部").await;
    let (ok, out) = tekkan_on(
        &["contain", "require-password-reset", "--club", &club],
        &app.data_dir(),
    );
    assert!(ok, "{out}");
    assert!(out.contains("1 accounts must set a new password"), "{out}");
    let (s, v) = app.log_in(&owner.email, PW).await;
    assert_eq!(code(&v), "password_reset_required", "{s}");
    let (ok, out) = tekkan_on(
        &["contain", "require-password-reset", "--all"],
        &app.data_dir(),
    );
    assert!(ok, "{out}");
    let (s, _) = app.log_in(&op.email, PW).await;
    assert_eq!(s, StatusCode::CREATED, "the operator keeps signing in");
    assert_eq!(
        app.audit_count("containment.password_reset_required").await,
        3
    );
    assert!(app.audit_count("auth.password_reset_required").await >= 2);
}
