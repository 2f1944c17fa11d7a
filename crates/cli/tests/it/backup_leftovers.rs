//! A `tekkan backup run` killed with SIGKILL leaves its work directory behind (a copy of
//! the database before sealing, the archive after). It is private (0700) and removed by
//! the next run and at the server's start-up, while the directory of a run that is
//! still going on is left alone.

use crate::support::pg::WithDatabase as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::backup::Kit;
use crate::support::TestApp;

fn work_dirs(data_dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(data_dir)
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".tekkan-backup-")
        })
        .map(|e| e.path())
        .collect()
}

/// An S3 endpoint that accepts connections and never answers: a run sending to it
/// stays alive, mid-run, until killed.
fn silent_endpoint() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in l.incoming().flatten() {
            held.push(s);
        }
    });
    port
}

/// Starts `backup run` towards the silent endpoint and waits until its work directory
/// is there; returns the child and that directory.
async fn hanging_run(kit: &Kit, cfg: &Path) -> (Child, PathBuf) {
    let before = work_dirs(&kit.data_dir);
    let mut child = Command::new(env!("CARGO_BIN_EXE_tekkan"))
        .arg("--config")
        .arg(cfg)
        .args(["backup", "run"])
        .env("TEKKAN_LOG__LEVEL", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .db()
        .spawn()
        .unwrap();
    for _ in 0..600 {
        if let Some(d) = work_dirs(&kit.data_dir)
            .into_iter()
            .find(|d| !before.contains(d))
        {
            // Wait for the sealed archive: the run is then stuck sending it.
            let sealed = std::fs::read_dir(&d)
                .map(|rd| {
                    rd.flatten()
                        .any(|e| e.file_name().to_string_lossy().ends_with(".age"))
                })
                .unwrap_or(false);
            if sealed {
                return (child, d);
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the backup run made no work directory");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_backup_run_leaves_nothing_behind_for_long() {
    let app = TestApp::builder().demo().start().await;
    let mut kit = Kit::new(&app.data_dir());
    let port = silent_endpoint();
    let stuck = kit.config(&format!(
        "[[backup.destinations]]\nname = \"silent\"\nkind = \"s3\"\nendpoint = \"http://127.0.0.1:{port}\"\n\
         bucket = \"b\"\nregion = \"ap-northeast-1\"\npath_style = true\n\
         access_key_id = \"k\"\nsecret_access_key = \"s\"\n"
    ));
    kit.dir("good");
    let good = kit.config("");

    let (mut child, dir) = hanging_run(&kit, &stuck).await;
    let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "work files live in a private directory");
    // Another run meanwhile leaves the live run's directory alone.
    let (code, out) = kit.tekkan(&good, &["backup", "run"]);
    assert_eq!(code, 0, "{out}");
    assert!(dir.exists(), "a live run's work directory is not swept");

    // Killed: the directory stays behind, until the next run removes it.
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(dir.exists());
    let (code, out) = kit.tekkan(&good, &["backup", "run"]);
    assert_eq!(code, 0, "{out}");
    assert!(!dir.exists(), "the next run removed the leftover");

    // Killed again; this time the server's start-up removes it.
    let (mut child, dir) = hanging_run(&kit, &stuck).await;
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(dir.exists());
    let data = app.stop().await;
    let app = TestApp::builder().data_dir(data).start().await;
    assert!(!dir.exists(), "start-up removed the leftover");
    assert!(work_dirs(&app.data_dir()).is_empty());
}
