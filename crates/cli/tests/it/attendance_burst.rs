//! 出欠 under a burst: answers that arrive together commit in batches (group commit),
//! yet each is checked and applied on its own. Refused answers in the same batch leave
//! nothing behind, places go to no more people than there are, and every accepted
//! answer's receipt names its own audit entry.

use futures_util::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tekkan_storage::sql as raw;

use crate::support::fixture::{Fixture, Who, jst_in_days};
use crate::support::{Client, tekkan_on};

/// PUT an answer: status, body and receipts.
async fn put(mut c: Client, path: String, body: Value) -> (StatusCode, Value, Vec<String>) {
    crate::receipts::call(&mut c, Method::PUT, &path, Some(body)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_answers_keeps_places_refusals_and_receipts_apart() {
    let fx = Fixture::new().await;
    let club = fx.a.id.clone();
    let mut officer = fx.client(Who::Officer);
    let (s, v) = officer
        .api(
            Method::POST,
            &format!("/api/v1/clubs/{club}/events"),
            Some(json!({"title": "練習試合", "capacity": 2,
                "starts_at": jst_in_days(3, 9, 0), "ends_at": jst_in_days(3, 12, 0)})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let occ = v["occurrences"][0]["id"].as_str().unwrap().to_owned();
    let path = |who: Who| {
        format!(
            "/api/v1/clubs/{club}/occurrences/{occ}/answers/{}",
            fx.membership(who)
        )
    };
    let answering = [
        Who::Owner,
        Who::Officer,
        Who::Treasurer,
        Who::Coach,
        Who::Member,
    ];

    // Three rounds, all at once each time: everyone answers 出席 for themselves, among
    // refused answers (a guardian for someone not theirs, an outsider, a decide-by date
    // after the event) that are checked inside the same batches.
    for round in 0..3 {
        let mut calls = Vec::new();
        for who in answering {
            calls.push(put(
                fx.client(who),
                path(who),
                json!({"status": "yes", "comment": format!("{round}回目")}),
            ));
            // The guardian's child is the member; the treasurer is not theirs.
            calls.push(put(
                fx.client(Who::Guardian),
                path(Who::Treasurer),
                json!({"status": "no"}),
            ));
            calls.push(put(
                fx.client(Who::Outsider),
                path(who),
                json!({"status": "no"}),
            ));
            calls.push(put(
                fx.client(who),
                path(who),
                json!({"status": "maybe", "decide_by": "2099-01-01"}),
            ));
        }
        let results = join_all(calls).await;
        let mut places = (0, 0);
        for (i, (s, v, receipts)) in results.into_iter().enumerate() {
            let who = answering[i / 4];
            match i % 4 {
                0 => {
                    assert_eq!(s, StatusCode::OK, "{v}");
                    match v["status"].as_str() {
                        Some("yes") => places.0 += 1,
                        Some("waitlisted") => places.1 += 1,
                        other => panic!("{other:?}"),
                    }
                    assert_eq!(v["comment"], format!("{round}回目"));
                    // Its receipt is for its own entry, not a batch neighbour's.
                    assert_eq!(receipts.len(), 1, "{receipts:?}");
                    fx.app.settle_log().await;
                    let seq = fx.app.seq_of_receipt(&receipts[0]).await;
                    let mut db = fx.app.raw_db().await;
                    let entry: String =
                        raw::scalar("SELECT action || ' ' || target FROM audit_log WHERE seq = $1")
                            .bind(seq)
                            .fetch_one(&mut db)
                            .await
                            .unwrap();
                    assert_eq!(
                        entry,
                        format!(
                            "attendance.answer occurrence:{occ}/member:{}",
                            fx.membership(who)
                        )
                    );
                }
                1 => assert_eq!(s, StatusCode::FORBIDDEN, "{v}"),
                2 => assert!(
                    matches!(s, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
                    "{s} {v}"
                ),
                _ => assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}"),
            }
            assert!(
                i % 4 == 0 || receipts.is_empty(),
                "a refusal has no receipt"
            );
        }
        // Everyone said yes already in the rounds before: places are kept, never grow.
        assert_eq!(places, (2, 3), "round {round}");
    }

    // What is stored agrees: two places, three waiting, the comments of the last round,
    // and the refused answers changed nothing.
    let (_, d) = officer
        .api(
            Method::GET,
            &format!("/api/v1/clubs/{club}/occurrences/{occ}"),
            None,
        )
        .await;
    assert_eq!(
        d["tally"],
        json!({"yes": 2, "no": 0, "maybe": 0, "waitlisted": 3}),
        "{d}"
    );
    for a in d["answers"].as_array().unwrap() {
        assert_eq!(a["comment"], "2回目", "{a}");
        assert_eq!(a["answered_as"], "self", "{a}");
    }
    let mut db = fx.app.raw_db().await;
    let entries: i64 = raw::scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'attendance.answer' AND target LIKE $1",
    )
    .bind(format!("occurrence:{occ}/%"))
    .fetch_one(&mut db)
    .await
    .unwrap();
    assert_eq!(
        entries, 15,
        "one entry per accepted answer, none for a refusal"
    );
    fx.app.settle_log().await;
    let (ok, out) = tekkan_on(&["audit", "verify"], &fx.app.data_dir());
    assert!(ok, "{out}");
}
