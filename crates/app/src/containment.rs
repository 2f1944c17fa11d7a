//! Containment: the switches an operator throws to stop the damage during an incident
//! (read-only mode, sign-ups and invitations paused, every session ended, all at once
//! as a lock-down). Each is one call, audited and reversible, and takes effect on every
//! instance within seconds: the switches live in the database and each instance reads
//! them every second (see [`App::watch_containment`]).

use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde::Serialize;
use tekkan_core::{AccountId, ClubId};
use tekkan_storage::{SwitchOn, now_ms};
use tokio::sync::watch;

use crate::actor::{Actor, system_event};
use crate::{App, AppError, Result};

/// How often each instance reads the switches.
pub const WATCH_EVERY: Duration = Duration::from_secs(1);

/// A containment switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Switch {
    /// Every change is refused with 503, except signing in and out and the operator's
    /// own containment tools. Reads, the status page and exports keep working.
    ReadOnly,
    /// No new accounts, no new invitations, no joining by invitation.
    SignupsPaused,
}

impl Switch {
    pub const ALL: [Switch; 2] = [Switch::ReadOnly, Switch::SignupsPaused];

    pub fn name(self) -> &'static str {
        match self {
            Switch::ReadOnly => "read_only",
            Switch::SignupsPaused => "signups_paused",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|w| w.name() == s)
    }
}

/// Whose sessions to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionScope {
    /// Everyone's (the caller's own excepted).
    All,
    /// Everyone with a membership in the club.
    Club(ClubId),
    /// One person's.
    Account(AccountId),
}

/// The switches as this instance last read them.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Containment {
    pub read_only: Option<SwitchState>,
    pub signups_paused: Option<SwitchState>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SwitchState {
    pub since_ms: i64,
    pub reason: String,
}

impl Containment {
    fn from_rows(rows: Vec<SwitchOn>) -> Self {
        let mut c = Self::default();
        for r in rows {
            let state = Some(SwitchState {
                since_ms: r.since_ms,
                reason: r.reason,
            });
            match Switch::parse(&r.switch) {
                Some(Switch::ReadOnly) => c.read_only = state,
                Some(Switch::SignupsPaused) => c.signups_paused = state,
                None => tracing::warn!(switch = %r.switch, "unknown containment switch ignored"),
            }
        }
        c
    }

    pub fn is_on(&self, s: Switch) -> bool {
        match s {
            Switch::ReadOnly => self.read_only.is_some(),
            Switch::SignupsPaused => self.signups_paused.is_some(),
        }
    }
}

/// This instance's copy of the switches.
#[derive(Default)]
pub(crate) struct Watched(RwLock<Arc<Containment>>);

/// What a key rotation did.
#[derive(Debug, Clone, Serialize)]
pub struct KeyRotation {
    pub sessions_ended: u64,
    /// Passkey ceremonies and actions waiting for a signature, voided.
    pub pending_dropped: u64,
    /// The audit log's new checkpoint key (its public half, as published).
    pub log_key: String,
}

/// What a forced password reset did.
#[derive(Debug, Clone, Serialize)]
pub struct ResetRequired {
    pub accounts: u64,
    pub sessions_ended: u64,
}

/// The key epochs as this instance last read them.
#[derive(Default)]
pub(crate) struct Epochs(RwLock<Arc<Vec<u8>>>);

/// What a lock-down did.
#[derive(Debug, Clone, Serialize)]
pub struct LockDown {
    pub switched_on: Vec<&'static str>,
    pub sessions_ended: u64,
}

impl App {
    /// The switches as this instance last read them (at most a second old).
    pub fn containment(&self) -> Arc<Containment> {
        self.inner
            .containment
            .0
            .read()
            .map(|c| Arc::clone(&c))
            .unwrap_or_default()
    }

    /// Reads the switches from the database now; logs each change this instance sees.
    pub async fn refresh_containment(&self) -> Result<()> {
        let now = Containment::from_rows(self.db().switches_on().await?);
        let mut held = self
            .inner
            .containment
            .0
            .write()
            .map_err(|_| AppError::Internal("containment state poisoned".into()))?;
        for s in Switch::ALL {
            match (held.is_on(s), now.is_on(s)) {
                (false, true) => tracing::warn!(switch = s.name(), "CONTAINMENT ON"),
                (true, false) => tracing::warn!(switch = s.name(), "containment off"),
                _ => {}
            }
        }
        *held = Arc::new(now);
        Ok(())
    }

    /// The switches as the database holds them now, for the operator.
    pub async fn switches(&self, actor: Option<&Actor>) -> Result<Containment> {
        operator_or_cli(actor)?;
        Ok(Containment::from_rows(self.db().switches_on().await?))
    }

