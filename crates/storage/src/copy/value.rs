//! One cell on its way between engines: read by what the source holds (SQLite's value
//! types, PostgreSQL's column types), bound as the destination's column wants it
//! (SQLite's 0 and 1 become PostgreSQL's booleans and back).

use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{Column as _, Postgres, Row as _, Sqlite, TypeInfo as _, ValueRef as _};

use crate::{Result, StorageError};

/// A value as read from the source.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum V {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Bytes(Vec<u8>),
    Bool(bool),
}

/// What a PostgreSQL destination column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Int8,
    Int4,
    Int2,
    Bool,
    Text,
    Bytes,
    Float,
}

impl Kind {
    /// From `information_schema.columns.data_type`.
    pub(super) fn of_pg(data_type: &str) -> Option<Self> {
        Some(match data_type {
            "bigint" => Kind::Int8,
            "integer" => Kind::Int4,
            "smallint" => Kind::Int2,
            "boolean" => Kind::Bool,
            "text" | "character varying" | "character" => Kind::Text,
            "bytea" => Kind::Bytes,
            "double precision" | "real" => Kind::Float,
            _ => return None,
        })
    }
}

fn bad(at: &str, what: impl std::fmt::Display) -> StorageError {
    StorageError::Copy(format!("{at}: {what}"))
}

pub(super) fn from_sqlite(row: &SqliteRow, i: usize, at: &str) -> Result<V> {
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(V::Null);
    }
    // The value's own storage class: SQLite keeps whatever was written.
    let ty = raw.type_info().name().to_owned();
    Ok(match ty.as_str() {
        "INTEGER" => V::Int(row.try_get(i)?),
        "REAL" => V::Real(row.try_get(i)?),
        "TEXT" => V::Text(row.try_get(i)?),
        "BLOB" => V::Bytes(row.try_get(i)?),
        other => return Err(bad(at, format!("a value of type {other}"))),
    })
}

pub(super) fn from_pg(row: &PgRow, i: usize, at: &str) -> Result<V> {
    let ty = row.column(i).type_info().name().to_owned();
    let v = match ty.as_str() {
        "INT8" => row.try_get::<Option<i64>, _>(i)?.map(V::Int),
        "INT4" => row.try_get::<Option<i32>, _>(i)?.map(|n| V::Int(n.into())),
        "INT2" => row.try_get::<Option<i16>, _>(i)?.map(|n| V::Int(n.into())),
        "BOOL" => row.try_get::<Option<bool>, _>(i)?.map(V::Bool),
        "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" => row.try_get::<Option<String>, _>(i)?.map(V::Text),
        "BYTEA" => row.try_get::<Option<Vec<u8>>, _>(i)?.map(V::Bytes),
        "FLOAT8" => row.try_get::<Option<f64>, _>(i)?.map(V::Real),
        "FLOAT4" => row.try_get::<Option<f32>, _>(i)?.map(|f| V::Real(f.into())),
        other => return Err(bad(at, format!("a column of type {other}"))),
    };
    Ok(v.unwrap_or(V::Null))
}

type SqliteQuery<'q> = Query<'q, Sqlite, SqliteArguments>;
type PgQuery<'q> = Query<'q, Postgres, PgArguments>;

/// SQLite takes any value in any column; a boolean becomes 1 or 0, as TEKKAN's SQLite
/// schema stores them.
pub(super) fn bind_sqlite(q: SqliteQuery<'_>, v: V) -> SqliteQuery<'_> {
    match v {
        V::Null => q.bind(None::<i64>),
        V::Int(n) => q.bind(n),
        V::Real(f) => q.bind(f),
        V::Text(s) => q.bind(s),
        V::Bytes(b) => q.bind(b),
        V::Bool(b) => q.bind(i64::from(b)),
    }
}

/// PostgreSQL checks types: each value is converted to its column's, and a NULL is
/// sent as that type too.
pub(super) fn bind_pg<'q>(q: PgQuery<'q>, v: V, kind: Kind, at: &str) -> Result<PgQuery<'q>> {
    let int = |v: &V| -> Result<Option<i64>> {
        match v {
            V::Null => Ok(None),
            V::Int(n) => Ok(Some(*n)),
            V::Bool(b) => Ok(Some(i64::from(*b))),
            V::Real(f) if f.fract() == 0.0 => Ok(Some(*f as i64)),
            V::Text(s) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| bad(at, format!("{s:?} is not a whole number"))),
            other => Err(bad(at, format!("{other:?} is not a whole number"))),
        }
    };
    let narrow = |n: i64| bad(at, format!("{n} does not fit the column"));
    Ok(match kind {
        Kind::Int8 => q.bind(int(&v)?),
        Kind::Int4 => q.bind(
            int(&v)?
                .map(|n| i32::try_from(n).map_err(|_| narrow(n)))
                .transpose()?,
        ),
        Kind::Int2 => q.bind(
            int(&v)?
                .map(|n| i16::try_from(n).map_err(|_| narrow(n)))
                .transpose()?,
        ),
        Kind::Bool => q.bind(match v {
            V::Null => None,
            V::Bool(b) => Some(b),
            other => int(&other)?.map(|n| n != 0),
        }),
        Kind::Float => q.bind(match v {
            V::Null => None,
            V::Real(f) => Some(f),
            other => int(&other)?.map(|n| n as f64),
        }),
        Kind::Text => q.bind(match v {
            V::Null => None,
            V::Text(s) if s.contains('\0') => {
                return Err(bad(
                    at,
                    "text with a NUL character, which PostgreSQL refuses",
                ));
            }
            V::Text(s) => Some(s),
            V::Int(n) => Some(n.to_string()),
            V::Real(f) => Some(f.to_string()),
            V::Bool(b) => Some(i64::from(b).to_string()),
            V::Bytes(b) => {
                Some(String::from_utf8(b).map_err(|_| bad(at, "bytes that are not UTF-8 text"))?)
            }
        }),
        Kind::Bytes => q.bind(match v {
            V::Null => None,
            V::Bytes(b) => Some(b),
            V::Text(s) => Some(s.into_bytes()),
            other => return Err(bad(at, format!("{other:?} is not bytes"))),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_column_types_map_to_kinds() {
        assert_eq!(Kind::of_pg("bigint"), Some(Kind::Int8));
        assert_eq!(Kind::of_pg("boolean"), Some(Kind::Bool));
        assert_eq!(Kind::of_pg("bytea"), Some(Kind::Bytes));
        assert_eq!(Kind::of_pg("jsonb"), None);
    }
}
