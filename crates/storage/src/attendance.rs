//! 出欠: answers per occurrence, the waiting list, and the schedule a person sees.

use crate::sql::{Row, q, scalar};
use tekkan_core::{
    AccountId, AnswerStatus, AnsweredAs, ClubId, MembershipId, MembershipStatus, OccurrenceId,
};

use crate::events::{Occurrence, occurrence_cols, occurrence_row, targeted};
use crate::records::{id_col, membership_cols, sealed_membership};
use crate::{Db, Result, StorageError, WriteTx};

#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub occurrence_id: OccurrenceId,
    pub membership_id: MembershipId,
    pub status: AnswerStatus,
    pub comment: String,
    /// For 未定: the date (YYYY-MM-DD) by which they will know.
    pub decide_by: Option<String>,
    /// When a waiting "yes" joined the queue.
    pub queued_at: Option<i64>,
    pub answered_by: AccountId,
    pub answered_as: AnsweredAs,
    pub answered_at: i64,
}

/// What deciding an answer needs, read inside its write in one round trip.
#[derive(Debug, Clone)]
pub struct AnswerFacts {
    pub occurrence: Occurrence,
    /// The member's status in the club; `None` when the club has no such member.
    pub member_status: Option<MembershipStatus>,
    /// Whether the occurrence's event is for this member.
    pub targeted: bool,
    /// Their answer so far: its status, and when a waiting "yes" joined the queue.
    pub prev: Option<(AnswerStatus, Option<i64>)>,
    /// Places held ("yes" answers) before this answer.
    pub places_taken: i64,
    /// The club's time zone (IANA name).
    pub timezone: String,
}

/// What an answer is decided on: who is answering, and about what.
#[derive(Debug, Clone)]
pub struct AnswerContext {
    /// The actor's membership in the club, and whether it matches its seal; `None`
    /// when they are not a member.
    pub actor: Option<(crate::Membership, bool)>,
    /// `None` when the club has no such occurrence.
    pub facts: Option<AnswerFacts>,
}

/// Counts of answers for one occurrence.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub yes: i64,
    pub no: i64,
    pub maybe: i64,
    pub waitlisted: i64,
}

/// One line of a person's schedule: an occurrence, whom it is for (themselves, or a
/// child they answer for), and that person's answer.
#[derive(Debug, Clone)]
pub struct ScheduleRow {
    pub occurrence: Occurrence,
    pub club_name: String,
    /// The club's time zone, to show times on its clock.
    pub timezone: String,
    pub member: MembershipId,
    pub member_name: String,
    /// False when the line is for a child of the guardian reading it.
    pub is_self: bool,
    pub answer: Option<(AnswerStatus, String)>,
    pub tally: Tally,
}

fn answer_row(r: &Row) -> Result<Answer> {
    let status: String = r.try_get("status")?;
    let as_: String = r.try_get("answered_as")?;
    let bad = |what: &str, v: &str| StorageError::Corrupt(format!("{what}: {v:?}"));
    Ok(Answer {
        occurrence_id: id_col(r, "occurrence_id", OccurrenceId)?,
        membership_id: id_col(r, "membership_id", MembershipId)?,
        status: AnswerStatus::parse(&status).map_err(|_| bad("status", &status))?,
        comment: r.try_get("comment")?,
        decide_by: r.try_get("decide_by")?,
        queued_at: r.try_get("queued_at")?,
        answered_by: id_col(r, "answered_by", AccountId)?,
        answered_as: AnsweredAs::parse(&as_).map_err(|_| bad("answered_as", &as_))?,
        answered_at: r.try_get("answered_at")?,
    })
}

fn tally_row(r: &Row) -> Result<Tally> {
    Ok(Tally {
        yes: r.try_get("n_yes")?,
        no: r.try_get("n_no")?,
        maybe: r.try_get("n_maybe")?,
        waitlisted: r.try_get("n_wait")?,
    })
}

macro_rules! tally_cols {
    () => {
        "o.n_yes AS n_yes, o.n_no AS n_no, o.n_maybe AS n_maybe, o.n_wait AS n_wait"
    };
}

