//! A full disk: writes get a clear 507 (JSON and pages alike), never a 500, nothing is
//! half-written, reads keep working, and the server recovers by itself when space comes
//! back. The data directory is a small tmpfs (the suite runs as root).

use std::path::Path;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::tmpfs::Tmpfs;
use crate::support::{TestApp, code};

/// Fills the file system holding `dir` with one file, to the last byte it takes.
fn fill(dir: &Path) -> std::path::PathBuf {
    use std::io::Write;
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    loop {
        if f.write_all(&chunk).is_err() {
            break;
        }
    }
    let mut small = [0u8; 512];
    while f.write_all(&small).is_ok() {
        small[0] = small[0].wrapping_add(1);
    }
    let _ = f.sync_all();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_gives_507_loses_nothing_and_recovers_when_space_returns() {
    let dir = tempfile::tempdir().unwrap();
    let _fs = Tmpfs::mount(dir.path(), "24m");
    let app = TestApp::builder().data_dir(dir).start().await;
    let mut owner = app.sign_up("保存", None).await;
    let club = owner.create_club("写真部").await;

    let filler = fill(&app.data_dir());
    // Writes keep failing the same clear way; the WAL may still have room for a few.
    let mut refused = 0;
    let mut accepted = Vec::new();
    for i in 0..400 {
        let name = format!("クラブ{i} {}", "あ".repeat(40));
        let (s, v) = owner
            .api(Method::POST, "/api/v1/clubs", Some(json!({ "name": name })))
            .await;
        match s {
            StatusCode::CREATED => accepted.push(v["id"].as_str().unwrap().to_owned()),
            StatusCode::INSUFFICIENT_STORAGE => {
                assert_eq!(code(&v), "disk_full", "{v}");
                assert!(v["error"]["message"].as_str().unwrap().contains("full"));
                refused += 1;
                if refused == 5 {
                    break;
                }
            }
            other => panic!("write {i} while the disk is full: {other} {v}"),
        }
    }
    assert_eq!(refused, 5, "the disk never filled");
    // A page write says so too, in Japanese.
    let mut b = owner.as_browser();
    let page = b.get("/clubs/new").await;
    let res = b
        .post_form(
            "/clubs",
            &page.csrf(),
            &[("name", "新しいクラブ"), ("description", "")],
        )
        .await;
    assert_eq!(res.status, StatusCode::INSUFFICIENT_STORAGE, "{}", res.body);
    assert!(res.body.contains("保存領域がいっぱい"), "{}", res.body);
    // Reads still work.
    let (s, _) = owner
        .api(Method::GET, &format!("/api/v1/clubs/{club}"), None)
        .await;
    assert_eq!(s, StatusCode::OK);

    // Space comes back: the next write works, with no restart.
    std::fs::remove_file(filler).unwrap();
    let (s, v) = owner
        .api(
            Method::POST,
            "/api/v1/clubs",
            Some(json!({ "name": "復帰後のクラブ" })),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");

    // Nothing refused was half-written, nothing accepted was lost, and the audit log
    // still verifies.
    let (_, mine) = owner.api(Method::GET, "/api/v1/clubs", None).await;
    let names: Vec<String> = mine
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.get("name").unwrap_or(&c["club"]["name"]).to_string())
        .collect();
    assert_eq!(names.len(), 2 + accepted.len(), "{names:?}");
    assert!(!names.iter().any(|n| n.contains("新しいクラブ")));
    let dir = app.stop().await;
    let (ok, out) = crate::support::tekkan([
        "audit",
        "verify",
        "--data-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert!(ok, "{out}");
    drop(dir);
}
