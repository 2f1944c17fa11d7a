//! Getting back into an account and changing how one signs in: password reset by an
//! e-mailed link (which never goes around the second factor), password and e-mail
//! changes after a recent re-check, and the security notice each of them sends.

use tekkan_core::throttle::Counter;
use tekkan_core::{AccountId, Email, Password};
use tekkan_storage::{TokenPurpose, WriteTx, now_ms};

use crate::actor::event;
use crate::auth::NewSession;
use crate::limits::{IpPolicy, login_key, refusal_error};
use crate::notify::{Notice, NoticeKind, notify};
use crate::security_mail::SecurityMail;
use crate::{Actor, App, AppError, Origin, Result, hash_token, random_token};

const HOUR_MS: i64 = 60 * 60 * 1000;
/// Reset links one account is sent per hour at most, whoever asks: the address's owner
/// is not flooded with mail, and the answer to the asker does not change.
const RESETS_PER_HOUR: i64 = 3;
/// Confirmation links one account may ask for per hour.
const EMAIL_CHANGES_PER_HOUR: i64 = 5;
const EMAIL_LINK_TTL_MS: i64 = 24 * HOUR_MS;

impl App {
    /// Tells the account about a change to its protection, in the app and on every
    /// channel it has (a person cannot switch these off).
    pub(crate) async fn security_notice(
        &self,
        tx: &mut WriteTx,
        account: AccountId,
        what: &'static str,
        now: i64,
    ) -> Result<()> {
        let n = Notice {
            kind: NoticeKind::Security,
            club: None,
            params: serde_json::json!({ "what": what }),
            url: "/settings/security".into(),
        };
        notify(tx, self.channels(), [account], None, &n, now).await?;
        Ok(())
    }

    /// Asks for a password reset link. The answer and the work done are the same
    /// whether or not the address has an account; only its owner gets a mail.
    pub async fn request_password_reset(&self, email: &str, origin: &Origin) -> Result<()> {
        self.limit(IpPolicy::Reset, origin).await?;
        let email = Email::parse(email)?;
        let now = now_ms();
        let account = self
            .db()
            .account_by_email(email.as_str())
            .await?
            .filter(|a| a.disabled_at.is_none());
        let mut tx = self.db().begin().await?;
        let mut link = None;
        let target = match &account {
            Some(a) => {
                let recent = tx
                    .account_tokens_since(a.id, TokenPurpose::Reset, now - HOUR_MS)
                    .await?;
                if recent < RESETS_PER_HOUR {
                    let token = random_token();
                    let ttl = self.settings().limits.reset_ttl_ms;
                    tx.insert_account_token(
                        &hash_token(&token),
                        TokenPurpose::Reset,
                        a.id,
                        None,
                        now,
                        now + ttl,
                    )
                    .await?;
                    link = Some(format!("{}/reset?token={token}", self.settings().base_url));
                }
                format!("account:{}", a.id)
            }
            None => "account:unknown".into(),
        };
        let ev = event(
            account.as_ref().map(|a| a.id),
            None,
            origin,
            None,
            "auth.reset_requested",
            target,
            &link.is_some(),
        );
        tx.commit(vec![ev]).await?;
        if let (Some(a), Some(link)) = (account, link) {
            self.send_security_mail(a.id, &a.email, SecurityMail::Reset, link)
                .await;
        }
        Ok(())
    }

    /// Whether a live reset link also needs a second-factor code (to show the form).
    pub async fn reset_needs_code(&self, token: &str) -> Result<bool> {
        let t = self
            .db()
            .peek_account_token(&hash_token(token), TokenPurpose::Reset, now_ms())
            .await?
            .ok_or(AppError::Gone("reset_link"))?;
        self.has_second_factor(t.account_id).await
    }

    async fn has_second_factor(&self, account: AccountId) -> Result<bool> {
        let totp = self.db().totp(account).await?;
        Ok(totp.is_some_and(|t| t.confirmed_at.is_some())
            || !self.db().passkeys(account).await?.is_empty())
    }

