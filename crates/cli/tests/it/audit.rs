//! Every state change writes an audit entry in the same transaction, and
//! `tekkan audit verify` detects entries altered, removed, reordered or cut off, with
//! the database file edited directly as an attacker would.

use std::ffi::OsStr;
use std::path::Path;
use tekkan_storage::Location;
use tekkan_storage::sql as raw;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::fixture::invite;
use crate::support::{TestApp, tekkan};

async fn audit_rows(
    app: &TestApp,
) -> Vec<(
    i64,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
)> {
    let mut db = app.raw_db().await;
    raw::q("SELECT seq, action, actor_account, actor_session, club_id, ip, user_agent FROM audit_log ORDER BY seq")
        .fetch_all(&mut db)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5), r.get(6)))
        .collect()
}

#[tokio::test]
async fn every_state_change_is_audited_with_who_what_when_and_where() {
    let app = TestApp::start().await;
    let before = audit_rows(&app).await.len();
    assert_eq!(
        before, 2,
        "registering the master key and issuing the setup link are the first entries"
    );
    let mut owner = app.sign_up("Owner", None).await;
    let (_, me) = owner.api(Method::GET, "/api/v1/me", None).await;
    let owner_id = me["account_id"].as_str().unwrap().to_owned();
    let club = owner.create_club("陸上部").await;
    let reads_before = audit_rows(&app).await.len();
    owner
        .api(Method::GET, &format!("/api/v1/clubs/{club}"), None)
        .await;
    owner.get("/clubs").await;
    // Reads of sensitive data (the roster with contact details, it::reads) are logged
    // by a background task; wait for it to have had the chance to write.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(
        audit_rows(&app).await.len(),
        reads_before,
        "ordinary reads change nothing and write nothing"
    );

    let token = invite(&mut owner, &club, "member", false).await;
    let member = app.sign_up("Member", Some(&token)).await;
    let m = member.joined.as_ref().unwrap()["membership_id"]
        .as_str()
        .unwrap()
        .to_owned();
    owner
        .api(
            Method::PUT,
            &format!("/api/v1/clubs/{club}/members/{m}/role"),
            Some(json!({"role": "coach"})),
        )
        .await;
    owner
        .api(
            Method::PATCH,
            &format!("/api/v1/clubs/{club}"),
            Some(json!({"name": "陸上競技部"})),
        )
        .await;
    owner.api(Method::DELETE, "/api/v1/session", None).await;

    let rows = audit_rows(&app).await;
    let actions: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    for expected in [
        "account.create",
        "auth.login",
        "club.create",
        "membership.join",
        "invitation.create",
        "member.role_change",
        "club.update",
        "auth.logout",
    ] {
        assert!(
            actions.contains(&expected),
            "{expected} missing from {actions:?}"
        );
    }
    let role_change = rows.iter().find(|r| r.1 == "member.role_change").unwrap();
    assert_eq!(role_change.2.as_deref(), Some(owner_id.as_str()), "who");
    assert!(role_change.3.is_some(), "which session");
    assert_eq!(role_change.4.as_deref(), Some(club.as_str()), "which club");
    assert_eq!(role_change.5.as_deref(), Some("127.0.0.1"), "from where");
    let seqs: Vec<i64> = rows.iter().map(|r| r.0).collect();
    assert_eq!(
        seqs,
        (1..=rows.len() as i64).collect::<Vec<_>>(),
        "gap-free sequence"
    );

    // A refused change writes nothing.
    let n = rows.len();
    let (s, _) = owner
        .api(Method::POST, "/api/v1/clubs", Some(json!({"name": ""})))
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "logged out");
    assert_eq!(audit_rows(&app).await.len(), n);
}

fn verify(dir: &Path) -> (bool, String) {
    tekkan([
        OsStr::new("audit"),
        "verify".as_ref(),
        "--data-dir".as_ref(),
        dir.as_os_str(),
    ])
}

