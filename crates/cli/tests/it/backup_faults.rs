//! Backup faults: a destination unreachable or full, a corrupted or truncated archive,
//! a manifest signed by another key or edited, the wrong decryption key, a backup from
//! a newer schema. Each gives a clear error, and a restore leaves nothing behind.

use std::path::Path;
use tekkan_storage::sql as raw;

use tekkan_audit::signed::Signer;
use tekkan_backup::Manifest;

use crate::backup::{Kit, dir_dest};
use crate::support::TestApp;
use crate::support::tmpfs::Tmpfs;

fn flip(file: &Path, at: u64) {
    let mut b = std::fs::read(file).unwrap();
    let i = (at as usize).min(b.len() - 1);
    b[i] ^= 0x40;
    std::fs::write(file, b).unwrap();
}

/// The one backup `dir` holds: (manifest path, archive path).
fn only_backup(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let m = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "manifest"))
        .unwrap();
    let id = m.file_stem().unwrap().to_string_lossy().into_owned();
    (m.clone(), dir.join(format!("{id}.tar.zst.age")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_give_a_clear_error_and_never_a_partial_restore() {
    let app = TestApp::builder().demo().start().await;
    let mut kit = Kit::new(&app.data_dir());
    let good = kit.dir("good");
    kit.dests
        .push(dir_dest("gone", &kit.root.path().join("not-mounted")));
    // An S3 endpoint nobody answers at.
    kit.dests.push(
        "[[backup.destinations]]\nname = \"s3-down\"\nkind = \"s3\"\nendpoint = \"http://127.0.0.1:1\"\n\
         bucket = \"b\"\nregion = \"ap-northeast-1\"\npath_style = true\n"
            .into(),
    );
    let full_dir = kit.root.path().join("full");
    let _full = Tmpfs::mount(&full_dir, "8k");
    kit.dests.push(dir_dest("full", &full_dir));
    let cfg = kit.config("");

    // One destination unreachable, one full: the good one still gets the backup; the
    // run says which failed and why, and exits 1.
    let (code, out) = kit.tekkan(&cfg, &["backup", "run"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("stored at good"), "{out}");
    assert!(out.contains("FAILED at gone: unreachable"), "{out}");
    assert!(out.contains("FAILED at full: full"), "{out}");
    assert!(out.contains("FAILED at s3-down: unreachable"), "{out}");
    assert_eq!(
        std::fs::read_dir(&full_dir).unwrap().count(),
        0,
        "no partial file left"
    );
    let signer = Kit::signer(&out);
    let mut db = app.raw_db().await;
    let partial: i64 =
        raw::scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'backup.partial'")
            .fetch_one(&mut db)
            .await
            .unwrap();
    assert_eq!(partial, 1, "the partial run is in the audit log");
    db.close().await.unwrap();

    // Restores go to a fresh directory from the good destination only.
    let target = kit.root.path().join("restored");
    let mut only_good = Kit {
        root: tempfile::tempdir().unwrap(),
        recipient: kit.recipient.clone(),
        identity: kit.identity.clone(),
        dests: vec![dir_dest("good", &good)],
        data_dir: target.clone(),
    };
    let rcfg = only_good.config("");
    let id_file = kit.identity.to_str().unwrap().to_owned();
    let restore = |extra: &[&str]| {
        let mut args = vec!["restore", "--from", "good", "--signer", &signer];
        args.extend_from_slice(extra);
        let (code, out) = only_good.tekkan(&rcfg, &args);
        assert_ne!(code, 0, "{out}");
        assert!(
            !target.exists(),
            "a failed restore created {}",
            target.display()
        );
        let left: Vec<_> = std::fs::read_dir(kit.root.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".tekkan-"))
            .collect();
        assert!(left.is_empty(), "work left behind: {left:?}");
        out
    };
    let (manifest, archive) = only_backup(&good);
    let original = (
        std::fs::read(&manifest).unwrap(),
        std::fs::read(&archive).unwrap(),
    );
    let put_back = || {
        std::fs::write(&manifest, &original.0).unwrap();
        std::fs::write(&archive, &original.1).unwrap();
    };

    // A flipped byte, or a truncated archive.
    flip(&archive, original.1.len() as u64 / 2);
    let out = restore(&["--identity", &id_file]);
    assert!(out.contains("corrupted or incomplete"), "{out}");
    let (code, v) = only_good.fetch(&rcfg, &["backup", "verify"], "good", &id_file, &signer);
    assert_ne!(code, 0);
    assert!(v.contains("corrupted or incomplete"), "{v}");
    put_back();
    std::fs::write(&archive, &original.1[..original.1.len() - 100]).unwrap();
    assert!(restore(&["--identity", &id_file]).contains("corrupted or incomplete"));
    put_back();

    // The manifest signed by another key (even with the right content), or edited.
    let note = String::from_utf8(original.0.clone()).unwrap();
    let m = Manifest::peek(&note).unwrap();
    std::fs::write(&manifest, m.sign(&Signer::new("tekkan-backup", &[9; 32]))).unwrap();
    let out = restore(&["--identity", &id_file]);
    assert!(
        out.contains("no trusted key signed this backup manifest"),
        "{out}"
    );
    let edited = note.replacen("\"size\":", "\"size\":1", 1);
    std::fs::write(&manifest, edited).unwrap();
    let out = restore(&["--identity", &id_file]);
    assert!(out.contains("signature is not valid"), "{out}");
    put_back();

    // The wrong private key.
    let other = kit.root.path().join("other.age");
    let (ok, out) = crate::support::tekkan(["backup", "keygen", "--out", other.to_str().unwrap()]);
    assert!(ok, "{out}");
    let out = restore(&["--identity", other.to_str().unwrap()]);
    assert!(out.contains("wrong decryption key"), "{out}");

    // A backup from a newer schema, signed by this server's own key.
    let seed = std::fs::read_to_string(app.data_dir().join("secrets/backup.key")).unwrap();
    let seed: [u8; 32] = hex::decode(seed.trim()).unwrap().try_into().unwrap();
    let mut newer = m.clone();
    newer.schema_version = 9999;
    std::fs::write(&manifest, newer.sign(&Signer::new("tekkan-backup", &seed))).unwrap();
    let out = restore(&["--identity", &id_file]);
    assert!(out.contains("newer schema (9999)"), "{out}");
    put_back();

    // After all that, the untouched backup restores.
    let (code, out) = only_good.fetch(&rcfg, &["restore"], "good", &id_file, &signer);
    assert_eq!(code, 0, "{out}");
    // And a tekkan older than the database refuses to open it.
    let mut db = crate::support::raw_db_at(&target).await;
    raw::q("INSERT INTO schema_migrations (version, applied_at) VALUES (9999, 0)")
        .execute(&mut db)
        .await
        .unwrap();
    db.close().await.unwrap();
    let (ok, out) = crate::support::tekkan(["migrate", "--data-dir", target.to_str().unwrap()]);
    assert!(!ok && out.contains("newer than this tekkan"), "{out}");
    only_good.dests.clear();
    app.stop().await;
}