    /// Sets a new password with a reset link and, when the account has a second
    /// factor, one of its codes: a mailbox alone never opens a protected account.
    /// Ends every session, clears the login throttle, voids the other links, and opens
    /// a new session.
    pub async fn reset_password(
        &self,
        token: &str,
        password: &str,
        code: Option<&str>,
        origin: &Origin,
    ) -> Result<NewSession> {
        self.limit(IpPolicy::Reset, origin).await?;
        let now = now_ms();
        let th = hash_token(token);
        let gone = AppError::Gone("reset_link");
        let t = self
            .db()
            .peek_account_token(&th, TokenPurpose::Reset, now)
            .await?
            .ok_or(gone)?;
        let account = self
            .db()
            .account(t.account_id)
            .await?
            .filter(|a| a.disabled_at.is_none())
            .ok_or(AppError::Gone("reset_link"))?;
        let pw = Password::parse(password, &[&account.email, &account.display_name])?;
        let key = login_key(&account.email);
        let second = self.has_second_factor(account.id).await?;
        if second {
            // The link proves the mailbox, as an unlock link does, so it lifts a
            // lockout from before it was sent, but not one that guessing codes with it
            // caused. The code is a guess like a password, counted before it is
            // checked, and the day's cap holds.
            let policy = &self.settings().limits.login;
            let sent = t.created_at;
            self.db()
                .update_login_counter(&key, |c| {
                    let c = match c.locked_at {
                        Some(at) if at <= sent => policy.unlocked(&c),
                        _ => c,
                    };
                    policy.admit(&c, now)
                })
                .await?
                .map_err(refusal_error)?;
        }
        let phc = self.hasher().hash(pw).await?;
        let mut tx = self.db().begin().await?;
        let mut events = Vec::new();
        let target = format!("account:{}", account.id);
        if second {
            let found = match code {
                Some(c) => self.use_second_factor(&mut tx, account.id, c, now).await?,
                None => None,
            };
            let Some(method) = found else {
                let counter = tx.login_counter(&key).await?;
                let mail = self
                    .record_failure(
                        &mut tx,
                        &counter,
                        Some(&account),
                        origin,
                        "auth.reset_code_failed",
                        &mut events,
                    )
                    .await?;
                tx.commit(events).await?;
                self.send_unlock(mail).await;
                return Err(AppError::BadCode);
            };
            events.push(event(
                Some(account.id),
                None,
                origin,
                None,
                "auth.second_step",
                target.clone(),
                &method,
            ));
        }
        if tx
            .consume_account_token(&th, TokenPurpose::Reset, now)
            .await?
            .is_none()
        {
            // Used by a request that ran at the same time.
            return Err(AppError::Gone("reset_link"));
        }
        tx.set_password_hash(account.id, &phc).await?;
        tx.void_account_tokens(account.id, TokenPurpose::Reset, now)
            .await?;
        let ended = tx.delete_sessions(account.id, None).await?;
        tx.forget_trusted_devices(account.id).await?;
        tx.put_login_counter(&Counter {
            key_hash: key,
            ..Counter::default()
        })
        .await?;
        self.security_notice(&mut tx, account.id, "password_reset", now)
            .await?;
        events.push(event(
            Some(account.id),
            None,
            origin,
            None,
            "auth.password_reset",
            target,
            &ended,
        ));
        let session = self
            .open_session(&mut tx, account.id, origin, now, &mut events)
            .await?;
        tx.commit(events).await?;
        Ok(session)
    }

