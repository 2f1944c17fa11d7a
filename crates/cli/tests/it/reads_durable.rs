//! Reads are not forgotten in a crash. Sensitive reads (personal fields with health
//! notes, attendance reports, audit searches) are committed before the data leaves: a
//! read whose entry cannot be written is not served. Roster reads are queued, and a
//! `kill -9` loses at most `READS_AT_RISK` of them.

use reqwest::{Method, StatusCode};
use serde_json::json;
use tekkan_storage::sql as raw;

use crate::support::fixture::{Fixture, Who};
use crate::support::{Client, code};

const PHONE: &str = "090-7777-8888";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sensitive_reads_are_committed_before_the_data_is_served() {
    let fx = Fixture::new().await;
    let club = fx.a.id.clone();
    let member_id =
        fx.a.people
            .iter()
            .find(|p| p.0 == Who::Member)
            .unwrap()
            .2
            .clone();
    let (mut officer, mut member) = (fx.client(Who::Officer), fx.client(Who::Member));
    let body = json!({"fields": {"phone": PHONE, "health_notes": "運動誘発喘息"}, "phone_visibility": "officers"});
    let (s, v) = member
        .api(Method::PUT, "/api/v1/me/personal", Some(body))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let personal = format!("/api/v1/clubs/{club}/members/{member_id}/personal");

    // Each sensitive read is in the log the moment its answer arrives: no waiting.
    let reads: [(&str, String); 3] = [
        ("personal.read", personal.clone()),
        (
            "attendance.report_read",
            format!("/api/v1/clubs/{club}/attendance?from=2026-01-01&to=2026-03-31"),
        ),
        ("audit.searched", format!("/api/v1/clubs/{club}/audit")),
    ];
    for (action, path) in &reads {
        let (s, v) = officer.api(Method::GET, path, None).await;
        assert_eq!(s, StatusCode::OK, "{path}: {v}");
        assert_eq!(fx.app.audit_count(action).await, 1, "{action}");
    }
    let mut operator = fx.client(Who::Operator);
    let (s, _) = operator.api(Method::GET, "/api/v1/admin/audit", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(fx.app.audit_count("audit.searched").await, 2);

    // While the log cannot be written (another writer holds the database), the fields
    // wait with it: nothing is served ahead of its record.
    let mut lock = fx.app.raw_db().await;
    crate::support::hold_writes(&mut lock).await;
    let mut waiting = officer.clone();
    let path = personal.clone();
    let read = tokio::spawn(async move { waiting.api(Method::GET, &path, None).await });
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    assert!(!read.is_finished(), "served before its read was recorded");
    raw::q("ROLLBACK").execute(&mut lock).await.unwrap();
    let (s, v) = read.await.unwrap();
    assert_eq!(
        (s, v["fields"]["phone"].as_str()),
        (StatusCode::OK, Some(PHONE))
    );
    assert_eq!(fx.app.audit_count("personal.read").await, 2);

    // A read whose entry cannot be written at all is refused, the data unsent.
    fx.app
        .running()
        .app
        .hold_writes("a test holds writes".into());
    for (_, path) in &reads {
        let p = officer.api_page(Method::GET, path, None, &[]).await;
        assert_eq!(p.status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert_eq!(code(&p.json()), "writes_held");
        assert!(!p.body.contains(PHONE) && !p.body.contains("喘息"));
    }
    // Reads outside the sensitive ones go on.
    let (s, _) = officer
        .api(Method::GET, &format!("/api/v1/clubs/{club}/members"), None)
        .await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_9_loses_at_most_the_stated_number_of_queued_reads() {
    tekkan_cli::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let (mut child, lines) = crate::cli::spawn_serve(
        &["serve", "--listen", "127.0.0.1:0", "--data-dir", d],
        &[
            ("TEKKAN_ACCOUNTS__OPEN_SIGNUP", "true"),
            ("TEKKAN_ACCOUNTS__ENFORCE_MFA", "false"),
            ("TEKKAN_ACCOUNTS__CONFIRM_SIGNUP", "false"),
        ],
    );
    let setup = lines
        .iter()
        .find_map(|l| l.find("/setup?token=").map(|i| l[..i].to_owned()))
        .unwrap_or_else(|| panic!("{lines:?}"));
    let base = setup[setup.find("http").unwrap()..].to_owned();
    let mut owner = Client::new(&base);
    let body = json!({"email": "kill9@example.jp", "display_name": "部長",
        "password": "a long enough passphrase"});
    let (s, v) = owner
        .api(Method::POST, "/api/v1/accounts", Some(body))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    owner.bearer = Some(v["token"].as_str().unwrap().to_owned());
    let club = owner.create_club("写真部").await;

    // More roster reads than can be at risk, then a sensitive read, then kill -9 at
    // once, without a moment for the queue to drain.
    let served = 2 * tekkan_app::READS_AT_RISK;
    let roster = format!("/api/v1/clubs/{club}/members");
    for _ in 0..served {
        let (s, _) = owner.api(Method::GET, &roster, None).await;
        assert_eq!(s, StatusCode::OK);
    }
    let (s, _) = owner
        .api(Method::GET, &format!("/api/v1/clubs/{club}/audit"), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    child.kill().unwrap();
    child.wait().unwrap();

    let mut db = { crate::support::raw_db_at(dir.path()).await };
    let n = |action: &'static str| {
        raw::scalar::<i64>("SELECT COUNT(*) FROM audit_log WHERE action = $1").bind(action)
    };
    let rosters = n("roster.read").fetch_one(&mut db).await.unwrap() as usize;
    let searched = n("audit.searched").fetch_one(&mut db).await.unwrap();
    assert_eq!(searched, 1, "the sensitive read survives the kill");
    assert!(
        rosters + tekkan_app::READS_AT_RISK >= served && rosters <= served,
        "{rosters} of {served} roster reads recorded"
    );
}
