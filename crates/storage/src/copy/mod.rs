//! Moving a whole database: every table read from one consistent view of the source
//! (a SQLite read transaction, a PostgreSQL REPEATABLE READ snapshot) and written into
//! a database of the same schema, on either engine, in one transaction. The copy is the
//! same rows, seals and audit chain, so the verifier checks it as it checks the source.
//! PostgreSQL's backups (a copy into a SQLite file, sealed like SQLite's own), restores
//! into PostgreSQL and `tekkan db copy` are all this one copier.
//!
//! The destination's triggers are held off for the copy (PostgreSQL's `DISABLE TRIGGER
//! USER` on tables TEKKAN owns, SQLite's dropped and made again, both inside the
//! transaction): what they derive (tallies, the audit head) arrives as the source has
//! it, and the append-only guards stay exactly as they were once it commits.

mod value;

use std::str::FromStr;
use std::sync::Arc;

use futures_util::TryStreamExt as _;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use std::time::Duration;

use sqlx::{AssertSqlSafe, ConnectOptions as _, Connection as _, Executor as _};
use tracing::log::LevelFilter;

use value::{Kind, V};

use crate::{KeyStore, Location, Result, StorageError, backend, migrate};

/// Which schema the two sides hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// TEKKAN's database (brought to this build's version on the destination).
    Data,
    /// The data key store.
    Keys,
}

/// What a copy moved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Copied {
    pub tables: usize,
    pub rows: u64,
    /// Entries of the audit chain in the copy, and entries still waiting in its queue.
    pub audit_entries: u64,
    pub audit_queued: u64,
}

/// Tables that decide whether a destination already holds someone's data.
const HOLDS_DATA: [&str; 3] = ["audit_log", "accounts", "data_keys"];

/// Rows per INSERT statement, at most; fewer for wide tables (SQLite takes 32,766
/// parameters per statement, PostgreSQL 65,535).
const ROWS_PER_INSERT: usize = 500;
const PARAMS_PER_INSERT: usize = 30_000;

/// Copies everything `from` holds into `to`, which is made (a SQLite file, or a
/// PostgreSQL database created through the same server when its user may) and given
/// the schema when new, and must hold no data. `from` is only read, and may be in use.
pub async fn copy(from: &Location, to: &Location, schema: Schema) -> Result<Copied> {
    prepare(to, schema).await?;
    let mut src = Side::open(from, true).await?;
    let mut dst = Side::open(to, false).await?;
    let r = run(&mut src, &mut dst, schema).await;
    src.close().await;
    if r.is_ok() {
        // Statistics for the planner now, not when autovacuum gets round to the new
        // rows: until then PostgreSQL plans the first requests as if every table were
        // empty (the schedule page ran at a seventh of its speed for minutes).
        dst.exec("ANALYZE".to_owned()).await?;
    }
    if let (Ok(_), Side::Sqlite(c)) = (&r, &mut dst) {
        // One self-contained file: nothing left in a WAL beside it.
        c.execute("PRAGMA journal_mode = DELETE").await?;
    }
    dst.close().await;
    r
}

/// Makes the destination and its schema.
async fn prepare(to: &Location, schema: Schema) -> Result<()> {
    match to {
        Location::Postgres(url) => backend::postgres::ensure_database(url).await?,
        Location::Sqlite(p) if !p.exists() => {
            // Readable by its owner only, like the server's own files.
            use std::os::unix::fs::OpenOptionsExt as _;
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(p)
                .map_err(|e| StorageError::Copy(format!("{}: {e}", p.display())))?;
        }
        Location::Sqlite(_) => {}
    }
    match schema {
        Schema::Data => {
            let (reader, writer) = match to {
                Location::Sqlite(p) => backend::sqlite::open(p, Arc::default()).await?,
                Location::Postgres(url) => backend::postgres::open(url).await?,
            };
            let r = migrate::run(&writer).await;
            reader.close().await;
            writer.close().await;
            r
        }
        Schema::Keys => {
            KeyStore::open(to, to).await?.close().await;
            Ok(())
        }
    }
}

/// One end of a copy, on one connection of its own.
enum Side {
    Sqlite(SqliteConnection),
    Pg(PgConnection),
}

/// A destination table: its columns (with PostgreSQL's types) and what it refers to.
#[derive(Debug)]
struct Table {
    name: String,
    cols: Vec<(String, Option<Kind>)>,
    identity: Vec<String>,
    refers_to: Vec<String>,
}

