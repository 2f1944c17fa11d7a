//! Web Push: message encryption (RFC 8291, "aes128gcm" of RFC 8188), VAPID
//! authentication (RFC 8292), and delivery to the push service (RFC 8030).

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes128Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hkdf::Hkdf;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::{PublicKey, SecretKey};
use rand_core::{OsRng, RngCore};
use sha2::Sha256;

use crate::SendError;

/// The record size we declare; one record carries the whole message.
const RECORD_SIZE: u32 = 4096;
/// Largest plaintext one record holds: record size − 16-byte tag − 1 delimiter octet.
pub const MAX_PLAINTEXT: usize = RECORD_SIZE as usize - 17;

/// Why a subscription's keys were refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("p256dh is not an uncompressed P-256 point")]
    P256dh,
    #[error("auth is not 16 octets")]
    Auth,
}

/// A browser's subscription keys, checked.
#[derive(Clone, Debug)]
pub struct Keys {
    pub p256dh: PublicKey,
    pub auth: [u8; 16],
}

impl Keys {
    /// Parses the base64url strings a browser's `PushSubscription.toJSON()` gives.
    pub fn parse(p256dh: &str, auth: &str) -> Result<Self, KeyError> {
        let pk = B64
            .decode(p256dh.trim_end_matches('='))
            .map_err(|_| KeyError::P256dh)?;
        if pk.len() != 65 || pk[0] != 4 {
            return Err(KeyError::P256dh);
        }
        let p256dh = PublicKey::from_sec1_bytes(&pk).map_err(|_| KeyError::P256dh)?;
        let a = B64
            .decode(auth.trim_end_matches('='))
            .map_err(|_| KeyError::Auth)?;
        let auth: [u8; 16] = a.try_into().map_err(|_| KeyError::Auth)?;
        Ok(Self { p256dh, auth })
    }
}

fn uncompressed(pk: &PublicKey) -> Vec<u8> {
    pk.to_encoded_point(false).as_bytes().to_vec()
}

/// Encrypts `plaintext` for `keys` with the sender key `as_secret` and `salt` (fresh for
/// every message in use; fixed only to check against RFC 8291's example).
pub fn encrypt_with(
    plaintext: &[u8],
    keys: &Keys,
    as_secret: &SecretKey,
    salt: [u8; 16],
) -> Vec<u8> {
    let as_public = uncompressed(&as_secret.public_key());
    let ua_public = uncompressed(&keys.p256dh);
    let shared = p256::ecdh::diffie_hellman(as_secret.to_nonzero_scalar(), keys.p256dh.as_affine());
    // IKM = HKDF(auth_secret, ecdh_secret, "WebPush: info" || 0x00 || ua_public || as_public, 32)
    let mut key_info = b"WebPush: info\0".to_vec();
    key_info.extend_from_slice(&ua_public);
    key_info.extend_from_slice(&as_public);
    let mut ikm = [0u8; 32];
    let _ = Hkdf::<Sha256>::new(Some(&keys.auth), shared.raw_secret_bytes())
        .expand(&key_info, &mut ikm);
    // CEK and NONCE from the salt (RFC 8188 §2.2, 2.3).
    let hk = Hkdf::<Sha256>::new(Some(&salt), &ikm);
    let mut cek = [0u8; 16];
    let mut nonce = [0u8; 12];
    let _ = hk.expand(b"Content-Encoding: aes128gcm\0", &mut cek);
    let _ = hk.expand(b"Content-Encoding: nonce\0", &mut nonce);
    // One record, the last: the plaintext and the delimiter 0x02, no padding.
    let mut record = plaintext.to_vec();
    record.push(2);
    let cipher = Aes128Gcm::new(&cek.into());
    let sealed = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: &record,
                aad: b"",
            },
        )
        .unwrap_or_default();
    let mut out = Vec::with_capacity(86 + sealed.len());
    out.extend_from_slice(&salt);
    out.extend_from_slice(&RECORD_SIZE.to_be_bytes());
    out.push(as_public.len() as u8);
    out.extend_from_slice(&as_public);
    out.extend_from_slice(&sealed);
    out
}

/// Encrypts with a fresh sender key and salt.
pub fn encrypt(plaintext: &[u8], keys: &Keys) -> Vec<u8> {
    let mut salt = [0u8; 16];
    OsRng.fill_bytes(&mut salt);
    encrypt_with(plaintext, keys, &SecretKey::random(&mut OsRng), salt)
}

/// The server's VAPID identity.
#[derive(Clone)]
pub struct Vapid {
    key: SigningKey,
    public: Vec<u8>,
    /// `mailto:` or `https:` contact for the push services (RFC 8292 §2.1).
    subject: String,
}

impl Vapid {
    /// From the 32-byte private scalar.
    pub fn from_secret(secret: &[u8], subject: &str) -> Option<Self> {
        let sk = SecretKey::from_slice(secret).ok()?;
        Some(Self {
            public: uncompressed(&sk.public_key()),
            key: SigningKey::from(sk),
            subject: subject.to_owned(),
        })
    }

