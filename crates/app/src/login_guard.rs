//! Login throttling at work: an attempt is admitted through the per-address and
//! per-account limits before the password is checked, a failure is recorded (and may
//! lock the account, with an unlock link and a notice for its owner), and the link
//! lifts the lock.
//!
//! Device trust (OWASP's "device cookies"): every sign-in leaves the client a device
//! token. A later password attempt that presents a token of the same account is
//! counted on that device's own counter, with the same delays, lock and daily cap, and
//! not on the account's. So guesses from anywhere else, which lock the account, never
//! lock out a browser its owner has signed in on; and a stolen token is worth at most
//! one more counter of guesses. Passkey sign-ins take no password and no counter.

use tekkan_audit::Event;
use tekkan_core::throttle::Counter;
use tekkan_core::{AccountId, Email, Password};
use tekkan_storage::{Account, WriteTx, now_ms};

use crate::actor::event;
use crate::limits::{IpPolicy, refusal_error};
use crate::security_mail::SecurityMail;
use crate::{App, AppError, Origin, Result, hash_token, random_token};

/// An unlock link to e-mail once the transaction that made it has committed.
pub(crate) struct UnlockMail {
    account: Account,
    link: String,
}

impl App {
    /// Admits the attempt through the throttles and checks the password. On failure the
    /// attempt is recorded and [`AppError::BadCredentials`] returned. On success returns
    /// the account, a new hash to store if its hash is weaker than configured, and the
    /// throttle key the attempt was counted on: `account_key` (by the address typed), or
    /// the device's when the client presents a device token of this account.
    pub(crate) async fn check_password(
        &self,
        account_key: &str,
        email: &str,
        password: &str,
        origin: &Origin,
    ) -> Result<(Account, Option<String>, String)> {
        self.over_limit(IpPolicy::LoginFailure, origin).await?;
        self.limit(IpPolicy::Login, origin).await?;
        let email = Email::parse(email).ok();
        // A device's counter is keyed by the same hash its row is: one derivation. Only
        // a client presenting a token pays for the look-up; a flood without one is
        // refused by the counter before any account is read.
        let key = match (&origin.device, &email) {
            (Some(t), Some(e)) => {
                let h = device_hash(t);
                match self.db().device_trusted_for(&h, e.as_str()).await? {
                    true => h,
                    false => account_key.to_owned(),
                }
            }
            _ => account_key.to_owned(),
        };
        let key = key.as_str();
        // A prefix blocked by an automatic response asks for more proof: a device this
        // account signed in on before (or a passkey, which takes another way in).
        if key == account_key
            && let Some(until) = self.prefix_blocked(origin).await?
        {
            return Err(AppError::RateLimited {
                code: "address_blocked",
                retry_after_ms: Some(until - now_ms()),
            });
        }
        let policy = self.settings().limits.login.clone();
        let now = now_ms();
        self.db()
            .update_login_counter(key, |c| policy.admit(&c, now))
            .await?
            .map_err(refusal_error)?;
        let account = match &email {
            Some(e) => self.db().account_by_email(e.as_str()).await?,
            None => None,
        };
        // An unknown address is checked against a dummy hash: the same work either way.
        let stored = account.as_ref().and_then(|a| a.password_hash.clone());
        let pw = Password::for_login(password);
        let verified = match &pw {
            Some(p) => Some(self.hasher().verify(p.clone(), stored).await?),
            None => None,
        };
        let (account, pw, verified) = match (account, pw, verified) {
            (Some(a), Some(pw), Some(v)) if v.ok => (a, pw, v),
            (a, _, _) => {
                self.observe_failed_login(account_key, origin, password);
                let mut tx = self.db().begin().await?;
                let counter = tx.login_counter(key).await?;
                let mut events = Vec::new();
                let mail = self
                    .record_failure(
                        &mut tx,
                        &counter,
                        a.as_ref(),
                        origin,
                        "auth.login_failed",
                        &mut events,
                    )
                    .await?;
                tx.commit(events).await?;
                self.send_unlock(mail).await;
                return Err(AppError::BadCredentials);
            }
        };
        if account.disabled_at.is_some() {
            return Err(AppError::AccountDisabled);
        }
        let new_hash = match verified.needs_rehash {
            true => Some(self.hasher().hash(pw).await?),
            false => None,
        };
        Ok((account, new_hash, key.to_owned()))
    }

    /// After a sign-in to `account`: keeps the client's device token if it is one of
    /// this account's (marking it used), else issues a new one to return to the client.
    pub(crate) async fn trust_device(
        &self,
        tx: &mut WriteTx,
        account: AccountId,
        origin: &Origin,
        now: i64,
    ) -> Result<Option<String>> {
        if let Some(t) = &origin.device
            && tx
                .touch_trusted_device(&device_hash(t), account, now)
                .await?
        {
            return Ok(None);
        }
        // A sign-in from a device this account never used, when it has used others (the
        // very first sign-in is the sign-up itself): its owner, and the guardians of a
        // minor, are told at once. Only the account's own people hear of it, so it says
        // nothing to whoever typed the address.
        if tx.trusted_device_count(account).await? > 0 {
            self.new_device_notice(tx, account, origin, now).await?;
            self.observe_new_device(account);
        }
        let token = random_token();
        tx.insert_trusted_device(&device_hash(&token), account, now, DEVICES_KEPT)
            .await?;
        Ok(Some(token))
    }

