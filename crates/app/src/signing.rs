//! Passkey-signed actions: role changes and announcement publishing, editing and
//! retraction. An officer with a passkey must sign the exact action:
//!
//! 1. `signing_options` builds the action's canonical JSON (kind, club, target, the
//!    fields that will change, the actor, a one-time nonce and the time) and returns it
//!    with WebAuthn request options whose challenge is its SHA-256;
//! 2. the browser has the passkey sign it;
//! 3. the action is sent with the signature. `check_signed` takes the nonce (once: a
//!    replay finds nothing), compares every field of the signed action with the request,
//!    verifies the assertion, and returns the record the audit entry will commit to.
//!
//! People without a passkey act unsigned (the entry says so by its action name); anyone
//! with one cannot skip signing.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tekkan_audit::action::{SignedAction, challenge};
use tekkan_audit::passkey_keys::KeyCommitment;
use tekkan_core::ClubId;
use tekkan_storage::now_ms;
use webauthn_rp::bin::Decode;
use webauthn_rp::response::register::CompressedPubKey;

use crate::passkeys::StoredKey;

use crate::{Actor, App, AppError, Result};

/// The actions that are signed.
pub const SIGNED_KINDS: [&str; 3] = [
    "member.role_change",
    "announcement.publish",
    "announcement.retract",
];

const TTL_MS: i64 = 5 * 60 * 1000;

/// The kind of pending value an action handed out for signing is kept as (by nonce).
const PENDING: &str = "signing.action";

/// What the client sends back: the canonical action and the passkey's assertion
/// (`PublicKeyCredential.toJSON()`).
#[derive(Debug, Clone, Deserialize)]
pub struct SignatureInput {
    pub action: String,
    pub credential: Value,
}

/// Step 1's answer.
#[derive(Debug, Clone, Serialize)]
pub struct SigningOptions {
    pub action: String,
    /// `PublicKeyCredentialRequestOptionsJSON`, for `parseRequestOptionsFromJSON`.
    pub public_key: Value,
}

fn canonical(v: &Value) -> String {
    // serde_json's maps are sorted by key: one encoding per action.
    v.to_string()
}

impl App {
    /// Step 1: the action to sign and the request options for the actor's passkeys.
    pub async fn signing_options(
        &self,
        actor: &Actor,
        kind: &str,
        club: ClubId,
        target: &str,
        fields: Value,
    ) -> Result<SigningOptions> {
        if !SIGNED_KINDS.contains(&kind) {
            return Err(AppError::NotFound);
        }
        let fields = normalize(kind, fields)?;
        // Only the club's members get anything signed for it; the action checks the
        // role again when it is done.
        self.authorize(actor, club, tekkan_core::Permission::ViewClub)
            .await?;
        let creds = self.db().passkeys(actor.account).await?;
        if creds.is_empty() {
            return Err(AppError::Conflict("no_passkey"));
        }
        let now = now_ms();
        let nonce = crate::random_token();
        let action = canonical(&json!({
            "v": 1,
            "kind": kind,
            "club": club.to_string(),
            "target": target,
            "fields": fields,
            "actor": actor.account.to_string(),
            "nonce": nonce,
            "issued_at": now,
        }));
        // Kept in the database until used once, on whichever instance the signed
        // action comes back to.
        let kept = self
            .db()
            .put_pending(
                PENDING,
                &nonce,
                action.as_bytes(),
                now,
                now + TTL_MS,
                10_000,
            )
            .await?;
        if !kept {
            return Err(AppError::Overloaded);
        }
        let allow: Vec<Value> = creds
            .iter()
            .map(|c| json!({"type": "public-key", "id": c.credential_id}))
            .collect();
        Ok(SigningOptions {
            public_key: json!({
                "challenge": B64.encode(challenge(&action)),
                "rpId": self.settings().passkeys.rp_id,
                "allowCredentials": allow,
                "userVerification": "required",
                "timeout": TTL_MS,
            }),
            action,
        })
    }

