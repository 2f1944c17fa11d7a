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
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(rustls_pki_types::CertificateDer::from(
                ck.cert.der().to_vec(),
            ))
            .unwrap();
        let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_protocol_versions(version)
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
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
    // A plain-HTTP request to the TLS port gets nothing served.
    let plain = reqwest::get(app.base.replace("https://", "http://") + "/healthz").await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());
}
