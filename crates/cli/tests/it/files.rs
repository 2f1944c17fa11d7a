//! Uploaded files in an S3-compatible bucket (moto, IAM enforced, on loopback): what
//! the server stores comes back as stored, a file changed in the bucket is refused, a
//! bucket the server cannot use makes `/healthz` degraded while everything else keeps
//! working, and `tekkan files check` tells the operator before the first upload.

use serde_json::Value;
use tekkan_cli::config::Config;
use tekkan_files::{Bytes, FilesError};

use crate::support::s3::moto;
use crate::support::{TestApp, unique};

/// What the server's own keys may do with its files' bucket.
const FILE_ACTIONS: &[&str] = &[
    "s3:PutObject",
    "s3:GetObject",
    "s3:DeleteObject",
    "s3:ListBucket",
];

fn bucket_name(label: &str) -> String {
    unique(label).to_lowercase().replace('_', "-")
}

fn s3(bucket: &str, key: &str, secret: &str) -> impl FnOnce(&mut Config) + use<> {
    let (bucket, key, secret) = (bucket.to_owned(), key.to_owned(), secret.to_owned());
    move |c: &mut Config| {
        let m = moto();
        c.files.kind = "s3".into();
        c.files.endpoint = m.endpoint.clone();
        c.files.region = m.region.clone();
        c.files.bucket = bucket;
        c.files.prefix = "tekkan".into();
        c.files.path_style = true;
        c.files.access_key_id = key;
        c.files.secret_access_key = Some(serde_json::from_value(Value::String(secret)).unwrap());
    }
}

async fn healthz(app: &TestApp) -> Value {
    reqwest::get(format!("{}/healthz", app.own_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_go_to_the_bucket_and_come_back_only_as_stored() {
    let m = moto();
    let bucket = bucket_name("files");
    m.bucket(&bucket, false);
    let user = m.user(&unique("files"), FILE_ACTIONS);
    let app = TestApp::builder()
        .configure(s3(&bucket, &user.key, &user.secret))
        .start()
        .await;
    assert!(app.running().app.run_health_check().await.unwrap());
    let h = healthz(&app).await;
    assert_eq!(h["status"], "ok", "{h}");
    assert!(
        h["files"]
            .as_str()
            .unwrap()
            .starts_with(&format!("s3 bucket {bucket}")),
        "{h}"
    );

    let files = app.running().app.files();
    let photo = Bytes::from_static("合宿の集合写真".as_bytes());
    let key = files.put("club_a", photo.clone()).await.unwrap();
    assert_eq!(files.get(&key).await.unwrap(), photo);
    // In the bucket under its club, beside no probe left behind (a background health
    // check may be between writing its probe and removing it: give it a moment).
    let want = vec![format!("tekkan/{key}")];
    for _ in 0..50 {
        if m.versions(&bucket) == want {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(m.versions(&bucket), want);
    // Someone with access to the bucket swaps the photo: refused, never served.
    m.put(&bucket, &format!("tekkan/{key}"), "a different picture");
    assert!(matches!(
        files.get(&key).await,
        Err(FilesError::Tampered(_))
    ));
    // A club's files go with the club, and no other's.
    let other = files.put("club_b", Bytes::from_static(b"b")).await.unwrap();
    assert_eq!(files.delete_club("club_a").await.unwrap(), 1);
    assert_eq!(files.list("club_b").await.unwrap(), vec![other]);
    assert!(matches!(files.get(&key).await, Err(FilesError::NotFound)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bucket_the_server_cannot_use_is_reported_and_nothing_else_stops() {
    let m = moto();
    let bucket = bucket_name("wrongkeys");
    m.bucket(&bucket, false);
    let user = m.user(&unique("files"), FILE_ACTIONS);
    let app = TestApp::builder()
        .configure(s3(&bucket, &user.key, "not-the-secret"))
        .start()
        .await;
    assert!(!app.running().app.run_health_check().await.unwrap());
    let h = healthz(&app).await;
    assert_eq!(h["status"], "degraded", "{h}");
    let reasons = h["reasons"].to_string();
    assert!(
        reasons.contains("\"check\":\"files\"") && reasons.contains(&bucket),
        "{h}"
    );
    // Everything that needs no file goes on.
    let mut owner = app.sign_up("部長", None).await;
    owner.create_club("写真部").await;
}

#[test]
fn the_operator_checks_the_store_before_the_first_upload() {
    let m = moto();
    let bucket = bucket_name("check");
    m.bucket(&bucket, false);
    let check = |key: &str, secret: &str| {
        let dir = tempfile::tempdir().unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tekkan"))
            .args(["files", "check", "--data-dir"])
            .arg(dir.path())
            .env("TEKKAN_FILES__KIND", "s3")
            .env("TEKKAN_FILES__ENDPOINT", &m.endpoint)
            .env("TEKKAN_FILES__REGION", &m.region)
            .env("TEKKAN_FILES__BUCKET", &bucket)
            .env("TEKKAN_FILES__PATH_STYLE", "true")
            .env("TEKKAN_FILES__ACCESS_KEY_ID", key)
            .env("TEKKAN_FILES__SECRET_ACCESS_KEY", secret)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    };
    let full = m.user(&unique("files"), FILE_ACTIONS);
    let (ok, text) = check(&full.key, &full.secret);
    assert!(ok && text.contains("read back and deleted"), "{text}");
    assert!(m.versions(&bucket).is_empty(), "the probe is gone");
    // Keys that may write but not delete: said before any photo is stored.
    let no_delete = m.user(&unique("files"), &["s3:PutObject", "s3:GetObject"]);
    let (ok, text) = check(&no_delete.key, &no_delete.secret);
    assert!(!ok && text.contains("file storage"), "{text}");
    let (ok, text) = check(&full.key, "wrong");
    assert!(!ok, "{text}");
    assert!(!text.contains(&full.secret), "{text}");
}
