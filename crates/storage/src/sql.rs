//! One query text for both backends. Queries are written once, with `$1`-style
//! parameters (which SQLite reads too), and run through each engine's own sqlx driver:
//! values are bound with their native types and rows decoded natively, so PostgreSQL's
//! strict typing is kept (unlike `sqlx::Any`). What differs between the engines
//! (connections, transactions, the audit append, row seals, snapshots) lives in
//! `backend/`, not here.

use std::borrow::Cow;
use std::fmt::Write as _;

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgPool, PgRow};
use sqlx::sqlite::{SqlitePool, SqliteRow};
use sqlx::{AssertSqlSafe, Column as _, ColumnIndex, Decode, Postgres, Row as _, Sqlite, Type};
use sqlx::{TypeInfo as _, ValueRef as _};

/// Parameters pushed one after another with a separator (see [`Builder::separated`]).
pub struct Separated<'b, 'q> {
    b: &'b mut Builder<'q>,
    sep: &'static str,
    first: bool,
}

impl<'q> Separated<'_, 'q> {
    pub fn push_bind(&mut self, v: impl Bind<'q>) -> &mut Self {
        if !self.first {
            self.b.sql.push_str(self.sep);
        }
        self.first = false;
        self.b.push_bind(v);
        self
    }
}

/// One connection to the database at `at`, opened as an outsider would (tests, tools):
/// no migrations, no row-seal bookkeeping, no audit.
pub async fn connect(at: &crate::Location) -> Result<Conn, sqlx::Error> {
    use std::str::FromStr as _;
    match at {
        crate::Location::Sqlite(path) => {
            let opts = sqlx::sqlite::SqliteConnectOptions::from_str("sqlite://")?.filename(path);
            let pool = sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(opts)
                .await?;
            Ok(Conn::Sqlite(pool.acquire().await?))
        }
        crate::Location::Postgres(url) => {
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(1)
                .connect(url)
                .await?;
            Ok(Conn::Postgres(pool.acquire().await?))
        }
    }
}

pub use crate::backend::postgres::WRITE_LOCK;

/// A pool of connections to one of the two engines.
#[derive(Clone)]
pub enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Pool {
    pub async fn acquire(&self) -> Result<Conn, sqlx::Error> {
        Ok(match self {
            Pool::Sqlite(p) => Conn::Sqlite(p.acquire().await?),
            Pool::Postgres(p) => Conn::Postgres(p.acquire().await?),
        })
    }

    pub async fn close(&self) {
        match self {
            Pool::Sqlite(p) => p.close().await,
            Pool::Postgres(p) => p.close().await,
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Pool::Postgres(_))
    }
}

/// One connection taken from a [`Pool`].
pub enum Conn {
    Sqlite(PoolConnection<Sqlite>),
    Postgres(PoolConnection<Postgres>),
    /// A PostgreSQL write: sqlx rolls it back if it is dropped before it commits.
    PgTx(sqlx::Transaction<'static, Postgres>),
}

impl Conn {
    pub fn is_postgres(&self) -> bool {
        !matches!(self, Conn::Sqlite(_))
    }

    /// Runs a script of statements without parameters, in one round trip (PostgreSQL's
    /// simple query protocol).
    pub async fn execute_script(&mut self, sql: String) -> Result<(), sqlx::Error> {
        use sqlx::Executor as _;
        let sql = sqlx::raw_sql(AssertSqlSafe(sql));
        match self {
            Conn::Sqlite(c) => c.execute(sql).await.map(|_| ()),
            Conn::Postgres(c) => c.execute(sql).await.map(|_| ()),
            Conn::PgTx(t) => t.execute(sql).await.map(|_| ()),
        }
    }

    /// Closes the connection instead of returning it to its pool.
    pub async fn close(self) -> Result<(), sqlx::Error> {
        use sqlx::Connection as _;
        match self {
            Conn::Sqlite(c) => c.detach().close().await,
            Conn::Postgres(c) => c.detach().close().await,
            Conn::PgTx(t) => t.rollback().await,
        }
    }

    /// Ends the write this connection holds: sqlx's commit for a PostgreSQL
    /// transaction, a COMMIT statement on SQLite's writer (whose transaction is managed
    /// by hand; see `backend::sqlite`).
    pub async fn commit(mut self) -> Result<(), sqlx::Error> {
        match self {
            Conn::PgTx(t) => t.commit().await,
            _ => q("COMMIT").execute(&mut self).await.map(|_| ()),
        }
    }
}

/// A transaction of sqlx's own, rolled back if dropped before [`Tx::commit`]: for
/// maintenance writes outside [`crate::WriteTx`] (migrations, the transparency tree).
pub enum Tx {
    Sqlite(sqlx::Transaction<'static, Sqlite>),
    Postgres(sqlx::Transaction<'static, Postgres>),
}

impl Tx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(t) => t.commit().await,
            Tx::Postgres(t) => t.commit().await,
        }
    }

