//! An S3-compatible bucket as a backup destination: PUT with Object Lock retention when
//! the bucket has Object Lock (retried with backoff when the peer fails for now; an
//! object over S3's 5 GiB single-upload limit is refused before any byte is sent), GET,
//! list, and (for `prune` only, under other credentials) deleting object versions,
//! every page of the version listing.

use std::path::Path;

use base64::Engine;
use tokio::io::AsyncWriteExt;

use crate::dest::{DestError, Object};
use crate::sigv4::{self, Credentials, Request};

const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// The largest object S3 takes in one PUT.
pub const MAX_SINGLE_PUT: u64 = 5 * 1024 * 1024 * 1024;

/// Tries of one upload; the waits before them grow fourfold from `retry_base`.
const PUT_TRIES: u32 = 4;

/// How to reach a bucket.
#[derive(Debug, Clone)]
pub struct S3Settings {
    /// `https://s3.ap-northeast-1.amazonaws.com`; plain `http://` only on loopback.
    pub endpoint: String,
    pub bucket: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Object names begin with this (`tekkan/`).
    pub prefix: String,
    /// Buckets addressed as `endpoint/bucket/key` rather than `bucket.endpoint/key`.
    pub path_style: bool,
    /// Days each backup is locked for when the bucket has Object Lock.
    pub lock_days: u32,
    /// `COMPLIANCE` (nobody, not even the account's root, can shorten it) or `GOVERNANCE`.
    pub lock_mode: String,
}

pub struct S3 {
    s: S3Settings,
    http: reqwest::Client,
    scheme: String,
    host: String,
    /// Whether the bucket has Object Lock, asked once (a backup uploads two objects).
    lock: tokio::sync::OnceCell<bool>,
    /// The wait before the second try of an upload (then 4x, 16x).
    retry_base: std::time::Duration,
    /// Entries asked for per listing page (S3's largest is 1,000).
    page_size: u32,
}

fn now_amz() -> String {
    jiff::Timestamp::now()
        .strftime("%Y%m%dT%H%M%SZ")
        .to_string()
}

/// The text of each `<tag>` in `xml`, entities decoded (S3's answers are simple XML).
pub(crate) fn tags<'a>(xml: &'a str, tag: &str) -> Vec<&'a str> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        let Some(j) = after.find(&close) else { break };
        out.push(&after[..j]);
        rest = &after[j + close.len()..];
    }
    out
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

