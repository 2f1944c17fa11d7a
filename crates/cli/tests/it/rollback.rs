//! A rolled-back database is noticed by the server itself: the newest signed checkpoint
//! is kept beside the keys, and a database behind it (here, an older copy of the file
//! put back, as a truncated WAL or a careless restore would leave it) gets no writes,
//! and `/healthz` says why, until the operator runs `tekkan audit accept-rollback`.

use reqwest::StatusCode;
use serde_json::Value;
use tekkan_storage::sql as raw;

use crate::support::{TestApp, code, tekkan_on};
use crate::transparency::signed_checkpoint;

const PW: &str = "a long enough passphrase";

fn saved_size(dir: &std::path::Path) -> u64 {
    std::fs::read_to_string(dir.join("secrets").join("latest-checkpoint"))
        .ok()
        .and_then(|n| n.lines().nth(1)?.parse().ok())
        .unwrap_or(0)
}

/// Waits until the file beside the keys holds a checkpoint over `size` entries or more.
async fn saved_at_least(dir: &std::path::Path, size: u64) {
    for _ in 0..200 {
        if saved_size(dir) >= size {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no saved checkpoint over {size} entries");
}

async fn healthz(base: &str) -> (StatusCode, Value) {
    let res = reqwest::get(format!("{base}/healthz")).await.unwrap();
    let s = res.status();
    (s, res.json().await.unwrap())
}

fn fast(c: &mut tekkan_cli::config::Config) {
    c.scheduler.checkpoint_ms = 100;
}

async fn restart(dir: tempfile::TempDir) -> TestApp {
    TestApp::builder()
        .configure(fast)
        .data_dir(dir)
        .start()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_behind_its_signed_checkpoint_gets_no_writes_until_the_operator_decides() {
    let app = TestApp::builder().configure(fast).start().await;
    let mut owner = app.sign_up("部長", None).await;
    owner.create_club("水泳部").await;
    let (_, size) = signed_checkpoint(&app).await;
    let dir = app.data_dir();
    saved_at_least(&dir, size).await;
    // An older copy of the database, as it was here.
    let old = crate::support::pg::OlderCopy::of(&dir).await;
    // Acknowledged writes after it, signed and saved.
    owner.create_club("水球部").await;
    let (_, later) = signed_checkpoint(&app).await;
    assert!(later > size);
    saved_at_least(&dir, later).await;
    let email = owner.email.clone();
    let dir = app.stop().await;

    // Put back the older database: every write after it is silently gone.
    old.put_back(dir.path());

    let app = restart(dir).await;
    let (s, v) = healthz(&app.base).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    let reasons = v["reasons"].to_string();
    assert!(
        reasons.contains("rollback") && reasons.contains("behind its newest signed checkpoint"),
        "{v}"
    );
    // Reads go on; a write (signing in makes a session) is refused with a clear 503.
    let r = app.client().get("/transparency/checkpoint").await;
    assert_eq!(r.status, StatusCode::OK);
    let (s, v) = app.log_in(&email, PW).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::SERVICE_UNAVAILABLE, "writes_held")
    );
    let before = app.audit_count("audit.rollback_accepted").await;
    assert_eq!(before, 0);
    // A restart does not forget: the decision is the operator's.
    let dir = app.stop().await;
    let app = restart(dir).await;
    let (s, _) = healthz(&app.base).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    let dir = app.stop().await;

    // The operator keeps the database as it is: logged, and writes resume.
    let (ok, text) = tekkan_on(&["audit", "accept-rollback"], dir.path());
    assert!(ok && text.contains("rollback accepted"), "{text}");
    let (ok, text) = tekkan_on(&["audit", "accept-rollback"], dir.path());
    assert!(ok && text.contains("nothing to accept"), "{text}");
    let app = restart(dir).await;
    let (s, v) = healthz(&app.base).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app.log_in(&email, PW).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(app.audit_count("audit.rollback_accepted").await, 1);
    let dir = app.stop().await;
    let (ok, text) = tekkan_on(&["audit", "verify"], dir.path());
    assert!(ok, "{text}");
}

/// The reviewer's case: writes acknowledged, the server killed, its WAL truncated. The
/// database silently goes back; the server notices at the next start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_wal_after_kill_9_is_noticed_at_the_next_start() {
    tekkan_cli::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap().to_owned();
    let env = [
        ("TEKKAN_ACCOUNTS__OPEN_SIGNUP", "true"),
        ("TEKKAN_ACCOUNTS__ENFORCE_MFA", "false"),
        ("TEKKAN_ACCOUNTS__CONFIRM_SIGNUP", "false"),
        ("TEKKAN_SCHEDULER__CHECKPOINT_MS", "100"),
    ];
    let serve = || {
        let (child, lines) = crate::cli::spawn_serve(
            &["serve", "--listen", "127.0.0.1:0", "--data-dir", &d],
            &env,
        );
        let line = lines
            .iter()
            .find(|l| l.contains("/setup?token="))
            .unwrap_or_else(|| panic!("{lines:?}"));
        let base = line[line.find("http").unwrap()..line.find("/setup").unwrap()].to_owned();
        (child, base)
    };
    let (child, base) = serve();
    let mut owner = crate::support::Client::new(&base);
    let body = serde_json::json!({"email": "wal@example.jp", "display_name": "部長",
        "password": PW});
    let (s, v) = owner
        .api(reqwest::Method::POST, "/api/v1/accounts", Some(body))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    owner.bearer = Some(v["token"].as_str().unwrap().to_owned());
    for i in 0..20 {
        owner.create_club(&format!("部{i}")).await;
    }
    // Signed and saved beside the keys, then kill -9 and the WAL cut off.
    let want = {
        let mut db = crate::support::raw_sqlite(&dir.path().join("tekkan.sqlite3")).await;
        let n: i64 = raw::scalar("SELECT COUNT(*) FROM audit_log")
            .fetch_one(&mut db)
            .await
            .unwrap();
        n as u64
    };
    saved_at_least(dir.path(), want).await;
    let mut child = child;
    child.kill().unwrap();
    child.wait().unwrap();
    let wal = dir.path().join("tekkan.sqlite3-wal");
    assert!(
        std::fs::metadata(&wal).unwrap().len() > 0,
        "the writes are in the WAL"
    );
    std::fs::OpenOptions::new()
        .write(true)
        .open(&wal)
        .unwrap()
        .set_len(0)
        .unwrap();

    let app = TestApp::builder().data_dir(dir).start().await;
    let (s, v) = healthz(&app.base).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    assert!(
        v["reasons"]
            .to_string()
            .contains("behind its newest signed checkpoint"),
        "{v}"
    );
    let (s, v) = app.log_in("wal@example.jp", PW).await;
    assert_ne!(s, StatusCode::CREATED, "{v}");
}
