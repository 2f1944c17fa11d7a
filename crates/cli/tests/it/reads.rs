//! Who accessed what: reads of personal fields, of rosters with contact details and of
//! attendance reports are audited without the values; each person sees who viewed
//! their data; officers search their club's trail and the operator all of it; nothing
//! can edit or delete an entry.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tekkan_storage::sql as raw;

use crate::support::fixture::{Fixture, Who};

const PHONE: &str = "090-4444-5555";

fn membership(fx: &Fixture, who: Who) -> String {
    fx.a.people.iter().find(|p| p.0 == who).unwrap().2.clone()
}

/// Reads are written by a background task: wait until `path` lists `n` entries.
async fn eventually(c: &mut crate::support::Client, path: &str, n: usize) -> Vec<Value> {
    for _ in 0..100 {
        let (s, v) = c.api(Method::GET, path, None).await;
        assert_eq!(s, StatusCode::OK, "{path}: {v}");
        let rows = v.as_array().unwrap().clone();
        if rows.len() >= n {
            return rows;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{path} never listed {n} entries");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_of_personal_data_are_audited_and_shown_to_the_person() {
    let fx = Fixture::new().await;
    let club = fx.a.id.clone();
    let member_id = membership(&fx, Who::Member);
    let officer_id = membership(&fx, Who::Officer);
    let (mut officer, mut member) = (fx.client(Who::Officer), fx.client(Who::Member));
    let mut coach = fx.client(Who::Coach);
    let body = json!({"fields": {"phone": PHONE, "health_notes": "卵アレルギー"}, "phone_visibility": "officers"});
    let (s, v) = member
        .api(Method::PUT, "/api/v1/me/personal", Some(body))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");

    // Nothing viewed yet; the person's own reads do not count.
    member.api(Method::GET, "/api/v1/me/personal", None).await;
    let (_, v) = member.api(Method::GET, "/api/v1/me/viewers", None).await;
    assert_eq!(v, json!([]));

    // The officer opens the member's fields, the roster (with e-mail addresses) and
    // the attendance report; a coach opens a roster without contact details.
    let (s, v) = officer
        .api(
            Method::GET,
            &format!("/api/v1/clubs/{club}/members/{member_id}/personal"),
            None,
        )
        .await;
    assert_eq!(
        (s, v["fields"]["phone"].as_str()),
        (StatusCode::OK, Some(PHONE))
    );
    officer
        .api(Method::GET, &format!("/api/v1/clubs/{club}/members"), None)
        .await;
    let (s, _) = officer
        .api(
            Method::GET,
            &format!("/api/v1/clubs/{club}/attendance?from=2026-01-01&to=2026-03-31"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    coach
        .api(Method::GET, &format!("/api/v1/clubs/{club}/members"), None)
        .await;

    let rows = eventually(&mut member, "/api/v1/me/viewers", 3).await;
    let mut actions: Vec<&str> = rows.iter().map(|r| r["action"].as_str().unwrap()).collect();
    // Newest first; the roster read is queued while the report is written before it is
    // served, so those two may land in either order.
    assert_eq!(actions.pop(), Some("personal.read"));
    actions.sort_unstable();
    assert_eq!(
        actions,
        ["attendance.report_read", "roster.read"],
        "the coach's plain roster is not a read of contact details"
    );
    let seqs: Vec<i64> = rows.iter().map(|r| r["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] > w[1]), "{seqs:?}");
    assert!(
        rows.iter().all(|r| r["actor_name"] == "officer-member"),
        "{rows:?}"
    );

    // The log names what was read, never the values.
    let mut db = fx.app.raw_db().await;
    let dump: Vec<String> = raw::scalar(
        "SELECT action || target || change_digest || COALESCE(user_agent, '') FROM audit_log",
    )
    .fetch_all(&mut db)
    .await
    .unwrap();
    drop(db);
    assert!(!dump.iter().any(|r| r.contains(PHONE) || r.contains("卵")));

    // The page shows the same.
    let page = member.as_browser().get("/settings/viewers").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("officer-member") && page.body.contains("id=\"viewers\""));

    // Officers search the club's trail by person, action and time.
    let search = |q: &str| format!("/api/v1/clubs/{club}/audit?{q}");
    let by_officer = eventually(
        &mut officer,
        &search(&format!("actor={officer_id}&action=personal.read")),
        1,
    )
    .await;
    assert_eq!(by_officer.len(), 1);
    let (_, me) = member.api(Method::GET, "/api/v1/me", None).await;
    assert_eq!(
        by_officer[0]["target"],
        format!("account:{}", me["account_id"].as_str().unwrap())
    );
    // Indexed by a checkpoint (search keys go in with the tree) or still in the log's
    // tail, an entry is found the same way, once.
    fx.app.running().app.checkpoint().await.unwrap();
    let (_, again) = officer
        .api(
            Method::GET,
            &search(&format!("actor={officer_id}&action=personal.read")),
            None,
        )
        .await;
    assert_eq!(again.as_array().unwrap(), &by_officer);
    let (_, viewers_again) = member.api(Method::GET, "/api/v1/me/viewers", None).await;
    assert_eq!(viewers_again.as_array().unwrap(), &rows);
    officer
        .api(Method::GET, &format!("/api/v1/clubs/{club}/members"), None)
        .await;
    let newer = eventually(&mut member, "/api/v1/me/viewers", 4).await;
    assert_eq!(newer[0]["action"], "roster.read");
    assert_eq!(&newer[1..], &rows[..], "older views are still listed once");
    let (_, future) = officer
        .api(Method::GET, &search("from_ms=99999999999999"), None)
        .await;
    assert_eq!(future, json!([]));
    let (_, all) = officer
        .api(Method::GET, &search("limit=100000"), None)
        .await;
    let n = all.as_array().unwrap().len();
    assert!(n > 5 && n <= 500, "{n}");
    for (q, want) in [
        ("from_ms=abc", StatusCode::BAD_REQUEST),
        ("from_ms=5&to_ms=1", StatusCode::CONFLICT),
        ("actor=not-an-id", StatusCode::NOT_FOUND),
        ("action=%27%20OR%201%3D1%20--", StatusCode::OK),
    ] {
        let (s, v) = officer.api(Method::GET, &search(q), None).await;
        assert_eq!(s, want, "{q}: {v}");
    }
    // Another club's person is not a valid filter.
    let other = fx.b.people[1].2.clone();
    let (s, _) = officer
        .api(Method::GET, &search(&format!("actor={other}")), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let page = officer
        .as_browser()
        .get(&format!(
            "/clubs/{club}/audit?actor={officer_id}&from=2020-01-01"
        ))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("personal.read"), "{}", page.body);
    let page = officer
        .as_browser()
        .get(&format!("/clubs/{club}/audit?from=yesterday"))
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);

    // The operator searches everything; nobody else may.
    let mut operator = fx.client(Who::Operator);
    let (s, v) = operator
        .api(Method::GET, "/api/v1/admin/audit?action=roster.read", None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(!v.as_array().unwrap().is_empty());
    let (s, _) = officer.api(Method::GET, "/api/v1/admin/audit", None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // No interface edits or deletes an entry.
    for m in [Method::PUT, Method::PATCH, Method::DELETE, Method::POST] {
        let (s, _) = officer
            .api(
                m.clone(),
                &format!("/api/v1/clubs/{club}/audit"),
                Some(json!({})),
            )
            .await;
        assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED, "{m}");
        let (s, _) = operator
            .api(m.clone(), "/api/v1/admin/audit", Some(json!({})))
            .await;
        assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED, "{m}");
    }
}