impl S3 {
    pub fn new(s: S3Settings) -> Result<Self, DestError> {
        let (scheme, rest) = s
            .endpoint
            .trim_end_matches('/')
            .split_once("://")
            .ok_or_else(|| DestError::Config(format!("endpoint {:?} has no scheme", s.endpoint)))?;
        let (scheme, host) = (scheme.to_owned(), rest.to_owned());
        let bare = host.rsplit_once(':').map_or(host.as_str(), |(h, _)| h);
        let loopback = matches!(bare, "127.0.0.1" | "localhost" | "[::1]");
        match scheme.as_str() {
            "https" => {}
            "http" if loopback => {}
            _ => {
                return Err(DestError::Config(format!(
                    "endpoint {}: only https (plain http on loopback only)",
                    s.endpoint
                )));
            }
        }
        let http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(10))
            .timeout(std::time::Duration::from_secs(3600))
            .build()
            .map_err(|e| DestError::Config(e.to_string()))?;
        let host = match s.path_style {
            true => host,
            false => format!("{}.{host}", s.bucket),
        };
        Ok(Self {
            s,
            http,
            scheme,
            host,
            lock: tokio::sync::OnceCell::new(),
            retry_base: std::time::Duration::from_secs(1),
            page_size: 1000,
        })
    }

    /// Shorter waits between upload tries (tests).
    pub fn with_retry_base(mut self, d: std::time::Duration) -> Self {
        self.retry_base = d;
        self
    }

    /// Smaller listing pages (tests, and stores that cap pages lower).
    pub fn with_page_size(mut self, n: u32) -> Self {
        self.page_size = n.clamp(1, 1000);
        self
    }

    fn path(&self, key: Option<&str>) -> String {
        let key = key
            .map(|k| sigv4::uri_encode(&format!("{}{k}", self.s.prefix), true))
            .unwrap_or_default();
        match self.s.path_style {
            true => format!("/{}/{key}", self.s.bucket),
            false => format!("/{key}"),
        }
    }

    async fn send(
        &self,
        method: reqwest::Method,
        key: Option<&str>,
        query: &[(String, String)],
        extra: Vec<(String, String)>,
        body: Option<(reqwest::Body, &str)>,
    ) -> Result<reqwest::Response, DestError> {
        let path = self.path(key);
        let date = now_amz();
        let payload = body.as_ref().map_or(EMPTY_SHA256, |(_, h)| *h).to_owned();
        let mut headers = vec![
            ("host".to_owned(), self.host.clone()),
            ("x-amz-date".to_owned(), date.clone()),
            ("x-amz-content-sha256".to_owned(), payload.clone()),
        ];
        headers.extend(extra);
        let auth = sigv4::authorization(
            &Request {
                method: method.as_str(),
                path: &path,
                query,
                headers: &headers,
                payload_sha256: &payload,
            },
            &Credentials {
                access_key_id: &self.s.access_key_id,
                secret_access_key: &self.s.secret_access_key,
                region: &self.s.region,
            },
            &date,
        );
        let q = sigv4::canonical_query(query);
        let url = match q.is_empty() {
            true => format!("{}://{}{path}", self.scheme, self.host),
            false => format!("{}://{}{path}?{q}", self.scheme, self.host),
        };
        let mut rb = self.http.request(method, url).header("authorization", auth);
        for (k, v) in headers.iter().filter(|(k, _)| k != "host") {
            rb = rb.header(k, v);
        }
        if let Some((b, _)) = body {
            rb = rb.body(b);
        }
        let resp = rb
            .send()
            .await
            .map_err(|e| DestError::Unreachable(format!("{}: {e}", self.s.endpoint)))?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        let code = tags(&text, "Code")
            .first()
            .copied()
            .unwrap_or_default()
            .to_owned();
        let msg = format!("{status} {code}");
        Err(match (status.as_u16(), code.as_str()) {
            (404, _) => DestError::NotFound(msg),
            (_, "SlowDown" | "RequestTimeout" | "InternalError" | "ServiceUnavailable") => {
                DestError::Transient(msg)
            }
            (_, "AccessDenied" | "InvalidAccessKeyId" | "SignatureDoesNotMatch") => {
                DestError::Denied(msg)
            }
            (507, _) | (_, "QuotaExceeded" | "EntityTooLarge" | "InsufficientStorage") => {
                DestError::Full(msg)
            }
            (429 | 500..=599, _) => DestError::Transient(msg),
            _ => DestError::Other(msg),
        })
    }

    /// The prefix sent when listing: the configured one up to its first `/`, the rest
    /// filtered here. Servers disagree on how a `/` in a signed query is canonicalised
    /// (AWS encodes it, moto does not); without one, every server agrees.
    fn list_prefix(&self) -> String {
        self.s
            .prefix
            .split('/')
            .next()
            .unwrap_or_default()
            .to_owned()
    }

    /// Whether the bucket has Object Lock (then every upload is retained).
    pub async fn object_lock(&self) -> Result<bool, DestError> {
        let q = [("object-lock".to_owned(), String::new())];
        match self
            .send(reqwest::Method::GET, None, &q, vec![], None)
            .await
        {
            Ok(r) => Ok(r
                .text()
                .await
                .unwrap_or_default()
                .contains("<ObjectLockEnabled>Enabled")),
            Err(DestError::NotFound(_)) => Ok(false),
            Err(DestError::Other(m)) if m.contains("ObjectLockConfigurationNotFound") => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Uploads `file` as `key`, retained when the bucket has Object Lock; returns the
    /// retention date. A failure that may pass is tried again, up to four tries over
    /// about 20 seconds; each try sends the whole file again.
    pub async fn put(&self, key: &str, file: &Path) -> Result<Option<String>, DestError> {
        let len = std::fs::metadata(file).map_err(DestError::local)?.len();
        if len > MAX_SINGLE_PUT {
            return Err(DestError::TooLarge(format!(
                "{key} is {:.2} GiB; an S3 upload takes at most 5 GiB in one object: \
                 nothing was sent (back up to a directory destination, or prune old data)",
                len as f64 / (1u64 << 30) as f64
            )));
        }
        let (bytes_sha, md5) = digests(file)
            .map_err(|e| DestError::Other(format!("reading {}: {e}", file.display())))?;
        let b64 = base64::engine::general_purpose::STANDARD;
        let raw = hex::decode(&bytes_sha).map_err(|e| DestError::Other(e.to_string()))?;
        let mut extra = vec![
            ("x-amz-checksum-sha256".to_owned(), b64.encode(raw)),
            ("content-md5".to_owned(), b64.encode(md5)),
            ("content-length".to_owned(), len.to_string()),
        ];
        let locked = *self
            .lock
            .get_or_try_init(|| self.retrying("asking for Object Lock", || self.object_lock()))
            .await?;
        let until = match locked && self.s.lock_days > 0 {
            true => {
                let t = jiff::Timestamp::now()
                    + jiff::SignedDuration::from_hours(24 * i64::from(self.s.lock_days));
                let t = t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
                extra.push((
                    "x-amz-object-lock-mode".to_owned(),
                    self.s.lock_mode.clone(),
                ));
                extra.push(("x-amz-object-lock-retain-until-date".to_owned(), t.clone()));
                Some(t)
            }
            false => {
                tracing::warn!(
                    bucket = %self.s.bucket,
                    "bucket without Object Lock: anyone holding delete rights can destroy these backups"
                );
                None
            }
        };
        self.retrying("upload", || async {
            let f = tokio::fs::File::open(file)
                .await
                .map_err(DestError::local)?;
            self.send(
                reqwest::Method::PUT,
                Some(key),
                &[],
                extra.clone(),
                Some((f.into(), &bytes_sha)),
            )
            .await
        })
        .await?;
        Ok(until)
    }

    /// Runs `op` until it succeeds, fails in a way that will not pass, or has been
    /// tried [`PUT_TRIES`] times; the waits between tries grow fourfold from
    /// `retry_base`.
    async fn retrying<T, F, Fut>(&self, what: &str, mut op: F) -> Result<T, DestError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, DestError>>,
    {
        let mut wait = self.retry_base;
        let mut tries = 1;
        loop {
            match op().await {
                Err(e @ (DestError::Transient(_) | DestError::Unreachable(_)))
                    if tries < PUT_TRIES =>
                {
                    tracing::warn!(bucket = %self.s.bucket, error = %e, ?wait, "{what} failed, will retry");
                    tokio::time::sleep(wait).await;
                    wait *= 4;
                    tries += 1;
                }
                r => return r,
            }
        }
    }

    pub async fn get(&self, key: &str, to: &Path) -> Result<(), DestError> {
        let mut resp = self
            .send(reqwest::Method::GET, Some(key), &[], vec![], None)
            .await?;
        let mut f = tokio::fs::File::create(to)
            .await
            .map_err(DestError::local)?;
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| DestError::Unreachable(e.to_string()))?
        {
            f.write_all(&chunk).await.map_err(DestError::local)?;
        }
        f.sync_all().await.map_err(DestError::local)?;
        Ok(())
    }

    /// A bucket-level GET whose answer is XML (listings).
    async fn get_xml(&self, query: &[(String, String)]) -> Result<String, DestError> {
        self.send(reqwest::Method::GET, None, query, vec![], None)
            .await?
            .text()
            .await
            .map_err(|e| DestError::Unreachable(e.to_string()))
    }

    pub async fn list(&self) -> Result<Vec<Object>, DestError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut q = vec![
                ("list-type".to_owned(), "2".to_owned()),
                ("prefix".to_owned(), self.list_prefix()),
                ("max-keys".to_owned(), self.page_size.to_string()),
            ];
            if let Some(t) = &token {
                q.push(("continuation-token".to_owned(), t.clone()));
            }
            let xml = self.get_xml(&q).await?;
            for c in tags(&xml, "Contents") {
                let key = unescape(tags(c, "Key").first().copied().unwrap_or_default());
                let size = tags(c, "Size")
                    .first()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                if let Some(k) = key.strip_prefix(&self.s.prefix) {
                    out.push(Object {
                        key: k.to_owned(),
                        size,
                    });
                }
            }
            token = tags(&xml, "NextContinuationToken")
                .first()
                .map(|t| unescape(t));
            if token.is_none() || !xml.contains("<IsTruncated>true") {
                return Ok(out);
            }
        }
    }

    /// Deletes every version of `key` (pruning: needs credentials the server lacks).
    pub async fn delete(&self, key: &str) -> Result<(), DestError> {
        let mut versions = self.versions_of(key).await?;
        if versions.is_empty() {
            versions.push("null".to_owned());
        }
        for v in versions {
            let q = [("versionId".to_owned(), v)];
            self.send(reqwest::Method::DELETE, Some(key), &q, vec![], None)
                .await?;
        }
        Ok(())
    }

    /// Every version id (and delete marker) of `key`, across every page of the listing:
    /// a bucket with more versions than one page holds must not keep the rest.
    async fn versions_of(&self, key: &str) -> Result<Vec<String>, DestError> {
        let full = format!("{}{key}", self.s.prefix);
        let mut versions: Vec<String> = Vec::new();
        let mut marker: Option<(String, String)> = None;
        loop {
            let mut q = vec![
                ("versions".to_owned(), String::new()),
                ("prefix".to_owned(), self.list_prefix()),
                ("max-keys".to_owned(), self.page_size.to_string()),
            ];
            if let Some((k, v)) = &marker {
                q.push(("key-marker".to_owned(), k.clone()));
                q.push(("version-id-marker".to_owned(), v.clone()));
            }
            let xml = self.get_xml(&q).await?;
            for tag in ["Version", "DeleteMarker"] {
                for v in tags(&xml, tag) {
                    if unescape(tags(v, "Key").first().copied().unwrap_or_default()) == full {
                        versions.extend(tags(v, "VersionId").first().map(|s| unescape(s)));
                    }
                }
            }
            if !xml.contains("<IsTruncated>true") {
                return Ok(versions);
            }
            let next = (
                tags(&xml, "NextKeyMarker").first().map(|s| unescape(s)),
                tags(&xml, "NextVersionIdMarker")
                    .first()
                    .map(|s| unescape(s)),
            );
            let next = match next {
                (Some(k), v) => Some((k, v.unwrap_or_default())),
                (None, _) => None,
            };
            if next.is_none() || next == marker {
                return Err(DestError::Other(
                    "the version listing is truncated but gives no next marker".into(),
                ));
            }
            marker = next;
        }
    }
}

/// The SHA-256 (hex) and MD5 of a file, in one read.
fn digests(file: &Path) -> std::io::Result<(String, [u8; 16])> {
    use md5::Digest as _;
    use std::io::Read;
    let mut f = std::io::BufReader::new(std::fs::File::open(file)?);
    let (mut sha, mut md5) = (<sha2::Sha256 as sha2::Digest>::new(), md5::Md5::new());
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        sha2::Digest::update(&mut sha, &buf[..n]);
        md5.update(&buf[..n]);
    }
    Ok((
        hex::encode(sha2::Digest::finalize(sha)),
        md5.finalize().into(),
    ))
}
