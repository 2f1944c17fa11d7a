//! Links that change an account (password reset, e-mail change), the sessions an
//! account holds, and disabling an account.

use crate::sql::{Row, q, scalar};
use tekkan_core::{AccountId, SessionId};

use crate::records::id_col;
use crate::{Db, Result, WriteTx, conflict};

/// What a link is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenPurpose {
    Reset,
    Email,
}

impl TokenPurpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::Reset => "reset",
            Self::Email => "email",
        }
    }
}

/// A live link: whose it is and, for an e-mail change, the new address.
#[derive(Clone, Debug)]
pub struct AccountToken {
    pub account_id: AccountId,
    pub new_email: Option<String>,
    pub created_at: i64,
}

/// One of an account's sessions, as its owner sees it.
#[derive(Clone, Debug)]
pub struct SessionLine {
    pub id: SessionId,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

fn token(r: &Row) -> Result<AccountToken> {
    Ok(AccountToken {
        account_id: id_col(r, "account_id", AccountId)?,
        new_email: r.try_get("new_email")?,
        created_at: r.try_get("created_at")?,
    })
}

const LIVE: &str = "SELECT account_id, new_email, created_at FROM account_tokens WHERE token_hash = $1 \
     AND purpose = $2 AND used_at IS NULL AND expires_at > $3";

impl Db {
    /// The live link with this hash, without using it (to show the right form).
    pub async fn peek_account_token(
        &self,
        token_hash: &str,
        purpose: TokenPurpose,
        now: i64,
    ) -> Result<Option<AccountToken>> {
        let r = q(LIVE)
            .bind(token_hash)
            .bind(purpose.as_str())
            .bind(now)
            .fetch_optional(&self.reader)
            .await?;
        r.as_ref().map(token).transpose()
    }

    /// The account's sessions that are still alive at `now`, most recently used first.
    pub async fn account_sessions(
        &self,
        account: AccountId,
        now: i64,
        idle_cutoff: i64,
    ) -> Result<Vec<SessionLine>> {
        let rows = q(
            "SELECT id, created_at, last_seen_at, expires_at, ip, user_agent FROM sessions \
             WHERE account_id = $1 AND expires_at > $2 AND last_seen_at > $3 \
             ORDER BY last_seen_at DESC, id LIMIT 200",
        )
        .bind(account.to_string())
        .bind(now)
        .bind(idle_cutoff)
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SessionLine {
                    id: id_col(r, "id", SessionId)?,
                    created_at: r.try_get("created_at")?,
                    last_seen_at: r.try_get("last_seen_at")?,
                    expires_at: r.try_get("expires_at")?,
                    ip: r.try_get("ip")?,
                    user_agent: r.try_get("user_agent")?,
                })
            })
            .collect()
    }
}