    /// Runs a script of several statements (a migration).
    pub async fn execute_script(&mut self, sql: &'static str) -> Result<(), sqlx::Error> {
        use sqlx::Executor as _;
        match self {
            Tx::Sqlite(t) => t.execute(sql).await.map(|_| ()),
            Tx::Postgres(t) => t.execute(sql).await.map(|_| ()),
        }
    }
}

impl Pool {
    /// Starts a transaction that takes the write lock at once: SQLite's BEGIN
    /// IMMEDIATE, PostgreSQL's advisory write lock (the one every write holds).
    pub async fn begin_write(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Pool::Sqlite(p) => Tx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?),
            Pool::Postgres(p) => {
                let mut t = p.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(crate::backend::postgres::WRITE_LOCK)
                    .execute(&mut *t)
                    .await?;
                Tx::Postgres(t)
            }
        })
    }

    /// Starts a transaction with no lock of TEKKAN's own (stores beside the database,
    /// such as the data key store).
    pub async fn begin_read_write(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Pool::Sqlite(p) => Tx::Sqlite(p.begin().await?),
            Pool::Postgres(p) => Tx::Postgres(p.begin().await?),
        })
    }

    /// Starts a read-only transaction: one consistent view across several queries.
    pub async fn begin_read(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Pool::Sqlite(p) => Tx::Sqlite(p.begin().await?),
            Pool::Postgres(p) => Tx::Postgres(
                p.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .await?,
            ),
        })
    }
}

/// Where a query runs: any connection of a pool, one connection held (a write), or a
/// transaction.
pub enum Target<'c> {
    Pool(&'c Pool),
    Conn(&'c mut Conn),
    Tx(&'c mut Tx),
}

impl<'c, 'd: 'c> From<&'c mut &'d mut Conn> for Target<'c> {
    fn from(c: &'c mut &'d mut Conn) -> Self {
        Target::Conn(c)
    }
}

impl<'c> From<&'c mut Tx> for Target<'c> {
    fn from(t: &'c mut Tx) -> Self {
        Target::Tx(t)
    }
}

impl Target<'_> {
    /// The same place again, for one more query.
    pub fn reborrow(&mut self) -> Target<'_> {
        match self {
            Target::Pool(p) => Target::Pool(p),
            Target::Conn(c) => Target::Conn(c),
            Target::Tx(t) => Target::Tx(t),
        }
    }

    pub fn is_postgres(&self) -> bool {
        match self {
            Target::Pool(p) => p.is_postgres(),
            Target::Conn(c) => c.is_postgres(),
            Target::Tx(t) => matches!(t, Tx::Postgres(_)),
        }
    }
}

impl<'c> From<&'c Pool> for Target<'c> {
    fn from(p: &'c Pool) -> Self {
        Target::Pool(p)
    }
}

impl<'c> From<&'c mut Conn> for Target<'c> {
    fn from(c: &'c mut Conn) -> Self {
        Target::Conn(c)
    }
}

/// A bound value, typed so that PostgreSQL knows the type of a NULL too.
#[derive(Clone, Debug)]
pub enum Arg<'q> {
    Int(Option<i64>),
    Real(Option<f64>),
    Bool(Option<bool>),
    Text(Option<Cow<'q, str>>),
    Blob(Option<Cow<'q, [u8]>>),
}

/// What can be bound to a parameter.
pub trait Bind<'q> {
    fn arg(self) -> Arg<'q>;
}

macro_rules! bind_int {
    ($($t:ty),*) => {$(
        impl<'q> Bind<'q> for $t {
            fn arg(self) -> Arg<'q> { Arg::Int(Some(i64::from(self))) }
        }
        impl<'q> Bind<'q> for &$t {
            fn arg(self) -> Arg<'q> { Arg::Int(Some(i64::from(*self))) }
        }
        impl<'q> Bind<'q> for Option<$t> {
            fn arg(self) -> Arg<'q> { Arg::Int(self.map(i64::from)) }
        }
    )*};
}
bind_int!(i64, i32, u32, u16, u8);

