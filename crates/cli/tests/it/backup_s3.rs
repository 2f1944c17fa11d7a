//! Backups to a real S3-compatible server (moto, IAM enforced) on loopback: Object
//! Lock keeps them from anyone, server credentials cannot delete, pruning runs with
//! other credentials; regions outside Japan need an explicit override; the server's
//! own scheduler backs up, and a failing destination shows in `/metrics` and in the
//! operators' notifications.

use std::path::Path;

use reqwest::Method;
use serde_json::json;

use crate::backup::Kit;
use crate::support::s3::{SERVER_ACTIONS, User, moto};
use crate::support::{TestApp, unique};

fn s3_dest(name: &str, bucket: &str, user: &User, extra: &str) -> String {
    let m = moto();
    format!(
        "[[backup.destinations]]\nname = \"{name}\"\nkind = \"s3\"\nendpoint = \"{}\"\n\
         bucket = \"{bucket}\"\nregion = \"{}\"\nprefix = \"tekkan/\"\npath_style = true\n\
         access_key_id = \"{}\"\nsecret_access_key = \"{}\"\n{extra}\n",
        m.endpoint, m.region, user.key, user.secret
    )
}

fn bucket_name(label: &str) -> String {
    unique(label).to_lowercase().replace('_', "-")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_backups_are_locked_and_the_server_cannot_delete_them() {
    let app = TestApp::builder().demo().start().await;
    let m = moto();
    let (locked, plain) = (bucket_name("locked"), bucket_name("plain"));
    m.bucket(&locked, true);
    m.bucket(&plain, false);
    let server = m.user(&unique("server"), SERVER_ACTIONS);
    let mut kit = Kit::new(&app.data_dir());
    let nas = kit.dir("nas");
    kit.dests
        .push(s3_dest("s3-locked", &locked, &server, "lock_days = 7"));
    kit.dests.push(s3_dest("s3-plain", &plain, &server, ""));
    let cfg = kit.config("");
    let (code, out) = kit.tekkan(&cfg, &["backup", "run"]);
    assert_eq!(code, 0, "{out}");
    let signer = Kit::signer(&out);
    assert!(out.contains("stored at s3-locked (locked until"), "{out}");
    assert!(out.contains("stored at s3-plain\n"), "{out}");
    let (code, out) = kit.tekkan(&cfg, &["backup", "list"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.matches("complete").count(), 3, "{out}");

    // Someone holding the account's administrator keys cannot destroy locked backups.
    assert_eq!(m.versions(&locked).len(), 2);
    assert_eq!(
        m.delete_everything(&locked),
        2,
        "Object Lock refused both deletions"
    );
    assert_eq!(m.versions(&locked).len(), 2);

    // The server's own credentials cannot delete, not even unlocked backups.
    let (code, out) = kit.tekkan(&cfg, &["backup", "prune", "--destination", "s3-plain"]);
    assert_eq!(code, 0, "nothing to prune yet: {out}");
    let fake = "20200101T000000.000Z-0000";
    let mut prune_kit = Kit {
        root: tempfile::tempdir().unwrap(),
        recipient: kit.recipient.clone(),
        identity: kit.identity.clone(),
        dests: vec![s3_dest("s3-plain", &plain, &server, "")],
        data_dir: kit.data_dir.clone(),
    };
    upload_fake(&prune_kit, fake, prune_kit.root.path()).await;
    // Keep one a day, for one day: the 2020 backup goes.
    let one_day = "[backup.retention]\ndaily = 1\nweekly = 0\nmonthly = 0\nyearly = 0\n";
    let pcfg = prune_kit.config(one_day);
    let (code, out) = prune_kit.tekkan(&pcfg, &["backup", "prune", "--destination", "s3-plain"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!("NOT deleted {fake}: permission denied")),
        "{out}"
    );
    // With delete rights (elsewhere), a dry run says, then a real run deletes.
    let pruner = m.user(
        &unique("pruner"),
        &[
            "s3:ListBucket",
            "s3:ListBucketVersions",
            "s3:DeleteObject",
            "s3:DeleteObjectVersion",
            "s3:GetObject",
        ],
    );
    prune_kit.dests = vec![s3_dest("s3-plain", &plain, &pruner, "")];
    let pcfg = prune_kit.config(one_day);
    let (code, out) = prune_kit.tekkan(
        &pcfg,
        &["backup", "prune", "--destination", "s3-plain", "--dry-run"],
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&format!("would delete {fake}")), "{out}");
    assert!(out.contains("keep    ") && out.contains("(newest"), "{out}");
    assert!(m.versions(&plain).iter().any(|k| k.contains(fake)));
    let (code, out) = prune_kit.tekkan(&pcfg, &["backup", "prune", "--destination", "s3-plain"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&format!("deleted {fake}")), "{out}");
    assert!(!m.versions(&plain).iter().any(|k| k.contains(fake)));

    // The drill through S3: the data directory and the directory destination are gone;
    // the locked bucket brings everything back.
    let dir = app.stop().await;
    let before = crate::backup::dump(dir.path()).await;
    std::fs::remove_dir_all(dir.path()).unwrap();
    if let tekkan_storage::Location::Postgres(url) = crate::support::location_of(dir.path()) {
        crate::support::pg::drop_database_and_keys(&url);
    }
    std::fs::remove_dir_all(&nas).unwrap();
    let id = kit.identity.to_str().unwrap().to_owned();
    let (code, out) = kit.fetch(&cfg, &["backup", "verify"], "s3-locked", &id, &signer);
    assert_eq!(code, 0, "{out}");
    let (code, out) = kit.fetch(&cfg, &["restore"], "s3-locked", &id, &signer);
    assert_eq!(code, 0, "{out}");
    let after = crate::backup::dump(dir.path()).await;
    // When each migration ran is the restored database's own (PostgreSQL: at the restore).
    let own = |t: &str| t.starts_with("audit_") || t == "schema_migrations";
    for (table, rows) in before.iter().filter(|(t, _)| !own(t)) {
        assert!(rows.is_subset(&after[table]), "{table}");
    }
    // The log as it was at the backup: only the record of the backup itself came later
    // (on PostgreSQL perhaps still in the queue when the server stopped).
    assert!(after["audit_log"].is_subset(&before["audit_log"]));
    let later: Vec<_> = ["audit_log", "audit_queue"]
        .iter()
        .flat_map(|t| before[*t].difference(&after[*t]))
        .collect();
    assert!(
        later.len() == 1 && later[0].contains("backup.completed"),
        "{later:?}"
    );
    drop(prune_kit);
}

/// Puts a stand-in old backup (manifest and archive) into the kit's first destination
/// through the server's own upload path.
async fn upload_fake(kit: &Kit, id: &str, from: &Path) {
    std::fs::write(from.join(format!("{id}.manifest")), "not a manifest").unwrap();
    std::fs::write(from.join(format!("{id}.tar.zst.age")), b"old").unwrap();
    let cfg = kit.config("");
    let c = tekkan_cli::config::load(Some(&cfg), std::iter::empty()).unwrap();
    let dests = tekkan_cli::backup::destinations(&c).unwrap();
    for name in [format!("{id}.manifest"), format!("{id}.tar.zst.age")] {
        dests[0].put(&name, &from.join(&name)).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regions_outside_japan_need_an_explicit_override() {
    let app = TestApp::start().await;
    let mut kit = Kit::new(&app.data_dir());
    let p = kit.root.path().join("abroad");
    std::fs::create_dir_all(&p).unwrap();
    let abroad = format!(
        "[[backup.destinations]]\nname = \"abroad\"\nkind = \"dir\"\npath = \"{}\"\nregion = \"us-east-1\"\n",
        p.display()
    );
    kit.dests.push(abroad.clone());
    let cfg = kit.config("");
    let (code, out) = kit.tekkan(&cfg, &["backup", "run"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("region us-east-1 is outside Japan"), "{out}");
    // The server refuses to start with it, rather than fail at its first backup.
    let (code, out) = kit.tekkan(&cfg, &["serve", "--listen", "127.0.0.1:0"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("region us-east-1 is outside Japan"), "{out}");
    assert_eq!(std::fs::read_dir(&p).unwrap().count(), 0);
    kit.dests = vec![format!("{abroad}allow_outside_japan = true\n")];
    let cfg = kit.config("");
    let (code, out) = kit.tekkan(&cfg, &["backup", "run"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("outside Japan, allowed explicitly"),
        "the override is logged: {out}"
    );
    // A destination must say where it is.
    kit.dests = vec![abroad.replace("region = \"us-east-1\"\n", "region = \"\"\n")];
    let cfg = kit.config("");
    let (code, out) = kit.tekkan(&cfg, &["backup", "run"]);
    assert_eq!(code, 2);
    assert!(out.contains("declare the region"), "{out}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_backs_itself_up_and_a_failing_destination_is_loud() {
    let m = moto();
    let bucket = bucket_name("sched");
    m.bucket(&bucket, true);
    let server = m.user(&unique("sched"), SERVER_ACTIONS);
    let root = tempfile::tempdir().unwrap();
    let identity = root.path().join("op.age");
    let (ok, out) =
        crate::support::tekkan(["backup", "keygen", "--out", identity.to_str().unwrap()]);
    assert!(ok, "{out}");
    let recipient = out.lines().last().unwrap().trim().to_owned();
    let text = format!(
        "[backup]\nrecipients = [\"{recipient}\"]\n{}{}",
        s3_dest("s3", &bucket, &server, ""),
        crate::backup::dir_dest("gone", &root.path().join("unplugged"))
    );
    let dests: tekkan_cli::config::Config = toml::from_str(&text).unwrap();
    // An operator, to be told; then the server restarts with backups configured.
    let app = TestApp::start().await;
    let setup = app.running().setup_url.clone().unwrap();
    let token = setup.split("token=").nth(1).unwrap().to_owned();
    let email = format!("{}@example.jp", unique("op"));
    let (s, v) = app
        .client()
        .api(
            Method::POST,
            "/api/v1/setup",
            Some(json!({"token": token, "email": email, "display_name": "運用者", "password": "a long enough passphrase"})),
        )
        .await;
    assert!(s.is_success(), "{v}");
    let dir = app.stop().await;
    let app = TestApp::builder()
        .data_dir(dir)
        .configure(|c| c.backup = dests.backup.clone())
        .start()
        .await;
    let (s, v) = app.log_in(&email, "a long enough passphrase").await;
    assert!(s.is_success(), "{v}");
    let mut op = app.client();
    op.bearer = v["token"].as_str().map(str::to_owned);
    // The first backup is due at once (none exists); a restart would find it and wait.
    let mut metrics = String::new();
    for _ in 0..200 {
        metrics = app
            .client()
            .raw(Method::GET, "/metrics", &[], Vec::new())
            .await
            .body;
        if metrics.contains("tekkan_backup_failures_total{destination=\"gone\"} 1") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        metrics.contains("tekkan_backup_stored_total{destination=\"s3\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("tekkan_backup_failures_total{destination=\"gone\"} 1"),
        "{metrics}"
    );
    assert_eq!(m.versions(&bucket).len(), 2, "archive and manifest");
    let (_, inbox) = op.api(Method::GET, "/api/v1/me/notifications", None).await;
    assert!(inbox.to_string().contains("backup_failed"), "{inbox}");
    app.stop().await;
}