/// A copy of a stopped app's data directory and database (on PostgreSQL, a database
/// of its own that the copy's directory names), to tamper with.
async fn copy_dir(from: &Path) -> tempfile::TempDir {
    let to = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(to.path().join("secrets")).unwrap();
    for f in [
        "secrets/audit.key",
        "secrets/csrf.key",
        "secrets/master.key",
        "secrets/log.key",
    ] {
        std::fs::copy(from.join(f), to.path().join(f)).unwrap();
    }
    match crate::support::location_of(from) {
        Location::Sqlite(file) => {
            std::fs::copy(file, to.path().join("tekkan.sqlite3")).unwrap();
        }
        Location::Postgres(_) => {
            let Location::Postgres(url) = crate::support::location_of(to.path()) else {
                unreachable!()
            };
            // The copy's own database (new and empty), filled by the copier.
            tekkan_storage::copy::copy(
                &crate::support::location_of(from),
                &Location::Postgres(url),
                tekkan_storage::copy::Schema::Data,
            )
            .await
            .unwrap();
        }
    }
    to
}

async fn tamper(dir: &Path, sql: &[&str]) {
    let mut db = crate::support::raw_db_at(dir).await;
    // An attacker with the database can drop the append-only guards; the chain and
    // the signed checkpoints still tell.
    let guards: &[&str] = if db.is_postgres() {
        &[
            "ALTER TABLE audit_log DISABLE TRIGGER USER",
            "ALTER TABLE audit_checkpoints DISABLE TRIGGER USER",
        ]
    } else {
        &[
            "DROP TRIGGER audit_log_no_update",
            "DROP TRIGGER audit_log_no_delete",
            "DROP TRIGGER audit_checkpoints_no_update",
        ]
    };
    for s in guards.iter().chain(sql) {
        crate::support::exec(&mut db, s).await;
    }
    db.close().await.unwrap();
}

#[tokio::test]
async fn verify_names_the_first_altered_removed_reordered_or_truncated_entry() {
    let app = TestApp::start().await;
    let mut owner = app.sign_up("Owner", None).await;
    for name in ["野球部", "サッカー部", "美術部"] {
        owner
            .api(Method::POST, "/api/v1/clubs", Some(json!({"name": name})))
            .await;
    }
    // The running server refuses in-place edits through SQL too.
    let mut db = app.raw_db().await;
    let e = raw::q("UPDATE audit_log SET target = 'x' WHERE seq = 2")
        .execute(&mut db)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");
    drop(db);
    let dir = app.stop().await;
    let base = dir.path();

    let before = crate::support::fingerprint(base).await;
    let files_before: Vec<_> = std::fs::read_dir(base)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let (ok, text) = verify(base);
    assert!(ok, "intact chain: {text}");
    assert!(text.contains("audit log OK"), "{text}");
    // The directory under examination is evidence: verifying leaves it byte for byte.
    assert!(before == crate::support::fingerprint(base).await);
    let files_after: Vec<_> = std::fs::read_dir(base)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(files_before, files_after);

    let cases: &[(&str, &[&str], &str)] = &[
        (
            "altered",
            &["UPDATE audit_log SET target = 'club:forged' WHERE seq = 5"],
            "entry 5: content does not match",
        ),
        (
            "altered actor",
            &["UPDATE audit_log SET actor_account = NULL WHERE seq = 3"],
            "entry 3: content does not match",
        ),
        (
            "removed",
            &["DELETE FROM audit_log WHERE seq = 4"],
            "entry 5: expected sequence number 4",
        ),
        (
            "reordered",
            &[
                "UPDATE audit_log SET seq = -1 WHERE seq = 6",
                "UPDATE audit_log SET seq = 6 WHERE seq = 7",
                "UPDATE audit_log SET seq = 7 WHERE seq = -1",
            ],
            "entry 6: does not link",
        ),
        (
            "truncated",
            &["DELETE FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log)"],
            "removed from the end",
        ),
        (
            "truncated with the head moved back",
            &[
                "DELETE FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log)",
                "UPDATE audit_head SET seq = seq - 1, hash = (SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1)",
            ],
            "head's MAC is not valid",
        ),
    ];
    for (what, sql, expect) in cases {
        let copy = copy_dir(base).await;
        tamper(copy.path(), sql).await;
        let (ok, text) = verify(copy.path());
        assert!(!ok, "{what} was not detected: {text}");
        assert!(
            text.contains(expect),
            "{what}: expected {expect:?} in {text:?}"
        );
    }
}

