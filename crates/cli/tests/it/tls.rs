//! HTTPS with rustls: TLS 1.2 and 1.3, HSTS, and `__Host-` Secure cookies.

use reqwest::StatusCode;

use crate::support::TestApp;

#[tokio::test]
async fn tls_serves_hsts_and_secure_host_cookies() {
    let dir = tempfile::tempdir().unwrap();
    let ck =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.signing_key.serialize_pem()).unwrap();
    let (c2, k2) = (cert.clone(), key.clone());
    let app = TestApp::builder()
        .configure(move |c| {
            c.tls.cert_file = Some(c2);
            c.tls.key_file = Some(k2);
        })
        .start()
        .await;
    assert!(app.base.starts_with("https://127.0.0.1:"), "{}", app.base);
    static VERSIONS: [&rustls::SupportedProtocolVersion; 2] =
        [&rustls::version::TLS12, &rustls::version::TLS13];
    for version in VERSIONS.chunks(1) {
        let client = client_trusting(ck.cert.der(), version);
        let res = client
            .get(format!("{}/login", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let hsts = res.headers()["strict-transport-security"]
            .to_str()
            .unwrap()
            .to_owned();
        let age: u64 = hsts
            .split("max-age=")
            .nth(1)
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(age >= 31_536_000, "{hsts}");
        let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(
            cookie.starts_with("__Host-tekkan_anon=")
                && cookie.contains("; Secure")
                && cookie.contains("Path=/"),
            "{cookie}"
        );
    }
    // A login over TLS sets the session cookie with the `__Host-` prefix, Secure and
    // HttpOnly.
    let client = client_trusting(ck.cert.der(), rustls::DEFAULT_VERSIONS);
    let body = serde_json::json!({"email": "tls@example.jp", "display_name": "TLS", "password": "a long enough passphrase"});
    let res = client
        .post(format!("{}/api/v1/accounts", app.base))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let login = client
        .get(format!("{}/login", app.base))
        .send()
        .await
        .unwrap();
    let anon = login.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let page = login.text().await.unwrap();
    let i = page.find("name=\"_csrf\" value=\"").unwrap() + 20;
    let csrf = &page[i..i + page[i..].find('"').unwrap()];
    let form = format!(
        "_csrf={csrf}&email=tls%40example.jp&password=a+long+enough+passphrase&next=%2Fclubs"
    );
    let res = client
        .post(format!("{}/login", app.base))
        .header("cookie", anon)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let session = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("__Host-tekkan_session="))
        .expect("a __Host- session cookie");
    for attr in ["; Secure", "; HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(session.contains(attr), "{session}");
    }
    assert!(!session.contains("Domain="), "{session}");

    // A plain-HTTP request to the TLS port gets nothing served.
    let plain = reqwest::get(app.base.replace("https://", "http://") + "/healthz").await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());
}

/// An HTTPS client that trusts only `cert` and speaks only `versions`.
fn client_trusting(
    cert: &[u8],
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> reqwest::Client {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls_pki_types::CertificateDer::from(cert.to_vec()))
        .unwrap();
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}
