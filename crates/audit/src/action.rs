//! Actions a person cannot deny: the acting officer signs the exact action with their
//! passkey. The WebAuthn challenge is the SHA-256 of the action's canonical encoding, so
//! the assertion signs that action and nothing else; the record (action, key and
//! assertion) is what the audit entry's digest covers, and this module re-checks it
//! with no help from the server.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::Hash;

/// The audit action of a signed variant ends with this.
pub const SIGNED_SUFFIX: &str = ".signed";

/// A signed action as kept in the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedAction {
    /// The canonical JSON of the action, exactly as signed.
    pub action: String,
    pub rp_id: String,
    pub credential_id: String,
    /// `p256:<SEC1 compressed point, hex>` or `ed25519:<hex>`.
    pub public_key: String,
    /// base64url, as the authenticator returned them.
    pub authenticator_data: String,
    pub client_data_json: String,
    pub signature: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    #[error("malformed signed action: {0}")]
    Malformed(&'static str),
    #[error("the assertion signs another action (challenge mismatch)")]
    Challenge,
    #[error("the assertion is for another site")]
    RelyingParty,
    #[error("the assertion comes from another origin")]
    Origin,
    #[error(
        "the authenticator did not verify the person (user presence and verification required)"
    )]
    Flags,
    #[error("the passkey's signature is not valid")]
    Signature,
    #[error("unsupported passkey algorithm")]
    Algorithm,
}

/// The WebAuthn challenge for `action`: SHA-256 of its canonical bytes.
pub fn challenge(action: &str) -> Hash {
    Sha256::digest(action.as_bytes()).into()
}

impl SignedAction {
    /// What the audit entry's change digest is: SHA-256 of this record's JSON (fields
    /// in declaration order, so the encoding is fixed).
    pub fn digest(&self) -> Hash {
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        Sha256::digest(&bytes).into()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Checks the assertion: it signs exactly `self.action`, for `self.rp_id`, from one
    /// of `origins` (any origin when empty, as an outside verifier may not know them),
    /// with the person verified, under `self.public_key`.
    pub fn verify(&self, origins: &[String]) -> Result<(), ActionError> {
        let dec = |s: &str, what| B64.decode(s).map_err(|_| ActionError::Malformed(what));
        let auth = dec(&self.authenticator_data, "authenticator data")?;
        let cdj = dec(&self.client_data_json, "client data")?;
        let sig = dec(&self.signature, "signature")?;
        #[derive(Deserialize)]
        struct ClientData {
            #[serde(rename = "type")]
            kind: String,
            challenge: String,
            origin: String,
        }
        let cd: ClientData =
            serde_json::from_slice(&cdj).map_err(|_| ActionError::Malformed("client data"))?;
        if cd.kind != "webauthn.get" {
            return Err(ActionError::Malformed("client data type"));
        }
        if cd.challenge != B64.encode(challenge(&self.action)) {
            return Err(ActionError::Challenge);
        }
        if !origins.is_empty() && !origins.contains(&cd.origin) {
            return Err(ActionError::Origin);
        }
        if auth.len() < 37 {
            return Err(ActionError::Malformed("authenticator data"));
        }
        if auth[..32] != Sha256::digest(self.rp_id.as_bytes())[..] {
            return Err(ActionError::RelyingParty);
        }
        // UP (0x01) and UV (0x04).
        if auth[32] & 0x05 != 0x05 {
            return Err(ActionError::Flags);
        }
        let mut msg = auth.clone();
        msg.extend_from_slice(&Sha256::digest(&cdj));
        let (alg, key) = self
            .public_key
            .split_once(':')
            .ok_or(ActionError::Malformed("public key"))?;
        let key = hex::decode(key).map_err(|_| ActionError::Malformed("public key"))?;
        match alg {
            "p256" => {
                use p256::ecdsa::signature::Verifier;
                let k = p256::ecdsa::VerifyingKey::from_sec1_bytes(&key)
                    .map_err(|_| ActionError::Malformed("public key"))?;
                let s =
                    p256::ecdsa::Signature::from_der(&sig).map_err(|_| ActionError::Signature)?;
                k.verify(&msg, &s).map_err(|_| ActionError::Signature)
            }
            "ed25519" => {
                let k: [u8; 32] = key
                    .try_into()
                    .map_err(|_| ActionError::Malformed("public key"))?;
                let k = ed25519_dalek::VerifyingKey::from_bytes(&k)
                    .map_err(|_| ActionError::Malformed("public key"))?;
                let s: [u8; 64] = sig.try_into().map_err(|_| ActionError::Signature)?;
                k.verify_strict(&msg, &ed25519_dalek::Signature::from_bytes(&s))
                    .map_err(|_| ActionError::Signature)
            }
            _ => Err(ActionError::Algorithm),
        }
    }
}

/// What [`verify_signed`] established.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SignedReport {
    /// Signed actions whose assertion holds under a key the log committed before them.
    pub verified: usize,
    /// Of those, actions older than key commitments, whose key a later backfill vouches for.
    pub key_backfilled: usize,
}

