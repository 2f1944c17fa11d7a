//! Listing and removing one's passkeys, and going passkey-only by removing the
//! password; an account keeps at least one way to sign in.

use tekkan_storage::now_ms;

use crate::passkeys::PasskeyInfo;
use crate::{Actor, App, AppError, Result};

impl App {
    pub async fn my_passkeys(&self, actor: &Actor) -> Result<Vec<PasskeyInfo>> {
        Ok(self
            .db()
            .passkeys(actor.account)
            .await?
            .into_iter()
            .map(|p| PasskeyInfo {
                id: p.credential_id,
                name: p.name,
                created_at: p.created_at,
                last_used_at: p.last_used_at,
                recovery_codes: Vec::new(),
            })
            .collect())
    }

    /// Removes a passkey (after a recent re-check). An account that must keep a second
    /// factor cannot remove its last one.
    pub async fn remove_passkey(&self, actor: &Actor, id: &str) -> Result<()> {
        self.require_recent(actor)?;
        let now = now_ms();
        let mut tx = self.db().begin().await?;
        let totp = tx
            .totp(actor.account)
            .await?
            .is_some_and(|t| t.confirmed_at.is_some());
        let count = tx.passkey_count(actor.account).await?;
        if !tx.delete_passkey(actor.account, id).await? {
            return Err(AppError::NotFound);
        }
        if count == 1 && !totp && actor.mfa_required {
            return Err(AppError::Conflict("mfa_required"));
        }
        if count == 1
            && self
                .db()
                .account(actor.account)
                .await?
                .is_some_and(|a| a.password_hash.is_none())
        {
            return Err(AppError::Conflict("last_sign_in_method"));
        }
        self.security_notice(&mut tx, actor.account, "factor_removed", now)
            .await?;
        let ev = actor.event(
            None,
            tekkan_audit::passkey_keys::REMOVED,
            format!("passkey:{id}"),
            &now,
        );
        tx.commit(vec![ev]).await?;
        Ok(())
    }

    /// Makes the account passkey-only: its password is removed (it must have a passkey).
    pub async fn remove_password(&self, actor: &Actor) -> Result<()> {
        self.require_recent(actor)?;
        let now = now_ms();
        let mut tx = self.db().begin().await?;
        if tx.passkey_count(actor.account).await? == 0 {
            return Err(AppError::Conflict("no_passkey"));
        }
        tx.clear_password(actor.account).await?;
        self.security_notice(&mut tx, actor.account, "password_changed", now)
            .await?;
        let ev = actor.event(
            None,
            "account.password_removed",
            format!("account:{}", actor.account),
            &now,
        );
        tx.commit(vec![ev]).await?;
        Ok(())
    }
}
