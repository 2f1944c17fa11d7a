//! 出欠 on a phone, in Chromium at 390×844 in Japanese: a member answers a month of
//! practices from the schedule, each in one tap, in place (no reload, no jump); the
//! chosen answer is marked, not only coloured; a reason follows 欠席; and without
//! script the same buttons post and come back to the same card.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::TestApp;
use crate::support::cdp::Browser;
use crate::support::fixture::{join, jst_in_days, weekday_in};

const PASSWORD: &str = "a long enough passphrase";

/// A phone: 390×844, touch, Japanese.
async fn phone() -> Browser {
    let mut b = Browser::launch_with(&["--lang=ja".to_owned()]).await;
    b.call(
        "Emulation.setDeviceMetricsOverride",
        json!({"width": 390, "height": 844, "deviceScaleFactor": 3, "mobile": true}),
    )
    .await;
    b.call("Emulation.setLocaleOverride", json!({"locale": "ja-JP"}))
        .await;
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_month_of_practices_is_answered_in_place_one_tap_each() {
    let app = TestApp::start().await;
    let mut owner = app.sign_up("部長", None).await;
    let club = owner.create_club("吹奏楽部").await;
    let (member, _) = join(&app, &mut owner, &club, "member", false).await;
    // Twice a week for three and a half weeks, from two days ahead: all inside the
    // schedule's four weeks.
    let (d1, d2) = (weekday_in(2), weekday_in(4));
    let body = json!({"title": "合奏練習", "starts_at": jst_in_days(2, 16, 0),
        "ends_at": jst_in_days(2, 18, 0),
        "repeat": {"freq": "weekly", "by_day": [d1, d2], "until": &jst_in_days(2 + 24, 0, 0)[..10]}});
    let (s, v) = owner
        .api(
            Method::POST,
            &format!("/api/v1/clubs/{club}/events"),
            Some(body),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let practices = v["occurrences"].as_array().unwrap().len();
    assert!(practices >= 7, "{practices}");

    let mut b = phone().await;
    b.log_in(&app.base, &member.email, PASSWORD).await;
    b.goto(&format!("{}/schedule", app.base)).await;
    let cards = "document.querySelectorAll('li.card[data-occurrence]').length";
    assert_eq!(b.eval(cards).await, json!(practices));
    let fits = "document.documentElement.scrollWidth <= window.innerWidth";
    assert_eq!(b.eval(fits).await, json!(true), "wider than the phone");

    // Every practice answered 出席, one tap each, from the top of the list down, the
    // page scrolled to each card as a thumb would. The page is never replaced (a marker
    // on it survives) and does not jump.
    b.eval("window.__stay = true").await;
    for i in 0..practices {
        let card = format!("document.querySelectorAll('li.card[data-occurrence]')[{i}]");
        b.eval(&format!("{card}.scrollIntoView({{block: 'center'}}); true"))
            .await;
        let y = b.eval("Math.round(window.scrollY)").await;
        b.eval(&format!(
            "{card}.querySelector('button.reply-yes').click(); true"
        ))
        .await;
        b.wait_for(&format!(
            "{card}.querySelector('button.reply-yes').getAttribute('aria-pressed') === 'true'"
        ))
        .await;
        assert_eq!(
            b.eval("window.__stay === true").await,
            json!(true),
            "reloaded"
        );
        assert_eq!(b.eval("Math.round(window.scrollY)").await, y, "jumped");
    }
    // Marked with ✓, not colour alone; the focus stays on the pressed button.
    let first = "document.querySelector('li.card[data-occurrence] button.reply-yes')";
    let label = b.eval(&format!("{first}.innerText")).await;
    assert_eq!(label, json!("✓ 出席"));
    assert_eq!(
        b.eval("document.activeElement.closest('li.card') !== null")
            .await,
        json!(true)
    );
    // The server has every answer.
    let (s, v) = member
        .clone()
        .api(Method::GET, "/api/v1/me/schedule", None)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let yes = v
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "yes")
        .count();
    assert_eq!(yes, practices, "{v}");

    // 欠席 on the third: the reason field follows and takes the focus; the reason is
    // sent in place too.
    let third = "document.querySelectorAll('li.card[data-occurrence]')[2]";
    b.eval(&format!(
        "{third}.querySelector('button.reply-no').click(); true"
    ))
    .await;
    b.wait_for(&format!(
        "document.activeElement === {third}.querySelector('form.reason input[name=comment]')"
    ))
    .await;
    b.fill(
        "li.card:nth-child(3) form.reason input[name=comment]",
        "模試のため",
    )
    .await;
    b.eval(&format!(
        "{third}.querySelector('form.reason button').click(); true"
    ))
    .await;
    b.wait_for(&format!(
        "{third}.querySelector('.answer').innerText.includes('模試のため')"
    ))
    .await;
    assert_eq!(b.eval("window.__stay === true").await, json!(true));
    let pressed = b
        .eval(&format!(
            "[...{third}.querySelectorAll('button[aria-pressed=true]')].map(b => b.innerText)"
        ))
        .await;
    assert_eq!(pressed, json!(["✓ 欠席"]));
    // Tapping 欠席 again keeps the reason (the card that comes back still has it).
    b.eval(&format!(
        "window.__card = {third}; {third}.querySelector('button.reply-no').click(); true"
    ))
    .await;
    b.wait_for(&format!(
        "{third} !== window.__card && \
         {third}.querySelector('form.reason input[name=comment]').value === '模試のため'"
    ))
    .await;

    // Without script: the same button posts, and the page comes back at that card,
    // answered.
    b.call(
        "Emulation.setScriptExecutionDisabled",
        json!({"value": true}),
    )
    .await;
    b.goto(&format!("{}/schedule", app.base)).await;
    let last = practices - 1;
    let old = b.url().await;
    b.click_and_wait(&format!(
        "li.card:nth-child({}) button.reply-maybe",
        last + 1
    ))
    .await;
    let url = b.url().await;
    assert_ne!(url, old);
    let card_id = b
        .eval(&format!(
            "document.querySelectorAll('li.card[data-occurrence]')[{last}].id"
        ))
        .await;
    assert!(
        url.ends_with(&format!("#{}", card_id.as_str().unwrap())),
        "{url}"
    );
    let label = b
        .eval(&format!(
            "document.querySelectorAll('li.card[data-occurrence]')[{last}].querySelector('button.reply-maybe').innerText"
        ))
        .await;
    assert_eq!(label, json!("✓ 未定"));
}

/// A guardian answers for their child from the schedule, and on the day the officer
/// takes the roll call on the practice's page, one tap a person, in place.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guardian_answers_for_a_child_and_the_officer_takes_the_roll_call() {
    use crate::support::fixture::jst_in_secs;
    let app = TestApp::start().await;
    let mut owner = app.sign_up("部長", None).await;
    let club = owner.create_club("陸上部").await;
    let (_, student) = join(&app, &mut owner, &club, "member", false).await;
    let (_, other) = join(&app, &mut owner, &club, "member", false).await;
    let (guardian, gm) = join(&app, &mut owner, &club, "guardian", false).await;
    let (s, _) = owner
        .api(
            Method::PUT,
            &format!("/api/v1/clubs/{club}/members/{gm}/students/{student}"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    // In an hour: answers are open, and so is the roll call.
    let body = json!({"title": "記録会", "starts_at": jst_in_secs(3600), "ends_at": jst_in_secs(7200),
        "deadline_before_min": 0});
    let (s, v) = owner
        .api(
            Method::POST,
            &format!("/api/v1/clubs/{club}/events"),
            Some(body),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let occ = v["occurrences"][0]["id"].as_str().unwrap().to_owned();

    let mut b = phone().await;
    b.log_in(&app.base, &guardian.email, PASSWORD).await;
    b.goto(&format!("{}/schedule", app.base)).await;
    let card = format!("document.getElementById('a-{occ}-{student}')");
    let text = b.eval(&format!("{card}.innerText")).await;
    assert!(text.as_str().unwrap().contains("お子さまの出欠"), "{text}");
    b.eval("window.__stay = true").await;
    b.eval(&format!(
        "{card}.querySelector('button.reply-yes').click(); true"
    ))
    .await;
    b.wait_for(&format!(
        "{card}.querySelector('button.reply-yes').getAttribute('aria-pressed') === 'true'"
    ))
    .await;
    assert_eq!(b.eval("window.__stay === true").await, json!(true));

    // The officer, on the practice's page: the list fits the phone; 来た for the
    // student, and 欠席 for the other member on their behalf, each in place.
    b.log_in(&app.base, &owner.email, PASSWORD).await;
    b.goto(&format!("{}/clubs/{club}/occurrences/{occ}", app.base))
        .await;
    let fits = "document.documentElement.scrollWidth <= window.innerWidth";
    assert_eq!(b.eval(fits).await, json!(true), "wider than the phone");
    b.eval("window.__stay = true").await;
    let row = |m: &str| format!("document.getElementById('r-{m}')");
    b.eval(&format!(
        "{}.querySelector('form.roll-call button').click(); true",
        row(&student)
    ))
    .await;
    b.wait_for(&format!("{}.dataset.present === 'true'", row(&student)))
        .await;
    let label = b
        .eval(&format!(
            "{}.querySelector('form.roll-call button').innerText",
            row(&student)
        ))
        .await;
    assert_eq!(label, json!("✓ 来た"));
    b.eval(&format!(
        "{}.querySelector('.proxy button.reply-no').click(); true",
        row(&other)
    ))
    .await;
    b.wait_for(&format!(
        "{}.querySelector('.proxy button.reply-no').getAttribute('aria-pressed') === 'true'",
        row(&other)
    ))
    .await;
    assert_eq!(b.eval("window.__stay === true").await, json!(true));
    // Target sizes: every button on the list is at least 44 px high.
    let small = b
        .eval(
            "[...document.querySelectorAll('#roll-call button')]\
             .filter(b => b.getBoundingClientRect().height < 44).length",
        )
        .await;
    assert_eq!(small, json!(0));

    let (s, roll) = owner
        .api(
            Method::GET,
            &format!("/api/v1/clubs/{club}/occurrences/{occ}/roll-call"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{roll}");
    let line = |m: &str| {
        roll["lines"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["membership_id"] == m)
            .cloned()
            .unwrap()
    };
    assert_eq!(line(&student)["present"], true);
    assert_eq!(line(&student)["answer"], "yes", "the guardian's answer");
    assert_eq!(line(&other)["answer"], "no", "answered by the officer");
}