    /// A new random key's 32 secret bytes.
    pub fn generate() -> Vec<u8> {
        SecretKey::random(&mut OsRng).to_bytes().to_vec()
    }

    /// The public key browsers pass to `pushManager.subscribe` (base64url, uncompressed).
    pub fn public_key(&self) -> String {
        B64.encode(&self.public)
    }

    /// `Authorization: vapid t=…, k=…` for an endpoint's origin, valid 12 hours.
    pub fn authorization(&self, audience: &str, now_secs: i64) -> String {
        let header = B64.encode(br#"{"typ":"JWT","alg":"ES256"}"#);
        let claims =
            serde_json::json!({"aud": audience, "exp": now_secs + 12 * 3600, "sub": self.subject});
        let claims = B64.encode(claims.to_string());
        let input = format!("{header}.{claims}");
        let sig: Signature = self.key.sign(input.as_bytes());
        format!(
            "vapid t={input}.{}, k={}",
            B64.encode(sig.to_bytes()),
            self.public_key()
        )
    }
}

/// The origin (`https://host[:port]`) of an endpoint URL: the VAPID audience.
pub fn origin(endpoint: &str) -> Option<String> {
    let (scheme, rest) = endpoint.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    if host.is_empty() || host.contains('@') {
        return None;
    }
    Some(format!("{scheme}://{host}"))
}

/// Whether the server may POST to `endpoint`: HTTPS to a named host. IP literals and
/// `localhost` are refused so a subscription cannot aim our requests at internal
/// services; `allow_insecure` (tests only) lets plain HTTP to loopback through. What
/// the name resolves to is checked again when connecting (see `resolve`).
pub fn endpoint_allowed(endpoint: &str, allow_insecure: bool) -> bool {
    if endpoint.len() > 1024 || endpoint.chars().any(|c| c.is_control() || c == ' ') {
        return false;
    }
    let Some(o) = origin(endpoint) else {
        return false;
    };
    let host = o.split("://").nth(1).unwrap_or("");
    let name = host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host);
    let loopback = name == "127.0.0.1" || name == "[::1]" || name == "localhost";
    if allow_insecure && loopback && (o.starts_with("http://") || o.starts_with("https://")) {
        return true;
    }
    let ip_literal = name.parse::<std::net::IpAddr>().is_ok() || name.starts_with('[');
    o.starts_with("https://") && !ip_literal && name != "localhost" && name.contains('.')
}

/// Sends pushes.
#[derive(Clone)]
pub struct Pusher {
    http: reqwest::Client,
    vapid: Vapid,
    allow_insecure: bool,
}

impl Pusher {
    pub fn new(vapid: Vapid, allow_insecure: bool) -> Result<Self, SendError> {
        Self::with_resolver(
            vapid,
            allow_insecure,
            crate::resolve::PublicOnly {
                allow_loopback: allow_insecure,
                ..Default::default()
            },
        )
    }

