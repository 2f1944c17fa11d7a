//! What a phone on a bad connection relies on: `/api/v1/version` without signing in,
//! and `Idempotency-Key` on writes. A retry with the same key gets the first answer
//! again (marked replayed) and writes nothing twice, even sent five times at once; the
//! same key with another request is refused; keys are each account's own; a first
//! answer that refused the request is given again too; a malformed key is a 400.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::fixture::{Fixture, Who, event};
use crate::support::{Client, code};

async fn post(c: &mut Client, path: &str, body: Value, key: &str) -> (StatusCode, Value, bool) {
    let p = c
        .api_page(Method::POST, path, Some(body), &[("idempotency-key", key)])
        .await;
    let replayed = p
        .headers
        .get("idempotency-replayed")
        .is_some_and(|v| v == "true");
    (p.status, p.json(), replayed)
}

async fn comments(c: &mut Client, path: &str) -> usize {
    let (s, v) = c.api(Method::GET, path, None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v.as_array()
        .or_else(|| v["comments"].as_array())
        .map(Vec::len)
        .unwrap_or_else(|| panic!("{v}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_version_is_public_and_retries_write_once() {
    let fx = Fixture::new().await;
    let club = fx.a.id.clone();

    let (s, v) = fx
        .app
        .client()
        .api(Method::GET, "/api/v1/version", None)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["api"], "v1");
    assert!(
        v["min_client_version"]
            .as_str()
            .is_some_and(|x| !x.is_empty())
    );
    assert!(v["server"].as_str().is_some_and(|x| !x.is_empty()));

    let mut member = fx.client(Who::Member);
    let (_, occ) = event(&mut fx.client(Who::Owner), &club).await;
    let path = format!("/api/v1/clubs/{club}/occurrences/{occ}/comments");
    let key = "3f1c9a52-7d1e-4c3b-9a8e-2b6f0c1d4e5f";
    let body = json!({"body": "10分遅れます"});

    let (s, first, replayed) = post(&mut member, &path, body.clone(), key).await;
    assert_eq!(s, StatusCode::CREATED, "{first}");
    assert!(!replayed);
    let (s, again, replayed) = post(&mut member, &path, body.clone(), key).await;
    assert_eq!(s, StatusCode::CREATED, "{again}");
    assert!(replayed, "marked as the first answer given again");
    assert_eq!(again, first, "the same answer, the same comment");
    assert_eq!(comments(&mut member, &path).await, 1);

    // Five at once with one key: one comment; each answer is the first one, or "wait".
    let key2 = "retry-burst-0001";
    let burst = (0..5).map(|_| {
        let (mut c, path) = (member.clone(), path.clone());
        async move { post(&mut c, &path, json!({"body": "雨天中止?"}), key2).await }
    });
    let answers = futures_util::future::join_all(burst).await;
    let created = answers
        .iter()
        .filter(|(s, _, _)| *s == StatusCode::CREATED)
        .count();
    assert!(created >= 1, "{answers:?}");
    for (s, v, _) in &answers {
        assert!(
            *s == StatusCode::CREATED
                || (*s == StatusCode::CONFLICT && code(v) == "idempotency_key_in_flight"),
            "{s} {v}"
        );
    }
    assert_eq!(comments(&mut member, &path).await, 2);

    // The same key with another request is refused, and writes nothing.
    let (s, v, _) = post(&mut member, &path, json!({"body": "別の内容"}), key).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused")
    );
    assert_eq!(comments(&mut member, &path).await, 2);

    // Keys are each account's own: the coach's first use of the same key writes.
    let mut coach = fx.client(Who::Coach);
    let (s, v, replayed) = post(&mut coach, &path, body.clone(), key).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert!(!replayed);
    assert_eq!(comments(&mut member, &path).await, 3);

    // A refusal wrote nothing and is not kept: the retry is refused the same way,
    // and the key, free again, then serves a corrected request.
    let (s, v, _) = post(&mut member, &path, json!({"body": ""}), "empty-1").await;
    assert!(s.is_client_error(), "{s} {v}");
    let (s2, v2, replayed) = post(&mut member, &path, json!({"body": ""}), "empty-1").await;
    assert_eq!((s2, code(&v2)), (s, code(&v)));
    assert!(!replayed);
    let (s, v, _) = post(&mut member, &path, json!({"body": "訂正"}), "empty-1").await;
    assert_eq!(s, StatusCode::CREATED, "{v}");

    // Without a key, every request is its own.
    for _ in 0..2 {
        let (s, _) = member
            .api(Method::POST, &path, Some(json!({"body": "了解です"})))
            .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    assert_eq!(comments(&mut member, &path).await, 6);

    // An answer (PUT) retried: written once, audited once.
    let me = fx.membership(Who::Member);
    let answer = format!("/api/v1/clubs/{club}/occurrences/{occ}/answers/{me}");
    for _ in 0..3 {
        let p = member
            .api_page(
                Method::PUT,
                &answer,
                Some(json!({"status": "no", "comment": "通院"})),
                &[("idempotency-key", "answer-once")],
            )
            .await;
        assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    }
    fx.app.settle_log().await;
    assert_eq!(fx.app.audit_count("attendance.answer").await, 1);

    // Malformed keys: too long, or not visible ASCII.
    for bad in ["x".repeat(256), "鍵".to_owned(), "two words".to_owned()] {
        let p = member
            .api_page(
                Method::POST,
                &path,
                Some(json!({"body": "x"})),
                &[("idempotency-key", bad.as_str())],
            )
            .await;
        assert_eq!(p.status, StatusCode::BAD_REQUEST, "{bad}: {}", p.body);
        assert_eq!(code(&p.json()), "idempotency_key_invalid");
    }
    assert_eq!(comments(&mut member, &path).await, 6);
}

/// The key's life on the store, on a controlled clock: in flight, abandoned and taken
/// over, answered, reused for another request, expired, and pruned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_is_kept_a_while_then_let_go() {
    use tekkan_storage::{Claim, KeptAnswer};
    let app = crate::support::TestApp::start().await;
    let db = app.running().app.db().clone();
    // Today's clock: the server's own pruning (of keys older than a day) must not
    // reach this key while the test runs.
    let (acct, key, t0) = ("acct-1", "k-1", tekkan_storage::now_ms());
    let life = (1_000, 100); // kept 1 s, abandoned after 0.1 s
    let claim = |fp: &'static str, at: i64| {
        let db = db.clone();
        async move {
            db.claim_idempotency_key(acct, key, fp, at, life)
                .await
                .unwrap()
        }
    };
    assert_eq!(claim("f1", t0).await, Claim::First);
    assert_eq!(claim("f1", t0 + 50).await, Claim::InFlight);
    assert_eq!(claim("f1", t0 + 150).await, Claim::First, "abandoned");
    let kept = KeptAnswer {
        status: 201,
        headers: r#"[["content-type","application/json"]]"#.into(),
        body: "{}".into(),
    };
    db.keep_idempotent_answer(acct, key, &kept).await.unwrap();
    assert_eq!(claim("f1", t0 + 500).await, Claim::Answered(kept));
    assert_eq!(claim("f2", t0 + 500).await, Claim::OtherRequest);
    assert_eq!(claim("f2", t0 + 150 + 1_001).await, Claim::First, "expired");
    assert_eq!(db.prune_idempotency_keys(t0 + 10_000).await.unwrap(), 1);
    assert_eq!(claim("f3", t0 + 20_000).await, Claim::First);
}
