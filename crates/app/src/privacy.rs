//! A person's rights over their data (APPI): a copy of all of it (JSON and CSV in a
//! ZIP), correcting it (the name here; e-mail, password and personal fields have their
//! own flows), deleting the account (its data key destroyed: crypto-shredding), and
//! stopping the use of it. Each is audited, without the data itself.

use serde::Serialize;
use tekkan_core::{AccountId, DisplayName, ValidationError};
use tekkan_storage::now_ms;

use crate::limits::IpPolicy;
use crate::report::csv_cell;
use crate::token::new_id;
use crate::{Actor, App, AppError, Result, zip};

/// A person's copy of their data.
pub struct DataExport {
    pub filename: String,
    pub zip: Vec<u8>,
}

/// What a person can ask the operator for.
const REQUEST_KINDS: [&str; 3] = ["stop_use", "correction", "other"];

/// A request as the operator sees it.
#[derive(Clone, Debug, Serialize)]
pub struct PrivacyRequest {
    pub id: String,
    pub account_id: AccountId,
    pub kind: String,
    pub details: String,
    pub created_at: i64,
}

fn csv(rows: &[serde_json::Map<String, serde_json::Value>]) -> String {
    let Some(first) = rows.first() else {
        return String::new();
    };
    let cols: Vec<&String> = first.keys().collect();
    let mut out = cols
        .iter()
        .map(|c| csv_cell(c))
        .collect::<Vec<_>>()
        .join(",");
    out.push_str("\r\n");
    for r in rows {
        let line: Vec<String> = cols
            .iter()
            .map(|c| match r.get(*c) {
                Some(serde_json::Value::String(s)) => csv_cell(s),
                Some(serde_json::Value::Null) | None => String::new(),
                Some(v) => csv_cell(&v.to_string()),
            })
            .collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

impl App {
    /// Everything TEKKAN holds about the actor, personal fields opened, as `data.json`
    /// plus one CSV per part, in a ZIP. Needs a recent re-check; limited per address.
    pub async fn export_my_data(&self, actor: &Actor) -> Result<DataExport> {
        self.require_recent(actor)?;
        self.limit(IpPolicy::Export, &actor.origin).await?;
        let now = now_ms();
        let parts = self.db().export_account(actor.account).await?;
        let profile = self.my_profile(actor).await?;
        let mut json = serde_json::Map::new();
        json.insert("format".into(), "tekkan-personal-data-1".into());
        json.insert("exported_at".into(), now.into());
        let mut files = Vec::new();
        for (name, rows) in &parts {
            files.push((format!("{name}.csv"), csv(rows).into_bytes()));
            json.insert(
                (*name).into(),
                serde_json::to_value(rows).unwrap_or_default(),
            );
        }
        let personal: Vec<serde_json::Map<String, serde_json::Value>> = profile
            .fields
            .iter()
            .map(|(f, v)| {
                let mut m = serde_json::Map::new();
                m.insert("field".into(), f.as_str().into());
                m.insert("value".into(), v.clone().into());
                m
            })
            .collect();
        files.push(("personal.csv".into(), csv(&personal).into_bytes()));
        json.insert(
            "personal".into(),
            serde_json::to_value(&personal).unwrap_or_default(),
        );
        let body =
            serde_json::to_vec_pretty(&json).map_err(|e| AppError::Internal(e.to_string()))?;
        files.insert(0, ("data.json".into(), body));
        let zip = zip::build(&files).map_err(|e| AppError::Internal(e.into()))?;
        let tx = self.db().begin().await?;
        let ev = actor.event(
            None,
            "privacy.exported",
            format!("account:{}", actor.account),
            &zip.len(),
        );
        tx.commit(vec![ev]).await?;
        Ok(DataExport {
            filename: format!("tekkan-{}.zip", actor.account),
            zip,
        })
    }

    /// Corrects the name shown to clubs.
    pub async fn rename_me(&self, actor: &Actor, name: &str) -> Result<()> {
        let name = DisplayName::parse(name)?;
        let mut tx = self.db().begin().await?;
        tx.set_display_name(actor.account, name.as_str()).await?;
        let ev = actor.event(
            None,
            "account.renamed",
            format!("account:{}", actor.account),
            &now_ms(),
        );
        tx.commit(vec![ev]).await?;
        Ok(())
    }

    /// Deletes the actor's account after a recent re-check: its data key is destroyed
    /// first (so its sealed fields cannot be read from any copy of the database), then
    /// its data is erased; a pseudonymous row keeps club history adding up. An owner
    /// must first hand over a club that still has members.
    pub async fn delete_my_account(&self, actor: &Actor) -> Result<()> {
        self.require_recent(actor)?;
        if actor.is_operator {
            return Err(AppError::Conflict("operator_account"));
        }
        let now = now_ms();
        let mut tx = self.db().begin().await?;
        if tx.sole_owned_clubs(actor.account).await? > 0 {
            return Err(AppError::Conflict("sole_owner"));
        }
        let shredded = self.keystore().destroy(actor.account).await?;
        tx.erase_account(actor.account, now).await?;
        let ev = actor.event(
            None,
            "account.deleted",
            format!("account:{}", actor.account),
            &shredded,
        );
        tx.commit(vec![ev]).await?;
        Ok(())
    }

    /// Records a request to the operator. A stop of use takes effect at once: nobody
    /// else sees the person's personal fields any more.
    pub async fn request_privacy(
        &self,
        actor: &Actor,
        kind: &str,
        details: &str,
    ) -> Result<String> {
        let kind = REQUEST_KINDS
            .into_iter()
            .find(|k| *k == kind)
            .ok_or(ValidationError::Invalid { field: "kind" })?;
        let details = details.trim();
        if details.chars().count() > 2000 {
            return Err(ValidationError::TooLong {
                field: "details",
                max: 2000,
            }
            .into());
        }
        let now = now_ms();
        let id = new_id!(tekkan_core::NotificationId).to_string();
        let mut tx = self.db().begin().await?;
        if kind == "stop_use" {
            tx.stop_use(actor.account, now).await?;
        }
        tx.insert_privacy_request(&id, actor.account, kind, details, now)
            .await?;
        let ev = actor.event(None, "privacy.requested", format!("privacy:{id}"), &kind);
        tx.commit(vec![ev]).await?;
        Ok(id)
    }

    /// Open requests, for the operator.
    pub async fn privacy_requests(&self, actor: &Actor) -> Result<Vec<PrivacyRequest>> {
        if !actor.is_operator {
            return Err(AppError::Forbidden);
        }
        Ok(self
            .db()
            .open_privacy_requests()
            .await?
            .into_iter()
            .map(
                |(id, account_id, kind, details, created_at)| PrivacyRequest {
                    id,
                    account_id,
                    kind,
                    details,
                    created_at,
                },
            )
            .collect())
    }
}
