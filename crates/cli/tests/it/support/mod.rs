//! `TestApp`: starts the real server on 127.0.0.1 port 0 with a fresh data directory,
//! and a small HTTP client that keeps cookies and CSRF tokens like a browser.

use tekkan_storage::sql as raw;
pub mod balancer;
pub mod cdp;
pub mod fixture;
pub mod peers;
pub mod pg;
pub mod s3;
pub mod tmpfs;

use std::collections::BTreeMap;
use std::path::PathBuf;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tekkan_cli::config::Config;
use tekkan_cli::{Running, ServeOptions};

pub struct TestAppBuilder {
    cfg: Config,
    demo: bool,
    dir: Option<tempfile::TempDir>,
    /// The data directory belongs to another running instance.
    shared_dir: bool,
}

impl TestAppBuilder {
    pub fn open_signup(mut self, on: bool) -> Self {
        self.cfg.accounts.open_signup = on;
        self
    }

    pub fn demo(mut self) -> Self {
        self.demo = true;
        self
    }

    /// Sends e-mail to a local SMTP server on `port` (no TLS: loopback only).
    pub fn mail_to(self, port: u16) -> Self {
        self.configure(move |c| {
            c.mail.host = "127.0.0.1".into();
            c.mail.port = port;
            c.mail.security = "none".into();
            c.mail.from = "TEKKAN <noreply@tekkan.test>".into();
        })
    }

    pub fn configure(mut self, f: impl FnOnce(&mut Config)) -> Self {
        f(&mut self.cfg);
        self
    }

    /// Another instance of `other`'s service: the same data directory (keys) and the
    /// same database, running beside it.
    pub fn instance_of(mut self, other: &TestApp) -> Self {
        self.cfg.data_dir = other.data_dir();
        self.cfg.database.url = other.db_url.clone();
        self.shared_dir = true;
        self
    }

    /// Another instance of `other`'s service on a machine of its own: a data directory
    /// of its own holding only copies of the key files (as an operator deploys them),
    /// and `other`'s database and data key store named by URL.
    pub fn instance_elsewhere(mut self, other: &TestApp) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let secrets = dir.path().join("secrets");
        std::fs::create_dir_all(&secrets).unwrap();
        for f in std::fs::read_dir(other.data_dir().join("secrets"))
            .unwrap()
            .flatten()
        {
            if f.path().extension().is_some_and(|e| e == "key") {
                std::fs::copy(f.path(), secrets.join(f.file_name())).unwrap();
            }
        }
        self.cfg.database.url = Some(other.location().url());
        self.cfg.database.keys_url = Some(other.keystore_location().url());
        self.cfg.data_dir = dir.path().to_path_buf();
        self.dir = Some(dir);
        self
    }

    /// Reuse the data directory of an earlier (stopped) app.
    pub fn data_dir(mut self, dir: tempfile::TempDir) -> Self {
        self.cfg.data_dir = dir.path().to_path_buf();
        self.dir = Some(dir);
        self
    }

    pub async fn start(self) -> TestApp {
        tekkan_cli::install_crypto_provider();
        if std::env::var_os("TEKKAN_TEST_LOG").is_some() {
            let _ = tracing_subscriber::fmt().with_test_writer().try_init();
        }
        let fresh_dir = self.dir.is_none() && !self.shared_dir;
        let dir = match (self.dir, self.shared_dir) {
            (Some(d), _) => Some(d),
            (None, true) => None,
            (None, false) => Some(tempfile::tempdir().unwrap()),
        };
        let mut cfg = self.cfg;
        if let Some(d) = &dir {
            cfg.data_dir = d.path().to_path_buf();
        }
        if cfg.database.url.is_none() {
            cfg.database.url = pg::url_for(&cfg.data_dir, fresh_dir);
        }
        let running = tekkan_cli::start(
            &cfg,
            &ServeOptions { demo: self.demo },
            std::future::pending(),
        )
        .await
        .unwrap();
        TestApp {
            base: running.base_url.clone(),
            running: Some(running),
            data_dir: cfg.data_dir.clone(),
            dir,
            db_url: cfg.database.url.clone(),
        }
    }
}

pub struct TestApp {
    pub base: String,
    pub running: Option<Running>,
    data_dir: PathBuf,
    dir: Option<tempfile::TempDir>,
    db_url: Option<String>,
}

