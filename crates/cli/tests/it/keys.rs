//! `tekkan keys rotate`: a new master key in front, every data key re-sealed under it,
//! while the server keeps serving; the old key stays for older backups.

use reqwest::{Method, StatusCode};
use serde_json::json;
use tekkan_storage::sql as raw;

use crate::mfa::{enrol, now_step, totp};
use crate::support::TestApp;

const PW: &str = "a long enough passphrase";

async fn key_ids(app: &TestApp) -> Vec<String> {
    let mut db = app.raw_keystore().await;
    raw::scalar("SELECT key_id FROM data_keys ORDER BY account_id")
        .fetch_all(&mut db)
        .await
        .unwrap()
}

/// A login with password and TOTP code; true if it opened a session.
async fn login_with_code(app: &TestApp, email: &str, secret: &[u8], step: u64) -> bool {
    let mut c = app.client();
    let (s, v) = c
        .api(
            Method::POST,
            "/api/v1/session",
            Some(json!({"email": email, "password": PW})),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let body = json!({"token": v["second_step"], "code": totp(secret, step)});
    let (s, _) = c
        .api(Method::POST, "/api/v1/session/second-step", Some(body))
        .await;
    s == StatusCode::CREATED
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_rewraps_every_data_key_while_the_server_runs() {
    let app = TestApp::start().await;
    let mut people = Vec::new();
    for name in ["一年", "二年", "三年"] {
        let mut c = app.sign_up(name, None).await;
        let (secret, _) = enrol(&mut c).await;
        people.push((c, secret));
    }
    let before = key_ids(&app).await;
    assert_eq!(before.len(), 3);
    let old_ring = std::fs::read_to_string(app.data_dir().join("secrets/master.key")).unwrap();
    // The audit log's key, rotated online, is sealed under the master key in the
    // database: it moves with the data keys.
    let old_log = std::fs::read_to_string(app.data_dir().join("secrets/log.key")).unwrap();
    app.running().app.rotate_log_key().await.unwrap();

    let cfg = tekkan_cli::config::Config {
        data_dir: app.data_dir(),
        database: tekkan_cli::config::Database {
            url: crate::support::pg::url_for(&app.data_dir(), false),
            keys_url: None,
        },
        ..Default::default()
    };
    let (new_id, moved) = tekkan_cli::rotate_master_key(&cfg).await.unwrap();
    assert_eq!(moved, 3);
    let after = key_ids(&app).await;
    assert!(after.iter().all(|k| *k == new_id), "{after:?}");
    assert!(before.iter().all(|k| *k != new_id));
    // The key file: the new key first, the old one kept, owner-only.
    let path = app.data_dir().join("secrets/master.key");
    let ring = std::fs::read_to_string(&path).unwrap();
    assert_eq!(ring.lines().count(), 2);
    assert_eq!(ring.lines().nth(1).unwrap(), old_ring.trim());
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&path).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    let mut db = app.raw_db().await;
    let check: String = raw::scalar("SELECT key_id FROM master_key_check")
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(check, new_id);
    let log_seed_under: String = raw::scalar("SELECT master_key_id FROM log_key_seed")
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(log_seed_under, new_id);

    // The running server, which started with the old key only, still opens every
    // secret: it reads the keys again when it meets the new one.
    // (The first person is kept for after the restart: a TOTP step works once.)
    for (i, (c, secret)) in people.iter().enumerate().skip(1) {
        assert!(
            login_with_code(&app, &c.email, secret, now_step() + 1).await,
            "person {i}"
        );
    }
    // Someone enrolling now gets a data key under the new master key.
    let mut late = app.sign_up("四年", None).await;
    enrol(&mut late).await;
    assert!(key_ids(&app).await.iter().all(|k| *k == new_id));

    // After a restart, with the ring from the file, all still opens; the chain verifies.
    // With the log key file of before its rotation, the sealed current key is used and
    // the file brought up to date.
    let dir = app.stop().await;
    std::fs::write(dir.path().join("secrets/log.key"), &old_log).unwrap();
    let app = TestApp::builder().data_dir(dir).start().await;
    let log_file = std::fs::read_to_string(app.data_dir().join("secrets/log.key")).unwrap();
    assert_ne!(log_file, old_log);
    let (c, secret) = &people[0];
    let (s, v) = app
        .client()
        .api(
            Method::POST,
            "/api/v1/session",
            Some(json!({"email": c.email, "password": PW})),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let body = json!({"token": v["second_step"], "code": totp(secret, now_step() + 1)});
    let (s, _) = app
        .client()
        .api(Method::POST, "/api/v1/session/second-step", Some(body))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let dir = app.stop().await;
    let cfg = tekkan_cli::config::Config {
        data_dir: dir.path().to_path_buf(),
        database: crate::support::pg::database_config(dir.path()),
        ..Default::default()
    };
    let trust = tekkan_cli::audit::Trust {
        pubkeys: Vec::new(),
        saved: None,
    };
    let verdict = tekkan_cli::audit::verify_data_dir(&cfg, &trust)
        .await
        .unwrap();
    assert!(
        matches!(verdict, tekkan_cli::audit::Verdict::Intact(_)),
        "the log no longer verifies after a master key rotation"
    );
    let mut db = { crate::support::raw_db_at(dir.path()).await };
    let rotated: i64 = raw::scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'keys.rotated'")
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(rotated, 1);

    // A master key set in the configuration is not rotated behind the operator's back.
    let cfg = tekkan_cli::config::Config {
        data_dir: dir.path().to_path_buf(),
        database: crate::support::pg::database_config(dir.path()),
        keys: tekkan_cli::config::Keys {
            master_key: Some(serde_json::from_value(json!("22".repeat(32))).unwrap()),
            ..Default::default()
        },
        ..Default::default()
    };
    let err = tekkan_cli::rotate_master_key(&cfg).await.err().unwrap();
    assert!(err.to_string().contains("keys.master_key"), "{err}");
}

/// Data keys kept in the database by the previous version move to the key store at the
/// next start, and the secrets they sealed still open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_keys_left_in_the_database_move_to_the_key_store() {
    let app = TestApp::start().await;
    let mut c = app.sign_up("移行", None).await;
    let (secret, _) = enrol(&mut c).await;
    // Put the key back where the previous version kept it.
    let (account, key_id, wrapped): (String, String, String) = {
        let mut ks = app.raw_keystore().await;
        let row = crate::support::tuple(
            raw::q("SELECT account_id, key_id, wrapped FROM data_keys"),
            &mut ks,
        )
        .await;
        raw::q("DELETE FROM data_keys")
            .execute(&mut ks)
            .await
            .unwrap();
        row
    };
    let mut db = app.raw_db().await;
    raw::q(
        "INSERT INTO data_keys (account_id, key_id, wrapped, created_at) VALUES ($1, $2, $3, 0)",
    )
    .bind(&account)
    .bind(&key_id)
    .bind(&wrapped)
    .execute(&mut db)
    .await
    .unwrap();
    drop(db);
    let dir = app.stop().await;

    let app = TestApp::builder().data_dir(dir).start().await;
    assert!(
        login_with_code(&app, &c.email, &secret, now_step() + 1).await,
        "the moved key opens the TOTP secret"
    );
    let mut db = app.raw_db().await;
    let left: i64 = raw::scalar("SELECT COUNT(*) FROM data_keys")
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(left, 0, "none stays in the database");
    assert_eq!(key_ids(&app).await, [key_id]);
    let moved: i64 =
        raw::scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'keys.moved_to_key_store'")
            .fetch_one(&mut db)
            .await
            .unwrap();
    assert_eq!(moved, 1);
}
