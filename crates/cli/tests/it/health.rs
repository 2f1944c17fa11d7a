//! `/healthz` tells the truth: degraded (503) while the audit chain is broken or a
//! table's b-tree is corrupt, with the reasons only for this machine, and ok again once
//! a check passes.

use reqwest::StatusCode;
use serde_json::Value;
use tekkan_storage::sql as raw;

use crate::support::TestApp;

async fn healthz(base: &str) -> (StatusCode, Value) {
    let res = reqwest::get(format!("{base}/healthz")).await.unwrap();
    let s = res.status();
    (s, res.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_reports_a_broken_chain_and_a_corrupt_btree() {
    let app = TestApp::start().await;
    let mut owner = app.sign_up("健康", None).await;
    owner.create_club("陸上部").await;
    let live = &app.running().app;
    assert!(live.run_health_check().await.unwrap());
    // Writes going on during a check are no fault (the check walks up to the head it
    // read first).
    let mut writer = owner.clone();
    let writes = tokio::spawn(async move {
        for i in 0..40 {
            writer.create_club(&format!("同時{i}")).await;
        }
    });
    while !writes.is_finished() {
        assert!(
            live.run_health_check().await.unwrap(),
            "{:?}",
            live.health_faults()
        );
    }
    writes.await.unwrap();
    let (s, v) = healthz(&app.base).await;
    assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("ok")));

    // An audit entry edited in place: the next check finds it.
    let mut db = app.raw_db().await;
    crate::support::exec(&mut db, "DROP TRIGGER audit_log_no_update").await;
    raw::q("UPDATE audit_log SET target = 'club:forged' WHERE seq = 2")
        .execute(&mut db)
        .await
        .unwrap();
    assert!(!live.run_health_check().await.unwrap());
    let (s, v) = healthz(&app.base).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(v["status"], "degraded");
    let reasons = v["reasons"].to_string();
    assert!(
        reasons.contains("audit_chain") && reasons.contains("entry 2"),
        "{v}"
    );
    // It is a detection too (SYS1), audited within the detector's next look.
    let started = std::time::Instant::now();
    loop {
        app.settle_log().await;
        if app.audit_count("detection.SYS1").await == 1 {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(15),
            "no SYS1 detection"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // Another person's client (not this machine's agent, not an operator) sees only
    // that it is degraded.
    let mut other = owner.clone();
    let p = other
        .raw(
            reqwest::Method::GET,
            "/healthz",
            &[("x-forwarded-for", "203.0.113.9")],
            Vec::new(),
        )
        .await;
    assert_eq!(p.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(!p.body.contains("reasons"), "{}", p.body);
    drop(db);
    // What follows tears a page of SQLite's file; on PostgreSQL runs the broken chain
    // above is the test (its storage checks, checksums and amcheck, see
    // `Db::quick_check`, need a cluster of their own to corrupt).
    if crate::support::pg::cluster().is_some() {
        return;
    }

    // A fresh server whose sessions index has a torn page: the check at start-up finds
    // it (the file is closed and checkpointed by then).
    let app2 = TestApp::start().await;
    app2.sign_up("索引", None).await;
    let dir = app2.stop().await;
    let file = dir.path().join("tekkan.sqlite3");
    let (root, page_size): (i64, i64) = {
        let mut c = crate::support::raw_sqlite(&file).await;
        let root = raw::scalar(
            "SELECT rootpage FROM sqlite_master WHERE type = 'index' AND tbl_name = 'sessions' LIMIT 1",
        )
        .fetch_one(&mut c)
        .await
        .unwrap();
        let ps = raw::scalar("PRAGMA page_size")
            .fetch_one(&mut c)
            .await
            .unwrap();
        c.close().await.unwrap();
        (root, ps)
    };
    let mut bytes = std::fs::read(&file).unwrap();
    let at = ((root - 1) * page_size) as usize;
    // The page header's type byte: not one of the four b-tree page types.
    bytes[at] = 0x07;
    std::fs::write(&file, bytes).unwrap();
    let app3 = TestApp::builder().data_dir(dir).start().await;
    let mut found = Value::Null;
    for _ in 0..100 {
        let (s, v) = healthz(&app3.base).await;
        if s == StatusCode::SERVICE_UNAVAILABLE {
            found = v;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(found["status"], "degraded", "{found}");
    assert!(
        found["reasons"].to_string().contains("integrity"),
        "{found}"
    );
}
