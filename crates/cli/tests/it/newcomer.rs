//! A newcomer's first hour: the links the server prints work for passkeys (they name
//! `localhost`, not an address browsers refuse as a relying party), and `--demo` on a
//! data directory that already holds data says why it seeded nothing.

use crate::support::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn printed_links_name_localhost_and_a_skipped_demo_says_why() {
    let app = TestApp::start().await;
    let r = app.running();
    assert!(
        r.base_url.starts_with("http://localhost:"),
        "{}",
        r.base_url
    );
    let setup = r.setup_url.clone().unwrap();
    assert!(setup.starts_with("http://localhost:"), "{setup}");
    assert!(r.demo_skipped.is_none());
    // The link opens (localhost reaches the loopback listener).
    let res = reqwest::get(&setup).await.unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::OK);

    let dir = app.stop().await;
    let app = TestApp::builder().demo().data_dir(dir).start().await;
    let r = app.running();
    assert!(r.demo_logins.is_empty());
    let why = r.demo_skipped.as_deref().expect("a reason");
    assert!(why.contains("already holds data"), "{why}");
}
