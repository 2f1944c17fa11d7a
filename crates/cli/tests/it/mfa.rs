//! Two-step verification: mandatory for privileged roles, TOTP enrolment and login with
//! codes computed independently (RFC 6238 in a few lines here), single use of codes and
//! recovery codes, re-authentication before changes, sealed secrets, tampering and a
//! wrong master key.

use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha1::Sha1;
use tekkan_storage::sql as raw;

use crate::support::fixture::join;
use crate::support::{Client, TestApp, code};

const PW: &str = "a long enough passphrase";

fn base32_decode(s: &str) -> Vec<u8> {
    let (mut buf, mut bits, mut out) = (0u64, 0, Vec::new());
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'2'..=b'7' => c - b'2' + 26,
            _ => panic!("not base32"),
        };
        buf = (buf << 5) | u64::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
        }
    }
    out
}

/// The TOTP code for `secret` at 30-second step `step`.
pub fn totp(secret: &[u8], step: u64) -> String {
    let mut m = Hmac::<Sha1>::new_from_slice(secret).unwrap();
    m.update(&step.to_be_bytes());
    let h = m.finalize().into_bytes();
    let o = (h[19] & 15) as usize;
    let n = u32::from_be_bytes([h[o] & 0x7f, h[o + 1], h[o + 2], h[o + 3]]) % 1_000_000;
    format!("{n:06}")
}

pub fn now_step() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        / 30
}

/// Enrols TOTP for `c`; returns the secret and the recovery codes.
pub async fn enrol(c: &mut Client) -> (Vec<u8>, Vec<String>) {
    let (secret, codes, _) = enrol_at(c).await;
    (secret, codes)
}