    /// Tells `account` (and its guardians) of a sign-in from a new device: which
    /// browser, from which network, as far as the request says.
    async fn new_device_notice(
        &self,
        tx: &mut WriteTx,
        account: AccountId,
        origin: &Origin,
        now: i64,
    ) -> Result<()> {
        let device: String = origin
            .user_agent
            .as_deref()
            .and_then(tekkan_core::device::describe_agent)
            .unwrap_or_else(|| "?".into());
        let network = crate::detect::prefix(origin.ip.as_deref());
        let name = self
            .db()
            .account(account)
            .await?
            .map(|a| a.display_name)
            .unwrap_or_default();
        let notice = |what: &str| crate::notify::Notice {
            kind: crate::notify::NoticeKind::Security,
            club: None,
            params: serde_json::json!({
                "what": what, "device": device, "network": network, "name": name,
            }),
            url: "/settings/sessions".into(),
        };
        crate::notify::notify(
            tx,
            self.channels(),
            [account],
            None,
            &notice("new_device"),
            now,
        )
        .await?;
        let guardians = tx.guardian_accounts_of(account).await?;
        crate::notify::notify(
            tx,
            self.channels(),
            guardians,
            Some(account),
            &notice("new_device_guardian"),
            now,
        )
        .await?;
        Ok(())
    }

    /// Records, inside `tx`, a failed attempt that `counter` already counts (as admitted):
    /// audits it as `action`, and when it is the failure that locks the account, stores
    /// an unlock link for the owner, returned to be mailed after the commit.
    pub(crate) async fn record_failure(
        &self,
        tx: &mut WriteTx,
        counter: &Counter,
        account: Option<&Account>,
        origin: &Origin,
        action: &'static str,
        events: &mut Vec<Event>,
    ) -> Result<Option<UnlockMail>> {
        tracing::info!(ip = ?origin.ip, action, "failed login");
        // Counted in this write, which holds the write lock the window needs.
        let _ = self.limit_in(tx, IpPolicy::LoginFailure, origin).await;
        let limits = &self.settings().limits;
        let now = now_ms();
        let (counter, locked) = limits.login.failed(counter, now);
        tx.put_login_counter(&counter).await?;
        let target = match account {
            Some(a) => format!("account:{}", a.id),
            None => "account:unknown".into(),
        };
        events.push(event(
            account.map(|a| a.id),
            None,
            origin,
            None,
            action,
            target.clone(),
            &counter.consecutive,
        ));
        let (true, Some(a)) = (locked, account) else {
            return Ok(None);
        };
        let token = random_token();
        tx.insert_unlock_token(
            &hash_token(&token),
            &counter.key_hash,
            a.id,
            now,
            now + limits.unlock_ttl_ms,
        )
        .await?;
        events.push(event(
            Some(a.id),
            None,
            origin,
            None,
            "auth.locked",
            target,
            &counter.window_failures,
        ));
        // The owner hears of it in the app and by push too, not only by the mail that
        // carries the unlock link.
        self.security_notice(tx, a.id, "account_locked", now)
            .await?;
        Ok(Some(UnlockMail {
            account: a.clone(),
            link: format!("{}/unlock?token={token}", self.settings().base_url),
        }))
    }

    /// Sends an unlock link recorded by [`App::record_failure`], if there is one.
    pub(crate) async fn send_unlock(&self, mail: Option<UnlockMail>) {
        if let Some(m) = mail {
            let a = &m.account;
            self.send_security_mail(a.id, &a.email, SecurityMail::Unlock, m.link)
                .await;
        }
    }

    /// Lifts a lockout with the e-mailed link (once). The day's cap still holds.
    pub async fn unlock_login(&self, token: &str, origin: &Origin) -> Result<()> {
        self.limit(IpPolicy::Reset, origin).await?;
        let now = now_ms();
        let mut tx = self.db().begin().await?;
        let Some((key, account)) = tx.consume_unlock_token(&hash_token(token), now).await? else {
            return Err(AppError::Gone("unlock_link"));
        };
        let c = tx.login_counter(&key).await?;
        tx.put_login_counter(&self.settings().limits.login.unlocked(&c))
            .await?;
        let ev = event(
            Some(account),
            None,
            origin,
            None,
            "auth.unlocked",
            format!("account:{account}"),
            &now,
        );
        tx.commit(vec![ev]).await?;
        Ok(())
    }
}

/// Devices trusted per account, the most recently used kept (a family's phones and
/// computers, with room to spare).
const DEVICES_KEPT: i64 = 20;

/// How a device token is stored, looked up, and keys its own throttle counter.
pub(crate) fn device_hash(token: &str) -> String {
    hash_token(&format!("trusted-device\0{token}"))
}
