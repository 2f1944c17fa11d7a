//! Live state is verifiable: a row changed outside TEKKAN (a byte flipped in the file, a
//! hand-run UPDATE, a row inserted by hand) no longer matches the seal its audited
//! write left. The server's scrub reports it (`/healthz` degraded, a security event in
//! the log), a later audited write does not launder it, and `tekkan audit verify` names
//! it.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tekkan_storage::sql as raw;

use crate::support::fixture::{event, join};
use crate::support::{TestApp, tekkan_on};

async fn healthz(base: &str) -> (StatusCode, Value) {
    let res = reqwest::get(format!("{base}/healthz")).await.unwrap();
    let s = res.status();
    (s, res.json().await.unwrap())
}

async fn sql(app: &TestApp, stmt: &str) {
    let mut db = app.raw_db().await;
    raw::q_built(stmt.to_owned())
        .execute(&mut db)
        .await
        .unwrap();
}

/// The first fault the scrub reports, or `None` when every row matches its seal.
async fn scrub(app: &TestApp) -> Option<String> {
    let live = &app.running().app;
    live.run_health_check().await.unwrap();
    live.health_faults()
        .into_iter()
        .find(|(k, _)| k == "row_seals")
        .map(|(_, v)| v)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_changed_outside_tekkan_are_found_and_named() {
    let app = TestApp::start().await;
    let mut owner = app.sign_up("部長", None).await;
    let club = owner.create_club("吹奏楽部").await;
    let (mut member, m) = join(&app, &mut owner, &club, "member", false).await;
    let (_, occ) = event(&mut owner, &club).await;
    let answer = format!("/api/v1/clubs/{club}/occurrences/{occ}/answers/{m}");
    let (s, a) = owner
        .api(
            Method::POST,
            &format!("/api/v1/clubs/{club}/announcements"),
            Some(json!({"title": "集合時間", "body": "駅前に集合してください。"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    let comments = format!(
        "/api/v1/clubs/{club}/announcements/{}/comments",
        a["id"].as_str().unwrap()
    );
    let (s, c) = member
        .api(
            Method::POST,
            &comments,
            Some(json!({"body": "集合は8時05分でしょうか"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let cid = c["id"].as_str().unwrap().to_owned();
    assert_eq!(
        scrub(&app).await,
        None,
        "every row written by TEKKAN matches"
    );

    // A member made owner by hand: named; put back as it was, it matches again.
    sql(
        &app,
        &format!("UPDATE memberships SET role = 'owner' WHERE id = '{m}'"),
    )
    .await;
    let fault = scrub(&app).await.expect("the escalation is found");
    assert!(
        fault.contains(&format!("membership {m} does not match its seal")),
        "{fault}"
    );
    let (s, v) = healthz(&app.base).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    assert!(v["reasons"].to_string().contains("row_seals"), "{v}");
    // The raised role grants nothing: neither a read nor an owner's write.
    let announcements = format!("/api/v1/clubs/{club}/announcements");
    let (s, _) = member.api(Method::GET, &announcements, None).await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
    let takeover = json!({"title": "乗っ取り", "body": "部長になりました"});
    let (s, _) = member
        .api(Method::POST, &announcements, Some(takeover))
        .await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
    // Nor an answer, which reads the actor's membership with everything else it needs
    // (a batched write: the refusal leaves the others in its batch whole).
    let (s, _) = member
        .api(Method::PUT, &answer, Some(json!({"status": "yes"})))
        .await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
    sql(
        &app,
        &format!("UPDATE memberships SET role = 'member' WHERE id = '{m}'"),
    )
    .await;
    let (s, _) = member.api(Method::GET, &announcements, None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = member
        .api(Method::PUT, &answer, Some(json!({"status": "yes"})))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(scrub(&app).await, None);

    // A row added by hand has no seal; once it is gone, every row matches again.
    sql(
        &app,
        &format!(
            "INSERT INTO comments (id, club_id, parent_kind, parent_id, author_id, body, \
             created_at) SELECT 'f0f0', club_id, parent_kind, parent_id, author_id, '偽の連絡', \
             created_at FROM comments WHERE id = '{cid}'"
        ),
    )
    .await;
    let fault = scrub(&app).await.unwrap();
    assert!(fault.contains("comment f0f0 has no seal"), "{fault}");
    sql(&app, "DELETE FROM comments WHERE id = 'f0f0'").await;
    assert_eq!(scrub(&app).await, None);

    // A byte flipped in the comment inside the database file, server stopped: SQLite's
    // file. On PostgreSQL runs the edits through SQL above are the test.
    if crate::support::pg::cluster().is_some() {
        return;
    }
    let dir = app.stop().await;
    let file = dir.path().join("tekkan.sqlite3");
    let mut bytes = std::fs::read(&file).unwrap();
    let needle = "8時05分".as_bytes();
    let mut flipped = 0;
    for i in 0..bytes.len().saturating_sub(needle.len()) {
        if &bytes[i..i + needle.len()] == needle {
            bytes[i] = b'9';
            flipped += 1;
        }
    }
    assert!(flipped >= 1);
    std::fs::write(&file, &bytes).unwrap();

    let app = TestApp::builder().data_dir(dir).start().await;
    let fault = scrub(&app).await.expect("the flipped byte is found");
    assert!(
        fault.contains(&format!("comment {cid} does not match its seal")),
        "{fault}"
    );
    // The altered comment is not served; the announcement it hangs on still is.
    let mut member = member.clone();
    member.base = app.base.clone();
    let (s, list) = member.api(Method::GET, &comments, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list, json!([]), "{list}");
    // An audited write afterwards seals only what it changed: the edit stays visible.
    let (s, _) = member
        .api(
            Method::POST,
            &comments,
            Some(json!({"body": "了解しました"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let again = scrub(&app).await.unwrap();
    assert!(again.contains(&cid), "{again}");
    let dir = app.stop().await;
    let (ok, text) = tekkan_on(&["audit", "verify"], dir.path());
    assert!(
        !ok && text.contains(&format!("live data: comment {cid} does not match its seal")),
        "{text}"
    );
}
