//! The access matrix: every endpoint × every role × own club / another club / logged
//! out. The table below is written independently of the server's permission code; the
//! test fails when the router serves an endpoint the table does not list, or the table
//! lists one the router lacks.

use std::collections::BTreeSet;
use tekkan_storage::sql as raw;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::fixture::{
    ClubFx, Fixture, Who, announcement, comment, event, invitation_id, invite, join, jst_in_days,
    poll, subgroup,
};
use crate::support::{Client, unique};

#[derive(Clone, Copy, Debug)]
enum Rule {
    /// Anyone, logged in or not: never refused for who they are.
    Public,
    /// Any logged-in person.
    AnyUser,
    /// Members of the club with one of these roles.
    Club(&'static [&'static str]),
    /// Only the account the thing belongs to (club A's owner made it); anyone else
    /// logged in is told it does not exist.
    Mine,
    /// Only the operator; anyone else logged in is refused.
    Operator,
}

const ALL: &[&str] = &[
    "owner",
    "officer",
    "treasurer",
    "coach",
    "member",
    "guardian",
];
const ADMIN: &[&str] = &["owner", "officer"];
const GROUPS: &[&str] = &["owner", "officer", "coach"];
/// The author of the fixture's comment.
const AUTHOR: &[&str] = &["owner"];
/// Who may answer for the student: themselves, their guardian, and attendance managers.
const ANSWER_FOR_STUDENT: &[&str] = &["owner", "officer", "coach", "member", "guardian"];

use Rule::*;