impl<'q> Bind<'q> for bool {
    fn arg(self) -> Arg<'q> {
        Arg::Bool(Some(self))
    }
}
impl<'q> Bind<'q> for Option<bool> {
    fn arg(self) -> Arg<'q> {
        Arg::Bool(self)
    }
}
impl<'q> Bind<'q> for f64 {
    fn arg(self) -> Arg<'q> {
        Arg::Real(Some(self))
    }
}
impl<'q> Bind<'q> for &'q str {
    fn arg(self) -> Arg<'q> {
        Arg::Text(Some(Cow::Borrowed(self)))
    }
}
impl<'q> Bind<'q> for &'q String {
    fn arg(self) -> Arg<'q> {
        Arg::Text(Some(Cow::Borrowed(self.as_str())))
    }
}
impl<'q> Bind<'q> for &&'q str {
    fn arg(self) -> Arg<'q> {
        Arg::Text(Some(Cow::Borrowed(*self)))
    }
}
impl<'q> Bind<'q> for String {
    fn arg(self) -> Arg<'q> {
        Arg::Text(Some(Cow::Owned(self)))
    }
}
impl<'q> Bind<'q> for Option<&'q str> {
    fn arg(self) -> Arg<'q> {
        Arg::Text(self.map(Cow::Borrowed))
    }
}
impl<'q> Bind<'q> for Option<String> {
    fn arg(self) -> Arg<'q> {
        Arg::Text(self.map(Cow::Owned))
    }
}
impl<'q> Bind<'q> for &'q Option<String> {
    fn arg(self) -> Arg<'q> {
        Arg::Text(self.as_deref().map(Cow::Borrowed))
    }
}
impl<'q> Bind<'q> for &'q [u8] {
    fn arg(self) -> Arg<'q> {
        Arg::Blob(Some(Cow::Borrowed(self)))
    }
}
impl<'q, const N: usize> Bind<'q> for &'q [u8; N] {
    fn arg(self) -> Arg<'q> {
        Arg::Blob(Some(Cow::Borrowed(self.as_slice())))
    }
}
impl<'q> Bind<'q> for &'q Vec<u8> {
    fn arg(self) -> Arg<'q> {
        Arg::Blob(Some(Cow::Borrowed(self.as_slice())))
    }
}
impl<'q> Bind<'q> for Vec<u8> {
    fn arg(self) -> Arg<'q> {
        Arg::Blob(Some(Cow::Owned(self)))
    }
}
impl<'q> Bind<'q> for Option<Vec<u8>> {
    fn arg(self) -> Arg<'q> {
        Arg::Blob(self.map(Cow::Owned))
    }
}
impl<'q> Bind<'q> for Option<&'q [u8]> {
    fn arg(self) -> Arg<'q> {
        Arg::Blob(self.map(Cow::Borrowed))
    }
}
impl<'q> Bind<'q> for Arg<'q> {
    fn arg(self) -> Arg<'q> {
        self
    }
}

/// A column type both drivers decode.
pub trait Col:
    for<'r> Decode<'r, Sqlite> + Type<Sqlite> + for<'r> Decode<'r, Postgres> + Type<Postgres> + Send
{
}
impl<T> Col for T where
    T: for<'r> Decode<'r, Sqlite>
        + Type<Sqlite>
        + for<'r> Decode<'r, Postgres>
        + Type<Postgres>
        + Send
{
}

/// A column index both drivers accept: a name or a position.
pub trait Ix: ColumnIndex<SqliteRow> + ColumnIndex<PgRow> {}
impl<T: ColumnIndex<SqliteRow> + ColumnIndex<PgRow>> Ix for T {}

/// A row from either engine.
pub enum Row {
    Sqlite(SqliteRow),
    Postgres(PgRow),
}

impl Row {
    pub fn try_get<T: Col, I: Ix>(&self, i: I) -> Result<T, sqlx::Error> {
        match self {
            Row::Sqlite(r) => r.try_get(i),
            Row::Postgres(r) => r.try_get(i),
        }
    }

    /// Like [`Row::try_get`], for tests and tools: a column that is missing or of
    /// another type is a bug of the caller, so it panics (as sqlx's `Row::get`).
    pub fn get<T: Col, I: Ix + std::fmt::Debug + Copy>(&self, i: I) -> T {
        match self.try_get(i) {
            Ok(v) => v,
            Err(e) => panic!("column {i:?}: {e}"),
        }
    }

