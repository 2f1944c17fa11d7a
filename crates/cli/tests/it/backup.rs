//! Backups and restore: the drill (back up while serving, lose the data directory and a
//! destination, restore from the other, every record back), and the faults that must
//! give a clear error and never a partial restore.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use tekkan_storage::sql as raw;

use crate::support::{TestApp, unique};

/// A configuration file, an operator key pair and destinations for one test.
pub struct Kit {
    pub root: tempfile::TempDir,
    pub recipient: String,
    pub identity: PathBuf,
    /// `[[backup.destinations]]` tables, as TOML text.
    pub dests: Vec<String>,
    pub data_dir: PathBuf,
}

pub fn dir_dest(name: &str, path: &Path) -> String {
    format!(
        "[[backup.destinations]]\nname = \"{name}\"\nkind = \"dir\"\npath = \"{}\"\nregion = \"jp-tokyo\"\n",
        path.display()
    )
}

impl Kit {
    pub fn new(data_dir: &Path) -> Self {
        let root = tempfile::tempdir().unwrap();
        let identity = root.path().join("operator.age");
        let (ok, out) = run(&["backup", "keygen", "--out", identity.to_str().unwrap()]);
        assert!(ok, "{out}");
        let recipient = out.lines().last().unwrap().trim().to_owned();
        assert!(recipient.starts_with("age1"), "{out}");
        Self {
            root,
            recipient,
            identity,
            dests: Vec::new(),
            data_dir: data_dir.to_owned(),
        }
    }

    /// A directory destination under the kit's root.
    pub fn dir(&mut self, name: &str) -> PathBuf {
        let p = self.root.path().join(name);
        std::fs::create_dir_all(&p).unwrap();
        self.dests.push(dir_dest(name, &p));
        p
    }

    /// Writes the configuration and returns its path.
    pub fn config(&self, extra: &str) -> PathBuf {
        let p = self.root.path().join(format!("{}.toml", unique("tekkan")));
        let text = format!(
            "data_dir = \"{}\"\n[backup]\nrecipients = [\"{}\"]\n{extra}\n{}",
            self.data_dir.display(),
            self.recipient,
            self.dests.join("\n")
        );
        std::fs::write(&p, text).unwrap();
        p
    }

    /// `tekkan --config <config> args...`: (exit code, all output). It blocks its
    /// thread: the tests run on two worker threads, so the server keeps serving.
    pub fn tekkan(&self, config: &Path, args: &[&str]) -> (i32, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_tekkan"))
            .arg("--config")
            .arg(config)
            .args(args)
            .env("TEKKAN_LOG__LEVEL", "warn")
            .envs(
                crate::support::pg::url_for(&self.data_dir, false)
                    .map(|u| ("TEKKAN_DATABASE__URL", u)),
            )
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    }

    /// `tekkan [backup verify | restore] --from FROM --identity ID --signer SIGNER`.
    pub fn fetch(
        &self,
        config: &Path,
        verb: &[&str],
        from: &str,
        id: &str,
        signer: &str,
    ) -> (i32, String) {
        let mut args = verb.to_vec();
        args.extend(["--from", from, "--identity", id, "--signer", signer]);
        self.tekkan(config, &args)
    }

    /// The manifest signer key a successful `backup run` printed.
    pub fn signer(out: &str) -> String {
        out.lines()
            .find_map(|l| l.strip_prefix("manifest signed by "))
            .unwrap_or_else(|| panic!("no signer in {out}"))
            .trim()
            .to_owned()
    }
}

fn run(args: &[&str]) -> (bool, String) {
    crate::support::tekkan(args)
}

/// Every row of every table of the data directory `dir`'s database, as text (SQLite:
/// `quote()` of each column; PostgreSQL: the row's text form), per table.
pub async fn dump(dir: &Path) -> BTreeMap<String, BTreeSet<String>> {
    dump_at(&crate::support::location_of(dir)).await
}

