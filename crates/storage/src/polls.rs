//! Polls: questions, choices, who voted, and (for named polls only) who chose what.
//!
//! An anonymous poll stores its ballots as counts on the choices and, separately, the
//! set of people who voted: no row anywhere links a person to a choice.

use crate::sql::{Row, q, scalar};
use tekkan_core::{ClubId, MembershipId, PollId, SubgroupId};

use crate::records::id_col;
use crate::{Db, Result, WriteTx, conflict};

#[derive(Debug, Clone)]
pub struct Poll {
    pub id: PollId,
    pub club_id: ClubId,
    pub author_id: MembershipId,
    pub question: String,
    pub multiple: bool,
    pub anonymous: bool,
    pub all_members: bool,
    pub targets: Vec<SubgroupId>,
    pub closes_at: i64,
    pub created_at: i64,
    pub closed_at: Option<i64>,
}

impl Poll {
    /// Whether votes are still taken at `now`.
    pub fn is_open(&self, now: i64) -> bool {
        self.closed_at.is_none() && self.closes_at > now
    }
}

/// A poll in a list, with counts and the reader's own part.
#[derive(Debug, Clone)]
pub struct PollLine {
    pub poll: Poll,
    /// (label, votes) in order.
    pub options: Vec<(String, i64)>,
    pub voters: i64,
    pub voted: bool,
}

fn row(r: &Row) -> Result<Poll> {
    Ok(Poll {
        id: id_col(r, "id", PollId)?,
        club_id: id_col(r, "club_id", ClubId)?,
        author_id: id_col(r, "author_id", MembershipId)?,
        question: r.try_get("question")?,
        multiple: r.try_get("multiple")?,
        anonymous: r.try_get("anonymous")?,
        all_members: r.try_get("all_members")?,
        targets: Vec::new(),
        closes_at: r.try_get("closes_at")?,
        created_at: r.try_get("created_at")?,
        closed_at: r.try_get("closed_at")?,
    })
}

/// "Membership `m` is among those poll `p` asks": as for announcements, guardians of
/// target members included.
macro_rules! audience {
    () => {
        "m.status = 'active' AND (p.all_members OR EXISTS ( \
           SELECT 1 FROM poll_targets t JOIN subgroup_members sm ON sm.subgroup_id = t.subgroup_id \
           WHERE t.poll_id = p.id AND (sm.membership_id = m.id OR sm.membership_id IN \
             (SELECT g.student_id FROM guardian_links g WHERE g.guardian_id = m.id))))"
    };
}

async fn in_audience(
    ex: impl Into<crate::sql::Target<'_>>,
    id: PollId,
    m: MembershipId,
) -> Result<bool> {
    let n: i64 = scalar(concat!(
        "SELECT COUNT(*) FROM polls p JOIN memberships m ON m.club_id = p.club_id \
         WHERE p.id = $1 AND m.id = $2 AND ",
        audience!()
    ))
    .bind(id.to_string())
    .bind(m.to_string())
    .fetch_one(ex)
    .await?;
    Ok(n > 0)
}

impl Db {
    pub async fn in_poll_audience(&self, id: PollId, m: MembershipId) -> Result<bool> {
        in_audience(&self.reader, id, m).await
    }

    /// The polls `m` may see (all, for those who manage polls), newest first.
    pub async fn polls(&self, club: ClubId, m: MembershipId, all: bool) -> Result<Vec<PollLine>> {
        let rows = q(concat!(
            "SELECT p.*, EXISTS (SELECT 1 FROM poll_voters v WHERE v.poll_id = p.id AND v.membership_id = m.id) AS voted, \
             (SELECT COUNT(*) FROM poll_voters v WHERE v.poll_id = p.id) AS n_voters \
             FROM polls p JOIN memberships m ON m.id = $1 WHERE p.club_id = $2 AND ($3 OR p.author_id = m.id OR ",
            audience!(),
            ") ORDER BY p.created_at DESC LIMIT 200"
        ))
        .bind(m.to_string())
        .bind(club.to_string())
        .bind(all)
        .fetch_all(&self.reader)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let poll = row(r)?;
            let options = self.poll_counts(&poll).await?;
            out.push(PollLine {
                poll,
                options,
                voters: r.try_get("n_voters")?,
                voted: r.try_get("voted")?,
            });
        }
        Ok(out)
    }

    /// (label, votes) per choice.
    pub async fn poll_counts(&self, p: &Poll) -> Result<Vec<(String, i64)>> {
        let sql = if p.anonymous {
            "SELECT label, votes AS n FROM poll_options WHERE poll_id = $1 ORDER BY idx"
        } else {
            "SELECT o.label, (SELECT COUNT(*) FROM poll_votes v WHERE v.poll_id = o.poll_id AND v.idx = o.idx) AS n \
             FROM poll_options o WHERE o.poll_id = $1 ORDER BY o.idx"
        };
        let rows = q(sql)
            .bind(p.id.to_string())
            .fetch_all(&self.reader)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("label")?, r.try_get("n")?)))
            .collect()
    }

    /// For a named poll: (choice index, member, name) of every ballot.
    pub async fn poll_ballots(&self, id: PollId) -> Result<Vec<(i64, MembershipId, String)>> {
        let rows = q(
            "SELECT v.idx, v.membership_id, a.display_name FROM poll_votes v \
             JOIN memberships m ON m.id = v.membership_id JOIN accounts a ON a.id = m.account_id \
             WHERE v.poll_id = $1 ORDER BY v.idx, a.display_name",
        )
        .bind(id.to_string())
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("idx")?,
                    id_col(r, "membership_id", MembershipId)?,
                    r.try_get("display_name")?,
                ))
            })
            .collect()
    }

    /// A member's own choices in a named poll.
    pub async fn my_choices(&self, id: PollId, m: MembershipId) -> Result<Vec<i64>> {
        let v = scalar(
            "SELECT idx FROM poll_votes WHERE poll_id = $1 AND membership_id = $2 ORDER BY idx",
        )
        .bind(id.to_string())
        .bind(m.to_string())
        .fetch_all(&self.reader)
        .await?;
        Ok(v)
    }

    /// How many people the poll asks.
    pub async fn poll_audience_size(&self, id: PollId) -> Result<i64> {
        let n = scalar(concat!(
            "SELECT COUNT(*) FROM polls p JOIN memberships m ON m.club_id = p.club_id WHERE p.id = $1 AND ",
            audience!()
        ))
        .bind(id.to_string())
        .fetch_one(&self.reader)
        .await?;
        Ok(n)
    }
}

