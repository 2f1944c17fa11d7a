//! The `tekkan` binary and its configuration: defaults, file, variables, unknown keys,
//! secrets kept out of Debug output, first run, demo data, and the loopback rule.

use crate::support::pg::WithDatabase as _;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::json;
use tekkan_cli::config::{self, Config};

use crate::support::TestApp;

fn tekkan() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tekkan"));
    c.env_remove("TEKKAN_CONFIG");
    c
}

#[test]
fn default_config_output_is_exactly_the_defaults() {
    let out = tekkan().arg("default-config").output().unwrap();
    assert!(out.status.success());
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("tekkan.toml");
    std::fs::write(&f, &out.stdout).unwrap();
    assert_eq!(
        config::load(Some(&f), Vec::new()).unwrap(),
        Config::default()
    );
}

#[test]
fn file_then_variables_override_defaults_and_unknown_keys_fail() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("tekkan.toml");
    std::fs::write(&f, "data_dir = \"/srv/tekkan\"\n[server]\nlisten = \"127.0.0.1:9000\"\n[accounts]\nopen_signup = true\n").unwrap();
    let env = vec![
        (
            "TEKKAN_SERVER__LISTEN".to_owned(),
            "127.0.0.1:9100".to_owned(),
        ),
        ("PATH".to_owned(), "/bin".to_owned()),
    ];
    let c = config::load(Some(&f), env).unwrap();
    assert_eq!(c.data_dir.to_str(), Some("/srv/tekkan"), "from the file");
    assert_eq!(
        c.server.listen.port(),
        9100,
        "the variable wins over the file"
    );
    assert!(c.accounts.open_signup);
    assert_eq!(
        c.password.argon2_memory_kib, 19_456,
        "the default where neither says"
    );

    std::fs::write(&f, "[server]\nlisten_on = \"127.0.0.1:9000\"\n").unwrap();
    let e = config::load(Some(&f), Vec::new()).unwrap_err().to_string();
    assert!(e.contains("listen_on"), "{e}");
    let e = config::load(
        None,
        vec![("TEKKAN_SERVER__LISTN".to_owned(), "x".to_owned())],
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("listn"), "{e}");
    let e = config::load(Some(&dir.path().join("missing.toml")), Vec::new())
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing.toml"), "{e}");
}

#[test]
fn secrets_never_show_in_debug_output() {
    let key = "a1".repeat(32);
    let c = config::load(
        None,
        vec![("TEKKAN_KEYS__AUDIT_KEY".to_owned(), key.clone())],
    )
    .unwrap();
    assert_eq!(c.keys.audit_key.as_ref().unwrap().expose(), key);
    let dbg = format!("{c:?}");
    assert!(!dbg.contains(&key) && dbg.contains("redacted"), "{dbg}");
}

#[test]
fn plain_http_is_refused_off_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let out = tekkan()
        .args(["serve", "--listen", "0.0.0.0:0", "--data-dir"])
        .arg(dir.path())
        .db()
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("refusing to serve plain HTTP") && err.contains("tls"),
        "{err}"
    );
    assert!(
        !dir.path().join("tekkan.sqlite3").exists(),
        "nothing was created"
    );
}

/// Spawns `tekkan serve`, waits for the setup URL on stdout, and returns it.
pub(crate) fn spawn_serve(
    args: &[&str],
    envs: &[(&str, &str)],
) -> (std::process::Child, Vec<String>) {
    let mut child = tekkan()
        .args(args)
        .envs(envs.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .db()
        .spawn()
        .unwrap();
    let mut lines = Vec::new();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let mut l = String::new();
        if reader.read_line(&mut l).unwrap() == 0 {
            break;
        }
        let done = l.contains("(this link works once)");
        lines.push(l.trim().to_owned());
        if done {
            break;
        }
    }
    (child, lines)
}

