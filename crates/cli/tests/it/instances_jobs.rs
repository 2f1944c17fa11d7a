//! Background work once across instances, with the leader killed midway: two
//! `tekkan serve` processes on one database take turns at due reminders; the one that
//! leads (signs checkpoints) is killed with SIGKILL while reminders are falling due;
//! the survivor takes the duty over within seconds, and every reminder reaches every
//! non-responder exactly once.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tekkan_storage::sql as raw;

use crate::support::fixture::{invite, jst_in_secs};
use crate::support::sign_up_at;

const EVENTS: i64 = 16;
const MEMBERS: usize = 5;

async fn leads_checkpoints(base: &str) -> bool {
    let Ok(r) = reqwest::get(format!("{base}/healthz")).await else {
        return false;
    };
    let v: Value = r.json().await.unwrap_or(Value::Null);
    v["leads"].to_string().contains("checkpoints")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reminders_go_out_exactly_once_when_the_leader_is_killed_midway() {
    tekkan_cli::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let fast = [
        ("TEKKAN_SCHEDULER__POLL_MS", "50"),
        ("TEKKAN_SCHEDULER__CHECKPOINT_MS", "200"),
    ];
    let serve = || crate::cli::serve_process(dir.path(), &fast);
    let (first, base_a) = serve();
    let (second, base_b) = serve();
    let mut owner = sign_up_at(&base_a, "顧問", None).await;
    let club = owner.create_club("剣道部").await;
    for i in 0..MEMBERS {
        let token = invite(&mut owner, &club, "member", false).await;
        let base = if i % 2 == 0 { &base_a } else { &base_b };
        sign_up_at(base, "部員", Some(&token)).await;
    }

    // Events whose reminders fall due one after another over four seconds, starting
    // once all are made; nobody answers, so everyone (owner included) is reminded.
    let made = Instant::now();
    for i in 0..EVENTS {
        let due_in = 6 + i / 4;
        let body = json!({"title": format!("稽古 {i}"),
            "starts_at": jst_in_secs(7200 + due_in), "ends_at": jst_in_secs(9000 + due_in),
            "deadline_before_min": 60, "reminders": [60]});
        if i % 2 == 1 {
            owner.base = base_b.clone();
        } else {
            owner.base = base_a.clone();
        }
        let (s, v) = owner
            .api(
                Method::POST,
                &format!("/api/v1/clubs/{club}/events"),
                Some(body),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    assert!(
        made.elapsed() < Duration::from_secs(5),
        "events made in time"
    );

    // Kill whichever instance leads, once the first reminders have gone out.
    let mut db = crate::support::raw_db_at(dir.path()).await;
    let reminded = async |db: &mut raw::Conn| -> i64 {
        raw::scalar("SELECT COUNT(*) FROM notifications WHERE kind = 'reminder'")
            .fetch_one(db)
            .await
            .unwrap()
    };
    while reminded(&mut db).await == 0 {
        assert!(
            made.elapsed() < Duration::from_secs(20),
            "no reminder went out"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (mut leader, survivor, survivor_base) = if leads_checkpoints(&base_a).await {
        (first, second, base_b.clone())
    } else {
        (second, first, base_a.clone())
    };
    let at_kill = reminded(&mut db).await;
    leader.kill().unwrap();
    let killed = Instant::now();
    leader.wait().unwrap();
    let mut survivor = survivor;
    while !leads_checkpoints(&survivor_base).await {
        assert!(killed.elapsed() < Duration::from_secs(10), "no takeover");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let takeover = killed.elapsed();

    // Every reminder job done; each person reminded of each event exactly once.
    let people = (MEMBERS + 1) as i64;
    let expected = EVENTS * people;
    let start = Instant::now();
    while reminded(&mut db).await < expected && start.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        reminded(&mut db).await,
        expected,
        "one reminder per person and event"
    );
    let most: i64 = raw::scalar(
        "SELECT COALESCE(MAX(n), 0) FROM (SELECT COUNT(*) AS n FROM notifications \
         WHERE kind = 'reminder' GROUP BY account_id, url) t",
    )
    .fetch_one(&mut db)
    .await
    .unwrap();
    assert_eq!(most, 1, "nobody is reminded twice of one event");
    let pending: i64 = raw::scalar("SELECT COUNT(*) FROM reminder_jobs WHERE done_at IS NULL")
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(pending, 0);
    eprintln!(
        "{at_kill} of {expected} reminders out when the leader was killed; \
         checkpoint signing taken over in {} ms",
        takeover.as_millis()
    );
    assert!(
        at_kill < expected,
        "the kill came while reminders were falling due"
    );
    drop(db);
    crate::cli::sigterm(&mut survivor);
    let (ok, out) = crate::support::tekkan_on(&["audit", "verify"], dir.path());
    assert!(ok, "{out}");
}
