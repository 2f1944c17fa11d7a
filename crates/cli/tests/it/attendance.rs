//! 出欠: answers by members, guardians and officers; deadlines; capacity and the
//! waiting list; tallies, non-responders, rates and the CSV export; reminders.

use crate::support::pg::WithDatabase as _;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::fixture::{Fixture, Who, jst_in_days, jst_in_secs};
use crate::support::{Client, TestApp, code};

async fn answer(
    c: &mut Client,
    club: &str,
    occ: &str,
    member: &str,
    body: Value,
) -> (StatusCode, Value) {
    c.api(
        Method::PUT,
        &format!("/api/v1/clubs/{club}/occurrences/{occ}/answers/{member}"),
        Some(body),
    )
    .await
}

async fn kinds(c: &mut Client) -> Vec<String> {
    let (_, v) = c.api(Method::GET, "/api/v1/me/notifications", None).await;
    v["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap().to_owned())
        .collect()
}

async fn one_off(by: &mut Client, club: &str, extra: Value) -> String {
    let mut body = json!({"title": "練習試合", "starts_at": jst_in_days(3, 9, 0), "ends_at": jst_in_days(3, 12, 0)});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let (s, v) = by
        .api(
            Method::POST,
            &format!("/api/v1/clubs/{club}/events"),
            Some(body),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["occurrences"][0]["id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_list_guardians_and_who_answered() {
    let fx = Fixture::new().await;
    let club = fx.a.id.clone();
    let mut officer = fx.client(Who::Officer);
    let occ = one_off(&mut officer, &club, json!({"capacity": 1})).await;
    let m = |w| fx.membership(w);
    let (mut coach, mut member, mut guardian, mut treasurer) = (
        fx.client(Who::Coach),
        fx.client(Who::Member),
        fx.client(Who::Guardian),
        fx.client(Who::Treasurer),
    );

    let (s, v) = answer(
        &mut coach,
        &club,
        &occ,
        &m(Who::Coach),
        json!({"status": "yes"}),
    )
    .await;
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::OK, Some("yes")),
        "{v}"
    );
    let (_, v) = answer(
        &mut member,
        &club,
        &occ,
        &m(Who::Member),
        json!({"status": "yes", "comment": "遅刻します"}),
    )
    .await;
    assert_eq!(v["status"], "waitlisted", "the one place is taken");
    assert_eq!(v["answered_as"], "self");
    let (_, v) = answer(
        &mut treasurer,
        &club,
        &occ,
        &m(Who::Treasurer),
        json!({"status": "yes"}),
    )
    .await;
    assert_eq!(v["status"], "waitlisted");
    // Changing the comment keeps one's place in the queue.
    let (_, v) = answer(
        &mut member,
        &club,
        &occ,
        &m(Who::Member),
        json!({"status": "yes", "comment": "早退します"}),
    )
    .await;
    assert_eq!(v["status"], "waitlisted");

    // The coach cancels: the first in the queue (the member) gets the place and is told,
    // together with their guardian; the treasurer keeps waiting.
    let (_, v) = answer(
        &mut coach,
        &club,
        &occ,
        &m(Who::Coach),
        json!({"status": "no"}),
    )
    .await;
    assert_eq!(v["status"], "no");
    let (_, d) = officer
        .api(
            Method::GET,
            &format!("/api/v1/clubs/{club}/occurrences/{occ}"),
            None,
        )
        .await;
    assert_eq!(
        d["tally"],
        json!({"yes": 1, "no": 1, "maybe": 0, "waitlisted": 1}),
        "{d}"
    );
    let status_of = |d: &Value, who: &str| {
        d["answers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["membership_id"] == who)
            .unwrap()["status"]
            .clone()
    };
    assert_eq!(status_of(&d, &m(Who::Member)), "yes");
    assert_eq!(status_of(&d, &m(Who::Treasurer)), "waitlisted");
    assert!(
        kinds(&mut member)
            .await
            .contains(&"waitlist_promoted".to_owned())
    );
    assert!(
        kinds(&mut guardian)
            .await
            .contains(&"waitlist_promoted".to_owned())
    );
    assert!(
        !kinds(&mut treasurer)
            .await
            .contains(&"waitlist_promoted".to_owned())
    );

    // The guardian answers for their child: 欠席. The record shows the guardian answered;
    // the place passes to the treasurer.
    let (s, v) = answer(
        &mut guardian,
        &club,
        &occ,
        &m(Who::Member),
        json!({"status": "no", "comment": "体調不良"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["answered_as"], "guardian");
    let (_, me) = guardian.api(Method::GET, "/api/v1/me", None).await;
    assert_eq!(v["answered_by"], me["account_id"]);
    let (_, d) = officer
        .api(
            Method::GET,
            &format!("/api/v1/clubs/{club}/occurrences/{occ}"),
            None,
        )
        .await;
    assert_eq!(status_of(&d, &m(Who::Treasurer)), "yes");
    assert!(
        kinds(&mut treasurer)
            .await
            .contains(&"waitlist_promoted".to_owned())
    );

    // Nobody answers for someone who is not theirs.
    let (s, _) = answer(
        &mut guardian,
        &club,
        &occ,
        &m(Who::Treasurer),
        json!({"status": "no"}),
    )
    .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "a guardian for a student who isn't theirs"
    );
    let (s, _) = answer(
        &mut member,
        &club,
        &occ,
        &m(Who::Treasurer),
        json!({"status": "no"}),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = answer(
        &mut treasurer,
        &club,
        &occ,
        &m(Who::Member),
        json!({"status": "yes"}),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Guardians are not attendees themselves.
    let (s, v) = answer(
        &mut guardian,
        &club,
        &occ,
        &m(Who::Guardian),
        json!({"status": "yes"}),
    )
    .await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "not_invited"));
    // Another club's member id is not found.
    let other = fx.b.people[0].2.clone();
    let (s, _) = answer(&mut officer, &club, &occ, &other, json!({"status": "yes"})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // 未定 with the date they will know: not after the event, not before today.
    let (s, v) = answer(
        &mut member,
        &club,
        &occ,
        &m(Who::Member),
        json!({"status": "maybe", "decide_by": &jst_in_days(9, 0, 0)[..10]}),
    )
    .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "decide_by_out_of_range")
    );
    let (s, v) = answer(
        &mut member,
        &club,
        &occ,
        &m(Who::Member),
        json!({"status": "maybe", "decide_by": &jst_in_days(1, 0, 0)[..10]}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["decide_by"], &jst_in_days(1, 0, 0)[..10]);
    let (s, v) = answer(
        &mut member,
        &club,
        &occ,
        &m(Who::Member),
        json!({"status": "present"}),
    )
    .await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_json"));

    // Officers see who has not answered; members do not.
    let (_, d) = officer
        .api(
            Method::GET,
            &format!("/api/v1/clubs/{club}/occurrences/{occ}"),
            None,
        )
        .await;
    let missing: Vec<&str> = d["non_responders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["membership_id"].as_str().unwrap())
        .collect();
    assert!(
        missing.contains(&m(Who::Owner).as_str()) && missing.contains(&m(Who::Officer).as_str())
    );
    assert!(
        !missing.contains(&m(Who::Member).as_str())
            && !missing.contains(&m(Who::Guardian).as_str())
    );
    let (_, d) = member
        .api(
            Method::GET,
            &format!("/api/v1/clubs/{club}/occurrences/{occ}"),
            None,
        )
        .await;
    assert!(d.get("non_responders").is_none());

    // Capacity cannot drop below those already attending; raising it promotes.
    let (_, me_coach) = answer(
        &mut coach,
        &club,
        &occ,
        &m(Who::Coach),
        json!({"status": "yes"}),
    )
    .await;
    assert_eq!(me_coach["status"], "waitlisted");
    let times = json!({"title": "練習試合", "starts_at": jst_in_days(3, 9, 0), "ends_at": jst_in_days(3, 12, 0)});
    let mut body = times.clone();
    body["capacity"] = json!(2);
    let (s, v) = officer
        .api(
            Method::PUT,
            &format!("/api/v1/clubs/{club}/occurrences/{occ}"),
            Some(body),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, d) = officer
        .api(
            Method::GET,
            &format!("/api/v1/clubs/{club}/occurrences/{occ}"),
            None,
        )
        .await;
    assert_eq!(status_of(&d, &m(Who::Coach)), "yes");
    let mut body = times.clone();
    body["capacity"] = json!(1);
    let (s, v) = officer
        .api(
            Method::PUT,
            &format!("/api/v1/clubs/{club}/occurrences/{occ}"),
            Some(body),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::CONFLICT, "capacity_below_attendance")
    );
    let (_, d) = officer
        .api(
            Method::GET,
            &format!("/api/v1/clubs/{club}/occurrences/{occ}"),
            None,
        )
        .await;
    assert_eq!(d["occurrence"]["capacity"], 2, "nothing was changed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_deadline_only_officers_answer() {
    let fx = Fixture::new().await;
    let club = fx.a.id.clone();
    let mut officer = fx.client(Who::Officer);
    // Starts in an hour and four seconds; answers close an hour before: in four seconds.
    let occ = one_off(
        &mut officer,
        &club,
        json!({"starts_at": jst_in_secs(3604), "ends_at": jst_in_secs(7200), "deadline_before_min": 60}),
    )
    .await;
    let member = fx.membership(Who::Member);
    let (s, _) = answer(
        &mut fx.client(Who::Member),
        &club,
        &occ,
        &member,
        json!({"status": "yes"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(4500)).await;
    let (s, v) = answer(
        &mut fx.client(Who::Member),
        &club,
        &occ,
        &member,
        json!({"status": "no"}),
    )
    .await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "deadline_passed"));
    let (s, v) = answer(
        &mut fx.client(Who::Guardian),
        &club,
        &occ,
        &member,
        json!({"status": "no"}),
    )
    .await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "deadline_passed"));
    let (s, v) = answer(
        &mut officer,
        &club,
        &occ,
        &member,
        json!({"status": "no", "comment": "連絡あり"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["answered_as"], "officer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attendance_rates_and_csv_for_excel() {
    let fx = Fixture::new().await;
    let club = fx.a.id.clone();
    let mut coach = fx.client(Who::Coach);
    let m = |w| fx.membership(w);
    // Two short sessions that start in a few seconds.
    let mut occs = Vec::new();
    for (i, secs) in [3, 4].iter().enumerate() {
        let o = one_off(
            &mut coach,
            &club,
            json!({"title": format!("朝練{i}"), "starts_at": jst_in_secs(*secs), "ends_at": jst_in_secs(secs + 600)}),
        )
        .await;
        occs.push(o);
    }
    for (who, i, status) in [
        (Who::Member, 0, "yes"),
        (Who::Member, 1, "no"),
        (Who::Treasurer, 0, "yes"),
        (Who::Treasurer, 1, "yes"),
    ] {
        let body = json!({ "status": status });
        answer(&mut fx.client(who), &club, &occs[i], &m(who), body).await;
    }
    tokio::time::sleep(Duration::from_millis(4500)).await;

    let today = &jst_in_days(0, 0, 0)[..10];
    let q = format!("from={today}&to={today}");
    let (s, r) = coach
        .api(
            Method::GET,
            &format!("/api/v1/clubs/{club}/attendance?{q}"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["occurrences"], 2);
    let line = |who: &str| {
        r["members"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["membership_id"] == who)
            .unwrap()
            .clone()
    };
    let mem = line(&m(Who::Member));
    assert_eq!(
        (
            mem["targeted"].as_i64(),
            mem["yes"].as_i64(),
            mem["rate"].as_f64()
        ),
        (Some(2), Some(1), Some(50.0))
    );
    assert_eq!(line(&m(Who::Treasurer))["rate"], 100.0);
    let owner = line(&m(Who::Owner));
    assert_eq!(
        (owner["unanswered"].as_i64(), owner["rate"].as_f64()),
        (Some(2), Some(0.0))
    );
    assert!(
        r["members"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["membership_id"] != m(Who::Guardian).as_str())
    );

    // The CSV: BOM, Japanese header, CRLF, one line per member.
    // Raw bytes (a text decoder would hide the byte-order mark).
    let res = reqwest::Client::new()
        .get(format!(
            "{}/api/v1/clubs/{club}/attendance.csv?{q}",
            coach.base
        ))
        .bearer_auth(coach.bearer.clone().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let header = |k: &str| res.headers().get(k).unwrap().to_str().unwrap().to_owned();
    assert_eq!(header("content-type"), "text/csv; charset=utf-8");
    assert!(header("content-disposition").contains("attendance-"));
    let bytes = res.bytes().await.unwrap().to_vec();
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF", "UTF-8 BOM");
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(
        lines[0],
        "氏名,対象回数,出席,欠席,未定,未回答,出席(実績),出席率(%)"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("member-member,2,1,1,0,0,1,50.0")),
        "{text}"
    );
    assert_eq!(lines.len(), 1 + r["members"].as_array().unwrap().len());

    // Members cannot see others' rates; bad periods are refused.
    let (s, _) = fx
        .client(Who::Member)
        .api(
            Method::GET,
            &format!("/api/v1/clubs/{club}/attendance?{q}"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = coach
        .api(
            Method::GET,
            &format!("/api/v1/clubs/{club}/attendance?from={today}&to=2020-01-01"),
            None,
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "end_before_start")
    );
    let (s, _) = coach
        .api(
            Method::GET,
            &format!("/api/v1/clubs/{club}/attendance"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

/// Reminders go to those who have not answered (and their guardians), once, also when
/// the server was down at the time and restarts later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reminders_are_sent_once_and_survive_restarts() {
    let fast = |c: &mut tekkan_cli::config::Config| c.scheduler.poll_ms = 100;
    let app = TestApp::builder().configure(fast).start().await;
    let mut owner = app.sign_up("顧問", None).await;
    let club = owner.create_club("吹奏楽部").await;
    let (mut member, mid) =
        crate::support::fixture::join(&app, &mut owner, &club, "member", false).await;
    let (mut quiet, _) =
        crate::support::fixture::join(&app, &mut owner, &club, "member", false).await;
    // Answers close an hour after now + 3 s; the reminder is an hour before that.
    let body = |secs: i64| {
        json!({"title": "本番", "starts_at": jst_in_secs(7200 + secs), "ends_at": jst_in_secs(9000 + secs),
        "deadline_before_min": 60, "reminders": [60]})
    };
    let (s, ev) = owner
        .api(
            Method::POST,
            &format!("/api/v1/clubs/{club}/events"),
            Some(body(3)),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{ev}");
    let occ = ev["occurrences"][0]["id"].as_str().unwrap().to_owned();
    answer(&mut member, &club, &occ, &mid, json!({"status": "yes"})).await;
    let reminders = |v: Vec<String>| v.iter().filter(|k| *k == "reminder").count();
    let mut waited = 0;
    while reminders(kinds(&mut quiet).await) == 0 && waited < 100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
    }
    assert_eq!(
        reminders(kinds(&mut quiet).await),
        1,
        "the non-responder is reminded"
    );
    assert_eq!(
        reminders(kinds(&mut owner).await),
        1,
        "the owner has not answered either"
    );
    assert_eq!(
        reminders(kinds(&mut member).await),
        0,
        "who answered is left alone"
    );

    // A second event whose reminder falls due while the server is down.
    let (s, ev2) = owner
        .api(
            Method::POST,
            &format!("/api/v1/clubs/{club}/events"),
            Some(body(2)),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{ev2}");
    let mut dir = app.stop().await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    // Restarted twice: the missed reminder goes out on the first start, and neither
    // reminder is sent again.
    for round in 0..2 {
        let app = TestApp::builder()
            .configure(fast)
            .data_dir(dir)
            .start()
            .await;
        let mut q = quiet.clone();
        q.base = app.base.clone();
        let mut waited = 0;
        while reminders(kinds(&mut q).await) < 2 && waited < 50 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            waited += 1;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(
            reminders(kinds(&mut q).await),
            2,
            "round {round}: each reminder exactly once"
        );
        dir = app.stop().await;
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tekkan"))
        .args(["audit", "verify", "--data-dir"])
        .arg(dir.path())
        .db()
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
