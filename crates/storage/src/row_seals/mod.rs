//! Row seals: live state that can be checked, not only the history. Every row of user
//! content and every sensitive record (the kinds in [`KINDS`]) carries a seal in its
//! own `seal` column: an HMAC of its canonical content under the audit key, which lives
//! outside the database. (In the row, not in a table of their own: re-sealing writes
//! the page the change already dirtied, so a write costs no extra page.) The audited write that changes a row re-seals it in the same
//! transaction; an edit made to the file by anything else (a flipped byte, a hand-run
//! UPDATE, a row put back from an older copy into a newer file) leaves a row that no
//! longer matches, and [`Db::verify_row_seals`] names the first one.
//!
//! Which rows changed is noted by TEMP triggers, which exist only on this process's
//! writer connection: a row changed through any other connection is never marked, so it
//! cannot get a fresh seal by riding along with the next audited write.

use crate::sql::{Builder, Conn, Target, q, q_built, scalar};

use crate::{Db, Result};

mod kinds;

use kinds::{KINDS, content_expr, content_expr_of, id_expr};

/// Rows read or sealed per statement.
const PAGE: i64 = 5_000;

/// Bytes of the HMAC kept: 128 bits, ample for a tag nobody can query for.
const SEAL_LEN: usize = 16;

fn seal(key: &[u8], kind: &str, id: &str, content: &str) -> Vec<u8> {
    tekkan_audit::row_seal(key, kind, id, content)[..SEAL_LEN].to_vec()
}

/// Creates the change-noting TEMP table and triggers on `conn` (the writer). Tables
/// not there yet (a database before its migrations) are skipped; the call after the
/// migrations adds them.
pub(crate) async fn install_sqlite(conn: &mut sqlx::SqliteConnection) -> Result<()> {
    sqlx::query(
        // No unique key: a conflict inside a trigger would take the outer statement's
        // conflict policy (an upsert's), so duplicates are kept and folded at commit.
        "CREATE TEMP TABLE IF NOT EXISTS row_dirty (kind TEXT NOT NULL, k1 TEXT NOT NULL, \
         k2 TEXT NOT NULL, k3 TEXT NOT NULL)",
    )
    .execute(&mut *conn)
    .await?;
    for k in KINDS {
        let exists: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM main.sqlite_master WHERE type = 'table' AND name = ?",
        )
        .bind(k.table)
        .fetch_one(&mut *conn)
        .await?;
        if exists == 0 {
            continue;
        }
        let row = |r: &str| {
            let mut parts: Vec<String> = k
                .keys
                .iter()
                .map(|c| format!("CAST({r}.{c} AS TEXT)"))
                .collect();
            parts.resize(3, "''".into());
            format!("('{}', {})", k.name, parts.join(", "))
        };
        let watched: Vec<&str> = k.keys.iter().chain(k.cols).copied().collect();
        let (name, table) = (k.name, k.table);
        let ddl = [
            format!(
                "CREATE TEMP TRIGGER IF NOT EXISTS seal_{name}_i AFTER INSERT ON main.{table} \
                 BEGIN INSERT INTO row_dirty VALUES {}; END",
                row("NEW")
            ),
            format!(
                "CREATE TEMP TRIGGER IF NOT EXISTS seal_{name}_u AFTER UPDATE OF {} ON \
                 main.{table} BEGIN INSERT INTO row_dirty VALUES {}, {}; END",
                watched.join(", "),
                row("OLD"),
                row("NEW")
            ),
            format!(
                "CREATE TEMP TRIGGER IF NOT EXISTS seal_{name}_d AFTER DELETE ON main.{table} \
                 BEGIN INSERT INTO row_dirty VALUES {}; END",
                row("OLD")
            ),
        ];
        for stmt in ddl {
            sqlx::query(sqlx::AssertSqlSafe(stmt))
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

/// The session's table of changed rows.
fn dirty(pg: bool) -> &'static str {
    if pg {
        "pg_temp.row_dirty"
    } else {
        "temp.row_dirty"
    }
}

/// A sealed table by its qualified name (SQLite's TEMP triggers shadow nothing in `main`).
fn table(k: &kinds::Kind, pg: bool) -> String {
    if pg {
        k.table.to_owned()
    } else {
        format!("main.{}", k.table)
    }
}

/// Makes the triggers that note changed rows: SQLite's TEMP ones on this connection,
/// PostgreSQL's shared ones (which note rows only for sessions with a `row_dirty`
/// table, made on connect by TEKKAN's pool alone).
pub(crate) async fn install(conn: &mut Conn) -> Result<()> {
    match conn {
        Conn::Sqlite(c) => install_sqlite(c).await,
        Conn::Postgres(_) | Conn::PgTx(_) => {
            for k in KINDS {
                let watched: Vec<&str> = k.keys.iter().chain(k.cols).copied().collect();
                let args: Vec<String> = std::iter::once(k.name)
                    .chain(k.keys.iter().copied())
                    .map(|a| format!("'{a}'"))
                    .collect();
                q_built(format!(
                    "CREATE OR REPLACE TRIGGER seal_{name} AFTER INSERT OR UPDATE OF {cols} \
                     OR DELETE ON {table} FOR EACH ROW EXECUTE FUNCTION row_seals_note({args})",
                    name = k.name,
                    cols = watched.join(", "),
                    table = k.table,
                    args = args.join(", "),
                ))
                .execute(&mut *conn)
                .await?;
            }
            Ok(())
        }
    }
}

/// `UPDATE … SET seal = $1 WHERE` each key column `= $2…`.
fn set_by_keys(k: &kinds::Kind, pg: bool) -> String {
    format!(
        "UPDATE {} SET seal = $1 WHERE {}",
        table(k, pg),
        k.keys
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c} = ${}", i + 2))
            .collect::<Vec<_>>()
            .join(" AND ")
    )
}