/// [`dump`] of the database at `at`.
pub async fn dump_at(at: &tekkan_storage::Location) -> BTreeMap<String, BTreeSet<String>> {
    let mut c = raw::connect(at).await.unwrap();
    let pg = at.is_postgres();
    let tables: Vec<String> = raw::q(if pg {
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
    } else {
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    })
    .fetch_all(&mut c)
    .await
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect();
    let mut out = BTreeMap::new();
    for t in tables {
        let sql = if pg {
            format!("SELECT r::text FROM \"{t}\" r")
        } else {
            let cols: Vec<String> = raw::q_built(format!("PRAGMA table_info(\"{t}\")"))
                .fetch_all(&mut c)
                .await
                .unwrap()
                .iter()
                .map(|r| format!("quote(\"{}\")", r.get::<String, _>(1)))
                .collect();
            format!("SELECT {} FROM \"{t}\"", cols.join("||','||"))
        };
        let rows: BTreeSet<String> = raw::q_built(sql)
            .fetch_all(&mut c)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        out.insert(t, rows);
    }
    c.close().await.unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_drill_every_record_back_and_the_audit_log_intact() {
    let app = TestApp::builder().demo().start().await;
    let mut kit = Kit::new(&app.data_dir());
    let first = kit.dir("nas");
    let second = kit.dir("usb");
    // Uploaded files travel with the database.
    let files = app.data_dir().join("files").join("ab");
    std::fs::create_dir_all(&files).unwrap();
    std::fs::write(files.join("photo.jpg"), b"\xff\xd8 a photo").unwrap();
    let cfg = kit.config("");

    // 1. Online: the server keeps serving writes while a backup is taken.
    let mut person = app.sign_up("sealed", None).await;
    let sealed_email = person.email.clone();
    let (st, v) = person
        .api(
            reqwest::Method::PUT,
            "/api/v1/me/personal",
            Some(serde_json::json!({"fields": {"phone": "090-1234-5678", "birth_date": "2000-05-05"}})),
        )
        .await;
    assert!(st.is_success(), "{v}");
    let written = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let writer = {
        let client = app.sign_up("writer", None).await;
        let written = written.clone();
        tokio::spawn(async move {
            let mut c = client;
            loop {
                let n = written.load(std::sync::atomic::Ordering::Relaxed);
                c.create_club(&format!("club {n}")).await;
                written.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let at_start = written.load(std::sync::atomic::Ordering::Relaxed);
    let (code, out) = kit.tekkan(&cfg, &["backup", "run"]);
    assert_eq!(code, 0, "{out}");
    let during = written.load(std::sync::atomic::Ordering::Relaxed) - at_start;
    assert!(
        during > 0,
        "the server kept serving writes during the backup"
    );
    writer.abort();
    let _ = writer.await;
    let signer = Kit::signer(&out);
    let (code, out) = kit.tekkan(
        &cfg,
        &[
            "backup",
            "verify",
            "--from",
            "nas",
            "--identity",
            kit.identity.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "a backup taken under load verifies: {out}");
    assert!(
        out.contains("consistent with the saved checkpoint"),
        "{out}"
    );

    // 2. The drill: the server stopped, every record noted, a backup to both places.
    let demo = app.running().demo_logins[0].clone();
    let dir = app.stop().await;
    let data = dir.path().to_owned();
    let before = dump(&data).await;
    let (code, out) = kit.tekkan(&cfg, &["backup", "run"]);
    assert_eq!(code, 0, "{out}");
    let id = out
        .split_whitespace()
        .nth(1)
        .unwrap()
        .trim_end_matches(':')
        .to_owned();
    let last = dump(&data).await;
    // Disaster: the data directory, the database server and the first destination are
    // gone.
    std::fs::remove_dir_all(&data).unwrap();
    if let tekkan_storage::Location::Postgres(url) = crate::support::location_of(&data) {
        crate::support::pg::drop_database_and_keys(&url);
    }
    std::fs::remove_dir_all(&first).unwrap();
    assert!(second.join(format!("{id}.manifest")).exists());
    // Without the data directory, the signer must come from the operator's records.
    let id_file = kit.identity.to_str().unwrap();
    let (code, out) = kit.tekkan(&cfg, &["restore", "--from", "usb", "--identity", id_file]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("no trusted manifest signer"), "{out}");
    let (code, out) = kit.fetch(&cfg, &["restore"], "usb", id_file, &signer);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&format!("restored backup {id}")), "{out}");

    let after = dump(&data).await;
    // `audit_head` is one row, replaced at each append: the verifier below checks it.
    // `schema_migrations` says when each migration ran on this database: on PostgreSQL
    // the restored database got its schema at the restore (same version, later times).
    let bookkeeping = ["audit_head", "schema_migrations"];
    for (table, rows) in before
        .iter()
        .filter(|(t, _)| !bookkeeping.contains(&t.as_str()))
    {
        let back = after
            .get(table)
            .unwrap_or_else(|| panic!("table {table} is gone"));
        let lost: Vec<&String> = rows.difference(back).collect();
        assert!(
            lost.is_empty(),
            "{table}: {} records not restored",
            lost.len()
        );
    }
    // The restored log is the live one up to the snapshot; after it came only the
    // record of the backup itself (on PostgreSQL still in the queue: the command that
    // wrote it ended before an integrator ran).
    let later: Vec<&String> = ["audit_log", "audit_queue"]
        .iter()
        .flat_map(|t| last[*t].difference(&after[*t]))
        .collect();
    assert!(after["audit_log"].is_subset(&last["audit_log"]));
    assert_eq!(later.len(), 1, "{later:?}");
    assert!(later[0].contains("backup.completed"), "{later:?}");
    assert_eq!(
        std::fs::read(data.join("files/ab/photo.jpg")).unwrap(),
        b"\xff\xd8 a photo"
    );
    let (ok, out) =
        crate::support::tekkan(["audit", "verify", "--data-dir", data.to_str().unwrap()]);
    assert!(ok && out.contains("audit log OK"), "{out}");

    // The restored server runs, and sealed personal data opens (keys came back too).
    let dir = tempfile::TempDir::new_in(data.parent().unwrap()).unwrap();
    std::fs::remove_dir(dir.path()).unwrap();
    std::fs::rename(&data, dir.path()).unwrap();
    let app = TestApp::builder().data_dir(dir).start().await;
    let (s, v) = app.log_in(&demo.email, &demo.password).await;
    assert!(s.is_success(), "{s} {v}");
    let (s, v) = app.log_in(&sealed_email, "a long enough passphrase").await;
    assert!(s.is_success(), "{s} {v}");
    let mut person = app.client();
    person.bearer = Some(v["token"].as_str().unwrap().to_owned());
    let (_, v) = person
        .api(reqwest::Method::GET, "/api/v1/me/personal", None)
        .await;
    assert_eq!(
        v["fields"]["phone"], "090-1234-5678",
        "sealed data opens: {v}"
    );

    // A second restore over a live data directory is refused without --replace.
    let mut live = kit.config("");
    let text = std::fs::read_to_string(&live).unwrap().replace(
        &kit.data_dir.display().to_string(),
        &app.data_dir().display().to_string(),
    );
    live = live.with_extension("live.toml");
    std::fs::write(&live, text).unwrap();
    let (code, out) = kit.fetch(&live, &["restore"], "usb", id_file, &signer);
    assert_ne!(code, 0);
    assert!(out.contains("--replace"), "{out}");

    // With --replace (the server stopped) the live deployment is kept aside, never
    // deleted: its directory moved, and on PostgreSQL its databases renamed.
    let dir = app.stop().await;
    let (code, out) = kit.fetch(&live, &["restore", "--replace"], "usb", id_file, &signer);
    assert_eq!(code, 0, "{out}");
    let moved = out
        .lines()
        .find_map(|l| l.strip_prefix("the previous data directory was moved to "))
        .unwrap_or_else(|| panic!("{out}"))
        .to_owned();
    assert!(Path::new(&moved).join("secrets").exists(), "{out}");
    if let tekkan_storage::Location::Postgres(url) = crate::support::location_of(dir.path()) {
        let renamed: Vec<&str> = out
            .lines()
            .filter_map(|l| l.split_once(" was renamed to ").map(|(_, n)| n))
            .collect();
        assert_eq!(renamed.len(), 2, "the database and its key database: {out}");
        // The one set aside still holds what it held.
        let base = url.rsplit_once('/').unwrap().0;
        let aside = tekkan_storage::Location::Postgres(format!("{base}/{}", renamed[0]));
        let kept = dump_at(&aside).await;
        assert!(!kept["accounts"].is_empty());
    }
    let (ok, out) = crate::support::tekkan([
        "audit",
        "verify",
        "--data-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert!(ok && out.contains("audit log OK"), "{out}");
    std::fs::remove_dir_all(&moved).unwrap();
}
