//! Passkeys (WebAuthn, through the `webauthn_rp` relying-party crate): registering one,
//! signing in with one (discoverable credentials, user verification required, so a
//! passkey is two factors at once), re-checking identity with one, removing one, and
//! going passkey-only by removing the password.
//!
//! Ceremonies in progress are kept in the database for their five minutes (the relying
//! party's state, by challenge), so that one started on any instance finishes on any
//! other, once.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde::Serialize;
use tekkan_core::{AccountId, DisplayName};
use tekkan_storage::{PasskeyRow, now_ms};
use webauthn_rp::bin::{Decode, Encode};
use webauthn_rp::request::auth::AuthenticationVerificationOptions;
use webauthn_rp::request::register::{
    CredProtect, Nickname, PublicKeyCredentialUserEntity, RegistrationVerificationOptions,
    UserHandle64, Username,
};
use webauthn_rp::request::{
    AsciiDomain, ExtensionInfo, PublicKeyCredentialDescriptor, RpId, TimedCeremony,
};
use webauthn_rp::response::SentChallenge;
use webauthn_rp::response::auth::ser_relaxed::DiscoverableAuthenticationRelaxed64;
use webauthn_rp::response::register::ser_relaxed::RegistrationRelaxed;
use webauthn_rp::response::register::{CompressedPubKey, DynamicState, StaticState};
use webauthn_rp::response::{AuthTransports, CredentialId};
use webauthn_rp::{
    AuthenticatedCredential, DiscoverableAuthenticationServerState,
    DiscoverableCredentialRequestOptions, PublicKeyCredentialCreationOptions,
    RegistrationServerState,
};

use crate::actor::event;
use crate::auth::NewSession;
use crate::limits::IpPolicy;
use crate::{Actor, App, AppError, Origin, Result};

/// A passkey's public key as stored (webauthn_rp's binary encoding).
pub(crate) type StoredKey = StaticState<CompressedPubKey<[u8; 32], [u8; 32], [u8; 48], Vec<u8>>>;

/// Where passkeys are valid: the relying party id (a domain) and the page origins.
#[derive(Clone, Debug, Default)]
pub struct PasskeySettings {
    pub rp_id: String,
    pub origins: Vec<String>,
}

/// How long a ceremony may take: webauthn_rp's own limit for its state.
const CEREMONY_MS: i64 = 5 * 60 * 1000;
/// Ceremonies of one kind waiting at once before new ones are refused as overload.
const CEREMONY_CAP: i64 = 10_000;
const REGISTRATION: &str = "passkey.register";
const AUTHENTICATION: &str = "passkey.authenticate";

fn challenge_key(c: SentChallenge) -> String {
    format!("{:032x}", c.0)
}

/// A registered passkey, as its owner sees it.
#[derive(Clone, Debug, Serialize)]
pub struct PasskeyInfo {
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    /// New recovery codes, shown once, when this was the account's first factor.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub recovery_codes: Vec<String>,
}

fn refused() -> AppError {
    AppError::BadCode
}

/// Not a WebAuthn answer at all: bad input, not a failed proof.
fn malformed() -> AppError {
    tekkan_core::ValidationError::Invalid {
        field: "credential",
    }
    .into()
}

fn encoding(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(format!("ceremony state: {e}"))
}

fn corrupt(what: &str) -> AppError {
    AppError::Internal(format!("stored passkey unreadable: {what}"))
}

impl App {
    /// Keeps a ceremony's state, by its challenge, for whichever instance gets the
    /// answer.
    async fn keep_ceremony(
        &self,
        kind: &str,
        challenge: SentChallenge,
        state: Vec<u8>,
    ) -> Result<()> {
        let now = now_ms();
        let kept = self
            .db()
            .put_pending(
                kind,
                &challenge_key(challenge),
                &state,
                now,
                now + CEREMONY_MS,
                CEREMONY_CAP,
            )
            .await?;
        if kept {
            Ok(())
        } else {
            Err(AppError::Overloaded)
        }
    }

    /// Takes a ceremony's state: once, on whichever instance asks first.
    async fn take_ceremony(&self, kind: &str, challenge: SentChallenge) -> Result<Vec<u8>> {
        self.db()
            .take_pending(kind, &challenge_key(challenge), now_ms())
            .await?
            .ok_or(AppError::Gone("passkey_ceremony"))
    }

    fn rp_id(&self) -> Result<RpId> {
        let d = AsciiDomain::try_from(self.settings().passkeys.rp_id.clone())
            .map_err(|_| AppError::Internal("passkeys.rp_id is not a domain".into()))?;
        Ok(RpId::Domain(d))
    }