/// Inside a write, just before it commits: seals every row it changed (a row it
/// deleted took its seal with it).
pub(crate) async fn reseal(conn: &mut Conn, key: &[u8]) -> Result<()> {
    let pg = conn.is_postgres();
    let kinds: Vec<String> =
        crate::sql::Scalar::new(format!("SELECT DISTINCT kind FROM {}", dirty(pg)))
            .fetch_all(&mut *conn)
            .await?;
    for name in kinds {
        let Some(k) = KINDS.iter().find(|k| k.name == name) else {
            continue;
        };
        let on: Vec<String> = k
            .keys
            .iter()
            .enumerate()
            // The bare key columns (TEXT already), so that their index is used.
            .map(|(i, c)| format!("t.{c} = d.k{}", i + 1))
            .collect();
        let sql = format!(
            "SELECT d.k1, d.k2, d.k3, t.{first} IS NOT NULL AS present, {content} AS content, \
             t.seal AS seal FROM (SELECT DISTINCT k1, k2, k3 FROM {dirty} WHERE kind = $1) d \
             LEFT JOIN {table} t ON {on}",
            first = k.keys[0],
            content = content_expr(k, pg),
            dirty = dirty(pg),
            table = table(k, pg),
            on = on.join(" AND "),
        );
        let rows = q_built(sql).bind(k.name).fetch_all(&mut *conn).await?;
        let set = set_by_keys(k, pg);
        for r in &rows {
            // A row this write deleted has nothing left to seal.
            if !r.try_get::<bool, _>("present")? {
                continue;
            }
            let parts: Vec<String> = (0..k.keys.len())
                .map(|i| r.try_get::<String, _>(i))
                .collect::<std::result::Result<_, _>>()?;
            let content: String = r.try_get("content")?;
            let fresh = seal(key, k.name, &parts.join(":"), &content);
            // Sealed already by the statement that wrote it (see [`Canonical`]): one
            // update, and one row version, fewer.
            if r.try_get::<Option<Vec<u8>>, _>("seal")?.as_deref() == Some(&fresh[..]) {
                continue;
            }
            let mut q = q_built(set.clone()).bind(fresh);
            for p in parts {
                q = q.bind(p);
            }
            q.execute(&mut *conn).await?;
        }
    }
    // PostgreSQL's next write empties the table as it begins (`BEGIN_WRITE`), in the
    // same round trip: emptying it here too would cost each write one more.
    if !pg {
        q_built(format!("DELETE FROM {}", dirty(pg)))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Where a walk over a sealed table has got to: SQLite's rowid, or PostgreSQL's key.
enum Cursor {
    Rowid(i64),
    Keys(Option<Vec<String>>),
}

/// A page of `k`'s rows after `at`, in storage order on SQLite (rowid) and key order on
/// PostgreSQL: the key columns, id, canonical content and seal (the first sealing and
/// the scrub both walk tables this way). Moves `at` past the page.
async fn page<'c>(
    t: impl Into<Target<'c>>,
    k: &kinds::Kind,
    at: &mut Cursor,
) -> Result<Vec<crate::sql::Row>> {
    let keys: Vec<String> = k
        .keys
        .iter()
        .enumerate()
        .map(|(i, c)| format!("CAST(t.{c} AS TEXT) AS k{}", i + 1))
        .collect();
    let pg = matches!(at, Cursor::Keys(_));
    let mut b = Builder::new(format!(
        "SELECT {}, {} AS id, {} AS content, t.seal{} FROM {} t WHERE ",
        keys.join(", "),
        id_expr(k),
        content_expr(k, pg),
        if pg { "" } else { ", t.rowid AS rowid" },
        table(k, pg),
    ));
    match &*at {
        Cursor::Rowid(after) => {
            b.push("t.rowid > ")
                .push_bind(*after)
                .push(" ORDER BY t.rowid");
        }
        Cursor::Keys(after) => {
            let cols: Vec<String> = k.keys.iter().map(|c| format!("t.{c}")).collect();
            match after {
                None => b.push("TRUE"),
                Some(after) => {
                    b.push(format!("({}) > (", cols.join(", ")));
                    let mut list = b.separated(", ");
                    for v in after {
                        list.push_bind(v.clone());
                    }
                    b.push(")")
                }
            };
            b.push(format!(" ORDER BY {}", cols.join(", ")));
        }
    }
    b.push(" LIMIT ").push_bind(PAGE);
    let rows = b.build().fetch_all(t).await?;
    if let Some(last) = rows.last() {
        *at = match at {
            Cursor::Rowid(_) => Cursor::Rowid(last.try_get("rowid")?),
            Cursor::Keys(_) => Cursor::Keys(Some(
                (1..=k.keys.len())
                    .map(|i| last.try_get::<String, _>(format!("k{i}").as_str()))
                    .collect::<std::result::Result<_, _>>()?,
            )),
        };
    }
    Ok(rows)
}

fn start(pg: bool) -> Cursor {
    if pg {
        Cursor::Keys(None)
    } else {
        Cursor::Rowid(0)
    }
}

/// Seals every row of a database that has none yet (created before seals existed):
/// once, trusting the state it is in. Returns how many rows were sealed.
pub(crate) async fn seal_existing(conn: &mut Conn, key: &[u8]) -> Result<u64> {
    let pg = conn.is_postgres();
    let done: i64 = scalar("SELECT COUNT(*) FROM row_seals_state")
        .fetch_one(&mut *conn)
        .await?;
    if done > 0 {
        return Ok(0);
    }
    if pg {
        q("BEGIN").execute(&mut *conn).await?;
        q("SELECT pg_advisory_xact_lock($1)")
            .bind(crate::backend::postgres::WRITE_LOCK)
            .execute(&mut *conn)
            .await?;
    } else {
        q("BEGIN IMMEDIATE").execute(&mut *conn).await?;
    }
    let r = async {
        // Another instance may have sealed meanwhile.
        let done: i64 = scalar("SELECT COUNT(*) FROM row_seals_state")
            .fetch_one(&mut *conn)
            .await?;
        if done > 0 {
            return Ok(0);
        }
        let mut n = 0;
        for k in KINDS {
            let mut at = start(pg);
            let set = set_by_keys(k, pg);
            loop {
                let rows = page(&mut *conn, k, &mut at).await?;
                if rows.is_empty() {
                    break;
                }
                for r in &rows {
                    let (id, content): (String, String) = (r.try_get("id")?, r.try_get("content")?);
                    let mut q = q_built(set.clone()).bind(seal(key, k.name, &id, &content));
                    for i in 1..=k.keys.len() {
                        q = q.bind(r.try_get::<String, _>(format!("k{i}").as_str())?);
                    }
                    q.execute(&mut *conn).await?;
                }
                n += rows.len() as u64;
            }
        }
        q("INSERT INTO row_seals_state (sealed_at) VALUES ($1)")
            .bind(crate::now_ms())
            .execute(&mut *conn)
            .await?;
        q_built(format!("DELETE FROM {}", dirty(pg)))
            .execute(&mut *conn)
            .await?;
        Ok::<_, crate::StorageError>(n)
    }
    .await;
    let end = if r.is_ok() { "COMMIT" } else { "ROLLBACK" };
    q(end).execute(&mut *conn).await?;
    r
}

/// What a scrub found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealReport {
    /// Rows checked.
    pub rows: u64,
    /// The first row that does not match its seal, named (`None` when all do).
    pub mismatch: Option<String>,
}

