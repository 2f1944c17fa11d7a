//! PostgreSQL restarted under write load, on a cluster of the test's own (PostgreSQL
//! runs of the suite; SQLite has no server to restart, and its own faults are tested in
//! `disk_full` and `rollback`). While the server is down every write gets a clear 503
//! and `/healthz` says degraded on both instances; when it is back both instances
//! reconnect by themselves; every acknowledged write is there with its audit entry, and
//! nothing is half-written.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tekkan_storage::sql as raw;

use crate::support::fixture::{event, join};
use crate::support::pg::{OwnCluster, cluster};
use crate::support::{Client, TestApp, code};

/// One write: (its number, status, error code, id of the comment when acknowledged).
type Outcome = (usize, StatusCode, String, Option<String>);

async fn healthz(app: &TestApp) -> (StatusCode, Value) {
    let r = reqwest::get(format!("{}/healthz", app.own_url()))
        .await
        .unwrap();
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn until(what: &str, limit: Duration, mut f: impl AsyncFnMut() -> bool) {
    let start = Instant::now();
    while !f().await {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_restarted_mid_load_gives_503_then_both_instances_reconnect_and_nothing_is_half_written()
 {
    if cluster().is_none() {
        eprintln!("PostgreSQL runs only: SQLite has no server to restart");
        return;
    }
    let pg = OwnCluster::start();
    let url = pg.database("tekkan");
    let a = TestApp::builder()
        .configure(|c| c.database.url = Some(url.clone()))
        .start()
        .await;
    let b = TestApp::builder().instance_of(&a).start().await;
    let mut owner = a.sign_up("部長", None).await;
    let club = owner.create_club("陸上部").await;
    let (_, occ) = event(&mut owner, &club).await;
    let path = format!("/api/v1/clubs/{club}/occurrences/{occ}/comments");

    // Four writers, two on each instance, each posting numbered comments until told.
    let stop = Arc::new(AtomicBool::new(false));
    let next = Arc::new(AtomicUsize::new(0));
    let mut writers = Vec::new();
    for i in 0..4 {
        let (mut c, _) = join(&a, &mut owner, &club, "member", false).await;
        if i % 2 == 1 {
            c.base = b.base.clone();
        }
        let (stop, next, path) = (stop.clone(), next.clone(), path.clone());
        writers.push(tokio::spawn(async move {
            let mut seen: Vec<Outcome> = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let body = json!({"body": format!("load-{n}")});
                let (s, v) = c.api(Method::POST, &path, Some(body)).await;
                let id = v["id"].as_str().map(str::to_owned);
                seen.push((n, s, code(&v).to_owned(), id));
                if s != StatusCode::CREATED {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
            (c, seen)
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(next.load(Ordering::Relaxed) > 10, "the load is running");

    // Down: every instance says degraded, naming the database, and writes get 503.
    pg.stop();
    let down_at = Instant::now();
    for app in [&a, &b] {
        until(
            "degraded while PostgreSQL is down",
            Duration::from_secs(30),
            async || {
                let (s, v) = healthz(app).await;
                s == StatusCode::SERVICE_UNAVAILABLE
                    && v["status"] == "degraded"
                    && v["reasons"][0]["check"] == "database"
            },
        )
        .await;
    }
    let mut probe = owner.clone();
    for base in [&a.base, &b.base] {
        probe.base = base.clone();
        let (s, v) = probe
            .api(Method::POST, &path, Some(json!({"body": "while down"})))
            .await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            "{v}"
        );
    }
    let before_restart = next.load(Ordering::Relaxed);
    eprintln!("down: degraded and 503 seen within {:?}", down_at.elapsed());

    // Back: both instances reconnect by themselves and take writes again.
    pg.start_again();
    for app in [&a, &b] {
        until(
            "healthy once PostgreSQL is back",
            Duration::from_secs(30),
            async || healthz(app).await.0 == StatusCode::OK,
        )
        .await;
    }
    eprintln!(
        "PostgreSQL down and back: healthy again after {:?}",
        down_at.elapsed()
    );
    until(
        "writes acknowledged again",
        Duration::from_secs(30),
        async || next.load(Ordering::Relaxed) > before_restart + 20,
    )
    .await;
    stop.store(true, Ordering::Relaxed);
    let mut outcomes: Vec<Outcome> = Vec::new();
    let mut clients: Vec<Client> = Vec::new();
    for w in writers {
        let (c, seen) = w.await.unwrap();
        clients.push(c);
        outcomes.extend(seen);
    }

    // Only acknowledgements and clear refusals; writes went through on both instances
    // after the restart.
    for (n, s, code, _) in &outcomes {
        assert!(
            *s == StatusCode::CREATED
                || (*s == StatusCode::SERVICE_UNAVAILABLE && code == "unavailable"),
            "write {n}: {s} {code}"
        );
    }
    let refused = outcomes
        .iter()
        .filter(|o| o.1 != StatusCode::CREATED)
        .count();
    assert!(refused > 0, "some writes met the database down");
    for (i, c) in clients.iter_mut().enumerate() {
        let (s, v) = c
            .api(
                Method::POST,
                &path,
                Some(json!({"body": format!("after-{i}")})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "writer {i} after the restart: {v}");
    }

    // Every acknowledged comment is there; every comment there has its one audit
    // entry (nothing half-written); the chain and the row seals verify.
    let mut db = a.raw_db().await;
    let stored: BTreeSet<String> = raw::scalar("SELECT id FROM comments")
        .fetch_all(&mut db)
        .await
        .unwrap()
        .into_iter()
        .collect();
    let acks: Vec<&String> = outcomes.iter().filter_map(|o| o.3.as_ref()).collect();
    for id in &acks {
        assert!(stored.contains(*id), "acknowledged comment {id} is missing");
    }
    let audited: BTreeSet<String> =
        raw::scalar("SELECT substr(target, 9) FROM audit_log WHERE action = 'comment.add'")
            .fetch_all(&mut db)
            .await
            .unwrap()
            .into_iter()
            .collect();
    assert_eq!(
        stored, audited,
        "every comment has its entry, and no entry lacks its comment"
    );
    assert!(
        a.running().app.run_health_check().await.unwrap(),
        "{:?}",
        a.running().app.health_faults()
    );
    eprintln!(
        "{} writes: {} acknowledged, {refused} refused with 503",
        outcomes.len(),
        acks.len()
    );
    drop(db);
    b.stop_instance().await;
    a.stop().await;
}
