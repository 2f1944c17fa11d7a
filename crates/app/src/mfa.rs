//! Two-step verification: TOTP enrolment and removal, single-use recovery codes, the
//! second step of a login, and re-authentication before sensitive changes.

use rand_core::{OsRng, RngCore};
use serde::Serialize;
use tekkan_core::AccountId;
use tekkan_storage::{WriteTx, now_ms};

use crate::actor::event;
use crate::auth::NewSession;
use crate::limits::{IpPolicy, login_key, refusal_error};
use crate::totp;
use crate::{Actor, App, AppError, Origin, Result, hash_token};

/// How long a right password waits for its second step.
pub(crate) const CHALLENGE_TTL_MS: i64 = 5 * 60 * 1000;
/// Codes one second step may try before the login must start again.
const CHALLENGE_ATTEMPTS: i64 = 5;
/// How recent a proof of identity must be to change e-mail, password or factors.
pub const REAUTH_WINDOW_MS: i64 = 10 * 60 * 1000;
const RECOVERY_CODES: usize = 10;

/// What a correct password leads to.
#[derive(Debug)]
pub enum LoginOutcome {
    Session(NewSession),
    /// A second factor is needed: send the code with this token.
    SecondStep {
        token: String,
    },
}

/// A TOTP secret being enrolled, shown once.
#[derive(Clone, Debug, Serialize)]
pub struct TotpSetup {
    /// Base32, for typing into an app.
    pub secret: String,
    /// `otpauth://` URI, for a QR code.
    pub uri: String,
}

/// What protects an account.
#[derive(Clone, Debug, Serialize)]
pub struct MfaStatus {
    pub totp: bool,
    pub recovery_codes_left: i64,
    pub required: bool,
}

/// A new recovery code: 10 base32 characters (50 bits), shown as `XXXXX-XXXXX`.
fn recovery_code() -> String {
    let mut b = [0u8; 7];
    OsRng.fill_bytes(&mut b);
    let s: String = totp::base32(&b).chars().take(10).collect();
    format!("{}-{}", &s[..5], &s[5..])
}

/// A code as typed: spaces and hyphens dropped, letters upper-cased.
fn normalise(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_uppercase)
        .collect()
}

fn recovery_hash(account: AccountId, code: &str) -> String {
    hash_token(&format!("recovery\0{account}\0{}", normalise(code)))
}

impl App {
    pub(crate) fn require_recent(&self, actor: &Actor) -> Result<()> {
        if now_ms() - actor.reauth_at > REAUTH_WINDOW_MS {
            return Err(AppError::ReauthRequired);
        }
        Ok(())
    }

    pub async fn mfa_status(&self, actor: &Actor) -> Result<MfaStatus> {
        let totp = self.db().totp(actor.account).await?;
        Ok(MfaStatus {
            totp: totp.is_some_and(|t| t.confirmed_at.is_some()),
            recovery_codes_left: self.db().recovery_codes_left(actor.account).await?,
            required: actor.mfa_required,
        })
    }

    /// Starts TOTP enrolment with a new secret (sealed with the person's data key).
    /// Replaces an unconfirmed one; a confirmed one must be removed first.
    pub async fn start_totp(&self, actor: &Actor) -> Result<TotpSetup> {
        self.require_recent(actor)?;
        let now = now_ms();
        let mut secret = [0u8; 20];
        OsRng.fill_bytes(&mut secret);
        let mut tx = self.db().begin().await?;
        if tx
            .totp(actor.account)
            .await?
            .is_some_and(|t| t.confirmed_at.is_some())
        {
            return Err(AppError::Conflict("totp_exists"));
        }
        let key = self.data_key(actor.account, now).await?;
        tx.put_pending_totp(actor.account, &key.seal("totp", &secret)?, now)
            .await?;
        let ev = actor.event(
            None,
            "mfa.totp_started",
            format!("account:{}", actor.account),
            &now,
        );
        tx.commit(vec![ev]).await?;
        Ok(TotpSetup {
            secret: totp::base32(&secret),
            uri: totp::otpauth_uri("TEKKAN", &actor.email, &secret),
        })
    }

