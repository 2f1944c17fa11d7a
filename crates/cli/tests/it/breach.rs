//! The APPI breach workflow: an officer's account taken over reads a roster and two
//! members' personal fields inside a window; the breach computed from the audit trail
//! names exactly the seeded people and items (reads outside the window, by others, or
//! in another club do not count), classifies the mandatory cases, applies the
//! encryption exemption to a stolen database copy, counts deadlines from awareness, and
//! drafts the Commission's report and each person's notice, as JSON and as pages.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::fixture::{Fixture, Who};
use crate::support::{Client, code};

async fn set_fields(c: &Client, fields: Value) {
    let (s, v) = c
        .clone()
        .api(
            Method::PUT,
            "/api/v1/me/personal",
            Some(json!({ "fields": fields })),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

async fn read_personal(by: &Client, club: &str, member: &str) {
    let (s, v) = by
        .clone()
        .api(
            Method::GET,
            &format!("/api/v1/clubs/{club}/members/{member}/personal"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(!v["fields"].as_object().unwrap().is_empty(), "{v}");
}

async fn now_ms() -> i64 {
    // Audit times are whole milliseconds: step past the current one.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    tekkan_storage::now_ms()
}

/// Item → (exposed, protected), from a draft's JSON.
fn items(d: &Value) -> std::collections::BTreeMap<String, (u64, u64)> {
    d["breach"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["item"].as_str().unwrap().to_owned(),
                (
                    i["exposed"].as_u64().unwrap(),
                    i["protected"].as_u64().unwrap(),
                ),
            )
        })
        .collect()
}

fn expect(pairs: &[(&str, (u64, u64))]) -> std::collections::BTreeMap<String, (u64, u64)> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_breach_draft_counts_exactly_the_seeded_people_and_items() {
    let fx = Fixture::new().await;
    let a = fx.a.id.clone();
    let mut op = fx.operator.clone();
    let officer = fx.client(Who::Officer);
    let owner = fx.client(Who::Owner);
    let member = fx.client(Who::Member);
    let coach = fx.client(Who::Coach);
    let treasurer = fx.client(Who::Treasurer);
    set_fields(
        &member,
        json!({"phone": "090-1111-2222", "health_notes": "喘息(吸入薬を携帯)"}),
    )
    .await;
    set_fields(&coach, json!({"phone": "080-3333-4444"})).await;
    set_fields(&treasurer, json!({"school": "都立テスト高校"})).await;
    // Club B's people have data too, and are read, but by no one in scope.
    let b_member = fx.b.people.iter().find(|p| p.0 == Who::Member).unwrap();
    set_fields(&b_member.1, json!({"phone": "070-5555-6666"})).await;
    read_personal(&fx.b.owner, &fx.b.id, &b_member.2).await;

    // The officer's account is taken over: inside the window it reads the roster
    // (every member's name and e-mail, the guardian links) and two members' fields.
    let from = now_ms().await;
    let (s, v) = officer
        .clone()
        .api(Method::GET, &format!("/api/v1/clubs/{a}/members"), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    read_personal(&officer, &a, &fx.membership(Who::Member)).await;
    read_personal(&officer, &a, &fx.membership(Who::Coach)).await;
    // The owner reads the treasurer's fields in the window: not an actor in scope.
    read_personal(&owner, &a, &fx.membership(Who::Treasurer)).await;
    let to = now_ms().await;
    // After the window, the officer reads the treasurer's: outside it.
    read_personal(&officer, &a, &fx.membership(Who::Treasurer)).await;

    let aware = to + 60_000;
    let (s, v) = op
        .api(
            Method::POST,
            "/api/v1/admin/incidents",
            Some(json!({"category": "unauthorized_access", "title": "役員アカウントの乗っ取り",
                "clubs": [a], "detected_at": from, "aware_at": aware.min(tekkan_storage::now_ms())})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/admin/incidents/{id}/breach");
    let (s, v) = op.api(Method::GET, &path, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "nothing stated yet: {v}");

    // The roster is a queued read: give the queue its moment.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let statement = json!({"from": from, "to": to, "exposure": "access",
        "actors": [officer.email], "malicious": true,
        "secondary_harm": "現時点で二次被害は確認されていない。"});
    let (s, d) = op.api(Method::PUT, &path, Some(statement.clone())).await;
    assert_eq!(s, StatusCode::OK, "{d}");
    let b = &d["breach"];
    assert_eq!(b["entries"], 3, "{b}");
    assert_eq!(b["entries_by_action"]["roster.read"], 1);
    assert_eq!(b["entries_by_action"]["personal.read"], 2);
    // Club A: owner, officer, treasurer, coach, member, guardian.
    assert_eq!(
        (b["people"].as_u64(), b["people_exposed"].as_u64()),
        (Some(6), Some(6))
    );
    assert_eq!(
        items(&d),
        expect(&[
            ("name", (6, 0)),
            ("email", (6, 0)),
            ("guardian_link", (2, 0)),
            // The officer's own account: all it holds.
            ("attendance", (1, 0)),
            ("activity_log", (1, 0)),
            ("phone", (2, 0)),
            ("health_notes", (1, 0)),
        ])
    );
    let cases = &b["cases"];
    assert_eq!(
        (cases["sensitive"].as_bool(), cases["malicious"].as_bool()),
        (Some(true), Some(true))
    );
    assert_eq!(cases["many_people"], false);
    assert_eq!(cases["financial"], false);
    assert_eq!(b["mandatory"], true);
    assert_eq!(b["exemption_applies"], false);
    // 60 days for unauthorized intent, counted from awareness.
    let dl = &b["deadlines"];
    assert_eq!(dl["final_days"], 60);
    let aware_at = op
        .api(Method::GET, "/api/v1/admin/incidents", None)
        .await
        .1
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id.as_str())
        .unwrap()["aware_at"]
        .as_i64()
        .unwrap();
    let final_by = dl["final_by"].as_i64().unwrap();
    assert!(final_by > aware_at + 60 * 86_400_000 && final_by <= aware_at + 61 * 86_400_000);
    // The nine items, and a notice for each of the six.
    let report = d["report"].as_array().unwrap();
    assert_eq!(report.len(), 9);
    assert!(report[0]["title"].as_str().unwrap().starts_with("1. 概要"));
    assert!(
        report[2]["body"].as_str().unwrap().starts_with("6人"),
        "{}",
        report[2]
    );
    assert!(
        report[4]["body"]
            .as_str()
            .unwrap()
            .contains("二次被害は確認されていない")
    );
    assert!(report[8]["body"].as_str().unwrap().contains("規則7条1号"));
    let notices = d["notices"].as_array().unwrap();
    assert_eq!(notices.len(), 6);
    let student = notices
        .iter()
        .find(|n| n["name"] == "member-member")
        .unwrap();
    let sections = student["sections"].as_array().unwrap();
    assert_eq!(sections.len(), 5);
    assert!(
        sections[1]["body"]
            .as_str()
            .unwrap()
            .contains("健康に関する情報")
    );
    let coach_notice = notices
        .iter()
        .find(|n| n["name"] == "coach-member")
        .unwrap();
    assert!(
        !coach_notice["sections"][1]["body"]
            .as_str()
            .unwrap()
            .contains("健康")
    );

    // The same window as a stolen copy of the database: everyone in club A and all
    // they hold; the sealed fields stay protected while the master key is apart.
    let copy = json!({"from": from, "to": to, "exposure": "database_copy"});
    let (s, d) = op.api(Method::PUT, &path, Some(copy)).await;
    assert_eq!(s, StatusCode::OK, "{d}");
    let b = &d["breach"];
    assert_eq!(
        (b["people"].as_u64(), b["people_exposed"].as_u64()),
        (Some(6), Some(6))
    );
    assert_eq!(
        items(&d),
        expect(&[
            ("name", (6, 0)),
            ("email", (6, 0)),
            ("guardian_link", (2, 0)),
            ("attendance", (6, 0)),
            ("activity_log", (6, 0)),
            ("phone", (0, 2)),
            ("school", (0, 1)),
            ("health_notes", (0, 1)),
        ])
    );
    assert_eq!(b["cases"]["sensitive"], false, "health notes stayed sealed");
    assert_eq!(
        (b["mandatory"].as_bool(), b["exemption_applies"].as_bool()),
        (Some(false), Some(true))
    );
    assert_eq!(b["deadlines"]["final_days"], 30);
    // With the key gone too, nothing is protected.
    let (s, d) = op
        .api(
            Method::PUT,
            &path,
            Some(json!({"from": from, "to": to, "exposure": "database_copy", "key_compromised": true})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(d["breach"]["cases"]["sensitive"], true);
    assert_eq!(items(&d)["health_notes"], (1, 0));

    // The pages: the printable report and the notices, one article a person.
    let (s, d) = op.api(Method::PUT, &path, Some(statement)).await;
    assert_eq!(s, StatusCode::OK, "{d}");
    let mut page = op.as_browser();
    let html = page.get(&format!("/admin/incidents/{id}/breach")).await;
    assert_eq!(html.status, StatusCode::OK);
    assert!(
        html.body.contains(r#"id="breach-people-exposed">6<"#),
        "{}",
        html.body
    );
    assert!(html.body.contains("規則7条1号"));
    assert!(html.body.contains("8. 再発防止のための措置"));
    let notices = page
        .get(&format!("/admin/incidents/{id}/breach/notices"))
        .await;
    assert_eq!(
        notices.body.matches(r#"<article class="notice""#).count(),
        6
    );
    assert!(
        notices
            .body
            .contains("個人データの漏えい等に関するお知らせ")
    );
    // The form takes whole minutes on Japan's clock: the window now also holds the
    // officer's later read of the treasurer's school.
    let minute = |ms: i64| {
        jiff::Timestamp::from_millisecond(ms)
            .unwrap()
            .to_zoned(jiff::tz::TimeZone::get("Asia/Tokyo").unwrap())
            .strftime("%Y-%m-%dT%H:%M")
            .to_string()
    };
    let res = page
        .post_form(
            &format!("/admin/incidents/{id}/breach"),
            &html.csrf(),
            &[
                ("from", &minute(from)),
                ("to", &minute(to + 60_000)),
                ("exposure", "access"),
                ("actors", &format!("{}\n", officer.email)),
                ("malicious", "on"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let html = page.get(&format!("/admin/incidents/{id}/breach")).await;
    assert!(
        html.body.contains(r#"id="breach-entries">4<"#),
        "{}",
        html.body
    );
    assert!(
        html.body
            .contains(r#"<tr data-item="school"><td>学校名</td><td>1</td>"#)
    );

    // Each statement was audited, and reading the names of the affected was too.
    fx.app.settle_log().await;
    assert_eq!(fx.app.audit_count("incident.breach_assessed").await, 5);
    let mut seen = 0;
    for _ in 0..50 {
        seen = fx.app.audit_count("incident.breach_read").await;
        if seen >= 6 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(seen >= 6, "{seen}");
}

#[tokio::test]
async fn a_breach_statement_is_checked() {
    let fx = Fixture::new().await;
    let mut op = fx.operator.clone();
    let open = |category: &'static str| {
        let mut op = op.clone();
        async move {
            let (s, v) = op
                .api(
                    Method::POST,
                    "/api/v1/admin/incidents",
                    Some(json!({"category": category, "title": "調査"})),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{v}");
            v["id"].as_str().unwrap().to_owned()
        }
    };
    let outage = open("outage").await;
    let leak = open("data_leak").await;
    let now = tekkan_storage::now_ms();
    // An hour before the test began: nothing happened then.
    let ok = json!({"from": now - 3_600_000, "to": now - 1_800_000, "exposure": "access"});
    let (s, v) = op
        .api(
            Method::PUT,
            &format!("/api/v1/admin/incidents/{outage}/breach"),
            Some(ok.clone()),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "not_a_breach"), "{v}");
    let path = format!("/api/v1/admin/incidents/{leak}/breach");
    for (bad, want) in [
        (
            json!({"from": now, "to": now - 1, "exposure": "access"}),
            "window_order",
        ),
        (
            json!({"from": now - 1, "to": now + 86_400_000, "exposure": "access"}),
            "window_order",
        ),
        (
            json!({"from": now - 1, "to": now, "exposure": "stolen"}),
            "invalid",
        ),
        (
            json!({"from": now - 1, "to": now, "exposure": "access", "actors": ["nobody@example.jp"]}),
            "invalid",
        ),
        (
            json!({"from": now - 1, "to": now, "exposure": "access", "address_prefixes": ["' OR 1=1 --"]}),
            "invalid",
        ),
        (
            json!({"from": now - 1, "to": now, "exposure": "access", "other": "\u{7}"}),
            "bad_characters",
        ),
    ] {
        let (s, v) = op.api(Method::PUT, &path, Some(bad.clone())).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad} → {v}");
        assert_eq!(code(&v), want, "{bad} → {v}");
    }
    let (s, _) = op.api(Method::GET, &path, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "nothing bad was kept");
    // An officer of a club is not the operator.
    let mut owner = fx.client(Who::Owner);
    let (s, _) = owner.api(Method::PUT, &path, Some(ok.clone())).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = op.api(Method::PUT, &path, Some(ok)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["breach"]["people"], 0, "nobody read anything: {v}");
    assert_eq!(v["breach"]["mandatory"], false);
}

/// The operator states a breach in Chromium on a phone-sized screen: the summary and
/// the items fit the width, the form changes the classification, the print buttons
/// print (the Content-Security-Policy refuses inline handlers), and printing the
/// notices shows the notices alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_breach_pages_work_in_a_phone_sized_browser() {
    let fx = Fixture::new().await;
    let a = fx.a.id.clone();
    let mut op = fx.operator.clone();
    let officer = fx.client(Who::Officer);
    set_fields(
        &fx.client(Who::Member),
        json!({"health_notes": "食物アレルギー(卵)"}),
    )
    .await;
    let from = now_ms().await;
    read_personal(&officer, &a, &fx.membership(Who::Member)).await;
    let to = now_ms().await;
    let (s, v) = op
        .api(
            Method::POST,
            "/api/v1/admin/incidents",
            Some(json!({"category": "data_leak", "title": "名簿の持ち出し", "clubs": [a]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_str().unwrap().to_owned();
    let statement = json!({"from": from, "to": to, "exposure": "access",
        "actors": [officer.email], "secondary_harm": "不審な連絡の報告はない。",
        "publication": "12月8日に公表予定。"});
    let (s, d) = op
        .api(
            Method::PUT,
            &format!("/api/v1/admin/incidents/{id}/breach"),
            Some(statement),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(d["breach"]["cases"]["financial"], false);

    let mut b = crate::support::cdp::Browser::launch().await;
    b.call(
        "Emulation.setDeviceMetricsOverride",
        json!({"width": 390, "height": 844, "deviceScaleFactor": 3, "mobile": true}),
    )
    .await;
    b.log_in(&fx.app.base, &op.email, "a long enough passphrase")
        .await;
    let page = format!("{}/admin/incidents/{id}/breach", fx.app.base);
    b.goto(&page).await;
    let exposed = b
        .eval("document.getElementById('breach-people-exposed').innerText")
        .await;
    // The member read, and the taken-over account itself.
    assert_eq!(exposed, json!("2"));
    assert!(
        b.text().await.contains("健康"),
        "the sensitive item is named"
    );
    let fits = "document.documentElement.scrollWidth <= window.innerWidth";
    assert_eq!(b.eval(fits).await, json!(true), "wider than the phone");

    // The print button prints.
    b.eval("window.print = () => { window.__printed = true; }; true")
        .await;
    b.click("button[data-print]").await;
    assert_eq!(b.eval("window.__printed === true").await, json!(true));

    // Possible financial harm, stated through the form sent back otherwise as shown
    // (a window inside one minute, the texts stated before), makes the case; nothing
    // stated before is lost.
    b.click("#breach-form input[name=financial_harm]").await;
    b.click_and_wait("#breach-form button").await;
    assert!(
        b.url()
            .await
            .ends_with(&format!("/admin/incidents/{id}/breach?msg=saved"))
    );
    let (_, d) = op
        .api(
            Method::GET,
            &format!("/api/v1/admin/incidents/{id}/breach"),
            None,
        )
        .await;
    assert_eq!(d["breach"]["cases"]["financial"], true, "{d}");
    assert_eq!(d["breach"]["entries"], 1, "{d}");
    let report = d["report"].as_array().unwrap();
    assert_eq!(report[4]["body"], "不審な連絡の報告はない。", "kept");
    assert_eq!(report[6]["body"], "12月8日に公表予定。", "kept");
    assert!(
        report[0]["body_en"].as_str().unwrap().contains(" JST"),
        "{}",
        report[0]
    );
    assert_eq!(b.eval(fits).await, json!(true));

    // The notices: one a person; printed, the page's frame is gone.
    b.click_and_wait("#breach-notices").await;
    let notices = b
        .eval("document.querySelectorAll('article.notice').length")
        .await;
    assert_eq!(notices, json!(2));
    assert_eq!(b.eval(fits).await, json!(true));
    b.call("Emulation.setEmulatedMedia", json!({"media": "print"}))
        .await;
    let hidden = b
        .eval(
            "[...document.querySelectorAll('nav, .no-print')]\
             .every(e => getComputedStyle(e).display === 'none')",
        )
        .await;
    assert_eq!(hidden, json!(true));
    let shown = b
        .eval("getComputedStyle(document.querySelector('article.notice')).display !== 'none'")
        .await;
    assert_eq!(shown, json!(true));
}
