//! Polls: named and anonymous ballots, deadlines, and that anonymity holds in storage.

use std::time::Duration;
use tekkan_storage::sql as raw;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::code;
use crate::support::fixture::{Fixture, Who, jst_in_days, jst_in_secs};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn named_polls_can_be_changed_and_officers_see_who_chose_what() {
    let fx = Fixture::new().await;
    let club = fx.a.id.clone();
    let mut officer = fx.client(Who::Officer);
    let base = format!("/api/v1/clubs/{club}/polls");
    let (s, p) = officer
        .api(Method::POST, &base, Some(json!({"question": "合宿の行き先は？", "options": ["長野", "静岡", "<b>山梨</b>"], "closes_at": jst_in_days(3, 20, 0)})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    let path = format!("{base}/{}", p["id"].as_str().unwrap());
    let mut member = fx.client(Who::Member);
    let vote = |c: serde_json::Value| Some(json!({"choices": c}));
    assert_eq!(
        member
            .api(Method::PUT, &format!("{path}/vote"), vote(json!([0])))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        member
            .api(Method::PUT, &format!("{path}/vote"), vote(json!([2])))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        fx.client(Who::Guardian)
            .api(Method::PUT, &format!("{path}/vote"), vote(json!([2])))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    for (bad, c) in [
        (json!([3]), "invalid"),
        (json!([0, 1]), "invalid"),
        (json!([]), "invalid"),
        (json!(["0"]), "invalid_json"),
    ] {
        let (s, v) = member
            .api(Method::PUT, &format!("{path}/vote"), vote(bad))
            .await;
        assert!(s.is_client_error() && code(&v) == c, "{v}");
    }
    let (_, v) = officer.api(Method::GET, &path, None).await;
    assert_eq!(v["options"][0]["votes"], 0);
    assert_eq!(v["options"][2]["votes"], 2);
    assert_eq!(v["options"][2]["label"], "<b>山梨</b>");
    assert!(
        v["options"][2]["voters"]
            .as_array()
            .unwrap()
            .contains(&json!(fx.membership(Who::Member)))
    );
    assert_eq!(v["voters"], 2);
    let (_, mine) = member.api(Method::GET, &path, None).await;
    assert!(
        mine["options"][2].get("voters").is_none(),
        "members see counts only"
    );
    assert_eq!(mine["my_choices"], json!([2]));
    let (s, _) = fx.outsider.clone().api(Method::GET, &path, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Closing early ends voting.
    assert_eq!(
        officer
            .api(Method::POST, &format!("{path}/close"), None)
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    let (s, v) = member
        .api(Method::PUT, &format!("{path}/vote"), vote(json!([1])))
        .await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "poll_closed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_ballots_leave_no_link_between_person_and_choice() {
    let fx = Fixture::new().await;
    let club = fx.a.id.clone();
    let mut officer = fx.client(Who::Officer);
    let base = format!("/api/v1/clubs/{club}/polls");
    let (_, p) = officer
        .api(Method::POST, &base, Some(json!({"question": "顧問への要望は？", "options": ["練習を増やす", "休みを増やす", "現状維持"], "multiple": true, "anonymous": true, "closes_at": jst_in_days(3, 20, 0)})))
        .await;
    let id = p["id"].as_str().unwrap().to_owned();
    let path = format!("{base}/{id}");
    for (who, choices) in [
        (Who::Member, json!([1])),
        (Who::Treasurer, json!([0, 2])),
        (Who::Coach, json!([1, 2])),
    ] {
        let (s, v) = fx
            .client(who)
            .api(
                Method::PUT,
                &format!("{path}/vote"),
                Some(json!({"choices": choices})),
            )
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    }
    let (s, v) = fx
        .client(Who::Member)
        .api(
            Method::PUT,
            &format!("{path}/vote"),
            Some(json!({"choices": [0]})),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "already_voted"));
    let (_, v) = officer.api(Method::GET, &path, None).await;
    let counts: Vec<i64> = v["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["votes"].as_i64().unwrap())
        .collect();
    assert_eq!(counts, vec![1, 2, 2]);
    assert!(
        v["options"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o.get("voters").is_none())
    );
    let (_, mine) = fx.client(Who::Member).api(Method::GET, &path, None).await;
    assert_eq!(
        (mine["voted"].as_bool(), mine["my_choices"].clone()),
        (Some(true), json!([]))
    );

    // In storage: who voted, and counts; nothing that joins the two.
    let mut db = fx.app.raw_db().await;
    let named: i64 = raw::scalar("SELECT COUNT(*) FROM poll_votes WHERE poll_id = $1")
        .bind(&id)
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(named, 0);
    let voter_cols = crate::support::columns_of(&mut db, "poll_voters").await;
    // The club (for sharding) is all a voter row holds besides who and which poll.
    assert_eq!(voter_cols, vec!["poll_id", "membership_id", "club_id"]);
    fx.app.settle_log().await;
    let digests: Vec<String> = raw::scalar(
        "SELECT change_digest FROM audit_log WHERE action = 'poll.vote' AND target = $1",
    )
    .bind(format!("poll:{id}"))
    .fetch_all(&mut db)
    .await
    .unwrap();
    assert_eq!(digests.len(), 3);
    assert!(
        digests.iter().all(|d| *d == digests[0]),
        "the audit digest must not depend on the choice"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn votes_after_the_deadline_are_refused() {
    let fx = Fixture::new().await;
    let club = fx.a.id.clone();
    let mut officer = fx.client(Who::Officer);
    let base = format!("/api/v1/clubs/{club}/polls");
    let (s, v) = officer
        .api(Method::POST, &base, Some(json!({"question": "q", "options": ["a", "b"], "closes_at": jst_in_days(-1, 20, 0)})))
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "closes_in_past")
    );
    for (body, c) in [
        (
            json!({"question": "q", "options": ["a"], "closes_at": jst_in_days(2, 0, 0)}),
            "invalid",
        ),
        (
            json!({"question": "q", "options": ["a", "a"], "closes_at": jst_in_days(2, 0, 0)}),
            "invalid",
        ),
        (
            json!({"question": "", "options": ["a", "b"], "closes_at": jst_in_days(2, 0, 0)}),
            "required",
        ),
        (
            json!({"question": "q", "options": ["a", "b"], "closes_at": "tomorrow"}),
            "invalid",
        ),
    ] {
        let (s, v) = officer.api(Method::POST, &base, Some(body)).await;
        assert_eq!((s, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, c), "{v}");
    }
    let (s, p) = officer
        .api(
            Method::POST,
            &base,
            Some(json!({"question": "q", "options": ["a", "b"], "closes_at": jst_in_secs(2)})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (s, v) = fx
        .client(Who::Member)
        .api(
            Method::PUT,
            &format!("{base}/{}/vote", p["id"].as_str().unwrap()),
            Some(json!({"choices": [0]})),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "poll_closed"));
    let (s, _) = fx
        .client(Who::Member)
        .api(
            Method::POST,
            &base,
            Some(
                json!({"question": "q", "options": ["a", "b"], "closes_at": jst_in_days(2, 0, 0)}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}
