//! Invitations by link and QR code: expiry, revocation, usage limits, approval, and
//! nothing half-written when a link is refused.

use reqwest::{Method, StatusCode};
use serde_json::json;
use tekkan_storage::sql as raw;

use crate::support::fixture::{invite, join};
use crate::support::{TestApp, code};

#[tokio::test]
async fn invitations_expire_are_revocable_limited_and_can_need_approval() {
    let app = TestApp::start().await;
    let mut owner = app.sign_up("Owner", None).await;
    let club = owner.create_club("軽音部").await;

    // Link and QR code.
    let (s, v) = owner
        .api(
            Method::POST,
            &format!("/api/v1/clubs/{club}/invitations"),
            Some(json!({"role": "member", "max_uses": 1})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let token = v["token"].as_str().unwrap().to_owned();
    assert_eq!(
        v["url"].as_str().unwrap(),
        format!("{}/join/{token}", app.base)
    );
    assert!(v["qr_svg"].as_str().unwrap().contains("<svg"));
    let (s, p) = app
        .client()
        .api(Method::GET, &format!("/api/v1/invitations/{token}"), None)
        .await;
    assert_eq!(
        (s, p["club_name"].as_str()),
        (StatusCode::OK, Some("軽音部"))
    );

    // Usage limit: the second person is refused and no account is half-made.
    app.sign_up("First", Some(&token)).await;
    let mut late = app.client();
    let (s, v) = late.api(Method::POST, "/api/v1/accounts", Some(json!({"email": "late@example.jp", "display_name": "Late", "password": "a long enough passphrase", "invitation": token}))).await;
    assert_eq!((s, code(&v)), (StatusCode::GONE, "invitation"));
    let mut db = app.raw_db().await;
    let n: i64 = raw::scalar("SELECT COUNT(*) FROM accounts WHERE email = 'late@example.jp'")
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(n, 0);

    // Revoked.
    let (_, v) = owner
        .api(
            Method::POST,
            &format!("/api/v1/clubs/{club}/invitations"),
            Some(json!({"role": "member"})),
        )
        .await;
    let (t2, id2) = (
        v["token"].as_str().unwrap().to_owned(),
        v["invitation"]["id"].as_str().unwrap().to_owned(),
    );
    assert_eq!(
        owner
            .api(
                Method::DELETE,
                &format!("/api/v1/clubs/{club}/invitations/{id2}"),
                None
            )
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.client()
            .api(Method::GET, &format!("/api/v1/invitations/{t2}"), None)
            .await
            .0,
        StatusCode::GONE
    );
    let (s, v) = owner
        .api(
            Method::DELETE,
            &format!("/api/v1/clubs/{club}/invitations/{id2}"),
            None,
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "already_revoked"));

    // Expired.
    let t3 = invite(&mut owner, &club, "member", false).await;
    raw::q("UPDATE invitations SET expires_at = 1 WHERE token_hash = $1")
        .bind(tekkan_app::hash_token(&t3))
        .execute(&mut db)
        .await
        .unwrap();
    let page = app.client().get(&format!("/join/{t3}")).await;
    assert_eq!(page.status, StatusCode::GONE);
    assert!(page.body.contains("期限切れ"));
    let (s, list) = owner
        .api(
            Method::GET,
            &format!("/api/v1/clubs/{club}/invitations"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let states: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["state"].as_str().unwrap())
        .collect();
    assert!(
        states.contains(&"used_up") && states.contains(&"revoked") && states.contains(&"expired"),
        "{states:?}"
    );

    // Approval: a pending member sees nothing until an officer approves.
    let t4 = invite(&mut owner, &club, "member", true).await;
    let mut waiting = app.sign_up("Waiting", Some(&t4)).await;
    assert_eq!(waiting.joined.as_ref().unwrap()["status"], "pending");
    let m = waiting.joined.as_ref().unwrap()["membership_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        waiting
            .api(Method::GET, &format!("/api/v1/clubs/{club}"), None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    let (_, detail) = owner
        .api(Method::GET, &format!("/api/v1/clubs/{club}"), None)
        .await;
    assert_eq!(detail["pending_requests"], 1);
    assert_eq!(
        owner
            .api(
                Method::POST,
                &format!("/api/v1/clubs/{club}/members/{m}/approve"),
                None
            )
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        waiting
            .api(Method::GET, &format!("/api/v1/clubs/{club}"), None)
            .await
            .0,
        StatusCode::OK
    );
    let (s, v) = owner
        .api(
            Method::POST,
            &format!("/api/v1/clubs/{club}/members/{m}/approve"),
            None,
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "not_pending"));

    // Officers cannot hand out ownership by invitation; bad limits are refused.
    let (s, _) = owner
        .api(
            Method::POST,
            &format!("/api/v1/clubs/{club}/invitations"),
            Some(json!({"role": "member", "max_uses": 0})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = owner
        .api(
            Method::POST,
            &format!("/api/v1/clubs/{club}/invitations"),
            Some(json!({"role": "member", "expires_in_hours": 10000})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (mut officer, _) = join(&app, &mut owner, &club, "officer", false).await;
    assert_eq!(
        officer
            .api(
                Method::POST,
                &format!("/api/v1/clubs/{club}/invitations"),
                Some(json!({"role": "owner"}))
            )
            .await
            .0,
        StatusCode::FORBIDDEN
    );
}
