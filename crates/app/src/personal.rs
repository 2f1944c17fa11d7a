//! A member's personal fields: kept sealed under their data key, shown only to whom
//! the rules allow (the person; officers; the club for a phone number or address the
//! person opened to it; a linked guardian), and for members under the minimum age only
//! after a linked guardian consented.

use std::collections::BTreeMap;

use serde::Serialize;
use tekkan_core::personal::{PersonalField, Visibility, age_on};
use tekkan_core::{AccountId, ClubId, MembershipId, MembershipStatus, Permission, Role};
use tekkan_storage::now_ms;

use crate::vault::DataKey;
use crate::{Actor, App, AppError, Result};

/// Personal fields as one viewer may see them, and (for the owner) who sees what.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Profile {
    pub fields: BTreeMap<PersonalField, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_visibility: Option<Visibility>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_visibility: Option<Visibility>,
    /// Under the minimum age without a guardian's consent yet (owner's view only).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub consent_needed: bool,
}

/// A change to one's own fields: a value sets, an empty value removes.
#[derive(Clone, Debug, Default)]
pub struct ProfileInput {
    pub fields: BTreeMap<PersonalField, String>,
    pub phone_visibility: Option<Visibility>,
    pub address_visibility: Option<Visibility>,
}

fn today() -> String {
    let zone = tekkan_core::jiff::tz::TimeZone::get(tekkan_core::schedule::DEFAULT_ZONE)
        .unwrap_or(tekkan_core::jiff::tz::TimeZone::UTC);
    tekkan_core::jiff::Timestamp::now()
        .to_zoned(zone)
        .date()
        .to_string()
}

impl App {
    /// The account's data key for reading, if it has one (no key means no fields).
    async fn read_key(&self, account: AccountId) -> Result<Option<DataKey>> {
        self.vault()
            .existing_data_key(self.keystore(), account)
            .await
    }

    /// Every field of `account`, opened.
    async fn open_fields(&self, account: AccountId) -> Result<BTreeMap<PersonalField, String>> {
        let mut out = BTreeMap::new();
        let Some(key) = self.read_key(account).await? else {
            return Ok(out);
        };
        for (name, sealed) in self.db().personal_fields(account).await? {
            let Some(f) = PersonalField::parse(&name) else {
                continue;
            };
            let plain = key.open(&format!("personal.{name}"), &sealed)?;
            out.insert(f, String::from_utf8(plain).map_err(|_| AppError::Tampered)?);
        }
        Ok(out)
    }

    async fn visibility(&self, account: AccountId) -> Result<(Visibility, Visibility)> {
        let (p, a) = self.db().personal_visibility(account).await?;
        let v = |s: &str| Visibility::parse(s).unwrap_or(Visibility::Officers);
        Ok((v(&p), v(&a)))
    }

    pub async fn my_profile(&self, actor: &Actor) -> Result<Profile> {
        let fields = self.open_fields(actor.account).await?;
        let (phone, address) = self.visibility(actor.account).await?;
        let minor = fields
            .get(&PersonalField::BirthDate)
            .and_then(|b| age_on(b, &today()))
            .is_some_and(|age| age < self.settings().minor_age);
        let consent_needed = minor && !self.db().has_consent(actor.account).await?;
        Ok(Profile {
            fields,
            phone_visibility: Some(phone),
            address_visibility: Some(address),
            consent_needed,
        })
    }

