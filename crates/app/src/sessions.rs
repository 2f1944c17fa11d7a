//! The sessions a person has open (device, approximate place, last seen), ending them,
//! and the operator's powers over other accounts: ending their sessions, disabling and
//! enabling them.

use serde::Serialize;
use tekkan_core::device::{Place, approximate_place, describe_agent};
use tekkan_core::{AccountId, SessionId};
use tekkan_storage::{TokenPurpose, now_ms};

use crate::{Actor, App, AppError, Result};

/// One open session, as its owner sees it.
#[derive(Clone, Debug, Serialize)]
pub struct SessionInfo {
    pub id: SessionId,
    /// The session this request came with.
    pub current: bool,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    /// Browser and system, when the user agent names them.
    pub device: Option<String>,
    /// `this_machine`, `private_network`, `network` (with `network`) or `unknown`.
    pub place: &'static str,
    /// The network the address belongs to (IPv4 /24, IPv6 /48), never the address.
    pub network: Option<String>,
}

impl App {
    /// The actor's open sessions, most recently used first.
    pub async fn my_sessions(&self, actor: &Actor) -> Result<Vec<SessionInfo>> {
        let now = now_ms();
        let idle = self.settings().sessions.idle_ms;
        let rows = self
            .db()
            .account_sessions(actor.account, now, now - idle)
            .await?;
        Ok(rows
            .into_iter()
            .map(|s| {
                let (place, network) = match approximate_place(s.ip.as_deref()) {
                    Place::ThisMachine => ("this_machine", None),
                    Place::PrivateNetwork => ("private_network", None),
                    Place::Network(n) => ("network", Some(n)),
                    Place::Unknown => ("unknown", None),
                };
                SessionInfo {
                    current: s.id == actor.session,
                    id: s.id,
                    created_at: s.created_at,
                    last_seen_at: s.last_seen_at,
                    expires_at: s.expires_at,
                    device: s.user_agent.as_deref().and_then(describe_agent),
                    place,
                    network,
                }
            })
            .collect())
    }

    /// Ends one of the actor's sessions (their current one too, like logging out).
    /// Another account's session is reported as not existing.
    pub async fn end_session(&self, actor: &Actor, id: SessionId) -> Result<()> {
        // Ending another device's session needs a recent proof of identity (a stolen
        // session must not lock its owner out); logging out this one does not.
        if id != actor.session {
            self.require_recent(actor)?;
        }
        let mut tx = self.db().begin().await?;
        if !tx.delete_account_session(actor.account, id).await? {
            return Err(AppError::NotFound);
        }
        let ev = actor.event(None, "auth.session_ended", format!("session:{id}"), &1);
        tx.commit(vec![ev]).await?;
        Ok(())
    }

    /// Ends every session of the actor's but this one; returns how many ended.
    pub async fn end_other_sessions(&self, actor: &Actor) -> Result<u64> {
        self.require_recent(actor)?;
        let mut tx = self.db().begin().await?;
        let n = tx
            .delete_sessions(actor.account, Some(actor.session))
            .await?;
        let ev = actor.event(
            None,
            "auth.other_sessions_ended",
            format!("account:{}", actor.account),
            &n,
        );
        tx.commit(vec![ev]).await?;
        Ok(n)
    }

    fn operator(&self, actor: &Actor) -> Result<()> {
        match actor.is_operator {
            true => Ok(()),
            false => Err(AppError::Forbidden),
        }
    }

    /// The operator ends all of an account's sessions; the account is told.
    pub async fn operator_end_sessions(&self, actor: &Actor, account: AccountId) -> Result<u64> {
        self.operator(actor)?;
        let now = now_ms();
        let mut tx = self.db().begin().await?;
        if self.db().account(account).await?.is_none() {
            return Err(AppError::NotFound);
        }
        let n = tx.delete_sessions(account, None).await?;
        self.security_notice(&mut tx, account, "sessions_ended", now)
            .await?;
        let ev = actor.event(
            None,
            "admin.sessions_ended",
            format!("account:{account}"),
            &n,
        );
        tx.commit(vec![ev]).await?;
        Ok(n)
    }

    /// The operator disables an account (it cannot log in, and every session ends at
    /// once) or enables it again. Operators cannot be disabled.
    pub async fn set_account_disabled(
        &self,
        actor: &Actor,
        account: AccountId,
        disabled: bool,
    ) -> Result<()> {
        self.operator(actor)?;
        let now = now_ms();
        let Some(target) = self.db().account(account).await? else {
            return Err(AppError::NotFound);
        };
        if target.is_operator {
            return Err(AppError::Conflict("operator_account"));
        }
        let mut tx = self.db().begin().await?;
        if !tx.set_disabled(account, disabled.then_some(now)).await? {
            return Ok(());
        }
        let mut ended = 0;
        if disabled {
            ended = tx.delete_sessions(account, None).await?;
            tx.void_account_tokens(account, TokenPurpose::Reset, now)
                .await?;
            tx.void_account_tokens(account, TokenPurpose::Email, now)
                .await?;
        }
        let action = match disabled {
            true => "admin.account_disabled",
            false => "admin.account_enabled",
        };
        let ev = actor.event(None, action, format!("account:{account}"), &ended);
        tx.commit(vec![ev]).await?;
        Ok(())
    }
}
