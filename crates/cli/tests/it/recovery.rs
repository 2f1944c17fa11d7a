//! Getting back in without a back door: password reset by e-mailed link (single use,
//! short-lived, stored hashed, voided by a password change, never around the second
//! factor), password and e-mail changes behind a recent re-check, and the security
//! notices they send by e-mail.

use std::time::Duration;
use tekkan_storage::sql as raw;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::mfa::{enrol_at, totp};
use crate::support::peers::SmtpServer;
use crate::support::{Client, TestApp, code};

const PW: &str = "a long enough passphrase";
const NEW_PW: &str = "a brand new passphrase";

/// The decoded bodies of every mail sent to `to` so far.
fn mails_to(smtp: &SmtpServer, to: &str) -> Vec<String> {
    smtp.mails
        .lock()
        .unwrap()
        .iter()
        .filter(|m| m.rcpt.iter().any(|r| r.contains(to)))
        .map(|m| {
            let msg = mail_parser::MessageParser::default()
                .parse(&m.data)
                .unwrap();
            format!(
                "{}\n{}",
                msg.subject().unwrap_or_default(),
                msg.body_text(0).unwrap_or_default()
            )
        })
        .collect()
}

/// Waits for the `n`th mail to `to` that contains `needle`, and returns it.
pub async fn wait_mail_to(smtp: &SmtpServer, to: &str, needle: &str, n: usize) -> String {
    for _ in 0..200 {
        let found: Vec<String> = mails_to(smtp, to)
            .into_iter()
            .filter(|m| m.contains(needle))
            .collect();
        if let Some(m) = found.get(n - 1) {
            return m.clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "no mail #{n} to {to} containing {needle}: {:?}",
        mails_to(smtp, to)
    );
}

/// The token of the first `path?token=` link in `mail`.
pub fn link_token(mail: &str, path: &str) -> String {
    let i = mail.find(&format!("{path}?token=")).expect("a link") + path.len() + 7;
    mail[i..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

pub async fn complete(
    app: &TestApp,
    token: &str,
    pw: &str,
    code: Option<&str>,
) -> (StatusCode, Value) {
    app.client()
        .api(
            Method::POST,
            "/api/v1/password-reset/complete",
            Some(json!({"token": token, "password": pw, "code": code})),
        )
        .await
}

pub async fn ask_reset(app: &TestApp, email: &str) -> StatusCode {
    app.client()
        .api(
            Method::POST,
            "/api/v1/password-reset",
            Some(json!({ "email": email })),
        )
        .await
        .0
}

pub async fn mail_app(smtp: &SmtpServer) -> TestApp {
    TestApp::builder()
        .mail_to(smtp.port)
        .configure(|c| c.scheduler.poll_ms = 100)
        .start()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_links_work_once_end_sessions_and_say_nothing_about_unknown_addresses() {
    let smtp = SmtpServer::start().await;
    let app = mail_app(&smtp).await;
    let mut user = app.sign_up("再設定", None).await;
    let other_device = app.log_in(&user.email, PW).await.1["token"]
        .as_str()
        .unwrap()
        .to_owned();

    // A known and an unknown address get the same answer; only the owner gets a mail.
    assert_eq!(ask_reset(&app, &user.email).await, StatusCode::ACCEPTED);
    assert_eq!(
        ask_reset(&app, "nobody-at-all@example.jp").await,
        StatusCode::ACCEPTED
    );
    let mail = wait_mail_to(&smtp, &user.email, "/reset?token=", 1).await;
    let first = link_token(&mail, "/reset");
    assert_eq!(first.len(), 43, "{mail}");
    assert!(mails_to(&smtp, "nobody-at-all").is_empty());
    let mut db = app.raw_db().await;
    let stored: Vec<String> = raw::scalar("SELECT token_hash FROM account_tokens")
        .fetch_all(&mut db)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0], first, "only a hash of the link is stored");

    // A second link; then the first is used, which voids the second.
    assert_eq!(ask_reset(&app, &user.email).await, StatusCode::ACCEPTED);
    let second = link_token(
        &wait_mail_to(&smtp, &user.email, "/reset?token=", 2).await,
        "/reset",
    );
    let (s, v) = complete(&app, &first, "short", None).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "a weak password: {v}");
    let (s, v) = complete(&app, &first, NEW_PW, None).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let mut fresh = app.client();
    fresh.bearer = Some(v["token"].as_str().unwrap().to_owned());
    assert_eq!(
        fresh.api(Method::GET, "/api/v1/me", None).await.0,
        StatusCode::OK
    );
    for old in [user.bearer.clone().unwrap(), other_device] {
        let mut c = app.client();
        c.bearer = Some(old);
        let (s, _) = c.api(Method::GET, "/api/v1/me", None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "every earlier session ended");
    }
    // The devices trusted before (the sign-up's and the login's) are forgotten: only
    // the one that followed the link is left.
    let devices: i64 = raw::scalar(
        "SELECT COUNT(*) FROM trusted_devices td JOIN accounts a ON a.id = td.account_id \
         WHERE a.email = $1",
    )
    .bind(&user.email)
    .fetch_one(&mut db)
    .await
    .unwrap();
    assert_eq!(devices, 1);
    for t in [&first, &second] {
        let (s, v) = complete(&app, t, "yet another passphrase", None).await;
        assert_eq!((s, code(&v)), (StatusCode::GONE, "reset_link"));
    }
    assert_eq!(
        app.log_in(&user.email, PW).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.log_in(&user.email, NEW_PW).await.0, StatusCode::CREATED);
    // The owner is told by e-mail (an always-on security notice).
    let notice = wait_mail_to(&smtp, &user.email, "再設定されました", 1).await;
    assert!(!notice.contains("token="), "{notice}");
    user.bearer = fresh.bearer.clone();

    // A link sent before a password change is refused after it.
    assert_eq!(ask_reset(&app, &user.email).await, StatusCode::ACCEPTED);
    let before_change = link_token(
        &wait_mail_to(&smtp, &user.email, "/reset?token=", 3).await,
        "/reset",
    );
    let (s, v) = user
        .api(
            Method::PUT,
            "/api/v1/me/password",
            Some(json!({"current_password": NEW_PW, "password": "the third passphrase"})),
        )
        .await;
    // The login above left one other session open, offered to end.
    assert_eq!(
        (s, v["other_sessions"].as_u64()),
        (StatusCode::OK, Some(1)),
        "{v}"
    );
    let (s, v) = complete(&app, &before_change, "a fourth passphrase!", None).await;
    assert_eq!((s, code(&v)), (StatusCode::GONE, "reset_link"));

    // An expired link is refused. (The three links so far are moved an hour back, as
    // an account is sent at most three an hour.)
    raw::q("UPDATE account_tokens SET created_at = 0")
        .execute(&mut db)
        .await
        .unwrap();
    assert_eq!(ask_reset(&app, &user.email).await, StatusCode::ACCEPTED);
    let late = link_token(
        &wait_mail_to(&smtp, &user.email, "/reset?token=", 4).await,
        "/reset",
    );
    raw::q("UPDATE account_tokens SET expires_at = 1")
        .execute(&mut db)
        .await
        .unwrap();
    let (s, v) = complete(&app, &late, "a fourth passphrase!", None).await;
    assert_eq!((s, code(&v)), (StatusCode::GONE, "reset_link"));

    // At most three links per account per hour: the fourth request still answers 202
    // but mails nothing.
    raw::q("UPDATE account_tokens SET created_at = 0")
        .execute(&mut db)
        .await
        .unwrap();
    for _ in 0..4 {
        assert_eq!(ask_reset(&app, &user.email).await, StatusCode::ACCEPTED);
    }
    wait_mail_to(&smtp, &user.email, "/reset?token=", 7).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let links = mails_to(&smtp, &user.email)
        .iter()
        .filter(|m| m.contains("/reset?token="))
        .count();
    assert_eq!(links, 7, "the fourth request in an hour sends nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_needs_the_second_factor_and_lifts_a_lockout() {
    let smtp = SmtpServer::start().await;
    let app = TestApp::builder()
        .mail_to(smtp.port)
        .configure(|c| {
            c.limits.login_free_failures = 20;
            c.limits.login_lock_after = 4;
        })
        .start()
        .await;
    let mut user = app.sign_up("二段階", None).await;
    let (secret, recovery, enrolled_at) = enrol_at(&mut user).await;
    // Locked by wrong passwords.
    for _ in 0..4 {
        app.log_in(&user.email, "wrong password!!").await;
    }
    let (s, v) = app.log_in(&user.email, PW).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::TOO_MANY_REQUESTS, "login_locked")
    );

    assert_eq!(ask_reset(&app, &user.email).await, StatusCode::ACCEPTED);
    let token = link_token(
        &wait_mail_to(&smtp, &user.email, "/reset?token=", 1).await,
        "/reset",
    );
    // The form asks for a code.
    let page = app.client().get(&format!("/reset?token={token}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("name=\"code\""), "{}", page.body);

    // The link lifts the lockout from before it was sent. The mailbox alone is still
    // not enough: no code, wrong codes, a code already used.
    // The code that confirmed the enrolment: refused as a replay while its step is
    // in the window, and as stale after (the current step's code would be fresh).
    let used = totp(&secret, enrolled_at);
    for c in [None, Some("000000"), Some(used.as_str()), Some("111111")] {
        let (s, v) = complete(&app, &token, NEW_PW, c).await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::UNAUTHORIZED, "bad_code"),
            "{c:?}"
        );
    }
    // Guessing codes with the link locks the account again, and the link does not
    // lift a lock made after it was sent: only the new unlock mail does.
    let (s, v) = complete(&app, &token, NEW_PW, Some(&recovery[0])).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::TOO_MANY_REQUESTS, "login_locked")
    );
    let unlock = link_token(
        &wait_mail_to(&smtp, &user.email, "/unlock?token=", 2).await,
        "/unlock",
    );
    let (s, _) = app
        .client()
        .api(
            Method::POST,
            "/api/v1/unlock",
            Some(json!({ "token": unlock })),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    // A recovery code works; the link is then used up, and the old password gone.
    let (s, v) = complete(&app, &token, NEW_PW, Some(&recovery[0])).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = complete(&app, &token, NEW_PW, Some(&recovery[1])).await;
    assert_eq!((s, code(&v)), (StatusCode::GONE, "reset_link"));
    let (s, v) = app.log_in(&user.email, NEW_PW).await;
    assert_eq!(
        s,
        StatusCode::ACCEPTED,
        "the second step is still asked: {v}"
    );
    assert_eq!(
        app.log_in(&user.email, PW).await.0,
        StatusCode::UNAUTHORIZED
    );

    let mut db = app.raw_db().await;
    let actions: Vec<String> = raw::scalar(
        "SELECT action FROM audit_log WHERE action LIKE 'auth.reset%' OR action = 'auth.password_reset' ORDER BY seq",
    )
    .fetch_all(&mut db)
    .await
    .unwrap();
    assert_eq!(
        actions,
        [
            "auth.reset_requested",
            "auth.reset_code_failed",
            "auth.reset_code_failed",
            "auth.reset_code_failed",
            "auth.reset_code_failed",
            "auth.password_reset"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_and_email_changes_need_a_recent_check_and_tell_the_owner() {
    let smtp = SmtpServer::start().await;
    let app = mail_app(&smtp).await;
    let mut user = app.sign_up("変更", None).await;
    let old_email = user.email.clone();
    let mut db = app.raw_db().await;
    // A session whose last proof of identity is old.
    raw::q("UPDATE sessions SET reauth_at = 0")
        .execute(&mut db)
        .await
        .unwrap();
    let new_email = format!("moved-{}", old_email);
    for (m, p, b) in [
        (
            Method::PUT,
            "/api/v1/me/password",
            json!({"current_password": PW, "password": NEW_PW}),
        ),
        (Method::PUT, "/api/v1/me/email", json!({"email": new_email})),
    ] {
        let (s, v) = user.api(m, p, Some(b)).await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::FORBIDDEN, "reauth_required"),
            "{p}"
        );
    }
    let (s, _) = user
        .api(
            Method::POST,
            "/api/v1/me/reauth",
            Some(json!({"password": PW})),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    // The current password is needed too, and a wrong one counts as a failed login.
    let (s, v) = user
        .api(
            Method::PUT,
            "/api/v1/me/password",
            Some(json!({"current_password": "not my password!", "password": NEW_PW})),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::UNAUTHORIZED, "bad_credentials"));
    let (s, v) = user
        .api(
            Method::PUT,
            "/api/v1/me/password",
            Some(json!({"current_password": PW, "password": NEW_PW})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    wait_mail_to(&smtp, &old_email, "パスワードが変更されました", 1).await;

    // E-mail: taken and unchanged addresses are refused; a new one needs its link.
    let taken = app.sign_up("先客", None).await.email;
    for (e, c) in [(&taken, "email_taken"), (&old_email, "same_email")] {
        let (s, v) = user
            .api(Method::PUT, "/api/v1/me/email", Some(json!({"email": e})))
            .await;
        assert_eq!((s, code(&v)), (StatusCode::CONFLICT, c));
    }
    let (s, v) = user
        .api(
            Method::PUT,
            "/api/v1/me/email",
            Some(json!({"email": new_email})),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let mail = wait_mail_to(&smtp, &new_email, "/email/confirm?token=", 1).await;
    let token = link_token(&mail, "/email/confirm");
    assert_eq!(
        app.log_in(&new_email, NEW_PW).await.0,
        StatusCode::UNAUTHORIZED
    );
    // The link opens a confirm button (mail scanners do not use it up).
    let page = app
        .client()
        .get(&format!("/email/confirm?token={token}"))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let confirm = |t: String| {
        let app = &app;
        async move {
            app.client()
                .api(
                    Method::POST,
                    "/api/v1/email-change/confirm",
                    Some(json!({ "token": t })),
                )
                .await
        }
    };
    assert_eq!(confirm(token.clone()).await.0, StatusCode::NO_CONTENT);
    let (s, v) = confirm(token).await;
    assert_eq!((s, code(&v)), (StatusCode::GONE, "email_link"));
    assert_eq!(app.log_in(&new_email, NEW_PW).await.0, StatusCode::CREATED);
    assert_eq!(
        app.log_in(&old_email, NEW_PW).await.0,
        StatusCode::UNAUTHORIZED
    );
    // The old address is told, in Japanese by default.
    wait_mail_to(&smtp, &old_email, "メールアドレスが変更されました", 1).await;
    let (_, n) = user
        .api(Method::GET, "/api/v1/me/notifications", None)
        .await;
    let whats: Vec<&str> = n["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["kind"] == "security")
        .filter_map(|x| x["params"]["what"].as_str())
        .collect();
    // The two changes; and the sign-in above from a fresh client is a new device.
    let mut whats = whats;
    whats.sort();
    assert_eq!(
        whats,
        ["email_changed", "new_device", "password_changed"],
        "{n}"
    );
}

/// A page flow: the reset request and the new-password form, through forms.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reset_pages_lead_from_the_login_page_to_a_new_session() {
    let smtp = SmtpServer::start().await;
    let app = mail_app(&smtp).await;
    let user = app.sign_up("画面", None).await;
    let mut b: Client = app.client();
    let login_page = b.get("/login").await;
    assert!(login_page.body.contains("href=\"/password-reset\""));
    let form = b.get("/password-reset").await;
    let csrf = form.csrf();
    for email in [user.email.as_str(), "not-registered@example.jp"] {
        let page = b
            .post_form("/password-reset", &csrf, &[("email", email)])
            .await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(
            page.body.contains("id=\"reset-sent\""),
            "same page for both"
        );
    }
    let token = link_token(
        &wait_mail_to(&smtp, &user.email, "/reset?token=", 1).await,
        "/reset",
    );
    let page = b.get(&format!("/reset?token={token}")).await;
    assert!(
        !page.body.contains("name=\"code\""),
        "no second factor here"
    );
    let csrf = page.csrf();
    let weak = b
        .post_form("/reset", &csrf, &[("token", &token), ("password", "short")])
        .await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(weak.body.contains("role=\"alert\""));
    let done = b
        .post_form("/reset", &csrf, &[("token", &token), ("password", NEW_PW)])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let sec = b.get("/settings/security?msg=password_reset").await;
    assert_eq!(sec.status, StatusCode::OK);
    assert!(sec.body.contains("id=\"change-password\""));
    // The session changed, and with it the CSRF token.
    let csrf = b.get("/password-reset").await.csrf();
    let again = b
        .post_form("/reset", &csrf, &[("token", &token), ("password", NEW_PW)])
        .await;
    assert_eq!(again.status, StatusCode::GONE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_waits_for_the_address_and_never_tells_whether_it_is_taken() {
    let smtp = SmtpServer::start().await;
    let app = TestApp::builder()
        .mail_to(smtp.port)
        .configure(|c| c.accounts.confirm_signup = true)
        .start()
        .await;
    let sign_up = |email: &str, name: &str, invitation: Option<&str>| {
        let body = json!({"email": email, "display_name": name, "password": PW,
            "invitation": invitation});
        let app = &app;
        async move {
            app.client()
                .api(Method::POST, "/api/v1/accounts", Some(body))
                .await
        }
    };
    let confirm = |token: String| {
        let app = &app;
        async move {
            app.client()
                .api(
                    Method::POST,
                    "/api/v1/accounts/confirm",
                    Some(json!({ "token": token })),
                )
                .await
        }
    };
    let email = "new-member@example.jp";
    let (s, first) = sign_up(email, "新入生", None).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{first}");
    let mut db = app.raw_db().await;
    let accounts: i64 = raw::scalar("SELECT COUNT(*) FROM accounts")
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(accounts, 0, "nothing until the address is confirmed");
    let token = link_token(
        &wait_mail_to(&smtp, email, "/signup/confirm?token=", 1).await,
        "/signup/confirm",
    );
    let (s, v) = confirm(token.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let mut owner = app.client();
    owner.bearer = Some(v["token"].as_str().unwrap().to_owned());
    let (s, v) = confirm(token).await;
    assert_eq!((s, code(&v)), (StatusCode::GONE, "signup_link"));

    // The same address again: the same answer, and its owner gets a note, not a link.
    let (s, again) = sign_up(email, "なりすまし", None).await;
    assert_eq!((s, &again), (StatusCode::ACCEPTED, &first));
    let note = wait_mail_to(&smtp, email, "すでにアカウントがあります", 1).await;
    assert!(!note.contains("token="), "{note}");
    assert!(note.contains("/password-reset"));
    let (s, _) = app.log_in(email, PW).await;
    assert_eq!(s, StatusCode::CREATED, "the account is untouched");

    // Through an invitation: the confirmed account joins the club.
    let club = owner.create_club("写真部").await;
    let (_, inv) = owner
        .api(
            Method::POST,
            &format!("/api/v1/clubs/{club}/invitations"),
            Some(json!({"role": "member"})),
        )
        .await;
    let invited = "invited@example.jp";
    let (s, _) = sign_up(invited, "招待", inv["token"].as_str()).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let token = link_token(
        &wait_mail_to(&smtp, invited, "/signup/confirm?token=", 1).await,
        "/signup/confirm",
    );
    // The link opens a page with a button (mail scanners do not use it up).
    let page = app
        .client()
        .get(&format!("/signup/confirm?token={token}"))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let (s, v) = confirm(token).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["joined"]["club_id"], club.as_str());

    // An expired link is refused; the page form says to check the mail.
    let (s, _) = sign_up("late@example.jp", "遅刻", None).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let late = link_token(
        &wait_mail_to(&smtp, "late@example.jp", "/signup/confirm?token=", 1).await,
        "/signup/confirm",
    );
    raw::q("UPDATE pending_signups SET expires_at = 1")
        .execute(&mut db)
        .await
        .unwrap();
    let (s, v) = confirm(late).await;
    assert_eq!((s, code(&v)), (StatusCode::GONE, "signup_link"));
    let mut b = app.client();
    let csrf = b.get("/signup").await.csrf();
    let page = b
        .post_form(
            "/signup",
            &csrf,
            &[("email", email), ("display_name", "画面"), ("password", PW)],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("id=\"signup-sent\""));
}