impl Db {
    /// Every answer to an occurrence, with the member's name.
    pub async fn answers(&self, occ: OccurrenceId) -> Result<Vec<(Answer, String)>> {
        let rows = q(
            "SELECT x.*, a.display_name FROM answers x JOIN memberships m ON m.id = x.membership_id \
             JOIN accounts a ON a.id = m.account_id WHERE x.occurrence_id = $1 \
             ORDER BY COALESCE(x.queued_at, x.answered_at)",
        )
        .bind(occ.to_string())
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|r| Ok((answer_row(r)?, r.try_get("display_name")?)))
            .collect()
    }

    pub async fn tally(&self, occ: OccurrenceId) -> Result<Tally> {
        let row = q(concat!(
            "SELECT ",
            tally_cols!(),
            " FROM occurrences o WHERE o.id = $1"
        ))
        .bind(occ.to_string())
        .fetch_one(&self.reader)
        .await?;
        tally_row(&row)
    }

    /// Occurrences starting in [from, to) for `account`: their own, and their linked
    /// children's, in all their clubs, soonest first.
    pub async fn schedule(
        &self,
        account: AccountId,
        from: i64,
        to: i64,
        limit: i64,
    ) -> Result<Vec<ScheduleRow>> {
        // The people the account answers for are found first (a handful of rows), so
        // that each club's occurrences are read once through (club_id, starts_at).
        // The LIMIT is a literal: SQLite re-plans a statement on every run when its
        // LIMIT is a bound parameter, which cost half this query's time. The target
        // check is a scalar subquery, not EXISTS: PostgreSQL may run an EXISTS under OR
        // as one hashed pass over every club's sub-group members (52,000 rows, 20-40 ms
        // on the 1,000-club data) in the plans it makes for a connection's first runs
        // of the statement, which set the page's p99; this form is an index lookup per
        // row in every plan.
        let rows = q(concat!(
            "WITH subj AS MATERIALIZED ( \
               SELECT m.id AS mid, m.club_id AS cid, m.account_id AS aid, (m.id = me.id) AS is_self \
               FROM memberships me JOIN memberships m ON m.club_id = me.club_id \
               WHERE me.account_id = $1 AND me.status = 'active' AND m.status = 'active' \
                 AND m.role <> 'guardian' AND (m.id = me.id OR m.id IN \
                   (SELECT g.student_id FROM guardian_links g WHERE g.guardian_id = me.id))) \
             SELECT ",
            occurrence_cols!(),
            ", c.name AS club_name, c.timezone AS club_tz, s.mid AS member_id, \
             ma.display_name AS member_name, s.is_self AS is_self, x.status AS my_status, \
             x.comment AS my_comment, ",
            tally_cols!(),
            " FROM subj s \
             JOIN occurrences o ON o.club_id = s.cid AND o.starts_at >= $2 AND o.starts_at < $3 \
             JOIN events e ON e.id = o.event_id \
             JOIN clubs c ON c.id = o.club_id \
             JOIN accounts ma ON ma.id = s.aid \
             LEFT JOIN answers x ON x.occurrence_id = o.id AND x.membership_id = s.mid \
             WHERE (e.all_members OR (SELECT 1 FROM event_targets t \
               JOIN subgroup_members sm ON sm.subgroup_id = t.subgroup_id \
               WHERE t.event_id = e.id AND sm.membership_id = s.mid LIMIT 1) IS NOT NULL) \
             ORDER BY o.starts_at, s.is_self DESC LIMIT 200"
        ))
        .bind(account.to_string())
        .bind(from)
        .bind(to)
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .take(limit.clamp(0, 200) as usize)
            .map(|r| {
                let status: Option<String> = r.try_get("my_status")?;
                let answer = match status {
                    Some(s) => Some((
                        AnswerStatus::parse(&s)
                            .map_err(|_| StorageError::Corrupt(format!("status: {s:?}")))?,
                        r.try_get::<String, _>("my_comment")?,
                    )),
                    None => None,
                };
                Ok(ScheduleRow {
                    occurrence: occurrence_row(r)?,
                    club_name: r.try_get("club_name")?,
                    timezone: r.try_get("club_tz")?,
                    member: id_col(r, "member_id", MembershipId)?,
                    member_name: r.try_get("member_name")?,
                    is_self: r.try_get("is_self")?,
                    answer,
                    tally: tally_row(r)?,
                })
            })
            .collect()
    }

    /// Every answer to the club's occurrences starting in [from, to).
    pub async fn club_answers(
        &self,
        club: ClubId,
        from: i64,
        to: i64,
    ) -> Result<Vec<(OccurrenceId, MembershipId, AnswerStatus)>> {
        let rows = q(
            "SELECT x.occurrence_id, x.membership_id, x.status FROM answers x \
             JOIN occurrences o ON o.id = x.occurrence_id \
             WHERE o.club_id = $1 AND o.starts_at >= $2 AND o.starts_at < $3",
        )
        .bind(club.to_string())
        .bind(from)
        .bind(to)
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|r| {
                let s: String = r.try_get("status")?;
                Ok((
                    id_col(r, "occurrence_id", OccurrenceId)?,
                    id_col(r, "membership_id", MembershipId)?,
                    AnswerStatus::parse(&s)
                        .map_err(|_| StorageError::Corrupt(format!("status: {s:?}")))?,
                ))
            })
            .collect()
    }
}