    /// Changes the actor's password: needs the current one (checked and throttled like
    /// a login) and a recent re-check (which covers the second factor). Voids
    /// outstanding reset links. Returns how many other sessions are still open, to
    /// offer ending them.
    pub async fn change_password(
        &self,
        actor: &Actor,
        current: &str,
        password: &str,
    ) -> Result<usize> {
        self.require_recent(actor)?;
        let pw = Password::parse(password, &[&actor.email, &actor.display_name])?;
        let (account, _, key) = self
            .check_password(
                &login_key(&actor.email),
                &actor.email,
                current,
                &actor.origin,
            )
            .await?;
        if account.id != actor.account {
            return Err(AppError::BadCredentials);
        }
        let policy = &self.settings().limits.login;
        self.db()
            .update_login_counter(&key, |c| Ok::<_, ()>(policy.succeeded(&c)))
            .await?
            .map_err(|()| AppError::BadCredentials)?;
        let phc = self.hasher().hash(pw).await?;
        let now = now_ms();
        let mut tx = self.db().begin().await?;
        tx.set_password_hash(actor.account, &phc).await?;
        tx.void_account_tokens(actor.account, TokenPurpose::Reset, now)
            .await?;
        self.security_notice(&mut tx, actor.account, "password_changed", now)
            .await?;
        let ev = actor.event(
            None,
            "account.password_changed",
            format!("account:{}", actor.account),
            &now,
        );
        tx.commit(vec![ev]).await?;
        let s = &self.settings().sessions;
        let open = self
            .db()
            .account_sessions(actor.account, now, now - s.idle_ms)
            .await?;
        Ok(open.iter().filter(|x| x.id != actor.session).count())
    }

    /// Starts changing the sign-in address: after a recent re-check, a link goes to the
    /// new address, which becomes the account's only when that link is followed.
    pub async fn request_email_change(&self, actor: &Actor, email: &str) -> Result<()> {
        self.require_recent(actor)?;
        let email = Email::parse(email)?;
        if email.as_str() == actor.email {
            return Err(AppError::Conflict("same_email"));
        }
        if self.db().account_by_email(email.as_str()).await?.is_some() {
            return Err(AppError::Conflict("email_taken"));
        }
        let now = now_ms();
        let mut tx = self.db().begin().await?;
        let recent = tx
            .account_tokens_since(actor.account, TokenPurpose::Email, now - HOUR_MS)
            .await?;
        if recent >= EMAIL_CHANGES_PER_HOUR {
            return Err(AppError::RateLimited {
                code: "rate_limited",
                retry_after_ms: Some(HOUR_MS),
            });
        }
        let token = random_token();
        tx.insert_account_token(
            &hash_token(&token),
            TokenPurpose::Email,
            actor.account,
            Some(email.as_str()),
            now,
            now + EMAIL_LINK_TTL_MS,
        )
        .await?;
        let ev = actor.event(
            None,
            "account.email_change_requested",
            format!("account:{}", actor.account),
            &now,
        );
        tx.commit(vec![ev]).await?;
        let link = format!("{}/email/confirm?token={token}", self.settings().base_url);
        self.send_security_mail(
            actor.account,
            email.as_str(),
            SecurityMail::ConfirmEmail,
            link,
        )
        .await;
        Ok(())
    }

    /// Follows the link sent to a new address: it becomes the sign-in address, and the
    /// old address is told.
    pub async fn confirm_email_change(&self, token: &str, origin: &Origin) -> Result<()> {
        self.limit(IpPolicy::Reset, origin).await?;
        let now = now_ms();
        let mut tx = self.db().begin().await?;
        let Some(t) = tx
            .consume_account_token(&hash_token(token), TokenPurpose::Email, now)
            .await?
        else {
            return Err(AppError::Gone("email_link"));
        };
        let Some(new_email) = t.new_email else {
            return Err(AppError::Gone("email_link"));
        };
        // Queued before the change, so that the mail goes to the old address.
        self.security_notice(&mut tx, t.account_id, "email_changed", now)
            .await?;
        tx.set_email(t.account_id, &new_email).await?;
        tx.void_account_tokens(t.account_id, TokenPurpose::Email, now)
            .await?;
        tx.void_account_tokens(t.account_id, TokenPurpose::Reset, now)
            .await?;
        let ev = event(
            Some(t.account_id),
            None,
            origin,
            None,
            "account.email_changed",
            format!("account:{}", t.account_id),
            &now,
        );
        tx.commit(vec![ev]).await?;
        Ok(())
    }
}
