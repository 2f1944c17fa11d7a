//! First-run setup, sign-up, login, logout and resolving a session token to an [`Actor`].

use serde::Serialize;
use tekkan_core::{AccountId, DisplayName, Email, Password, SessionId};
use tekkan_storage::{NewAccount, NewSession as StoredSession, WriteTx, now_ms};

use crate::actor::event;
use crate::limits::{IpPolicy, login_key};
use crate::mfa::{CHALLENGE_TTL_MS, LoginOutcome};
use crate::signup::SignUp;
use crate::token::new_id;
use crate::{Actor, App, AppError, JoinOutcome, Origin, Result, hash_token, random_token};

/// Session lifetimes. Both are enforced on the server at every request.
#[derive(Clone, Debug)]
pub struct SessionSettings {
    /// A session unused this long ends (default 7 days).
    pub idle_ms: i64,
    /// A session ends this long after login however much it is used (default 30 days).
    pub absolute_ms: i64,
    /// How often "last seen" is written while a session is used.
    pub touch_interval_ms: i64,
}

impl Default for SessionSettings {
    fn default() -> Self {
        const DAY: i64 = 24 * 60 * 60 * 1000;
        Self {
            idle_ms: 7 * DAY,
            absolute_ms: 30 * DAY,
            touch_interval_ms: 5 * 60 * 1000,
        }
    }
}

/// A session just created. The token goes to the client once and is never stored.
#[derive(Clone, Debug)]
pub struct NewSession {
    pub token: String,
    pub account: AccountId,
    pub expires_at: i64,
    /// A new device token for this client to keep (see `login_guard`); `None` when the
    /// one it presented still stands.
    pub device: Option<String>,
}

#[derive(Serialize)]
struct AccountChange<'a> {
    email: &'a str,
    display_name: &'a str,
    is_operator: bool,
}

impl App {
    /// On a server with no operator yet, issues the one-time setup token (replacing any
    /// earlier one) and returns it; otherwise `None`.
    pub async fn issue_setup_token(&self) -> Result<Option<String>> {
        if self.db().operator_exists().await? {
            return Ok(None);
        }
        let token = random_token();
        let now = now_ms();
        let mut tx = self.db().begin().await?;
        tx.replace_setup_token(
            &hash_token(&token),
            now,
            now + self.settings().setup_token_ttl_ms,
        )
        .await?;
        let ev = event(
            None,
            None,
            &Origin::default(),
            None,
            "setup.token_issued",
            "setup".into(),
            &now,
        );
        tx.commit(vec![ev]).await?;
        Ok(Some(token))
    }

    /// Creates the operator's account with the setup token, which then stops working.
    pub async fn complete_setup(
        &self,
        token: &str,
        email: &str,
        name: &str,
        password: &str,
        origin: &Origin,
    ) -> Result<NewSession> {
        let new = self.prepare_account(email, name, password).await?;
        let now = now_ms();
        let mut tx = self.db().begin().await?;
        if tx.operator_exists().await? || !tx.consume_setup_token(&hash_token(token), now).await? {
            return Err(AppError::Gone("setup_token"));
        }
        let mut events = Vec::new();
        let id = new.insert(&mut tx, true, origin, now, &mut events).await?;
        let session = self
            .open_session(&mut tx, id, origin, now, &mut events)
            .await?;
        tx.commit(events).await?;
        Ok(session)
    }

    /// Creates an account. Needs an invitation unless the operator opened sign-up; with
    /// one, the new account joins (or asks to join) that club in the same transaction.
    /// Unless `confirm_signup` is off, the account waits for its address to be
    /// confirmed (see `signup`), so that the answer never tells whether it is taken.
    pub async fn sign_up(
        &self,
        email: &str,
        name: &str,
        password: &str,
        invitation: Option<&str>,
        origin: &Origin,
    ) -> Result<SignUp> {
        if invitation.is_none() && !self.settings().open_signup {
            return Err(AppError::Forbidden);
        }
        self.refuse_if(crate::containment::Switch::SignupsPaused)?;
        self.limit(IpPolicy::SignUp, origin).await?;
        if let Some(token) = invitation {
            // Fail before the expensive hash when the link is already dead.
            self.preview_invitation(token, origin).await?;
        }
        let new = self.prepare_account(email, name, password).await?;
        if self.settings().confirm_signup {
            return self.sign_up_by_mail(new, invitation, origin).await;
        }
        let now = now_ms();
        let mut tx = self.db().begin().await?;
        let mut events = Vec::new();
        let invitation_hash = invitation.map(hash_token);
        let (session, joined) = self
            .create_member(
                &mut tx,
                &new,
                invitation_hash.as_deref(),
                origin,
                now,
                &mut events,
            )
            .await?;
        tx.commit(events).await?;
        Ok(SignUp::Session(session, joined))
    }

