//! The roll call on the day and answering for a member (代理回答): officers mark who
//! came, one person at a time, from two hours before the start; the marks decide the
//! attendance rate where a roll call was taken; members, guardians and other clubs
//! cannot; bad input is a clear 4xx; every mark is audited; and the page changes one row
//! in place (or, without script, comes back to it).

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::code;
use crate::support::fixture::{Fixture, Who, jst_in_days, jst_in_secs};

async fn one_off(fx: &Fixture, body: Value) -> String {
    let (s, v) = fx
        .client(Who::Coach)
        .api(
            Method::POST,
            &format!("/api/v1/clubs/{}/events", fx.a.id),
            Some(body),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["occurrences"][0]["id"].as_str().unwrap().to_owned()
}

fn line<'a>(roll: &'a Value, member: &str) -> &'a Value {
    roll["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["membership_id"] == member)
        .unwrap_or_else(|| panic!("{member} not on the list: {roll}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn officers_take_the_roll_call_and_it_decides_the_rate() {
    let fx = Fixture::new().await;
    let club = fx.a.id.clone();
    let m = |w| fx.membership(w);
    let mut coach = fx.client(Who::Coach);
    // Starts in three seconds: the roll call is open.
    let occ = one_off(
        &fx,
        json!({"title": "朝練", "starts_at": jst_in_secs(3), "ends_at": jst_in_secs(1800)}),
    )
    .await;
    let path = |member: &str| format!("/api/v1/clubs/{club}/occurrences/{occ}/roll-call/{member}");
    let list = format!("/api/v1/clubs/{club}/occurrences/{occ}/roll-call");

    // The member answered 欠席 but came; the treasurer answered 出席 but did not come.
    for (who, status) in [(Who::Member, "no"), (Who::Treasurer, "yes")] {
        let (s, v) = fx
            .client(who)
            .api(
                Method::PUT,
                &format!("/api/v1/clubs/{club}/occurrences/{occ}/answers/{}", m(who)),
                Some(json!({ "status": status })),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    let (s, roll) = coach.api(Method::GET, &list, None).await;
    assert_eq!(s, StatusCode::OK, "{roll}");
    assert_eq!(roll["roll_call_open"], true);
    assert_eq!(line(&roll, &m(Who::Member))["answer"], "no");
    assert!(line(&roll, &m(Who::Member))["present"].is_null());
    assert!(
        roll["lines"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["membership_id"] != m(Who::Guardian).as_str()),
        "guardians are not on the list"
    );

    let (s, v) = coach
        .api(
            Method::PUT,
            &path(&m(Who::Member)),
            Some(json!({"present": true})),
        )
        .await;
    assert_eq!((s, v["changed"].as_bool()), (StatusCode::OK, Some(true)));
    let (s, v) = coach
        .api(
            Method::PUT,
            &path(&m(Who::Member)),
            Some(json!({"present": true})),
        )
        .await;
    assert_eq!(
        (s, v["changed"].as_bool()),
        (StatusCode::OK, Some(false)),
        "the same mark again changes nothing"
    );
    let (_, roll) = coach.api(Method::GET, &list, None).await;
    assert_eq!(line(&roll, &m(Who::Member))["present"], true);

    // Who may not, and what is refused.
    for who in [Who::Member, Who::Guardian, Who::Treasurer] {
        let (s, _) = fx
            .client(who)
            .api(
                Method::PUT,
                &path(&m(Who::Member)),
                Some(json!({"present": false})),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{who:?}");
        let (s, _) = fx.client(who).api(Method::GET, &list, None).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{who:?}");
    }
    let (s, _) = fx
        .outsider
        .clone()
        .api(
            Method::PUT,
            &path(&m(Who::Member)),
            Some(json!({"present": true})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "another club's member");
    // The guardian is not someone the practice is for; another club's member is not
    // in this club.
    let (s, _) = coach
        .api(
            Method::PUT,
            &path(&m(Who::Guardian)),
            Some(json!({"present": true})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let b_member = &fx.b.people.iter().find(|p| p.0 == Who::Member).unwrap().2;
    let (s, _) = coach
        .api(Method::PUT, &path(b_member), Some(json!({"present": true})))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    for bad in [
        json!({"present": "yes"}),
        json!({"present": true, "x": 1}),
        json!([]),
    ] {
        let (s, v) = coach
            .api(Method::PUT, &path(&m(Who::Member)), Some(bad.clone()))
            .await;
        assert!(s.is_client_error(), "{bad}: {s} {v}");
    }
    // Two days ahead, the roll call is not open yet.
    let later = one_off(
        &fx,
        json!({"title": "合奏", "starts_at": jst_in_days(2, 16, 0), "ends_at": jst_in_days(2, 18, 0)}),
    )
    .await;
    let (s, v) = coach
        .api(
            Method::PUT,
            &format!(
                "/api/v1/clubs/{club}/occurrences/{later}/roll-call/{}",
                m(Who::Member)
            ),
            Some(json!({"present": true})),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "roll_call_not_open"));

    // Once it has started, the report counts the roll call, not the answers.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let today = &jst_in_days(0, 0, 0)[..10];
    let (s, r) = coach
        .api(
            Method::GET,
            &format!("/api/v1/clubs/{club}/attendance?from={today}&to={today}"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let rate = |who: Who| {
        r["members"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["membership_id"] == m(who).as_str())
            .cloned()
            .unwrap()
    };
    let member = rate(Who::Member);
    assert_eq!(
        (
            member["no"].as_i64(),
            member["attended"].as_i64(),
            member["checked"].as_i64()
        ),
        (Some(1), Some(1), Some(1)),
        "{member}"
    );
    assert_eq!(member["rate"], 100.0);
    let treasurer = rate(Who::Treasurer);
    assert_eq!(
        (treasurer["yes"].as_i64(), treasurer["attended"].as_i64()),
        (Some(1), Some(0)),
        "{treasurer}"
    );
    assert_eq!(treasurer["rate"], 0.0);
    // Clearing a mark is a change too; every change is audited.
    let (s, v) = coach
        .api(
            Method::PUT,
            &path(&m(Who::Member)),
            Some(json!({"present": null})),
        )
        .await;
    assert_eq!((s, v["changed"].as_bool()), (StatusCode::OK, Some(true)));
    fx.app.settle_log().await;
    assert_eq!(fx.app.audit_count("attendance.roll_call").await, 2);

    // The page: the list on the occurrence, one row changed in place (the row comes
    // back), or without script a post that returns to the row.
    let mut page = coach.as_browser();
    let html = page.get(&format!("/clubs/{club}/occurrences/{occ}")).await;
    assert_eq!(html.status, StatusCode::OK);
    assert!(html.body.contains(r#"id="roll-call""#), "{}", html.body);
    let row_id = format!(r#"id="r-{}""#, m(Who::Treasurer));
    assert!(html.body.contains(&row_id));
    let csrf = html.csrf();
    let action = format!(
        "/clubs/{club}/occurrences/{occ}/roll-call/{}",
        m(Who::Treasurer)
    );
    let body = format!("_csrf={csrf}&present=1");
    let row = page
        .raw(
            Method::POST,
            &action,
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("x-tekkan-fragment", "1"),
            ],
            body.clone().into_bytes(),
        )
        .await;
    assert_eq!(row.status, StatusCode::OK, "{}", row.body);
    assert!(row.body.trim_start().starts_with("<li"), "{}", row.body);
    assert!(row.body.contains(&row_id) && row.body.contains(r#"data-present="true""#));
    let res = page
        .raw(
            Method::POST,
            &action,
            &[("content-type", "application/x-www-form-urlencoded")],
            format!("_csrf={csrf}&present=").into_bytes(),
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(
        res.location
            .as_deref()
            .unwrap()
            .ends_with(&format!("#r-{}", m(Who::Treasurer)))
    );
    // 代理回答 from the list: the coach answers 未定 for the treasurer.
    let row = page
        .raw(
            Method::POST,
            &format!(
                "/clubs/{club}/occurrences/{occ}/answers/{}",
                m(Who::Treasurer)
            ),
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("x-tekkan-fragment", "1"),
            ],
            format!("_csrf={csrf}&back=roll&status=maybe").into_bytes(),
        )
        .await;
    assert_eq!(row.status, StatusCode::OK, "{}", row.body);
    assert!(
        row.body.contains(&row_id) && row.body.contains("未定"),
        "{}",
        row.body
    );
    let (_, roll) = coach.api(Method::GET, &list, None).await;
    assert_eq!(line(&roll, &m(Who::Treasurer))["answer"], "maybe");
    // A member's page has no list.
    let mut member_page = fx.client(Who::Member).as_browser();
    let html = member_page
        .get(&format!("/clubs/{club}/occurrences/{occ}"))
        .await;
    assert!(!html.body.contains(r#"id="roll-call""#));
}