impl Db {
    /// Checks every sealed row against its seal (on a reader: writes go on; each row is
    /// read in the same statement as its seal, so a write in between is no mismatch).
    /// Stops at the first row that does not match.
    pub async fn verify_row_seals(&self) -> Result<SealReport> {
        let key = self.audit_key.clone();
        let pg = self.reader.is_postgres();
        let mut rows = 0;
        for k in KINDS {
            // One read transaction per kind: its pages see one snapshot, whatever is
            // written meanwhile.
            let mut snap = self.reader.begin_read().await?;
            let mut at = start(pg);
            let mut count = 0u64;
            loop {
                let page = page(&mut snap, k, &mut at).await?;
                if page.is_empty() {
                    break;
                }
                for r in &page {
                    let id: String = r.try_get("id")?;
                    let content: String = r.try_get("content")?;
                    let mac: Option<Vec<u8>> = r.try_get("seal")?;
                    let what = match mac {
                        None => "has no seal (written outside TEKKAN)",
                        Some(m) if m != seal(&key, k.name, &id, &content) => {
                            "does not match its seal (changed outside TEKKAN)"
                        }
                        Some(_) => continue,
                    };
                    return Ok(SealReport {
                        rows: rows + count,
                        mismatch: Some(format!("{} {id} {what}", k.name)),
                    });
                }
                count += page.len() as u64;
            }
            snap.commit().await?;
            rows += count;
        }
        Ok(SealReport {
            rows,
            mismatch: None,
        })
    }
}

