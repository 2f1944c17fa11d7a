//! A real browser (Debian's headless Chromium) walks the first-day path: the operator
//! sets up, creates a club, makes an invitation link; a second person opens the link,
//! signs up and joins; the officer sees them on the roster.

use std::path::PathBuf;

use crate::support::TestApp;
use crate::support::cdp::Browser;

fn shots() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_create_club_invite_join_and_see_the_roster() {
    let app = TestApp::builder().open_signup(false).start().await;
    let setup = app.running().setup_url.clone().unwrap();
    let mut b = Browser::launch().await;

    // The operator creates the first account through the one-time link.
    b.goto(&setup).await;
    b.fill("input[name=email]", "komon@sakuragaoka.example.jp")
        .await;
    b.fill("input[name=display_name]", "高橋 誠").await;
    b.fill("input[name=password]", "音楽室の鍵は職員室").await;
    b.click_and_wait("main form button").await;
    assert!(b.url().await.ends_with("/clubs"), "{}", b.url().await);
    assert!(b.text().await.contains("マイクラブ"));

    // Create a club.
    b.goto(&format!("{}/clubs/new", app.base)).await;
    b.fill("input[name=name]", "桜ヶ丘高校 吹奏楽部").await;
    b.fill("textarea[name=description]", "月・水・金 16:00〜 音楽室")
        .await;
    b.click_and_wait("main form button").await;
    let club_url = b.url().await;
    assert!(b.text().await.contains("桜ヶ丘高校 吹奏楽部"));

    // Make an invitation link.
    b.goto(&format!("{club_url}/invitations")).await;
    b.click_and_wait("main form button").await;
    assert!(b.text().await.contains("招待リンクを作成しました"));
    assert_eq!(
        b.eval("!!document.querySelector('.qr svg')").await,
        true,
        "a QR code is shown"
    );
    let link = b
        .eval("document.getElementById('invite-url').value")
        .await
        .as_str()
        .unwrap()
        .to_owned();
    assert!(link.starts_with(&format!("{}/join/", app.base)), "{link}");
    b.screenshot(&shots().join("invitation.png")).await;

    // A second person opens the link in a fresh session, signs up and joins.
    b.clear_cookies().await;
    b.goto(&link).await;
    assert!(b.text().await.contains("桜ヶ丘高校 吹奏楽部"));
    b.click_and_wait("a[href^='/signup']").await;
    b.fill("input[name=email]", "tanaka.hina@example.jp").await;
    b.fill("input[name=display_name]", "田中 陽菜").await;
    b.fill("input[name=password]", "フルート大好き2026").await;
    b.click_and_wait("main form button").await;
    assert!(
        b.text().await.contains("クラブに参加しました"),
        "{}",
        b.text().await
    );

    // The officer logs back in and sees the new member on the roster.
    b.clear_cookies().await;
    b.goto(&format!("{}/login", app.base)).await;
    b.fill("input[name=email]", "komon@sakuragaoka.example.jp")
        .await;
    b.fill("input[name=password]", "音楽室の鍵は職員室").await;
    b.click_and_wait("main form button").await;
    b.goto(&format!("{club_url}/members")).await;
    let roster = b.text().await;
    assert!(
        roster.contains("田中 陽菜") && roster.contains("部員"),
        "{roster}"
    );
    assert!(
        roster.contains("tanaka.hina@example.jp"),
        "officers see e-mail addresses"
    );
    b.screenshot(&shots().join("roster.png")).await;

    // The English switch, from the same page.
    b.click_and_wait("form[action='/lang'] button").await;
    assert!(b.url().await.ends_with("/members"), "back on the same page");
    let roster = b.text().await;
    assert!(
        roster.contains("Members") && roster.contains("Member") && roster.contains("田中 陽菜"),
        "{roster}"
    );
    assert_eq!(b.eval("document.documentElement.lang").await, "en");
    b.screenshot(&shots().join("roster-en.png")).await;
    b.goto(&format!("{club_url}/roles")).await;
    assert!(b.text().await.contains("Change roles"));
    b.screenshot(&shots().join("roles-en.png")).await;
}
