//! Clubs and roles, invitations (link, QR, expiry, revocation, limits, approval),
//! leaving without losing history, guardians and sub-groups.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::fixture::{Fixture, Who, invite, join, subgroup};
use crate::support::{Client, code};

async fn members(c: &mut Client, club: &str) -> Vec<Value> {
    let (s, v) = c
        .api(Method::GET, &format!("/api/v1/clubs/{club}/members"), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v.as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owners_officers_and_the_last_owner_rule() {
    let fx = Fixture::new().await;
    let club = fx.a.id.clone();
    let (mut owner, mut officer) = (fx.client(Who::Owner), fx.client(Who::Officer));
    let (owner_m, officer_m, member_m) = (
        fx.membership(Who::Owner),
        fx.membership(Who::Officer),
        fx.membership(Who::Member),
    );
    let role = |m: &str| format!("/api/v1/clubs/{club}/members/{m}/role");

    let (s, v) = owner
        .api(
            Method::PUT,
            &role(&owner_m),
            Some(json!({"role": "officer"})),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::CONFLICT, "last_owner"),
        "a club is never left without an owner"
    );
    let (s, v) = owner
        .api(Method::POST, &format!("/api/v1/clubs/{club}/leave"), None)
        .await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "last_owner"));
    assert_eq!(
        officer
            .api(
                Method::PUT,
                &role(&member_m),
                Some(json!({"role": "owner"}))
            )
            .await
            .0,
        StatusCode::FORBIDDEN,
        "only owners make owners"
    );
    assert_eq!(
        officer
            .api(
                Method::PUT,
                &role(&owner_m),
                Some(json!({"role": "member"}))
            )
            .await
            .0,
        StatusCode::FORBIDDEN,
        "officers cannot demote owners"
    );
    assert_eq!(
        officer
            .api(
                Method::DELETE,
                &format!("/api/v1/clubs/{club}/members/{owner_m}"),
                None
            )
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        officer
            .api(
                Method::PUT,
                &role(&member_m),
                Some(json!({"role": "treasurer"}))
            )
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    let (s, v) = officer
        .api(
            Method::PUT,
            &role(&member_m),
            Some(json!({"role": "guardian"})),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "guardian_role_fixed"));
    let (s, v) = owner
        .api(
            Method::PUT,
            &role(&member_m),
            Some(json!({"role": "captain"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "unknown roles are refused: {v}");

    // Handing the club on: make the officer an owner, then the first owner can leave.
    assert_eq!(
        owner
            .api(
                Method::PUT,
                &role(&officer_m),
                Some(json!({"role": "owner"}))
            )
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        owner
            .api(Method::POST, &format!("/api/v1/clubs/{club}/leave"), None)
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        owner
            .api(Method::GET, &format!("/api/v1/clubs/{club}"), None)
            .await
            .0,
        StatusCode::NOT_FOUND,
        "a former member sees nothing"
    );
    let (s, v) = officer
        .api(Method::GET, &format!("/api/v1/clubs/{club}"), None)
        .await;
    assert_eq!((s, v["role"].as_str()), (StatusCode::OK, Some("owner")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaving_and_removal_keep_history_and_rejoining_restores_it() {
    let fx = Fixture::new().await;
    let club = fx.a.id.clone();
    let (mut owner, mut member) = (fx.client(Who::Owner), fx.client(Who::Member));
    let member_m = fx.membership(Who::Member);
    assert_eq!(
        member
            .api(Method::POST, &format!("/api/v1/clubs/{club}/leave"), None)
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        member
            .api(Method::GET, &format!("/api/v1/clubs/{club}/members"), None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );

    let list = members(&mut owner, &club).await;
    let former = list
        .iter()
        .find(|m| m["membership_id"] == member_m.as_str())
        .expect("officers still see former members");
    assert_eq!(former["status"], "left");
    assert!(former["left_at"].as_i64().is_some());
    assert!(
        former["guardians"]
            .as_array()
            .is_some_and(|g| !g.is_empty()),
        "the guardian link survives"
    );
    // Ordinary members only see active members.
    let mut coach = fx.client(Who::Coach);
    assert!(
        members(&mut coach, &club)
            .await
            .iter()
            .all(|m| m["status"] == "active")
    );
    assert!(
        members(&mut coach, &club)
            .await
            .iter()
            .all(|m| m.get("email").is_none()),
        "e-mail addresses are for officers"
    );

    // Invited again, the same membership comes back.
    let token = invite(&mut owner, &club, "member", false).await;
    let (s, v) = member
        .api(
            Method::POST,
            &format!("/api/v1/invitations/{token}/accept"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["membership_id"], member_m.as_str());

    // Removal is kept the same way.
    let tm = fx.membership(Who::Treasurer);
    assert_eq!(
        owner
            .api(
                Method::DELETE,
                &format!("/api/v1/clubs/{club}/members/{tm}"),
                None
            )
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    let list = members(&mut owner, &club).await;
    assert_eq!(
        list.iter()
            .find(|m| m["membership_id"] == tm.as_str())
            .unwrap()["status"],
        "removed"
    );
    // A removed member using a link comes back only as a request an officer approves.
    let mut removed = fx.client(Who::Treasurer);
    let token = invite(&mut owner, &club, "member", false).await;
    let (s, v) = removed
        .api(
            Method::POST,
            &format!("/api/v1/invitations/{token}/accept"),
            None,
        )
        .await;
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::OK, Some("pending")),
        "{v}"
    );
    assert_eq!(
        removed
            .api(Method::GET, &format!("/api/v1/clubs/{club}"), None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        owner
            .api(
                Method::POST,
                &format!("/api/v1/clubs/{club}/members/{tm}/approve"),
                None
            )
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        removed
            .api(Method::GET, &format!("/api/v1/clubs/{club}"), None)
            .await
            .0,
        StatusCode::OK
    );

    let (s, v) = owner
        .api(
            Method::DELETE,
            &format!("/api/v1/clubs/{club}/members/{}", fx.membership(Who::Owner)),
            None,
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "use_leave"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guardians_are_linked_to_students_of_the_same_club() {
    let fx = Fixture::new().await;
    let club = fx.a.id.clone();
    let mut owner = fx.client(Who::Owner);
    let (g, s) = (fx.membership(Who::Guardian), fx.membership(Who::Member));
    let list = members(&mut owner, &club).await;
    let guardian = list
        .iter()
        .find(|m| m["membership_id"] == g.as_str())
        .unwrap();
    assert_eq!(guardian["guardian_of"][0]["membership_id"], s.as_str());

    let link = |gm: &str, sm: &str| format!("/api/v1/clubs/{club}/members/{gm}/students/{sm}");
    let (st, v) = owner.api(Method::PUT, &link(&g, &s), None).await;
    assert_eq!((st, code(&v)), (StatusCode::CONFLICT, "already_linked"));
    let (st, v) = owner
        .api(Method::PUT, &link(&fx.membership(Who::Coach), &s), None)
        .await;
    assert_eq!((st, code(&v)), (StatusCode::CONFLICT, "not_a_guardian"));
    let (st, v) = owner.api(Method::PUT, &link(&g, &g), None).await;
    assert_eq!((st, code(&v)), (StatusCode::CONFLICT, "not_a_student"));
    // Another club's student is not found, not linked.
    assert_eq!(
        owner
            .api(Method::PUT, &link(&g, &fx.b.student), None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    // A guardian can be linked to several students.
    let (_, second) = join(&fx.app, &mut owner, &club, "member", false).await;
    assert_eq!(
        owner.api(Method::PUT, &link(&g, &second), None).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        owner.api(Method::DELETE, &link(&g, &s), None).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        owner.api(Method::DELETE, &link(&g, &s), None).await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sub_groups_and_many_clubs_per_person() {
    let fx = Fixture::new().await;
    let club = fx.a.id.clone();
    let mut coach = fx.client(Who::Coach);
    let sg = subgroup(&mut coach, &club).await;
    let s = fx.membership(Who::Member);
    let path = format!("/api/v1/clubs/{club}/subgroups/{sg}/members/{s}");
    assert_eq!(
        coach.api(Method::PUT, &path, None).await.0,
        StatusCode::NO_CONTENT
    );
    let (st, v) = coach.api(Method::PUT, &path, None).await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::CONFLICT, "already_in_subgroup")
    );
    let other = format!(
        "/api/v1/clubs/{club}/subgroups/{sg}/members/{}",
        fx.b.student
    );
    assert_eq!(
        coach.api(Method::PUT, &other, None).await.0,
        StatusCode::NOT_FOUND,
        "another club's member"
    );
    let (_, list) = fx
        .client(Who::Member)
        .api(
            Method::GET,
            &format!("/api/v1/clubs/{club}/subgroups"),
            None,
        )
        .await;
    assert_eq!(list[0]["members"][0]["membership_id"], s.as_str());
    let (_, roster) = coach
        .api(Method::GET, &format!("/api/v1/clubs/{club}/members"), None)
        .await;
    let entry = roster
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["membership_id"] == s.as_str())
        .unwrap();
    assert_eq!(entry["subgroups"][0], "トランペット");
    assert_eq!(
        coach
            .api(
                Method::PATCH,
                &format!("/api/v1/clubs/{club}/subgroups/{sg}"),
                Some(json!({"name": "", "kind": "part"}))
            )
            .await
            .0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        coach
            .api(
                Method::DELETE,
                &format!("/api/v1/clubs/{club}/subgroups/{sg}"),
                None
            )
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        coach
            .api(
                Method::DELETE,
                &format!("/api/v1/clubs/{club}/subgroups/{sg}"),
                None
            )
            .await
            .0,
        StatusCode::NOT_FOUND
    );

    // One person, two clubs.
    let mut member = fx.client(Who::Member);
    let (_, c2) = member
        .api(
            Method::POST,
            "/api/v1/clubs",
            Some(json!({"name": "写真部"})),
        )
        .await;
    let (_, mine) = member.api(Method::GET, "/api/v1/clubs", None).await;
    let mine = mine.as_array().unwrap();
    assert_eq!(mine.len(), 2);
    let roles: Vec<&str> = mine.iter().map(|c| c["role"].as_str().unwrap()).collect();
    assert!(
        roles.contains(&"owner") && roles.contains(&"member"),
        "{roles:?}"
    );
    assert!(mine.iter().any(|c| c["club"]["id"] == c2["id"]));
}

/// The roles table shown to people is the one the server enforces.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_roles_table_matches_what_the_server_enforces() {
    let fx = Fixture::new().await;
    let (s, roles) = fx
        .app
        .client()
        .api(Method::GET, "/api/v1/roles", None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let of = |r: &str| {
        roles
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["role"] == r)
            .unwrap()
            .clone()
    };
    let perms = |r: &str| {
        of(r)["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(perms("member"), ["view_club", "view_roster"]);
    assert!(
        perms("coach").contains(&"manage_subgroups".to_owned())
            && !perms("coach").contains(&"change_roles".to_owned())
    );
    assert!(perms("officer").contains(&"change_roles".to_owned()));
    assert!(
        !of("officer")["may_grant"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "owner")
    );
    assert!(
        of("owner")["may_grant"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "owner")
    );
    // What the table says a coach may not do, the server refuses.
    let mut coach = fx.client(Who::Coach);
    let club = fx.a.id.clone();
    assert_eq!(
        coach
            .api(
                Method::GET,
                &format!("/api/v1/clubs/{club}/invitations"),
                None
            )
            .await
            .0,
        StatusCode::FORBIDDEN
    );

    let mut b = coach.as_browser();
    let page = b.get(&format!("/clubs/{club}/roles")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("グループを管理する") && page.body.contains("class=\"mine\""),
        "{}",
        page.body
    );
}