/// Of the rows of `kind` (a kind keyed by one `id` column) with these ids, those that do
/// not match their seal. `in_write`: on the writer inside a write, where rows this write
/// changed are skipped (they are sealed at its commit).
async fn unsealed_on<'c, E>(
    conn: E,
    key: &[u8],
    kind: &str,
    ids: &[String],
    in_write: bool,
) -> Result<Vec<String>>
where
    E: Into<crate::sql::Target<'c>>,
{
    let Some(k) = KINDS.iter().find(|k| k.name == kind && k.keys == ["id"]) else {
        return Err(crate::StorageError::Corrupt(format!(
            "{kind} is not a sealed kind keyed by id"
        )));
    };
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let t: Target<'c> = conn.into();
    let pg = t.is_postgres();
    let mut b = Builder::new(format!(
        "SELECT t.id AS id, {} AS content, t.seal FROM {} t WHERE t.id IN (",
        content_expr(k, pg),
        table(k, pg)
    ));
    let mut list = b.separated(", ");
    for id in ids {
        list.push_bind(id);
    }
    b.push(")");
    if in_write {
        b.push(format!(
            " AND NOT EXISTS (SELECT 1 FROM {} d WHERE d.kind = ",
            dirty(pg)
        ))
        .push_bind(k.name)
        .push(" AND d.k1 = t.id)");
    }
    let rows = b.build().fetch_all(t).await?;
    let mut bad = Vec::new();
    for r in &rows {
        let id: String = r.try_get("id")?;
        let content: String = r.try_get("content")?;
        let mac: Option<Vec<u8>> = r.try_get("seal")?;
        if mac != Some(seal(key, k.name, &id, &content)) {
            bad.push(id);
        }
    }
    Ok(bad)
}

impl Db {
    /// Of these rows of `kind`, those changed outside TEKKAN (see [`unsealed_on`]): what
    /// is about to be served is checked first.
    pub async fn unsealed(&self, kind: &str, ids: &[String]) -> Result<Vec<String>> {
        unsealed_on(&self.reader, &self.audit_key, kind, ids, false).await
    }
}