/// A `tekkan serve` process on `dir` with open sign-up and no second factor (for tests
/// that kill processes): the child and the URL it serves on.
pub(crate) fn serve_process(
    dir: &std::path::Path,
    extra_envs: &[(&str, &str)],
) -> (std::process::Child, String) {
    let mut envs = vec![
        ("TEKKAN_ACCOUNTS__OPEN_SIGNUP", "true"),
        ("TEKKAN_ACCOUNTS__ENFORCE_MFA", "false"),
        ("TEKKAN_ACCOUNTS__CONFIRM_SIGNUP", "false"),
    ];
    envs.extend_from_slice(extra_envs);
    let d = dir.to_str().unwrap();
    let (child, lines) = spawn_serve(
        &["serve", "--listen", "127.0.0.1:0", "--data-dir", d],
        &envs,
    );
    let base = lines
        .iter()
        .find_map(|l| l.find("/setup?token=").map(|i| l[..i].to_owned()))
        .unwrap_or_else(|| panic!("{lines:?}"));
    (child, base[base.find("http").unwrap()..].to_owned())
}

/// Sends SIGTERM to a `tekkan serve` process and waits for it to end.
pub(crate) fn sigterm(child: &mut std::process::Child) -> std::process::ExitStatus {
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    child.wait().unwrap()
}

#[tokio::test]
async fn first_run_prints_a_setup_link_and_sigterm_shuts_down_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    tekkan_cli::install_crypto_provider();
    let (mut child, lines) =
        spawn_serve(&["serve", "--listen", "127.0.0.1:0", "--data-dir", d], &[]);
    let url = lines
        .iter()
        .find(|l| l.contains("/setup?token="))
        .unwrap_or_else(|| panic!("{lines:?}"))
        .clone();
    let page = reqwest::get(&url).await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(sigterm(&mut child).code(), Some(0), "graceful shutdown");

    // Behind a TLS proxy any address is allowed, and cookies become Secure.
    let (mut child, lines) = spawn_serve(
        &["serve", "--listen", "0.0.0.0:0", "--data-dir", d],
        &[("TEKKAN_SERVER__BEHIND_TLS_PROXY", "true")],
    );
    assert!(
        lines.iter().any(|l| l.contains("/setup?token=")),
        "{lines:?}"
    );
    sigterm(&mut child);
}

#[tokio::test]
async fn demo_data_is_a_school_club_with_guardians_and_random_passwords() {
    let dir = tempfile::tempdir().unwrap();
    let out = tekkan()
        .args(["demo", "--data-dir"])
        .arg(dir.path())
        .db()
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let line = text.lines().find(|l| l.contains("buchou@")).unwrap();
    let mut parts = line.split_whitespace();
    let (email, password) = (
        parts.next().unwrap().to_owned(),
        parts.next().unwrap().to_owned(),
    );
    let again = tekkan()
        .args(["demo", "--data-dir"])
        .arg(dir.path())
        .db()
        .output()
        .unwrap();
    assert!(!again.status.success(), "demo data is written once");
    let out2 = tekkan()
        .args(["migrate", "--data-dir"])
        .arg(dir.path())
        .db()
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out2.stdout).contains(&format!(
        "schema is at version {}",
        tekkan_storage::latest_version()
    )));

    let app = TestApp::builder().data_dir(dir).start().await;
    let mut c = app.client();
    let (s, v) = c
        .api(
            Method::POST,
            "/api/v1/session",
            Some(json!({"email": email, "password": password})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    c.bearer = Some(v["token"].as_str().unwrap().to_owned());
    let (_, clubs) = c.api(Method::GET, "/api/v1/clubs", None).await;
    let club = clubs[0]["club"]["id"].as_str().unwrap().to_owned();
    assert_eq!(clubs[0]["club"]["name"], "桜ヶ丘高校 吹奏楽部");
    let (_, members) = c
        .api(Method::GET, &format!("/api/v1/clubs/{club}/members"), None)
        .await;
    let members = members.as_array().unwrap();
    for role in [
        "owner",
        "officer",
        "treasurer",
        "coach",
        "member",
        "guardian",
    ] {
        assert!(members.iter().any(|m| m["role"] == role), "{role}");
    }
    assert!(
        members
            .iter()
            .any(|m| !m["guardian_of"].as_array().unwrap().is_empty())
    );
    let (_, groups) = c
        .api(
            Method::GET,
            &format!("/api/v1/clubs/{club}/subgroups"),
            None,
        )
        .await;
    let names: Vec<&str> = groups
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"1年") && names.contains(&"トランペット"),
        "{names:?}"
    );
    // The first run still asks for the operator, demo or not.
    assert!(app.running().setup_url.is_some());
}