impl WriteTx {
    pub async fn insert_account_token(
        &mut self,
        token_hash: &str,
        purpose: TokenPurpose,
        account: AccountId,
        new_email: Option<&str>,
        now: i64,
        expires_at: i64,
    ) -> Result<()> {
        q(
            "INSERT INTO account_tokens (token_hash, purpose, account_id, new_email, \
             created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(token_hash)
        .bind(purpose.as_str())
        .bind(account.to_string())
        .bind(new_email)
        .bind(now)
        .bind(expires_at)
        .execute(&mut self.tx)
        .await?;
        Ok(())
    }

    /// How many links of this kind the account was sent since `since`.
    pub async fn account_tokens_since(
        &mut self,
        account: AccountId,
        purpose: TokenPurpose,
        since: i64,
    ) -> Result<i64> {
        Ok(scalar(
            "SELECT COUNT(*) FROM account_tokens WHERE account_id = $1 AND purpose = $2 \
             AND created_at > $3",
        )
        .bind(account.to_string())
        .bind(purpose.as_str())
        .bind(since)
        .fetch_one(&mut self.tx)
        .await?)
    }

    /// Uses up a live link; `None` when it is unknown, used, expired or voided.
    pub async fn consume_account_token(
        &mut self,
        token_hash: &str,
        purpose: TokenPurpose,
        now: i64,
    ) -> Result<Option<AccountToken>> {
        let r = q(
            "UPDATE account_tokens SET used_at = $1 WHERE token_hash = $2 AND purpose = $3 \
             AND used_at IS NULL AND expires_at > $4 RETURNING account_id, new_email, created_at",
        )
        .bind(now)
        .bind(token_hash)
        .bind(purpose.as_str())
        .bind(now)
        .fetch_optional(&mut self.tx)
        .await?;
        r.as_ref().map(token).transpose()
    }

    /// Voids every outstanding link of this kind for the account; returns how many.
    pub async fn void_account_tokens(
        &mut self,
        account: AccountId,
        purpose: TokenPurpose,
        now: i64,
    ) -> Result<u64> {
        let r = q(
            "UPDATE account_tokens SET used_at = $1 WHERE account_id = $2 AND purpose = $3 \
             AND used_at IS NULL",
        )
        .bind(now)
        .bind(account.to_string())
        .bind(purpose.as_str())
        .execute(&mut self.tx)
        .await?;
        Ok(r.rows_affected())
    }

    pub async fn set_email(&mut self, account: AccountId, email: &str) -> Result<()> {
        q("UPDATE accounts SET email = $1 WHERE id = $2")
            .bind(email)
            .bind(account.to_string())
            .execute(&mut self.tx)
            .await
            .map_err(conflict("email already registered"))?;
        Ok(())
    }

    /// Ends the account's sessions, all of them or all but `keep`; returns how many.
    pub async fn delete_sessions(
        &mut self,
        account: AccountId,
        keep: Option<SessionId>,
    ) -> Result<u64> {
        let keep = keep.map(|s| s.to_string()).unwrap_or_default();
        let r = q("DELETE FROM sessions WHERE account_id = $1 AND id <> $2")
            .bind(account.to_string())
            .bind(keep)
            .execute(&mut self.tx)
            .await?;
        Ok(r.rows_affected())
    }

    /// Ends one of the account's sessions; false when it has no such session.
    pub async fn delete_account_session(
        &mut self,
        account: AccountId,
        session: SessionId,
    ) -> Result<bool> {
        let r = q("DELETE FROM sessions WHERE id = $1 AND account_id = $2")
            .bind(session.to_string())
            .bind(account.to_string())
            .execute(&mut self.tx)
            .await?;
        Ok(r.rows_affected() > 0)
    }

    /// Disables (`Some(time)`) or enables (`None`) an account; false when nothing
    /// changed. Operators cannot be disabled this way (there would be no one left to
    /// enable them).
    pub async fn set_disabled(&mut self, account: AccountId, at: Option<i64>) -> Result<bool> {
        let sql = match at {
            Some(_) => {
                "UPDATE accounts SET disabled_at = $1 WHERE id = $2 AND disabled_at IS NULL \
                 AND NOT is_operator"
            }
            None => {
                "UPDATE accounts SET disabled_at = $1 WHERE id = $2 AND disabled_at IS NOT NULL"
            }
        };
        let r = q(sql)
            .bind(at)
            .bind(account.to_string())
            .execute(&mut self.tx)
            .await?;
        Ok(r.rows_affected() > 0)
    }
}

/// A sign-up waiting for its address to be confirmed.
#[derive(Clone, Debug)]
pub struct PendingSignup {
    pub email: String,
    pub display_name: String,
    pub password_hash: String,
    pub invitation_hash: Option<String>,
}

impl WriteTx {
    pub async fn insert_pending_signup(
        &mut self,
        token_hash: &str,
        p: &PendingSignup,
        now: i64,
        expires_at: i64,
    ) -> Result<()> {
        q(
            "INSERT INTO pending_signups (token_hash, email, display_name, password_hash, \
             invitation_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(token_hash)
        .bind(&p.email)
        .bind(&p.display_name)
        .bind(&p.password_hash)
        .bind(&p.invitation_hash)
        .bind(now)
        .bind(expires_at)
        .execute(&mut self.tx)
        .await?;
        Ok(())
    }

    /// Uses up a live sign-up link.
    pub async fn consume_pending_signup(
        &mut self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<PendingSignup>> {
        let r = q(
            "UPDATE pending_signups SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL \
             AND expires_at > $3 RETURNING email, display_name, password_hash, invitation_hash",
        )
        .bind(now)
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&mut self.tx)
        .await?;
        match r {
            Some(r) => Ok(Some(PendingSignup {
                email: r.try_get("email")?,
                display_name: r.try_get("display_name")?,
                password_hash: r.try_get("password_hash")?,
                invitation_hash: r.try_get("invitation_hash")?,
            })),
            None => Ok(None),
        }
    }
}