impl crate::WriteTx {
    /// Like [`Db::unsealed`], inside this write (rows it changed are its own).
    pub async fn unsealed(&mut self, kind: &str, ids: &[String]) -> Result<Vec<String>> {
        unsealed_on(&mut self.tx, &self.audit_key, kind, ids, true).await
    }
}

/// Select-list items that bring the seal check of `alias`'s row (a kind keyed by one
/// `id` column) along with a lookup, saving a write the round trip of
/// [`crate::WriteTx::unsealed`]: its canonical content, its seal, and whether this
/// write changed it (sealed at commit, so not checked yet).
pub(crate) fn seal_cols(kind: &str, alias: &str, pg: bool) -> String {
    let Some(k) = KINDS.iter().find(|k| k.name == kind && k.keys == ["id"]) else {
        // A programming error, caught by every test that takes this path.
        return format!("'{kind} is not sealed by id' AS seal_content");
    };
    format!(
        "{} AS seal_content, {alias}.seal AS seal_mac, EXISTS (SELECT 1 FROM {} d \
         WHERE d.kind = '{}' AND d.k1 = {alias}.id) AS seal_changed",
        content_expr_of(k, pg, alias),
        dirty(pg),
        k.name,
    )
}

/// Whether the row of `kind` with this `id`, read with [`seal_cols`], matches its seal
/// (or is this write's own change).
pub(crate) fn row_sealed(key: &[u8], kind: &str, id: &str, r: &crate::sql::Row) -> Result<bool> {
    if r.try_get::<bool, _>("seal_changed")? {
        return Ok(true);
    }
    let content: String = r.try_get("seal_content")?;
    let mac: Option<Vec<u8>> = r.try_get("seal_mac")?;
    Ok(mac == Some(seal(key, kind, id, &content)))
}

/// A row's canonical content built from the values a write is about to store, as
/// [`kinds::content_expr`] builds it from the stored row (SQLite's `quote()` of each
/// column, comma-separated), so that the write can store its seal in the same
/// statement. Should the two ever differ, the commit's re-seal finds the mismatch and
/// seals the row itself: only the saving is lost, never the seal.
#[derive(Default)]
pub struct Canonical(String);

impl Canonical {
    fn sep(&mut self) {
        if !self.0.is_empty() {
            self.0.push(',');
        }
    }

    pub fn text(mut self, v: Option<&str>) -> Self {
        self.sep();
        match v {
            Some(v) => {
                self.0.push('\'');
                self.0.push_str(&v.replace('\'', "''"));
                self.0.push('\'');
            }
            None => self.0.push_str("NULL"),
        }
        self
    }

    pub fn int(mut self, v: Option<i64>) -> Self {
        self.sep();
        match v {
            Some(v) => self.0.push_str(&v.to_string()),
            None => self.0.push_str("NULL"),
        }
        self
    }

    /// The seal of the row of `kind` with this id (its key columns joined by `:`).
    pub(crate) fn seal(&self, key: &[u8], kind: &str, id: &str) -> Vec<u8> {
        seal(key, kind, id, &self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Connection as _;

    /// What a write seals in its own statement must be what the re-seal computes from
    /// the stored row (SQLite's `quote()`), or every such write pays for a second update.
    #[tokio::test]
    async fn canonical_content_is_what_sqlite_quote_gives() {
        let mut c = sqlx::SqliteConnection::connect("sqlite::memory:")
            .await
            .unwrap();
        let cases: [(&str, Option<i64>); 4] = [
            ("yes", Some(1_733_000_000_000)),
            ("it's \"quoted\", 遅刻します", Some(-5)),
            ("", None),
            ("''", Some(0)),
        ];
        for (text, n) in cases {
            let want: String =
                sqlx::query_scalar("SELECT quote($1) || ',' || quote($2) || ',' || quote($3)")
                    .bind(text)
                    .bind(n)
                    .bind(None::<String>)
                    .fetch_one(&mut c)
                    .await
                    .unwrap();
            let got = Canonical::default().text(Some(text)).int(n).text(None);
            assert_eq!(got.0, want);
        }
    }
}