#[tokio::test]
async fn serve_demo_seeds_only_an_empty_data_dir() {
    let app = TestApp::builder().demo().start().await;
    assert_eq!(app.running().demo_logins.len(), 16);
    let dir = app.stop().await;
    let app = TestApp::builder().data_dir(dir).demo().start().await;
    assert!(
        app.running().demo_logins.is_empty(),
        "existing data is left alone"
    );
}

#[test]
fn a_missing_audit_key_for_existing_data_is_an_error_not_a_new_key() {
    let dir = tempfile::tempdir().unwrap();
    assert!(
        tekkan()
            .args(["migrate", "--data-dir"])
            .arg(dir.path())
            .db()
            .output()
            .unwrap()
            .status
            .success()
    );
    let mut private = vec!["secrets/audit.key", "secrets/vapid.key"];
    // The database is a file of the data directory on SQLite runs only.
    if crate::support::pg::cluster().is_none() {
        private.push("tekkan.sqlite3");
    }
    for f in private {
        let meta = std::fs::metadata(dir.path().join(f)).unwrap();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777,
            0o600,
            "{f}"
        );
    }
    std::fs::remove_file(dir.path().join("secrets/audit.key")).unwrap();
    let out = tekkan()
        .args(["migrate", "--data-dir"])
        .arg(dir.path())
        .db()
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("audit.key is missing"));
}

