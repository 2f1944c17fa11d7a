//! Personal fields, stored sealed (this crate never sees them in clear), and who may see
//! a person's phone number and address.

use crate::sql::{q, scalar};
use tekkan_core::AccountId;

use crate::{Db, Result, WriteTx};

impl Db {
    /// The account's sealed fields: (field, sealed value).
    pub async fn personal_fields(&self, account: AccountId) -> Result<Vec<(String, String)>> {
        let rows =
            q("SELECT field, sealed FROM personal_fields WHERE account_id = $1 ORDER BY field")
                .bind(account.to_string())
                .fetch_all(&self.reader)
                .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("field")?, r.try_get("sealed")?)))
            .collect()
    }

    /// Who may see the phone number and the address: (phone, address).
    pub async fn personal_visibility(&self, account: AccountId) -> Result<(String, String)> {
        let r = q("SELECT phone_visibility, address_visibility FROM accounts WHERE id = $1")
            .bind(account.to_string())
            .fetch_optional(&self.reader)
            .await?;
        match r {
            Some(r) => Ok((r.try_get(0)?, r.try_get(1)?)),
            None => Ok(("officers".into(), "officers".into())),
        }
    }

    /// Whether a guardian consented to the account keeping personal fields.
    pub async fn has_consent(&self, account: AccountId) -> Result<bool> {
        let n: i64 = scalar("SELECT COUNT(*) FROM personal_consents WHERE account_id = $1")
            .bind(account.to_string())
            .fetch_one(&self.reader)
            .await?;
        Ok(n > 0)
    }
}

impl WriteTx {
    /// Whether a guardian consented to the account keeping personal fields.
    pub async fn has_personal_consent(&mut self, account: AccountId) -> Result<bool> {
        let n: i64 = scalar("SELECT COUNT(*) FROM personal_consents WHERE account_id = $1")
            .bind(account.to_string())
            .fetch_one(&mut self.tx)
            .await?;
        Ok(n > 0)
    }

    /// Records a guardian's consent (the first one stands; returns whether it is new).
    pub async fn record_personal_consent(
        &mut self,
        account: AccountId,
        guardian: AccountId,
        club: tekkan_core::ClubId,
        now: i64,
    ) -> Result<bool> {
        let r = q(
            "INSERT INTO personal_consents (account_id, guardian_account, club_id, given_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (account_id) DO NOTHING",
        )
        .bind(account.to_string())
        .bind(guardian.to_string())
        .bind(club.to_string())
        .bind(now)
        .execute(&mut self.tx)
        .await?;
        Ok(r.rows_affected() > 0)
    }

    /// The account's sealed fields as this transaction sees them.
    pub async fn personal_fields_tx(
        &mut self,
        account: AccountId,
    ) -> Result<Vec<(String, String)>> {
        let rows = q("SELECT field, sealed FROM personal_fields WHERE account_id = $1")
            .bind(account.to_string())
            .fetch_all(&mut self.tx)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("field")?, r.try_get("sealed")?)))
            .collect()
    }

    pub async fn put_personal_field(
        &mut self,
        account: AccountId,
        field: &str,
        sealed: &str,
        now: i64,
    ) -> Result<()> {
        q(
            "INSERT INTO personal_fields (account_id, field, sealed, updated_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (account_id, field) DO UPDATE \
             SET sealed = excluded.sealed, updated_at = excluded.updated_at",
        )
        .bind(account.to_string())
        .bind(field)
        .bind(sealed)
        .bind(now)
        .execute(&mut self.tx)
        .await?;
        Ok(())
    }

    /// Removes one field; returns whether it was there.
    pub async fn delete_personal_field(&mut self, account: AccountId, field: &str) -> Result<bool> {
        let r = q("DELETE FROM personal_fields WHERE account_id = $1 AND field = $2")
            .bind(account.to_string())
            .bind(field)
            .execute(&mut self.tx)
            .await?;
        Ok(r.rows_affected() > 0)
    }

    pub async fn set_personal_visibility(
        &mut self,
        account: AccountId,
        phone: &str,
        address: &str,
    ) -> Result<()> {
        q("UPDATE accounts SET phone_visibility = $1, address_visibility = $2 WHERE id = $3")
            .bind(phone)
            .bind(address)
            .bind(account.to_string())
            .execute(&mut self.tx)
            .await?;
        Ok(())
    }
}
