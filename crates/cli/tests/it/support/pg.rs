//! The PostgreSQL side of the suite. With `PG_TEST_CLUSTER` set to a cluster's
//! maintenance URL (`scripts/test` starts one with `scripts/pg-test-cluster`), every
//! test app gets a database of its own in that cluster instead of a SQLite file; the
//! name is kept in the data directory, so an app restarted on the same directory finds
//! its data again.

use std::path::Path;

use sqlx::Connection;

/// The maintenance URL of the test cluster, when the suite runs on PostgreSQL.
pub fn cluster() -> Option<String> {
    std::env::var("PG_TEST_CLUSTER")
        .ok()
        .filter(|u| !u.is_empty())
}

/// The URL of `dir`'s database: a new one for a new directory, the same one again for
/// a directory reused. `None` on SQLite runs.
pub async fn database_for(dir: &Path, fresh: bool) -> Option<String> {
    let cluster = cluster()?;
    let note = dir.join(".test-database");
    let name = match (fresh, std::fs::read_to_string(&note)) {
        (false, Ok(name)) => name,
        _ => {
            let name = format!("t_{}", crate::support::unique("db").replace('-', "_"));
            let mut c = sqlx::PgConnection::connect(&cluster).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut c)
                .await
                .unwrap();
            c.close().await.unwrap();
            std::fs::write(&note, &name).unwrap();
            name
        }
    };
    let base = cluster.rsplit_once('/').map(|(b, _)| b).unwrap_or(&cluster);
    Some(format!("{base}/{name}"))
}
