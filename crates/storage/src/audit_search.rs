//! Reading the audit trail for people: officers search their club's entries, the
//! operator searches everything, and each person sees who viewed their data. There is
//! no statement here, or anywhere, that edits or deletes an entry.

use crate::sql::{Builder, Row, q};

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

fn row(r: &Row) -> Result<AuditRow> {
    Ok(AuditRow {
        seq: r.try_get("seq")?,
        ts_ms: r.try_get("ts_ms")?,
        actor_account: r.try_get("actor_account")?,
        actor_name: r.try_get("actor_name")?,
        action: r.try_get("action")?,
        target: r.try_get("target")?,
    })
}

/// The search keys of an entry: its club, its actor, and its target when that is a
/// person (for "who viewed my data") or a passkey (its enrolment travels with the
/// exports of clubs its owner signed for); other targets are not searched for.
pub fn search_keys(e: &tekkan_audit::Entry) -> Vec<String> {
    let v = &e.event;
    let mut keys = Vec::with_capacity(3);
    if v.target.starts_with("account:") || v.target.starts_with("passkey:") {
        keys.push(format!("target:{}", v.target));
    }
    if let Some(c) = &v.club {
        keys.push(format!("club:{c}"));
    }
    if let Some(a) = &v.actor_account {
        keys.push(format!("actor:{a}"));
    }
    keys
}

const COLUMNS: &str =
    "l.seq, l.ts_ms, l.actor_account, a.display_name AS actor_name, l.club_id, l.action, l.target";