/// Checks every signed entry among `entries` (in log order) against its record in
/// `records` (by the hex of the entry's change digest): the record must exist, be the
/// one the entry commits to, carry a valid passkey assertion of its action, and use a
/// key the log committed for the actor (see [`crate::passkey_keys`]).
pub fn verify_signed<'a, I>(
    entries: I,
    records: &std::collections::HashMap<String, String>,
) -> Result<SignedReport, SignedError>
where
    I: IntoIterator<Item = &'a crate::Entry> + Clone,
{
    use crate::passkey_keys::{KeyBook, Standing};
    let mut book = KeyBook::new(entries.clone(), records);
    let mut report = SignedReport::default();
    for e in entries {
        book.observe(e, records);
        if !e.event.action.ends_with(SIGNED_SUFFIX) {
            continue;
        }
        let seq = e.seq;
        let record = records
            .get(&crate::to_hex(&e.event.change_digest))
            .ok_or(SignedError::Missing { seq })?;
        let record: SignedAction =
            serde_json::from_str(record).map_err(|_| SignedError::Missing { seq })?;
        if record.digest() != e.event.change_digest {
            return Err(SignedError::Missing { seq });
        }
        record
            .verify(&[])
            .map_err(|source| SignedError::Invalid { seq, source })?;
        let actor = e.event.actor_account.as_deref();
        match book.standing(seq, actor, &record.credential_id, &record.public_key) {
            Standing::Committed => {}
            Standing::Backfilled => report.key_backfilled += 1,
            Standing::Unknown => return Err(SignedError::KeyNotCommitted { seq }),
        }
        report.verified += 1;
    }
    Ok(report)
}

