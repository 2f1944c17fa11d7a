//! Polls: single or multiple choice, named or anonymous, with a deadline.
//!
//! For an anonymous poll not even officers can see who chose what: the ballot only
//! raises counts, and its audit entry names the poll and the voter but not the choice.

use serde::{Deserialize, Serialize};
use tekkan_core::schedule::parse_local;
use tekkan_core::{
    ClubId, MembershipId, Permission, PollChoice, PollId, PollQuestion, SubgroupId, ValidationError,
};
use tekkan_storage::{Membership, Poll, PollLine, StorageError, now_ms};

use crate::clubs::authorize_tx;
use crate::token::new_id;
use crate::{Actor, App, AppError, Result};

const MAX_CHOICES: usize = 20;

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct PollInput {
    pub question: String,
    pub options: Vec<String>,
    #[serde(default)]
    pub multiple: bool,
    #[serde(default)]
    pub anonymous: bool,
    /// Local time on the club's clock when voting closes.
    pub closes_at: String,
    #[serde(default)]
    pub subgroups: Vec<SubgroupId>,
}

#[derive(Clone, Debug)]
pub struct PollView {
    pub line: PollLine,
    pub me: Membership,
    /// The caller's own choices (named polls; an anonymous ballot is not kept).
    pub my_choices: Vec<i64>,
    /// Who chose what: named polls, for those who manage polls.
    pub ballots: Option<Vec<(i64, MembershipId, String)>>,
    pub audience: i64,
    pub can_manage: bool,
    pub can_vote: bool,
}

fn invalid(field: &'static str) -> AppError {
    ValidationError::Invalid { field }.into()
}

impl App {
    pub async fn create_poll(
        &self,
        actor: &Actor,
        club: ClubId,
        input: &PollInput,
    ) -> Result<Poll> {
        let question = PollQuestion::parse(&input.question)?.to_string();
        let options = input
            .options
            .iter()
            .map(|o| PollChoice::parse(o).map(|c| c.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        let mut distinct = options.clone();
        distinct.sort();
        distinct.dedup();
        if options.len() < 2 || options.len() > MAX_CHOICES || distinct.len() != options.len() {
            return Err(invalid("options"));
        }
        let (zone, _) = self.club_zone(club).await?;
        let closes_at = zone.instant(parse_local("closes_at", &input.closes_at)?)?;
        let now = now_ms();
        if closes_at <= now {
            return Err(ValidationError::Rule {
                field: "closes_at",
                code: "closes_in_past",
            }
            .into());
        }
        let mut targets = input.subgroups.clone();
        targets.sort();
        targets.dedup();
        let mut tx = self.db().begin().await?;
        let me = authorize_tx(&mut tx, actor, club, Permission::ManagePolls).await?;
        for sg in &targets {
            tx.subgroup(club, *sg).await?.ok_or(AppError::NotFound)?;
        }
        let p = Poll {
            id: new_id!(PollId),
            club_id: club,
            author_id: me.id,
            question,
            multiple: input.multiple,
            anonymous: input.anonymous,
            all_members: targets.is_empty(),
            targets,
            closes_at,
            created_at: now,
            closed_at: None,
        };
        tx.insert_poll(&p, &options).await?;
        tx.commit(vec![actor.event(
            Some(club),
            "poll.create",
            format!("poll:{}", p.id),
            input,
        )])
        .await?;
        Ok(p)
    }

    pub async fn polls(&self, actor: &Actor, club: ClubId) -> Result<(Membership, Vec<PollLine>)> {
        let me = self.authorize(actor, club, Permission::ViewClub).await?;
        let all = me.role.allows(Permission::ManagePolls);
        Ok((me.clone(), self.db().polls(club, me.id, all).await?))
    }

    pub async fn poll_view(&self, actor: &Actor, club: ClubId, id: PollId) -> Result<PollView> {
        let (me, list) = self.polls(actor, club).await?;
        let line = list
            .into_iter()
            .find(|l| l.poll.id == id)
            .ok_or(AppError::NotFound)?;
        let can_manage = me.role.allows(Permission::ManagePolls);
        let can_vote = self.db().in_poll_audience(id, me.id).await?;
        let my_choices = match line.poll.anonymous {
            true => Vec::new(),
            false => self.db().my_choices(id, me.id).await?,
        };
        let ballots = match (line.poll.anonymous, can_manage) {
            (false, true) => Some(self.db().poll_ballots(id).await?),
            _ => None,
        };
        let audience = self.db().poll_audience_size(id).await?;
        Ok(PollView {
            line,
            me,
            my_choices,
            ballots,
            audience,
            can_manage,
            can_vote,
        })
    }

    /// Votes. A named ballot may be changed until the poll closes; an anonymous one is
    /// final, since nothing records which choices to take back.
    pub async fn vote(
        &self,
        actor: &Actor,
        club: ClubId,
        id: PollId,
        choices: &[i64],
    ) -> Result<()> {
        let mut choices = choices.to_vec();
        choices.sort_unstable();
        choices.dedup();
        let now = now_ms();
        let mut tx = self
            .db()
            .begin_on(&club.to_string(), &id.to_string())
            .await?;
        let me = authorize_tx(&mut tx, actor, club, Permission::ViewClub).await?;
        let (p, n) = tx.poll(club, id).await?.ok_or(AppError::NotFound)?;
        if !tx.in_poll_audience(id, me.id).await? {
            return Err(AppError::Conflict("not_in_audience"));
        }
        if !p.is_open(now) {
            return Err(AppError::Conflict("poll_closed"));
        }
        if choices.is_empty()
            || (!p.multiple && choices.len() != 1)
            || choices.iter().any(|c| !(0..n).contains(c))
        {
            return Err(invalid("choices"));
        }
        let change = if p.anonymous {
            tx.add_voter(id, me.id, false).await.map_err(|e| match e {
                StorageError::Conflict(_) => AppError::Conflict("already_voted"),
                e => e.into(),
            })?;
            tx.count_anonymous(id, &choices).await?;
            // The same digest for every voter: it must not reveal the choice.
            serde_json::json!({"poll": id})
        } else {
            tx.add_voter(id, me.id, true).await?;
            tx.set_named_votes(id, me.id, &choices).await?;
            serde_json::json!({"poll": id, "choices": choices})
        };
        tx.commit(vec![actor.event(
            Some(club),
            "poll.vote",
            format!("poll:{id}"),
            &change,
        )])
        .await?;
        Ok(())
    }

    pub async fn close_poll(&self, actor: &Actor, club: ClubId, id: PollId) -> Result<()> {
        let now = now_ms();
        let mut tx = self.db().begin().await?;
        authorize_tx(&mut tx, actor, club, Permission::ManagePolls).await?;
        let (p, _) = tx.poll(club, id).await?.ok_or(AppError::NotFound)?;
        if !p.is_open(now) {
            return Err(AppError::Conflict("poll_closed"));
        }
        tx.close_poll(id, now).await?;
        tx.commit(vec![actor.event(
            Some(club),
            "poll.close",
            format!("poll:{id}"),
            &id,
        )])
        .await?;
        Ok(())
    }
}
