//! Incidents: opened, updated, published and resolved by the operator, each step
//! audited; a published incident shown as a banner on pages and in API headers to the
//! people it concerns only, told to them in-app (guardians included), and listed on the
//! public status page (HTML, Atom, JSON) without its internal steps; the status page
//! works in read-only mode and exports as static files; the command line does the same.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::fixture::{Fixture, Who};
use crate::support::{Client, tekkan_on};

async fn step(op: &mut Client, id: &str, body: Value) -> (StatusCode, Value) {
    op.api(
        Method::POST,
        &format!("/api/v1/admin/incidents/{id}/updates"),
        Some(body),
    )
    .await
}

async fn incident_notices(c: &Client) -> usize {
    let (s, v) = c
        .clone()
        .api(Method::GET, "/api/v1/me/notifications", None)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "security" && n["params"]["what"] == "incident")
        .count()
}

fn well_formed_xml(text: &str) {
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys, xml.dom.minidom; xml.dom.minidom.parseString(sys.stdin.buffer.read())",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(text.as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn a_published_incident_reaches_its_clubs_people_and_the_status_page() {
    let fx = Fixture::new().await;
    let mut op = fx.client(Who::Operator);
    let member = fx.client(Who::Member);
    let guardian = fx.client(Who::Guardian);
    let outsider = fx.outsider.clone();

    // Opened, not yet published: nobody but the operator knows.
    let (s, v) = op
        .api(
            Method::POST,
            "/api/v1/admin/incidents",
            Some(json!({
                "category": "unauthorized_access",
                "title": "不正ログインの疑い",
                "title_en": "Suspected account takeover",
                "clubs": [fx.a.id],
                "message": "一部のアカウントへの不審なログインを調査しています。",
                "message_en": "We are investigating suspicious sign-ins to some accounts."
            })),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_str().unwrap().to_owned();
    let page = member
        .clone()
        .raw(
            Method::GET,
            "/api/v1/me",
            &[(
                "authorization",
                &format!("Bearer {}", member.bearer.clone().unwrap()),
            )],
            Vec::new(),
        )
        .await;
    assert!(!page.headers.contains_key("tekkan-incident"));
    let (_, status) = fx.app.client().api(Method::GET, "/status.json", None).await;
    assert_eq!(status["incidents"], json!([]), "{status}");

    // An internal step (what was done), then published.
    let (s, v) = step(
        &mut op,
        &id,
        json!({"actions": "該当IP帯を遮断し、セッションを終了", "internal": true}),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let (s, v) = step(
        &mut op,
        &id,
        json!({"state": "identified", "publish": true,
               "message": "原因を特定し、対策を進めています。",
               "message_en": "The cause is identified; we are fixing it."}),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");

    // Club A's people see it: a header on every API answer, a banner on every page.
    let bearer = format!("Bearer {}", member.bearer.clone().unwrap());
    let page = member
        .clone()
        .raw(
            Method::GET,
            "/api/v1/me",
            &[("authorization", &bearer)],
            Vec::new(),
        )
        .await;
    let header = page.headers["tekkan-incident"].to_str().unwrap().to_owned();
    assert!(
        header.starts_with(&id) && header.contains("state=identified"),
        "{header}"
    );
    let html = member.as_browser().get("/clubs").await.body;
    assert!(html.contains("id=\"incident-banner\""), "{html}");
    assert!(
        html.contains("不正ログインの疑い") && html.contains("原因を特定"),
        "{html}"
    );
    // Club B's member and someone signed out do not: it is not theirs.
    let html = outsider.as_browser().get("/clubs").await.body;
    assert!(!html.contains("incident-banner"));
    let html = fx.app.client().get("/login").await.body;
    assert!(!html.contains("incident-banner"));
    // Told in-app (and by push and e-mail where set up), guardians included.
    assert_eq!(incident_notices(&member).await, 1);
    assert_eq!(incident_notices(&guardian).await, 1);
    assert_eq!(incident_notices(&outsider).await, 0);

    // The status page: public steps only, no clubs named, in every format.
    let (s, status) = fx.app.client().api(Method::GET, "/status.json", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(status["open"], 1, "{status}");
    let text = status.to_string();
    assert!(
        text.contains("原因を特定し、対策を進めています。"),
        "{text}"
    );
    assert!(
        !text.contains("該当IP帯"),
        "an internal step leaked: {text}"
    );
    assert!(!text.contains(&fx.a.id), "a club was named: {text}");
    let html = fx.app.client().get("/status").await.body;
    assert!(
        html.contains("不正ログインの疑い") && !html.contains("該当IP帯"),
        "{html}"
    );
    let atom = fx.app.client().get("/status.atom").await;
    assert_eq!(
        atom.headers["content-type"],
        "application/atom+xml; charset=utf-8"
    );
    well_formed_xml(&atom.body);
    assert!(
        atom.body.contains(&format!("/status#{id}</id>")),
        "{}",
        atom.body
    );
    // The operator sees every step, actions included.
    let (_, all) = op.api(Method::GET, "/api/v1/admin/incidents", None).await;
    assert!(all.to_string().contains("該当IP帯を遮断"), "{all}");
    assert_eq!(all[0]["updates"].as_array().unwrap().len(), 3);

    // In read-only mode the status page still answers.
    let (s, _) = op
        .api(
            Method::PUT,
            "/api/v1/admin/containment/read_only",
            Some(json!({"on": true, "reason": "調査"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(fx.app.client().get("/status").await.status, StatusCode::OK);
    let (s, _) = step(
        &mut op,
        &id,
        json!({"state": "monitoring", "message": "監視中"}),
    )
    .await;
    assert_eq!(
        s,
        StatusCode::NO_CONTENT,
        "the operator's tools work in read-only mode"
    );

    // States go forward only; resolving needs a cause and a prevention.
    let (s, v) = step(&mut op, &id, json!({"state": "investigating"})).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let (s, v) = step(&mut op, &id, json!({"state": "resolved"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, v) = step(
        &mut op,
        &id,
        json!({"state": "resolved", "cause": "使い回されたパスワード",
               "prevention": "役員に二段階認証を必須化", "message": "解決しました"}),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let html = member.as_browser().get("/clubs").await.body;
    assert!(!html.contains("incident-banner"), "resolved: no banner");
    let (_, status) = fx.app.client().api(Method::GET, "/status.json", None).await;
    assert_eq!(status["open"], 0);
    assert_eq!(status["incidents"][0]["cause"], "使い回されたパスワード");
    // Told again when resolved.
    assert_eq!(incident_notices(&member).await, 2);
    let (s, _) = step(&mut op, &id, json!({"message": "追記"})).await;
    assert_eq!(
        s,
        StatusCode::CONFLICT,
        "a resolved incident takes no more steps"
    );
    // Every step is in the audit log.
    for (action, n) in [
        ("incident.opened", 1),
        ("incident.updated", 1),
        ("incident.published", 1),
        ("incident.state_changed", 2),
        ("incident.resolved", 1),
    ] {
        assert_eq!(fx.app.audit_count(action).await, n, "{action}");
    }
    // Only the operator.
    for who in [Who::Owner, Who::Officer, Who::Member] {
        let (s, _) = fx
            .client(who)
            .api(Method::GET, "/api/v1/admin/incidents", None)
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
    }
    fx.app.stop().await;
}

#[tokio::test]
async fn the_command_line_opens_a_service_wide_incident_and_exports_the_status_page() {
    let fx = Fixture::new().await;
    let dir = fx.app.data_dir();
    let (ok, out) = tekkan_on(
        &[
            "incident",
            "open",
            "--category",
            "outage",
            "--title",
            "サービス停止",
            "--title-en",
            "Service outage",
            "--aware-at",
            "2026-12-07T01:00:00Z",
            "--message",
            "復旧作業中です。",
            "--publish",
        ],
        &dir,
    );
    assert!(ok, "{out}");
    // The id is the one line of stdout (logs go to stderr, mixed in here).
    let id = out
        .lines()
        .map(str::trim)
        .find(|l| l.len() == 32 && l.bytes().all(|b| b.is_ascii_hexdigit()))
        .unwrap_or_else(|| panic!("{out}"))
        .to_owned();
    // The server (another process) shows the banner within seconds, to everyone.
    let started = Instant::now();
    loop {
        let html = fx.app.client().get("/login").await.body;
        if html.contains("incident-banner") {
            assert!(html.contains("サービス停止"));
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "no banner: {html}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let outsider = fx.outsider.clone();
    let bearer = format!("Bearer {}", outsider.bearer.clone().unwrap());
    let page = outsider
        .clone()
        .raw(
            Method::GET,
            "/api/v1/me",
            &[("authorization", &bearer)],
            Vec::new(),
        )
        .await;
    assert!(page.headers.contains_key("tekkan-incident"));
    assert_eq!(incident_notices(&outsider).await, 1, "everyone is told");

    let out_dir = tempfile::tempdir().unwrap();
    let (ok, out) = tekkan_on(
        &[
            "incident",
            "export-status",
            "--out",
            out_dir.path().to_str().unwrap(),
        ],
        &dir,
    );
    assert!(ok, "{out}");
    let index = std::fs::read_to_string(out_dir.path().join("index.html")).unwrap();
    assert!(
        index.contains("サービス停止") && index.contains("href=\"app.css\""),
        "{index}"
    );
    let en = std::fs::read_to_string(out_dir.path().join("en.html")).unwrap();
    assert!(en.contains("Service outage"), "{en}");
    let json: Value =
        serde_json::from_slice(&std::fs::read(out_dir.path().join("status.json")).unwrap())
            .unwrap();
    assert_eq!(json["incidents"][0]["id"], id.as_str());
    assert_eq!(
        json["incidents"][0]["aware_at"], 1_796_605_200_000_i64,
        "{json}"
    );
    well_formed_xml(&std::fs::read_to_string(out_dir.path().join("status.atom")).unwrap());
    assert!(out_dir.path().join("app.css").exists());

    let (ok, out) = tekkan_on(
        &[
            "incident",
            "resolve",
            &id,
            "--cause",
            "ディスク故障",
            "--prevention",
            "監視を追加",
        ],
        &dir,
    );
    assert!(ok, "{out}");
    let (ok, out) = tekkan_on(&["incident", "list"], &dir);
    assert!(ok, "{out}");
    assert!(
        out.contains("\"state\": \"resolved\"") && out.contains("ディスク故障"),
        "{out}"
    );
    let (ok, out) = tekkan_on(
        &["incident", "open", "--category", "meteor", "--title", "x"],
        &dir,
    );
    assert!(!ok, "{out}");
    fx.app.stop().await;
}

/// Published, an incident is a banner in a real browser on a phone-sized screen, and
/// a push the member's phone decrypts, within a minute.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_published_incident_is_a_banner_in_the_browser_and_a_decrypted_push() {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    tekkan_cli::install_crypto_provider();
    let push = crate::support::peers::PushService::start().await;
    let app = crate::support::TestApp::builder()
        .configure(|c| {
            c.scheduler.poll_ms = 100;
            c.push.allow_insecure_endpoints = true;
        })
        .start()
        .await;
    let mut op = crate::support::fixture::operator(&app).await;
    let mut member = app.sign_up("部員", None).await;
    let phone = crate::delivery::Browser::new();
    let sub = json!({"endpoint": format!("{}/push/member", push.base),
        "keys": {"p256dh": B64.encode(phone.public()), "auth": B64.encode(phone.auth)}});
    let (s, _) = member
        .api(Method::POST, "/api/v1/me/push-subscriptions", Some(sub))
        .await;
    assert_eq!(s, StatusCode::CREATED);

    let mut b = crate::support::cdp::Browser::launch().await;
    b.call(
        "Emulation.setDeviceMetricsOverride",
        json!({"width": 390, "height": 844, "deviceScaleFactor": 3, "mobile": true}),
    )
    .await;
    b.log_in(&app.base, &member.email, "a long enough passphrase")
        .await;
    b.goto(&format!("{}/clubs", app.base)).await;
    assert!(!b.text().await.contains("運営からのお知らせ"));

    let started = Instant::now();
    let (s, v) = op
        .api(
            Method::POST,
            "/api/v1/admin/incidents",
            Some(
                json!({"category": "outage", "title": "一部の通知が遅れています",
                "title_en": "Some notifications are late", "publish": true,
                "message": "復旧作業中です。"}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    b.goto(&format!("{}/clubs", app.base)).await;
    b.wait_for("document.getElementById('incident-banner') !== null")
        .await;
    let banner = b
        .eval("document.getElementById('incident-banner').innerText")
        .await;
    let banner = banner.as_str().unwrap();
    assert!(
        banner.contains("一部の通知が遅れています") && banner.contains("調査中"),
        "{banner}"
    );
    // It fits the phone's width, and its link leads to the status page.
    let wide = b
        .eval("document.documentElement.scrollWidth <= window.innerWidth")
        .await;
    assert_eq!(wide, json!(true), "the page is wider than the phone");
    b.click_and_wait("#incident-banner a").await;
    assert!(b.url().await.ends_with("/status"));
    assert!(b.text().await.contains("復旧作業中です。"));

    // The member's phone: the push decrypts with its keys and says what happened.
    loop {
        let got = push
            .requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path == "/push/member")
            .map(|r| String::from_utf8_lossy(&phone.decrypt(&r.body)).into_owned())
            .find(|p| p.contains("一部の通知が遅れています"));
        if let Some(p) = got {
            let v: Value = serde_json::from_str(&p).unwrap();
            assert!(v["url"].as_str().unwrap().starts_with("/status#"), "{v}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no push within a minute"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    app.stop().await;
}

/// The operator's pages: open an incident by form, add steps, see internal ones.
#[tokio::test]
async fn the_operator_handles_an_incident_from_the_pages() {
    let app = crate::support::TestApp::start().await;
    let op = crate::support::fixture::operator(&app).await;
    let mut b = op.as_browser();
    let page = b.get("/admin/incidents").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("id=\"no-incidents\""));
    let csrf = page.csrf();
    let res = b
        .post_form(
            "/admin/incidents",
            &csrf,
            &[
                ("category", "data_leak"),
                ("title", "名簿の誤送信"),
                ("message", "確認中です"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let at = res.location.unwrap();
    let page = b.get(&at).await;
    assert!(
        page.body.contains("名簿の誤送信") && page.body.contains("非公開"),
        "{}",
        page.body
    );
    let res = b
        .post_form(
            &format!("{at}/updates"),
            &page.csrf(),
            &[
                ("state", "identified"),
                ("actions", "送信先に削除を依頼"),
                ("internal", "on"),
                ("publish", "on"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let page = b.get(&at).await;
    assert!(page.body.contains("送信先に削除を依頼") && page.body.contains("内部のみ"));
    assert!(page.body.contains("原因を特定"));
    // Published: on the status page, without the internal step.
    let status = app.client().get("/status").await.body;
    assert!(status.contains("名簿の誤送信") && !status.contains("送信先に削除を依頼"));
    // Resolving without a cause is refused, as a page.
    let res = b
        .post_form(
            &format!("{at}/updates"),
            &page.csrf(),
            &[("state", "resolved")],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Nobody else.
    let member = app.sign_up("部員", None).await;
    let page = member.as_browser().get("/admin/incidents").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    app.stop().await;
}

/// Hostile input to the operator's incident and containment tools: a clear 4xx, never a
/// 500, nothing written; HTML in a title is text on the status page.
#[tokio::test]
async fn hostile_input_to_the_operator_tools_is_a_clear_4xx_and_writes_nothing() {
    let fx = Fixture::new().await;
    let mut op = fx.client(Who::Operator);
    let bearer = format!("Bearer {}", op.bearer.clone().unwrap());
    let as_op = op.clone();
    let raw = |path: &'static str, body: Vec<u8>| {
        let (op, bearer) = (as_op.clone(), bearer.clone());
        async move {
            op.clone()
                .raw(
                    Method::POST,
                    path,
                    &[
                        ("content-type", "application/json"),
                        ("authorization", &bearer),
                    ],
                    body,
                )
                .await
                .status
        }
    };
    for body in [
        b"{\"category\": \"outage\", \"title\": ".to_vec(),
        vec![0xff, 0xfe, b'{', b'}'],
        br#"{"category": "outage", "title": "x", "severity": 9}"#.to_vec(),
        br#"{"category": "meteor", "title": "x"}"#.to_vec(),
        br#"{"category": "outage", "title": "bell\u0007"}"#.to_vec(),
        format!(
            r#"{{"category": "outage", "title": "{}"}}"#,
            "長".repeat(10_000)
        )
        .into_bytes(),
        br#"{"category": "outage", "title": "x", "clubs": ["' OR 1=1 --"]}"#.to_vec(),
        br#"{"category": "outage", "title": "x", "aware_at": 1, "detected_at": 2}"#.to_vec(),
    ] {
        let s = raw("/api/v1/admin/incidents", body.clone()).await;
        assert!(
            s.is_client_error(),
            "{s} for {}",
            String::from_utf8_lossy(&body)
        );
    }
    let (s, v) = op
        .api(
            Method::POST,
            "/api/v1/admin/incidents",
            Some(json!({"category": "outage", "title": "x", "clubs": [fx.b.id.clone() + "0"]})),
        )
        .await;
    assert!(s.is_client_error(), "{s} {v}");
    let (_, all) = op.api(Method::GET, "/api/v1/admin/incidents", None).await;
    assert_eq!(all, json!([]), "nothing was written");
    // A step for an incident that does not exist, a malformed id, a bad scope.
    let (s, _) = step(
        &mut op,
        "00000000000000000000000000000000",
        json!({"message": "x"}),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = step(&mut op, "not-an-id", json!({"message": "x"})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = op
        .api(
            Method::POST,
            "/api/v1/admin/sessions/end",
            Some(json!({"scope": "club", "club": "00000000000000000000000000000000"})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let s = raw("/api/v1/admin/lockdown", b"not json".to_vec()).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (_, c) = op.api(Method::GET, "/api/v1/admin/containment", None).await;
    assert_eq!(c, json!({"read_only": null, "signups_paused": null}));
    // HTML and SQL in a title are kept as text and escaped where shown.
    let (s, _) = op
        .api(
            Method::POST,
            "/api/v1/admin/incidents",
            Some(json!({"category": "other", "title": "<script>alert(1)</script>'; DROP TABLE incidents; --",
                "publish": true})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let html = fx.app.client().get("/status").await.body;
    assert!(!html.contains("<script>alert(1)"), "{html}");
    assert!(
        html.contains("&#60;script&#62;alert(1)") || html.contains("&lt;script&gt;alert(1)"),
        "{html}"
    );
    let (_, all) = op.api(Method::GET, "/api/v1/admin/incidents", None).await;
    assert_eq!(all.as_array().unwrap().len(), 1);
    fx.app.stop().await;
}