/// (method, path, rule)
const CASES: &[(&str, &str, Rule)] = &[
    ("GET", "/healthz", Public),
    ("GET", "/api/v1/version", Public),
    // Loopback peers only (the matrix runs on loopback; it::backup shows the rest).
    ("GET", "/metrics", Public),
    ("POST", "/api/v1/setup", Public),
    ("POST", "/api/v1/accounts", Public),
    ("POST", "/api/v1/accounts/confirm", Public),
    ("GET", "/signup/confirm", Public),
    ("POST", "/signup/confirm", Public),
    ("POST", "/api/v1/session", Public),
    ("POST", "/api/v1/unlock", Public),
    ("POST", "/api/v1/session/second-step", Public),
    ("POST", "/login/code", Public),
    ("GET", "/api/v1/me/mfa", AnyUser),
    ("POST", "/api/v1/me/mfa/totp", AnyUser),
    ("POST", "/api/v1/me/mfa/totp/confirm", AnyUser),
    ("DELETE", "/api/v1/me/mfa/totp", AnyUser),
    ("POST", "/api/v1/me/mfa/recovery-codes", AnyUser),
    ("POST", "/api/v1/me/reauth", AnyUser),
    ("GET", "/settings/security", AnyUser),
    ("POST", "/settings/security/totp", AnyUser),
    ("POST", "/settings/security/totp/confirm", AnyUser),
    ("POST", "/settings/security/totp/remove", AnyUser),
    ("POST", "/settings/security/recovery-codes", AnyUser),
    ("POST", "/settings/security/reauth", AnyUser),
    ("GET", "/unlock", Public),
    ("POST", "/api/v1/password-reset", Public),
    ("POST", "/api/v1/password-reset/complete", Public),
    ("POST", "/api/v1/email-change/confirm", Public),
    ("PUT", "/api/v1/me/password", AnyUser),
    ("PUT", "/api/v1/me/email", AnyUser),
    ("GET", "/api/v1/me/sessions", AnyUser),
    ("DELETE", "/api/v1/me/sessions", AnyUser),
    ("DELETE", "/api/v1/me/sessions/{session}", Mine),
    (
        "DELETE",
        "/api/v1/admin/accounts/{account}/sessions",
        Operator,
    ),
    ("GET", "/status", Public),
    ("GET", "/status.atom", Public),
    ("GET", "/status.json", Public),
    ("GET", "/admin/incidents", Operator),
    ("POST", "/admin/incidents", Operator),
    ("GET", "/admin/incidents/{incident}", Operator),
    ("POST", "/admin/incidents/{incident}/updates", Operator),
    ("GET", "/api/v1/admin/incidents", Operator),
    ("POST", "/api/v1/admin/incidents", Operator),
    (
        "POST",
        "/api/v1/admin/incidents/{incident}/updates",
        Operator,
    ),
    ("GET", "/api/v1/admin/incidents/{incident}/breach", Operator),
    ("PUT", "/api/v1/admin/incidents/{incident}/breach", Operator),
    ("GET", "/admin/incidents/{incident}/breach", Operator),
    ("POST", "/admin/incidents/{incident}/breach", Operator),
    (
        "GET",
        "/admin/incidents/{incident}/breach/notices",
        Operator,
    ),
    ("GET", "/api/v1/admin/alerts", Operator),
    ("POST", "/api/v1/admin/alerts/test", Operator),
    ("GET", "/api/v1/admin/containment", Operator),
    ("PUT", "/api/v1/admin/containment/{switch}", Operator),
    ("POST", "/api/v1/admin/sessions/end", Operator),
    ("POST", "/api/v1/admin/lockdown", Operator),
    ("POST", "/api/v1/admin/keys/rotate", Operator),
    ("POST", "/api/v1/admin/password-reset", Operator),
    ("POST", "/api/v1/admin/accounts/{account}/disable", Operator),
    ("POST", "/api/v1/admin/accounts/{account}/enable", Operator),
    ("GET", "/password-reset", Public),
    ("POST", "/password-reset", Public),
    ("GET", "/reset", Public),
    ("POST", "/reset", Public),
    ("GET", "/email/confirm", Public),
    ("POST", "/email/confirm", Public),
    ("POST", "/settings/security/password", AnyUser),
    ("POST", "/settings/security/email", AnyUser),
    ("GET", "/settings/sessions", AnyUser),
    ("POST", "/settings/sessions/revoke-others", AnyUser),
    ("POST", "/settings/sessions/{session}/revoke", Mine),
    ("GET", "/api/v1/me/personal", AnyUser),
    ("PUT", "/api/v1/me/personal", AnyUser),
    (
        "GET",
        "/api/v1/clubs/{club}/members/{member}/personal",
        Club(ALL),
    ),
    (
        "POST",
        "/api/v1/clubs/{club}/members/{member}/personal-consent",
        Club(&["guardian"]),
    ),
    ("GET", "/settings/profile", AnyUser),
    ("POST", "/api/v1/me/passkeys/options", AnyUser),
    ("POST", "/api/v1/me/passkeys", AnyUser),
    ("GET", "/api/v1/me/passkeys", AnyUser),
    ("DELETE", "/api/v1/me/passkeys/{passkey}", Mine),
    ("POST", "/api/v1/session/passkey/options", Public),
    ("POST", "/api/v1/session/passkey", Public),
    ("POST", "/api/v1/me/reauth/passkey", AnyUser),
    ("DELETE", "/api/v1/me/password", AnyUser),
    ("POST", "/login/passkey", Public),
    ("POST", "/settings/security/passkeys", AnyUser),
    ("POST", "/settings/security/passkeys/{passkey}/remove", Mine),
    ("POST", "/settings/security/reauth/passkey", AnyUser),
    ("POST", "/settings/security/password/remove", AnyUser),
    ("GET", "/api/v1/me/export", AnyUser),
    ("PATCH", "/api/v1/me", AnyUser),
    ("DELETE", "/api/v1/me", AnyUser),
    ("POST", "/api/v1/me/privacy-requests", AnyUser),
    ("GET", "/api/v1/admin/privacy-requests", Operator),
    ("GET", "/settings/privacy", AnyUser),
    ("GET", "/settings/privacy/export", AnyUser),
    ("POST", "/settings/privacy/name", AnyUser),
    ("POST", "/settings/privacy/request", AnyUser),
    ("POST", "/settings/privacy/delete", AnyUser),
    ("POST", "/settings/profile", AnyUser),
    ("POST", "/unlock", Public),
    ("DELETE", "/api/v1/session", AnyUser),
    ("GET", "/api/v1/me", AnyUser),
    ("GET", "/api/v1/clubs", AnyUser),
    ("POST", "/api/v1/clubs", AnyUser),
    ("GET", "/api/v1/clubs/{club}", Club(ALL)),
    ("PATCH", "/api/v1/clubs/{club}", Club(ADMIN)),
    ("PUT", "/api/v1/clubs/{club}/require-mfa", Club(ADMIN)),
    ("POST", "/clubs/{club}/settings/mfa", Club(ADMIN)),
    ("POST", "/api/v1/clubs/{club}/leave", Club(ALL)),
    ("GET", "/api/v1/clubs/{club}/members", Club(ALL)),
    ("GET", "/api/v1/clubs/{club}/audit/export", Club(ADMIN)),
    ("GET", "/api/v1/clubs/{club}/audit", Club(ADMIN)),
    ("GET", "/clubs/{club}/audit", Club(ADMIN)),
    ("GET", "/api/v1/me/viewers", AnyUser),
    ("GET", "/settings/viewers", AnyUser),
    ("GET", "/api/v1/admin/audit", Operator),
    (
        "POST",
        "/api/v1/clubs/{club}/signed-actions/options",
        Club(ALL),
    ),
    ("GET", "/transparency/checkpoint", Public),
    ("GET", "/transparency/keys", Public),
    ("GET", "/transparency", Public),
    ("GET", "/api/v1/transparency/checkpoint", Public),
    ("GET", "/api/v1/transparency/keys", Public),
    ("GET", "/api/v1/transparency/inclusion", Public),
    ("GET", "/api/v1/transparency/consistency", Public),
    (
        "PUT",
        "/api/v1/clubs/{club}/members/{member}/role",
        Club(ADMIN),
    ),
    (
        "DELETE",
        "/api/v1/clubs/{club}/members/{member}",
        Club(ADMIN),
    ),
    (
        "POST",
        "/api/v1/clubs/{club}/members/{member}/approve",
        Club(ADMIN),
    ),
    (
        "POST",
        "/api/v1/clubs/{club}/members/{member}/reject",
        Club(ADMIN),
    ),
    (
        "PUT",
        "/api/v1/clubs/{club}/members/{member}/students/{student}",
        Club(ADMIN),
    ),
    (
        "DELETE",
        "/api/v1/clubs/{club}/members/{member}/students/{student}",
        Club(ADMIN),
    ),
    ("GET", "/api/v1/clubs/{club}/subgroups", Club(ALL)),
    ("POST", "/api/v1/clubs/{club}/subgroups", Club(GROUPS)),
    (
        "PATCH",
        "/api/v1/clubs/{club}/subgroups/{subgroup}",
        Club(GROUPS),
    ),
    (
        "DELETE",
        "/api/v1/clubs/{club}/subgroups/{subgroup}",
        Club(GROUPS),
    ),
    (
        "PUT",
        "/api/v1/clubs/{club}/subgroups/{subgroup}/members/{member}",
        Club(GROUPS),
    ),
    (
        "DELETE",
        "/api/v1/clubs/{club}/subgroups/{subgroup}/members/{member}",
        Club(GROUPS),
    ),
    ("GET", "/api/v1/clubs/{club}/invitations", Club(ADMIN)),
    ("POST", "/api/v1/clubs/{club}/invitations", Club(ADMIN)),
    (
        "DELETE",
        "/api/v1/clubs/{club}/invitations/{invitation}",
        Club(ADMIN),
    ),
    ("GET", "/api/v1/invitations/{token}", Public),
    ("GET", "/api/v1/roles", Public),
    ("POST", "/api/v1/invitations/{token}/accept", AnyUser),
    ("GET", "/", Public),
    ("GET", "/setup", Public),
    ("POST", "/setup", Public),
    ("GET", "/signup", Public),
    ("POST", "/signup", Public),
    ("GET", "/login", Public),
    ("POST", "/login", Public),
    ("POST", "/logout", Public),
    ("POST", "/lang", Public),
    // A per-device preference, like the language: a cookie, nothing stored.
    ("POST", "/settings/security/later", Public),
    ("GET", "/static/app.css", Public),
    ("GET", "/static/app.js", Public),
    ("GET", "/clubs", AnyUser),
    ("GET", "/clubs/new", AnyUser),
    ("POST", "/clubs", AnyUser),
    ("GET", "/clubs/{club}", Club(ALL)),
    ("GET", "/clubs/{club}/settings", Club(ADMIN)),
    ("POST", "/clubs/{club}/settings", Club(ADMIN)),
    ("POST", "/clubs/{club}/leave", Club(ALL)),
    ("GET", "/clubs/{club}/members", Club(ALL)),
    ("POST", "/clubs/{club}/members/{member}/role", Club(ADMIN)),
    ("POST", "/clubs/{club}/members/{member}/remove", Club(ADMIN)),
    (
        "POST",
        "/clubs/{club}/members/{member}/approve",
        Club(ADMIN),
    ),
    ("POST", "/clubs/{club}/members/{member}/reject", Club(ADMIN)),
    ("POST", "/clubs/{club}/guardian-links", Club(ADMIN)),
    (
        "POST",
        "/clubs/{club}/members/{member}/students/{student}/unlink",
        Club(ADMIN),
    ),
    ("GET", "/clubs/{club}/roles", Club(ALL)),
    ("GET", "/clubs/{club}/subgroups", Club(ALL)),
    ("POST", "/clubs/{club}/subgroups", Club(GROUPS)),
    (
        "POST",
        "/clubs/{club}/subgroups/{subgroup}/edit",
        Club(GROUPS),
    ),
    (
        "POST",
        "/clubs/{club}/subgroups/{subgroup}/delete",
        Club(GROUPS),
    ),
    (
        "POST",
        "/clubs/{club}/subgroups/{subgroup}/members",
        Club(GROUPS),
    ),
    (
        "POST",
        "/clubs/{club}/subgroups/{subgroup}/members/{member}/remove",
        Club(GROUPS),
    ),
    ("GET", "/clubs/{club}/invitations", Club(ADMIN)),
    ("POST", "/clubs/{club}/invitations", Club(ADMIN)),
    (
        "POST",
        "/clubs/{club}/invitations/{invitation}/revoke",
        Club(ADMIN),
    ),
    ("GET", "/join/{token}", Public),
    ("POST", "/join/{token}", AnyUser),
    ("GET", "/api/v1/me/schedule", AnyUser),
    ("GET", "/api/v1/me/notifications", AnyUser),
    ("POST", "/api/v1/me/notifications/read", AnyUser),
    ("GET", "/api/v1/me/notification-prefs", AnyUser),
    ("PUT", "/api/v1/me/notification-prefs", AnyUser),
    ("GET", "/api/v1/clubs/{club}/occurrences", Club(ALL)),
    ("POST", "/api/v1/clubs/{club}/events", Club(GROUPS)),
    ("GET", "/api/v1/clubs/{club}/events/{event}", Club(ALL)),
    ("PUT", "/api/v1/clubs/{club}/events/{event}", Club(GROUPS)),
    (
        "POST",
        "/api/v1/clubs/{club}/events/{event}/cancel",
        Club(GROUPS),
    ),
    (
        "GET",
        "/api/v1/clubs/{club}/occurrences/{occurrence}",
        Club(ALL),
    ),
    (
        "PUT",
        "/api/v1/clubs/{club}/occurrences/{occurrence}",
        Club(GROUPS),
    ),
    (
        "POST",
        "/api/v1/clubs/{club}/occurrences/{occurrence}/cancel",
        Club(GROUPS),
    ),
    (
        "PUT",
        "/api/v1/clubs/{club}/occurrences/{occurrence}/answers/{member}",
        Club(ANSWER_FOR_STUDENT),
    ),
    (
        "POST",
        "/api/v1/clubs/{club}/occurrences/{occurrence}/remind",
        Club(GROUPS),
    ),
    (
        "GET",
        "/api/v1/clubs/{club}/occurrences/{occurrence}/roll-call",
        Club(GROUPS),
    ),
    (
        "PUT",
        "/api/v1/clubs/{club}/occurrences/{occurrence}/roll-call/{member}",
        Club(GROUPS),
    ),
    ("GET", "/api/v1/clubs/{club}/attendance", Club(GROUPS)),
    ("GET", "/api/v1/clubs/{club}/attendance.csv", Club(GROUPS)),
    ("GET", "/schedule", AnyUser),
    ("GET", "/notifications", AnyUser),
    ("POST", "/notifications/read", AnyUser),
    ("GET", "/clubs/{club}/events", Club(ALL)),
    ("GET", "/clubs/{club}/events/new", Club(GROUPS)),
    ("POST", "/clubs/{club}/events", Club(GROUPS)),
    ("POST", "/clubs/{club}/events/{event}/cancel", Club(GROUPS)),
    ("GET", "/clubs/{club}/occurrences/{occurrence}", Club(ALL)),
    (
        "POST",
        "/clubs/{club}/occurrences/{occurrence}/edit",
        Club(GROUPS),
    ),
    (
        "POST",
        "/clubs/{club}/occurrences/{occurrence}/cancel",
        Club(GROUPS),
    ),
    (
        "POST",
        "/clubs/{club}/occurrences/{occurrence}/remind",
        Club(GROUPS),
    ),
    (
        "POST",
        "/clubs/{club}/occurrences/{occurrence}/answers/{member}",
        Club(ANSWER_FOR_STUDENT),
    ),
    (
        "POST",
        "/clubs/{club}/occurrences/{occurrence}/roll-call/{member}",
        Club(GROUPS),
    ),
    ("GET", "/clubs/{club}/attendance", Club(GROUPS)),
    ("GET", "/api/v1/clubs/{club}/announcements", Club(ALL)),
    ("POST", "/api/v1/clubs/{club}/announcements", Club(GROUPS)),
    (
        "GET",
        "/api/v1/clubs/{club}/announcements/{announcement}",
        Club(ALL),
    ),
    (
        "PUT",
        "/api/v1/clubs/{club}/announcements/{announcement}",
        Club(GROUPS),
    ),
    (
        "DELETE",
        "/api/v1/clubs/{club}/announcements/{announcement}",
        Club(GROUPS),
    ),
    (
        "POST",
        "/api/v1/clubs/{club}/announcements/{announcement}/confirm",
        Club(ALL),
    ),
    (
        "GET",
        "/api/v1/clubs/{club}/announcements/{announcement}/comments",
        Club(ALL),
    ),
    (
        "POST",
        "/api/v1/clubs/{club}/announcements/{announcement}/comments",
        Club(ALL),
    ),
    (
        "GET",
        "/api/v1/clubs/{club}/occurrences/{occurrence}/comments",
        Club(ALL),
    ),
    (
        "POST",
        "/api/v1/clubs/{club}/occurrences/{occurrence}/comments",
        Club(ALL),
    ),
    (
        "PUT",
        "/api/v1/clubs/{club}/comments/{comment}",
        Club(AUTHOR),
    ),
    (
        "DELETE",
        "/api/v1/clubs/{club}/comments/{comment}",
        Club(AUTHOR),
    ),
    (
        "GET",
        "/api/v1/clubs/{club}/comments/{comment}/history",
        Club(ALL),
    ),
    ("GET", "/clubs/{club}/announcements", Club(ALL)),
    ("GET", "/clubs/{club}/announcements/new", Club(GROUPS)),
    ("POST", "/clubs/{club}/announcements", Club(GROUPS)),
    (
        "GET",
        "/clubs/{club}/announcements/{announcement}",
        Club(ALL),
    ),
    (
        "POST",
        "/clubs/{club}/announcements/{announcement}/confirm",
        Club(ALL),
    ),
    (
        "POST",
        "/clubs/{club}/announcements/{announcement}/delete",
        Club(GROUPS),
    ),
    (
        "POST",
        "/clubs/{club}/announcements/{announcement}/comments",
        Club(ALL),
    ),
    (
        "POST",
        "/clubs/{club}/occurrences/{occurrence}/comments",
        Club(ALL),
    ),
    (
        "POST",
        "/clubs/{club}/comments/{comment}/edit",
        Club(AUTHOR),
    ),
    (
        "POST",
        "/clubs/{club}/comments/{comment}/delete",
        Club(AUTHOR),
    ),
    ("GET", "/clubs/{club}/comments/{comment}/history", Club(ALL)),
    ("GET", "/api/v1/clubs/{club}/polls", Club(ALL)),
    ("POST", "/api/v1/clubs/{club}/polls", Club(GROUPS)),
    ("GET", "/api/v1/clubs/{club}/polls/{poll}", Club(ALL)),
    ("PUT", "/api/v1/clubs/{club}/polls/{poll}/vote", Club(ALL)),
    (
        "POST",
        "/api/v1/clubs/{club}/polls/{poll}/close",
        Club(GROUPS),
    ),
    ("GET", "/clubs/{club}/polls", Club(ALL)),
    ("GET", "/clubs/{club}/polls/new", Club(GROUPS)),
    ("POST", "/clubs/{club}/polls", Club(GROUPS)),
    ("GET", "/clubs/{club}/polls/{poll}", Club(ALL)),
    ("POST", "/clubs/{club}/polls/{poll}/vote", Club(ALL)),
    ("POST", "/clubs/{club}/polls/{poll}/close", Club(GROUPS)),
    ("GET", "/api/v1/me/calendar-feed", AnyUser),
    ("POST", "/api/v1/me/calendar-feed", AnyUser),
    ("DELETE", "/api/v1/me/calendar-feed", AnyUser),
    ("GET", "/calendar/{file}", Public),
    ("GET", "/settings", AnyUser),
    ("POST", "/settings/calendar", AnyUser),
    ("POST", "/settings/calendar/revoke", AnyUser),
    ("POST", "/settings/notifications", AnyUser),
    ("GET", "/api/v1/push/vapid-public-key", Public),
    ("POST", "/api/v1/me/push-subscriptions", AnyUser),
    (
        "DELETE",
        "/api/v1/me/push-subscriptions/{subscription}",
        Mine,
    ),
    ("GET", "/sw.js", Public),
    ("GET", "/manifest.webmanifest", Public),
];

