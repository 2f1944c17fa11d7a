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

/// The database of each data directory this process has used, by path: a directory
/// removed (a disaster drill) and rebuilt by a restore still names the same database.
static NAMES: std::sync::Mutex<std::collections::BTreeMap<std::path::PathBuf, String>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

/// The URL of `dir`'s database: a new one for a new directory (or when `fresh`), the
/// same one again for a directory used before (noted in it, or remembered by its path
/// when the directory is gone). `None` on SQLite runs.
pub fn url_for(dir: &Path, fresh: bool) -> Option<String> {
    let cluster = cluster()?;
    let note = dir.join(".test-database");
    let known = NAMES.lock().unwrap().get(dir).cloned();
    let name = match (fresh, std::fs::read_to_string(&note), known) {
        (false, Ok(name), _) => name,
        (false, Err(_), Some(name)) => name,
        _ => {
            let name = format!("t_{}", crate::support::unique("db").replace('-', "_"));
            create_database(&cluster, &name);
            name
        }
    };
    if dir.exists() && std::fs::read_to_string(&note).ok().as_deref() != Some(&name) {
        std::fs::write(&note, &name).unwrap();
    }
    NAMES.lock().unwrap().insert(dir.to_owned(), name.clone());
    let base = cluster.rsplit_once('/').map(|(b, _)| b).unwrap_or(&cluster);
    Some(format!("{base}/{name}"))
}

/// Drops the database at `url` and its data key database (a lost server, in a drill).
pub fn drop_database_and_keys(url: &str) {
    let cluster = cluster().unwrap();
    let name = url.rsplit_once('/').unwrap().1;
    for db in [name.to_owned(), format!("{name}_keys")] {
        psql(
            &cluster,
            &[&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)")],
        );
    }
}

/// Creates database `name` in the cluster whose maintenance URL is `cluster`.
fn create_database(cluster: &str, name: &str) {
    psql(cluster, &[&format!("CREATE DATABASE {name}")]);
}

/// Runs each statement with psql on `url`, stopping at the first error.
fn psql(url: &str, statements: &[&str]) {
    let mut cmd = Command::new("psql");
    cmd.args(["-q", "-v", "ON_ERROR_STOP=1", url]);
    for s in statements {
        cmd.arg("-c").arg(s);
    }
    let out = cmd.output().unwrap();
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

/// An older copy of a data directory's database, kept to be put back later (a careless
/// restore, a disk rolled back): SQLite's file copied by `VACUUM INTO`; on PostgreSQL a
/// database of its own beside the live one.
pub struct OlderCopy {
    at: tekkan_storage::Location,
    _dir: tempfile::TempDir,
}

impl OlderCopy {
    /// Copies the database of `dir` as it is now (the server may be running).
    pub async fn of(dir: &Path) -> Self {
        let scratch = tempfile::tempdir().unwrap();
        let at = match crate::support::location_of(dir) {
            tekkan_storage::Location::Sqlite(live) => {
                let old = scratch.path().join("old.sqlite3");
                let mut db = crate::support::raw_sqlite(&live).await;
                tekkan_storage::sql::q_built(format!("VACUUM INTO '{}'", old.display()))
                    .execute(&mut db)
                    .await
                    .unwrap();
                tekkan_storage::Location::Sqlite(old)
            }
            tekkan_storage::Location::Postgres(url) => {
                let name = format!("t_{}", crate::support::unique("old").replace('-', "_"));
                let base = url.rsplit_once('/').unwrap().0;
                let old = tekkan_storage::Location::Postgres(format!("{base}/{name}"));
                tekkan_storage::copy::copy(
                    &tekkan_storage::Location::Postgres(url),
                    &old,
                    tekkan_storage::copy::Schema::Data,
                )
                .await
                .unwrap();
                old
            }
        };
        Self { at, _dir: scratch }
    }

    /// Puts the copy in place of `dir`'s database (its server stopped).
    pub fn put_back(self, dir: &Path) {
        match (&self.at, crate::support::location_of(dir)) {
            (tekkan_storage::Location::Sqlite(old), tekkan_storage::Location::Sqlite(live)) => {
                for suffix in ["-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", live.display()));
                }
                std::fs::copy(old, &live).unwrap();
            }
            (tekkan_storage::Location::Postgres(old), tekkan_storage::Location::Postgres(live)) => {
                let name = |u: &str| u.rsplit_once('/').unwrap().1.to_owned();
                psql(
                    &cluster().unwrap(),
                    &[
                        &format!("DROP DATABASE {} WITH (FORCE)", name(&live)),
                        &format!("ALTER DATABASE {} RENAME TO {}", name(old), name(&live)),
                    ],
                );
            }
            _ => unreachable!("one engine per run"),
        }
    }
}