impl TestApp {
    /// Open sign-up is on by default here so that tests can make users quickly; tests
    /// of the closed default turn it off.
    pub fn builder() -> TestAppBuilder {
        let mut cfg = Config::default();
        cfg.server.listen = "127.0.0.1:0".parse().unwrap();
        cfg.accounts.open_signup = true;
        // Every test client comes from 127.0.0.1: the per-address limits are lifted
        // here and tested on their own in `throttle`.
        // Mandatory two-step verification is tested in `mfa`; elsewhere owners and
        // officers act without enrolling.
        cfg.accounts.enforce_mfa = false;
        // Sign-up confirmed by e-mail is tested in `recovery`; elsewhere the helper
        // makes accounts at once, mail server or not.
        cfg.accounts.confirm_signup = false;
        let many = (1_000_000, 3600);
        cfg.limits.login_per_address = many;
        cfg.limits.login_failures_per_address = many;
        cfg.limits.signups_per_address = many;
        cfg.limits.invitation_lookups_per_address = many;
        cfg.limits.reset_requests_per_address = many;
        cfg.limits.exports_per_address = many;
        TestAppBuilder {
            cfg,
            demo: false,
            dir: None,
            shared_dir: false,
        }
    }

    pub async fn start() -> TestApp {
        Self::builder().start().await
    }

    pub fn running(&self) -> &Running {
        self.running.as_ref().unwrap()
    }

    pub fn data_dir(&self) -> PathBuf {
        self.data_dir.clone()
    }

    /// Where the instance itself listens (`base` is the public address).
    pub fn own_url(&self) -> String {
        format!("http://{}", self.running().addr)
    }

    pub fn db_file(&self) -> PathBuf {
        self.data_dir().join("tekkan.sqlite3")
    }

    pub fn client(&self) -> Client {
        Client::new(&self.base)
    }

    /// Stops a server that shares another's data directory (`instance_of`).
    pub async fn stop_instance(mut self) {
        self.running.take().unwrap().stop().await.unwrap();
    }

    /// Stops the server and hands back its data directory.
    pub async fn stop(mut self) -> tempfile::TempDir {
        self.running.take().unwrap().stop().await.unwrap();
        self.dir.take().unwrap()
    }

    /// Signs up a user (open sign-up, or with `invitation`) and returns a client
    /// holding its bearer token.
    pub async fn sign_up(&self, name: &str, invitation: Option<&str>) -> Client {
        sign_up_at(&self.base, name, invitation).await
    }

    /// One API login from a fresh client; returns the status and body.
    pub async fn log_in(&self, email: &str, password: &str) -> (StatusCode, Value) {
        self.client()
            .api(
                Method::POST,
                "/api/v1/session",
                Some(json!({"email": email, "password": password})),
            )
            .await
    }

    /// A raw connection to the data key store (kept apart from the database).
    pub async fn raw_keystore(&self) -> raw::Conn {
        raw::connect(&self.keystore_location()).await.unwrap()
    }

    /// The bytes the data key store keeps at rest, as a thief of its files would read
    /// them: the SQLite file, or the file of PostgreSQL's key table (the cluster's
    /// write-ahead log keeps it too, for as long as the operator keeps WAL).
    pub async fn keystore_bytes(&self) -> Vec<u8> {
        match self.keystore_location() {
            tekkan_storage::Location::Sqlite(file) => std::fs::read(file).unwrap(),
            tekkan_storage::Location::Postgres(_) => {
                let mut ks = self.raw_keystore().await;
                // Whatever is in shared buffers reaches the file first.
                raw::q("CHECKPOINT").execute(&mut ks).await.unwrap();
                let file: String = raw::scalar(
                    "SELECT current_setting('data_directory') || '/' \
                     || pg_relation_filepath('data_keys')",
                )
                .fetch_one(&mut ks)
                .await
                .unwrap();
                std::fs::read(file).unwrap()
            }
        }
    }

    /// Where this app's data key store is: beside its database, by default.
    pub fn keystore_location(&self) -> tekkan_storage::Location {
        tekkan_storage::KeyStore::default_location(
            &self.location(),
            &tekkan_cli::keystore_path(&self.data_dir()),
        )
        .unwrap()
    }

    /// How many audit entries have this action.
    pub async fn audit_count(&self, action: &str) -> i64 {
        let mut db = self.raw_db().await;
        raw::scalar("SELECT COUNT(*) FROM audit_log WHERE action = $1")
            .bind(action)
            .fetch_one(&mut db)
            .await
            .unwrap()
    }