impl Side {
    async fn open(at: &Location, read_only: bool) -> Result<Self> {
        Ok(match at {
            Location::Sqlite(p) => {
                // A source is only read, and its journal mode left as it is.
                let opts = SqliteConnectOptions::from_str("sqlite://")?
                    .filename(p)
                    .read_only(read_only)
                    .foreign_keys(true)
                    .log_slow_statements(LevelFilter::Off, Duration::ZERO);
                Side::Sqlite(SqliteConnection::connect_with(&opts).await?)
            }
            Location::Postgres(url) => Side::Pg(
                PgConnection::connect_with(
                    &PgConnectOptions::from_str(url)?
                        .application_name("tekkan copy")
                        // A table streamed while the other side writes it is slow by
                        // design: not worth a warning per table.
                        .log_slow_statements(LevelFilter::Off, Duration::ZERO),
                )
                .await?,
            ),
        })
    }

    async fn close(self) {
        let _ = match self {
            Side::Sqlite(c) => c.close().await,
            Side::Pg(c) => c.close().await,
        };
    }

    async fn exec(&mut self, sql: String) -> Result<()> {
        match self {
            Side::Sqlite(c) => c.execute(AssertSqlSafe(sql)).await.map(|_| ()),
            Side::Pg(c) => c.execute(AssertSqlSafe(sql)).await.map(|_| ()),
        }?;
        Ok(())
    }

    async fn strings(&mut self, sql: &'static str, bind: Option<&str>) -> Result<Vec<String>> {
        Ok(self
            .rows3(sql, bind)
            .await?
            .into_iter()
            .map(|(a, _, _)| a)
            .collect())
    }

    /// Up to three text columns of each row (missing ones empty).
    async fn rows3(
        &mut self,
        sql: &'static str,
        bind: Option<&str>,
    ) -> Result<Vec<(String, String, String)>> {
        fn get<R: sqlx::Row>(r: &R, i: usize) -> String
        where
            usize: sqlx::ColumnIndex<R>,
            for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
        {
            r.try_get::<Option<String>, _>(i)
                .ok()
                .flatten()
                .unwrap_or_default()
        }
        Ok(match self {
            Side::Sqlite(c) => {
                let mut q = sqlx::query(sql);
                if let Some(b) = bind {
                    q = q.bind(b.to_owned());
                }
                q.fetch_all(&mut *c)
                    .await?
                    .iter()
                    .map(|r| (get(r, 0), get(r, 1), get(r, 2)))
                    .collect()
            }
            Side::Pg(c) => {
                let mut q = sqlx::query(sql);
                if let Some(b) = bind {
                    q = q.bind(b.to_owned());
                }
                q.fetch_all(&mut *c)
                    .await?
                    .iter()
                    .map(|r| (get(r, 0), get(r, 1), get(r, 2)))
                    .collect()
            }
        })
    }

    async fn count(&mut self, table: &str) -> Result<u64> {
        let sql = format!("SELECT COUNT(*) FROM \"{table}\"");
        let n: i64 = match self {
            Side::Sqlite(c) => sqlx::query_scalar(AssertSqlSafe(sql)).fetch_one(c).await?,
            Side::Pg(c) => sqlx::query_scalar(AssertSqlSafe(sql)).fetch_one(c).await?,
        };
        Ok(n as u64)
    }

