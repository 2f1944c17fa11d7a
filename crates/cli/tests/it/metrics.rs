//! `/metrics` through the Prometheus client: requests by route pattern (never by raw
//! path), log-in outcomes, disk space and health, in a format Prometheus's own checker
//! accepts; and the alerting rules in `docs/operations/alerts.yml`, which must pass
//! their promtool unit tests and name only series the server really serves.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use reqwest::{Method, StatusCode};

use crate::support::{TestApp, unique};

/// The value of the sample whose name and labels are exactly `series`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| {
        l.strip_prefix(series)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

/// The metric families the server describes (`# TYPE name kind`).
fn families(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.strip_prefix("# TYPE ")?.split(' ');
            let (name, kind) = (it.next()?, it.next()?);
            kind.is_empty().then(String::new).or(Some(name.to_owned()))
        })
        .collect()
}

fn promtool(args: &[&str], dir: &Path, stdin: Option<&str>) -> (bool, String) {
    use std::io::Write;
    let mut child = Command::new("promtool")
        .args(args)
        .current_dir(dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool (Debian's prometheus package; scripts/install-test-deps installs it)");
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test]
async fn metrics_count_routes_logins_and_disk_in_a_format_prometheus_reads() {
    let app = TestApp::builder().open_signup(true).start().await;
    let mut member = app.sign_up("計測", None).await;
    let club = member.create_club("計測部").await;
    // Counters are per process and other tests run beside this one: compare with what
    // was there before, never with absolute numbers.
    let before = app
        .client()
        .raw(Method::GET, "/metrics", &[], Vec::new())
        .await
        .body;
    let refused_before = sample(&before, "tekkan_logins_total{outcome=\"refused\"}").unwrap_or(0.0);
    let session_before = sample(&before, "tekkan_logins_total{outcome=\"session\"}").unwrap_or(0.0);
    let club_404 =
        "tekkan_http_requests_total{method=\"GET\",route=\"/api/v1/clubs/{club}\",code=\"404\"}";
    let club_404_before = sample(&before, club_404).unwrap_or(0.0);

    let (s, _) = member
        .api(Method::GET, &format!("/api/v1/clubs/{club}"), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    // Another club's id (one that does not exist): a 404 counted under the route's
    // pattern; the id itself must never become a label.
    let stranger = unique("nosuchclub");
    let (s, _) = member
        .api(Method::GET, &format!("/api/v1/clubs/{stranger}"), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Three refusals, for three addresses (one account's run of failures would be
    // slowed down after the second).
    for _ in 0..3 {
        let email = format!("{}@example.jp", unique("nobody"));
        let (s, _) = app.log_in(&email, "not the passphrase").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    let (s, v) = app.log_in(&member.email, "a long enough passphrase").await;
    assert!(s.is_success(), "{v}");

    let page = app
        .client()
        .raw(Method::GET, "/metrics", &[], Vec::new())
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let text = page.body;
    assert!(
        sample(&text, "tekkan_logins_total{outcome=\"refused\"}").unwrap() >= refused_before + 3.0,
        "{text}"
    );
    assert!(
        sample(&text, "tekkan_logins_total{outcome=\"session\"}").unwrap() >= session_before + 1.0,
        "{text}"
    );
    assert!(
        sample(&text, club_404).unwrap() >= club_404_before + 1.0,
        "{text}"
    );
    assert!(
        sample(
            &text,
            "tekkan_http_requests_total{method=\"GET\",route=\"/api/v1/clubs/{club}\",code=\"200\"}"
        )
        .unwrap()
            >= 1.0,
        "{text}"
    );
    assert!(!text.contains(&stranger), "a raw path became a label");
    assert!(!text.contains(&club), "a club id became a label");
    assert!(
        text.contains("tekkan_http_request_duration_seconds_bucket{kind=\"read\",le=\"+Inf\"}"),
        "{text}"
    );
    // The command line samples the data directory's disk at start.
    let free = sample(&text, "tekkan_disk_free_bytes").unwrap();
    let size = sample(&text, "tekkan_disk_size_bytes").unwrap();
    assert!(free > 0.0 && size >= free, "{free} of {size}");

    // Prometheus's own checker reads it without a complaint.
    let (ok, out) = promtool(&["check", "metrics"], Path::new("."), Some(&text));
    assert!(ok, "{out}");
    assert!(out.trim().is_empty(), "promtool lint: {out}");

    // Through a proxy (a forwarded request), or from another machine, it is not there.
    let proxied = app
        .client()
        .raw(
            Method::GET,
            "/metrics",
            &[("x-forwarded-for", "203.0.113.9")],
            Vec::new(),
        )
        .await;
    assert_eq!(proxied.status, StatusCode::NOT_FOUND);
    app.stop().await;
}

#[tokio::test]
async fn the_alerting_rules_pass_their_tests_and_name_only_served_series() {
    let ops = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/operations");
    let (ok, out) = promtool(&["check", "rules", "alerts.yml"], &ops, None);
    assert!(ok, "{out}");
    let (ok, out) = promtool(&["test", "rules", "alerts.test.yml"], &ops, None);
    assert!(ok, "{out}");

    // Every tekkan_ series a rule reads is one the server describes: a renamed metric
    // would otherwise leave an alert that can never fire. The server backs up to a
    // folder, so that the backup series are there too.
    let root = tempfile::tempdir().unwrap();
    let identity = root.path().join("op.age");
    let (ok, out) =
        crate::support::tekkan(["backup", "keygen", "--out", identity.to_str().unwrap()]);
    assert!(ok, "{out}");
    let recipient = out.lines().last().unwrap().trim().to_owned();
    std::fs::create_dir_all(root.path().join("backups")).unwrap();
    let text = format!(
        "[backup]\nrecipients = [\"{recipient}\"]\n{}",
        crate::backup::dir_dest("here", &root.path().join("backups"))
    );
    let dests: tekkan_cli::config::Config = toml::from_str(&text).unwrap();
    let app = TestApp::builder()
        .configure(|c| c.backup = dests.backup.clone())
        .start()
        .await;
    let mut text = String::new();
    for _ in 0..300 {
        text = app
            .client()
            .raw(Method::GET, "/metrics", &[], Vec::new())
            .await
            .body;
        // Per process: other tests' backups count too, so wait for this one's.
        if text.contains("tekkan_backup_stored_total{destination=\"here\"} 1") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        sample(&text, "tekkan_backup_stored_total{destination=\"here\"}").unwrap() >= 1.0,
        "{text}"
    );
    assert_eq!(
        sample(&text, "tekkan_backup_failures_total{destination=\"here\"}"),
        Some(0.0),
        "{text}"
    );
    assert_eq!(sample(&text, "tekkan_backup_configured"), Some(1.0));
    let age = sample(&text, "tekkan_backup_age_seconds").unwrap();
    assert!((0.0..60.0).contains(&age), "{age}");
    let served = families(&text);
    let rules = std::fs::read_to_string(ops.join("alerts.yml")).unwrap();
    let mut named = BTreeSet::new();
    for (i, _) in rules.match_indices("tekkan_") {
        let name: String = rules[i..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        named.insert(name);
    }
    assert!(named.len() >= 8, "{named:?}");
    let missing: Vec<_> = named.difference(&served).collect();
    assert!(
        missing.is_empty(),
        "{missing:?} not served; served: {served:?}"
    );
    // And every alert links a runbook section that exists.
    let runbook =
        std::fs::read_to_string(ops.join("incident-response.md")).expect("the runbook exists");
    for (i, _) in rules.match_indices("incident-response.md#") {
        let anchor: String = rules[i + 21..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        assert!(
            runbook.contains(&format!("<a id=\"{anchor}\"></a>")),
            "no runbook section {anchor}"
        );
    }
    app.stop().await;
}
