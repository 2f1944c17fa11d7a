//! HTTPS with rustls: TLS 1.2 and 1.3, HSTS, and `__Host-` Secure cookies; TLS 1.0 and
//! 1.1 refused when a real client (OpenSSL) offers them; certificates reloaded live.

use base64::Engine;
use reqwest::StatusCode;
use sha2::{Digest, Sha256};

use crate::support::TestApp;

/// A server on TLS with a fresh self-signed certificate for `localhost` and 127.0.0.1.
pub struct TlsApp {
    pub app: TestApp,
    pub cert_der: Vec<u8>,
    /// The base64 SHA-256 of the key's SubjectPublicKeyInfo, as Chromium's
    /// `--ignore-certificate-errors-spki-list` takes it.
    pub spki_sha256: String,
    _dir: tempfile::TempDir,
}

pub async fn start_tls() -> TlsApp {
    let dir = tempfile::tempdir().unwrap();
    let ck =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.signing_key.serialize_pem()).unwrap();
    let app = TestApp::builder()
        .configure(move |c| {
            c.tls.cert_file = Some(cert);
            c.tls.key_file = Some(key);
        })
        .start()
        .await;
    let spki = Sha256::digest(rcgen::PublicKeyData::subject_public_key_info(
        &ck.signing_key,
    ));
    TlsApp {
        app,
        cert_der: ck.cert.der().to_vec(),
        spki_sha256: base64::engine::general_purpose::STANDARD.encode(spki),
        _dir: dir,
    }
}

#[tokio::test]
async fn tls_serves_hsts_and_secure_host_cookies() {
    let t = start_tls().await;
    let app = &t.app;
    assert!(app.base.starts_with("https://localhost:"), "{}", app.base);
    static VERSIONS: [&rustls::SupportedProtocolVersion; 2] =
        [&rustls::version::TLS12, &rustls::version::TLS13];
    for version in VERSIONS.chunks(1) {
        let client = client_trusting(&t.cert_der, version, &[]);
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
    let client = client_trusting(&t.cert_der, rustls::DEFAULT_VERSIONS, &[]);
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

/// An HTTPS client that trusts only `cert`, speaks only `versions`, and offers `alpn`
/// (none: HTTP/1.1 without asking).
pub fn client_trusting(
    cert: &[u8],
    versions: &[&'static rustls::SupportedProtocolVersion],
    alpn: &[&[u8]],
) -> reqwest::Client {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls_pki_types::CertificateDer::from(cert.to_vec()))
        .unwrap();
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    tls.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Runs `openssl s_client` against `addr` with one protocol flag and returns its output.
/// Security level 0 lets OpenSSL 3 actually offer TLS 1.0 and 1.1, as an old client would.
fn s_client(addr: std::net::SocketAddr, flag: &str) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            &addr.to_string(),
            flag,
            "-msg",
            "-showcerts",
        ])
        .args(["-cipher", "DEFAULT@SECLEVEL=0", "-servername", "localhost"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("openssl is installed by scripts/install-test-deps");
    child.stdin.take().unwrap().write_all(b"").unwrap();
    let out = child.wait_with_output().unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn write_cert(
    dir: &std::path::Path,
    names: &[&str],
) -> (std::path::PathBuf, std::path::PathBuf, String) {
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let ck = rcgen::generate_simple_self_signed(names).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    // Write-then-rename, as certificate tools do, so the server never sees half a file.
    std::fs::write(dir.join("cert.tmp"), ck.cert.pem()).unwrap();
    std::fs::write(dir.join("key.tmp"), ck.signing_key.serialize_pem()).unwrap();
    std::fs::rename(dir.join("key.tmp"), &key).unwrap();
    std::fs::rename(dir.join("cert.tmp"), &cert).unwrap();
    (cert, key, ck.cert.pem())
}

/// The first certificate a server presented, whitespace removed.
fn presented(out: &str) -> String {
    let start = out
        .find("-----BEGIN CERTIFICATE-----")
        .expect("a certificate");
    let end = out[start..].find("-----END CERTIFICATE-----").unwrap() + start;
    out[start..end].split_whitespace().collect()
}

fn strip(pem: &str) -> String {
    let end = pem.find("-----END CERTIFICATE-----").unwrap();
    pem[..end].split_whitespace().collect()
}

#[tokio::test]
async fn old_tls_versions_are_refused_and_certificates_reload_live() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, first) = write_cert(dir.path(), &["localhost", "127.0.0.1"]);
    let app = TestApp::builder()
        .configure(move |c| {
            c.tls.cert_file = Some(cert);
            c.tls.key_file = Some(key);
            c.tls.reload_secs = 1;
        })
        .start()
        .await;
    let addr = app.running().addr;
    for (flag, name) in [("-tls1", "TLS 1.0"), ("-tls1_1", "TLS 1.1")] {
        let out = tokio::task::spawn_blocking(move || s_client(addr, flag))
            .await
            .unwrap();
        // The old client really offered the old version, and the server refused it with
        // a fatal alert before any cipher was agreed.
        assert!(
            out.contains(&format!(">>> {name}, Handshake")) && out.contains("ClientHello"),
            "{out}"
        );
        assert!(out.contains("fatal"), "{out}");
        assert!(out.contains("Cipher is (NONE)"), "{out}");
        assert!(!out.contains("BEGIN CERTIFICATE"), "{out}");
    }
    for (flag, proto) in [("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")] {
        let out = tokio::task::spawn_blocking(move || s_client(addr, flag))
            .await
            .unwrap();
        assert!(out.contains(&format!("New, {proto}, Cipher is ")), "{out}");
        assert_eq!(presented(&out), strip(&first));
    }

    // A broken renewal keeps the old certificate in service.
    std::fs::write(
        dir.path().join("cert.pem"),
        "-----BEGIN CERTIFICATE-----\nAAAA\n",
    )
    .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let out = tokio::task::spawn_blocking(move || s_client(addr, "-tls1_3"))
        .await
        .unwrap();
    assert_eq!(presented(&out), strip(&first), "the old certificate stays");

    // A good renewal is served without a restart.
    let (_, _, second) = write_cert(
        dir.path(),
        &["localhost", "127.0.0.1", "renewed.example.jp"],
    );
    assert_ne!(strip(&first), strip(&second));
    let mut served = String::new();
    for _ in 0..40 {
        let out = tokio::task::spawn_blocking(move || s_client(addr, "-tls1_3"))
            .await
            .unwrap();
        served = presented(&out);
        if served == strip(&second) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert_eq!(served, strip(&second), "the renewed certificate is served");
    // And a request over the same server still works.
    let res = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap()
        .get(format!("{}/healthz", app.base))
        .send()
        .await;
    assert!(res.is_ok());
}
