//! Two-step verification state (TOTP secrets sealed, recovery codes hashed, pending
//! second steps), the master-key check value and per-person wrapped data keys.

use crate::sql::{Row, q, scalar};
use tekkan_core::{AccountId, SessionId};

use crate::records::id_col;
use crate::{Db, Result, WriteTx};

/// A TOTP factor as stored: its secret is sealed with the person's data key.
#[derive(Clone, Debug)]
pub struct TotpRow {
    pub sealed_secret: String,
    pub last_step: i64,
    pub confirmed_at: Option<i64>,
}

/// A pending second step.
#[derive(Clone, Debug)]
pub struct Challenge {
    pub account: AccountId,
    pub key_hash: String,
    pub attempts: i64,
}

fn totp_row(r: &Row) -> Result<TotpRow> {
    Ok(TotpRow {
        sealed_secret: r.try_get("sealed_secret")?,
        last_step: r.try_get("last_step")?,
        confirmed_at: r.try_get("confirmed_at")?,
    })
}

macro_rules! totp_sql {
    () => {
        "SELECT sealed_secret, last_step, confirmed_at FROM mfa_totp WHERE account_id = $1"
    };
}

impl Db {
    /// Takes the sign-in challenges that expired by `now`: one statement that deletes
    /// them, so of any number of instances sweeping at once, one sees each. Returns
    /// the accounts whose second step was abandoned (a right password, no second step),
    /// with the codes tried. Bookkeeping: what it finds is audited as a detection.
    pub async fn take_expired_challenges(&self, now: i64) -> Result<Vec<(AccountId, i64)>> {
        // A read first: every instance sweeps every few seconds, and nearly always
        // finds nothing, which should not take the writer.
        // (The column, not a literal: PostgreSQL reads `1` as a 4-byte integer.)
        let any: Option<i64> =
            scalar("SELECT expires_at FROM mfa_challenges WHERE expires_at <= $1 LIMIT 1")
                .bind(now)
                .fetch_optional(&self.reader)
                .await?;
        if any.is_none() {
            return Ok(Vec::new());
        }
        let rows = q("DELETE FROM mfa_challenges WHERE expires_at <= $1 \
                      RETURNING account_id, attempts, used_at")
        .bind(now)
        .fetch_all(&self.writer)
        .await?;
        let mut out = Vec::new();
        for r in &rows {
            let used: Option<i64> = r.try_get("used_at")?;
            if used.is_none() {
                out.push((id_col(r, "account_id", AccountId)?, r.try_get("attempts")?));
            }
        }
        Ok(out)
    }

    pub async fn master_key_check(&self) -> Result<Option<(String, String)>> {
        let r = q("SELECT key_id, sealed FROM master_key_check WHERE id = 1")
            .fetch_optional(&self.reader)
            .await?;
        r.map(|r| Ok((r.try_get("key_id")?, r.try_get("sealed")?)))
            .transpose()
    }

    pub async fn totp(&self, account: AccountId) -> Result<Option<TotpRow>> {
        let r = q(totp_sql!())
            .bind(account.to_string())
            .fetch_optional(&self.reader)
            .await?;
        r.as_ref().map(totp_row).transpose()
    }

    /// Unused recovery codes left.
    pub async fn recovery_codes_left(&self, account: AccountId) -> Result<i64> {
        Ok(scalar(
            "SELECT COUNT(*) FROM mfa_recovery_codes WHERE account_id = $1 AND used_at IS NULL",
        )
        .bind(account.to_string())
        .fetch_one(&self.reader)
        .await?)
    }
}

impl WriteTx {
    pub async fn insert_master_key_check(&mut self, key_id: &str, sealed: &str) -> Result<()> {
        q("INSERT INTO master_key_check (id, key_id, sealed) VALUES (1, $1, $2)")
            .bind(key_id)
            .bind(sealed)
            .execute(&mut self.tx)
            .await?;
        Ok(())
    }

