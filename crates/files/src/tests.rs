//! The local-directory store end to end; the S3 store is tested against a real
//! S3-compatible server in the CLI's integration suite (`it::files`).

use super::*;

fn local() -> (tempfile::TempDir, Files) {
    let dir = tempfile::tempdir().unwrap();
    let files = Files::open(&Settings::Dir(dir.path().join("files"))).unwrap();
    (dir, files)
}

#[tokio::test]
async fn a_file_comes_back_as_written_and_a_changed_one_is_refused() {
    let (dir, files) = local();
    files.check().await.unwrap();
    let photo = Bytes::from_static(b"\x89PNG fake photo bytes");
    let key = files.put("club_1", photo.clone()).await.unwrap();
    assert_eq!(
        key.to_string(),
        format!("clubs/club_1/{}", hex::encode(Sha256::digest(&photo)))
    );
    assert_eq!(FileKey::parse(&key.to_string()).unwrap(), key);
    assert_eq!(files.get(&key).await.unwrap(), photo);
    // The same content again is the same file.
    assert_eq!(files.put("club_1", photo.clone()).await.unwrap(), key);
    assert_eq!(files.list("club_1").await.unwrap(), vec![key.clone()]);
    assert!(files.list("club_2").await.unwrap().is_empty());
    // Changed at rest: refused, never served.
    let on_disk = dir.path().join("files").join(key.to_string());
    std::fs::write(&on_disk, b"swapped").unwrap();
    assert!(matches!(
        files.get(&key).await,
        Err(FilesError::Tampered(_))
    ));
    files.delete(&key).await.unwrap();
    files.delete(&key).await.unwrap();
    assert!(matches!(files.get(&key).await, Err(FilesError::NotFound)));
    // Nothing of the probe is left behind.
    assert!(
        !dir.path()
            .join("files/health")
            .read_dir()
            .is_ok_and(|mut d| d.next().is_some())
    );
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(dir.path().join("files"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700);
}

#[tokio::test]
async fn a_club_deleted_takes_its_files_and_no_other() {
    let (_dir, files) = local();
    for n in 0..3 {
        files
            .put("club_a", Bytes::from(format!("a{n}")))
            .await
            .unwrap();
    }
    let kept = files.put("club_b", Bytes::from_static(b"b")).await.unwrap();
    assert_eq!(files.delete_club("club_a").await.unwrap(), 3);
    assert!(files.list("club_a").await.unwrap().is_empty());
    assert_eq!(files.list("club_b").await.unwrap(), vec![kept]);
}

#[test]
fn keys_never_leave_their_club_folder() {
    let h = "ab".repeat(32);
    for bad in [
        format!("clubs/../{h}"),
        format!("clubs/a/b/{h}"),
        format!("clubs//{h}"),
        format!("other/a/{h}"),
        format!("clubs/a/{}", "AB".repeat(32)),
        "clubs/a/zz".to_owned(),
        format!("clubs/a b/{h}"),
        format!("clubs/クラブ/{h}"),
    ] {
        assert!(FileKey::parse(&bad).is_err(), "{bad}");
    }
    assert!(FileKey::parse(&format!("clubs/club-1_x/{h}")).is_ok());
    assert!(FileKey::new("../x", [0; 32]).is_err());
}

#[test]
fn buckets_are_in_japan_and_reached_over_tls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let s3 = |endpoint: &str, region: &str, allow: bool| {
        Files::open(&Settings::S3(S3Settings {
            endpoint: endpoint.into(),
            bucket: "photos".into(),
            region: region.into(),
            allow_outside_japan: allow,
            prefix: String::new(),
            path_style: true,
            access_key_id: "id".into(),
            secret_access_key: "secret".into(),
        }))
    };
    let https = "https://s3.example.jp";
    assert!(s3(https, "ap-northeast-1", false).is_ok());
    assert!(matches!(
        s3(https, "us-east-1", false),
        Err(FilesError::Config(_))
    ));
    assert!(s3(https, "us-east-1", true).is_ok());
    assert!(matches!(s3(https, "", true), Err(FilesError::Config(_))));
    assert!(matches!(
        s3("http://s3.example.jp", "jp", false),
        Err(FilesError::Config(_))
    ));
    assert!(s3("http://127.0.0.1:9000", "jp", false).is_ok());
    let f = s3(https, "jp", false).unwrap();
    assert!(!format!("{f:?}").contains("secret"));
}