/// A signed entry that does not hold, named.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignedError {
    #[error("entry {seq}: the signed action it commits to is missing or was changed")]
    Missing { seq: u64 },
    #[error("entry {seq}: the passkey signature of its action does not hold: {source}")]
    Invalid { seq: u64, source: ActionError },
    #[error(
        "entry {seq}: the action was signed with a passkey the log never committed for its \
         actor (swapped, removed or never enrolled)"
    )]
    KeyNotCommitted { seq: u64 },
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Signer as _;

    /// A software authenticator: what a passkey does, for the unit tests (the browser
    /// test uses Chromium's virtual authenticator).
    fn sign(action: &str, key: &p256::ecdsa::SigningKey, flags: u8) -> SignedAction {
        let mut auth = Sha256::digest(b"club.example.jp").to_vec();
        auth.push(flags);
        auth.extend_from_slice(&7u32.to_be_bytes());
        let cdj = format!(
            r#"{{"type":"webauthn.get","challenge":"{}","origin":"https://club.example.jp"}}"#,
            B64.encode(challenge(action))
        );
        let mut msg = auth.clone();
        msg.extend_from_slice(&Sha256::digest(cdj.as_bytes()));
        let sig: p256::ecdsa::Signature = key.sign(&msg);
        let point = key.verifying_key().to_encoded_point(true);
        SignedAction {
            action: action.into(),
            rp_id: "club.example.jp".into(),
            credential_id: "cred".into(),
            public_key: format!("p256:{}", hex::encode(point.as_bytes())),
            authenticator_data: B64.encode(&auth),
            client_data_json: B64.encode(cdj.as_bytes()),
            signature: B64.encode(sig.to_der().as_bytes()),
        }
    }

    fn key() -> p256::ecdsa::SigningKey {
        p256::ecdsa::SigningKey::from_slice(&[7; 32]).unwrap()
    }

    #[test]
    fn a_signed_action_verifies_and_any_change_breaks_it() {
        let a = sign(
            r#"{"kind":"member.role_change","role":"coach"}"#,
            &key(),
            0x05,
        );
        a.verify(&["https://club.example.jp".into()]).unwrap();
        a.verify(&[]).unwrap();
        assert_eq!(
            a.verify(&["https://evil.example".into()]),
            Err(ActionError::Origin)
        );
        let mut changed = a.clone();
        changed.action = changed.action.replace("coach", "owner");
        assert_eq!(changed.verify(&[]), Err(ActionError::Challenge));
        let mut other_site = a.clone();
        other_site.rp_id = "evil.example".into();
        assert_eq!(other_site.verify(&[]), Err(ActionError::RelyingParty));
        let mut other_key = a.clone();
        let k2 = p256::ecdsa::SigningKey::from_slice(&[8; 32]).unwrap();
        let p2 = k2.verifying_key().to_encoded_point(true);
        other_key.public_key = format!("p256:{}", hex::encode(p2.as_bytes()));
        assert_eq!(other_key.verify(&[]), Err(ActionError::Signature));
        let unverified = sign("{}", &key(), 0x01);
        assert_eq!(unverified.verify(&[]), Err(ActionError::Flags));
        assert_ne!(a.digest(), changed.digest());
    }

    fn entry(
        seq: u64,
        actor: Option<&str>,
        action: &str,
        target: &str,
        digest: Hash,
    ) -> crate::Entry {
        crate::Entry {
            seq,
            ts_ms: 0,
            event: crate::Event {
                actor_account: actor.map(str::to_owned),
                actor_session: None,
                club: None,
                action: action.into(),
                target: target.into(),
                change_digest: digest,
                ip: None,
                user_agent: None,
            },
            prev_hash: [0; 32],
            hash: [0; 32],
            format: crate::Format::V2,
        }
    }

    #[test]
    fn signed_actions_verify_only_under_keys_the_log_committed() {
        use crate::passkey_keys::{ADDED, BACKFILLED, KeyCommitment, REMOVED};
        use std::collections::HashMap;
        let a = sign(r#"{"kind":"x"}"#, &key(), 0x05);
        let commitment = KeyCommitment {
            account: "alice".into(),
            credential_id: a.credential_id.clone(),
            public_key: a.public_key.clone(),
        };
        let mut records = HashMap::new();
        records.insert(crate::to_hex(&a.digest()), a.to_json());
        records.insert(crate::to_hex(&commitment.digest()), commitment.to_json());
        let enrol = entry(1, Some("alice"), ADDED, "passkey:cred", commitment.digest());
        let act = |seq, who| entry(seq, Some(who), "member.role_change.signed", "m", a.digest());
        let run = |es: Vec<crate::Entry>, r: &HashMap<String, String>| verify_signed(&es, r);

        let ok = run(vec![enrol.clone(), act(2, "alice")], &records).unwrap();
        assert_eq!((ok.verified, ok.key_backfilled), (1, 0));
        // Signed before the key was enrolled, by someone else, or after its removal.
        let late = entry(3, Some("alice"), ADDED, "passkey:cred", commitment.digest());
        assert_eq!(
            run(vec![act(2, "alice"), late], &records),
            Err(SignedError::KeyNotCommitted { seq: 2 })
        );
        assert_eq!(
            run(vec![enrol.clone(), act(2, "bob")], &records),
            Err(SignedError::KeyNotCommitted { seq: 2 })
        );
        let removed = entry(2, Some("alice"), REMOVED, "passkey:cred", [0; 32]);
        assert_eq!(
            run(vec![enrol.clone(), removed, act(3, "alice")], &records),
            Err(SignedError::KeyNotCommitted { seq: 3 })
        );
        // An enrolment by another account vouches for nothing.
        let by_bob = entry(1, Some("bob"), ADDED, "passkey:cred", commitment.digest());
        assert!(run(vec![by_bob, act(2, "alice")], &records).is_err());
        // Older than key commitments: vouched for by the server's later backfill, counted.
        let backfill = entry(3, None, BACKFILLED, "passkey:cred", commitment.digest());
        let ok = run(vec![act(2, "alice"), backfill], &records).unwrap();
        assert_eq!((ok.verified, ok.key_backfilled), (1, 1));
        // A swapped key: the record names a key other than the committed one.
        let other = KeyCommitment {
            public_key: "p256:00".into(),
            ..commitment.clone()
        };
        records.insert(crate::to_hex(&other.digest()), other.to_json());
        let swapped = entry(1, Some("alice"), ADDED, "passkey:cred", other.digest());
        assert_eq!(
            run(vec![swapped, act(2, "alice")], &records),
            Err(SignedError::KeyNotCommitted { seq: 2 })
        );
    }
}
