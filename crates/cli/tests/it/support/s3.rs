//! A real S3-compatible server (moto, from `scripts/s3-test-server.py`) on 127.0.0.1,
//! one per test process, with IAM enforced; tests ask it for buckets and users.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use serde_json::{Value, json};

pub struct Moto {
    pub endpoint: String,
    pub region: String,
    io: Mutex<(ChildStdin, BufReader<ChildStdout>)>,
    _child: Child,
}

/// Keys of an IAM user.
pub struct User {
    pub key: String,
    pub secret: String,
}

/// What the backup server's own credentials may do: no delete of any kind.
pub const SERVER_ACTIONS: &[&str] = &[
    "s3:PutObject",
    "s3:PutObjectRetention",
    "s3:GetObject",
    "s3:ListBucket",
    "s3:GetBucketObjectLockConfiguration",
];

pub fn moto() -> &'static Moto {
    static M: OnceLock<Moto> = OnceLock::new();
    M.get_or_init(|| {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../scripts/s3-test-server.py"
        );
        let log = std::env::temp_dir().join(format!("tekkan-moto-{}.log", std::process::id()));
        // scripts/install-test-deps puts moto in the project's own environment.
        let venv = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../target/test-venv/bin/python3"
        );
        let python = match std::path::Path::new(venv).exists() {
            true => venv,
            false => "python3",
        };
        let mut child = Command::new(python)
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("python3 with moto (scripts/install-test-deps installs it)");
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        let v: Value = serde_json::from_str(&line)
            .unwrap_or_else(|_| panic!("moto did not start; see {}", log.display()));
        Moto {
            endpoint: v["endpoint"].as_str().unwrap().to_owned(),
            region: v["region"].as_str().unwrap().to_owned(),
            io: Mutex::new((child.stdin.take().unwrap(), out)),
            _child: child,
        }
    })
}

impl Moto {
    fn ask(&self, cmd: Value) -> Value {
        let mut io = self.io.lock().unwrap();
        writeln!(io.0, "{cmd}").unwrap();
        io.0.flush().unwrap();
        let mut line = String::new();
        io.1.read_line(&mut line).unwrap();
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["ok"], true, "moto: {cmd} -> {v}");
        v
    }

    pub fn bucket(&self, name: &str, lock: bool) {
        self.ask(json!({"op": "bucket", "name": name, "lock": lock}));
    }

    pub fn user(&self, name: &str, actions: &[&str]) -> User {
        let v = self.ask(json!({"op": "user", "name": name, "actions": actions}));
        User {
            key: v["key"].as_str().unwrap().to_owned(),
            secret: v["secret"].as_str().unwrap().to_owned(),
        }
    }

    /// As an attacker holding the account's administrator keys: tries to delete every
    /// object version; returns how many deletions were refused.
    pub fn delete_everything(&self, bucket: &str) -> u64 {
        self.ask(json!({"op": "delete_all", "bucket": bucket}))["refused"]
            .as_u64()
            .unwrap()
    }

    /// As someone with administrator keys: writes `body` at `key`, over whatever is there.
    pub fn put(&self, bucket: &str, key: &str, body: &str) {
        self.ask(json!({"op": "put", "bucket": bucket, "key": key, "body": body}));
    }

    /// The keys of every object version in the bucket.
    pub fn versions(&self, bucket: &str) -> Vec<String> {
        self.ask(json!({"op": "versions", "bucket": bucket}))["versions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    }
}
