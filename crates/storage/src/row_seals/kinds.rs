//! The sealed tables: for each, its key and the columns its seal covers, and the SQL
//! that gives a row's id and canonical content.

/// A sealed table.
pub(super) struct Kind {
    pub name: &'static str,
    pub table: &'static str,
    /// The primary key's columns; the row's id in seals is their values joined by `:`.
    pub keys: &'static [&'static str],
    /// What the seal covers besides the keys. A column added later is outside the seal
    /// until listed here (with a re-seal of existing rows).
    pub cols: &'static [&'static str],
}

pub(super) const KINDS: &[Kind] = &[
    Kind {
        name: "comment",
        table: "comments",
        keys: &["id"],
        cols: &[
            "club_id",
            "parent_kind",
            "parent_id",
            "author_id",
            "body",
            "created_at",
            "edited_at",
            "deleted_at",
        ],
    },
    Kind {
        name: "announcement",
        table: "announcements",
        keys: &["id"],
        cols: &[
            "club_id",
            "author_id",
            "title",
            "body",
            "content_hash",
            "pinned",
            "requires_confirmation",
            "all_members",
            "created_at",
            "updated_at",
            "deleted_at",
        ],
    },
    Kind {
        name: "poll",
        table: "polls",
        keys: &["id"],
        cols: &[
            "club_id",
            "author_id",
            "question",
            "multiple",
            "anonymous",
            "all_members",
            "closes_at",
            "closed_at",
        ],
    },
    Kind {
        name: "event",
        table: "events",
        keys: &["id"],
        cols: &[
            "club_id",
            "title",
            "place",
            "bring",
            "notes",
            "timezone",
            "rrule",
            "first_start",
            "first_end",
            "capacity",
            "all_members",
            "cancelled_at",
        ],
    },
    Kind {
        name: "answer",
        table: "answers",
        keys: &["occurrence_id", "membership_id"],
        cols: &[
            "status",
            "comment",
            "answered_by",
            "answered_as",
            "answered_at",
        ],
    },
    Kind {
        name: "membership",
        table: "memberships",
        keys: &["id"],
        cols: &[
            "club_id",
            "account_id",
            "role",
            "status",
            "joined_at",
            "left_at",
        ],
    },
    Kind {
        name: "account",
        table: "accounts",
        keys: &["id"],
        cols: &[
            "email",
            "display_name",
            "password_hash",
            "is_operator",
            "disabled_at",
            "deleted_at",
            "use_stopped_at",
            "phone_visibility",
            "address_visibility",
            "webauthn_handle",
        ],
    },
    Kind {
        name: "guardian_link",
        table: "guardian_links",
        keys: &["club_id", "guardian_id", "student_id"],
        cols: &["created_at"],
    },
    Kind {
        name: "personal_field",
        table: "personal_fields",
        keys: &["account_id", "field"],
        cols: &["sealed", "updated_at"],
    },
];

pub(super) fn id_expr(k: &Kind) -> String {
    k.keys
        .iter()
        .map(|c| format!("CAST(t.{c} AS TEXT)"))
        .collect::<Vec<_>>()
        .join(" || ':' || ")
}

/// SQL giving the row's canonical content: every column `quote()`d, so types and NULLs
/// are told apart, comma-separated in the order of [`Kind::cols`]. On PostgreSQL the same
/// text is built by hand, so that a seal made on one engine verifies on the other (a
/// deployment moves between them).
pub(super) fn content_expr(k: &Kind, postgres: bool) -> String {
    content_expr_of(k, postgres, "t")
}

/// [`content_expr`] of the row under another alias.
pub(super) fn content_expr_of(k: &Kind, postgres: bool, t: &str) -> String {
    k.cols
        .iter()
        .map(|c| {
            if !postgres {
                format!("quote({t}.{c})")
            } else if BOOLEANS.contains(c) {
                // SQLite keeps booleans as 0 and 1.
                format!("COALESCE(({t}.{c})::int::text, 'NULL')")
            } else if is_integer(c) {
                format!("COALESCE(({t}.{c})::text, 'NULL')")
            } else {
                format!("COALESCE('''' || replace({t}.{c}, '''', '''''') || '''', 'NULL')")
            }
        })
        .collect::<Vec<_>>()
        .join(" || ',' || ")
}

/// The sealed columns that are BOOLEAN.
const BOOLEANS: &[&str] = &[
    "pinned",
    "requires_confirmation",
    "all_members",
    "multiple",
    "anonymous",
    "is_operator",
];

/// Whether a sealed column is BIGINT: times (`…_at`) and capacities. Every other
/// sealed column is TEXT.
fn is_integer(col: &str) -> bool {
    col.ends_with("_at") || col == "capacity"
}