async fn latest_note(dir: &Path) -> String {
    let mut db = crate::support::raw_db_at(dir).await;
    let note: String = raw::scalar("SELECT note FROM audit_checkpoints ORDER BY size DESC LIMIT 1")
        .fetch_one(&mut db)
        .await
        .unwrap();
    db.close().await.unwrap();
    note
}

fn verify_saved(dir: &Path, saved: &Path) -> (bool, String) {
    tekkan([
        OsStr::new("audit"),
        "verify".as_ref(),
        "--data-dir".as_ref(),
        dir.as_os_str(),
        "--checkpoint".as_ref(),
        saved.as_os_str(),
    ])
}

/// What the hash chain and its head cannot catch, the signed checkpoints do: a database
/// rolled back to an older copy (given a checkpoint saved since), entries cut off by
/// someone who also stole the head's key, and a checkpoint edited in place.
#[tokio::test]
async fn checkpoints_catch_rollback_truncation_with_the_stolen_head_key_and_edited_notes() {
    let app = TestApp::start().await;
    let mut owner = app.sign_up("Owner", None).await;
    owner.create_club("天文部").await;
    let dir = app.stop().await;
    let older = copy_dir(dir.path()).await;
    let app = TestApp::builder().data_dir(dir).start().await;
    let mut owner = app.sign_up("Owner2", None).await;
    for name in ["囲碁部", "将棋部"] {
        owner.create_club(name).await;
    }
    let dir = app.stop().await;
    let saved = dir.path().join("saved-checkpoint.txt");
    std::fs::write(&saved, latest_note(dir.path()).await).unwrap();

    let (ok, text) = verify_saved(dir.path(), &saved);
    assert!(ok, "{text}");
    // The older copy is whole in itself: its chain, head and checkpoints all hold.
    let (ok, text) = verify(older.path());
    assert!(ok, "{text}");
    let (ok, text) = verify_saved(older.path(), &saved);
    assert!(!ok && text.contains("rolled back"), "{text}");

    // Cut the last three entries and re-MAC the head with the stolen audit.key.
    let cut = copy_dir(dir.path()).await;
    let key = hex_key(&cut.path().join("secrets/audit.key"));
    let (seq, hash) = {
        let mut db = crate::support::raw_db_at(cut.path()).await;
        let r = raw::q("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1 OFFSET 3")
            .fetch_one(&mut db)
            .await
            .unwrap();
        let (seq, hash): (i64, String) = (r.get(0), r.get(1));
        db.close().await.unwrap();
        (seq, hash)
    };
    let head = tekkan_audit::Head::new(&key, seq as u64, tekkan_audit::from_hex(&hash).unwrap());
    let forged_head = format!(
        "UPDATE audit_head SET seq = {seq}, hash = '{hash}', mac = '{}'",
        tekkan_audit::to_hex(&head.mac)
    );
    let delete = format!("DELETE FROM audit_log WHERE seq > {seq}");
    tamper(cut.path(), &[&delete, &forged_head]).await;
    let (ok, text) = verify(cut.path());
    assert!(
        !ok && text.contains("a signed checkpoint covers"),
        "a truncation with a valid head was not caught: {text}"
    );

    // A checkpoint edited in the database no longer carries a valid signature.
    let edited = copy_dir(dir.path()).await;
    tamper(
        edited.path(),
        &[
            "UPDATE audit_checkpoints SET note = replace(note, 'time 1', 'time 2') WHERE size = (SELECT MIN(size) FROM audit_checkpoints)",
        ],
    )
    .await;
    let (ok, text) = verify(edited.path());
    assert!(!ok && text.contains("signature is not valid"), "{text}");
}

fn hex_key(path: &Path) -> Vec<u8> {
    hex::decode(std::fs::read_to_string(path).unwrap().trim()).unwrap()
}
