//! Moving a deployment with `tekkan db copy`: to a SQLite file elsewhere (from
//! PostgreSQL on the PostgreSQL run), then on to a new PostgreSQL database (on the
//! SQLite run, with no server to move to, another file). Every record, sealed field,
//! data key and audit entry arrives; each copy verifies; the server runs on the result;
//! and the checkpoint published before the move still holds.

use std::path::Path;
use std::process::Command;

use reqwest::Method;
use serde_json::json;
use tekkan_storage::Location;

use crate::backup::dump_at;
use crate::support::{TestApp, location_of, pg, unique};
use crate::transparency::signed_checkpoint;

const PW: &str = "a long enough passphrase";

/// `tekkan --data-dir DIR <args>` on the database `db` and key store `keys`.
fn tekkan(dir: &Path, db: &Location, keys: &Location, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tekkan"))
        .args(args)
        .args(["--data-dir", dir.to_str().unwrap()])
        .env("TEKKAN_LOG__LEVEL", "warn")
        .env("TEKKAN_DATABASE__URL", db.url())
        .env("TEKKAN_DATABASE__KEYS_URL", keys.url())
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// `tekkan audit verify` passes on the database `db`, and its log extends `checkpoint`.
fn verified_against(dir: &Path, db: &Location, keys: &Location, checkpoint: &Path) {
    let (ok, out) = tekkan(
        dir,
        db,
        keys,
        &[
            "audit",
            "verify",
            "--checkpoint",
            checkpoint.to_str().unwrap(),
        ],
    );
    assert!(ok && out.contains("audit log OK"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_moves_to_another_engine_with_every_record_and_its_audit_log() {
    let app = TestApp::builder()
        .demo()
        .configure(|c| c.scheduler.checkpoint_ms = 100)
        .start()
        .await;
    let mut person = app.sign_up("引っ越す人", None).await;
    person.create_club("移転部").await;
    let (s, v) = person
        .api(
            Method::PUT,
            "/api/v1/me/personal",
            Some(json!({"fields": {"phone": "090-8765-4321"}})),
        )
        .await;
    assert!(s.is_success(), "{v}");
    // Published before the move: the moved log must still extend it.
    let (note, size) = signed_checkpoint(&app).await;
    let demo = app.running().demo_logins[0].clone();
    let (db0, keys0) = (app.location(), app.keystore_location());
    let dir = app.stop().await;
    let checkpoint = dir.path().join("published.note");
    std::fs::write(&checkpoint, &note).unwrap();
    let before = dump_at(&db0).await;

    // Hop 1: onto a SQLite file on another disk.
    let disk = tempfile::tempdir().unwrap();
    let db1 = Location::Sqlite(disk.path().join("moved.sqlite3"));
    let keys1 = Location::Sqlite(disk.path().join("moved-keys.sqlite3"));
    let (ok, out) = tekkan(
        dir.path(),
        &db0,
        &keys0,
        &["db", "copy", "--to", &db1.url(), "--keys-to", &keys1.url()],
    );
    assert!(ok, "{out}");
    assert!(
        out.contains("audit log OK") && out.contains("1 data keys"),
        "{out}"
    );
    let mode = |p: &Path| {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    };
    if let (Location::Sqlite(a), Location::Sqlite(b)) = (&db1, &keys1) {
        assert_eq!(
            (mode(a), mode(b)),
            (0o600, 0o600),
            "only the owner reads copies"
        );
    }
    // A destination that holds data, or the source itself, is refused.
    let (ok, out) = tekkan(
        dir.path(),
        &db0,
        &keys0,
        &["db", "copy", "--to", &db1.url(), "--keys-to", &keys1.url()],
    );
    assert!(!ok && out.contains("already holds data"), "{out}");
    let (ok, out) = tekkan(
        dir.path(),
        &db0,
        &keys0,
        &["db", "copy", "--to", &db0.url()],
    );
    assert!(!ok && out.contains("onto itself"), "{out}");

    // Hop 2: onto a new PostgreSQL database, made by the copy (or another file).
    let (db2, keys2) = match pg::cluster() {
        Some(cluster) => {
            let base = cluster.rsplit_once('/').unwrap().0;
            let name = format!("t_{}", unique("moved").replace('-', "_"));
            (
                Location::Postgres(format!("{base}/{name}")),
                Location::Postgres(format!("{base}/{name}_keys")),
            )
        }
        None => (
            Location::Sqlite(disk.path().join("again.sqlite3")),
            Location::Sqlite(disk.path().join("again-keys.sqlite3")),
        ),
    };
    let (ok, out) = tekkan(
        dir.path(),
        &db1,
        &keys1,
        &["db", "copy", "--to", &db2.url(), "--keys-to", &keys2.url()],
    );
    assert!(ok, "{out}");
    assert!(out.contains("audit log OK"), "{out}");
    // Every record arrived (the when-migrated bookkeeping excepted).
    let after = dump_at(&db2).await;
    for (table, rows) in before.iter().filter(|(t, _)| *t != "schema_migrations") {
        assert_eq!(
            Some(rows),
            after.get(table),
            "{table} differs after the move"
        );
    }
    // The planner knows the copied tables at once, without waiting for autovacuum.
    let mut c = tekkan_storage::sql::connect(&db2).await.unwrap();
    let unplanned: i64 = tekkan_storage::sql::scalar(if db2.is_postgres() {
        "SELECT COUNT(*) FROM pg_class WHERE relname IN ('accounts', 'audit_log') \
         AND relkind = 'r' AND reltuples < 0"
    } else {
        "SELECT 2 - COUNT(DISTINCT tbl) FROM sqlite_stat1 WHERE tbl IN ('accounts', 'audit_log')"
    })
    .fetch_one(&mut c)
    .await
    .unwrap();
    assert_eq!(unplanned, 0, "the copied tables have statistics");
    drop(c);
    // The log published before the move still holds.
    verified_against(dir.path(), &db2, &keys2, &checkpoint);

    // The server runs on the moved database: people sign in, sealed fields open,
    // writes are audited after the old entries, and a new checkpoint extends the old.
    let (u2, k2) = (db2.url(), keys2.url());
    let app = TestApp::builder()
        .configure(move |c| {
            c.database.url = Some(u2);
            c.database.keys_url = Some(k2);
            c.scheduler.checkpoint_ms = 100;
        })
        .data_dir(dir)
        .start()
        .await;
    assert_eq!(app.location(), db2);
    let (s, v) = app.log_in(&demo.email, &demo.password).await;
    assert!(s.is_success(), "{s} {v}");
    let (s, v) = app.log_in(&person.email, PW).await;
    assert!(s.is_success(), "{s} {v}");
    let mut moved = app.client();
    moved.bearer = Some(v["token"].as_str().unwrap().to_owned());
    let (_, v) = moved.api(Method::GET, "/api/v1/me/personal", None).await;
    assert_eq!(v["fields"]["phone"], "090-8765-4321", "{v}");
    moved.create_club("移転後の部").await;
    let (_, later) = signed_checkpoint(&app).await;
    assert!(later > size, "{later} > {size}");
    let dir = app.stop().await;
    verified_against(dir.path(), &db2, &keys2, &checkpoint);
    // The source was only read.
    assert_eq!(location_of(dir.path()), db0);
    assert_eq!(dump_at(&db0).await, before);
}