    /// The tables of TEKKAN's schema (not the engine's own).
    async fn tables(&mut self) -> Result<Vec<Table>> {
        let names = match self {
            Side::Sqlite(_) => {
                self.strings(
                    "SELECT name FROM sqlite_master WHERE type = 'table' \
                     AND name NOT LIKE 'sqlite_%' ORDER BY name",
                    None,
                )
                .await?
            }
            Side::Pg(_) => {
                self.strings(
                    "SELECT table_name::text FROM information_schema.tables \
                     WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
                     ORDER BY table_name",
                    None,
                )
                .await?
            }
        };
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            let (cols, identity, refers_to) = match self {
                Side::Sqlite(_) => {
                    let cols = self
                        .strings(
                            "SELECT name FROM pragma_table_info($1) ORDER BY cid",
                            Some(&name),
                        )
                        .await?
                        .into_iter()
                        .map(|c| (c, None))
                        .collect();
                    let refs = self
                        .strings(
                            "SELECT \"table\" FROM pragma_foreign_key_list($1)",
                            Some(&name),
                        )
                        .await?;
                    (cols, Vec::new(), refs)
                }
                Side::Pg(_) => {
                    let rows = self
                        .rows3(
                            "SELECT column_name::text, data_type::text, is_identity::text \
                             FROM information_schema.columns WHERE table_schema = \
                             current_schema() AND table_name = $1 ORDER BY ordinal_position",
                            Some(&name),
                        )
                        .await?;
                    let mut cols = Vec::new();
                    let mut identity = Vec::new();
                    for (col, ty, ident) in rows {
                        let kind = Kind::of_pg(&ty).ok_or_else(|| {
                            StorageError::Copy(format!("{name}.{col}: type {ty} is not copied"))
                        })?;
                        if ident == "YES" {
                            identity.push(col.clone());
                        }
                        cols.push((col, Some(kind)));
                    }
                    let refs = self
                        .strings(
                            "SELECT confrelid::regclass::text FROM pg_constraint WHERE \
                             contype = 'f' AND conrelid = $1::regclass",
                            Some(&name),
                        )
                        .await?;
                    (cols, identity, refs)
                }
            };
            out.push(Table {
                name,
                cols,
                identity,
                refers_to,
            });
        }
        Ok(out)
    }
}

/// Referenced tables first; among equals, by name. A cycle keeps its tables in name
/// order (SQLite defers its checks to the commit; PostgreSQL would name the conflict).
fn in_reference_order(mut tables: Vec<Table>) -> Vec<Table> {
    let mut out: Vec<Table> = Vec::with_capacity(tables.len());
    while !tables.is_empty() {
        let ready = tables.iter().position(|t| {
            t.refers_to
                .iter()
                .all(|r| r == &t.name || out.iter().any(|o| &o.name == r))
        });
        out.push(tables.remove(ready.unwrap_or(0)));
    }
    out
}

async fn run(src: &mut Side, dst: &mut Side, schema: Schema) -> Result<Copied> {
    match src {
        Side::Sqlite(c) => {
            c.execute("BEGIN").await?;
        }
        Side::Pg(c) => {
            c.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .await?;
        }
    }
    let theirs: Vec<String> = src.tables().await?.into_iter().map(|t| t.name).collect();
    let ours = in_reference_order(dst.tables().await?);
    let names: Vec<&str> = ours.iter().map(|t| t.name.as_str()).collect();
    if schema == Schema::Data {
        let version = "SELECT CAST(MAX(version) AS TEXT) FROM schema_migrations";
        let (a, b) = (
            src.strings(version, None).await?,
            dst.strings(version, None).await?,
        );
        if a != b {
            return Err(StorageError::Copy(format!(
                "the source is at schema {}, the destination at {}: start the newer tekkan \
                 once on the source to bring it up to date",
                a.concat(),
                b.concat()
            )));
        }
    }
    let missing: Vec<&String> = theirs
        .iter()
        .filter(|t| !names.contains(&t.as_str()))
        .collect();
    let extra: Vec<&&str> = names
        .iter()
        .filter(|n| !theirs.iter().any(|t| t == *n))
        .collect();
    if !missing.is_empty() || !extra.is_empty() {
        return Err(StorageError::Copy(format!(
            "the two schemas differ: only the source has {missing:?}, only the destination \
             {extra:?}"
        )));
    }
    for t in HOLDS_DATA {
        if names.contains(&t) && dst.count(t).await? > 0 {
            return Err(StorageError::Copy(format!(
                "the destination already holds data ({t} is not empty): copy into a new \
                 database"
            )));
        }
    }

    let pg = matches!(dst, Side::Pg(_));
    dst.exec("BEGIN".into()).await?;
    // Held off: see the module's comment.
    let mut triggers = Vec::new();
    if pg {
        for t in &ours {
            dst.exec(format!("ALTER TABLE \"{}\" DISABLE TRIGGER USER", t.name))
                .await?;
        }
    } else {
        dst.exec("PRAGMA defer_foreign_keys = ON".into()).await?;
        triggers = dst
            .rows3(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name",
                None,
            )
            .await?;
        for (name, _, _) in &triggers {
            dst.exec(format!("DROP TRIGGER \"{name}\"")).await?;
        }
    }
    // What the new schema put in (its first rows) gives way to the source's.
    for t in ours.iter().rev().filter(|t| t.name != "schema_migrations") {
        dst.exec(format!("DELETE FROM \"{}\"", t.name)).await?;
    }
    let mut done = Copied::default();
    for t in ours.iter().filter(|t| t.name != "schema_migrations") {
        done.rows += copy_table(src, dst, t).await?;
        done.tables += 1;
        for c in &t.identity {
            dst.exec(format!(
                "SELECT setval(pg_get_serial_sequence('\"{t}\"', '{c}'), \
                 COALESCE((SELECT MAX(\"{c}\") FROM \"{t}\"), 0) + 1, false)",
                t = t.name
            ))
            .await?;
        }
    }
    if pg {
        for t in &ours {
            dst.exec(format!("ALTER TABLE \"{}\" ENABLE TRIGGER USER", t.name))
                .await?;
        }
    } else {
        for (_, sql, _) in triggers {
            dst.exec(sql).await?;
        }
    }
    if names.contains(&"audit_log") {
        done.audit_entries = src.count("audit_log").await?;
    }
    if names.contains(&"audit_queue") {
        done.audit_queued = src.count("audit_queue").await?;
    }
    dst.exec("COMMIT".into()).await?;
    src.exec("COMMIT".into()).await?;
    Ok(done)
}