    /// Where this app's database is: its SQLite file, or its PostgreSQL database.
    pub fn location(&self) -> tekkan_storage::Location {
        match &self.db_url {
            Some(url) => tekkan_storage::Location::parse(url),
            None => tekkan_storage::Location::Sqlite(self.db_file()),
        }
    }

    /// Every byte the database holds at rest, as someone who copies its files would
    /// read them: SQLite's file and WAL; PostgreSQL's files of this database and the
    /// cluster's write-ahead log.
    pub async fn stored_bytes(&self) -> Vec<u8> {
        let mut all = Vec::new();
        match self.location() {
            tekkan_storage::Location::Sqlite(file) => {
                all.extend(std::fs::read(&file).unwrap());
                all.extend(std::fs::read(format!("{}-wal", file.display())).unwrap_or_default());
            }
            tekkan_storage::Location::Postgres(_) => {
                let mut db = self.raw_db().await;
                let data: String = raw::scalar("SELECT current_setting('data_directory')")
                    .fetch_one(&mut db)
                    .await
                    .unwrap();
                let oid: String = raw::scalar(
                    "SELECT oid::text FROM pg_database WHERE datname = current_database()",
                )
                .fetch_one(&mut db)
                .await
                .unwrap();
                let data = std::path::Path::new(&data);
                for dir in [data.join("base").join(oid), data.join("pg_wal")] {
                    for f in std::fs::read_dir(dir).unwrap().flatten() {
                        if f.path().is_file() {
                            all.extend(std::fs::read(f.path()).unwrap_or_default());
                        }
                    }
                }
            }
        }
        all
    }

    /// A raw connection to the database, as an attacker or auditor would open it.
    /// A raw connection to this app's database, once every audit entry committed so far
    /// has its place in the chain (on PostgreSQL writes queue their entries for the
    /// integrator, which runs every few milliseconds; a test reading the log right after
    /// a write must not race it).
    pub async fn raw_db(&self) -> raw::Conn {
        self.settle_log().await;
        raw::connect(&self.location()).await.unwrap()
    }

    /// The sequence number of the entry a `Tekkan-Receipt` is for: its leaf index + 1
    /// (V1, SQLite), or where the integrator placed the promised content (V2, PostgreSQL).
    pub async fn seq_of_receipt(&self, receipt: &str) -> i64 {
        use tekkan_audit::signed::AnyReceipt;
        match AnyReceipt::parse(receipt).unwrap() {
            AnyReceipt::Placed(r) => r.index as i64 + 1,
            AnyReceipt::Promised(p) => {
                let mut db = self.raw_db().await;
                raw::scalar("SELECT seq FROM audit_log WHERE content_hash = $1")
                    .bind(tekkan_audit::to_hex(&p.content))
                    .fetch_one(&mut db)
                    .await
                    .unwrap()
            }
        }
    }

    /// Links the queued audit entries now (nothing to do on SQLite).
    pub async fn settle_log(&self) {
        if let Some(r) = &self.running {
            r.app.integrate_log(true).await.unwrap();
        }
    }
}

/// A raw connection to the database of the app whose data directory is `dir` (stopped
/// or running): its SQLite file, or on PostgreSQL runs the database noted in `dir`.
/// Where the database of the data directory `dir` is: its SQLite file, or on
/// PostgreSQL runs the database the suite made for it.
pub fn location_of(dir: &std::path::Path) -> tekkan_storage::Location {
    match pg::url_for(dir, false) {
        Some(url) => tekkan_storage::Location::Postgres(url),
        None => tekkan_storage::Location::Sqlite(dir.join("tekkan.sqlite3")),
    }
}

pub async fn raw_db_at(dir: &std::path::Path) -> raw::Conn {
    raw::connect(&location_of(dir)).await.unwrap()
}

/// What the database of the app in `dir` holds, to compare before and after: the
/// SQLite file's bytes, or on PostgreSQL a digest of every row of every table.
pub async fn fingerprint(dir: &std::path::Path) -> Vec<u8> {
    let Some(url) = pg::url_for(dir, false) else {
        return std::fs::read(dir.join("tekkan.sqlite3")).unwrap();
    };
    let mut db = raw::connect(&tekkan_storage::Location::parse(&url))
        .await
        .unwrap();
    let tables: Vec<String> = raw::scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = current_schema() ORDER BY 1",
    )
    .fetch_all(&mut db)
    .await
    .unwrap();
    let mut out = Vec::new();
    for t in tables {
        let digest: Option<String> = raw::Scalar::new(format!(
            "SELECT md5(string_agg(x::text, '|' ORDER BY x::text)) FROM {t} x"
        ))
        .fetch_one(&mut db)
        .await
        .unwrap();
        out.extend(format!("{t}:{}\n", digest.unwrap_or_default()).into_bytes());
    }
    out
}

