//! Containment switches: read-only mode refuses every change with 503 while reads,
//! signing in and out and the operator's tools go on; sign-ups paused stops new
//! accounts, invitations and joining; sessions end by club or for everyone; a
//! lock-down from the command line reaches a running server; and a switch thrown on
//! one instance holds on another within 5 seconds. Every step is audited.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::TestApp;
use crate::support::fixture::{Fixture, Who, event};

async fn switch(op: &mut crate::support::Client, name: &str, on: bool) -> serde_json::Value {
    let (s, v) = op
        .api(
            Method::PUT,
            &format!("/api/v1/admin/containment/{name}"),
            Some(json!({"on": on, "reason": "不審なアクセスの調査中"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

fn answer_path(club: &str, occurrence: &str, member: &str) -> String {
    format!("/api/v1/clubs/{club}/occurrences/{occurrence}/answers/{member}")
}

#[tokio::test]
async fn read_only_refuses_changes_but_keeps_reads_sign_in_and_the_operator() {
    let fx = Fixture::new().await;
    let mut op = fx.client(Who::Operator);
    let mut owner = fx.client(Who::Owner);
    let mut member = fx.client(Who::Member);
    let m = fx.membership(Who::Member);
    let (_, occ) = event(&mut owner, &fx.a.id).await;
    let answer = answer_path(&fx.a.id, &occ, &m);

    let v = switch(&mut op, "read_only", true).await;
    assert_eq!(v["changed"], true);
    // Again: nothing changes, nothing is written twice.
    assert_eq!(switch(&mut op, "read_only", true).await["changed"], false);
    assert_eq!(fx.app.audit_count("containment.switch_on").await, 1);

    // A change: 503 with the reason's code and a time to come back; nothing written.
    let (s, v) = member
        .api(Method::PUT, &answer, Some(json!({"status": "yes"})))
        .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    assert_eq!(v["error"]["code"], "read_only");
    let page = member
        .raw(
            Method::PUT,
            &answer,
            &[
                ("content-type", "application/json"),
                (
                    "authorization",
                    &format!("Bearer {}", member.bearer.clone().unwrap()),
                ),
            ],
            br#"{"status":"yes"}"#.to_vec(),
        )
        .await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(page.headers.contains_key("retry-after"));
    let (s, _) = owner
        .api(
            Method::POST,
            &format!("/api/v1/clubs/{}/announcements", fx.a.id),
            Some(json!({"title": "連絡", "body": "本文"})),
        )
        .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    // A page's form post gets the same refusal, as a page.
    let mut browser = member.as_browser();
    let csrf = browser.csrf().await;
    let page = browser
        .post_form(
            &format!("/clubs/{}/occurrences/{occ}/answers/{m}", fx.a.id),
            &csrf,
            &[("status", "yes")],
        )
        .await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(page.body.contains("閲覧専用"), "{}", page.body);

    // Reads go on; so do signing out and in.
    let (s, _) = member
        .api(Method::GET, &format!("/api/v1/clubs/{}", fx.a.id), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = fx
        .app
        .log_in(&member.email, "a long enough passphrase")
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, _) = member.api(Method::DELETE, "/api/v1/session", None).await;
    assert!(s.is_success(), "{s}");
    // The operator reads the state and lifts it.
    let (s, v) = op.api(Method::GET, "/api/v1/admin/containment", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["read_only"]["reason"], "不審なアクセスの調査中", "{v}");
    assert_eq!(switch(&mut op, "read_only", false).await["changed"], true);
    assert_eq!(fx.app.audit_count("containment.switch_off").await, 1);
    let mut member = fx.client(Who::Guardian);
    let (s, v) = member
        .api(Method::PUT, &answer, Some(json!({"status": "yes"})))
        .await;
    assert!(s.is_success(), "{v}");

    // Not the operator: refused, and told nothing about the switches.
    let (s, _) = owner
        .api(
            Method::PUT,
            "/api/v1/admin/containment/read_only",
            Some(json!({"on": true, "reason": "x"})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = owner
        .api(
            Method::PUT,
            "/api/v1/admin/containment/no_such_switch",
            Some(json!({"on": true, "reason": "x"})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Turning one on needs a reason.
    let (s, v) = op
        .api(
            Method::PUT,
            "/api/v1/admin/containment/read_only",
            Some(json!({"on": true, "reason": "  "})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    fx.app.stop().await;
}

#[tokio::test]
async fn paused_sign_ups_stop_invitations_and_ended_sessions_are_dead() {
    let fx = Fixture::new().await;
    let mut op = fx.client(Who::Operator);
    let mut owner = fx.client(Who::Owner);
    let token = crate::support::fixture::invite(&mut owner, &fx.a.id, "member", false).await;
    switch(&mut op, "signups_paused", true).await;
    let body = json!({"role": "member", "max_uses": 5, "expires_in_hours": 24});
    let (s, v) = owner
        .api(
            Method::POST,
            &format!("/api/v1/clubs/{}/invitations", fx.a.id),
            Some(body),
        )
        .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    assert_eq!(v["error"]["code"], "signups_paused");
    let (s, v) = fx
        .app
        .client()
        .api(
            Method::POST,
            "/api/v1/accounts",
            Some(json!({"email": "new@example.jp", "display_name": "新入生",
                "password": "a long enough passphrase", "invitation": token})),
        )
        .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    // Everything else goes on.
    let (_, occ) = event(&mut owner, &fx.a.id).await;
    assert!(!occ.is_empty());
    switch(&mut op, "signups_paused", false).await;
    let joined = fx.app.sign_up("新入生", Some(&token)).await;
    assert!(joined.joined.is_some());

    // Club A's people lose their sessions; club B's and the operator's stay.
    let (s, v) = op
        .api(
            Method::POST,
            "/api/v1/admin/sessions/end",
            Some(json!({"scope": "club", "club": fx.a.id})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["sessions_ended"].as_u64().unwrap() >= 7, "{v}");
    for who in [Who::Owner, Who::Member, Who::Guardian] {
        let (s, _) = fx.client(who).api(Method::GET, "/api/v1/me", None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{who:?}");
    }
    let (s, _) = fx
        .outsider
        .clone()
        .api(Method::GET, "/api/v1/me", None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = op.api(Method::GET, "/api/v1/me", None).await;
    assert_eq!(s, StatusCode::OK);
    // Everyone's: the operator's own session is kept, so they can go on working.
    let (s, v) = op
        .api(
            Method::POST,
            "/api/v1/admin/sessions/end",
            Some(json!({"scope": "all"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, _) = fx
        .outsider
        .clone()
        .api(Method::GET, "/api/v1/me", None)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = op.api(Method::GET, "/api/v1/me", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(fx.app.audit_count("containment.sessions_ended").await, 2);
    // A scope without its id is a 400.
    let (s, _) = op
        .api(
            Method::POST,
            "/api/v1/admin/sessions/end",
            Some(json!({"scope": "club"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    fx.app.stop().await;
}

/// Polls `f` until it is true; returns how long it took (panics after `limit`).
pub async fn within<F, Fut>(limit: Duration, mut f: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    loop {
        if f().await {
            return started.elapsed();
        }
        assert!(started.elapsed() < limit, "not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_switch_thrown_on_one_instance_holds_on_another_within_5_seconds() {
    let fx = Fixture::new().await;
    let second = TestApp::builder().instance_of(&fx.app).start().await;
    let mut op = fx.client(Who::Operator);
    let mut owner = fx.client(Who::Owner);
    let (_, occ) = event(&mut owner, &fx.a.id).await;
    let answer = answer_path(&fx.a.id, &occ, &fx.membership(Who::Member));
    // The member talks to the second instance only.
    let mut member = fx.client(Who::Member);
    member.base = second.own_url();
    let (s, _) = member
        .api(Method::PUT, &answer, Some(json!({"status": "no"})))
        .await;
    assert!(s.is_success());

    switch(&mut op, "read_only", true).await;
    let took = within(Duration::from_secs(5), || {
        let mut c = member.clone();
        let path = answer.clone();
        async move {
            let (s, _) = c
                .api(Method::PUT, &path, Some(json!({"status": "yes"})))
                .await;
            s == StatusCode::SERVICE_UNAVAILABLE
        }
    })
    .await;
    eprintln!("read-only reached the second instance in {took:?}");
    switch(&mut op, "read_only", false).await;
    within(Duration::from_secs(5), || {
        let mut c = member.clone();
        let path = answer.clone();
        async move {
            let (s, _) = c
                .api(Method::PUT, &path, Some(json!({"status": "yes"})))
                .await;
            s.is_success()
        }
    })
    .await;

    // A lock-down from the command line, while both serve: read-only and sign-ups
    // paused everywhere, every session ended.
    let dir = fx.app.data_dir();
    let (ok, out) =
        crate::support::tekkan_on(&["contain", "lockdown", "--reason", "漏えいの疑い"], &dir);
    assert!(ok, "{out}");
    assert!(out.contains("read_only and signups_paused"), "{out}");
    let (s, _) = member.api(Method::GET, "/api/v1/me", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "sessions ended");
    let (s, v) = second
        .log_in(&member.email, "a long enough passphrase")
        .await;
    assert_eq!(s, StatusCode::CREATED, "signing in still works: {v}");
    member.bearer = v["token"].as_str().map(str::to_owned);
    within(Duration::from_secs(5), || {
        let mut c = member.clone();
        let path = answer.clone();
        async move {
            let (s, _) = c
                .api(Method::PUT, &path, Some(json!({"status": "no"})))
                .await;
            s == StatusCode::SERVICE_UNAVAILABLE
        }
    })
    .await;
    let (ok, out) = crate::support::tekkan_on(&["contain", "status"], &dir);
    assert!(ok, "{out}");
    assert!(out.contains("read_only: ON since"), "{out}");
    assert!(out.contains("漏えいの疑い"), "{out}");
    for s in ["read_only", "signups_paused"] {
        let (ok, out) = crate::support::tekkan_on(&["contain", "off", s], &dir);
        assert!(ok, "{out}");
    }
    within(Duration::from_secs(5), || {
        let mut c = member.clone();
        let path = answer.clone();
        async move {
            let (s, _) = c
                .api(Method::PUT, &path, Some(json!({"status": "no"})))
                .await;
            s.is_success()
        }
    })
    .await;
    // An unknown switch is a usage error, not a change.
    let (ok, out) =
        crate::support::tekkan_on(&["contain", "on", "everything", "--reason", "x"], &dir);
    assert!(!ok && out.contains("unknown switch"), "{out}");
    assert_eq!(fx.app.audit_count("containment.switch_on").await, 3);
    assert_eq!(fx.app.audit_count("containment.switch_off").await, 3);
    second.stop_instance().await;
    fx.app.stop().await;
}
