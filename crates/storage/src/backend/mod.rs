//! The two engines TEKKAN runs on, and how a database's location names one. What is
//! the same on both (every query of the product) is in the modules beside this one;
//! what differs (opening, the write lock, the audit append) is here.

pub(crate) mod postgres;
pub(crate) mod sqlite;

use std::path::PathBuf;

/// Where the database is: a SQLite file (the default) or a PostgreSQL server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    Sqlite(PathBuf),
    /// A `postgres://` (or `postgresql://`) URL, with its user, password and options.
    Postgres(String),
}

impl Location {
    /// Reads `[database] url`: `postgres://…` or `postgresql://…` is PostgreSQL;
    /// `sqlite://PATH` or a bare path is a SQLite file.
    pub fn parse(url: &str) -> Self {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Location::Postgres(url.to_owned())
        } else {
            let path = url.strip_prefix("sqlite://").unwrap_or(url);
            Location::Sqlite(PathBuf::from(path))
        }
    }

    /// Whether nothing is there yet: no SQLite file, or a PostgreSQL database without
    /// TEKKAN's schema (the server then makes its keys; otherwise they must exist).
    pub async fn is_new(&self) -> crate::Result<bool> {
        match self {
            Location::Sqlite(p) => Ok(!p.exists()),
            Location::Postgres(url) => postgres::is_new(url).await,
        }
    }

    /// Renames a PostgreSQL database to `<name>_<suffix>`, keeping it: the new name,
    /// or `None` when there was none. A SQLite file is the caller's to move.
    pub async fn set_aside(&self, suffix: &str) -> crate::Result<Option<String>> {
        match self {
            Location::Sqlite(_) => Ok(None),
            Location::Postgres(url) => postgres::set_aside(url, suffix).await,
        }
    }

    /// The location as `[database] url` takes it (password included: not for logs,
    /// see [`Location::redacted`]).
    pub fn url(&self) -> String {
        match self {
            Location::Sqlite(p) => format!("sqlite://{}", p.display()),
            Location::Postgres(u) => u.clone(),
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Location::Postgres(_))
    }

    /// The location for logs and messages: a PostgreSQL URL without its password.
    pub fn redacted(&self) -> String {
        match self {
            Location::Sqlite(p) => p.display().to_string(),
            Location::Postgres(url) => redact(url),
        }
    }
}

fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}")
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_told_apart_and_passwords_kept_out_of_logs() {
        assert_eq!(
            Location::parse("data/tekkan.db"),
            Location::Sqlite("data/tekkan.db".into())
        );
        assert_eq!(
            Location::parse("sqlite:///srv/t.db"),
            Location::Sqlite("/srv/t.db".into())
        );
        let pg = Location::parse("postgresql://tekkan:s3cret@db:5432/tekkan?sslmode=require");
        assert!(pg.is_postgres());
        assert_eq!(
            pg.redacted(),
            "postgresql://tekkan:***@db:5432/tekkan?sslmode=require"
        );
        assert!(!pg.redacted().contains("s3cret"));
    }
}