/// A raw connection to the SQLite file at `path` (a copy, a restored file).
pub async fn raw_sqlite(path: &std::path::Path) -> raw::Conn {
    raw::connect(&tekkan_storage::Location::Sqlite(path.to_path_buf()))
        .await
        .unwrap()
}

/// Runs a statement of a test's own (an attacker's edit), written for SQLite: on
/// PostgreSQL, `DROP TRIGGER t_no_update` names its table (`ON t`) as it must there.
pub async fn exec(db: &mut raw::Conn, sql: &str) {
    let mut sql = sql.to_owned();
    if db.is_postgres()
        && let Some(name) = sql.strip_prefix("DROP TRIGGER ")
    {
        let name = name.trim().to_owned();
        let table = name
            .trim_end_matches("_no_update")
            .trim_end_matches("_no_delete");
        sql = format!("DROP TRIGGER {name} ON {table}");
    }
    raw::q_built(sql).execute(db).await.unwrap();
}

/// The names of `table`'s columns, in order.
pub async fn columns_of(db: &mut raw::Conn, table: &str) -> Vec<String> {
    let sql = if db.is_postgres() {
        "SELECT column_name::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position"
    } else {
        "SELECT name FROM pragma_table_info($1)"
    };
    raw::Scalar::new(sql.to_owned())
        .bind(table)
        .fetch_all(db)
        .await
        .unwrap()
}

/// Takes the database's write lock on `db` and keeps it until `ROLLBACK` (another
/// writer holding the database): SQLite's BEGIN IMMEDIATE, PostgreSQL's advisory lock
/// that every TEKKAN write takes.
pub async fn hold_writes(db: &mut raw::Conn) {
    if db.is_postgres() {
        raw::q("BEGIN").execute(&mut *db).await.unwrap();
        raw::q("SELECT pg_advisory_xact_lock($1)")
            .bind(raw::WRITE_LOCK)
            .execute(&mut *db)
            .await
            .unwrap();
    } else {
        raw::q("BEGIN IMMEDIATE").execute(&mut *db).await.unwrap();
    }
}

/// A row of a few columns, decoded as a tuple.
pub trait Tuple: Sized {
    fn from_row(r: &raw::Row) -> Self;
}

impl<A: raw::Col, B: raw::Col> Tuple for (A, B) {
    fn from_row(r: &raw::Row) -> Self {
        (r.get(0usize), r.get(1usize))
    }
}

impl<A: raw::Col, B: raw::Col, C: raw::Col> Tuple for (A, B, C) {
    fn from_row(r: &raw::Row) -> Self {
        (r.get(0usize), r.get(1usize), r.get(2usize))
    }
}

/// Runs `q` for one row and decodes it as a tuple.
pub async fn tuple<T: Tuple>(q: raw::Query<'_>, db: &mut raw::Conn) -> T {
    T::from_row(&q.fetch_one(db).await.unwrap())
}

/// The `code` of an API error body ("" when there is none).
pub fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("")
}

