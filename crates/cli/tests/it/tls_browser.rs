//! The path users take in production: HTTPS with HTTP/2. A client that offers `h2`
//! gets pages over HTTP/2 (and one that offers only HTTP/1.1 still gets them), and
//! headless Chromium, trusting only the test certificate, signs up and logs in.

use reqwest::{StatusCode, Version};

use crate::support::cdp::Browser;
use crate::tls::{client_trusting, start_tls};

fn client(cert: &[u8], alpn: &[&[u8]]) -> reqwest::Client {
    client_trusting(cert, rustls::DEFAULT_VERSIONS, alpn)
}

#[tokio::test]
async fn clients_offering_h2_get_http2_and_http1_clients_still_work() {
    let t = start_tls().await;
    let h2 = client(&t.cert_der, &[b"h2", b"http/1.1"]);
    for path in ["/login", "/healthz", "/static/app.css"] {
        let res = h2
            .get(format!("{}{path}", t.app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert_eq!(res.version(), Version::HTTP_2, "{path}");
        assert!(!res.text().await.unwrap().is_empty());
    }
    // Several requests in flight at once on one HTTP/2 connection.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (c, url) = (h2.clone(), format!("{}/login", t.app.base));
        tasks.push(tokio::spawn(async move { c.get(url).send().await }));
    }
    for task in tasks {
        let res = task.await.unwrap().unwrap();
        assert_eq!(
            (res.status(), res.version()),
            (StatusCode::OK, Version::HTTP_2)
        );
    }
    // A JSON write over HTTP/2.
    let body = serde_json::json!({"email": "h2@example.jp", "display_name": "H2", "password": "a long enough passphrase"});
    let res = h2
        .post(format!("{}/api/v1/accounts", t.app.base))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(res.version(), Version::HTTP_2);

    let h1 = client(&t.cert_der, &[b"http/1.1"]);
    let res = h1
        .get(format!("{}/login", t.app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        (res.status(), res.version()),
        (StatusCode::OK, Version::HTTP_11)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_signs_up_and_logs_in_over_https_with_http2() {
    let t = start_tls().await;
    // The browser trusts this one certificate's key, nothing else.
    let mut b = Browser::launch_with(&[format!(
        "--ignore-certificate-errors-spki-list={}",
        t.spki_sha256
    )])
    .await;
    let base = t.app.base.clone();
    assert!(base.starts_with("https://"), "{base}");

    b.goto(&format!("{base}/signup")).await;
    b.fill("input[name=email]", "https.user@example.jp").await;
    b.fill("input[name=display_name]", "安全 太郎").await;
    b.fill("input[name=password]", "ブラウザからの登録です")
        .await;
    b.click_and_wait("main form button").await;
    assert!(b.url().await.ends_with("/clubs"), "{}", b.url().await);
    let proto = b
        .eval("performance.getEntriesByType('navigation')[0].nextHopProtocol")
        .await;
    assert_eq!(proto, "h2", "the page came over HTTP/2");

    // Log out, then log in again through the form.
    b.clear_cookies().await;
    b.goto(&format!("{base}/login")).await;
    b.fill("input[name=email]", "https.user@example.jp").await;
    b.fill("input[name=password]", "ブラウザからの登録です")
        .await;
    b.click_and_wait("main form button").await;
    assert!(b.url().await.ends_with("/clubs"), "{}", b.url().await);
    assert!(b.text().await.contains("マイクラブ"));
    let proto = b
        .eval("performance.getEntriesByType('navigation')[0].nextHopProtocol")
        .await;
    assert_eq!(proto, "h2");
    // The stylesheet came over the same protocol, so the page is styled.
    let css = b
        .eval(
            "performance.getEntriesByType('resource').filter(e => e.name.endsWith('.css')).map(e => e.nextHopProtocol).join()",
        )
        .await;
    assert!(css.as_str().unwrap().contains("h2"), "{css}");
}
