//! Reading the audit trail for people: officers search their club's entries, the
//! operator searches everything, and each person sees who viewed their data. There is
//! no statement here, or anywhere, that edits or deletes an entry.

use sqlx::{QueryBuilder, Row, Sqlite};

use crate::{AuditRow, Db, Result};

/// What to look for; every part optional. Times are milliseconds since the epoch.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub club: Option<String>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    /// Only entries before this sequence number (paging backwards).
    pub before_seq: Option<i64>,
    pub limit: i64,
}

/// A view of someone's data, for "who viewed my data".
#[derive(Debug, Clone)]
pub struct ViewRow {
    pub seq: i64,
    pub ts_ms: i64,
    pub actor_account: Option<String>,
    pub actor_name: Option<String>,
    pub club_id: Option<String>,
    pub action: String,
}

fn row(r: &sqlx::sqlite::SqliteRow) -> Result<AuditRow> {
    Ok(AuditRow {
        seq: r.try_get("seq")?,
        ts_ms: r.try_get("ts_ms")?,
        actor_account: r.try_get("actor_account")?,
        action: r.try_get("action")?,
        target: r.try_get("target")?,
    })
}

impl Db {
    /// Entries matching `q`, newest first.
    pub async fn search_audit(&self, q: &AuditQuery) -> Result<Vec<AuditRow>> {
        let mut b: QueryBuilder<Sqlite> = QueryBuilder::new(
            "SELECT seq, ts_ms, actor_account, action, target FROM audit_log WHERE 1 = 1",
        );
        if let Some(c) = &q.club {
            b.push(" AND club_id = ").push_bind(c.clone());
        }
        if let Some(a) = &q.actor {
            b.push(" AND actor_account = ").push_bind(a.clone());
        }
        if let Some(a) = &q.action {
            b.push(" AND action = ").push_bind(a.clone());
        }
        if let Some(t) = q.from_ms {
            b.push(" AND ts_ms >= ").push_bind(t);
        }
        if let Some(t) = q.to_ms {
            b.push(" AND ts_ms < ").push_bind(t);
        }
        if let Some(s) = q.before_seq {
            b.push(" AND seq < ").push_bind(s);
        }
        b.push(" ORDER BY seq DESC LIMIT ").push_bind(q.limit);
        let rows = b.build().fetch_all(&self.reader).await?;
        rows.iter().map(row).collect()
    }

    /// Reads of `account`'s data by others: of its personal fields, and of the rosters
    /// with contact details of clubs it belonged to at the time. Newest first.
    pub async fn views_of(&self, account: &str, limit: i64) -> Result<Vec<ViewRow>> {
        let rows = sqlx::query(
            // Two indexed halves: reads aimed at the person (by target), and club-wide
            // reads in the clubs they belonged to at the time (by club).
            "SELECT l.seq, l.ts_ms, l.actor_account, a.display_name AS actor_name, l.club_id, l.action \
             FROM audit_log l LEFT JOIN accounts a ON a.id = l.actor_account \
             WHERE l.target = 'account:' || ? AND l.action = 'personal.read' \
               AND (l.actor_account IS NULL OR l.actor_account <> ?) \
             UNION ALL \
             SELECT l.seq, l.ts_ms, l.actor_account, a.display_name AS actor_name, l.club_id, l.action \
             FROM memberships m JOIN audit_log l ON l.club_id = m.club_id \
             LEFT JOIN accounts a ON a.id = l.actor_account \
             WHERE m.account_id = ? AND l.action IN ('roster.read', 'attendance.report_read') \
               AND l.ts_ms >= m.joined_at AND (m.left_at IS NULL OR l.ts_ms <= m.left_at) \
               AND (l.actor_account IS NULL OR l.actor_account <> m.account_id) \
             ORDER BY 1 DESC LIMIT ?",
        )
        .bind(account)
        .bind(account)
        .bind(account)
        .bind(limit)
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ViewRow {
                    seq: r.try_get("seq")?,
                    ts_ms: r.try_get("ts_ms")?,
                    actor_account: r.try_get("actor_account")?,
                    actor_name: r.try_get("actor_name")?,
                    club_id: r.try_get("club_id")?,
                    action: r.try_get("action")?,
                })
            })
            .collect()
    }
}

impl Db {
    /// The name shown for an account id as the audit log records it (`None` when the
    /// id names no account, such as a deleted person's pseudonym).
    pub async fn display_name_of(&self, account: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT display_name FROM accounts WHERE id = ?")
                .bind(account)
                .fetch_optional(&self.reader)
                .await?,
        )
    }
}

impl crate::WriteTx {
    /// Keeps a signed action's record; its digest is the audit entry's change digest.
    pub async fn insert_signed_action(&mut self, digest: &str, record: &str) -> Result<()> {
        sqlx::query("INSERT INTO signed_actions (digest, record, created_at) VALUES (?, ?, ?)")
            .bind(digest)
            .bind(record)
            .bind(crate::now_ms())
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }
}

impl Db {
    /// Every signed action's record, by digest (hex).
    pub async fn signed_actions(&self) -> Result<std::collections::HashMap<String, String>> {
        let rows = sqlx::query("SELECT digest, record FROM signed_actions")
            .fetch_all(&self.reader)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("digest")?, r.try_get("record")?)))
            .collect()
    }
}