/// Builds `SELECT ... FROM <the entries with key, up to the indexed size> UNION ALL
/// <the tail after it, filtered by the key's column>` with `filters` applied to both.
fn keyed(
    b: &mut Builder<'_>,
    columns: &str,
    key: &(String, &'static str, String),
    indexed: i64,
    filters: &dyn Fn(&mut Builder<'_>),
) {
    let (search_key, column, value) = key;
    b.push(format!(
        "SELECT {columns} FROM audit_search s JOIN audit_log l ON l.seq = s.seq \
         LEFT JOIN accounts a ON a.id = l.actor_account WHERE s.search_key = "
    ))
    .push_bind(search_key.clone())
    .push(" AND s.seq <= ")
    .push_bind(indexed);
    filters(b);
    b.push(format!(
        " UNION ALL SELECT {columns} FROM audit_log l LEFT JOIN accounts a ON a.id = l.actor_account \
         WHERE l.seq > "
    ))
    .push_bind(indexed)
    .push(format!(" AND l.{column} = "))
    .push_bind(value.clone());
    filters(b);
}

impl Db {
    /// Entries matching `q`, newest first.
    pub async fn search_audit(&self, q: &AuditQuery) -> Result<Vec<AuditRow>> {
        // Every entry committed so far, queued ones included (PostgreSQL).
        self.integrate(true).await?;
        let indexed = self.tree_size().await? as i64;
        let q2 = q.clone();
        let filters = move |b: &mut Builder<'_>| {
            if let Some(c) = &q2.club {
                b.push(" AND l.club_id = ").push_bind(c.clone());
            }
            if let Some(a) = &q2.actor {
                b.push(" AND l.actor_account = ").push_bind(a.clone());
            }
            if let Some(a) = &q2.action {
                b.push(" AND l.action = ").push_bind(a.clone());
            }
            if let Some(t) = q2.from_ms {
                b.push(" AND l.ts_ms >= ").push_bind(t);
            }
            if let Some(t) = q2.to_ms {
                b.push(" AND l.ts_ms < ").push_bind(t);
            }
            if let Some(s) = q2.before_seq {
                b.push(" AND l.seq < ").push_bind(s);
            }
        };
        // The narrowest key the question names: the person, else the club.
        let key = match (&q.actor, &q.club) {
            (Some(a), _) => Some((format!("actor:{a}"), "actor_account", a.clone())),
            (None, Some(c)) => Some((format!("club:{c}"), "club_id", c.clone())),
            (None, None) => None,
        };
        let mut b: Builder<'_> = Builder::new("");
        match &key {
            Some(k) => keyed(&mut b, COLUMNS, k, indexed, &filters),
            None => {
                b.push(format!(
                    "SELECT {COLUMNS} FROM audit_log l \
                     LEFT JOIN accounts a ON a.id = l.actor_account WHERE 1 = 1"
                ));
                filters(&mut b);
            }
        }
        b.push(" ORDER BY 1 DESC LIMIT ").push_bind(q.limit);
        let rows = b.build().fetch_all(&self.reader).await?;
        rows.iter().map(row).collect()
    }

    /// Every entry about one club, in order (for its export).
    pub async fn club_audit_entries(&self, club: &str) -> Result<Vec<tekkan_audit::Entry>> {
        // Every entry committed so far, queued ones included (PostgreSQL).
        self.integrate(true).await?;
        let indexed = self.tree_size().await? as i64;
        let rows = q(concat!(
            "SELECT ",
            crate::audit_log::entry_columns!("l."),
            " FROM audit_search s JOIN audit_log l ON l.seq = s.seq \
             WHERE s.search_key = 'club:' || $1 AND s.seq <= $2 UNION ALL SELECT ",
            crate::audit_log::entry_columns!("l."),
            " FROM audit_log l WHERE l.seq > $3 AND l.club_id = $4 ORDER BY 1"
        ))
        .bind(club)
        .bind(indexed)
        .bind(indexed)
        .bind(club)
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(crate::audit_log::entry_from_row).collect()
    }

    /// Every entry about the passkeys `credential_ids` (enrolment, backfill, removal), in
    /// order: what vouches for the keys of a club's signed actions in its export.
    pub async fn passkey_entries(
        &self,
        credential_ids: &[String],
    ) -> Result<Vec<tekkan_audit::Entry>> {
        if credential_ids.is_empty() {
            return Ok(Vec::new());
        }
        let indexed = self.tree_size().await? as i64;
        let mut b: Builder<'_> = Builder::new(concat!(
            "SELECT ",
            crate::audit_log::entry_columns!("l."),
            " FROM audit_search s JOIN audit_log l ON l.seq = s.seq WHERE s.seq <= "
        ));
        b.push_bind(indexed).push(" AND s.search_key IN (");
        let mut keys = b.separated(", ");
        for id in credential_ids {
            keys.push_bind(format!("target:passkey:{id}"));
        }
        b.push(") UNION ALL SELECT ")
            .push(crate::audit_log::entry_columns!("l."))
            .push(" FROM audit_log l WHERE l.seq > ")
            .push_bind(indexed)
            .push(" AND l.target IN (");
        let mut targets = b.separated(", ");
        for id in credential_ids {
            targets.push_bind(format!("passkey:{id}"));
        }
        b.push(") ORDER BY 1");
        let rows = b.build().fetch_all(&self.reader).await?;
        rows.iter().map(crate::audit_log::entry_from_row).collect()
    }

    /// Reads of `account`'s data by others: of its personal fields, and of the rosters
    /// and reports of clubs it belonged to at the time. Newest first.
    pub async fn views_of(&self, account: &str, limit: i64) -> Result<Vec<ViewRow>> {
        // Every entry committed so far, queued ones included (PostgreSQL).
        self.integrate(true).await?;
        let indexed = self.tree_size().await? as i64;
        let cols =
            "l.seq, l.ts_ms, l.actor_account, a.display_name AS actor_name, l.club_id, l.action";
        let not_me = " AND (l.actor_account IS NULL OR l.actor_account <> ";
        let mut b: Builder<'_> = Builder::new("");
        let target = format!("account:{account}");
        keyed(
            &mut b,
            cols,
            &(format!("target:{target}"), "target", target.clone()),
            indexed,
            &|b| {
                b.push(" AND l.action = 'personal.read'")
                    .push(not_me)
                    .push_bind(account.to_owned())
                    .push(")");
            },
        );
        // Club-wide reads, while the person was a member.
        let during = |b: &mut Builder<'_>| {
            b.push(
                " AND l.action IN ('roster.read', 'attendance.report_read') \
                 AND l.ts_ms >= m.joined_at AND (m.left_at IS NULL OR l.ts_ms <= m.left_at) \
                 AND (l.actor_account IS NULL OR l.actor_account <> m.account_id)",
            );
        };
        b.push(format!(
            " UNION ALL SELECT {cols} FROM memberships m \
             JOIN audit_search s ON s.search_key = 'club:' || m.club_id AND s.seq <= "
        ))
        .push_bind(indexed)
        .push(
            " JOIN audit_log l ON l.seq = s.seq LEFT JOIN accounts a ON a.id = l.actor_account \
             WHERE m.account_id = ",
        )
        .push_bind(account.to_owned());
        during(&mut b);
        b.push(format!(
            " UNION ALL SELECT {cols} FROM memberships m JOIN audit_log l ON l.club_id = m.club_id \
             AND l.seq > "
        ))
        .push_bind(indexed)
        .push(" LEFT JOIN accounts a ON a.id = l.actor_account WHERE m.account_id = ")
        .push_bind(account.to_owned());
        during(&mut b);
        b.push(" ORDER BY 1 DESC LIMIT ").push_bind(limit);
        let rows = b.build().fetch_all(&self.reader).await?;
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

impl crate::WriteTx {
    /// Keeps the record an audit entry commits to (a signed action, a passkey's key); its
    /// digest is the entry's change digest. The same digest is the same record, kept once.
    pub async fn insert_signed_action(&mut self, digest: &str, record: &str) -> Result<()> {
        q(
            "INSERT INTO signed_actions (digest, record, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (digest) DO NOTHING",
        )
        .bind(digest)
        .bind(record)
        .bind(crate::now_ms())
        .execute(&mut self.tx)
        .await?;
        Ok(())
    }
}

impl Db {
    /// Every signed action's record, by digest (hex).
    pub async fn signed_actions(&self) -> Result<std::collections::HashMap<String, String>> {
        let rows = q("SELECT digest, record FROM signed_actions")
            .fetch_all(&self.reader)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("digest")?, r.try_get("record")?)))
            .collect()
    }
}