    /// Confirms enrolment with a first code. Returns new recovery codes (shown once)
    /// when the account had none.
    pub async fn confirm_totp(&self, actor: &Actor, code: &str) -> Result<Vec<String>> {
        self.require_recent(actor)?;
        let now = now_ms();
        let mut tx = self.db().begin().await?;
        let Some(row) = tx.totp(actor.account).await? else {
            return Err(AppError::Conflict("totp_not_started"));
        };
        if row.confirmed_at.is_some() {
            return Err(AppError::Conflict("totp_exists"));
        }
        let key = self.data_key(actor.account, now).await?;
        let secret = key.open("totp", &row.sealed_secret)?;
        let step = totp::verify(&secret, &normalise(code), now / 1000, row.last_step)
            .ok_or(AppError::BadCode)?;
        if !tx.use_totp_step(actor.account, step, now).await? {
            return Err(AppError::BadCode);
        }
        let codes = self.factor_added(&mut tx, actor.account, now).await?;
        let ev = actor.event(
            None,
            "mfa.totp_added",
            format!("account:{}", actor.account),
            &now,
        );
        tx.commit(vec![ev]).await?;
        Ok(codes)
    }

    /// Removes TOTP (and the recovery codes that go with it). Refused when the account
    /// must keep a second factor.
    pub async fn remove_totp(&self, actor: &Actor) -> Result<()> {
        self.require_recent(actor)?;
        let now = now_ms();
        let mut tx = self.db().begin().await?;
        if actor.mfa_required && tx.passkey_count(actor.account).await? == 0 {
            return Err(AppError::Conflict("mfa_required"));
        }
        if !tx.delete_totp(actor.account).await? {
            return Err(AppError::Conflict("totp_not_started"));
        }
        tx.replace_recovery_codes(actor.account, &[], now).await?;
        self.security_notice(&mut tx, actor.account, "factor_removed", now)
            .await?;
        let ev = actor.event(
            None,
            "mfa.totp_removed",
            format!("account:{}", actor.account),
            &now,
        );
        tx.commit(vec![ev]).await?;
        Ok(())
    }

    /// Replaces the recovery codes with new ones, shown once.
    pub async fn new_recovery_codes(&self, actor: &Actor) -> Result<Vec<String>> {
        self.require_recent(actor)?;
        if !actor.has_mfa {
            return Err(AppError::Conflict("totp_not_started"));
        }
        let now = now_ms();
        let mut tx = self.db().begin().await?;
        let codes = self
            .store_recovery_codes(&mut tx, actor.account, now)
            .await?;
        self.security_notice(&mut tx, actor.account, "recovery_codes_renewed", now)
            .await?;
        let ev = actor.event(
            None,
            "mfa.recovery_codes_renewed",
            format!("account:{}", actor.account),
            &now,
        );
        tx.commit(vec![ev]).await?;
        Ok(codes)
    }

    /// After a factor (TOTP or passkey) is added inside `tx`: the owner is told, and an
    /// account without recovery codes gets them, returned to be shown once.
    pub(crate) async fn factor_added(
        &self,
        tx: &mut WriteTx,
        account: AccountId,
        now: i64,
    ) -> Result<Vec<String>> {
        let mut codes = Vec::new();
        if self.db().recovery_codes_left(account).await? == 0 {
            codes = self.store_recovery_codes(tx, account, now).await?;
        }
        self.security_notice(tx, account, "factor_added", now)
            .await?;
        Ok(codes)
    }