/// Keys, session tokens and invitation tokens never reach the log, even at debug level.
#[tokio::test]
async fn secrets_and_link_tokens_stay_out_of_the_logs() {
    tekkan_cli::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let key = "c0ffee".repeat(10) + "abcd";
    let mut child = tekkan()
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .envs([
            ("TEKKAN_LOG__LEVEL", "debug"),
            ("TEKKAN_KEYS__CSRF_KEY", key.as_str()),
            ("TEKKAN_ACCOUNTS__OPEN_SIGNUP", "true"),
            // The owner below acts without enrolling a second factor.
            ("TEKKAN_ACCOUNTS__ENFORCE_MFA", "false"),
            // Signs up at once (no mail here; the confirmed way is tested in `signup`).
            ("TEKKAN_ACCOUNTS__CONFIRM_SIGNUP", "false"),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read the debug log while the server runs: a full pipe would stop the server.
    let mut err = child.stderr.take().unwrap();
    let logged = std::thread::spawn(move || {
        let mut log = String::new();
        std::io::Read::read_to_string(&mut err, &mut log).unwrap();
        log
    });
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut base = String::new();
    let mut line = String::new();
    while out.read_line(&mut line).unwrap() > 0 {
        if let Some(u) = line.strip_prefix("TEKKAN is running at ") {
            base = u.trim().to_owned();
            break;
        }
        line.clear();
    }
    let mut c = crate::support::Client::new(&base);
    let (s, v) = c.api(Method::POST, "/api/v1/accounts", Some(json!({"email": "log@example.jp", "display_name": "Log", "password": "a long enough passphrase"}))).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let session = v["token"].as_str().unwrap().to_owned();
    c.bearer = Some(session.clone());
    let club = c.create_club("ログ部").await;
    let (_, inv) = c
        .api(
            Method::POST,
            &format!("/api/v1/clubs/{club}/invitations"),
            Some(json!({"role": "member"})),
        )
        .await;
    let invite = inv["token"].as_str().unwrap().to_owned();
    c.get(&format!("/join/{invite}")).await;
    c.api(Method::GET, &format!("/api/v1/invitations/{invite}"), None)
        .await;
    sigterm(&mut child);
    let log = logged.join().unwrap();
    assert!(
        log.contains("served") && log.contains("redacted"),
        "the log has request lines: {log}"
    );
    for secret in [
        key.as_str(),
        session.as_str(),
        invite.as_str(),
        "a long enough passphrase",
    ] {
        assert!(!log.contains(secret), "{secret} leaked into the log");
    }
}

/// `tekkan demo --clubs N` writes generated clubs whose members have schedules and can
/// answer, through the real server, and the audit chain still verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_clubs_have_schedules_and_answerable_practice() {
    let dir = tempfile::tempdir().unwrap();
    let sessions = dir.path().join("sessions.tsv");
    let out = tekkan()
        .args(["demo", "--clubs", "3", "--sessions", "6", "--data-dir"])
        .arg(dir.path())
        .arg("--sessions-file")
        .arg(&sessions)
        .db()
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(said.starts_with("3 clubs, 90 members"), "{said}");
    let meta = std::fs::metadata(&sessions).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777,
        0o600
    );
    let lines: Vec<Vec<String>> = std::fs::read_to_string(&sessions)
        .unwrap()
        .lines()
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect();
    assert_eq!(lines.len(), 6);
    let data = tempfile::TempDir::new().unwrap();
    std::fs::remove_dir(data.path()).unwrap();
    std::fs::rename(dir.path(), data.path()).unwrap();
    // With two-step verification enforced, as by default: the sessions are members'.
    let app = TestApp::builder()
        .configure(|c| c.accounts.enforce_mfa = true)
        .data_dir(data)
        .start()
        .await;
    for l in &lines {
        let mut c = app.client();
        c.bearer = Some(l[0].clone());
        let (s, v) = c
            .api(reqwest::Method::GET, "/api/v1/me/schedule", None)
            .await;
        assert_eq!(s, reqwest::StatusCode::OK);
        assert!(
            v.as_array().unwrap().len() >= 10,
            "four weeks of practice: {v}"
        );
        let (s, v) = c
            .api(
                reqwest::Method::PUT,
                &format!(
                    "/api/v1/clubs/{}/occurrences/{}/answers/{}",
                    l[1], l[3], l[2]
                ),
                Some(serde_json::json!({"status": "no", "comment": "遅刻します"})),
            )
            .await;
        assert_eq!(s, reqwest::StatusCode::OK, "{v}");
        let mut b = c.as_browser();
        let page = b.get("/schedule").await;
        assert_eq!(page.status, reqwest::StatusCode::OK);
        assert!(page.body.contains("通常練習"));
    }
    let dir = app.stop().await;
    let out = tekkan()
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

/// With `[log] format = "json"` every line on stderr is one JSON object, and a request's
/// line carries the same id as its `x-request-id` header, so a collector can find the
/// request a user quotes.
#[tokio::test]
async fn json_logs_are_one_object_per_line_with_the_request_id() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    tekkan_cli::install_crypto_provider();
    let mut child = tekkan()
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir", d])
        .env("TEKKAN_LOG__FORMAT", "json")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .db()
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut url = String::new();
    while !url.contains("/setup?token=") {
        url.clear();
        assert!(reader.read_line(&mut url).unwrap() > 0, "no setup link");
    }
    let url = url.trim();
    let url = &url[url.find("http").unwrap()..];
    let page = reqwest::get(url).await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let rid = page.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(sigterm(&mut child).code(), Some(0));
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let lines: Vec<serde_json::Value> = err
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(lines.len() >= 3, "{err}");
    for l in &lines {
        assert!(l["timestamp"].is_string() && l["level"].is_string(), "{l}");
    }
    let served = lines
        .iter()
        .find(|l| l["message"] == "served" && l["span"]["id"] == rid.as_str())
        .unwrap_or_else(|| panic!("no line for request {rid}: {err}"));
    assert_eq!(served["status"], 200);
    assert_eq!(served["span"]["path"], "/setup");
    assert_eq!(served["span"]["method"], "GET");
    // The setup token is in the query, never in a log line.
    let token = &url[url.find("token=").unwrap() + 6..];
    assert!(!err.contains(token), "the setup token was logged");
}