    /// In `tx`: inserts a new (non-operator) account, joins the club of the invitation
    /// whose token hashes to `invitation_hash`, if any, and opens the first session.
    pub(crate) async fn create_member(
        &self,
        tx: &mut WriteTx,
        new: &PreparedAccount,
        invitation_hash: Option<&str>,
        origin: &Origin,
        now: i64,
        events: &mut Vec<tekkan_audit::Event>,
    ) -> Result<(NewSession, Option<JoinOutcome>)> {
        let id = new.insert(tx, false, origin, now, events).await?;
        let joined = match invitation_hash {
            Some(h) => Some(
                self.join_by_hash(tx, h, id, None, origin, now, events)
                    .await?,
            ),
            None => None,
        };
        let session = self.open_session(tx, id, origin, now, events).await?;
        Ok((session, joined))
    }

    /// Checks e-mail and password. Without a second factor, opens a new session; with
    /// one, returns a short-lived token for the second step. Every failure is the same
    /// [`AppError::BadCredentials`] after the same amount of work, and the throttles
    /// treat an address with no account exactly like one with an account.
    pub async fn log_in(
        &self,
        email: &str,
        password: &str,
        origin: &Origin,
    ) -> Result<LoginOutcome> {
        let outcome = self.log_in_checked(email, password, origin).await;
        crate::metrics::login(match &outcome {
            Ok(LoginOutcome::Session(_)) => "session",
            Ok(LoginOutcome::SecondStep { .. }) => "second_step",
            Err(AppError::BadCredentials) => "refused",
            Err(AppError::RateLimited { .. }) => "throttled",
            Err(_) => "error",
        });
        outcome
    }

    async fn log_in_checked(
        &self,
        email: &str,
        password: &str,
        origin: &Origin,
    ) -> Result<LoginOutcome> {
        let (account, new_hash, key) = self
            .check_password(&login_key(email), email, password, origin)
            .await?;
        let policy = self.settings().limits.login.clone();
        let now = now_ms();
        if account.password_reset_required {
            // A containment step: the password alone no longer opens the account. Its
            // owner resets it through the e-mailed link, or signs in with a passkey.
            let tx = self.db().begin().await?;
            tx.commit(vec![event(
                Some(account.id),
                None,
                origin,
                None,
                "auth.password_reset_required",
                format!("account:{}", account.id),
                &now,
            )])
            .await?;
            return Err(AppError::PasswordResetRequired);
        }
        let mut tx = self.db().begin().await?;
        let mut events = Vec::new();
        if let Some(h) = new_hash {
            tx.set_password_hash(account.id, &h).await?;
            events.push(event(
                Some(account.id),
                None,
                origin,
                None,
                "account.password_rehash",
                format!("account:{}", account.id),
                &now,
            ));
        }
        let second = tx
            .totp(account.id)
            .await?
            .is_some_and(|t| t.confirmed_at.is_some())
            || tx.passkey_count(account.id).await? > 0;
        let counter = tx.login_counter(&key).await?;
        if second {
            // The password attempt is given back, but the run of failures goes on until
            // the second step succeeds: guessing codes keeps counting.
            tx.put_login_counter(&policy.returned(&counter)).await?;
            let token = random_token();
            tx.insert_challenge(
                &hash_token(&token),
                account.id,
                &key,
                now,
                now + CHALLENGE_TTL_MS,
            )
            .await?;
            events.push(event(
                Some(account.id),
                None,
                origin,
                None,
                "auth.password_ok",
                format!("account:{}", account.id),
                &now,
            ));
            tx.commit(events).await?;
            return Ok(LoginOutcome::SecondStep { token });
        }
        tx.put_login_counter(&policy.succeeded(&counter)).await?;
        let session = self
            .open_session(&mut tx, account.id, origin, now, &mut events)
            .await?;
        tx.commit(events).await?;
        Ok(LoginOutcome::Session(session))
    }