/// Streams one table's rows from `src` into `dst` in multi-row INSERTs.
async fn copy_table(src: &mut Side, dst: &mut Side, t: &Table) -> Result<u64> {
    let cols: Vec<String> = t.cols.iter().map(|(c, _)| format!("\"{c}\"")).collect();
    let select = format!("SELECT {} FROM \"{}\"", cols.join(", "), t.name);
    let per = (PARAMS_PER_INSERT / cols.len().max(1)).clamp(1, ROWS_PER_INSERT);
    let mut batch: Vec<Vec<V>> = Vec::with_capacity(per);
    let mut n = 0;
    match src {
        Side::Sqlite(c) => {
            let mut rows = sqlx::query(AssertSqlSafe(select)).fetch(&mut *c);
            while let Some(r) = rows.try_next().await? {
                let mut vals = Vec::with_capacity(cols.len());
                for (i, (col, _)) in t.cols.iter().enumerate() {
                    vals.push(value::from_sqlite(&r, i, &format!("{}.{col}", t.name))?);
                }
                batch.push(vals);
                if batch.len() == per {
                    n += insert(dst, t, &cols, &mut batch).await?;
                }
            }
        }
        Side::Pg(c) => {
            let mut rows = sqlx::query(AssertSqlSafe(select)).fetch(&mut *c);
            while let Some(r) = rows.try_next().await? {
                let mut vals = Vec::with_capacity(cols.len());
                for (i, (col, _)) in t.cols.iter().enumerate() {
                    vals.push(value::from_pg(&r, i, &format!("{}.{col}", t.name))?);
                }
                batch.push(vals);
                if batch.len() == per {
                    n += insert(dst, t, &cols, &mut batch).await?;
                }
            }
        }
    }
    n += insert(dst, t, &cols, &mut batch).await?;
    Ok(n)
}

/// Writes (and empties) `batch`.
async fn insert(
    dst: &mut Side,
    t: &Table,
    cols: &[String],
    batch: &mut Vec<Vec<V>>,
) -> Result<u64> {
    if batch.is_empty() {
        return Ok(0);
    }
    let mut sql = format!("INSERT INTO \"{}\" ({})", t.name, cols.join(", "));
    if !t.identity.is_empty() {
        sql.push_str(" OVERRIDING SYSTEM VALUE");
    }
    sql.push_str(" VALUES ");
    let mut p = 0;
    for (r, _) in batch.iter().enumerate() {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..cols.len() {
            if c > 0 {
                sql.push_str(", ");
            }
            p += 1;
            sql.push_str(&format!("${p}"));
        }
        sql.push(')');
    }
    let rows = batch.len() as u64;
    match dst {
        Side::Sqlite(c) => {
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for v in batch.drain(..).flatten() {
                q = value::bind_sqlite(q, v);
            }
            q.execute(&mut *c).await?;
        }
        Side::Pg(c) => {
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for row in batch.drain(..) {
                for (v, (col, kind)) in row.into_iter().zip(&t.cols) {
                    let kind = kind.unwrap_or(Kind::Text);
                    q = value::bind_pg(q, v, kind, &format!("{}.{col}", t.name))?;
                }
            }
            q.execute(&mut *c).await?;
        }
    }
    Ok(rows)
}