    /// Data keys from before the key store existed (they lived in this database), to
    /// move there once; a batch at a time.
    pub async fn legacy_data_keys(&mut self) -> Result<Vec<(AccountId, String, String)>> {
        let rows = q("SELECT account_id, key_id, wrapped FROM data_keys LIMIT 500")
            .fetch_all(&mut self.tx)
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    id_col(r, "account_id", AccountId)?,
                    r.try_get("key_id")?,
                    r.try_get("wrapped")?,
                ))
            })
            .collect()
    }

    pub async fn forget_legacy_data_key(&mut self, account: AccountId) -> Result<()> {
        q("DELETE FROM data_keys WHERE account_id = $1")
            .bind(account.to_string())
            .execute(&mut self.tx)
            .await?;
        Ok(())
    }

    pub async fn set_master_key_check(&mut self, key_id: &str, sealed: &str) -> Result<()> {
        q("UPDATE master_key_check SET key_id = $1, sealed = $2 WHERE id = 1")
            .bind(key_id)
            .bind(sealed)
            .execute(&mut self.tx)
            .await?;
        Ok(())
    }

    pub async fn totp(&mut self, account: AccountId) -> Result<Option<TotpRow>> {
        let r = q(totp_sql!())
            .bind(account.to_string())
            .fetch_optional(&mut self.tx)
            .await?;
        r.as_ref().map(totp_row).transpose()
    }

    /// Starts (or restarts) enrolment with a new, unconfirmed secret.
    pub async fn put_pending_totp(
        &mut self,
        account: AccountId,
        sealed: &str,
        now: i64,
    ) -> Result<()> {
        q(
            "INSERT INTO mfa_totp (account_id, sealed_secret, last_step, created_at) \
             VALUES ($1, $2, 0, $3) ON CONFLICT (account_id) DO UPDATE SET \
             sealed_secret = excluded.sealed_secret, last_step = 0, \
             created_at = excluded.created_at, confirmed_at = NULL",
        )
        .bind(account.to_string())
        .bind(sealed)
        .bind(now)
        .execute(&mut self.tx)
        .await?;
        Ok(())
    }

    /// Records `step` as used, if it is later than any used before; `false` for a replay.
    pub async fn use_totp_step(&mut self, account: AccountId, step: i64, now: i64) -> Result<bool> {
        let r = q(
            "UPDATE mfa_totp SET last_step = $1, confirmed_at = COALESCE(confirmed_at, $2) \
             WHERE account_id = $3 AND last_step < $4",
        )
        .bind(step)
        .bind(now)
        .bind(account.to_string())
        .bind(step)
        .execute(&mut self.tx)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    pub async fn delete_totp(&mut self, account: AccountId) -> Result<bool> {
        let r = q("DELETE FROM mfa_totp WHERE account_id = $1")
            .bind(account.to_string())
            .execute(&mut self.tx)
            .await?;
        Ok(r.rows_affected() > 0)
    }

    /// Replaces all recovery codes with new ones (hashes).
    pub async fn replace_recovery_codes(
        &mut self,
        account: AccountId,
        hashes: &[String],
        now: i64,
    ) -> Result<()> {
        q("DELETE FROM mfa_recovery_codes WHERE account_id = $1")
            .bind(account.to_string())
            .execute(&mut self.tx)
            .await?;
        for h in hashes {
            q(
                "INSERT INTO mfa_recovery_codes (account_id, code_hash, created_at) VALUES ($1, $2, $3)",
            )
            .bind(account.to_string())
            .bind(h)
            .bind(now)
            .execute(&mut self.tx)
            .await?;
        }
        Ok(())
    }

    /// Uses a recovery code once; `false` if it is unknown or used.
    pub async fn use_recovery_code(
        &mut self,
        account: AccountId,
        hash: &str,
        now: i64,
    ) -> Result<bool> {
        let r = q(
            "UPDATE mfa_recovery_codes SET used_at = $1 WHERE account_id = $2 AND code_hash = $3 \
             AND used_at IS NULL",
        )
        .bind(now)
        .bind(account.to_string())
        .bind(hash)
        .execute(&mut self.tx)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    pub async fn insert_challenge(
        &mut self,
        token_hash: &str,
        account: AccountId,
        key_hash: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<()> {
        q(
            "INSERT INTO mfa_challenges (token_hash, account_id, key_hash, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(account.to_string())
        .bind(key_hash)
        .bind(now)
        .bind(expires_at)
        .execute(&mut self.tx)
        .await?;
        Ok(())
    }

    /// A live, unused challenge, with one more attempt counted against it.
    pub async fn attempt_challenge(
        &mut self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<Challenge>> {
        let r = q(
            "UPDATE mfa_challenges SET attempts = attempts + 1 WHERE token_hash = $1 \
             AND used_at IS NULL AND expires_at > $2 RETURNING account_id, key_hash, attempts",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&mut self.tx)
        .await?;
        r.map(|r| {
            Ok(Challenge {
                account: id_col(&r, "account_id", AccountId)?,
                key_hash: r.try_get("key_hash")?,
                attempts: r.try_get("attempts")?,
            })
        })
        .transpose()
    }

    pub async fn finish_challenge(&mut self, token_hash: &str, now: i64) -> Result<()> {
        q("UPDATE mfa_challenges SET used_at = $1 WHERE token_hash = $2")
            .bind(now)
            .bind(token_hash)
            .execute(&mut self.tx)
            .await?;
        Ok(())
    }

    /// The session just proved its owner again (password and second step).
    pub async fn set_reauth(&mut self, session: SessionId, now: i64) -> Result<()> {
        q("UPDATE sessions SET reauth_at = $1 WHERE id = $2")
            .bind(now)
            .bind(session.to_string())
            .execute(&mut self.tx)
            .await?;
        Ok(())
    }
}