    /// Step 3: `None` for a person without a passkey acting unsigned; the verified
    /// record otherwise. Refuses a missing, reused, altered or forged signature.
    pub(crate) async fn check_signed(
        &self,
        actor: &Actor,
        kind: &str,
        club: ClubId,
        target: &str,
        fields: Value,
        sig: Option<&SignatureInput>,
    ) -> Result<Option<SignedAction>> {
        let Some(sig) = sig else {
            return match self.db().passkeys(actor.account).await?.is_empty() {
                true => Ok(None),
                false => Err(AppError::Conflict("signature_required")),
            };
        };
        let signed: Value = serde_json::from_str(&sig.action)
            .map_err(|_| AppError::Conflict("signature_mismatch"))?;
        let nonce = signed["nonce"].as_str().unwrap_or_default();
        let issued = self
            .db()
            .take_pending(PENDING, nonce, now_ms())
            .await?
            .ok_or(AppError::Gone("signature_used_or_expired"))?;
        if issued != sig.action.as_bytes() {
            return Err(AppError::Gone("signature_used_or_expired"));
        }
        let same = signed["kind"] == kind
            && signed["club"] == club.to_string()
            && signed["target"] == target
            && signed["fields"] == fields
            && signed["actor"] == actor.account.to_string();
        if !same {
            return Err(AppError::Conflict("signature_mismatch"));
        }
        let cred = &sig.credential;
        let id = cred["id"].as_str().unwrap_or_default();
        let row = self
            .db()
            .passkeys(actor.account)
            .await?
            .into_iter()
            .find(|p| p.credential_id == id)
            .ok_or(AppError::Conflict("signature_invalid"))?;
        let resp = &cred["response"];
        let field = |k: &str| resp[k].as_str().unwrap_or_default().to_owned();
        let record = SignedAction {
            action: sig.action.clone(),
            rp_id: self.settings().passkeys.rp_id.clone(),
            credential_id: row.credential_id.clone(),
            public_key: public_key(&row.static_state)?,
            authenticator_data: field("authenticatorData"),
            client_data_json: field("clientDataJSON"),
            signature: field("signature"),
        };
        record
            .verify(&self.settings().passkeys.origins)
            .map_err(|e| {
                tracing::warn!(error = %e, kind, "signed action refused");
                AppError::Conflict("signature_invalid")
            })?;
        Ok(Some(record))
    }
}

/// The fields as the action itself will see them (parsed, trimmed, sorted), so that
/// what a form or client sends in step 1 signs exactly what step 3 compares.
fn normalize(kind: &str, fields: Value) -> Result<Value> {
    let bad = || AppError::Invalid(tekkan_core::ValidationError::Invalid { field: "fields" });
    match kind {
        "member.role_change" => {
            #[derive(Deserialize)]
            struct F {
                role: tekkan_core::Role,
            }
            let f: F = serde_json::from_value(fields).map_err(|_| bad())?;
            Ok(json!({ "role": f.role }))
        }
        "announcement.publish" => {
            let input: crate::AnnouncementInput =
                serde_json::from_value(fields).map_err(|_| bad())?;
            crate::announcements::publish_fields(&input)
        }
        _ => Ok(json!({})),
    }
}

/// The stored passkey's public key as the verifier reads it.
fn public_key(static_state: &str) -> Result<String> {
    let bad = || AppError::Internal("stored passkey unreadable".into());
    let bytes = B64.decode(static_state).map_err(|_| bad())?;
    let key = StoredKey::decode(bytes.as_slice()).map_err(|_| bad())?;
    match key.credential_public_key {
        CompressedPubKey::Ed25519(k) => Ok(format!("ed25519:{}", hex::encode(k.into_inner()))),
        CompressedPubKey::P256(k) => {
            let mut sec1 = vec![if k.y_is_odd() { 3u8 } else { 2u8 }];
            sec1.extend_from_slice(k.x());
            Ok(format!("p256:{}", hex::encode(sec1)))
        }
        // RSA and P-384 passkeys sign in, but cannot sign actions: refused clearly.
        _ => Err(AppError::Conflict("passkey_algorithm_unsupported")),
    }
}

/// The audit commitment of a passkey's public key (see `tekkan_audit::passkey_keys`).
/// RSA and P-384 passkeys sign in but cannot sign actions: their key is committed as
/// `unsupported`, which no signed action can match.
pub(crate) fn key_commitment(row: &tekkan_storage::PasskeyRow) -> Result<KeyCommitment> {
    let public_key = match public_key(&row.static_state) {
        Ok(k) => k,
        Err(AppError::Conflict(_)) => "unsupported".into(),
        Err(e) => return Err(e),
    };
    Ok(KeyCommitment {
        account: row.account_id.to_string(),
        credential_id: row.credential_id.clone(),
        public_key,
    })
}

/// Keeps `commitment`'s record in the transaction and makes `ev` commit to it.
pub(crate) async fn commit_key(
    tx: &mut tekkan_storage::WriteTx,
    commitment: &KeyCommitment,
    ev: &mut tekkan_audit::Event,
) -> Result<()> {
    let digest = commitment.digest();
    tx.insert_signed_action(&tekkan_audit::to_hex(&digest), &commitment.to_json())
        .await?;
    ev.change_digest = digest;
    Ok(())
}

impl App {
    /// Commits the keys of passkeys enrolled before key commitments existed, once, as
    /// the server (`passkey.key_committed`): the log vouches for them from then on.
    pub(crate) async fn commit_legacy_passkeys(db: &tekkan_storage::Db) -> Result<usize> {
        let rows = db.uncommitted_passkeys().await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let mut tx = db.begin().await?;
        let mut events = Vec::with_capacity(rows.len());
        for row in &rows {
            let commitment = key_commitment(row)?;
            let mut ev = crate::actor::system_event(
                tekkan_audit::passkey_keys::BACKFILLED,
                format!("passkey:{}", row.credential_id),
                &row.created_at,
            );
            commit_key(&mut tx, &commitment, &mut ev).await?;
            tx.mark_passkey_committed(&row.credential_id).await?;
            events.push(ev);
        }
        tx.commit(events).await?;
        Ok(rows.len())
    }
}