    async fn store_recovery_codes(
        &self,
        tx: &mut WriteTx,
        account: AccountId,
        now: i64,
    ) -> Result<Vec<String>> {
        let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| recovery_code()).collect();
        let hashes: Vec<String> = codes.iter().map(|c| recovery_hash(account, c)).collect();
        tx.replace_recovery_codes(account, &hashes, now).await?;
        Ok(codes)
    }

    /// Checks a second-factor code inside `tx`, using it up: a TOTP code (six digits)
    /// or a recovery code. Returns which kind matched.
    pub(crate) async fn use_second_factor(
        &self,
        tx: &mut WriteTx,
        account: AccountId,
        code: &str,
        now: i64,
    ) -> Result<Option<&'static str>> {
        let code = normalise(code);
        if code.len() == totp::DIGITS as usize {
            let Some(row) = tx.totp(account).await?.filter(|t| t.confirmed_at.is_some()) else {
                return Ok(None);
            };
            let key = self.data_key(account, now).await?;
            let secret = key.open("totp", &row.sealed_secret)?;
            return Ok(
                match totp::verify(&secret, &code, now / 1000, row.last_step) {
                    Some(step) if tx.use_totp_step(account, step, now).await? => Some("totp"),
                    _ => None,
                },
            );
        }
        let used = tx
            .use_recovery_code(account, &recovery_hash(account, &code), now)
            .await?;
        Ok(used.then_some("recovery_code"))
    }

    /// The second step of a login: the token from [`App::log_in`] and a code. Failures
    /// count against the account like wrong passwords.
    pub async fn second_step(
        &self,
        token: &str,
        code: &str,
        origin: &Origin,
    ) -> Result<NewSession> {
        self.limit(IpPolicy::Login, origin).await?;
        let now = now_ms();
        let th = hash_token(token);
        let mut tx = self.db().begin().await?;
        let Some(ch) = tx.attempt_challenge(&th, now).await? else {
            return Err(AppError::Gone("second_step"));
        };
        if ch.attempts > CHALLENGE_ATTEMPTS {
            return Err(AppError::Gone("second_step"));
        }
        // Count the attempt before the code is checked, as for passwords.
        let policy = self.settings().limits.login.clone();
        let current = tx.login_counter(&ch.key_hash).await?;
        let admitted = policy.admit(&current, now).map_err(refusal_error)?;
        let method = self
            .use_second_factor(&mut tx, ch.account, code, now)
            .await?;
        let Some(method) = method else {
            // Keep the counted attempt and the challenge's count, with the failure.
            let account = self.db().account(ch.account).await?;
            let mut events = Vec::new();
            let mail = self
                .record_failure(
                    &mut tx,
                    &admitted,
                    account.as_ref(),
                    origin,
                    "auth.second_step_failed",
                    &mut events,
                )
                .await?;
            tx.commit(events).await?;
            self.send_unlock(mail).await;
            return Err(AppError::BadCode);
        };
        tx.put_login_counter(&policy.succeeded(&admitted)).await?;
        tx.finish_challenge(&th, now).await?;
        let mut events = vec![event(
            Some(ch.account),
            None,
            origin,
            None,
            "auth.second_step",
            format!("account:{}", ch.account),
            &method,
        )];
        let session = self
            .open_session(&mut tx, ch.account, origin, now, &mut events)
            .await?;
        tx.commit(events).await?;
        Ok(session)
    }

    /// Proves again who is behind a session, before a sensitive change: the password,
    /// and the second factor when the account has one.
    pub async fn reauthenticate(
        &self,
        actor: &Actor,
        password: &str,
        code: Option<&str>,
    ) -> Result<()> {
        let (account, _, key) = self
            .check_password(
                &login_key(&actor.email),
                &actor.email,
                password,
                &actor.origin,
            )
            .await?;
        if account.id != actor.account {
            return Err(AppError::BadCredentials);
        }
        let now = now_ms();
        let mut tx = self.db().begin().await?;
        let mut method = "password";
        if actor.has_mfa {
            let found = match code {
                Some(c) => {
                    self.use_second_factor(&mut tx, actor.account, c, now)
                        .await?
                }
                None => None,
            };
            let Some(m) = found else {
                // The password's attempt was given back below only on success: count it.
                let counter = tx.login_counter(&key).await?;
                let mut events = Vec::new();
                let mail = self
                    .record_failure(
                        &mut tx,
                        &counter,
                        Some(&account),
                        &actor.origin,
                        "auth.reauth_failed",
                        &mut events,
                    )
                    .await?;
                tx.commit(events).await?;
                self.send_unlock(mail).await;
                return Err(AppError::BadCode);
            };
            method = m;
        }
        let policy = &self.settings().limits.login;
        let c = tx.login_counter(&key).await?;
        tx.put_login_counter(&policy.succeeded(&c)).await?;
        tx.set_reauth(actor.session, now).await?;
        let ev = actor.event(
            None,
            "auth.reauthenticated",
            format!("session:{}", actor.session),
            &method,
        );
        tx.commit(vec![ev]).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_read_back_however_typed() {
        let a = AccountId::from_bytes([1; 16]);
        let c = recovery_code();
        assert_eq!(c.len(), 11);
        assert_eq!(
            recovery_hash(a, &c),
            recovery_hash(a, &c.to_lowercase().replace('-', " "))
        );
        assert_ne!(
            recovery_hash(a, &c),
            recovery_hash(AccountId::from_bytes([2; 16]), &c)
        );
    }
}