    /// Reads the switches (and the open published incidents) every [`WATCH_EVERY`]
    /// until `stop`.
    pub async fn watch_containment(&self, mut stop: watch::Receiver<bool>) {
        loop {
            if let Err(e) = self.refresh_containment().await {
                tracing::warn!(error = %e, "containment switches could not be read");
            }
            if let Err(e) = self.refresh_key_epochs().await {
                tracing::warn!(error = %e, "key epochs could not be read");
            }
            // Incidents published on another instance reach this one's banner too.
            if let Err(e) = self.refresh_open_incidents().await {
                tracing::warn!(error = %e, "open incidents could not be read");
            }
            tokio::select! {
                _ = tokio::time::sleep(WATCH_EVERY) => {}
                _ = stop.changed() => return,
            }
            if *stop.borrow() {
                return;
            }
        }
    }

    /// Refuses with 503 while `switch` is on (checked where the change is made).
    pub(crate) fn refuse_if(&self, switch: Switch) -> Result<()> {
        match self.containment().is_on(switch) {
            true => Err(AppError::Contained(switch.name())),
            false => Ok(()),
        }
    }

    /// Turns a switch on or off. `actor` is the operator (from a page or the API), or
    /// `None` from the command line. Returns false when it already was so.
    pub async fn set_switch(
        &self,
        actor: Option<&Actor>,
        switch: Switch,
        on: bool,
        reason: &str,
    ) -> Result<bool> {
        operator_or_cli(actor)?;
        let reason: String = reason.trim().chars().take(500).collect();
        let mut tx = self.db().begin().await?;
        let by = actor.map(|a| a.account.to_string());
        let changed = tx
            .set_switch(switch.name(), on, &reason, by.as_deref(), now_ms())
            .await?;
        if !changed {
            return Ok(false);
        }
        let action = match on {
            true => "containment.switch_on",
            false => "containment.switch_off",
        };
        let target = format!("switch:{}", switch.name());
        let change = serde_json::json!({ "reason": reason });
        let ev = match actor {
            Some(a) => a.event(None, action, target, &change),
            None => system_event(action, target, &change),
        };
        tx.commit(vec![ev]).await?;
        self.refresh_containment().await?;
        Ok(true)
    }

    /// Ends sessions in `scope`, the caller's own excepted; returns how many.
    pub async fn end_sessions(&self, actor: Option<&Actor>, scope: SessionScope) -> Result<u64> {
        operator_or_cli(actor)?;
        let keep = actor.map(|a| a.session.to_string());
        let mut tx = self.db().begin().await?;
        let (n, target) = match scope {
            SessionScope::All => (
                tx.delete_all_sessions(keep.as_deref()).await?,
                "sessions:all".to_owned(),
            ),
            SessionScope::Club(club) => {
                if self.db().club(club).await?.is_none() {
                    return Err(AppError::NotFound);
                }
                (
                    tx.delete_club_sessions(&club.to_string(), keep.as_deref())
                        .await?,
                    format!("club:{club}"),
                )
            }
            SessionScope::Account(account) => {
                if self.db().account(account).await?.is_none() {
                    return Err(AppError::NotFound);
                }
                (
                    tx.delete_sessions(account, actor.map(|a| a.session))
                        .await?,
                    format!("account:{account}"),
                )
            }
        };
        let action = "containment.sessions_ended";
        let ev = match actor {
            Some(a) => a.event(None, action, target, &n),
            None => system_event(action, target, &n),
        };
        tx.commit(vec![ev]).await?;
        Ok(n)
    }

    /// The salt of the CSRF key's current epoch (empty until the first rotation): CSRF
    /// tokens are bound to it, so a rotation voids every token issued before.
    pub fn csrf_epoch(&self) -> Arc<Vec<u8>> {
        self.inner
            .epochs
            .0
            .read()
            .map(|e| Arc::clone(&e))
            .unwrap_or_default()
    }