/// Like [`enrol`], and also returns the step whose code confirmed the enrolment, so
/// a test can replay exactly that code even after the clock has moved on.
pub async fn enrol_at(c: &mut Client) -> (Vec<u8>, Vec<String>, u64) {
    let (s, v) = c.api(Method::POST, "/api/v1/me/mfa/totp", None).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let secret = base32_decode(v["secret"].as_str().unwrap());
    assert_eq!(secret.len(), 20);
    assert!(
        v["uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/TEKKAN:")
    );
    assert!(v["qr_svg"].as_str().unwrap().contains("<svg"));
    let (s, v) = c
        .api(
            Method::POST,
            "/api/v1/me/mfa/totp/confirm",
            Some(json!({"code": "000000"})),
        )
        .await;
    if s == StatusCode::OK {
        panic!("a guessed code was accepted: {v}");
    }
    assert_eq!((s, code(&v)), (StatusCode::UNAUTHORIZED, "bad_code"));
    let step = now_step();
    let (s, v) = c
        .api(
            Method::POST,
            "/api/v1/me/mfa/totp/confirm",
            Some(json!({"code": totp(&secret, step)})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let codes: Vec<String> = serde_json::from_value(v["recovery_codes"].clone()).unwrap();
    assert_eq!(codes.len(), 10);
    (secret, codes, step)
}

async fn second(app: &TestApp, token: &str, code_: &str) -> (StatusCode, Value) {
    app.client()
        .api(
            Method::POST,
            "/api/v1/session/second-step",
            Some(json!({"token": token, "code": code_})),
        )
        .await
}

#[tokio::test]
async fn privileged_roles_must_enrol_and_codes_work_once() {
    let app = TestApp::builder()
        .configure(|c| {
            c.accounts.enforce_mfa = true;
            // Wrong codes count against the account like wrong passwords (tested in
            // `throttle`); lifted here to reach the per-step cap of five.
            c.limits.login_free_failures = 1000;
            c.limits.login_lock_after = 1000;
        })
        .start()
        .await;
    let mut owner = app.sign_up("部長", None).await;
    // A plain account needs nothing; creating a club makes it an owner.
    let (_, me) = owner.api(Method::GET, "/api/v1/me", None).await;
    assert_eq!(me["mfa_setup_required"], false);
    let club = owner.create_club("剣道部").await;
    let (_, me) = owner.api(Method::GET, "/api/v1/me", None).await;
    assert_eq!(me["mfa_setup_required"], true);
    let (s, v) = owner
        .api(Method::GET, &format!("/api/v1/clubs/{club}"), None)
        .await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "mfa_setup_required"));
    let page = owner.as_browser().get(&format!("/clubs/{club}")).await;
    assert_eq!(page.location.as_deref(), Some("/settings/security"));
    let page = owner.as_browser().get("/settings/security").await;
    assert!(page.body.contains("id=\"mfa-required\""), "{}", page.body);

    let (secret, codes, enrolled_at) = enrol_at(&mut owner).await;
    let (s, _) = owner
        .api(Method::GET, &format!("/api/v1/clubs/{club}"), None)
        .await;
    assert_eq!(s, StatusCode::OK, "enrolled: the club opens");
    // An owner cannot turn it off.
    let (s, v) = owner.api(Method::DELETE, "/api/v1/me/mfa/totp", None).await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "mfa_required"));

    // A plain member needs none, until the club requires it of everyone.
    let (mut member, _) = join(&app, &mut owner, &club, "member", false).await;
    let club_path = format!("/api/v1/clubs/{club}");
    assert_eq!(
        member.api(Method::GET, &club_path, None).await.0,
        StatusCode::OK
    );
    let rule = format!("/api/v1/clubs/{club}/require-mfa");
    let (s, _) = member
        .api(Method::PUT, &rule, Some(json!({"required": true})))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "members cannot set it");
    let (s, _) = owner
        .api(Method::PUT, &rule, Some(json!({"required": true})))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = member.api(Method::GET, &club_path, None).await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "mfa_setup_required"));
    enrol(&mut member).await;
    assert_eq!(
        member.api(Method::GET, &club_path, None).await.0,
        StatusCode::OK
    );

    // The secret is sealed: neither its bytes nor its base32 are in the database files.
    let raw = app.stored_bytes().await;
    // What is stored in the clear is found (these are the right files).
    assert!(
        raw.windows(owner.email.len())
            .any(|w| w == owner.email.as_bytes())
    );
    let b32 = tekkan_app::totp::base32(&secret);
    assert!(!raw.windows(secret.len()).any(|w| w == secret.as_slice()));
    assert!(!raw.windows(b32.len()).any(|w| w == b32.as_bytes()));

    // Login: the password leads to a second step.
    let (s, v) = app.log_in(&owner.email, PW).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    assert!(
        v.get("token").is_none(),
        "no session before the second step"
    );
    let token = v["second_step"].as_str().unwrap().to_owned();
    // The code used at enrolment cannot be used again (whatever the clock says now).
    let (s, v) = second(&app, &token, &totp(&secret, enrolled_at)).await;
    assert_eq!((s, code(&v)), (StatusCode::UNAUTHORIZED, "bad_code"));
    // The next step's code is accepted (one step of drift), once.
    let next = totp(&secret, now_step() + 1);
    let (s, v) = second(&app, &token, &next).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert!(v["token"].as_str().is_some());
    let (s, v) = second(&app, &token, &next).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::GONE, "second_step"),
        "a used token"
    );
    let (_, v) = app.log_in(&owner.email, PW).await;
    let token = v["second_step"].as_str().unwrap().to_owned();
    let (s, _) = second(&app, &token, &next).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "a replayed code");
    // Two steps behind is outside the drift allowed.
    let (s, _) = second(&app, &token, &totp(&secret, now_step() - 2)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // A recovery code works once, however it is typed.
    let typed = codes[0].to_lowercase().replace('-', " ");
    let (s, _) = second(&app, &token, &typed).await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, v) = app.log_in(&owner.email, PW).await;
    let token = v["second_step"].as_str().unwrap().to_owned();
    let (s, _) = second(&app, &token, &codes[0]).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "a used recovery code");
    // Five tries per second step, then the login starts again.
    for _ in 0..4 {
        second(&app, &token, "999999").await;
    }
    let (s, v) = second(&app, &token, &codes[1]).await;
    assert_eq!((s, code(&v)), (StatusCode::GONE, "second_step"));
    let (_, v) = owner.api(Method::GET, "/api/v1/me/mfa", None).await;
    assert_eq!(v["recovery_codes_left"], 9);

    // The same through the pages: password, then the code page, then a session cookie.
    let mut b = app.client();
    let csrf = b.csrf().await;
    let p = b
        .post_form(
            "/login",
            &csrf,
            &[
                ("email", &owner.email),
                ("password", PW),
                ("next", "/clubs"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.body.contains("action=\"/login/code\""));
    let i = p.body.find("name=\"token\" value=\"").unwrap() + 20;
    let token = p.body[i..i + 43].to_owned();
    let p = b
        .post_form(
            "/login/code",
            &csrf,
            &[("token", &token), ("code", &codes[2]), ("next", "/clubs")],
        )
        .await;
    assert_eq!(p.location.as_deref(), Some("/clubs"), "{}", p.body);
    assert_eq!(b.get("/clubs").await.status, StatusCode::OK);

    // Every step is audited.
    let mut db = app.raw_db().await;
    let actions: Vec<String> =
        raw::scalar("SELECT action FROM audit_log WHERE action LIKE 'mfa.%' OR action LIKE 'auth.second%' ORDER BY seq")
            .fetch_all(&mut db)
            .await
            .unwrap();
    for a in [
        "mfa.totp_started",
        "mfa.totp_added",
        "auth.second_step",
        "auth.second_step_failed",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
}

#[tokio::test]
async fn changes_need_a_recent_proof_of_identity() {
    let app = TestApp::start().await;
    let mut user = app.sign_up("会員", None).await;
    let (secret, _) = enrol(&mut user).await;
    // Age the session's last proof of identity past the ten-minute window.
    let mut db = app.raw_db().await;
    raw::q("UPDATE sessions SET reauth_at = 0")
        .execute(&mut db)
        .await
        .unwrap();
    let (s, v) = user
        .api(Method::POST, "/api/v1/me/mfa/recovery-codes", None)
        .await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "reauth_required"));
    let (s, v) = user.api(Method::DELETE, "/api/v1/me/mfa/totp", None).await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "reauth_required"));
    // The password alone is not enough when the account has a second factor.
    let (s, v) = user
        .api(
            Method::POST,
            "/api/v1/me/reauth",
            Some(json!({"password": PW})),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::UNAUTHORIZED, "bad_code"));
    let (s, v) = user
        .api(
            Method::POST,
            "/api/v1/me/reauth",
            Some(json!({"password": "not my password", "code": totp(&secret, now_step() + 1)})),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::UNAUTHORIZED, "bad_credentials"));
    let (s, _) = user
        .api(
            Method::POST,
            "/api/v1/me/reauth",
            Some(json!({"password": PW, "code": totp(&secret, now_step() + 1)})),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = user
        .api(Method::POST, "/api/v1/me/mfa/recovery-codes", None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["recovery_codes"].as_array().unwrap().len(), 10);
    // A member may turn it off again (after re-authenticating).
    let (s, _) = user.api(Method::DELETE, "/api/v1/me/mfa/totp", None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = app.log_in(&user.email, PW).await;
    assert_eq!(s, StatusCode::CREATED, "no second step any more");
}

#[tokio::test]
async fn a_tampered_secret_is_refused_and_a_wrong_master_key_stops_the_start() {
    let app = TestApp::start().await;
    let mut user = app.sign_up("改ざん", None).await;
    let (secret, _) = enrol(&mut user).await;
    let mut db = app.raw_db().await;
    let sealed: String = raw::scalar("SELECT sealed_secret FROM mfa_totp")
        .fetch_one(&mut db)
        .await
        .unwrap();
    // Flip one bit of the ciphertext.
    let mut bytes = sealed.into_bytes();
    let i = bytes.len() / 2;
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    raw::q("UPDATE mfa_totp SET sealed_secret = $1")
        .bind(String::from_utf8(bytes).unwrap())
        .execute(&mut db)
        .await
        .unwrap();
    let (_, v) = app.log_in(&user.email, PW).await;
    let token = v["second_step"].as_str().unwrap().to_owned();
    let (s, v) = second(&app, &token, &totp(&secret, now_step() + 1)).await;
    assert_eq!(
        s,
        StatusCode::INTERNAL_SERVER_ERROR,
        "refused, never decrypted: {v}"
    );
    assert!(v.get("token").is_none());
    assert!(v["error"]["request_id"].as_str().is_some());
    drop(db);

    // A wrong master key: a clear error at start, and nothing in the data touched.
    let dir = app.stop().await;
    let before = crate::support::fingerprint(dir.path()).await;
    let mut cfg = tekkan_cli::config::Config {
        data_dir: dir.path().to_path_buf(),
        database: crate::support::pg::database_config(dir.path()),
        ..Default::default()
    };
    cfg.server.listen = "127.0.0.1:0".parse().unwrap();
    cfg.keys.master_key = Some(serde_json::from_value(json!("11".repeat(32))).unwrap());
    let err = tekkan_cli::start(&cfg, &Default::default(), std::future::pending())
        .await
        .err()
        .expect("refused");
    let msg = err.to_string();
    assert!(msg.contains("master key"), "{msg}");
    assert_eq!(
        crate::support::fingerprint(dir.path()).await,
        before,
        "the database is untouched"
    );
    // The right key (from the secrets directory) still opens it.
    let app = TestApp::builder().data_dir(dir).start().await;
    let (s, _) = app.log_in(&user.email, PW).await;
    assert_eq!(s, StatusCode::ACCEPTED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_are_invited_to_add_a_factor_and_officers_can_require_it_from_the_page() {
    let app = TestApp::builder()
        .configure(|c| c.accounts.enforce_mfa = true)
        .start()
        .await;
    let mut owner = app.sign_up("顧問", None).await;
    enrol(&mut owner).await;
    let club = owner.create_club("剣道部").await;
    let (member, _) = join(&app, &mut owner, &club, "member", false).await;
    let mut mb = member.as_browser();
    let page = mb.get("/clubs").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("id=\"mfa-invite\""),
        "members are invited"
    );
    assert!(page.body.contains(">あとで</button>"), "{}", page.body);
    // On the home pages only, not on every page; 「あとで」 puts it off on this device.
    let other = mb.get(&format!("/clubs/{club}/events")).await;
    assert!(
        !other.body.contains("id=\"mfa-invite\""),
        "not on every page"
    );
    let later = mb
        .post_form(
            "/settings/security/later",
            &page.csrf(),
            &[("back", "/clubs")],
        )
        .await;
    assert_eq!(later.status, StatusCode::SEE_OTHER);
    assert_eq!(later.location.as_deref(), Some("/clubs"));
    let page = mb.get("/clubs").await;
    assert!(!page.body.contains("id=\"mfa-invite\""), "put off");
    assert!(
        mb.get("/settings/security").await.status == StatusCode::OK,
        "the security page still offers it"
    );
    let mut ob = owner.as_browser();
    let settings = ob.get(&format!("/clubs/{club}/settings")).await;
    assert!(
        !settings.body.contains("id=\"mfa-invite\""),
        "not once enrolled"
    );
    assert!(settings.body.contains("id=\"club-mfa\""));
    assert!(!settings.body.contains(" checked>"));
    let csrf = settings.csrf();
    let done = ob
        .post_form(
            &format!("/clubs/{club}/settings/mfa"),
            &csrf,
            &[("required", "on")],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let settings = ob.get(&format!("/clubs/{club}/settings")).await;
    assert!(settings.body.contains(" checked>"));
    // Now the member must enrol before anything else.
    let page = mb.get("/clubs").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location.as_deref(), Some("/settings/security"));
}
