//! One audit log written by two instances at once. Writes of one club are serialised
//! (its capacity holds), every acknowledged write carries a receipt at once, and on
//! PostgreSQL every promised entry gets its position within the promised delay without
//! anyone reading the log; the outside verifier then checks the one chain. A queued
//! entry slipped in without the server's key is never linked as it is.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::json;
use tekkan_audit::signed::AnyReceipt;
use tekkan_storage::audit_queue::MAX_MERGE_DELAY_MS;
use tekkan_storage::sql as raw;

use crate::support::fixture::{join, jst_in_days};
use crate::support::{Client, TestApp, tekkan_on};
// `Client::new` for the processes started by `spawn_serve`.

/// Members who answer at once, for an event with room for `PLACES`.
const MEMBERS: usize = 12;
const PLACES: usize = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_write_one_chain_with_every_receipt_placed_in_time() {
    let a = TestApp::builder()
        .configure(|c| c.scheduler.checkpoint_ms = 200)
        .start()
        .await;
    let b = TestApp::builder()
        .instance_of(&a)
        .configure(|c| c.scheduler.checkpoint_ms = 200)
        .start()
        .await;
    let mut owner = a.sign_up("部長", None).await;
    let club = owner.create_club("吹奏楽部").await;
    let body = json!({"title": "定期演奏会", "capacity": PLACES,
        "starts_at": jst_in_days(3, 13, 0), "ends_at": jst_in_days(3, 16, 0)});
    let (s, v) = owner
        .api(
            Method::POST,
            &format!("/api/v1/clubs/{club}/events"),
            Some(body),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let occ = v["occurrences"][0]["id"].as_str().unwrap().to_owned();
    let mut members: Vec<(Client, String)> = Vec::new();
    for i in 0..MEMBERS {
        let (mut c, m) = join(&a, &mut owner, &club, "member", false).await;
        // Every other member talks to the other instance.
        if i % 2 == 1 {
            c.base = b.base.clone();
        }
        members.push((c, m));
    }

    // Everyone answers 出席 at the same moment, half of them through each instance.
    let answers = members.into_iter().map(|(mut c, m)| {
        let path = format!("/api/v1/clubs/{club}/occurrences/{occ}/answers/{m}");
        async move {
            let p = c
                .api_page(Method::PUT, &path, Some(json!({"status": "yes"})), &[])
                .await;
            let at = Instant::now();
            let receipts: Vec<String> = p
                .headers
                .get_all("tekkan-receipt")
                .iter()
                .map(|v| v.to_str().unwrap().to_owned())
                .collect();
            (p.status, p.json(), receipts, at)
        }
    });
    let done = futures_util::future::join_all(answers).await;
    let mut statuses = Vec::new();
    let mut receipts = Vec::new();
    for (s, v, rs, at) in done {
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(rs.len(), 1, "one receipt per acknowledged write");
        statuses.push(v["status"].as_str().unwrap().to_owned());
        receipts.push((rs[0].clone(), at));
    }
    // The club's writes were serialised across the instances: its capacity held.
    let placed = statuses.iter().filter(|s| *s == "yes").count();
    let queued = statuses.iter().filter(|s| *s == "waitlisted").count();
    assert_eq!((placed, queued), (PLACES, MEMBERS - PLACES), "{statuses:?}");

    // Each receipt's entry has its place within the promised delay, found through a
    // plain connection that integrates nothing itself.
    let mut db = raw::connect(&a.location()).await.unwrap();
    let mut slowest = Duration::ZERO;
    for (receipt, at) in &receipts {
        if let AnyReceipt::Promised(p) = AnyReceipt::parse(receipt).unwrap() {
            assert_eq!(p.mmd_ms, MAX_MERGE_DELAY_MS);
        }
        wait_until_placed(&mut db, receipt, *at).await;
        slowest = slowest.max(at.elapsed());
    }
    eprintln!(
        "slowest promised entry placed after {} ms",
        slowest.as_millis()
    );

    // A queued entry put in by hand (no key, no MAC) is refused: the chain records the
    // refusal in its place, and the forged action is nowhere. (SQLite's writes link
    // their entries at once; nothing there reads the queue.)
    if a.running().app.db().backend() == "postgres" {
        raw::q(
            "INSERT INTO audit_queue (ts_ms, club_id, action, target, change_digest, mac) \
             VALUES (1, $1, 'member.role_change', 'membership:forged', $2, $2)",
        )
        .bind(&club)
        .bind("00".repeat(32))
        .execute(&mut db)
        .await
        .unwrap();
        let mut db = a.raw_db().await;
        let forged: Vec<String> = raw::scalar("SELECT target FROM audit_log WHERE action = $1")
            .bind("audit.queue_forgery")
            .fetch_all(&mut db)
            .await
            .unwrap();
        let smuggled: i64 =
            raw::scalar("SELECT COUNT(*) FROM audit_log WHERE target = 'membership:forged'")
                .fetch_one(&mut db)
                .await
                .unwrap();
        let left: i64 = raw::scalar("SELECT COUNT(*) FROM audit_queue")
            .fetch_one(&mut db)
            .await
            .unwrap();
        assert_eq!((forged.len(), smuggled, left), (1, 0, 0), "{forged:?}");
        assert!(forged[0].starts_with("audit_queue:"));
    }

    // The outside verifier checks the one chain both instances wrote. (No checkpoint is
    // asked for here: on SQLite both test instances sign their own, as one process on
    // one file always does, and two such would race; the verifier needs none.)
    a.settle_log().await;
    b.stop_instance().await;
    let dir = a.stop().await;
    let (ok, out) = tekkan_on(&["audit", "verify"], dir.path());
    assert!(ok, "{out}");
}

/// Requests given up while waiting for another write (the server's own request timeout
/// drops them mid-wait) leave nothing held: the next writes of the same club and item go
/// through at once, and no session is left idle inside a transaction with its locks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_dropped_while_waiting_for_a_write_lock_leave_nothing_held() {
    let app = TestApp::builder()
        .configure(|c| c.server.request_timeout_secs = 1)
        .start()
        .await;
    let mut owner = app.sign_up("部長", None).await;
    let club = owner.create_club("陸上部").await;
    let (_, occ) = crate::support::fixture::event(&mut owner, &club).await;
    let (mut member, m) = join(&app, &mut owner, &club, "member", false).await;
    let path = format!("/api/v1/clubs/{club}/occurrences/{occ}/answers/{m}");

    let mut lock = app.raw_db().await;
    crate::support::hold_writes(&mut lock).await;
    let waiting = (0..4).map(|_| {
        let mut c = member.clone();
        let path = path.clone();
        async move {
            c.api(Method::PUT, &path, Some(json!({"status": "no"})))
                .await
                .0
        }
    });
    let given_up = futures_util::future::join_all(waiting).await;
    assert!(
        given_up
            .iter()
            .all(|s| *s == StatusCode::REQUEST_TIMEOUT || *s == StatusCode::SERVICE_UNAVAILABLE),
        "{given_up:?}"
    );
    raw::q("ROLLBACK").execute(&mut lock).await.unwrap();

    // The same item, at once (well within the one-second request timeout).
    for status in ["yes", "no", "yes"] {
        let (s, v) = member
            .api(Method::PUT, &path, Some(json!({"status": status})))
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    if app.running().app.db().backend() == "postgres" {
        // Between two statements any transaction is idle for a moment; one left behind
        // by a dropped request stays so.
        let idle: i64 = raw::scalar(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = 'tekkan' \
             AND state = 'idle in transaction' AND datname = current_database() \
             AND now() - state_change > interval '2 seconds'",
        )
        .fetch_one(&mut lock)
        .await
        .unwrap();
        assert_eq!(idle, 0);
    }
}

/// Two `tekkan serve` processes on one database under a stream of comments, one of
/// them killed with SIGKILL midway: every comment either instance acknowledged is there
/// afterwards, every receipt's entry is in the chain (the survivor integrates what the
/// dead one queued), and the outside verifier finds the chain whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_one_instance_under_writes_loses_no_acknowledged_write() {
    tekkan_cli::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let serve = || crate::cli::serve_process(dir.path(), &[]);
    let (mut doomed, base_a) = serve();
    let (mut survivor, base_b) = serve();

    let mut owner = Client::new(&base_a);
    let body = json!({"email": "kill9-two@example.jp", "display_name": "部長",
        "password": "a long enough passphrase"});
    let (s, v) = owner
        .api(Method::POST, "/api/v1/accounts", Some(body))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let token = v["token"].as_str().unwrap().to_owned();
    owner.bearer = Some(token.clone());
    let club = owner.create_club("放送部").await;
    let (_, occ) = crate::support::fixture::event(&mut owner, &club).await;
    let path = format!("/api/v1/clubs/{club}/occurrences/{occ}/comments");

    // Four writers, two on each instance; the first instance dies while they write.
    let http = reqwest::Client::new();
    let on_doomed = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let writer = |base: String, n: usize| {
        let (http, token, path) = (http.clone(), token.clone(), path.clone());
        let counter = (base == base_a).then(|| on_doomed.clone());
        async move {
            let mut acknowledged = Vec::new();
            for i in 0..n {
                let r = http
                    .post(format!("{base}{path}"))
                    .bearer_auth(&token)
                    .json(&json!({"body": format!("実況 {i}")}))
                    .send()
                    .await;
                let Ok(r) = r else { continue };
                if r.status() != StatusCode::CREATED {
                    continue;
                }
                let receipt = r.headers()["tekkan-receipt"].to_str().unwrap().to_owned();
                let v: serde_json::Value = r.json().await.unwrap();
                acknowledged.push((v["id"].as_str().unwrap().to_owned(), receipt));
                if let Some(c) = &counter {
                    c.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
            acknowledged
        }
    };
    let load = futures_util::future::join_all([
        writer(base_a.clone(), 150),
        writer(base_a.clone(), 150),
        writer(base_b.clone(), 150),
        writer(base_b.clone(), 150),
    ]);
    // Killed once it has acknowledged some writes, while it is taking more.
    let kill = async {
        while on_doomed.load(std::sync::atomic::Ordering::Relaxed) < 20 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        doomed.kill().unwrap();
        doomed.wait().unwrap();
    };
    let (done, ()) = tokio::join!(load, kill);
    let done_on_b = done[2].len() + done[3].len();
    let acknowledged: Vec<(String, String)> = done.into_iter().flatten().collect();
    assert!(acknowledged.len() > 300, "{}", acknowledged.len());
    let on_a = acknowledged.len() - done_on_b;
    eprintln!(
        "acknowledged {} writes, {on_a} of them by the killed instance",
        acknowledged.len()
    );
    assert!(
        (20..300).contains(&on_a),
        "the kill came mid-load: {on_a} of 300 on it"
    );

    // Every acknowledged comment is served by the survivor.
    let mut reader = Client::new(&base_b);
    reader.bearer = Some(token.clone());
    let (s, v) = reader.api(Method::GET, &path, None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let listed = v.to_string();
    for (id, _) in &acknowledged {
        assert!(
            listed.contains(id.as_str()),
            "acknowledged comment {id} is gone"
        );
    }
    // Every receipt's entry is in the chain within the promised delay.
    let mut db = crate::support::raw_db_at(dir.path()).await;
    let started = Instant::now();
    for (_, receipt) in &acknowledged {
        wait_until_placed(&mut db, receipt, started).await;
    }
    drop(db);
    crate::cli::sigterm(&mut survivor);
    let (ok, out) = tekkan_on(&["audit", "verify"], dir.path());
    assert!(ok, "{out}");
}

/// Waits for the entry `receipt` is for to be in the chain: at once for a receipt that
/// names its position (placed at commit), within the promised delay after `since` for a
/// promise.
async fn wait_until_placed(db: &mut raw::Conn, receipt: &str, since: Instant) {
    let (sql, key, patience) = match AnyReceipt::parse(receipt).unwrap() {
        AnyReceipt::Placed(r) => (
            "SELECT COUNT(*) FROM audit_log WHERE seq = CAST($1 AS BIGINT)",
            (r.index + 1).to_string(),
            Duration::ZERO,
        ),
        AnyReceipt::Promised(p) => (
            "SELECT COUNT(*) FROM audit_log WHERE content_hash = $1",
            tekkan_audit::to_hex(&p.content),
            Duration::from_millis(MAX_MERGE_DELAY_MS),
        ),
    };
    loop {
        let n: i64 = raw::scalar(sql)
            .bind(&key)
            .fetch_one(&mut *db)
            .await
            .unwrap();
        if n == 1 {
            return;
        }
        assert!(
            since.elapsed() < patience,
            "receipt {receipt}: its entry is not in the chain"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
