//! Notifications leave the server: e-mail to a real SMTP server started here, and Web
//! Push to an endpoint here that decrypts RFC 8291 with the subscription's own keys and
//! checks the VAPID signature (RFC 8292). Preferences per kind and channel are obeyed.

use std::time::Duration;
use tekkan_storage::sql as raw;

use aes_gcm::aead::{Aead, KeyInit};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use p256::ecdsa::signature::Verifier;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::fixture::join;
use crate::support::peers::{PushRequest, PushService, SmtpServer};
use crate::support::{TestApp, code};

/// A browser's side of a subscription.
pub(crate) struct Browser {
    secret: p256::SecretKey,
    pub(crate) auth: [u8; 16],
}

impl Browser {
    pub(crate) fn new() -> Browser {
        use rand_core::RngCore;
        let mut auth = [0u8; 16];
        rand_core::OsRng.fill_bytes(&mut auth);
        Browser {
            secret: p256::SecretKey::random(&mut rand_core::OsRng),
            auth,
        }
    }

    pub(crate) fn public(&self) -> Vec<u8> {
        self.secret
            .public_key()
            .to_encoded_point(false)
            .as_bytes()
            .to_vec()
    }

    /// RFC 8291 §3.4 and RFC 8188, from the receiving side.
    pub(crate) fn decrypt(&self, body: &[u8]) -> Vec<u8> {
        let salt = &body[..16];
        let rs = u32::from_be_bytes(body[16..20].try_into().unwrap());
        assert_eq!(rs, 4096);
        let idlen = body[20] as usize;
        let as_public = p256::PublicKey::from_sec1_bytes(&body[21..21 + idlen]).unwrap();
        let ciphertext = &body[21 + idlen..];
        let shared =
            p256::ecdh::diffie_hellman(self.secret.to_nonzero_scalar(), as_public.as_affine());
        let mut info = b"WebPush: info\0".to_vec();
        info.extend_from_slice(&self.public());
        info.extend_from_slice(&body[21..21 + idlen]);
        let mut ikm = [0u8; 32];
        hkdf::Hkdf::<sha2::Sha256>::new(Some(&self.auth), shared.raw_secret_bytes())
            .expand(&info, &mut ikm)
            .unwrap();
        let hk = hkdf::Hkdf::<sha2::Sha256>::new(Some(salt), &ikm);
        let (mut cek, mut nonce) = ([0u8; 16], [0u8; 12]);
        hk.expand(b"Content-Encoding: aes128gcm\0", &mut cek)
            .unwrap();
        hk.expand(b"Content-Encoding: nonce\0", &mut nonce).unwrap();
        let plain = aes_gcm::Aes128Gcm::new(&cek.into())
            .decrypt(aes_gcm::Nonce::from_slice(&nonce), ciphertext)
            .expect("the payload decrypts with the subscription's keys");
        assert_eq!(plain.last(), Some(&2), "last-record delimiter");
        plain[..plain.len() - 1].to_vec()
    }
}

/// Checks `Authorization: vapid t=…, k=…` against the server's published key.
fn check_vapid(r: &PushRequest, server_key: &str, audience: &str) {
    let h = r.header("authorization").unwrap();
    let rest = h.strip_prefix("vapid t=").unwrap();
    let (jwt, k) = rest.split_once(", k=").unwrap();
    assert_eq!(k, server_key);
    let (input, sig) = jwt.rsplit_once('.').unwrap();
    let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(&B64.decode(k).unwrap()).unwrap();
    let sig = p256::ecdsa::Signature::from_slice(&B64.decode(sig).unwrap()).unwrap();
    vk.verify(input.as_bytes(), &sig).expect("VAPID signature");
    let claims: Value =
        serde_json::from_slice(&B64.decode(input.split('.').nth(1).unwrap()).unwrap()).unwrap();
    assert_eq!(claims["aud"], audience);
    let exp = claims["exp"].as_i64().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!(exp > now && exp <= now + 24 * 3600, "exp within 24 hours");
    assert!(claims["sub"].as_str().unwrap().starts_with("mailto:"));
}

