//! Events and their occurrences: recurring practice with exceptions, changes that tell
//! everyone affected, the personal schedule across clubs.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::Client;
use crate::support::code;
use crate::support::fixture::{Fixture, Who, jst_in_days, subgroup, weekday_in};

async fn notifications(c: &mut Client) -> Vec<Value> {
    let (s, v) = c.api(Method::GET, "/api/v1/me/notifications", None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["notifications"].as_array().unwrap().clone()
}

fn kinds(list: &[Value]) -> Vec<String> {
    list.iter()
        .map(|n| n["kind"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recurring_practice_with_exceptions_and_changes() {
    let fx = Fixture::new().await;
    let club = fx.a.id.clone();
    let mut coach = fx.client(Who::Coach);
    let mut member = fx.client(Who::Member);
    let mut guardian = fx.client(Who::Guardian);
    // Twice a week for four weeks, from two days ahead.
    let (d1, d2) = (weekday_in(2), weekday_in(4));
    let body = json!({
        "title": "通常練習", "place": "音楽室", "bring": "楽器、譜面台", "notes": "<b>HTML</b> stays text",
        "starts_at": jst_in_days(2, 16, 0), "ends_at": jst_in_days(2, 18, 30),
        "meet_before_min": 15, "deadline_before_min": 1440, "reminders": [60, 1440],
        "repeat": {"freq": "weekly", "by_day": [d1, d2], "until": &jst_in_days(2 + 27, 0, 0)[..10]}
    });
    let (s, ev) = coach
        .api(
            Method::POST,
            &format!("/api/v1/clubs/{club}/events"),
            Some(body),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{ev}");
    let occ = ev["occurrences"].as_array().unwrap().clone();
    assert_eq!(occ.len(), 8, "{ev}");
    assert!(
        ev["rrule"]
            .as_str()
            .unwrap()
            .starts_with("FREQ=WEEKLY;INTERVAL=1;BYDAY=")
    );
    assert_eq!(ev["timezone"], "Asia/Tokyo");
    for o in &occ {
        // 16:00 in Tokyo is 07:00 UTC; meeting 15 minutes before.
        assert!(
            o["starts_at"].as_str().unwrap().ends_with("T07:00:00Z"),
            "{o}"
        );
        assert!(
            o["ends_at"].as_str().unwrap().ends_with("T09:30:00Z"),
            "{o}"
        );
        assert!(
            o["meet_at"].as_str().unwrap().ends_with("T06:45:00Z"),
            "{o}"
        );
    }
    // Everyone affected was told, once, except the coach who made it.
    assert_eq!(kinds(&notifications(&mut member).await), vec!["event_new"]);
    assert_eq!(
        kinds(&notifications(&mut guardian).await),
        vec!["event_new"]
    );
    assert!(notifications(&mut coach).await.is_empty());

    // The member's schedule lists the practices; the guardian sees their child's.
    let (_, sched) = member.api(Method::GET, "/api/v1/me/schedule", None).await;
    assert_eq!(sched.as_array().unwrap().len(), 8, "{sched}");
    assert_eq!(sched[0]["is_self"], true);
    let (_, gs) = guardian.api(Method::GET, "/api/v1/me/schedule", None).await;
    assert_eq!(gs.as_array().unwrap().len(), 8, "{gs}");
    assert_eq!(gs[0]["is_self"], false);
    assert_eq!(gs[0]["membership_id"], fx.a.student.as_str());

    let id = |i: usize| occ[i]["id"].as_str().unwrap().to_owned();
    let path = |i: usize| format!("/api/v1/clubs/{club}/occurrences/{}", id(i));

    // Cancel the second occurrence: an exception to the series.
    let (s, v) = coach
        .api(Method::POST, &format!("{}/cancel", path(1)), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let (s, v) = coach
        .api(Method::POST, &format!("{}/cancel", path(1)), None)
        .await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "already_cancelled"));
    assert_eq!(
        kinds(&notifications(&mut member).await)[0],
        "event_cancelled"
    );

    // Move the third an hour later: detached from the series.
    let third_day = &occ[2]["starts_at"].as_str().unwrap()[..10];
    let local = |h: i8| format!("{third_day}T{h:02}:00");
    let moved = json!({"title": "通常練習（時間変更）", "place": "体育館",
        "starts_at": local(17), "ends_at": local(19), "meet_before_min": 15, "deadline_before_min": 1440});
    let (s, v) = coach.api(Method::PUT, &path(2), Some(moved)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["detached"], true);
    assert!(v["starts_at"].as_str().unwrap().ends_with("T08:00:00Z"));
    assert_eq!(kinds(&notifications(&mut member).await)[0], "event_changed");

    // Moving it onto the fourth occurrence overlaps it: refused, nothing changed.
    let fourth = occ[3]["starts_at"].as_str().unwrap();
    let (fd, _) = fourth.split_at(10);
    let clash =
        json!({"title": "x", "starts_at": format!("{fd}T16:30"), "ends_at": format!("{fd}T17:30")});
    let (s, v) = coach.api(Method::PUT, &path(2), Some(clash)).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::CONFLICT, "overlapping_occurrence"),
        "{v}"
    );
    let (_, v) = member.api(Method::GET, &path(2), None).await;
    assert_eq!(v["occurrence"]["title"], "通常練習（時間変更）");

    // A change to the whole series skips the cancelled and the detached occurrence.
    let eid = ev["id"].as_str().unwrap();
    let (s, v) = coach
        .api(
            Method::PUT,
            &format!("/api/v1/clubs/{club}/events/{eid}"),
            Some(json!({"title": "合奏練習", "place": "音楽室", "notes": "<b>HTML</b> stays text", "reminders": [60]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["changed"], 6);
    let (_, e) = member
        .api(
            Method::GET,
            &format!("/api/v1/clubs/{club}/events/{eid}"),
            None,
        )
        .await;
    let titles: Vec<&str> = e["occurrences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles[0], "合奏練習");
    assert_eq!(titles[1], "通常練習", "cancelled one keeps its details");
    assert_eq!(titles[2], "通常練習（時間変更）");
    assert_eq!(e["occurrences"][1]["cancelled"], true);
    assert_eq!(e["notes"], "<b>HTML</b> stays text");

    // Cancelling the series cancels what is left, and tells people.
    let (s, v) = coach
        .api(
            Method::POST,
            &format!("/api/v1/clubs/{club}/events/{eid}/cancel"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["changed"], 7);
    let (_, sched) = member.api(Method::GET, "/api/v1/me/schedule", None).await;
    assert!(
        sched
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["occurrence"]["cancelled"] == true)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_for_a_sub_group_reach_only_its_members() {
    let fx = Fixture::new().await;
    let club = fx.a.id.clone();
    let mut owner = fx.a.owner.clone();
    let sg = subgroup(&mut owner, &club).await;
    let treasurer = fx.membership(Who::Treasurer);
    let (s, _) = owner
        .api(
            Method::PUT,
            &format!("/api/v1/clubs/{club}/subgroups/{sg}/members/{treasurer}"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let body = json!({"title": "パート練習", "subgroups": [sg],
        "starts_at": jst_in_days(3, 10, 0), "ends_at": jst_in_days(3, 12, 0)});
    let (s, ev) = owner
        .api(
            Method::POST,
            &format!("/api/v1/clubs/{club}/events"),
            Some(body),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{ev}");
    let occ = ev["occurrences"][0]["id"].as_str().unwrap();
    let (_, ts) = fx
        .client(Who::Treasurer)
        .api(Method::GET, "/api/v1/me/schedule", None)
        .await;
    assert_eq!(ts.as_array().unwrap().len(), 1);
    let (_, ms) = fx
        .client(Who::Member)
        .api(Method::GET, "/api/v1/me/schedule", None)
        .await;
    assert!(ms.as_array().unwrap().is_empty(), "{ms}");
    // Someone outside the sub-group cannot answer it.
    let me = fx.membership(Who::Member);
    let (s, v) = fx
        .client(Who::Member)
        .api(
            Method::PUT,
            &format!("/api/v1/clubs/{club}/occurrences/{occ}/answers/{me}"),
            Some(json!({"status": "yes"})),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "not_invited"));
    // A sub-group of another club is not found.
    let other = subgroup(&mut fx.b.owner.clone(), &fx.b.id).await;
    let body = json!({"title": "x", "subgroups": [other],
        "starts_at": jst_in_days(3, 10, 0), "ends_at": jst_in_days(3, 12, 0)});
    let (s, _) = owner
        .api(
            Method::POST,
            &format!("/api/v1/clubs/{club}/events"),
            Some(body),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn impossible_events_are_refused_and_nothing_is_written() {
    let fx = Fixture::new().await;
    let club = fx.a.id.clone();
    let mut owner = fx.a.owner.clone();
    let path = format!("/api/v1/clubs/{club}/events");
    let base = || json!({"title": "練習", "starts_at": jst_in_days(2, 16, 0), "ends_at": jst_in_days(2, 18, 0)});
    let with = |k: &str, v: Value| {
        let mut b = base();
        b[k] = v;
        b
    };
    let cases: Vec<(Value, StatusCode, &str)> = vec![
        (
            with("ends_at", json!(jst_in_days(2, 15, 0))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "end_before_start",
        ),
        (
            with("starts_at", json!(jst_in_days(-1, 16, 0))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "starts_in_past",
        ),
        (
            with("deadline_before_min", json!(5 * 1440)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "deadline_passed",
        ),
        (
            with("starts_at", json!("2026-02-30T16:00")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        ),
        (
            with("capacity", json!(0)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        ),
        (
            with("reminders", json!([-5])),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        ),
        (
            with("title", json!("")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "required",
        ),
        (
            with("title", json!("x".repeat(81))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "too_long",
        ),
        (
            with(
                "repeat",
                json!({"freq": "weekly", "until": jst_in_days(1, 0, 0)[..10]}),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "until_before_start",
        ),
        (
            with("repeat", json!({"freq": "weekly", "until": "2099-01-01"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "series_too_long",
        ),
        (
            with(
                "repeat",
                json!({"freq": "daily", "until": jst_in_days(600, 0, 0)[..10]}),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "too_many_occurrences",
        ),
        (
            with(
                "repeat",
                json!({"freq": "weekly", "by_day": ["XX"], "until": jst_in_days(20, 0, 0)[..10]}),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        ),
        (
            with(
                "repeat",
                json!({"freq": "hourly", "until": jst_in_days(20, 0, 0)[..10]}),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        ),
        (
            with("capacity", json!("many")),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            with("subgroups", json!(["' OR 1=1 --"])),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
    ];
    for (body, status, c) in cases {
        let (s, v) = owner.api(Method::POST, &path, Some(body.clone())).await;
        assert_eq!((s, code(&v)), (status, c), "{body} → {v}");
    }
    let (_, cal) = owner
        .api(
            Method::GET,
            &format!("/api/v1/clubs/{club}/occurrences"),
            None,
        )
        .await;
    assert!(
        cal.as_array().unwrap().is_empty(),
        "nothing was written: {cal}"
    );
    // A bad period on the calendar is a 4xx too.
    let (s, _) = owner
        .api(
            Method::GET,
            &format!("/api/v1/clubs/{club}/occurrences?from=2027-01-10&to=2026-01-01"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = owner
        .api(
            Method::GET,
            &format!("/api/v1/clubs/{club}/occurrences?from=yesterday"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_club_abroad_keeps_its_wall_clock_across_daylight_saving() {
    let fx = Fixture::new().await;
    let club = fx.a.id.clone();
    let mut owner = fx.a.owner.clone();
    let path = format!("/api/v1/clubs/{club}");
    let (s, v) = owner
        .api(
            Method::PATCH,
            &path,
            Some(json!({"name": "Club A", "timezone": "Mars/Olympus"})),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid"));
    assert_eq!(v["error"]["field"], "timezone");
    let (s, v) = owner
        .api(
            Method::PATCH,
            &path,
            Some(json!({"name": "Club A", "timezone": "europe/london"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["timezone"], "Europe/London");
    // Weekly Saturday 10:00 in London through the end of October: BST, then GMT.
    let year = tekkan_core::jiff::Zoned::now().year() + 1;
    let body = json!({"title": "Saturday practice", "starts_at": format!("{year}-10-10T10:00"),
        "ends_at": format!("{year}-10-10T12:00"),
        "repeat": {"freq": "weekly", "until": format!("{year}-11-07")}});
    let (s, ev) = owner
        .api(
            Method::POST,
            &format!("/api/v1/clubs/{club}/events"),
            Some(body),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{ev}");
    assert_eq!(ev["timezone"], "Europe/London");
    let starts: Vec<&str> = ev["occurrences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| &o["starts_at"].as_str().unwrap()[11..16])
        .collect();
    // 10:00 BST is 09:00 UTC until the last Sunday of October, then 10:00 UTC.
    assert_eq!(starts.first(), Some(&"09:00"));
    assert_eq!(starts.last(), Some(&"10:00"));
    assert!(starts.iter().all(|t| *t == "09:00" || *t == "10:00"));
}