impl WriteTx {
    pub async fn insert_poll(&mut self, p: &Poll, options: &[String]) -> Result<()> {
        q(
            "INSERT INTO polls (id, club_id, author_id, question, multiple, anonymous, all_members, \
             closes_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(p.id.to_string())
        .bind(p.club_id.to_string())
        .bind(p.author_id.to_string())
        .bind(&p.question)
        .bind(p.multiple)
        .bind(p.anonymous)
        .bind(p.all_members)
        .bind(p.closes_at)
        .bind(p.created_at)
        .execute(&mut self.tx)
        .await?;
        for (i, label) in options.iter().enumerate() {
            q("INSERT INTO poll_options (club_id, poll_id, idx, label) VALUES ($1, $2, $3, $4)")
                .bind(p.club_id.to_string())
                .bind(p.id.to_string())
                .bind(i as i64)
                .bind(label)
                .execute(&mut self.tx)
                .await?;
        }
        for sg in &p.targets {
            q("INSERT INTO poll_targets (club_id, poll_id, subgroup_id) VALUES ($1, $2, $3)")
                .bind(p.club_id.to_string())
                .bind(p.id.to_string())
                .bind(sg.to_string())
                .execute(&mut self.tx)
                .await?;
        }
        Ok(())
    }

    pub async fn poll(&mut self, club: ClubId, id: PollId) -> Result<Option<(Poll, i64)>> {
        let r = q(
            "SELECT p.*, (SELECT COUNT(*) FROM poll_options o WHERE o.poll_id = p.id) AS n_options \
             FROM polls p WHERE p.club_id = $1 AND p.id = $2",
        )
        .bind(club.to_string())
        .bind(id.to_string())
        .fetch_optional(&mut self.tx)
        .await?;
        r.map(|r| Ok((row(&r)?, r.try_get("n_options")?)))
            .transpose()
    }

    pub async fn in_poll_audience(&mut self, id: PollId, m: MembershipId) -> Result<bool> {
        in_audience(&mut self.tx, id, m).await
    }

    /// Records that `m` voted; a conflict when they already had (anonymous polls).
    pub async fn add_voter(&mut self, id: PollId, m: MembershipId, replace: bool) -> Result<()> {
        let sql = if replace {
            "INSERT INTO poll_voters (club_id, poll_id, membership_id) \
             VALUES ((SELECT club_id FROM polls WHERE id = $1), $2, $3) ON CONFLICT DO NOTHING"
        } else {
            "INSERT INTO poll_voters (club_id, poll_id, membership_id) \
             VALUES ((SELECT club_id FROM polls WHERE id = $1), $2, $3)"
        };
        q(sql)
            .bind(id.to_string())
            .bind(id.to_string())
            .bind(m.to_string())
            .execute(&mut self.tx)
            .await
            .map_err(conflict("already voted"))?;
        Ok(())
    }

    /// Replaces a named ballot.
    pub async fn set_named_votes(
        &mut self,
        id: PollId,
        m: MembershipId,
        choices: &[i64],
    ) -> Result<()> {
        q("DELETE FROM poll_votes WHERE poll_id = $1 AND membership_id = $2")
            .bind(id.to_string())
            .bind(m.to_string())
            .execute(&mut self.tx)
            .await?;
        for c in choices {
            q(
                "INSERT INTO poll_votes (club_id, poll_id, membership_id, idx) \
               VALUES ((SELECT club_id FROM polls WHERE id = $1), $2, $3, $4)",
            )
            .bind(id.to_string())
            .bind(id.to_string())
            .bind(m.to_string())
            .bind(c)
            .execute(&mut self.tx)
            .await?;
        }
        Ok(())
    }

    /// Adds an anonymous ballot to the counts.
    pub async fn count_anonymous(&mut self, id: PollId, choices: &[i64]) -> Result<()> {
        for c in choices {
            q("UPDATE poll_options SET votes = votes + 1 WHERE poll_id = $1 AND idx = $2")
                .bind(id.to_string())
                .bind(c)
                .execute(&mut self.tx)
                .await?;
        }
        Ok(())
    }

    pub async fn close_poll(&mut self, id: PollId, now: i64) -> Result<()> {
        q("UPDATE polls SET closed_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id.to_string())
            .execute(&mut self.tx)
            .await?;
        Ok(())
    }
}
