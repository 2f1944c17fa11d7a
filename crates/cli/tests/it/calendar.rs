//! Calendar feeds, read back with an independent iCalendar parser and RRULE expander:
//! a recurring practice with a cancelled and a moved occurrence must come out as the
//! same set of instants the API lists.

use std::collections::BTreeSet;

use icalendar::parser::{Component, read_calendar, unfold};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::fixture::{Fixture, Who, jst_in_days};

fn prop<'a>(c: &'a Component<'a>, name: &str) -> Option<&'a icalendar::parser::Property<'a>> {
    c.properties.iter().find(|p| p.name.as_str() == name)
}

/// "DTSTART;TZID=Asia/Tokyo:20261201T160000" as written in the feed.
fn raw(c: &Component<'_>, name: &str) -> Option<String> {
    let p = prop(c, name)?;
    let params: String = p
        .params
        .iter()
        .map(|x| {
            format!(
                ";{}={}",
                x.key.as_str(),
                x.val.as_ref().map(|v| v.as_str()).unwrap_or("")
            )
        })
        .collect();
    Some(format!("{name}{params}:{}", p.val.as_str()))
}

/// A local iCalendar time with TZID=Asia/Tokyo, as UTC seconds.
fn tokyo(v: &str) -> i64 {
    use chrono::{NaiveDateTime, TimeZone};
    let t = NaiveDateTime::parse_from_str(v, "%Y%m%dT%H%M%S").unwrap();
    rrule::Tz::Asia__Tokyo
        .from_local_datetime(&t)
        .unwrap()
        .timestamp()
}

fn rfc3339_secs(s: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp()
}