async fn wait_for(mut done: impl FnMut() -> bool) {
    for _ in 0..100 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A server delivering to a local SMTP server and push service, polling its outbox often.
async fn delivering_app() -> (SmtpServer, PushService, TestApp) {
    tekkan_cli::install_crypto_provider();
    let smtp = SmtpServer::start().await;
    let push = PushService::start().await;
    let port = smtp.port;
    let app = TestApp::builder()
        .mail_to(port)
        .configure(move |c| {
            c.scheduler.poll_ms = 100;
            c.push.allow_insecure_endpoints = true;
            c.push.subject = "mailto:ops@tekkan.test".into();
        })
        .start()
        .await;
    (smtp, push, app)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn announcements_arrive_by_email_and_push_as_each_person_chose() {
    let (smtp, push, app) = delivering_app().await;
    let mut owner = app.sign_up("顧問", None).await;
    let club = owner.create_club("吹奏楽部").await;
    let (mut member, _) = join(&app, &mut owner, &club, "member", false).await;

    let (_, k) = member
        .api(Method::GET, "/api/v1/push/vapid-public-key", None)
        .await;
    let server_key = k["public_key"].as_str().unwrap().to_owned();
    let browser = Browser::new();
    let sub = json!({"endpoint": format!("{}/push/member-1", push.base),
        "keys": {"p256dh": B64.encode(browser.public()), "auth": B64.encode(browser.auth)}});
    let (s, v) = member
        .api(Method::POST, "/api/v1/me/push-subscriptions", Some(sub))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    // A second browser whose subscription has expired at the push service.
    let gone = Browser::new();
    let sub = json!({"endpoint": format!("{}/gone/old-phone", push.base),
        "keys": {"p256dh": B64.encode(gone.public()), "auth": B64.encode(gone.auth)}});
    assert_eq!(
        member
            .api(Method::POST, "/api/v1/me/push-subscriptions", Some(sub))
            .await
            .0,
        StatusCode::CREATED
    );

    let (s, _) = owner
        .api(
            Method::POST,
            &format!("/api/v1/clubs/{club}/announcements"),
            Some(json!({"title": "合宿の持ち物", "body": "水筒と楽譜"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    wait_for(|| !smtp.mails.lock().unwrap().is_empty() && push.requests.lock().unwrap().len() >= 2)
        .await;

    // The e-mail, read with an independent MIME parser.
    let mails = smtp.mails.lock().unwrap().clone();
    assert_eq!(
        mails.len(),
        1,
        "one member, one e-mail (the poster is not told)"
    );
    assert_eq!(mails[0].rcpt, vec![member.email.clone()]);
    let msg = mail_parser::MessageParser::default()
        .parse(&mails[0].data)
        .unwrap();
    assert!(
        msg.subject().unwrap().contains("合宿の持ち物"),
        "{:?}",
        msg.subject()
    );
    let body = msg.body_text(0).unwrap();
    assert!(
        body.contains("吹奏楽部") && body.contains("/announcements/"),
        "{body}"
    );
    assert!(body.contains(&app.base), "links use the public URL");

    // The push, decrypted with the browser's keys; VAPID checked with the server's key.
    let reqs = push.requests.lock().unwrap().clone();
    let r = reqs.iter().find(|r| r.path == "/push/member-1").unwrap();
    assert_eq!(r.header("content-encoding"), Some("aes128gcm"));
    assert!(r.header("ttl").is_some());
    check_vapid(r, &server_key, &push.base);
    let payload: Value = serde_json::from_slice(&browser.decrypt(&r.body)).unwrap();
    assert!(payload["body"].as_str().unwrap().contains("合宿の持ち物"));
    assert!(
        payload["url"]
            .as_str()
            .unwrap()
            .starts_with(&format!("/clubs/{club}/announcements/"))
    );

    // The expired subscription was dropped after the push service said 410.
    let mut db = app.raw_db().await;
    let mut n: i64 = 1;
    for _ in 0..50 {
        n = raw::scalar("SELECT COUNT(*) FROM push_subscriptions WHERE endpoint LIKE '%/gone/%'")
            .fetch_one(&mut db)
            .await
            .unwrap();
        if n == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(n, 0);

    // The member turns e-mail off for announcements: push and in-app still arrive.
    let (s, _) = member
        .api(
            Method::PUT,
            "/api/v1/me/notification-prefs",
            Some(json!({"kind": "announcements", "channel": "email", "enabled": false})),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    owner
        .api(
            Method::POST,
            &format!("/api/v1/clubs/{club}/announcements"),
            Some(json!({"title": "第二報", "body": "集合は8時"})),
        )
        .await;
    wait_for(|| {
        push.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path == "/push/member-1")
            .count()
            >= 2
    })
    .await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        smtp.mails.lock().unwrap().len(),
        1,
        "no e-mail once turned off"
    );
    let (_, inbox) = member
        .api(Method::GET, "/api/v1/me/notifications", None)
        .await;
    assert_eq!(inbox["unread"], 2);

    // Bad subscriptions are refused.
    for (sub, field) in [
        (
            json!({"endpoint": "https://10.0.0.1/x", "keys": {"p256dh": B64.encode(browser.public()), "auth": B64.encode(browser.auth)}}),
            "endpoint",
        ),
        (
            json!({"endpoint": format!("{}/push/x", push.base), "keys": {"p256dh": "AAAA", "auth": B64.encode(browser.auth)}}),
            "p256dh",
        ),
        (
            json!({"endpoint": format!("{}/push/x", push.base), "keys": {"p256dh": B64.encode(browser.public()), "auth": "AA"}}),
            "auth",
        ),
    ] {
        let (s, v) = member
            .api(Method::POST, "/api/v1/me/push-subscriptions", Some(sub))
            .await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            "{v}"
        );
        assert_eq!(v["error"]["field"], field);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_notices_arrive_by_email_and_push_whatever_the_preferences() {
    let (smtp, push, app) = delivering_app().await;
    let mut user = app.sign_up("通知", None).await;
    let browser = Browser::new();
    let sub = json!({"endpoint": format!("{}/push/phone", push.base),
        "keys": {"p256dh": B64.encode(browser.public()), "auth": B64.encode(browser.auth)}});
    let (s, _) = user
        .api(Method::POST, "/api/v1/me/push-subscriptions", Some(sub))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    // Everything that can be switched off is switched off.
    for kind in tekkan_app::PREF_GROUPS {
        for channel in ["email", "push"] {
            let body = json!({"kind": kind, "channel": channel, "enabled": false});
            let (s, _) = user
                .api(Method::PUT, "/api/v1/me/notification-prefs", Some(body))
                .await;
            assert_eq!(s, StatusCode::NO_CONTENT);
        }
    }
    let (s, v) = user
        .api(
            Method::PUT,
            "/api/v1/me/password",
            Some(json!({"current_password": "a long enough passphrase", "password": "a brand new passphrase"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    wait_for(|| {
        !smtp.mails.lock().unwrap().is_empty() && !push.requests.lock().unwrap().is_empty()
    })
    .await;
    let mails = smtp.mails.lock().unwrap().clone();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].rcpt, vec![user.email.clone()]);
    let msg = mail_parser::MessageParser::default()
        .parse(&mails[0].data)
        .unwrap();
    assert!(
        msg.body_text(0)
            .unwrap()
            .contains("パスワードが変更されました")
    );
    let r = push.requests.lock().unwrap()[0].clone();
    let payload: Value = serde_json::from_slice(&browser.decrypt(&r.body)).unwrap();
    assert!(
        payload["body"]
            .as_str()
            .unwrap()
            .contains("パスワードが変更されました"),
        "{payload}"
    );
    assert_eq!(payload["url"], "/settings/security");
}