/// Runs the `tekkan` binary with `args`; whether it succeeded, and all it printed.
pub fn tekkan<I, A>(args: I) -> (bool, String)
where
    I: IntoIterator<Item = A>,
    A: AsRef<std::ffi::OsStr>,
{
    use pg::WithDatabase as _;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tekkan"))
        .args(args)
        .db()
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Runs a `tekkan` command (such as `["audit", "verify"]`) on the data directory `dir`.
pub fn tekkan_on(command: &[&str], dir: &std::path::Path) -> (bool, String) {
    let mut args: Vec<&std::ffi::OsStr> = command.iter().map(|a| a.as_ref()).collect();
    args.push("--data-dir".as_ref());
    args.push(dir.as_os_str());
    tekkan(args)
}

/// Signs up a user at the server on `base` (open sign-up, or with `invitation`) and
/// returns a client holding its bearer token.
pub async fn sign_up_at(base: &str, name: &str, invitation: Option<&str>) -> Client {
    let mut c = Client::new(base);
    let email = format!("{}@example.jp", unique(name));
    let body = json!({"email": email, "display_name": name, "password": "a long enough passphrase", "invitation": invitation});
    let (s, v) = c.api(Method::POST, "/api/v1/accounts", Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    c.bearer = Some(v["token"].as_str().unwrap().to_owned());
    c.email = email;
    c.joined = v.get("joined").cloned();
    c
}

/// A name no other test uses.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let ascii: String = prefix.chars().filter(char::is_ascii_alphanumeric).collect();
    format!(
        "{}{}-{}",
        if ascii.is_empty() { "u" } else { &ascii },
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A client that keeps cookies, and a bearer token for the API.
#[derive(Clone)]
pub struct Client {
    pub base: String,
    http: reqwest::Client,
    pub cookies: BTreeMap<String, String>,
    pub bearer: Option<String>,
    pub email: String,
    pub joined: Option<Value>,
}

pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Page {
    /// The body as JSON: `null` when empty, a JSON string when it is not JSON.
    pub fn json(&self) -> Value {
        if self.body.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&self.body).unwrap_or(Value::String(self.body.clone()))
        }
    }

    /// The CSRF token of the first form on the page.
    pub fn csrf(&self) -> String {
        let i = self
            .body
            .find("name=\"_csrf\" value=\"")
            .expect("page has a form")
            + 20;
        self.body[i..i + self.body[i..].find('"').unwrap()].to_owned()
    }
}

impl Client {
    pub fn new(base: &str) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self {
            base: base.to_owned(),
            http,
            cookies: BTreeMap::new(),
            bearer: None,
            email: String::new(),
            joined: None,
        }
    }

    /// Uses the bearer token as the session cookie instead (the same session), as a
    /// browser would hold it.
    pub fn as_browser(&self) -> Client {
        let mut c = Client::new(&self.base);
        if let Some(t) = &self.bearer {
            c.cookies.insert("tekkan_session".into(), t.clone());
        }
        c.email = self.email.clone();
        c
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep_cookies(&mut self, h: &reqwest::header::HeaderMap) {
        for v in h.get_all(reqwest::header::SET_COOKIE) {
            let s = v.to_str().unwrap();
            let (kv, _) = s.split_once(';').unwrap_or((s, ""));
            let (k, val) = kv.split_once('=').unwrap();
            if s.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), val.to_owned());
            }
        }
    }

    pub async fn raw(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Page {
        let mut rb = self
            .http
            .request(method, format!("{}{path}", self.base))
            .body(body);
        if !self.cookies.is_empty() {
            rb = rb.header("cookie", self.cookie_header());
        }
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        let res = rb.send().await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        self.keep_cookies(&headers);
        let location = headers
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned());
        let body = res.text().await.unwrap();
        Page {
            status,
            location,
            headers,
            body,
        }
    }

    /// A JSON API call with the bearer token (if any).
    pub async fn api(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let p = self.api_page(method, path, body, &[]).await;
        (p.status, p.json())
    }

    /// Like [`Client::api`], with `extra` headers, returning the whole response (for
    /// its headers: receipts, say).
    pub async fn api_page(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Value>,
        extra: &[(&str, &str)],
    ) -> Page {
        let auth = self.bearer.as_ref().map(|t| format!("Bearer {t}"));
        let mut headers: Vec<(&str, &str)> = vec![("content-type", "application/json")];
        if let Some(a) = &auth {
            headers.push(("authorization", a));
        }
        headers.extend_from_slice(extra);
        let bytes = body
            .map(|b| serde_json::to_vec(&b).unwrap())
            .unwrap_or_default();
        self.raw(method, path, &headers, bytes).await
    }

    pub async fn get(&mut self, path: &str) -> Page {
        self.raw(Method::GET, path, &[], Vec::new()).await
    }

    /// Posts a form the way a browser does: with the CSRF token of `form_page`.
    pub async fn post_form(&mut self, path: &str, csrf: &str, fields: &[(&str, &str)]) -> Page {
        let mut all: Vec<(&str, &str)> = vec![("_csrf", csrf)];
        all.extend_from_slice(fields);
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(all)
            .finish();
        self.raw(
            Method::POST,
            path,
            &[("content-type", "application/x-www-form-urlencoded")],
            body.into_bytes(),
        )
        .await
    }

    /// Creates a club through the API (asserting it worked) and returns its id.
    pub async fn create_club(&mut self, name: &str) -> String {
        let (s, v) = self
            .api(Method::POST, "/api/v1/clubs", Some(json!({ "name": name })))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["id"].as_str().unwrap().to_owned()
    }

    /// The CSRF token this client's pages carry (fetched from a page with a form).
    pub async fn csrf(&mut self) -> String {
        self.get("/login").await.csrf()
    }
}