    /// Options for `navigator.credentials.create` (after a recent re-check).
    pub async fn start_passkey_registration(&self, actor: &Actor) -> Result<serde_json::Value> {
        self.require_recent(actor)?;
        let mut tx = self.db().begin().await?;
        let fresh = B64.encode(UserHandle64::new().as_ref());
        let handle = tx.ensure_webauthn_handle(actor.account, &fresh).await?;
        let ev = actor.event(
            None,
            "passkey.registration_started",
            format!("account:{}", actor.account),
            &now_ms(),
        );
        tx.commit(vec![ev]).await?;
        let handle = decode_handle(&handle)?;
        let existing = self.db().passkeys(actor.account).await?;
        // The authenticator is told which passkeys it already holds for this account.
        let exclude = existing
            .iter()
            .filter_map(|p| B64.decode(&p.credential_id).ok())
            .filter_map(|id| CredentialId::<Vec<u8>>::decode(id).ok())
            .filter_map(|id| {
                // No transport hints: the browser tries every way it has.
                let transports = AuthTransports::decode(0).ok()?;
                Some(PublicKeyCredentialDescriptor { id, transports })
            })
            .collect();
        let rp_id = self.rp_id()?;
        let name = Username::try_from(actor.email.as_str()).map_err(|_| refused())?;
        let display = Nickname::try_from(actor.display_name.as_str()).ok();
        let user = PublicKeyCredentialUserEntity {
            name,
            id: &handle,
            display_name: display,
        };
        let mut options = PublicKeyCredentialCreationOptions::passkey(&rp_id, user, exclude);
        // Ask for credProtect without making it a condition: many authenticators lack it,
        // and user verification is required on every use anyway.
        options.extensions.cred_protect =
            CredProtect::UserVerificationRequired(ExtensionInfo::AllowDontEnforceValue);
        let (server, client) = options
            .start_ceremony()
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let json = serde_json::to_value(&client).map_err(|e| AppError::Internal(e.to_string()))?;
        let state = server.encode().map_err(encoding)?;
        self.keep_ceremony(REGISTRATION, server.sent_challenge(), state)
            .await?;
        Ok(json)
    }

    /// Verifies the authenticator's answer and stores the passkey under `name`.
    pub async fn finish_passkey_registration(
        &self,
        actor: &Actor,
        name: &str,
        credential: &str,
    ) -> Result<PasskeyInfo> {
        self.require_recent(actor)?;
        let name = DisplayName::parse(name)?;
        // The browser's `toJSON()`, read leniently (unknown keys ignored).
        let registration = serde_json::from_str::<RegistrationRelaxed>(credential)
            .map_err(|_| malformed())?
            .0;
        let challenge = registration.challenge_relaxed().map_err(|_| malformed())?;
        let state = self.take_ceremony(REGISTRATION, challenge).await?;
        let server = RegistrationServerState::<64>::decode(state.as_slice()).map_err(encoding)?;
        let rp_id = self.rp_id()?;
        let origins = &self.settings().passkeys.origins;
        let opts = RegistrationVerificationOptions::<String, String> {
            allowed_origins: origins,
            ..Default::default()
        };
        let cred = server.verify(&rp_id, &registration, &opts).map_err(|e| {
            tracing::info!(error = %e, "passkey registration refused");
            refused()
        })?;
        let handle = self
            .db()
            .webauthn_handle(actor.account)
            .await?
            .ok_or_else(refused)?;
        if B64.encode(cred.user_id().as_ref()) != handle {
            return Err(refused());
        }
        let now = now_ms();
        let row = PasskeyRow {
            credential_id: B64.encode(cred.id().as_ref()),
            account_id: actor.account,
            name: name.as_str().to_owned(),
            static_state: B64.encode(
                cred.static_state()
                    .encode()
                    .map_err(|_| corrupt("static state"))?,
            ),
            dynamic_state: B64.encode(
                cred.dynamic_state()
                    .encode()
                    .map_err(|_| corrupt("dynamic state"))?,
            ),
            created_at: now,
            last_used_at: None,
        };
        let mut tx = self.db().begin().await?;
        tx.insert_passkey(&row).await?;
        let codes = self.factor_added(&mut tx, actor.account, now).await?;
        let mut ev = actor.event(
            None,
            tekkan_audit::passkey_keys::ADDED,
            format!("passkey:{}", row.credential_id),
            &row.name,
        );
        crate::signing::commit_key(&mut tx, &crate::signing::key_commitment(&row)?, &mut ev)
            .await?;
        tx.commit(vec![ev]).await?;
        Ok(PasskeyInfo {
            id: row.credential_id,
            name: row.name,
            created_at: now,
            last_used_at: None,
            recovery_codes: codes,
        })
    }

