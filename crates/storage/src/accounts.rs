//! Accounts, login sessions and the one-time setup token.

use crate::sql::{q, scalar};
use tekkan_core::{AccountId, SessionId};

use crate::records::{account, id_col};
use crate::{Account, Db, Result, Session, WriteTx, conflict};

/// A new account. The password hash is computed by the caller (off the async threads).
pub struct NewAccount<'a> {
    pub id: AccountId,
    pub email: &'a str,
    pub display_name: &'a str,
    pub password_hash: Option<&'a str>,
    pub is_operator: bool,
    pub created_at: i64,
}

/// A new session; only the token's hash is stored.
pub struct NewSession<'a> {
    pub id: SessionId,
    pub token_hash: &'a str,
    pub account_id: AccountId,
    pub now: i64,
    pub expires_at: i64,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    /// The hash of the device token the session was opened with.
    pub device_hash: Option<&'a str>,
}

impl Db {
    /// The language the account last chose ("ja" or "en").
    pub async fn account_lang(&self, id: AccountId) -> Result<String> {
        let v: Option<String> = scalar("SELECT lang FROM accounts WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.reader)
            .await?;
        Ok(v.unwrap_or_else(|| "ja".into()))
    }

    pub async fn account_by_email(&self, email: &str) -> Result<Option<Account>> {
        let row = q("SELECT * FROM accounts WHERE email = $1")
            .bind(email)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(account).transpose()
    }

    pub async fn account(&self, id: AccountId) -> Result<Option<Account>> {
        let row = q("SELECT * FROM accounts WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(account).transpose()
    }

    pub async fn operator_exists(&self) -> Result<bool> {
        let n: i64 = scalar("SELECT COUNT(*) FROM accounts WHERE is_operator")
            .fetch_one(&self.reader)
            .await?;
        Ok(n > 0)
    }

    /// The session whose token hashes to `token_hash`, with its account, if it has not
    /// expired by `now` (absolute lifetime) and was used since `idle_cutoff`.
    pub async fn live_session(
        &self,
        token_hash: &str,
        now: i64,
        idle_cutoff: i64,
    ) -> Result<Option<(Session, Account)>> {
        let row = q(
            "SELECT s.id AS s_id, s.created_at AS s_created_at, s.last_seen_at, s.expires_at, \
             s.reauth_at, (EXISTS (SELECT 1 FROM mfa_totp t WHERE t.account_id = a.id \
               AND t.confirmed_at IS NOT NULL) \
               OR EXISTS (SELECT 1 FROM passkeys k WHERE k.account_id = a.id)) AS has_mfa, \
             (a.is_operator OR EXISTS (SELECT 1 FROM memberships m JOIN clubs c \
               ON c.id = m.club_id WHERE m.account_id = a.id AND m.status = 'active' \
               AND (m.role IN ('owner', 'officer', 'treasurer') OR c.require_mfa))) \
               AS mfa_required, a.* \
             FROM sessions s JOIN accounts a ON a.id = s.account_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND s.last_seen_at > $3 \
             AND a.disabled_at IS NULL",
        )
        .bind(token_hash)
        .bind(now)
        .bind(idle_cutoff)
        .fetch_optional(&self.reader)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let acc = account(&row)?;
        let session = Session {
            id: id_col(&row, "s_id", SessionId)?,
            account_id: acc.id,
            created_at: row.try_get("s_created_at")?,
            last_seen_at: row.try_get("last_seen_at")?,
            expires_at: row.try_get("expires_at")?,
            reauth_at: row.try_get("reauth_at")?,
            has_mfa: row.try_get("has_mfa")?,
            mfa_required: row.try_get("mfa_required")?,
        };
        Ok(Some((session, acc)))
    }

    /// The language notifications are sent to the account in. A preference, like the
    /// language cookie, so not audited.
    pub async fn set_account_lang(&self, id: AccountId, lang: &str) -> Result<()> {
        let mut conn = self.writer.acquire().await?;
        q("UPDATE accounts SET lang = $1 WHERE id = $2 AND lang <> $3")
            .bind(lang)
            .bind(id.to_string())
            .bind(lang)
            .execute(&mut conn)
            .await?;
        Ok(())
    }

    /// Records that a session was used. Bookkeeping, not a change of anyone's data, so
    /// it is not audited (the log would otherwise be mostly this); callers throttle it.
    pub async fn touch_session(&self, id: SessionId, now: i64) -> Result<()> {
        let mut conn = self.writer.acquire().await?;
        q("UPDATE sessions SET last_seen_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id.to_string())
            .execute(&mut conn)
            .await?;
        Ok(())
    }
}

impl WriteTx {
    pub async fn insert_account(&mut self, a: &NewAccount<'_>) -> Result<()> {
        q(
            "INSERT INTO accounts (id, email, display_name, password_hash, is_operator, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(a.id.to_string())
        .bind(a.email)
        .bind(a.display_name)
        .bind(a.password_hash)
        .bind(a.is_operator)
        .bind(a.created_at)
        .execute(&mut self.tx)
        .await
        .map_err(conflict("email already registered"))?;
        Ok(())
    }

    pub async fn set_password_hash(&mut self, id: AccountId, hash: &str) -> Result<()> {
        // A new password is the reset a containment step asked for.
        q("UPDATE accounts SET password_hash = $1, password_reset_required = 0 WHERE id = $2")
            .bind(hash)
            .bind(id.to_string())
            .execute(&mut self.tx)
            .await?;
        Ok(())
    }

    pub async fn insert_session(&mut self, s: &NewSession<'_>) -> Result<()> {
        q(
            "INSERT INTO sessions (id, token_hash, account_id, created_at, last_seen_at, \
             reauth_at, expires_at, ip, user_agent, device_hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(s.id.to_string())
        .bind(s.token_hash)
        .bind(s.account_id.to_string())
        .bind(s.now)
        .bind(s.now)
        .bind(s.now)
        .bind(s.expires_at)
        .bind(s.ip)
        .bind(s.user_agent)
        .bind(s.device_hash)
        .execute(&mut self.tx)
        .await?;
        Ok(())
    }

    /// Deletes a session; returns whether it existed.
    pub async fn delete_session(&mut self, id: SessionId) -> Result<bool> {
        let r = q("DELETE FROM sessions WHERE id = $1")
            .bind(id.to_string())
            .execute(&mut self.tx)
            .await?;
        Ok(r.rows_affected() > 0)
    }

    /// Replaces any earlier setup token with this one (only the newest URL works).
    pub async fn replace_setup_token(
        &mut self,
        token_hash: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<()> {
        q("DELETE FROM setup_tokens WHERE used_at IS NULL")
            .execute(&mut self.tx)
            .await?;
        q("INSERT INTO setup_tokens (token_hash, created_at, expires_at) VALUES ($1, $2, $3)")
            .bind(token_hash)
            .bind(now)
            .bind(expires_at)
            .execute(&mut self.tx)
            .await?;
        Ok(())
    }

    /// Marks the setup token used if it is valid and unused at `now`; returns whether it was.
    pub async fn consume_setup_token(&mut self, token_hash: &str, now: i64) -> Result<bool> {
        let r = q(
            "UPDATE setup_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $3",
        )
        .bind(now)
        .bind(token_hash)
        .bind(now)
        .execute(&mut self.tx)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    pub async fn operator_exists(&mut self) -> Result<bool> {
        let n: i64 = scalar("SELECT COUNT(*) FROM accounts WHERE is_operator")
            .fetch_one(&mut self.tx)
            .await?;
        Ok(n > 0)
    }

    /// The operator accounts still in use (for operations notices).
    pub async fn operator_accounts(&mut self) -> Result<Vec<AccountId>> {
        let rows = q("SELECT * FROM accounts WHERE is_operator AND disabled_at IS NULL")
            .fetch_all(&mut self.tx)
            .await?;
        rows.iter().map(|r| account(r).map(|a| a.id)).collect()
    }
}