async fn fetch(url: &str) -> (StatusCode, String, Option<String>) {
    let r = reqwest::get(url).await.unwrap();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    (r.status(), r.text().await.unwrap(), ct)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recurring_practice_with_exceptions_exports_correctly() {
    let fx = Fixture::new().await;
    let club = fx.a.id.clone();
    let mut coach = fx.client(Who::Coach);
    let body = json!({
        "title": "通常練習, 全体; 合奏", "place": "音楽室", "notes": "長い説明".repeat(20),
        "starts_at": jst_in_days(2, 16, 0), "ends_at": jst_in_days(2, 18, 30),
        "repeat": {"freq": "weekly", "until": &jst_in_days(2 + 35, 0, 0)[..10]}
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
    assert_eq!(occ.len(), 6);
    let path = |i: usize| {
        format!(
            "/api/v1/clubs/{club}/occurrences/{}",
            occ[i]["id"].as_str().unwrap()
        )
    };
    coach
        .api(Method::POST, &format!("{}/cancel", path(1)), None)
        .await;
    let day = &occ[3]["starts_at"].as_str().unwrap()[..10];
    let (s, v) = coach
        .api(
            Method::PUT,
            &path(3),
            Some(json!({"title": "通常練習（体育館）", "place": "体育館",
            "starts_at": format!("{day}T18:00"), "ends_at": format!("{day}T20:00")})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");

    // The member (and the guardian, for their child) subscribe.
    let mut member = fx.client(Who::Member);
    let (s, f) = member
        .api(Method::POST, "/api/v1/me/calendar-feed", None)
        .await;
    assert_eq!(s, StatusCode::CREATED, "{f}");
    let url = f["url"].as_str().unwrap().to_owned();
    assert!(f["webcal"].as_str().unwrap().starts_with("webcal://"));
    let (s, text, ct) = fetch(&url).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(ct.as_deref(), Some("text/calendar; charset=utf-8"));
    assert!(
        text.contains("\r\n") && text.split("\r\n").all(|l| l.len() <= 75),
        "folded CRLF lines"
    );

    let unfolded = unfold(&text);
    let cal = read_calendar(&unfolded).expect("an independent parser reads the feed");
    // read_calendar unwraps VCALENDAR: its properties and its components.
    let version = cal
        .properties
        .iter()
        .find(|p| p.name.as_str() == "VERSION")
        .unwrap();
    assert_eq!(version.val.as_str(), "2.0");
    let vcal = &cal;
    let tz = vcal
        .components
        .iter()
        .find(|c| c.name.as_str() == "VTIMEZONE")
        .expect("VTIMEZONE");
    assert_eq!(prop(tz, "TZID").unwrap().val.as_str(), "Asia/Tokyo");
    let events: Vec<&Component> = vcal
        .components
        .iter()
        .filter(|c| c.name.as_str() == "VEVENT")
        .collect();
    let master = events
        .iter()
        .find(|e| prop(e, "RRULE").is_some())
        .expect("a series");
    assert_eq!(
        prop(master, "SUMMARY").unwrap().val.as_str(),
        "通常練習, 全体; 合奏",
        "escaping round-trips"
    );
    let overrides: Vec<&&Component> = events
        .iter()
        .filter(|e| prop(e, "RECURRENCE-ID").is_some())
        .collect();
    assert_eq!(overrides.len(), 1, "only the moved one differs");

    // Expand the series with the rrule crate: DTSTART, RRULE and every EXDATE.
    let mut set = vec![
        raw(master, "DTSTART").unwrap(),
        raw(master, "RRULE").unwrap(),
    ];
    set.extend(
        master
            .properties
            .iter()
            .filter(|p| p.name.as_str() == "EXDATE")
            .map(|p| format!("EXDATE;TZID=Asia/Tokyo:{}", p.val.as_str())),
    );
    let rs: rrule::RRuleSet = set.join("\n").parse().expect("rrule parses our RRULE");
    let mut instants: BTreeSet<i64> = rs.all(100).dates.iter().map(|d| d.timestamp()).collect();
    for o in &overrides {
        assert!(instants.remove(&tokyo(prop(o, "RECURRENCE-ID").unwrap().val.as_str())));
        instants.insert(tokyo(prop(o, "DTSTART").unwrap().val.as_str()));
        assert_eq!(prop(o, "LOCATION").unwrap().val.as_str(), "体育館");
    }
    let (_, e) = member
        .api(
            Method::GET,
            &format!("/api/v1/clubs/{club}/events/{}", ev["id"].as_str().unwrap()),
            None,
        )
        .await;
    let expected: BTreeSet<i64> = e["occurrences"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["cancelled"] == false)
        .map(|o| rfc3339_secs(o["starts_at"].as_str().unwrap()))
        .collect();
    assert_eq!(instants, expected);
    assert_eq!(expected.len(), 5);

    // The guardian's feed shows the child's practice too.
    let (_, g) = fx
        .client(Who::Guardian)
        .api(Method::POST, "/api/v1/me/calendar-feed", None)
        .await;
    let (s, gt, _) = fetch(g["url"].as_str().unwrap()).await;
    assert_eq!(s, StatusCode::OK);
    assert!(gt.contains("RRULE:FREQ=WEEKLY"));

    // Rotating or revoking the URL stops the old one at once.
    let (_, f2) = member
        .api(Method::POST, "/api/v1/me/calendar-feed", None)
        .await;
    assert_eq!(fetch(&url).await.0, StatusCode::NOT_FOUND, "rotated");
    let url2 = f2["url"].as_str().unwrap().to_owned();
    assert_eq!(fetch(&url2).await.0, StatusCode::OK);
    let (s, _) = member
        .api(Method::DELETE, "/api/v1/me/calendar-feed", None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(fetch(&url2).await.0, StatusCode::NOT_FOUND, "revoked");
    let (s, _) = member
        .api(Method::DELETE, "/api/v1/me/calendar-feed", None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "revoking is idempotent");
    let (_, st) = member
        .api(Method::GET, "/api/v1/me/calendar-feed", None)
        .await;
    assert_eq!(st["active"], false);
    // Forged and malformed tokens.
    let base = fx.app.base.clone();
    for bad in ["forged.ics", "%00", &"a".repeat(500)] {
        assert_eq!(
            fetch(&format!("{base}/calendar/{bad}")).await.0,
            StatusCode::NOT_FOUND,
            "{bad}"
        );
    }
}
