//! The schema stays ready for sharding by club (Citus distributes tables by one
//! column): every club-owned table carries `club_id`, its key leads with it, and rows
//! point only at rows of their own club. Checked on the catalogue of a migrated
//! database of each engine, so that a table added later without its club fails here.

use std::collections::{BTreeMap, BTreeSet};

use tekkan_storage::sql as raw;

use crate::support::{TestApp, columns_of};

/// Tables with a `club_id` that are not the club's own rows, and why.
const NOT_CLUB_OWNED: &[(&str, &str)] = &[
    (
        "notifications",
        "a person's inbox; club_id only says which club a notice is about",
    ),
    (
        "personal_consents",
        "a person's consent record, kept with their account",
    ),
    (
        "audit_log",
        "the one global chain; club_id lets a club read and export its own entries",
    ),
    (
        "audit_queue",
        "entries waiting for the one global audit log",
    ),
];

/// Tables every club shares (Citus reference tables) or that are the clubs themselves.
const SHARED: &[&str] = &["clubs", "accounts"];

async fn strings(db: &mut raw::Conn, sql: &'static str) -> Vec<Vec<String>> {
    raw::q(sql)
        .fetch_all(db)
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (0..3)
                .map_while(|i| r.try_get::<String, _>(i).ok())
                .collect()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_club_owned_table_leads_with_its_club() {
    let app = TestApp::start().await;
    let mut db = app.raw_db().await;
    let pg = db.is_postgres();
    let with_club: BTreeSet<String> = if pg {
        strings(
            &mut db,
            "SELECT table_name::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND column_name = 'club_id'",
        )
        .await
    } else {
        strings(
            &mut db,
            "SELECT m.name FROM sqlite_master m, pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND p.name = 'club_id'",
        )
        .await
    }
    .into_iter()
    .map(|r| r[0].clone())
    .collect();
    let owned: BTreeSet<String> = with_club
        .iter()
        .filter(|t| !NOT_CLUB_OWNED.iter().any(|(n, _)| n == t))
        .cloned()
        .collect();
    assert!(owned.len() >= 20, "{owned:?}");
    for (t, _) in NOT_CLUB_OWNED {
        assert!(with_club.contains(*t), "{t} is listed but has no club_id");
    }

    // Every reference: (from table, to table, definition).
    let fks = if pg {
        strings(
            &mut db,
            "SELECT conrelid::regclass::text, confrelid::regclass::text, \
             pg_get_constraintdef(oid) FROM pg_constraint WHERE contype = 'f'",
        )
        .await
    } else {
        strings(
            &mut db,
            "SELECT m.name, f.\"table\", f.\"from\" FROM sqlite_master m, \
             pragma_foreign_key_list(m.name) f WHERE m.type = 'table'",
        )
        .await
    };
    let mut problems = Vec::new();
    for fk in &fks {
        let (from, to) = (&fk[0], &fk[1]);
        // A table pointing into a club's rows belongs to that club.
        if owned.contains(to) && !owned.contains(from) && !SHARED.contains(&from.as_str()) {
            problems.push(format!(
                "{from} refers to {to} but carries no club of its own"
            ));
        }
        // On PostgreSQL (the engine that would be sharded) the reference names the club
        // on both sides, so a row can only point into its own club.
        if pg && owned.contains(from) && owned.contains(to) {
            let def = &fk[2];
            if !(def.starts_with("FOREIGN KEY (club_id, ")
                && def.contains(&format!("{to}(club_id, ")))
            {
                problems.push(format!("{from} → {to} does not name the club: {def}"));
            }
        }
    }

    for t in &owned {
        let key = if pg {
            raw::Scalar::<String>::new(
                "SELECT string_agg(a.attname, ',' ORDER BY k.n) FROM pg_index i \
                 CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) \
                 JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum \
                 WHERE i.indrelid = $1::regclass AND i.indisprimary"
                    .to_owned(),
            )
            .bind(t.as_str())
            .fetch_optional(&mut db)
            .await
            .unwrap()
        } else {
            // SQLite cannot re-key a table in place: a unique index leads with the club.
            raw::Scalar::<String>::new(
                "SELECT group_concat(c.name, ',') FROM pragma_index_list($1) l, \
                 pragma_index_info(l.name) c WHERE l.\"unique\" = 1 AND l.name = $2 \
                 ORDER BY c.seqno"
                    .to_owned(),
            )
            .bind(t.as_str())
            .bind(format!("{t}_club_key"))
            .fetch_optional(&mut db)
            .await
            .unwrap()
        };
        match key.as_deref() {
            Some(k) if k.starts_with("club_id,") => {}
            other => problems.push(format!("{t}: key {other:?} does not lead with club_id")),
        }
        if pg {
            // No other rule of uniqueness spans clubs.
            let spanning: Vec<String> = raw::Scalar::new(
                "SELECT i.indexrelid::regclass::text FROM pg_index i WHERE i.indrelid = $1::regclass \
                 AND i.indisunique AND NOT EXISTS (SELECT 1 FROM pg_attribute a \
                 WHERE a.attrelid = i.indrelid AND a.attname = 'club_id' \
                 AND a.attnum = ANY(i.indkey::int2[]))"
                    .to_owned(),
            )
            .bind(t.as_str())
            .fetch_all(&mut db)
            .await
            .unwrap();
            for u in spanning {
                problems.push(format!("{t}: unique index {u} spans clubs"));
            }
            let nullable: String = raw::Scalar::new(
                "SELECT is_nullable::text FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = $1 \
                 AND column_name = 'club_id'"
                    .to_owned(),
            )
            .bind(t.as_str())
            .fetch_one(&mut db)
            .await
            .unwrap();
            if nullable != "NO" {
                problems.push(format!("{t}: club_id may be empty"));
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");

    // The same tables carry the club on both engines (one logical schema).
    let expected: BTreeMap<&str, &str> = [
        ("answers", "occurrence_id"),
        ("poll_votes", "poll_id"),
        ("subgroup_members", "subgroup_id"),
        ("comment_revisions", "comment_id"),
        ("reminder_jobs", "occurrence_id"),
    ]
    .into();
    for (t, col) in expected {
        let cols = columns_of(&mut db, t).await;
        assert!(
            cols.contains(&"club_id".to_owned()) && cols.contains(&col.to_owned()),
            "{t}: {cols:?}"
        );
    }
}