impl WriteTx {
    /// What an answer of member `m` to occurrence `occ` of `club` by `actor` is decided
    /// on, in one round trip (answers are the busiest writes): the actor's membership
    /// with whether it matches its seal, and the facts (`None` when the club has no
    /// such occurrence).
    pub async fn answer_facts(
        &mut self,
        club: ClubId,
        occ: OccurrenceId,
        m: MembershipId,
        actor: AccountId,
    ) -> Result<AnswerContext> {
        // The actor's row comes first, from a one-row base, so that it is read even
        // when the occurrence is not there. `targeted!` names its own `m`, which hides
        // the actor's inside its subquery.
        static SQL: std::sync::LazyLock<[String; 2]> = std::sync::LazyLock::new(|| {
            [false, true].map(|pg| {
                format!(
                    concat!(
                        "SELECT {}, {}, ",
                        occurrence_cols!(),
                        ", s.status AS s_status, \
                         EXISTS (SELECT 1 FROM events e JOIN memberships m ON m.club_id = e.club_id \
                           WHERE e.id = o.event_id AND m.id = $3 AND ",
                        targeted!(),
                        ") AS targeted, x.status AS x_status, x.queued_at AS x_queued_at, \
                         (SELECT COUNT(*) FROM answers y WHERE y.occurrence_id = o.id \
                           AND y.status = 'yes') AS places_taken, c.timezone AS c_timezone \
                         FROM (SELECT 1 AS one) base \
                         LEFT JOIN memberships m ON m.club_id = $7 AND m.account_id = $8 \
                         LEFT JOIN occurrences o ON o.club_id = $1 AND o.id = $2 \
                         LEFT JOIN clubs c ON c.id = o.club_id \
                         LEFT JOIN memberships s ON s.club_id = $4 AND s.id = $5 \
                         LEFT JOIN answers x ON x.club_id = o.club_id AND x.occurrence_id = o.id \
                           AND x.membership_id = $6"
                    ),
                    membership_cols!(),
                    crate::row_seals::seal_cols("membership", "m", pg)
                )
            })
        });
        let sql = SQL[usize::from(self.tx.is_postgres())].clone();
        let r = crate::sql::q_built(sql)
            .bind(club.to_string())
            .bind(occ.to_string())
            .bind(m.to_string())
            .bind(club.to_string())
            .bind(m.to_string())
            .bind(m.to_string())
            .bind(club.to_string())
            .bind(actor.to_string())
            .fetch_one(&mut self.tx)
            .await?;
        let actor = match r.try_get::<Option<String>, _>("m_id")? {
            Some(_) => Some(sealed_membership(&self.audit_key, &r)?),
            None => None,
        };
        if r.try_get::<Option<String>, _>("o_id")?.is_none() {
            return Ok(AnswerContext { actor, facts: None });
        }
        let bad = |what: &str, v: &str| StorageError::Corrupt(format!("{what}: {v:?}"));
        let member_status = match r.try_get::<Option<String>, _>("s_status")? {
            Some(s) => Some(MembershipStatus::parse(&s).map_err(|_| bad("status", &s))?),
            None => None,
        };
        let prev = match r.try_get::<Option<String>, _>("x_status")? {
            Some(s) => Some((
                AnswerStatus::parse(&s).map_err(|_| bad("status", &s))?,
                r.try_get("x_queued_at")?,
            )),
            None => None,
        };
        let facts = AnswerFacts {
            occurrence: occurrence_row(&r)?,
            member_status,
            targeted: r.try_get("targeted")?,
            prev,
            places_taken: r.try_get("places_taken")?,
            timezone: r.try_get("c_timezone")?,
        };
        Ok(AnswerContext {
            actor,
            facts: Some(facts),
        })
    }

