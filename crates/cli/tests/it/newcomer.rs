//! A newcomer's first hour: the links the server prints work for passkeys (they name
//! `localhost`, not an address browsers refuse as a relying party), and `--demo` on a
//! data directory that already holds data says why it seeded nothing. The demo club
//! has a month of life in it, so no page starts empty.

use crate::support::TestApp;
use tekkan_storage::sql as raw;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn printed_links_name_localhost_and_a_skipped_demo_says_why() {
    let app = TestApp::start().await;
    let r = app.running();
    assert!(
        r.base_url.starts_with("http://localhost:"),
        "{}",
        r.base_url
    );
    let setup = r.setup_url.clone().unwrap();
    assert!(setup.starts_with("http://localhost:"), "{setup}");
    assert!(r.demo_skipped.is_none());
    // The link opens (localhost reaches the loopback listener).
    let res = reqwest::get(&setup).await.unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::OK);

    let dir = app.stop().await;
    let app = TestApp::builder().demo().data_dir(dir).start().await;
    let r = app.running();
    assert!(r.demo_logins.is_empty());
    let why = r.demo_skipped.as_deref().expect("a reason");
    assert!(why.contains("already holds data"), "{why}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_club_has_a_lively_month() {
    use reqwest::Method;
    let app = TestApp::builder().demo().start().await;
    let login = app
        .running()
        .demo_logins
        .iter()
        .find(|l| l.email.starts_with("tanaka.hina@"))
        .unwrap()
        .clone();
    let (s, v) = app.log_in(&login.email, &login.password).await;
    assert_eq!(s, reqwest::StatusCode::CREATED, "{v}");
    let mut c = app.client();
    c.bearer = Some(v["token"].as_str().unwrap().to_owned());
    let (_, clubs) = c.api(Method::GET, "/api/v1/clubs", None).await;
    let club = clubs[0]["club"]["id"].as_str().unwrap().to_owned();
    // Practice to come, some answered by this member and some waiting for an answer,
    // and a Saturday rehearsal.
    let (_, schedule) = c.api(Method::GET, "/api/v1/me/schedule", None).await;
    let items = schedule.as_array().unwrap();
    assert!(items.len() >= 10, "{schedule}");
    let titles: Vec<&str> = items
        .iter()
        .map(|i| i["occurrence"]["title"].as_str().unwrap())
        .collect();
    assert!(titles.contains(&"合奏練習") && titles.contains(&"定期演奏会 合同リハーサル"));
    assert!(items.iter().any(|i| i["status"].is_null()), "{schedule}");
    let answered = items.iter().filter(|i| !i["status"].is_null()).count();
    assert!(answered >= 1, "{schedule}");
    assert!(
        items
            .iter()
            .all(|i| i["tally"]["yes"].as_i64().unwrap() >= 0)
    );
    // An announcement awaiting this member's 確認, with comments, and a pinned one.
    let (_, list) = c
        .api(
            Method::GET,
            &format!("/api/v1/clubs/{club}/announcements"),
            None,
        )
        .await;
    let list = list.as_array().unwrap();
    assert!(list.iter().any(|a| a["requires_confirmation"] == true
        && a["confirmed"] == false
        && a["comments"].as_i64() >= Some(2)));
    assert!(
        list.iter()
            .any(|a| a["pinned"] == true && a["read"] == true)
    );
    // An open poll that others have voted in.
    let (_, polls) = c
        .api(Method::GET, &format!("/api/v1/clubs/{club}/polls"), None)
        .await;
    assert!(polls.as_array().unwrap().iter().any(|p| p["open"] == true
        && p["voters"].as_i64() >= Some(3)
        && p["options"].as_array().unwrap().len() == 3));
    // Weeks of past practice with answers, and comments on the next one.
    let mut db = app.raw_db().await;
    let now = tekkan_storage::now_ms();
    let (past, answers): (i64, i64) = crate::support::tuple(
        raw::q(
            "SELECT COUNT(DISTINCT o.id), COUNT(a.membership_id) FROM occurrences o \
         LEFT JOIN answers a ON a.occurrence_id = o.id WHERE o.ends_at < $1",
        )
        .bind(now),
        &mut db,
    )
    .await;
    assert!(past >= 10 && answers >= 8 * past, "{past} {answers}");
    let on_practice: i64 =
        raw::scalar("SELECT COUNT(*) FROM comments WHERE parent_kind = 'occurrence'")
            .fetch_one(&mut db)
            .await
            .unwrap();
    assert_eq!(on_practice, 2);
}