    /// Ends the actor's session.
    pub async fn log_out(&self, actor: &Actor) -> Result<()> {
        let mut tx = self.db().begin().await?;
        tx.delete_session(actor.session).await?;
        let ev = actor.event(
            None,
            "auth.logout",
            format!("session:{}", actor.session),
            &actor.session.to_string(),
        );
        tx.commit(vec![ev]).await?;
        Ok(())
    }

    /// The actor behind a session token, if the session is alive.
    pub async fn authenticate(&self, token: &str, origin: Origin) -> Result<Option<Actor>> {
        let s = &self.settings().sessions;
        let now = now_ms();
        let Some((session, account)) = self
            .db()
            .live_session(&hash_token(token), now, now - s.idle_ms)
            .await?
        else {
            self.observe_dead_token(&hash_token(token)).await;
            return Ok(None);
        };
        if now - session.last_seen_at > s.touch_interval_ms {
            self.db().touch_session(session.id, now).await?;
        }
        Ok(Some(Actor {
            account: account.id,
            session: session.id,
            display_name: account.display_name,
            email: account.email,
            is_operator: account.is_operator,
            origin,
            reauth_at: session.reauth_at,
            has_mfa: session.has_mfa,
            mfa_required: session.mfa_required && self.settings().enforce_mfa,
        }))
    }

    /// Validates a new account's details and hashes its password: the slow part, done
    /// before any transaction is opened.
    async fn prepare_account(
        &self,
        email: &str,
        name: &str,
        password: &str,
    ) -> Result<PreparedAccount> {
        let (email, name) = (Email::parse(email)?, DisplayName::parse(name)?);
        let pw = Password::parse(password, &[email.as_str(), name.as_str()])?;
        let phc = self.hasher().hash(pw).await?;
        Ok(PreparedAccount { email, name, phc })
    }

    pub(crate) async fn open_session(
        &self,
        tx: &mut WriteTx,
        account: AccountId,
        origin: &Origin,
        now: i64,
        events: &mut Vec<tekkan_audit::Event>,
    ) -> Result<NewSession> {
        let token = random_token();
        let id = new_id!(SessionId);
        let expires_at = now + self.settings().sessions.absolute_ms;
        let ua: Option<String> = origin
            .user_agent
            .as_ref()
            .map(|u| u.chars().take(256).collect());
        // The device first: the session remembers which device token it was opened
        // with (kept, or issued now), so that it and its device's sessions can be
        // ended together.
        let device = self.trust_device(tx, account, origin, now).await?;
        let family = device
            .as_deref()
            .or(origin.device.as_deref())
            .map(crate::login_guard::device_hash);
        tx.insert_session(&StoredSession {
            id,
            token_hash: &hash_token(&token),
            account_id: account,
            now,
            expires_at,
            ip: origin.ip.as_deref(),
            user_agent: ua.as_deref(),
            device_hash: family.as_deref(),
        })
        .await?;
        events.push(event(
            Some(account),
            Some(id),
            origin,
            None,
            "auth.login",
            format!("session:{id}"),
            &expires_at,
        ));
        Ok(NewSession {
            token,
            account,
            expires_at,
            device,
        })
    }
}

/// A new account, validated and with its password hashed, ready to insert.
pub(crate) struct PreparedAccount {
    pub(crate) email: Email,
    pub(crate) name: DisplayName,
    pub(crate) phc: String,
}

impl PreparedAccount {
    /// Inserts the account and records its audit event; returns the new id.
    async fn insert(
        &self,
        tx: &mut WriteTx,
        is_operator: bool,
        origin: &Origin,
        now: i64,
        events: &mut Vec<tekkan_audit::Event>,
    ) -> Result<AccountId> {
        let id = new_id!(AccountId);
        let (email, display_name) = (self.email.as_str(), self.name.as_str());
        tx.insert_account(&NewAccount {
            id,
            email,
            display_name,
            password_hash: Some(&self.phc),
            is_operator,
            created_at: now,
        })
        .await?;
        let change = AccountChange {
            email,
            display_name,
            is_operator,
        };
        events.push(event(
            Some(id),
            None,
            origin,
            None,
            "account.create",
            format!("account:{id}"),
            &change,
        ));
        Ok(id)
    }
}