    async fn refresh_key_epochs(&self) -> Result<()> {
        let epochs = self.db().key_epochs().await?;
        let epoch = |name: &str| {
            epochs
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        // The log key's epoch is its public half: a different one was rotated elsewhere.
        if let Some(public) = epoch(crate::transparency::key::EPOCH)
            && public != self.log_public_key().encode()
        {
            self.reload_log_key().await?;
        }
        let salt = epoch("csrf")
            .and_then(|salt| hex::decode(salt).ok())
            .unwrap_or_default();
        let mut held = self
            .inner
            .epochs
            .0
            .write()
            .map_err(|_| AppError::Internal("key epochs poisoned".into()))?;
        if **held != salt {
            if !held.is_empty() || !salt.is_empty() {
                tracing::warn!("CSRF key rotated");
            }
            *held = Arc::new(salt);
        }
        Ok(())
    }

    /// Rotates what authenticates requests, on every instance within seconds: a new
    /// CSRF key epoch (every form token issued before is refused), every session but
    /// the caller's ended (their tokens are the session keys: new ones are issued at the
    /// next sign-in), every single-use value in flight (passkey ceremonies, actions
    /// waiting for a signature) voided, and the audit log's checkpoint key replaced
    /// (see [`crate::transparency::key`]). Audited.
    pub async fn rotate_keys(&self, actor: Option<&Actor>, reason: &str) -> Result<KeyRotation> {
        operator_or_cli(actor)?;
        let reason: String = reason.trim().chars().take(500).collect();
        let mut salt = [0u8; 32];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut salt);
        let now = now_ms();
        let keep = actor.map(|a| a.session.to_string());
        let by = actor.map(|a| a.account.to_string());
        let mut tx = self.db().begin().await?;
        tx.rotate_key_epoch("csrf", &hex::encode(salt), now, by.as_deref())
            .await?;
        let log_key = self.rotate_log_key_in(&mut tx, now, by.as_deref()).await?;
        let done = KeyRotation {
            sessions_ended: tx.delete_all_sessions(keep.as_deref()).await?,
            pending_dropped: tx.drop_pending_tokens().await?,
            log_key: log_key.encode(),
        };
        let change = serde_json::json!({
            "reason": reason,
            "sessions_ended": done.sessions_ended,
            "pending_dropped": done.pending_dropped,
            "log_key": hex::encode(log_key.id()),
        });
        let (action, target) = (
            "containment.keys_rotated",
            "keys:csrf,log,sessions,pending".to_owned(),
        );
        let ev = match actor {
            Some(a) => a.event(None, action, target, &change),
            None => system_event(action, target, &change),
        };
        tx.commit(vec![ev]).await?;
        self.refresh_key_epochs().await?;
        Ok(done)
    }

    /// Requires a new password of the people in `scope` (operators only by name) and
    /// ends their sessions: their password alone no longer signs them in until they
    /// reset it by e-mail or sign in with a passkey and change it. Never locks anyone
    /// out: it asks for more proof. Audited.
    pub async fn require_password_reset(
        &self,
        actor: Option<&Actor>,
        scope: SessionScope,
    ) -> Result<ResetRequired> {
        operator_or_cli(actor)?;
        let keep = actor.map(|a| a.account.to_string());
        let (club, account, target) = match scope {
            SessionScope::All => (None, None, "accounts:all".to_owned()),
            SessionScope::Club(c) => {
                if self.db().club(c).await?.is_none() {
                    return Err(AppError::NotFound);
                }
                (Some(c.to_string()), None, format!("club:{c}"))
            }
            SessionScope::Account(a) => {
                if self.db().account(a).await?.is_none() {
                    return Err(AppError::NotFound);
                }
                (None, Some(a.to_string()), format!("account:{a}"))
            }
        };
        let mut tx = self.db().begin().await?;
        let accounts = tx
            .require_password_reset(club.as_deref(), account.as_deref(), keep.as_deref())
            .await?;
        let keep_session = actor.map(|a| a.session.to_string());
        let sessions_ended = match scope {
            SessionScope::All => tx.delete_all_sessions(keep_session.as_deref()).await?,
            SessionScope::Club(c) => {
                tx.delete_club_sessions(&c.to_string(), keep_session.as_deref())
                    .await?
            }
            SessionScope::Account(a) => tx.delete_sessions(a, actor.map(|x| x.session)).await?,
        };
        let done = ResetRequired {
            accounts,
            sessions_ended,
        };
        let action = "containment.password_reset_required";
        let ev = match actor {
            Some(a) => a.event(None, action, target, &done.accounts),
            None => system_event(action, target, &done.accounts),
        };
        tx.commit(vec![ev]).await?;
        Ok(done)
    }

    /// Locks everything down at once: read-only, sign-ups paused, every other session
    /// ended. Each step is audited on its own; lifting it is turning the switches off.
    pub async fn lock_down(&self, actor: Option<&Actor>, reason: &str) -> Result<LockDown> {
        operator_or_cli(actor)?;
        let mut switched_on = Vec::new();
        for s in Switch::ALL {
            if self.set_switch(actor, s, true, reason).await? {
                switched_on.push(s.name());
            }
        }
        let sessions_ended = self.end_sessions(actor, SessionScope::All).await?;
        Ok(LockDown {
            switched_on,
            sessions_ended,
        })
    }
}

/// The operator (from a page or the API), or the command line (no actor).
pub(crate) fn operator_or_cli(actor: Option<&Actor>) -> Result<()> {
    match actor {
        Some(a) if !a.is_operator => Err(AppError::Forbidden),
        _ => Ok(()),
    }
}
