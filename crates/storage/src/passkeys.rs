//! Passkeys: each account's WebAuthn user handle and its registered credentials (public
//! keys and counters only, encoded by the WebAuthn layer).

use crate::sql::{Row, q, scalar};
use tekkan_core::AccountId;

use crate::records::id_col;
use crate::{Db, Result, WriteTx, conflict};

/// A stored credential.
#[derive(Clone, Debug)]
pub struct PasskeyRow {
    pub credential_id: String,
    pub account_id: AccountId,
    pub name: String,
    pub static_state: String,
    pub dynamic_state: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

fn row(r: &Row) -> Result<PasskeyRow> {
    Ok(PasskeyRow {
        credential_id: r.try_get("credential_id")?,
        account_id: id_col(r, "account_id", AccountId)?,
        name: r.try_get("name")?,
        static_state: r.try_get("static_state")?,
        dynamic_state: r.try_get("dynamic_state")?,
        created_at: r.try_get("created_at")?,
        last_used_at: r.try_get("last_used_at")?,
    })
}

impl Db {
    pub async fn passkeys(&self, account: AccountId) -> Result<Vec<PasskeyRow>> {
        let rows = q("SELECT * FROM passkeys WHERE account_id = $1 ORDER BY created_at LIMIT 100")
            .bind(account.to_string())
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(row).collect()
    }

    /// Passkeys enrolled before keys were committed to the audit log (a few at most).
    pub async fn uncommitted_passkeys(&self) -> Result<Vec<PasskeyRow>> {
        let rows = q("SELECT * FROM passkeys WHERE committed = 0 ORDER BY created_at")
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(row).collect()
    }

    /// The credential with this id, with the user handle of its account.
    pub async fn passkey(&self, credential_id: &str) -> Result<Option<(PasskeyRow, String)>> {
        let r = q(
            "SELECT p.*, a.webauthn_handle FROM passkeys p JOIN accounts a ON a.id = p.account_id \
             WHERE p.credential_id = $1 AND a.disabled_at IS NULL",
        )
        .bind(credential_id)
        .fetch_optional(&self.reader)
        .await?;
        match r {
            Some(r) => Ok(Some((row(&r)?, r.try_get("webauthn_handle")?))),
            None => Ok(None),
        }
    }

    pub async fn webauthn_handle(&self, account: AccountId) -> Result<Option<String>> {
        let v: Option<Option<String>> =
            scalar("SELECT webauthn_handle FROM accounts WHERE id = $1")
                .bind(account.to_string())
                .fetch_optional(&self.reader)
                .await?;
        Ok(v.flatten())
    }
}

impl WriteTx {
    /// Gives the account its user handle unless it has one; returns the one it has.
    pub async fn ensure_webauthn_handle(
        &mut self,
        account: AccountId,
        fresh: &str,
    ) -> Result<String> {
        q("UPDATE accounts SET webauthn_handle = $1 WHERE id = $2 AND webauthn_handle IS NULL")
            .bind(fresh)
            .bind(account.to_string())
            .execute(&mut self.tx)
            .await?;
        let v: Option<String> = scalar("SELECT webauthn_handle FROM accounts WHERE id = $1")
            .bind(account.to_string())
            .fetch_one(&mut self.tx)
            .await?;
        Ok(v.unwrap_or_default())
    }

    /// Marks a legacy passkey's key as committed (in the transaction that commits it).
    pub async fn mark_passkey_committed(&mut self, credential_id: &str) -> Result<()> {
        q("UPDATE passkeys SET committed = 1 WHERE credential_id = $1")
            .bind(credential_id)
            .execute(&mut self.tx)
            .await?;
        Ok(())
    }

    pub async fn insert_passkey(&mut self, p: &PasskeyRow) -> Result<()> {
        q(
            "INSERT INTO passkeys (credential_id, account_id, name, static_state, dynamic_state, \
             created_at, committed) VALUES ($1, $2, $3, $4, $5, $6, 1)",
        )
        .bind(&p.credential_id)
        .bind(p.account_id.to_string())
        .bind(&p.name)
        .bind(&p.static_state)
        .bind(&p.dynamic_state)
        .bind(p.created_at)
        .execute(&mut self.tx)
        .await
        .map_err(conflict("passkey already registered"))?;
        Ok(())
    }

    pub async fn use_passkey(
        &mut self,
        credential_id: &str,
        dynamic: &str,
        now: i64,
    ) -> Result<()> {
        q("UPDATE passkeys SET dynamic_state = $1, last_used_at = $2 WHERE credential_id = $3")
            .bind(dynamic)
            .bind(now)
            .bind(credential_id)
            .execute(&mut self.tx)
            .await?;
        Ok(())
    }

    pub async fn delete_passkey(
        &mut self,
        account: AccountId,
        credential_id: &str,
    ) -> Result<bool> {
        let r = q("DELETE FROM passkeys WHERE account_id = $1 AND credential_id = $2")
            .bind(account.to_string())
            .bind(credential_id)
            .execute(&mut self.tx)
            .await?;
        Ok(r.rows_affected() > 0)
    }

    pub async fn passkey_count(&mut self, account: AccountId) -> Result<i64> {
        Ok(
            scalar("SELECT COUNT(*) FROM passkeys WHERE account_id = $1")
                .bind(account.to_string())
                .fetch_one(&mut self.tx)
                .await?,
        )
    }

    pub async fn clear_password(&mut self, account: AccountId) -> Result<()> {
        q("UPDATE accounts SET password_hash = NULL WHERE id = $1")
            .bind(account.to_string())
            .execute(&mut self.tx)
            .await?;
        Ok(())
    }
}