    /// Options for `navigator.credentials.get` (sign-in or re-check).
    pub async fn start_passkey_sign_in(&self, origin: &Origin) -> Result<serde_json::Value> {
        self.limit(IpPolicy::Login, origin).await?;
        let rp_id = self.rp_id()?;
        let (server, client) = DiscoverableCredentialRequestOptions::passkey(&rp_id)
            .start_ceremony()
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let json = serde_json::to_value(&client).map_err(|e| AppError::Internal(e.to_string()))?;
        let state = server.encode().map_err(encoding)?;
        self.keep_ceremony(AUTHENTICATION, server.sent_challenge(), state)
            .await?;
        Ok(json)
    }

    /// Checks an assertion against its ceremony and the stored credential; records the
    /// new counter. Returns the account. A forged, replayed or foreign answer is refused.
    async fn verify_assertion(&self, credential: &str, origin: &Origin) -> Result<AccountId> {
        self.limit(IpPolicy::Login, origin).await?;
        let auth = serde_json::from_str::<DiscoverableAuthenticationRelaxed64>(credential)
            .map_err(|_| malformed())?
            .0;
        let challenge = auth.challenge_relaxed().map_err(|_| malformed())?;
        let state = self.take_ceremony(AUTHENTICATION, challenge).await?;
        let server =
            DiscoverableAuthenticationServerState::decode(state.as_slice()).map_err(encoding)?;
        let id = B64.encode(auth.raw_id().as_ref());
        let (row, handle) = self.db().passkey(&id).await?.ok_or_else(refused)?;
        if B64.encode(auth.response().user_handle().as_ref()) != handle {
            return Err(refused());
        }
        let static_bytes = B64
            .decode(&row.static_state)
            .map_err(|_| corrupt("static"))?;
        let static_state =
            StoredKey::decode(static_bytes.as_slice()).map_err(|_| corrupt("static"))?;
        let dyn_bytes: [u8; 7] = B64
            .decode(&row.dynamic_state)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| corrupt("dynamic"))?;
        let dynamic = DynamicState::decode(dyn_bytes).map_err(|_| corrupt("dynamic"))?;
        let user = decode_handle(&handle)?;
        let mut cred = AuthenticatedCredential::new(auth.raw_id(), &user, static_state, dynamic)
            .map_err(|_| corrupt("credential"))?;
        let rp_id = self.rp_id()?;
        let origins = &self.settings().passkeys.origins;
        let opts = AuthenticationVerificationOptions::<String, String> {
            allowed_origins: origins,
            ..Default::default()
        };
        server
            .verify(&rp_id, &auth, &mut cred, &opts)
            .map_err(|e| {
                tracing::info!(error = %e, "passkey assertion refused");
                refused()
            })?;
        let dynamic = B64.encode(
            cred.dynamic_state()
                .encode()
                .map_err(|_| corrupt("dynamic"))?,
        );
        let mut tx = self.db().begin().await?;
        tx.use_passkey(&id, &dynamic, now_ms()).await?;
        let ev = event(
            Some(row.account_id),
            None,
            origin,
            None,
            "auth.passkey_used",
            format!("passkey:{id}"),
            &row.name,
        );
        tx.commit(vec![ev]).await?;
        Ok(row.account_id)
    }

    /// Signs in with a passkey: a session, without a password.
    pub async fn passkey_sign_in(&self, credential: &str, origin: &Origin) -> Result<NewSession> {
        let account = self.verify_assertion(credential, origin).await?;
        let now = now_ms();
        let mut tx = self.db().begin().await?;
        let mut events = Vec::new();
        let session = self
            .open_session(&mut tx, account, origin, now, &mut events)
            .await?;
        tx.commit(events).await?;
        Ok(session)
    }

    /// Re-checks identity with one of the actor's passkeys.
    pub async fn passkey_reauth(&self, actor: &Actor, credential: &str) -> Result<()> {
        let account = self.verify_assertion(credential, &actor.origin).await?;
        if account != actor.account {
            return Err(refused());
        }
        let mut tx = self.db().begin().await?;
        tx.set_reauth(actor.session, now_ms()).await?;
        let ev = actor.event(
            None,
            "auth.reauthenticated",
            format!("session:{}", actor.session),
            &"passkey",
        );
        tx.commit(vec![ev]).await?;
        Ok(())
    }
}

fn decode_handle(s: &str) -> Result<UserHandle64> {
    let bytes: [u8; 64] = B64
        .decode(s)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| corrupt("user handle"))?;
    UserHandle64::decode(bytes).map_err(|_| corrupt("user handle"))
}
