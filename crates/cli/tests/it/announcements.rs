//! Announcements: read receipts on opening, explicit audited confirmations that survive
//! as evidence, targets, and comments with their edit history.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tekkan_storage::sql as raw;

use crate::support::code;
use crate::support::fixture::{Fixture, Who, event, subgroup};

fn receipt<'a>(v: &'a Value, m: &str) -> &'a Value {
    v["receipts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["membership_id"] == m)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_and_confirmations_are_recorded_and_undeniable() {
    let fx = Fixture::new().await;
    let club = fx.a.id.clone();
    let mut officer = fx.client(Who::Officer);
    let (mut member, mut guardian) = (fx.client(Who::Member), fx.client(Who::Guardian));
    let base = format!("/api/v1/clubs/{club}/announcements");
    let (s, posted) = officer
        .api(Method::POST, &base, Some(json!({"title": "合宿のお知らせ", "body": "8月1日〜3日。<script>alert(1)</script>", "requires_confirmation": true, "pinned": true})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{posted}");
    let id = posted["id"].as_str().unwrap().to_owned();
    let path = format!("{base}/{id}");

    let (_, list) = member.api(Method::GET, &base, None).await;
    assert_eq!(
        (list[0]["read"].as_bool(), list[0]["pinned"].as_bool()),
        (Some(false), Some(true))
    );
    let (_, n) = member
        .api(Method::GET, "/api/v1/me/notifications", None)
        .await;
    assert_eq!(n["notifications"][0]["kind"], "announcement");

    // Opening records the read, once.
    let (s, v) = member.api(Method::GET, &path, None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v["announcement"]["body"],
        "8月1日〜3日。<script>alert(1)</script>"
    );
    assert!(
        v.get("receipts").is_none(),
        "members do not see others' receipts"
    );
    member.api(Method::GET, &path, None).await;
    let (_, list) = member.api(Method::GET, &base, None).await;
    assert_eq!(list[0]["read"], true);

    let m = fx.membership(Who::Member);
    let (_, v) = officer.api(Method::GET, &path, None).await;
    assert!(receipt(&v, &m)["read_at"].is_string());
    assert!(receipt(&v, &m)["confirmed_at"].is_null());
    assert!(
        receipt(&v, &fx.membership(Who::Guardian))["read_at"].is_null(),
        "the guardian has not opened it"
    );

    // 確認しました: a receipt pointing into the audit chain.
    let (s, r) = member
        .api(Method::POST, &format!("{path}/confirm"), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let seq = fx.app.seq_of_receipt(r["receipt"].as_str().unwrap()).await;
    assert_eq!(r["content_hash"], posted["content_hash"]);
    let (_, again) = member
        .api(Method::POST, &format!("{path}/confirm"), None)
        .await;
    assert!(
        again["audit_seq"].is_null() && again["receipt"].is_null(),
        "the first confirmation stands"
    );
    assert_eq!(again["confirmed_at"], r["confirmed_at"]);
    let (_, v) = officer.api(Method::GET, &path, None).await;
    assert_eq!(receipt(&v, &m)["confirmed_current"], true);

    // The audit entry names the member's account and session; the chain verifies.
    let mut db = fx.app.raw_db().await;
    let row = raw::q(
        "SELECT action, actor_account, actor_session, target, hash FROM audit_log WHERE seq = $1",
    )
    .bind(seq)
    .fetch_one(&mut db)
    .await
    .unwrap();
    let (_, me) = member.api(Method::GET, "/api/v1/me", None).await;
    assert_eq!(row.get::<String, _>("action"), "announcement.confirm");
    assert_eq!(
        row.get::<String, _>("actor_account"),
        me["account_id"].as_str().unwrap()
    );
    assert!(row.get::<Option<String>, _>("actor_session").is_some());
    assert_eq!(
        row.get::<String, _>("target"),
        format!("announcement:{id}/member:{m}")
    );
    // SQLite names the entry's hash at once; on PostgreSQL the receipt promised its
    // content, which seq_of_receipt found.
    if let Some(hash) = r["audit_hash"].as_str() {
        assert_eq!(row.get::<String, _>("hash"), hash);
    }
    fx.app.settle_log().await;
    let reads: i64 = raw::scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'announcement.read' AND target = $1",
    )
    .bind(format!("announcement:{id}"))
    .fetch_one(&mut db)
    .await
    .unwrap();
    assert_eq!(reads, 1, "one read receipt however often it is opened");

    // An edit changes what must be confirmed; the old confirmation stays as evidence of
    // what was confirmed, but no longer counts as current.
    let (s, _) = officer
        .api(Method::PUT, &path, Some(json!({"title": "合宿のお知らせ（訂正）", "body": "8月2日〜4日", "requires_confirmation": true})))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, v) = officer.api(Method::GET, &path, None).await;
    assert_eq!(receipt(&v, &m)["confirmed_current"], false);
    let (_, r2) = member
        .api(Method::POST, &format!("{path}/confirm"), None)
        .await;
    assert!(fx.app.seq_of_receipt(r2["receipt"].as_str().unwrap()).await > seq);
    assert_ne!(r2["content_hash"], r["content_hash"]);

    // Guardians are told too, and can confirm; people outside the club cannot see it.
    let (s, _) = guardian
        .api(Method::POST, &format!("{path}/confirm"), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = fx.outsider.clone().api(Method::GET, &path, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) =
        fx.b.owner
            .clone()
            .api(Method::POST, &format!("{path}/confirm"), None)
            .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Without a request for confirmation there is nothing to confirm.
    let (_, plain) = officer
        .api(
            Method::POST,
            &base,
            Some(json!({"title": "連絡", "body": "本文"})),
        )
        .await;
    let (s, v) = member
        .api(
            Method::POST,
            &format!("{base}/{}/confirm", plain["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::CONFLICT, "confirmation_not_requested")
    );
    // Members cannot post.
    let (s, _) = member
        .api(
            Method::POST,
            &base,
            Some(json!({"title": "x", "body": "y"})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Bad input.
    for (body, c) in [
        (json!({"title": "", "body": "y"}), "required"),
        (
            json!({"title": "x", "body": "y".repeat(10_001)}),
            "too_long",
        ),
        (
            json!({"title": "x", "body": "y", "subgroups": ["nope"]}),
            "invalid_json",
        ),
        (json!({"title": 1, "body": "y"}), "invalid_json"),
    ] {
        let (s, v) = officer.api(Method::POST, &base, Some(body)).await;
        assert!(s.is_client_error(), "{v}");
        assert_eq!(code(&v), c);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sub_group_announcements_reach_members_and_their_guardians_only() {
    let fx = Fixture::new().await;
    let club = fx.a.id.clone();
    let mut owner = fx.a.owner.clone();
    let sg = subgroup(&mut owner, &club).await;
    let student = fx.a.student.clone();
    owner
        .api(
            Method::PUT,
            &format!("/api/v1/clubs/{club}/subgroups/{sg}/members/{student}"),
            None,
        )
        .await;
    let base = format!("/api/v1/clubs/{club}/announcements");
    let (_, p) = owner
        .api(
            Method::POST,
            &base,
            Some(json!({"title": "パート連絡", "body": "楽譜を持参", "subgroups": [sg]})),
        )
        .await;
    let path = format!("{base}/{}", p["id"].as_str().unwrap());
    let (s, _) = fx.client(Who::Member).api(Method::GET, &path, None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = fx.client(Who::Guardian).api(Method::GET, &path, None).await;
    assert_eq!(s, StatusCode::OK, "the student's guardian");
    let (s, _) = fx
        .client(Who::Treasurer)
        .api(Method::GET, &path, None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "not in the sub-group");
    let (_, list) = fx
        .client(Who::Treasurer)
        .api(Method::GET, &base, None)
        .await;
    assert!(list.as_array().unwrap().is_empty());
    let (_, v) = owner.api(Method::GET, &path, None).await;
    let names: Vec<&str> = v["receipts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["membership_id"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "the student and their guardian: {v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn comments_keep_their_history_and_belong_to_their_author() {
    let fx = Fixture::new().await;
    let club = fx.a.id.clone();
    let mut owner = fx.a.owner.clone();
    let (_, occ) = event(&mut owner, &club).await;
    let mut member = fx.client(Who::Member);
    let base = format!("/api/v1/clubs/{club}/occurrences/{occ}/comments");
    let (s, c) = member
        .api(Method::POST, &base, Some(json!({"body": "10分遅れます"})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let cid = c["id"].as_str().unwrap();
    let cpath = format!("/api/v1/clubs/{club}/comments/{cid}");
    for body in ["15分遅れます", "<img src=x onerror=alert(1)> 20分"] {
        let (s, _) = member
            .api(Method::PUT, &cpath, Some(json!({"body": body})))
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT);
    }
    let (_, list) = owner.api(Method::GET, &base, None).await;
    assert_eq!(list[0]["body"], "<img src=x onerror=alert(1)> 20分");
    assert_eq!(list[0]["edited"], true);
    let (_, h) = owner
        .api(Method::GET, &format!("{cpath}/history"), None)
        .await;
    let bodies: Vec<&str> = h
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["body"].as_str().unwrap())
        .collect();
    assert_eq!(
        bodies,
        vec![
            "10分遅れます",
            "15分遅れます",
            "<img src=x onerror=alert(1)> 20分"
        ]
    );

    // Only the author edits or deletes, officers included.
    let (s, _) = owner
        .api(Method::PUT, &cpath, Some(json!({"body": "改ざん"})))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = owner.api(Method::DELETE, &cpath, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = fx.b.owner.clone().api(Method::DELETE, &cpath, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, v) = member
        .api(Method::PUT, &cpath, Some(json!({"body": ""})))
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "required")
    );

    let (s, _) = member.api(Method::DELETE, &cpath, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, list) = owner.api(Method::GET, &base, None).await;
    assert_eq!(
        (list[0]["deleted"].as_bool(), list[0]["body"].as_str()),
        (Some(true), Some(""))
    );
    let (s, _) = owner
        .api(Method::GET, &format!("{cpath}/history"), None)
        .await;
    assert_eq!(s, StatusCode::GONE);
    let (s, _) = member
        .api(Method::PUT, &cpath, Some(json!({"body": "復活"})))
        .await;
    assert_eq!(s, StatusCode::GONE);
    // The versions are still in the database, for the record.
    let mut db = fx.app.raw_db().await;
    let n: i64 = raw::scalar("SELECT COUNT(*) FROM comment_revisions WHERE comment_id = $1")
        .bind(cid)
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(n, 3);
}