    /// The row as JSON values, column by column (integers, reals, booleans, text; NULL
    /// as null): a person's copy of what is stored about them.
    pub fn to_json(&self) -> Result<serde_json::Map<String, serde_json::Value>, sqlx::Error> {
        let mut out = serde_json::Map::new();
        match self {
            Row::Sqlite(r) => {
                for (i, col) in r.columns().iter().enumerate() {
                    let raw = r.try_get_raw(i)?;
                    let v = if raw.is_null() {
                        serde_json::Value::Null
                    } else {
                        match raw.type_info().name() {
                            "INTEGER" | "BIGINT" | "BOOLEAN" => r.try_get::<i64, _>(i)?.into(),
                            "REAL" => r.try_get::<f64, _>(i)?.into(),
                            _ => r.try_get::<String, _>(i)?.into(),
                        }
                    };
                    out.insert(col.name().to_owned(), v);
                }
            }
            Row::Postgres(r) => {
                for (i, col) in r.columns().iter().enumerate() {
                    let raw = r.try_get_raw(i)?;
                    let v = if raw.is_null() {
                        serde_json::Value::Null
                    } else {
                        match raw.type_info().name() {
                            "INT8" => r.try_get::<i64, _>(i)?.into(),
                            "INT4" => r.try_get::<i32, _>(i)?.into(),
                            "INT2" => r.try_get::<i16, _>(i)?.into(),
                            // Booleans as 0/1, as SQLite stores them: one export format.
                            "BOOL" => i64::from(r.try_get::<bool, _>(i)?).into(),
                            "FLOAT8" => r.try_get::<f64, _>(i)?.into(),
                            _ => r.try_get::<String, _>(i)?.into(),
                        }
                    };
                    out.insert(col.name().to_owned(), v);
                }
            }
        }
        Ok(out)
    }
}

/// What a statement did.
#[derive(Debug)]
pub struct Done {
    rows: u64,
}

impl Done {
    pub fn rows_affected(&self) -> u64 {
        self.rows
    }
}

/// A query and its bound values.
pub struct Query<'q> {
    sql: Cow<'static, str>,
    args: Vec<Arg<'q>>,
}

/// A query whose text is fixed in the program.
pub fn q(sql: &'static str) -> Query<'static> {
    Query {
        sql: Cow::Borrowed(sql),
        args: Vec::new(),
    }
}

/// A query whose text was put together at run time from fixed pieces (table names from
/// a fixed list, a number of placeholders): never from anything a person typed.
pub fn q_built(sql: String) -> Query<'static> {
    Query {
        sql: Cow::Owned(sql),
        args: Vec::new(),
    }
}

/// A query returning one column, decoded as `T`.
pub fn scalar<T: Col>(sql: &'static str) -> Scalar<'static, T> {
    Scalar {
        q: q(sql),
        _t: std::marker::PhantomData,
    }
}

macro_rules! bound {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args {
            q = match a {
                Arg::Int(v) => q.bind(*v),
                Arg::Real(v) => q.bind(*v),
                Arg::Bool(v) => q.bind(*v),
                Arg::Text(v) => q.bind(v.as_deref()),
                Arg::Blob(v) => q.bind(v.as_deref()),
            };
        }
        q
    }};
}

/// One connection of either engine, as sqlx runs queries on it.
enum Raw<'c> {
    Sqlite(&'c mut sqlx::SqliteConnection),
    Postgres(&'c mut sqlx::PgConnection),
}

/// A pool's connection, taken for one query and returned when it is dropped.
#[derive(Default)]
struct Held {
    sqlite: Option<PoolConnection<Sqlite>>,
    postgres: Option<PoolConnection<Postgres>>,
}

/// The connection `target` names, taking one from a pool into `held` when it names a
/// pool.
async fn raw<'c>(target: Target<'c>, held: &'c mut Held) -> Result<Raw<'c>, sqlx::Error> {
    Ok(match target {
        Target::Pool(Pool::Sqlite(p)) => Raw::Sqlite(held.sqlite.insert(p.acquire().await?)),
        Target::Pool(Pool::Postgres(p)) => Raw::Postgres(held.postgres.insert(p.acquire().await?)),
        Target::Conn(Conn::Sqlite(c)) => Raw::Sqlite(c),
        Target::Conn(Conn::Postgres(c)) => Raw::Postgres(c),
        Target::Conn(Conn::PgTx(t)) => Raw::Postgres(t),
        Target::Tx(Tx::Sqlite(t)) => Raw::Sqlite(t),
        Target::Tx(Tx::Postgres(t)) => Raw::Postgres(t),
    })
}

macro_rules! run {
    ($self:ident, $target:ident, $method:ident, |$r:ident, $w:ident| $map:expr) => {{
        let sql = AssertSqlSafe($self.sql);
        let mut held = Held::default();
        match raw($target.into(), &mut held).await? {
            Raw::Sqlite(c) => {
                let $r = bound!(sqlx::query::<Sqlite>(sql), &$self.args)
                    .$method(c)
                    .await?;
                let $w = Row::Sqlite;
                $map
            }
            Raw::Postgres(c) => {
                let $r = bound!(sqlx::query::<Postgres>(sql), &$self.args)
                    .$method(c)
                    .await?;
                let $w = Row::Postgres;
                $map
            }
        }
    }};
}

impl<'q> Query<'q> {
    pub fn bind(mut self, v: impl Bind<'q>) -> Self {
        self.args.push(v.arg());
        self
    }

    pub async fn execute<'c>(self, t: impl Into<Target<'c>>) -> Result<Done, sqlx::Error> {
        run!(self, t, execute, |r, _w| Ok(Done {
            rows: r.rows_affected()
        }))
    }

    pub async fn fetch_all<'c>(self, t: impl Into<Target<'c>>) -> Result<Vec<Row>, sqlx::Error> {
        run!(self, t, fetch_all, |r, wrap| Ok(r
            .into_iter()
            .map(wrap)
            .collect()))
    }

    pub async fn fetch_optional<'c>(
        self,
        t: impl Into<Target<'c>>,
    ) -> Result<Option<Row>, sqlx::Error> {
        run!(self, t, fetch_optional, |r, wrap| Ok(r.map(wrap)))
    }

    pub async fn fetch_one<'c>(self, t: impl Into<Target<'c>>) -> Result<Row, sqlx::Error> {
        run!(self, t, fetch_one, |r, wrap| Ok(wrap(r)))
    }
}