    pub async fn put_answer(&mut self, a: &Answer) -> Result<()> {
        // Sealed in the same statement (the answer kind's columns, in order).
        let seal = crate::row_seals::Canonical::default()
            .text(Some(a.status.as_str()))
            .text(Some(&a.comment))
            .text(Some(&a.answered_by.to_string()))
            .text(Some(a.answered_as.as_str()))
            .int(Some(a.answered_at))
            .seal(
                &self.audit_key,
                "answer",
                &format!("{}:{}", a.occurrence_id, a.membership_id),
            );
        q(
            "INSERT INTO answers (club_id, occurrence_id, membership_id, status, comment, decide_by, \
             queued_at, answered_by, answered_as, answered_at, seal) \
             VALUES ((SELECT club_id FROM occurrences WHERE id = $1), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (club_id, occurrence_id, membership_id) DO UPDATE SET status = excluded.status, \
             comment = excluded.comment, decide_by = excluded.decide_by, \
             queued_at = excluded.queued_at, answered_by = excluded.answered_by, \
             answered_as = excluded.answered_as, answered_at = excluded.answered_at, \
             seal = excluded.seal",
        )
        .bind(a.occurrence_id.to_string())
        .bind(a.occurrence_id.to_string())
        .bind(a.membership_id.to_string())
        .bind(a.status.as_str())
        .bind(&a.comment)
        .bind(&a.decide_by)
        .bind(a.queued_at)
        .bind(a.answered_by.to_string())
        .bind(a.answered_as.as_str())
        .bind(a.answered_at)
        .bind(seal)
        .execute(&mut self.tx)
        .await?;
        Ok(())
    }

    /// How many places are held ("yes" answers).
    pub async fn places_taken(&mut self, occ: OccurrenceId) -> Result<i64> {
        let n = scalar("SELECT COUNT(*) FROM answers WHERE occurrence_id = $1 AND status = 'yes'")
            .bind(occ.to_string())
            .fetch_one(&mut self.tx)
            .await?;
        Ok(n)
    }

    /// The longest-waiting answer on the waiting list.
    pub async fn first_waiting(&mut self, occ: OccurrenceId) -> Result<Option<Answer>> {
        let row = q(
            "SELECT * FROM answers WHERE occurrence_id = $1 AND status = 'waitlisted' \
             ORDER BY queued_at, membership_id LIMIT 1",
        )
        .bind(occ.to_string())
        .fetch_optional(&mut self.tx)
        .await?;
        row.as_ref().map(answer_row).transpose()
    }

    /// Members the occurrence's event is for who have not answered it, with accounts.
    pub async fn non_responders(
        &mut self,
        occ: OccurrenceId,
    ) -> Result<Vec<(MembershipId, AccountId)>> {
        let rows = q(concat!(
            "SELECT m.id, m.account_id FROM occurrences o JOIN events e ON e.id = o.event_id \
             JOIN memberships m ON m.club_id = e.club_id \
             WHERE o.id = $1 AND ",
            targeted!(),
            " AND NOT EXISTS (SELECT 1 FROM answers x WHERE x.occurrence_id = o.id \
              AND x.membership_id = m.id)"
        ))
        .bind(occ.to_string())
        .fetch_all(&mut self.tx)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    id_col(r, "id", MembershipId)?,
                    id_col(r, "account_id", AccountId)?,
                ))
            })
            .collect()
    }

    /// The accounts of a member and of their active guardians.
    pub async fn member_and_guardians(&mut self, m: MembershipId) -> Result<Vec<AccountId>> {
        let rows = q("SELECT account_id FROM memberships WHERE id = $1 \
             UNION SELECT gm.account_id FROM guardian_links g \
             JOIN memberships gm ON gm.id = g.guardian_id AND gm.status = 'active' \
             WHERE g.student_id = $2")
        .bind(m.to_string())
        .bind(m.to_string())
        .fetch_all(&mut self.tx)
        .await?;
        rows.iter()
            .map(|r| id_col(r, "account_id", AccountId))
            .collect()
    }
}