#[test]
fn every_endpoint_has_a_matrix_entry() {
    let served: BTreeSet<(String, String)> = tekkan_web::routes()
        .endpoints()
        .iter()
        .map(|e| (e.method.to_string(), e.path.to_owned()))
        .collect();
    let listed: BTreeSet<(String, String)> = CASES
        .iter()
        .map(|(m, p, _)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    let missing: Vec<_> = served.difference(&listed).collect();
    let stale: Vec<_> = listed.difference(&served).collect();
    assert!(
        missing.is_empty(),
        "endpoints without an access-matrix entry: {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "matrix entries for endpoints that do not exist: {stale:?}"
    );
    assert_eq!(listed.len(), CASES.len(), "duplicate matrix entries");
}

/// A browser's subscription (the keys of RFC 8291's example) at a unique endpoint.
fn push_subscription() -> Value {
    json!({"endpoint": format!("https://push.example.net/{}", unique("sub")),
        "keys": {"p256dh": "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
                 "auth": "BTBZMqHH6r4Tts7J_aSIgg"}})
}

enum Body {
    None,
    Json(Value),
    Form(Vec<(String, String)>),
}

/// A breach statement for the matrix: the day before, anyone's reads.
fn breach_statement() -> Value {
    let now = tekkan_storage::now_ms();
    json!({"from": now - 86_400_000, "to": now, "exposure": "access"})
}

/// Fills the path and body of `path` with fresh targets in `club`, made by its owner.
async fn prepare(fx: &Fixture, club: &ClubFx, method: &str, path: &str) -> (String, Body) {
    let mut owner = club.owner.clone();
    let mut p = path
        .replace("{club}", &club.id)
        .replace("{student}", &club.student);
    let guardian_link = path.contains("/students/") || path.ends_with("/guardian-links");
    p = p.replace("{switch}", "signups_paused");
    if p.contains("{incident}") {
        let breach = p.contains("/breach");
        let mut op = fx.operator.clone();
        let (s, v) = op
            .api(
                Method::POST,
                "/api/v1/admin/incidents",
                Some(
                    json!({"category": if breach { "data_leak" } else { "outage" },
                    "title": "matrix"}),
                ),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let id = v["id"].as_str().unwrap();
        p = p.replace("{incident}", id);
        if breach && method == "GET" {
            // A breach is read once the operator has stated its window.
            let (s, v) = op
                .api(
                    Method::PUT,
                    &format!("/api/v1/admin/incidents/{id}/breach"),
                    Some(breach_statement()),
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{v}");
        }
    }
    if p.contains("{event}") || p.contains("{occurrence}") {
        let (e, o) = event(&mut owner, &club.id).await;
        p = p.replace("{event}", &e).replace("{occurrence}", &o);
    }
    if p.contains("{announcement}") {
        p = p.replace("{announcement}", &announcement(&mut owner, &club.id).await);
    }
    if p.contains("{file}") {
        let (s, f) = owner
            .api(Method::POST, "/api/v1/me/calendar-feed", None)
            .await;
        assert_eq!(s, StatusCode::CREATED, "{f}");
        let url = f["url"].as_str().unwrap();
        p = p.replace("{file}", url.rsplit('/').next().unwrap());
    }
    if p.contains("{subscription}") {
        let (s, v) = owner
            .api(
                Method::POST,
                "/api/v1/me/push-subscriptions",
                Some(push_subscription()),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        p = p.replace("{subscription}", v["id"].as_str().unwrap());
    }
    if p.contains("{session}") {
        // A second session of the owner's, from another device.
        let (s, v) = fx
            .app
            .client()
            .api(
                Method::POST,
                "/api/v1/session",
                Some(json!({"email": owner.email, "password": "a long enough passphrase"})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let (_, list) = owner.api(Method::GET, "/api/v1/me/sessions", None).await;
        let other = list
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["current"] == false)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        p = p.replace("{session}", &other);
    }
    if p.contains("{passkey}") {
        // A passkey of the owner's, stored as registration would store it.
        let (_, me) = owner.api(Method::GET, "/api/v1/me", None).await;
        let id = unique("passkey");
        let mut db = fx.app.raw_db().await;
        raw::q(
            "INSERT INTO passkeys (credential_id, account_id, name, static_state, \
             dynamic_state, created_at) VALUES ($1, $2, 'key', 'AA', 'AA', 0)",
        )
        .bind(&id)
        .bind(me["account_id"].as_str().unwrap())
        .execute(&mut db)
        .await
        .unwrap();
        p = p.replace("{passkey}", &id);
    }
    if p.contains("{account}") {
        let mut target = fx.app.sign_up("target", None).await;
        let (_, me) = target.api(Method::GET, "/api/v1/me", None).await;
        p = p.replace("{account}", me["account_id"].as_str().unwrap());
    }
    if p.contains("{poll}") {
        p = p.replace("{poll}", &poll(&mut owner, &club.id).await);
    }
    if p.contains("{comment}") {
        p = p.replace("{comment}", &comment(&mut owner, &club.id).await);
    }
    if path.contains("/answers/{member}") || path.ends_with("/personal-consent") {
        p = p.replace("{member}", &club.student);
    }
    if path.contains("/attendance") {
        let today = &jst_in_days(0, 0, 0)[..10];
        p = format!("{p}?from={today}&to={today}");
    }
    if p.contains("{subgroup}") {
        let sg = subgroup(&mut owner, &club.id).await;
        if path.ends_with("/members/{member}") && method == "DELETE"
            || path.ends_with("/members/{member}/remove")
        {
            let (s, v) = owner
                .api(
                    Method::PUT,
                    &format!(
                        "/api/v1/clubs/{}/subgroups/{sg}/members/{}",
                        club.id, club.student
                    ),
                    None,
                )
                .await;
            assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
        }
        p = p.replace("{subgroup}", &sg);
        p = p.replace("{member}", &club.student);
    }
    let mut fresh_guardian = None;
    if p.contains("{member}") || path.ends_with("/guardian-links") {
        let pending = path.ends_with("/approve") || path.ends_with("/reject");
        let role = if guardian_link { "guardian" } else { "member" };
        let (_, m) = join(&fx.app, &mut owner, &club.id, role, pending).await;
        if method == "DELETE" && path.contains("/students/") || path.ends_with("/unlink") {
            let (s, v) = owner
                .api(
                    Method::PUT,
                    &format!(
                        "/api/v1/clubs/{}/members/{m}/students/{}",
                        club.id, club.student
                    ),
                    None,
                )
                .await;
            assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
        }
        p = p.replace("{member}", &m);
        fresh_guardian = Some(m);
    }
    if p.contains("{invitation}") {
        p = p.replace("{invitation}", &invitation_id(&mut owner, &club.id).await);
    }
    if p.contains("{token}") {
        p = p.replace(
            "{token}",
            &invite(&mut owner, &club.id, "member", false).await,
        );
    }
    let email = format!("{}@example.jp", unique("new"));
    let owner_email = club.owner.email.clone();
    let form = |pairs: &[(&str, &str)]| {
        Body::Form(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    };
    let body = match (method, path) {
        ("POST", "/api/v1/setup") => Body::Json(
            json!({"token": "forged", "email": email, "display_name": "x", "password": "a long enough passphrase"}),
        ),
        ("POST", "/api/v1/accounts") => Body::Json(
            json!({"email": email, "display_name": "新入部員", "password": "a long enough passphrase"}),
        ),
        ("POST", "/api/v1/session") => {
            Body::Json(json!({"email": owner_email, "password": "a long enough passphrase"}))
        }
        ("POST", "/api/v1/clubs") => Body::Json(json!({"name": "新しいクラブ"})),
        ("POST", "/api/v1/password-reset") => Body::Json(json!({ "email": email })),
        ("POST", "/api/v1/password-reset/complete") => {
            Body::Json(json!({"token": "forged", "password": "a long enough passphrase"}))
        }
        ("POST", "/api/v1/email-change/confirm") | ("POST", "/api/v1/accounts/confirm") => {
            Body::Json(json!({"token": "forged"}))
        }
        ("POST", "/signup/confirm") => form(&[("token", "forged")]),
        ("PUT", "/api/v1/me/password") => Body::Json(json!({
            "current_password": "a long enough passphrase",
            "password": "a long enough passphrase"
        })),
        ("PUT", "/api/v1/me/email") => Body::Json(json!({ "email": email })),
        ("POST", "/api/v1/admin/incidents") => {
            Body::Json(json!({"category": "outage", "title": "障害", "message": "調査中です"}))
        }
        ("POST", "/api/v1/admin/incidents/{incident}/updates") => {
            Body::Json(json!({"state": "identified", "message": "原因を特定しました"}))
        }
        ("PUT", "/api/v1/admin/incidents/{incident}/breach") => Body::Json(breach_statement()),
        ("PUT", "/api/v1/admin/containment/{switch}") => {
            Body::Json(json!({"on": true, "reason": "access matrix"}))
        }
        // One person's sessions (club B's owner, whom no caller here is): ending
        // everyone's would log the callers after the operator out mid-matrix.
        ("POST", "/api/v1/admin/sessions/end") => {
            let (_, me) =
                fx.b.owner
                    .clone()
                    .api(Method::GET, "/api/v1/me", None)
                    .await;
            Body::Json(json!({"scope": "account", "account": me["account_id"]}))
        }
        // Refused for want of a reason (400, after the operator check): a lock-down would
        // end every other caller's session mid-matrix. it::containment locks down.
        ("POST", "/api/v1/admin/lockdown") => Body::Json(json!({"reason": ""})),
        // Rotating keys ends every session, and a forced reset would stop club B's
        // owner signing in: both refused after the operator check (400), as above.
        ("POST", "/api/v1/admin/keys/rotate") => Body::Json(json!({"reason": ""})),
        ("POST", "/api/v1/admin/password-reset") => Body::Json(json!({"scope": "account"})),
        ("PATCH", "/api/v1/me") => Body::Json(json!({"display_name": "訂正後の名前"})),
        ("POST", "/api/v1/me/passkeys") => Body::Json(json!({"name": "key", "credential": {}})),
        ("POST", "/api/v1/session/passkey") | ("POST", "/api/v1/me/reauth/passkey") => {
            Body::Json(json!({"credential": {}}))
        }
        ("POST", "/api/v1/me/privacy-requests") => {
            Body::Json(json!({"kind": "other", "details": "確認のお願い"}))
        }
        ("POST", "/settings/privacy/name") => form(&[("display_name", "訂正後の名前")]),
        ("POST", "/settings/privacy/request") => form(&[("kind", "correction"), ("details", "x")]),
        ("POST", "/settings/privacy/delete") => form(&[("confirm", "yes")]),
        ("PUT", "/api/v1/me/personal") => {
            Body::Json(json!({"fields": {"school": "テスト中学校"}, "phone_visibility": "club"}))
        }
        ("POST", "/settings/profile") => form(&[("grade", "2年"), ("phone_visibility", "club")]),
        ("POST", "/password-reset") => form(&[("email", &email)]),
        ("POST", "/reset") => form(&[("token", "forged"), ("password", "x")]),
        ("POST", "/email/confirm") => form(&[("token", "forged")]),
        ("POST", "/settings/security/password") => form(&[
            ("current_password", "a long enough passphrase"),
            ("password", "a long enough passphrase"),
        ]),
        ("POST", "/settings/security/email") => form(&[("email", &email)]),
        ("PUT", "/api/v1/clubs/{club}/require-mfa") => Body::Json(json!({"required": false})),
        ("PATCH", "/api/v1/clubs/{club}") => {
            Body::Json(json!({"name": "改名したクラブ", "description": "説明"}))
        }
        ("PUT", p) if p.ends_with("/role") => Body::Json(json!({"role": "treasurer"})),
        ("POST", p) if p.ends_with("/signed-actions/options") => Body::Json(
            json!({"kind": "member.role_change", "target": "membership:x", "fields": {"role": "coach"}}),
        ),
        ("POST", "/api/v1/clubs/{club}/subgroups")
        | ("PATCH", "/api/v1/clubs/{club}/subgroups/{subgroup}") => {
            Body::Json(json!({"name": "2年", "kind": "grade"}))
        }
        ("POST", "/api/v1/clubs/{club}/invitations") => Body::Json(json!({"role": "member"})),
        ("POST", "/api/v1/clubs/{club}/events") => Body::Json(json!({"title": "練習",
            "starts_at": jst_in_days(2, 16, 0), "ends_at": jst_in_days(2, 18, 0)})),
        ("PUT", "/api/v1/clubs/{club}/events/{event}") => Body::Json(json!({"title": "改題"})),
        ("PUT", "/api/v1/clubs/{club}/occurrences/{occurrence}") => {
            Body::Json(json!({"title": "改題",
            "starts_at": jst_in_days(2, 16, 0), "ends_at": jst_in_days(2, 18, 0), "deadline_before_min": 60}))
        }
        ("PUT", p) if p.ends_with("/answers/{member}") => Body::Json(json!({"status": "yes"})),
        ("PUT", p) if p.contains("/roll-call/") => Body::Json(json!({"present": true})),
        ("POST", "/api/v1/me/notifications/read") => Body::Json(json!({})),
        ("POST", "/api/v1/me/push-subscriptions") => Body::Json(push_subscription()),
        ("POST", "/api/v1/clubs/{club}/polls") => Body::Json(json!({"question": "集合場所は？",
            "options": ["駅", "学校"], "closes_at": jst_in_days(3, 20, 0)})),
        ("PUT", "/api/v1/clubs/{club}/polls/{poll}/vote") => Body::Json(json!({"choices": [1]})),
        ("POST", "/api/v1/clubs/{club}/announcements")
        | ("PUT", "/api/v1/clubs/{club}/announcements/{announcement}") => {
            Body::Json(json!({"title": "連絡", "body": "本文", "requires_confirmation": true}))
        }
        ("POST", p) if p.starts_with("/api/") && p.ends_with("/comments") => {
            Body::Json(json!({"body": "了解です"}))
        }
        ("PUT", "/api/v1/clubs/{club}/comments/{comment}") => {
            Body::Json(json!({"body": "修正しました"}))
        }
        ("PUT", "/api/v1/me/notification-prefs") => {
            Body::Json(json!({"kind": "reminders", "channel": "email", "enabled": false}))
        }
        ("POST", "/setup") => form(&[
            ("token", "forged"),
            ("email", &email),
            ("display_name", "x"),
            ("password", "a long enough passphrase"),
        ]),
        ("POST", "/signup") => form(&[
            ("email", &email),
            ("display_name", "新入部員"),
            ("password", "a long enough passphrase"),
        ]),
        ("POST", "/login") => form(&[
            ("email", &owner_email),
            ("password", "a long enough passphrase"),
        ]),
        ("POST", "/lang") => form(&[("lang", "en"), ("back", "/")]),
        ("POST", "/settings/security/later") => form(&[("back", "/clubs")]),
        ("POST", "/clubs") | ("POST", "/clubs/{club}/settings") => {
            form(&[("name", "クラブ"), ("description", "")])
        }
        ("POST", "/clubs/{club}/members/{member}/role") => form(&[("role", "treasurer")]),
        ("POST", "/admin/incidents") => form(&[("category", "outage"), ("title", "障害")]),
        ("POST", "/admin/incidents/{incident}/updates") => {
            form(&[("state", "identified"), ("message", "原因を特定しました")])
        }
        ("POST", "/admin/incidents/{incident}/breach") => form(&[
            ("from", "2026-01-01T00:00"),
            ("to", "2026-01-02T00:00"),
            ("exposure", "access"),
        ]),
        ("POST", "/clubs/{club}/guardian-links") => {
            let g = fresh_guardian.clone().unwrap_or_default();
            Body::Form(vec![
                ("guardian".into(), g),
                ("student".into(), club.student.clone()),
            ])
        }
        ("POST", "/clubs/{club}/subgroups")
        | ("POST", "/clubs/{club}/subgroups/{subgroup}/edit") => {
            form(&[("name", "2年"), ("kind", "grade")])
        }
        ("POST", "/clubs/{club}/subgroups/{subgroup}/members") => {
            Body::Form(vec![("member".into(), club.student.clone())])
        }
        ("POST", "/clubs/{club}/invitations") => form(&[
            ("role", "member"),
            ("expires_in_hours", "24"),
            ("max_uses", "3"),
        ]),
        ("POST", "/clubs/{club}/events") => form(&[
            ("title", "練習"),
            ("starts_at", &jst_in_days(2, 16, 0)),
            ("ends_at", &jst_in_days(2, 18, 0)),
        ]),
        ("POST", "/clubs/{club}/occurrences/{occurrence}/edit") => form(&[
            ("title", "改題"),
            ("starts_at", &jst_in_days(2, 16, 0)),
            ("ends_at", &jst_in_days(2, 18, 0)),
            ("deadline_before_min", "60"),
        ]),
        ("POST", p) if p.ends_with("/answers/{member}") => form(&[("status", "yes")]),
        ("POST", p) if p.contains("/roll-call/") => form(&[("present", "1")]),
        ("POST", "/clubs/{club}/announcements") => form(&[("title", "連絡"), ("body", "本文")]),
        ("POST", "/clubs/{club}/polls") => form(&[
            ("question", "集合場所は？"),
            ("options", "駅"),
            ("options", "学校"),
            ("closes_at", &jst_in_days(3, 20, 0)),
        ]),
        ("POST", "/clubs/{club}/polls/{poll}/vote") => form(&[("choice", "0")]),
        ("POST", "/settings/security/reauth") => form(&[("password", "a long enough passphrase")]),
        ("POST", p)
            if p.ends_with("/comments") || p.ends_with("/edit") && p.contains("/comments/") =>
        {
            form(&[("body", "了解です")])
        }
        (m, p) if m != "GET" && !p.starts_with("/api/") => Body::Form(Vec::new()),
        _ => Body::None,
    };
    (p, body)
}

/// Sends the request as `who` and returns the status and (for redirects) the location.
/// Every API answer is also held to the receipts rule: a successful change carries a
/// signed receipt per audit entry it wrote, and anything refused carries none.
async fn send(
    fx: &Fixture,
    who: Who,
    method: &str,
    path: &str,
    body: Body,
) -> (StatusCode, Option<String>) {
    let m = Method::from_bytes(method.as_bytes()).unwrap();
    let mut c: Client = fx.client(who);
    if path.starts_with("/api/") || matches!(path, "/healthz" | "/metrics") {
        let bytes = match body {
            Body::Json(v) => serde_json::to_vec(&v).unwrap(),
            _ => Vec::new(),
        };
        let auth = c.bearer.as_ref().map(|t| format!("Bearer {t}"));
        let mut headers: Vec<(&str, &str)> = vec![("content-type", "application/json")];
        if let Some(a) = &auth {
            headers.push(("authorization", a));
        }
        let page = c.raw(m, path, &headers, bytes).await;
        let receipts = page.headers.get_all("tekkan-receipt").iter().count();
        let change = method != "GET";
        assert!(
            !page.status.is_client_error() || receipts == 0,
            "{method} {path} as {who:?} was refused ({}) but has a receipt",
            page.status
        );
        assert!(
            !(change && page.status.is_success()) || receipts > 0 || !writes(method, path),
            "{method} {path} as {who:?} succeeded ({}) without a receipt",
            page.status
        );
        return (page.status, None);
    }
    let mut b = if who == Who::Anon {
        fx.app.client()
    } else {
        c.as_browser()
    };
    let csrf = b.csrf().await;
    let page = match body {
        Body::Form(fields) => {
            let f: Vec<(&str, &str)> = fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            b.post_form(path, &csrf, &f).await
        }
        _ => b.raw(m, path, &[], Vec::new()).await,
    };
    (page.status, page.location)
}

/// Whether a successful non-GET call changes audited state. The exceptions, each with
/// its reason; none of them is a state change a person could later need to prove.
fn writes(method: &str, path: &str) -> bool {
    !NO_AUDIT_WRITES
        .iter()
        .any(|(m, p)| *m == method && path.ends_with(p))
}

const NO_AUDIT_WRITES: &[(&str, &str)] = &[
    // Marking one's own in-app notifications read is bookkeeping, like "last seen".
    ("POST", "/api/v1/me/notifications/read"),
    // Starts a passkey ceremony: an in-memory challenge, nothing stored.
    ("POST", "/api/v1/session/passkey/options"),
    // Hands out an action to sign: a one-time nonce in memory, nothing stored.
    ("POST", "/signed-actions/options"),
    // Idempotent no-ops in the matrix (no feed to revoke, an account not disabled);
    // revoking a feed or enabling a disabled account is audited and gets a receipt
    // (it::transparency::receipts_*).
    ("DELETE", "/api/v1/me/calendar-feed"),
    ("POST", "/enable"),
];

fn denied_status(s: StatusCode, loc: &Option<String>) -> bool {
    matches!(s.as_u16(), 401 | 403 | 404) || loc.as_deref().is_some_and(|l| l.starts_with("/login"))
}

async fn check_case(fx: &Fixture, method: &str, path: &str, rule: Rule) -> Vec<String> {
    let mut failures = Vec::new();
    let page_get =
        method == "GET" && !path.starts_with("/api/") && !matches!(path, "/healthz" | "/metrics");
    for who in Who::ALL {
        // Own club (club A).
        let (p, body) = prepare(fx, &fx.a, method, path).await;
        let (s, loc) = send(fx, who, method, &p, body).await;
        let ok = match (rule, who) {
            (_, _) if s.is_server_error() => false,
            (Public, _) => !matches!(s.as_u16(), 401 | 403 | 404),
            (_, Who::Anon) if page_get => {
                s == StatusCode::SEE_OTHER
                    && loc
                        .as_deref()
                        .is_some_and(|l| l.starts_with("/login?next="))
            }
            (_, Who::Anon) => s == StatusCode::UNAUTHORIZED,
            (AnyUser, _) => !denied_status(s, &loc),
            (Mine, Who::Owner) => !denied_status(s, &loc),
            (Mine, _) => s == StatusCode::NOT_FOUND,
            (Operator, Who::Operator) => !denied_status(s, &loc),
            (Operator, _) => s == StatusCode::FORBIDDEN,
            (Club(_), Who::Outsider | Who::Operator) => s == StatusCode::NOT_FOUND,
            (Club(roles), w) => {
                if roles.contains(&w.role().unwrap()) {
                    !denied_status(s, &loc)
                } else {
                    s == StatusCode::FORBIDDEN
                }
            }
        };
        if !ok {
            failures.push(format!(
                "{method} {path} as {who:?} in own club: got {s} {loc:?}"
            ));
        }
        // Another club's ids (club B), for members of club A.
        if let (Club(_), true) = (rule, who.role().is_some()) {
            let (p, body) = prepare(fx, &fx.b, method, path).await;
            let (s, loc) = send(fx, who, method, &p, body).await;
            if s != StatusCode::NOT_FOUND {
                failures.push(format!(
                    "{method} {path} as {who:?} with another club's ids: got {s} {loc:?}"
                ));
            }
        }
    }
    failures
}

async fn run_matrix(filter: impl Fn(&str) -> bool) {
    let mut failures = Vec::new();
    let shared = Fixture::new().await;
    for (method, path, rule) in CASES.iter().filter(|(m, _, _)| filter(m)) {
        if *method == "GET" {
            failures.extend(check_case(&shared, method, path, *rule).await);
        } else {
            // A state change may end a membership or a session: a fresh world each time.
            let fx = Fixture::new().await;
            failures.extend(check_case(&fx, method, path, *rule).await);
        }
    }
    assert!(
        failures.is_empty(),
        "{} access-matrix failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_matrix_reads() {
    run_matrix(|m| m == "GET").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_matrix_writes() {
    run_matrix(|m| m != "GET").await;
}