    /// Sets or removes the actor's own fields and visibility. Under the minimum age and
    /// without a guardian's consent, only the birth date is kept.
    pub async fn update_profile(&self, actor: &Actor, input: ProfileInput) -> Result<Profile> {
        let today = today();
        let mut set = BTreeMap::new();
        let mut remove = Vec::new();
        for (f, v) in &input.fields {
            match v.trim().is_empty() {
                true => remove.push(*f),
                false => {
                    set.insert(*f, f.validate(v, &today)?);
                }
            }
        }
        let now = now_ms();
        let mut tx = self.db().begin().await?;
        let key = self.data_key(actor.account, now).await?;
        let birth = match set.get(&PersonalField::BirthDate) {
            Some(b) => Some(b.clone()),
            None => {
                let stored = tx.personal_fields_tx(actor.account).await?;
                match stored.iter().find(|(n, _)| n == "birth_date") {
                    Some((_, s)) => Some(
                        String::from_utf8(key.open("personal.birth_date", s)?)
                            .map_err(|_| AppError::Tampered)?,
                    ),
                    None => None,
                }
            }
        };
        let removing_birth = remove.contains(&PersonalField::BirthDate);
        let minor = !removing_birth
            && birth
                .and_then(|b| age_on(&b, &today))
                .is_some_and(|age| age < self.settings().minor_age);
        if minor
            && set.keys().any(|f| *f != PersonalField::BirthDate)
            && !tx.has_personal_consent(actor.account).await?
        {
            return Err(AppError::Conflict("guardian_consent_required"));
        }
        for (f, v) in &set {
            let name = f.as_str();
            let sealed = key.seal(&format!("personal.{name}"), v.as_bytes())?;
            tx.put_personal_field(actor.account, name, &sealed, now)
                .await?;
        }
        for f in &remove {
            tx.delete_personal_field(actor.account, f.as_str()).await?;
        }
        let (phone, address) = self.visibility(actor.account).await?;
        let phone = input.phone_visibility.unwrap_or(phone);
        let address = input.address_visibility.unwrap_or(address);
        tx.set_personal_visibility(actor.account, phone.as_str(), address.as_str())
            .await?;
        // The audit entry names the fields that changed, never their values.
        let changed: Vec<&str> = set.keys().chain(&remove).map(|f| f.as_str()).collect();
        let ev = actor.event(
            None,
            "personal.updated",
            format!("account:{}", actor.account),
            &serde_json::json!({"fields": changed, "phone": phone, "address": address}),
        );
        tx.commit(vec![ev]).await?;
        self.my_profile(actor).await
    }

    /// A club member's fields as the actor may see them.
    pub async fn member_profile(
        &self,
        actor: &Actor,
        club: ClubId,
        member: MembershipId,
    ) -> Result<Profile> {
        let me = self.authorize(actor, club, Permission::ViewRoster).await?;
        let target = self
            .db()
            .membership_by_id(club, member)
            .await?
            .filter(|m| m.status == MembershipStatus::Active)
            .ok_or(AppError::NotFound)?;
        let fields = self.open_fields(target.account_id).await?;
        let officer = matches!(me.role, Role::Owner | Role::Officer);
        let own = target.account_id == actor.account;
        let guardian = me.role == Role::Guardian
            && self
                .db()
                .guardian_links(club)
                .await?
                .iter()
                .any(|l| l.guardian_id == me.id && l.student_id == member);
        let (phone, address) = self.visibility(target.account_id).await?;
        // After a stop of use, only the person sees their fields.
        let stopped = self.db().use_stopped(target.account_id).await?.is_some();
        let shown = |f: &PersonalField| {
            if own {
                return true;
            }
            if stopped {
                return false;
            }
            if guardian {
                return true;
            }
            let chosen = match f {
                PersonalField::Phone => phone,
                PersonalField::Address => address,
                _ => return officer,
            };
            match chosen {
                Visibility::Club => true,
                Visibility::Officers => officer,
                Visibility::Nobody => false,
            }
        };
        let fields: std::collections::BTreeMap<_, _> =
            fields.into_iter().filter(|(f, _)| shown(f)).collect();
        if !own && !fields.is_empty() {
            // Which fields were shown, never their values.
            let names: Vec<&str> = fields.keys().map(|f| f.as_str()).collect();
            self.audit_read_now(
                actor,
                Some(club),
                "personal.read",
                format!("account:{}", target.account_id),
                &names,
            )
            .await?;
        }
        Ok(Profile {
            fields,
            ..Profile::default()
        })
    }

    /// A guardian linked to `student` in `club` consents to the student keeping
    /// personal fields. Recorded once, with who and when.
    pub async fn consent_personal(
        &self,
        actor: &Actor,
        club: ClubId,
        student: MembershipId,
    ) -> Result<()> {
        let me = self.authorize(actor, club, Permission::ViewClub).await?;
        let linked = self
            .db()
            .guardian_links(club)
            .await?
            .iter()
            .any(|l| l.guardian_id == me.id && l.student_id == student);
        if !linked {
            return Err(match me.role {
                Role::Guardian => AppError::NotFound,
                _ => AppError::Forbidden,
            });
        }
        let target = self
            .db()
            .membership_by_id(club, student)
            .await?
            .ok_or(AppError::NotFound)?;
        let now = now_ms();
        let mut tx = self.db().begin().await?;
        if !tx
            .record_personal_consent(target.account_id, actor.account, club, now)
            .await?
        {
            return Ok(());
        }
        let ev = actor.event(
            Some(club),
            "personal.guardian_consent",
            format!("account:{}", target.account_id),
            &student,
        );
        tx.commit(vec![ev]).await?;
        Ok(())
    }
}
