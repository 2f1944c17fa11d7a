//! Signed actions verify only against passkey keys the audit log vouches for: each
//! enrolment commits its public key, a club's export carries the enrolments of its
//! signers, keys enrolled before commitments existed are committed once at start-up, and
//! a key attached to an officer behind the log's back fails the verifier.

use reqwest::{Method, StatusCode};
use serde_json::json;
use tekkan_storage::sql as raw;

use crate::signed_actions::{sign, verify, with_sig};
use crate::support::cdp::Browser;
use crate::support::fixture::join;
use crate::support::{Client, TestApp};
use crate::transparency::{published_key, signed_checkpoint, verify_export};

const PW: &str = "a long enough passphrase";

async fn scalar(app: &TestApp, sql: &str) -> i64 {
    let mut db = app.raw_db().await;
    raw::Scalar::new(sql.to_owned())
        .fetch_one(&mut db)
        .await
        .unwrap()
}

/// The owner's passkey, added in its own browser; one signed role change.
async fn owner_signs_once(app: &TestApp) -> (Client, String, Browser) {
    let mut owner = app.sign_up("部長", None).await;
    let club = owner.create_club("剣道部").await;
    let (_, m) = join(app, &mut owner, &club, "member", false).await;
    let base = app.base.replace("127.0.0.1", "localhost");
    let mut b = Browser::with_passkey(&base, &owner.email, PW, "部長のスマホ").await;
    let body = json!({"role": "coach"});
    let target = format!("membership:{m}");
    let sig = sign(
        &mut b,
        &mut owner,
        &club,
        "member.role_change",
        &target,
        body.clone(),
    )
    .await;
    let path = format!("/api/v1/clubs/{club}/members/{m}/role");
    let (s, v) = with_sig(&mut owner, Method::PUT, &path, Some(body), &sig).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    (owner, club, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrolled_keys_are_committed_exported_and_backfilled() {
    let app = TestApp::builder()
        .configure(|c| c.scheduler.checkpoint_ms = 100)
        .start()
        .await;
    let (mut owner, club, _b) = owner_signs_once(&app).await;
    // The enrolment's digest is its key commitment, whose record is kept beside it.
    let committed = scalar(
        &app,
        "SELECT COUNT(*) FROM audit_log l JOIN signed_actions s \
         ON s.digest = l.change_digest \
         WHERE l.action = 'passkey.added' AND (s.record LIKE '%\"public_key\":\"p256:%' \
         OR s.record LIKE '%\"public_key\":\"ed25519:%')",
    )
    .await;
    assert_eq!(committed, 1);

    // The club's export carries the owner's enrolment (a line of no club) and verifies.
    signed_checkpoint(&app).await;
    let key = published_key(&app).await.encode();
    let r = owner
        .raw(
            Method::GET,
            &format!("/api/v1/clubs/{club}/audit/export"),
            &[(
                "authorization",
                &format!("Bearer {}", owner.bearer.clone().unwrap()),
            )],
            Vec::new(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body
            .lines()
            .any(|l| l.contains("\"action\":\"passkey.added\"") && l.contains("\"signed\":")),
        "{}",
        r.body
    );
    let scratch = tempfile::tempdir().unwrap();
    let file = scratch.path().join("club.jsonl");
    std::fs::write(&file, &r.body).unwrap();
    let (ok, text) = verify_export(&file, &[&key]);
    assert!(ok, "{text}");
    // Without the enrolment line, the signed action stands on no committed key.
    let cut: String = r
        .body
        .lines()
        .filter(|l| !l.contains("\"action\":\"passkey.added\""))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&file, cut).unwrap();
    let (ok, text) = verify_export(&file, &[&key]);
    assert!(!ok && text.contains("never committed"), "{text}");

    // A database from before key commitments: the server commits the key once at start.
    let dir = app.stop().await;
    {
        let mut db = crate::support::raw_db_at(dir.path()).await;
        raw::q("UPDATE passkeys SET committed = 0")
            .execute(&mut db)
            .await
            .unwrap();
        db.close().await.unwrap();
    }
    let app = TestApp::builder().data_dir(dir).start().await;
    let backfilled = "SELECT COUNT(*) FROM audit_log WHERE action = 'passkey.key_committed' \
                      AND actor_account IS NULL";
    assert_eq!(scalar(&app, backfilled).await, 1);
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM passkeys WHERE committed = 0").await,
        0
    );
    let dir = app.stop().await;
    let app = TestApp::builder().data_dir(dir).start().await;
    assert_eq!(scalar(&app, backfilled).await, 1, "committed once");
    let dir = app.stop().await;
    let (ok, text) = verify(dir.path());
    assert!(
        ok && text.contains("1 passkey-signed actions verified against keys the log committed"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_attached_behind_the_logs_back_fails_the_verifier() {
    let app = TestApp::start().await;
    let (mut owner, club, _a) = owner_signs_once(&app).await;

    // Someone with write access to the database enrols a passkey of their own (as an
    // ordinary account, in their own browser) and moves it under the owner.
    let base = app.base.replace("127.0.0.1", "localhost");
    let intruder = app.sign_up("侵入者", None).await;
    let mut b = Browser::with_passkey(&base, &intruder.email, PW, "key").await;
    {
        let mut db = app.raw_db().await;
        let moved = raw::q(
            "UPDATE passkeys SET account_id = (SELECT account_id FROM passkeys \
             ORDER BY created_at LIMIT 1) WHERE credential_id = (SELECT credential_id \
             FROM passkeys ORDER BY created_at DESC LIMIT 1)",
        )
        .execute(&mut db)
        .await
        .unwrap();
        assert_eq!(moved.rows_affected(), 1);
    }

    // The server, reading keys from the database, accepts the intruder's signature for
    // the owner's action; the verifier, reading keys from the log, does not.
    let (_, m) = join(&app, &mut owner, &club, "member", false).await;
    let body = json!({"role": "coach"});
    let sig = sign(
        &mut b,
        &mut owner,
        &club,
        "member.role_change",
        &format!("membership:{m}"),
        body.clone(),
    )
    .await;
    let path = format!("/api/v1/clubs/{club}/members/{m}/role");
    let (s, v) = with_sig(&mut owner, Method::PUT, &path, Some(body), &sig).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let forged: i64 = scalar(
        &app,
        "SELECT MAX(seq) FROM audit_log WHERE action = 'member.role_change.signed'",
    )
    .await;
    let dir = app.stop().await;
    let (ok, text) = verify(dir.path());
    assert!(
        !ok && text.contains(&format!("entry {forged}:")) && text.contains("never committed"),
        "{text}"
    );
}
