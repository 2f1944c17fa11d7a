//! Idempotency-Key for the API: a request sent again with the same key gets the first
//! answer again, and its write is made once. Keys belong to the account that sent them
//! and are kept for a day.

use tekkan_core::AccountId;
use tekkan_storage::now_ms;
pub use tekkan_storage::{Claim, KeptAnswer};

use crate::{App, Result};

/// How long a first answer is kept for retries.
pub const KEEP_MS: i64 = 24 * 3_600_000;

impl App {
    /// Claims `key` for the request `fingerprint` (a hash of its method, path and body).
    /// A first request still unanswered after `abandon_ms` (it was cut off) no longer
    /// holds the key.
    pub async fn claim_idempotency_key(
        &self,
        account: AccountId,
        key: &str,
        fingerprint: &str,
        abandon_ms: i64,
    ) -> Result<Claim> {
        Ok(self
            .db()
            .claim_idempotency_key(
                &account.to_string(),
                key,
                fingerprint,
                now_ms(),
                (KEEP_MS, abandon_ms),
            )
            .await?)
    }

    /// Keeps the first answer to the request that claimed `key`.
    pub async fn keep_idempotent_answer(
        &self,
        account: AccountId,
        key: &str,
        answer: &KeptAnswer,
    ) -> Result<()> {
        Ok(self
            .db()
            .keep_idempotent_answer(&account.to_string(), key, answer)
            .await?)
    }

    /// Lets go of `key` after a failure on the server's side, so that a retry runs.
    pub async fn release_idempotency_key(&self, account: AccountId, key: &str) -> Result<()> {
        Ok(self
            .db()
            .release_idempotency_key(&account.to_string(), key)
            .await?)
    }
}
