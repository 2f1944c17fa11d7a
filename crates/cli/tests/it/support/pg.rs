//! The PostgreSQL side of the suite. With `PG_TEST_CLUSTER` set to a cluster's
//! maintenance URL (`scripts/test` starts one with `scripts/pg-test-cluster`), every
//! data directory a test uses gets a database of its own in that cluster instead of a
//! SQLite file. The database's name is noted in the directory, so an app restarted on
//! the same directory, and a `tekkan` command run on it, find the same data.

use std::path::Path;
use std::process::Command;

/// The maintenance URL of the test cluster, when the suite runs on PostgreSQL.
pub fn cluster() -> Option<String> {
    std::env::var("PG_TEST_CLUSTER")
        .ok()
        .filter(|u| !u.is_empty())
}

/// The URL of `dir`'s database: a new one for a new directory (or when `fresh`), the
/// same one again for a directory used before. `None` on SQLite runs.
pub fn url_for(dir: &Path, fresh: bool) -> Option<String> {
    let cluster = cluster()?;
    let note = dir.join(".test-database");
    let name = match (fresh, std::fs::read_to_string(&note)) {
        (false, Ok(name)) => name,
        _ => {
            let name = format!("t_{}", crate::support::unique("db").replace('-', "_"));
            create_database(&cluster, &name);
            std::fs::write(&note, &name).unwrap();
            name
        }
    };
    let base = cluster.rsplit_once('/').map(|(b, _)| b).unwrap_or(&cluster);
    Some(format!("{base}/{name}"))
}

/// Creates database `name` in the cluster whose maintenance URL is `cluster`.
fn create_database(cluster: &str, name: &str) {
    let out = Command::new("psql")
        .args(["-q", "-v", "ON_ERROR_STOP=1", cluster, "-c"])
        .arg(format!("CREATE DATABASE {name}"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A `tekkan` command with `--data-dir DIR`: on PostgreSQL runs, pointed at DIR's
/// database as well (`TEKKAN_DATABASE__URL`).
pub trait WithDatabase {
    fn db(&mut self) -> &mut Self;
}

impl WithDatabase for Command {
    fn db(&mut self) -> &mut Self {
        let args: Vec<_> = self.get_args().map(|a| a.to_owned()).collect();
        let dir = args
            .iter()
            .position(|a| a == "--data-dir")
            .and_then(|i| args.get(i + 1));
        if let Some(url) = dir.and_then(|d| url_for(Path::new(d), false)) {
            self.env("TEKKAN_DATABASE__URL", url);
        }
        self
    }
}

/// The `[database]` of a configuration for `dir` (in-process commands).
pub fn database_config(dir: &Path) -> tekkan_cli::config::Database {
    tekkan_cli::config::Database {
        url: url_for(dir, false),
        keys_url: None,
    }
}

/// A PostgreSQL cluster of one test's own, in a scratch folder: for faults (a restart)
/// that would disturb every other test in the shared one. Stopped when dropped.
pub struct OwnCluster {
    dir: tempfile::TempDir,
    pub url: String,
}

impl OwnCluster {
    pub fn start() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("tekkan-pg-own")
            .tempdir()
            .unwrap();
        let mut own = OwnCluster {
            dir,
            url: String::new(),
        };
        own.url = own.script(None);
        own
    }

    fn script(&self, arg: Option<&str>) -> String {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/pg-test-cluster");
        let out = Command::new(script)
            .args(arg)
            .env("TEKKAN_PG_DIR", self.dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// A new database in this cluster; its URL.
    pub fn database(&self, name: &str) -> String {
        create_database(&self.url, name);
        let base = self.url.rsplit_once('/').map(|(b, _)| b).unwrap();
        format!("{base}/{name}")
    }

    /// Stops the server at once (`pg_ctl -m fast`: sessions are ended, as at a restart).
    pub fn stop(&self) {
        self.script(Some("stop"));
    }

    /// Starts it again where it was.
    pub fn start_again(&self) {
        let url = self.script(None);
        assert_eq!(url, self.url, "the cluster came back on another port");
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        self.script(Some("stop"));
    }
}
