//! Every JSON write of club activities refuses broken bodies with a clear 4xx (never a
//! 500), and pages refuse broken forms; nothing is written by a refused request.

use reqwest::{Method, StatusCode};
use tekkan_storage::sql as raw;

use crate::support::Client;
use crate::support::fixture::{Fixture, Who, announcement, comment, event, poll};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_bodies_on_activity_endpoints_are_4xx() {
    let fx = Fixture::new().await;
    let club = fx.a.id.clone();
    let mut owner = fx.a.owner.clone();
    let (e, o) = event(&mut owner, &club).await;
    let a = announcement(&mut owner, &club).await;
    let c = comment(&mut owner, &club).await;
    let p = poll(&mut owner, &club).await;
    let m = fx.membership(Who::Member);
    let writes = [
        (Method::POST, format!("/api/v1/clubs/{club}/events")),
        (Method::PUT, format!("/api/v1/clubs/{club}/events/{e}")),
        (Method::PUT, format!("/api/v1/clubs/{club}/occurrences/{o}")),
        (
            Method::PUT,
            format!("/api/v1/clubs/{club}/occurrences/{o}/answers/{m}"),
        ),
        (
            Method::POST,
            format!("/api/v1/clubs/{club}/occurrences/{o}/comments"),
        ),
        (Method::POST, format!("/api/v1/clubs/{club}/announcements")),
        (
            Method::PUT,
            format!("/api/v1/clubs/{club}/announcements/{a}"),
        ),
        (
            Method::POST,
            format!("/api/v1/clubs/{club}/announcements/{a}/comments"),
        ),
        (Method::PUT, format!("/api/v1/clubs/{club}/comments/{c}")),
        (Method::POST, format!("/api/v1/clubs/{club}/polls")),
        (Method::PUT, format!("/api/v1/clubs/{club}/polls/{p}/vote")),
        (Method::PUT, "/api/v1/me/notification-prefs".to_owned()),
        (Method::POST, "/api/v1/me/push-subscriptions".to_owned()),
    ];
    let before = count_rows(&fx).await;
    refuses_broken_json(&mut owner, &writes).await;
    assert_eq!(count_rows(&fx).await, before, "nothing was written");

    // Pages: an event form with nonsense keeps what was typed and explains.
    let mut b = owner.as_browser();
    let csrf = b.get(&format!("/clubs/{club}/events/new")).await.csrf();
    let page = b
        .post_form(
            &format!("/clubs/{club}/events"),
            &csrf,
            &[
                ("title", "<script>alert(1)</script>"),
                ("starts_at", "2026-13-45T99:00"),
                ("ends_at", "x"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    let i = page.body.find("name=\"title\"").unwrap();
    assert!(
        page.body[i..].contains("alert(1)"),
        "typed text is kept: {}",
        &page.body[i..i + 200]
    );
    assert!(!page.body.contains("<script>alert(1)"));
    let page = b
        .post_form(
            &format!("/clubs/{club}/events"),
            &csrf,
            &[("title", "練習"), ("capacity", "many")],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    let page = b
        .post_form(
            &format!("/clubs/{club}/events"),
            &csrf,
            &[("title", "練習"), ("subgroups", "' OR 1=1")],
        )
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert_eq!(count_rows(&fx).await, before);
}

/// Sends each of `writes` (as `c`, by bearer token) broken JSON, a wrong shape, invalid
/// UTF-8, the wrong content type and a 200 KB body: each gets its clear 4xx with an
/// error code.
pub async fn refuses_broken_json(c: &mut Client, writes: &[(Method, String)]) {
    let auth = format!("Bearer {}", c.bearer.clone().unwrap());
    let bodies: [(&str, Vec<u8>, u16); 5] = [
        ("application/json", b"{\"title\": ".to_vec(), 400),
        ("application/json", b"[1, 2, 3]".to_vec(), 400),
        (
            "application/json",
            b"{\"title\": \"\xff\xfe\"}".to_vec(),
            400,
        ),
        ("text/plain", b"{}".to_vec(), 415),
        ("application/json", vec![b' '; 200 * 1024], 413),
    ];
    for (method, path) in writes {
        for (ct, body, want) in &bodies {
            let headers = [("content-type", *ct), ("authorization", auth.as_str())];
            let r = c.raw(method.clone(), path, &headers, body.clone()).await;
            assert_eq!(r.status.as_u16(), *want, "{method} {path} {ct}: {}", r.body);
            let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
            assert!(v["error"]["code"].is_string(), "{}", r.body);
        }
    }
}

/// Rows in the tables activity writes touch.
async fn count_rows(fx: &Fixture) -> i64 {
    let mut db = fx.app.raw_db().await;
    raw::scalar(
        "SELECT (SELECT COUNT(*) FROM events) + (SELECT COUNT(*) FROM occurrences) \
         + (SELECT COUNT(*) FROM answers) + (SELECT COUNT(*) FROM comments) \
         + (SELECT COUNT(*) FROM comment_revisions) + (SELECT COUNT(*) FROM announcements) \
         + (SELECT COUNT(*) FROM polls) + (SELECT COUNT(*) FROM poll_votes) \
         + (SELECT COUNT(*) FROM push_subscriptions) + (SELECT COUNT(*) FROM notification_prefs)",
    )
    .fetch_one(&mut db)
    .await
    .unwrap()
}
