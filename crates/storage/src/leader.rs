//! Duties only one instance does at a time (signing checkpoints, scheduled backups),
//! and the token an instance holds while it does one (see [`crate::Db::try_lead`]).

/// What only one instance of a service may do at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Duty {
    /// Extending the Merkle tree and signing checkpoints.
    Checkpoints,
    /// Scheduled backup runs.
    Backups,
}

impl Duty {
    pub(crate) fn lock(self) -> i64 {
        match self {
            Duty::Checkpoints => 0x7e6b_616e_0101,
            Duty::Backups => 0x7e6b_616e_0102,
        }
    }
}

/// Held by the instance doing a duty (see [`Db::try_lead`]).
pub struct Leadership {
    /// PostgreSQL: the session whose advisory lock is the duty. None on SQLite.
    pub(crate) session: Option<sqlx::PgConnection>,
}

impl Leadership {
    /// Whether the duty is still this instance's: its session still answers (a
    /// restarted server or a cut connection released the lock).
    pub async fn still_held(&mut self) -> bool {
        match &mut self.session {
            None => true,
            Some(c) => sqlx::query("SELECT 1").execute(&mut *c).await.is_ok(),
        }
    }
}
