//! The audit log as a transparency log, from outside: signed checkpoints at public
//! URLs, proofs that verify with nothing but the public key, a club's export checked
//! offline by `tekkan audit verify --export`, and key rotation.

use std::path::Path;
use tekkan_storage::sql as raw;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tekkan_audit::from_hex;
use tekkan_audit::merkle::{leaf_hash, verify_consistency, verify_inclusion};
use tekkan_audit::signed::{PublicKey, open_checkpoint};

use crate::support::fixture::invite;
use crate::support::{TestApp, tekkan};

fn hx(v: &Value) -> [u8; 32] {
    from_hex(v.as_str().unwrap()).unwrap()
}

fn hashes(v: &Value) -> Vec<[u8; 32]> {
    v.as_array().unwrap().iter().map(hx).collect()
}

async fn entry_count(app: &TestApp) -> u64 {
    let mut db = app.raw_db().await;
    let n: i64 = raw::scalar("SELECT COUNT(*) FROM audit_log")
        .fetch_one(&mut db)
        .await
        .unwrap();
    n as u64
}

/// Waits for the scheduler to sign a checkpoint covering every entry written so far.
pub(crate) async fn signed_checkpoint(app: &TestApp) -> (String, u64) {
    let want = entry_count(app).await;
    let mut c = app.client();
    for _ in 0..200 {
        let r = c.get("/transparency/checkpoint").await;
        if r.status == StatusCode::OK {
            let note = r.body;
            let size: u64 = note.lines().nth(1).unwrap().parse().unwrap();
            if size >= want {
                return (note, size);
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no checkpoint covering {want} entries was signed");
}

pub(crate) async fn published_key(app: &TestApp) -> PublicKey {
    let (s, keys) = app
        .client()
        .api(Method::GET, "/transparency/keys", None)
        .await;
    assert_eq!(s, StatusCode::OK);
    PublicKey::parse(keys[0]["public_key"].as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn checkpoints_are_signed_published_and_proven_with_only_the_public_key() {
    let app = TestApp::builder()
        .configure(|c| c.scheduler.checkpoint_ms = 100)
        .start()
        .await;
    let mut owner = app.sign_up("Owner", None).await;
    let club = owner.create_club("吹奏楽部").await;
    // Enough entries for the stored part of the tree (subtrees of 16 leaves and up)
    // and the recomputed part below it to both take part in the proofs.
    for i in 0..40 {
        owner.create_club(&format!("部 {i}")).await;
    }
    let (first_note, first) = signed_checkpoint(&app).await;
    assert!(first > 40, "{first}");
    let key = published_key(&app).await;
    let cp = open_checkpoint(&first_note, std::slice::from_ref(&key)).unwrap();
    assert_eq!(cp.checkpoint.size, first);

    // Every entry's inclusion proof leads to the signed root, from its stored hash.
    let mut db = app.raw_db().await;
    let stored: Vec<String> = raw::scalar("SELECT hash FROM audit_log ORDER BY seq")
        .fetch_all(&mut db)
        .await
        .unwrap();
    drop(db);
    for seq in 1..=first {
        let (s, v) = owner
            .api(
                Method::GET,
                &format!("/api/v1/transparency/inclusion?seq={seq}&size={first}"),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let leaf = leaf_hash(&from_hex(&stored[seq as usize - 1]).unwrap());
        assert_eq!(hx(&v["leaf_hash"]), leaf);
        assert!(verify_inclusion(
            &leaf,
            seq - 1,
            first,
            &hashes(&v["proof"]),
            &cp.checkpoint.root
        ));
    }

    // More entries, a newer checkpoint, and the proof that it extends the first.
    for name in ["合宿", "定期演奏会"] {
        owner
            .api(
                Method::PATCH,
                &format!("/api/v1/clubs/{club}"),
                Some(json!({"name": name})),
            )
            .await;
    }
    let (second_note, second) = signed_checkpoint(&app).await;
    assert!(second > first);
    let cp2 = open_checkpoint(&second_note, std::slice::from_ref(&key)).unwrap();
    let (s, v) = app
        .client()
        .api(
            Method::GET,
            &format!("/api/v1/transparency/consistency?first={first}&second={second}"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let proof = hashes(&v["proof"]);
    assert!(verify_consistency(
        first,
        second,
        &cp.checkpoint.root,
        &cp2.checkpoint.root,
        &proof
    ));
    let mut bad = proof.clone();
    bad[0][0] ^= 1;
    assert!(!verify_consistency(
        first,
        second,
        &cp.checkpoint.root,
        &cp2.checkpoint.root,
        &bad
    ));

    // The transparency URLs need no account; malformed questions get clear 4xx.
    let mut anon = app.client();
    for (path, want) in [
        ("/api/v1/transparency/checkpoint", StatusCode::OK),
        (
            "/api/v1/transparency/inclusion?seq=abc",
            StatusCode::BAD_REQUEST,
        ),
        ("/api/v1/transparency/inclusion", StatusCode::BAD_REQUEST),
        (
            "/api/v1/transparency/inclusion?seq=0",
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/v1/transparency/inclusion?seq=99999999999",
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/v1/transparency/inclusion?seq=1&size=3%27%20OR%201=1",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/transparency/consistency?first=5&second=2",
            StatusCode::CONFLICT,
        ),
        (
            "/api/v1/transparency/consistency?first=1&second=123456789",
            StatusCode::NOT_FOUND,
        ),
    ] {
        let (s, v) = anon.api(Method::GET, path, None).await;
        assert_eq!(s, want, "{path}: {v}");
    }
}

pub(crate) fn verify_export(file: &Path, keys: &[&str]) -> (bool, String) {
    let mut args: Vec<&std::ffi::OsStr> =
        vec!["audit".as_ref(), "verify".as_ref(), "--export".as_ref()];
    args.push(file.as_os_str());
    for k in keys {
        args.push("--pubkey".as_ref());
        args.push(k.as_ref());
    }
    tekkan(args)
}

#[tokio::test]
async fn officers_export_their_clubs_trail_which_verifies_offline() {
    let app = TestApp::builder()
        .configure(|c| c.scheduler.checkpoint_ms = 100)
        .start()
        .await;
    let mut owner = app.sign_up("Owner", None).await;
    let club = owner.create_club("山岳部").await;
    let token = invite(&mut owner, &club, "member", false).await;
    let mut member = app.sign_up("Member", Some(&token)).await;
    let mut stranger = app.sign_up("Stranger", None).await;
    stranger.create_club("別の部").await;
    signed_checkpoint(&app).await;
    let key = published_key(&app).await.encode();

    let path = format!("/api/v1/clubs/{club}/audit/export");
    let bearer = format!("Bearer {}", owner.bearer.clone().unwrap());
    let r = owner
        .raw(
            Method::GET,
            &path,
            &[("authorization", &bearer)],
            Vec::new(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["cache-control"], "no-store");
    let body = r.body;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("export.jsonl");
    std::fs::write(&file, &body).unwrap();
    let (ok, text) = verify_export(&file, &[&key]);
    assert!(ok, "{text}");
    let lines = body.lines().count() - 1;
    assert!(lines >= 3, "club.create, invitation, join: {body}");
    assert!(text.contains(&format!("{lines} entries proven")), "{text}");

    // Members and other clubs' officers get nothing.
    let (s, _) = member.api(Method::GET, &path, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = stranger.api(Method::GET, &path, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Any edit of the file is named; another key proves nothing.
    type Edit = Box<dyn Fn(&str) -> String>;
    let edits: [(&str, Edit, &str); 3] = [
        (
            "entry altered",
            Box::new(|b: &str| b.replacen("\"club.create\"", "\"club.delete\"", 1)),
            "altered",
        ),
        (
            "proof altered",
            Box::new(|b: &str| {
                let at = b.find("\"proof\":[\"").unwrap() + 10;
                let c = if &b[at..at + 1] == "0" { "1" } else { "0" };
                format!("{}{c}{}", &b[..at], &b[at + 1..])
            }),
            "inclusion proof does not lead",
        ),
        (
            "junk",
            Box::new(|_: &str| "{not json".into()),
            "not a tekkan",
        ),
    ];
    for (what, edit, expect) in edits {
        std::fs::write(&file, edit(&body)).unwrap();
        let (ok, text) = verify_export(&file, &[&key]);
        assert!(!ok && text.contains(expect), "{what}: {text}");
    }
    std::fs::write(&file, &body).unwrap();
    let other = tekkan_audit::signed::Signer::new("x/tekkan-audit", &[3; 32])
        .public()
        .encode();
    let (ok, text) = verify_export(&file, &[&other]);
    assert!(!ok && text.contains("no trusted key"), "{text}");
}

#[tokio::test]
async fn a_rotated_log_key_keeps_old_checkpoints_verifiable_and_a_swapped_key_is_refused() {
    let app = TestApp::builder()
        .configure(|c| c.scheduler.checkpoint_ms = 100)
        .start()
        .await;
    let mut owner = app.sign_up("Owner", None).await;
    owner.create_club("写真部").await;
    let (old_note, _) = signed_checkpoint(&app).await;
    let old_key = published_key(&app).await;
    let dir = app.stop().await;

    let (ok, text) = tekkan([
        std::ffi::OsStr::new("keys"),
        "rotate-log".as_ref(),
        "--data-dir".as_ref(),
        dir.path().as_os_str(),
    ]);
    assert!(ok, "{text}");

    let app = TestApp::builder()
        .configure(|c| c.scheduler.checkpoint_ms = 100)
        .data_dir(dir)
        .start()
        .await;
    let mut owner = app.sign_up("Owner2", None).await;
    owner.create_club("新聞部").await;
    let (new_note, _) = signed_checkpoint(&app).await;
    let (_, keys) = app
        .client()
        .api(Method::GET, "/transparency/keys", None)
        .await;
    assert_eq!(keys.as_array().unwrap().len(), 2);
    let new_key = PublicKey::parse(keys[1]["public_key"].as_str().unwrap()).unwrap();
    assert!(open_checkpoint(&new_note, std::slice::from_ref(&old_key)).is_err());
    assert!(open_checkpoint(&new_note, std::slice::from_ref(&new_key)).is_ok());
    let dir = app.stop().await;

    // Trusting only the old key, the whole log (old and new checkpoints) verifies
    // through the succession both keys signed.
    let saved = dir.path().join("saved-checkpoint.txt");
    std::fs::write(&saved, &old_note).unwrap();
    let old = old_key.encode();
    let (ok, text) = tekkan([
        std::ffi::OsStr::new("audit"),
        "verify".as_ref(),
        "--data-dir".as_ref(),
        dir.path().as_os_str(),
        "--pubkey".as_ref(),
        old.as_ref(),
        "--checkpoint".as_ref(),
        saved.as_os_str(),
    ]);
    assert!(ok, "{text}");
    assert!(
        text.contains("consistent with the saved checkpoint"),
        "{text}"
    );

    // A key file swapped for another is refused at start.
    std::fs::write(dir.path().join("secrets/log.key"), hex_seed()).unwrap();
    let mut cfg = tekkan_cli::config::Config {
        data_dir: dir.path().to_path_buf(),
        database: crate::support::pg::database_config(dir.path()),
        ..Default::default()
    };
    cfg.server.listen = "127.0.0.1:0".parse().unwrap();
    let e = tekkan_cli::open_app(&cfg).await.err().expect("must refuse");
    assert!(e.to_string().contains("not the newest key"), "{e}");
}

fn hex_seed() -> String {
    "ab".repeat(32)
}