    /// Like [`Pusher::new`], resolving names with `resolver` (fixed answers in tests).
    /// Whatever it answers, only public addresses are connected to.
    pub fn with_resolver(
        vapid: Vapid,
        allow_insecure: bool,
        resolver: crate::resolve::PublicOnly,
    ) -> Result<Self, SendError> {
        let http = reqwest::Client::builder()
            .dns_resolver(std::sync::Arc::new(resolver))
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(15))
            .build()
            .map_err(|e| SendError::Fatal(e.to_string()))?;
        Ok(Self {
            http,
            vapid,
            allow_insecure,
        })
    }

    pub fn vapid(&self) -> &Vapid {
        &self.vapid
    }

    pub fn allows(&self, endpoint: &str) -> bool {
        endpoint_allowed(endpoint, self.allow_insecure)
    }

    /// Encrypts `payload` and hands it to the subscription's push service.
    pub async fn send(
        &self,
        endpoint: &str,
        keys: &Keys,
        payload: &[u8],
        now_secs: i64,
    ) -> Result<(), SendError> {
        if !self.allows(endpoint) {
            return Err(SendError::Fatal("endpoint not allowed".into()));
        }
        if payload.len() > MAX_PLAINTEXT {
            return Err(SendError::Fatal("payload too large".into()));
        }
        let aud = origin(endpoint).ok_or_else(|| SendError::Fatal("bad endpoint".into()))?;
        let res = self
            .http
            .post(endpoint)
            .header("TTL", "86400")
            .header("Urgency", "normal")
            .header("Content-Encoding", "aes128gcm")
            .header("Content-Type", "application/octet-stream")
            .header("Authorization", self.vapid.authorization(&aud, now_secs))
            .body(encrypt(payload, keys))
            .send()
            .await
            .map_err(|e| match crate::resolve::refused_inward(&e) {
                true => {
                    tracing::warn!(%aud, "push endpoint resolves to a non-public address: refused");
                    SendError::Fatal("endpoint resolves to a non-public address".into())
                }
                false => SendError::Retry(e.to_string()),
            })?;
        match res.status().as_u16() {
            200..=299 => Ok(()),
            404 | 410 => Err(SendError::Gone),
            408 | 429 | 500..=599 => Err(SendError::Retry(format!("status {}", res.status()))),
            s => Err(SendError::Fatal(format!("status {s}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Vec<u8> {
        B64.decode(s).unwrap()
    }

    /// RFC 8291 §5 and Appendix A, to the byte.
    #[test]
    fn matches_the_rfc_8291_example() {
        let keys = Keys::parse(
            "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
            "BTBZMqHH6r4Tts7J_aSIgg",
        )
        .unwrap();
        let as_secret =
            SecretKey::from_slice(&d("yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw")).unwrap();
        assert_eq!(
            B64.encode(uncompressed(&as_secret.public_key())),
            "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8"
        );
        let salt: [u8; 16] = d("DGv6ra1nlYgDCS1FRnbzlw").try_into().unwrap();
        let body = encrypt_with(
            b"When I grow up, I want to be a watermelon",
            &keys,
            &as_secret,
            salt,
        );
        assert_eq!(
            B64.encode(body),
            "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"
        );
    }

    #[test]
    fn vapid_tokens_verify_with_the_public_key() {
        use p256::ecdsa::VerifyingKey;
        use p256::ecdsa::signature::Verifier;
        let v = Vapid::from_secret(&Vapid::generate(), "mailto:ops@example.jp").unwrap();
        let h = v.authorization("https://push.example.net", 1_800_000_000);
        let t = h
            .strip_prefix("vapid t=")
            .unwrap()
            .split(", k=")
            .next()
            .unwrap();
        let (input, sig) = t.rsplit_once('.').unwrap();
        let vk = VerifyingKey::from_sec1_bytes(&d(&v.public_key())).unwrap();
        let sig = Signature::from_slice(&d(sig)).unwrap();
        vk.verify(input.as_bytes(), &sig).unwrap();
        let claims: serde_json::Value =
            serde_json::from_slice(&d(input.split('.').nth(1).unwrap())).unwrap();
        assert_eq!(claims["aud"], "https://push.example.net");
        assert_eq!(claims["exp"], 1_800_000_000 + 12 * 3600);
    }

    #[test]
    fn refuses_endpoints_that_aim_inward_and_malformed_keys() {
        assert!(endpoint_allowed(
            "https://fcm.googleapis.com/fcm/send/abc",
            false
        ));
        for bad in [
            "http://push.example.net/x",
            "https://127.0.0.1/x",
            "https://10.0.0.5/admin",
            "https://[::1]/x",
            "https://localhost/x",
            "https://user@push.example.net/x",
            "https://intranet/x",
            "javascript:alert(1)",
        ] {
            assert!(!endpoint_allowed(bad, false), "{bad}");
        }
        assert!(endpoint_allowed("http://127.0.0.1:4000/push/1", true));
        assert_eq!(
            Keys::parse("AA", "BTBZMqHH6r4Tts7J_aSIgg").unwrap_err(),
            KeyError::P256dh
        );
        let p = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
        assert_eq!(Keys::parse(p, "AAAA").unwrap_err(), KeyError::Auth);
    }

    /// A public-looking name that resolves to 127.0.0.1 is never contacted; the same
    /// name allowed to resolve there is (so the refusal is the resolver's doing).
    #[tokio::test]
    async fn a_name_resolving_to_loopback_is_not_contacted() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let _ = rustls::crypto::ring::default_provider().install_default();
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let hits = std::sync::Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        tokio::spawn(async move {
            while let Ok((s, _)) = l.accept().await {
                h.fetch_add(1, Ordering::SeqCst);
                drop(s);
            }
        });
        let vapid = Vapid::from_secret(&Vapid::generate(), "mailto:ops@tekkan.test").unwrap();
        let keys = Keys::parse(
            "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
            "BTBZMqHH6r4Tts7J_aSIgg",
        )
        .unwrap();
        let endpoint = format!("https://push.evil.example:{port}/send/1");
        assert!(
            endpoint_allowed(&endpoint, false),
            "the name alone looks fine"
        );
        let fixed: std::collections::HashMap<String, Vec<std::net::IpAddr>> = [(
            "push.evil.example".to_owned(),
            vec!["127.0.0.1".parse().unwrap()],
        )]
        .into();
        let resolver = |allow_loopback| crate::resolve::PublicOnly {
            allow_loopback,
            fixed: std::sync::Arc::new(fixed.clone()),
        };
        let p = Pusher::with_resolver(vapid.clone(), false, resolver(false)).unwrap();
        let r = p.send(&endpoint, &keys, b"hello", 1_700_000_000).await;
        assert!(
            matches!(r, Err(SendError::Fatal(ref m)) if m.contains("non-public")),
            "{r:?}"
        );
        assert_eq!(hits.load(Ordering::SeqCst), 0, "nothing was contacted");
        // Control: the same name, allowed to resolve to loopback, is contacted.
        let p = Pusher::with_resolver(vapid, false, resolver(true)).unwrap();
        let _ = p.send(&endpoint, &keys, b"hello", 1_700_000_000).await;
        assert_eq!(hits.load(Ordering::SeqCst), 1);
    }
}
