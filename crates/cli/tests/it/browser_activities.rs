//! A real browser through a week of club life: an officer creates a recurring practice,
//! a member answers 欠席 with a comment, a guardian answers for their child, the officer
//! sees the tally and who has not answered, posts an announcement that asks for
//! confirmation, and sees who confirmed.

use std::path::PathBuf;

use reqwest::{Method, StatusCode};

use crate::support::TestApp;
use crate::support::cdp::Browser;
use crate::support::fixture::{join, jst_in_days, weekday_in};

const PASSWORD: &str = "a long enough passphrase";

fn shots() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn practice_answers_tally_announcement_and_confirmations() {
    let app = TestApp::start().await;
    // People, set up through the API: an officer (the owner), a member, a student and
    // the student's guardian.
    let mut officer = app.sign_up("高橋 誠", None).await;
    let club = officer.create_club("桜ヶ丘高校 吹奏楽部").await;
    let (member, mm) = join(&app, &mut officer, &club, "member", false).await;
    let (_, student) = join(&app, &mut officer, &club, "member", false).await;
    let (guardian, gm) = join(&app, &mut officer, &club, "guardian", false).await;
    let (s, _) = officer
        .api(
            Method::PUT,
            &format!("/api/v1/clubs/{club}/members/{gm}/students/{student}"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let base = app.base.clone();
    let mut b = Browser::launch().await;

    // The officer creates a weekly practice on two days for three weeks.
    b.log_in(&base, &officer.email, PASSWORD).await;
    b.goto(&format!("{base}/clubs/{club}/events/new")).await;
    b.fill("input[name=title]", "通常練習").await;
    b.fill("input[name=starts_at]", &jst_in_days(2, 16, 0))
        .await;
    b.fill("input[name=ends_at]", &jst_in_days(2, 18, 30)).await;
    b.fill("input[name=place]", "音楽室").await;
    b.click("input[name=repeat][value=weekly]").await;
    for d in [weekday_in(2), weekday_in(4)] {
        b.click(&format!("input[name=by_day][value={d}]")).await;
    }
    b.fill("input[name=until]", &jst_in_days(2 + 20, 0, 0)[..10])
        .await;
    b.click_and_wait("#event-form button").await;
    assert!(b.url().await.contains("/occurrences/"), "{}", b.url().await);
    let occurrence = b.url().await.split('?').next().unwrap().to_owned();
    b.goto(&format!("{base}/clubs/{club}/events")).await;
    let cal = b.text().await;
    assert_eq!(cal.matches("通常練習").count(), 6, "{cal}");
    b.screenshot(&shots().join("calendar.png")).await;

    // The member answers 欠席 with a comment.
    b.log_in(&base, &member.email, PASSWORD).await;
    b.goto(&occurrence).await;
    b.click(".answer-form input[name=status][value=no]").await;
    b.fill(".answer-form input[name=comment]", "模試のため")
        .await;
    b.click_and_wait(".answer-form button").await;
    assert!(b.text().await.contains("回答しました"));

    // The guardian sees the child's practice on their schedule and answers 出席.
    b.log_in(&base, &guardian.email, PASSWORD).await;
    b.goto(&format!("{base}/schedule")).await;
    let sched = b.text().await;
    assert!(
        sched.contains("お子さま") && sched.contains("通常練習"),
        "{sched}"
    );
    b.goto(&occurrence).await;
    let form = format!(".answer-form[data-member='{student}']");
    b.click(&format!("{form} input[name=status][value=yes]"))
        .await;
    b.click_and_wait(&format!("{form} button")).await;
    b.screenshot(&shots().join("guardian-answer.png")).await;

    // The officer sees the tally, who answered for whom, and who has not answered.
    b.log_in(&base, &officer.email, PASSWORD).await;
    b.goto(&occurrence).await;
    let yes = b
        .eval("document.querySelector('#tally [data-status=yes] strong').textContent")
        .await;
    let no = b
        .eval("document.querySelector('#tally [data-status=no] strong').textContent")
        .await;
    assert_eq!((yes.as_str(), no.as_str()), (Some("1"), Some("1")));
    let page = b.text().await;
    assert!(
        page.contains("模試のため") && page.contains("保護者"),
        "{page}"
    );
    let missing = b
        .eval("[...document.querySelectorAll('#non-responders li')].map(l => l.dataset.member)")
        .await;
    let missing: Vec<&str> = missing
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(!missing.contains(&student.as_str()));
    assert!(!missing.is_empty(), "the officer has not answered");
    b.screenshot(&shots().join("tally.png")).await;

    // An announcement that asks for confirmation.
    b.goto(&format!("{base}/clubs/{club}/announcements/new"))
        .await;
    b.fill("input[name=title]", "定期演奏会の集合時間").await;
    b.fill(
        "textarea[name=body]",
        "3月20日 8:30 に正門前に集合してください。",
    )
    .await;
    b.click("input[name=requires_confirmation]").await;
    b.click_and_wait("#announcement-form button").await;
    let announcement = b.url().await.split('?').next().unwrap().to_owned();

    // The member reads it and presses 確認しました.
    b.log_in(&base, &member.email, PASSWORD).await;
    b.goto(&format!("{base}/clubs/{club}/announcements")).await;
    assert!(b.text().await.contains("要確認"));
    b.goto(&announcement).await;
    b.click_and_wait("#confirm-form button").await;
    assert!(b.text().await.contains("確認を記録しました"));

    // The officer sees who confirmed, who only read, and who has not read.
    b.log_in(&base, &officer.email, PASSWORD).await;
    b.goto(&announcement).await;
    let rows = b
        .eval("[...document.querySelectorAll('table.receipts tbody tr')].map(r => [r.dataset.member, r.dataset.read, r.dataset.confirmed])")
        .await;
    let rows = rows.as_array().unwrap();
    let row = |m: &str| rows.iter().find(|r| r[0] == m).unwrap().clone();
    assert_eq!(
        (row(&mm)[1].as_str(), row(&mm)[2].as_str()),
        (Some("true"), Some("true")),
        "{rows:?}"
    );
    assert_eq!(
        (row(&gm)[1].as_str(), row(&gm)[2].as_str()),
        (Some("false"), Some("false"))
    );
    assert_eq!(row(&student)[2], "false");
    assert!(b.text().await.contains("✔"));
    b.screenshot(&shots().join("receipts.png")).await;
}