/// A one-column query (see [`scalar`]).
pub struct Scalar<'q, T> {
    q: Query<'q>,
    _t: std::marker::PhantomData<fn() -> T>,
}

impl<T: Col> Scalar<'static, T> {
    /// A one-column query put together at run time from fixed pieces (see [`q_built`]).
    pub fn new(sql: String) -> Self {
        Scalar {
            q: q_built(sql),
            _t: std::marker::PhantomData,
        }
    }
}

impl<'q, T: Col> Scalar<'q, T> {
    pub fn bind(mut self, v: impl Bind<'q>) -> Self {
        self.q = self.q.bind(v);
        self
    }

    pub async fn fetch_one<'c>(self, t: impl Into<Target<'c>>) -> Result<T, sqlx::Error> {
        self.q.fetch_one(t).await?.try_get(0)
    }

    pub async fn fetch_optional<'c>(
        self,
        t: impl Into<Target<'c>>,
    ) -> Result<Option<T>, sqlx::Error> {
        self.q
            .fetch_optional(t)
            .await?
            .map(|r| r.try_get(0))
            .transpose()
    }

    pub async fn fetch_all<'c>(self, t: impl Into<Target<'c>>) -> Result<Vec<T>, sqlx::Error> {
        self.q
            .fetch_all(t)
            .await?
            .iter()
            .map(|r| r.try_get(0))
            .collect()
    }
}

/// A query put together piece by piece, numbering its parameters as they are pushed.
pub struct Builder<'q> {
    sql: String,
    args: Vec<Arg<'q>>,
}

impl<'q> Builder<'q> {
    pub fn new(start: impl Into<String>) -> Self {
        Self {
            sql: start.into(),
            args: Vec::new(),
        }
    }

    /// Appends fixed SQL text (never a value a person typed: bind those).
    pub fn push(&mut self, sql: impl std::fmt::Display) -> &mut Self {
        let _ = write!(self.sql, "{sql}");
        self
    }

    /// Appends a parameter bound to `v`.
    pub fn push_bind(&mut self, v: impl Bind<'q>) -> &mut Self {
        self.args.push(v.arg());
        let _ = write!(self.sql, "${}", self.args.len());
        self
    }

    /// A list whose items [`Separated::push_bind`] separates with `sep`.
    pub fn separated(&mut self, sep: &'static str) -> Separated<'_, 'q> {
        Separated {
            b: self,
            sep,
            first: true,
        }
    }

    /// Appends `VALUES (…), (…)`, one tuple per item, filled in by `row`.
    pub fn push_values<I: IntoIterator>(
        &mut self,
        items: I,
        mut row: impl FnMut(Separated<'_, 'q>, I::Item),
    ) -> &mut Self {
        self.sql.push_str("VALUES ");
        for (i, item) in items.into_iter().enumerate() {
            if i > 0 {
                self.sql.push_str(", ");
            }
            self.sql.push('(');
            row(self.separated(", "), item);
            self.sql.push(')');
        }
        self
    }

    pub fn build(self) -> Query<'q> {
        Query {
            sql: Cow::Owned(self.sql),
            args: self.args,
        }
    }
}
