//! The S3 client against a peer on loopback that misbehaves the ways real stores do:
//! an upload refused once with 503 (tried again, whole), a version listing spread over
//! several pages (every version deleted), and an object over 5 GiB (refused before a
//! byte is sent). The peer is plain HTTP/1.1 over a socket, scripted here.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tekkan_backup::DestError;
use tekkan_backup::s3::{S3, S3Settings};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[derive(Default)]
struct Seen {
    /// (method, path with query, body length)
    requests: Vec<(String, String, usize)>,
    puts_to_fail: usize,
}

/// Seven versions of `tekkan/b1.age`, listed two to a page.
const VERSIONS: [&str; 7] = ["v1", "v2", "v3", "v4", "v5", "v6", "v7"];

fn listing(query: &str) -> String {
    let marker = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("version-id-marker="))
        .unwrap_or("");
    let start = VERSIONS
        .iter()
        .position(|v| *v == marker)
        .map_or(0, |i| i + 1);
    let page: Vec<&str> = VERSIONS.iter().skip(start).take(2).copied().collect();
    let truncated = start + page.len() < VERSIONS.len();
    let mut xml = String::from("<ListVersionsResult>");
    xml.push_str(&format!("<IsTruncated>{truncated}</IsTruncated>"));
    for v in &page {
        xml.push_str(&format!(
            "<Version><Key>tekkan/b1.age</Key><VersionId>{v}</VersionId></Version>"
        ));
    }
    // Another object's versions are on the pages too, and must be left alone.
    xml.push_str("<Version><Key>tekkan/b2.age</Key><VersionId>other</VersionId></Version>");
    if truncated {
        xml.push_str(&format!(
            "<NextKeyMarker>tekkan/b1.age</NextKeyMarker><NextVersionIdMarker>{}</NextVersionIdMarker>",
            page.last().unwrap()
        ));
    }
    xml.push_str("</ListVersionsResult>");
    xml
}

async fn serve(seen: Arc<Mutex<Seen>>) -> String {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (mut s, _) = l.accept().await.unwrap();
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 65536];
                let head_end = loop {
                    let n = s.read(&mut chunk).await.unwrap();
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let mut first = head.lines().next().unwrap().split(' ');
                let (method, target) = (
                    first.next().unwrap().to_owned(),
                    first.next().unwrap().to_owned(),
                );
                let len: usize = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse().ok())?
                    })
                    .unwrap_or(0);
                while buf.len() - head_end < len {
                    let n = s.read(&mut chunk).await.unwrap();
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let (status, body) = {
                    let mut g = seen.lock().unwrap();
                    g.requests
                        .push((method.clone(), target.clone(), buf.len() - head_end));
                    let query = target.split_once('?').map_or("", |(_, q)| q);
                    match method.as_str() {
                        "GET" if query.starts_with("object-lock") => {
                            ("404 Not Found", String::new())
                        }
                        "GET" if query.contains("versions") => ("200 OK", listing(query)),
                        "PUT" if g.puts_to_fail > 0 => {
                            g.puts_to_fail -= 1;
                            (
                                "503 Service Unavailable",
                                "<Error><Code>SlowDown</Code></Error>".to_owned(),
                            )
                        }
                        "PUT" | "DELETE" => ("200 OK", String::new()),
                        _ => ("400 Bad Request", String::new()),
                    }
                };
                let res = format!(
                    "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = s.write_all(res.as_bytes()).await;
            });
        }
    });
    format!("http://{addr}")
}

fn client(endpoint: String) -> S3 {
    let _ = rustls::crypto::ring::default_provider().install_default();
    S3::new(S3Settings {
        endpoint,
        bucket: "b".into(),
        region: "ap-northeast-1".into(),
        access_key_id: "k".into(),
        secret_access_key: "s".into(),
        prefix: "tekkan/".into(),
        path_style: true,
        lock_days: 0,
        lock_mode: "COMPLIANCE".into(),
    })
    .unwrap()
    .with_retry_base(Duration::from_millis(20))
    .with_page_size(2)
}

#[tokio::test]
async fn a_put_refused_for_now_is_sent_again_whole() {
    let seen = Arc::new(Mutex::new(Seen {
        puts_to_fail: 2,
        ..Seen::default()
    }));
    let s3 = client(serve(seen.clone()).await);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("b1.age");
    std::fs::write(&file, vec![7u8; 100_000]).unwrap();
    s3.put("b1.age", &file).await.unwrap();
    let puts: Vec<usize> = seen
        .lock()
        .unwrap()
        .requests
        .iter()
        .filter(|r| r.0 == "PUT")
        .map(|r| r.2)
        .collect();
    assert_eq!(
        puts,
        vec![100_000; 3],
        "two refusals, then the whole file again"
    );

    // A peer that keeps refusing: the error says so after the last try.
    seen.lock().unwrap().puts_to_fail = 10;
    let e = s3.put("b1.age", &file).await.unwrap_err();
    assert!(matches!(e, DestError::Transient(_)), "{e}");
    let puts = seen
        .lock()
        .unwrap()
        .requests
        .iter()
        .filter(|r| r.0 == "PUT")
        .count();
    assert_eq!(puts, 3 + 4);
}

#[tokio::test]
async fn pruning_deletes_every_version_across_every_page() {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let s3 = client(serve(seen.clone()).await);
    s3.delete("b1.age").await.unwrap();
    let g = seen.lock().unwrap();
    let pages = g
        .requests
        .iter()
        .filter(|r| r.1.contains("versions"))
        .count();
    assert_eq!(pages, 4, "seven versions, two a page");
    let deleted: Vec<String> = g
        .requests
        .iter()
        .filter(|r| r.0 == "DELETE")
        .map(|r| r.1.split("versionId=").nth(1).unwrap().to_owned())
        .collect();
    assert_eq!(deleted, VERSIONS, "every version, none of another object's");
}

#[tokio::test]
async fn an_object_over_5_gib_is_refused_before_any_byte_is_sent() {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let s3 = client(serve(seen.clone()).await);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("huge.age");
    // Sparse: it takes no disk.
    std::fs::File::create(&file)
        .unwrap()
        .set_len(tekkan_backup::s3::MAX_SINGLE_PUT + 1)
        .unwrap();
    let e = s3.put("huge.age", &file).await.unwrap_err();
    assert!(matches!(e, DestError::TooLarge(_)), "{e}");
    assert!(e.to_string().contains("5 GiB"), "{e}");
    assert!(seen.lock().unwrap().requests.is_empty(), "nothing was sent");
}
