//! Signed receipts: every accepted API change answers with a `Tekkan-Receipt` for the
//! audit entry it wrote; the member's 確認しました carries one in its body too. A
//! receipt verifies offline with the published key, and with an inclusion proof it is
//! pinned into a signed checkpoint, so the server cannot later deny having accepted it.
//! On SQLite a receipt names its entry's leaf (V1); on PostgreSQL, where entries get
//! their position after the commit, it promises the entry's content (V2), and the
//! inclusion proof is fetched by that content.

use std::path::Path;
use tekkan_storage::sql as raw;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tekkan_audit::signed::AnyReceipt;
use tekkan_audit::to_hex;

use crate::support::fixture::{Fixture, Who};
use crate::support::tekkan;

fn verify_receipt(receipt: &str, key: &str, inclusion: Option<&Path>) -> (bool, String) {
    let words = ["audit", "verify-receipt", receipt, "--pubkey", key];
    let mut args: Vec<&std::ffi::OsStr> = words.iter().map(|a| a.as_ref()).collect();
    if let Some(f) = inclusion {
        args.push("--inclusion".as_ref());
        args.push(f.as_os_str());
    }
    tekkan(args)
}

/// The API call with its receipts.
pub(crate) async fn call(
    c: &mut crate::support::Client,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value, Vec<String>) {
    let p = c.api_page(method, path, body, &[]).await;
    let receipts = p
        .headers
        .get_all("tekkan-receipt")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    (p.status, p.json(), receipts)
}

/// The action of the entry a receipt is for.
async fn action_of(fx: &Fixture, receipt: &str) -> String {
    let mut db = fx.app.raw_db().await;
    raw::scalar("SELECT action FROM audit_log WHERE seq = $1")
        .bind(fx.app.seq_of_receipt(receipt).await)
        .fetch_one(&mut db)
        .await
        .unwrap()
}

/// The same receipt with one signed field changed.
fn tampered(receipt: &str) -> String {
    match AnyReceipt::parse(receipt).unwrap() {
        AnyReceipt::Placed(mut r) => {
            r.index += 1;
            r.encode()
        }
        AnyReceipt::Promised(mut p) => {
            p.ts_ms += 1;
            p.encode()
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_prove_accepted_changes_and_confirmations_offline() {
    let fx = Fixture::new().await;
    let club = fx.a.id.clone();
    let (mut officer, mut member) = (fx.client(Who::Officer), fx.client(Who::Member));
    let key = {
        let (_, k) = fx
            .app
            .client()
            .api(Method::GET, "/transparency/keys", None)
            .await;
        k[0]["public_key"].as_str().unwrap().to_owned()
    };

    // A change: one receipt, for the entry that records it.
    let (s, _, rs) = call(
        &mut officer,
        Method::PATCH,
        &format!("/api/v1/clubs/{club}"),
        Some(json!({"name": "改名した部"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(rs.len(), 1, "{rs:?}");
    let update = rs[0].clone();
    assert_eq!(action_of(&fx, &update).await, "club.update");

    // Revoking an existing feed is a change too.
    call(&mut member, Method::POST, "/api/v1/me/calendar-feed", None).await;
    let (s, _, rs) = call(
        &mut member,
        Method::DELETE,
        "/api/v1/me/calendar-feed",
        None,
    )
    .await;
    assert!(s.is_success(), "{s}");
    assert_eq!(rs.len(), 1);

    // Refused and read-only calls get none.
    let (s, _, rs) = call(
        &mut member,
        Method::PATCH,
        &format!("/api/v1/clubs/{club}"),
        Some(json!({"name": "乗っ取り"})),
    )
    .await;
    assert_eq!((s, rs.len()), (StatusCode::FORBIDDEN, 0));
    let (_, _, rs) = call(&mut member, Method::GET, "/api/v1/me", None).await;
    assert!(rs.is_empty());

    // 確認しました: the member keeps a receipt of the confirmation.
    let base = format!("/api/v1/clubs/{club}/announcements");
    let (_, posted, _) = call(
        &mut officer,
        Method::POST,
        &base,
        Some(json!({"title": "集合時間", "body": "7時", "requires_confirmation": true})),
    )
    .await;
    let id = posted["id"].as_str().unwrap();
    let (s, confirmed, rs) = call(
        &mut member,
        Method::POST,
        &format!("{base}/{id}/confirm"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{confirmed}");
    let receipt = confirmed["receipt"].as_str().unwrap().to_owned();
    assert_eq!(rs, vec![receipt.clone()], "the header and the body agree");
    assert_eq!(action_of(&fx, &receipt).await, "announcement.confirm");
    let by_content = match AnyReceipt::parse(&receipt).unwrap() {
        AnyReceipt::Placed(r) => {
            assert_eq!(r.index as i64 + 1, confirmed["audit_seq"].as_i64().unwrap());
            None
        }
        AnyReceipt::Promised(p) => {
            assert!(
                confirmed["audit_seq"].is_null(),
                "no position yet at commit"
            );
            Some(to_hex(&p.content))
        }
    };

    // Offline: the signature alone, then pinned into a signed checkpoint.
    let (ok, text) = verify_receipt(&receipt, &key, None);
    assert!(ok, "{text}");
    fx.app.running().app.checkpoint().await.unwrap();
    let (s, inclusion) = fx
        .app
        .client()
        .api(
            Method::GET,
            &match &by_content {
                None => format!(
                    "/api/v1/transparency/inclusion?seq={}",
                    fx.app.seq_of_receipt(&receipt).await
                ),
                Some(c) => format!("/api/v1/transparency/inclusion?content={c}"),
            },
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("inclusion.json");
    std::fs::write(&file, inclusion.to_string()).unwrap();
    // A lookup by content that is not a hash is refused; one the log never promised is
    // not found.
    for (query, status) in [
        ("content=zz", StatusCode::BAD_REQUEST),
        ("content=%00", StatusCode::BAD_REQUEST),
        (
            &*format!("content={}", "0".repeat(64)),
            StatusCode::NOT_FOUND,
        ),
    ] {
        let (s, v) = fx
            .app
            .client()
            .api(
                Method::GET,
                &format!("/api/v1/transparency/inclusion?{query}"),
                None,
            )
            .await;
        assert_eq!(s, status, "{query}: {v}");
    }
    let (ok, text) = verify_receipt(&receipt, &key, Some(&file));
    assert!(ok && text.contains("is in the signed checkpoint"), "{text}");

    // A receipt moved to another entry, or for another entry's proof, fails.
    let (ok, text) = verify_receipt(&tampered(&receipt), &key, None);
    assert!(!ok && text.contains("not valid"), "{text}");
    let (ok, text) = verify_receipt(&update, &key, Some(&file));
    assert!(!ok && text.contains("is not in the checkpoint"), "{text}");
    // Junk is a clear error, not a crash.
    let (ok, text) = verify_receipt("v1.junk", &key, None);
    assert!(!ok && text.contains("malformed receipt"), "{text}");
}
