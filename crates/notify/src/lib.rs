//! Sending notifications out of TEKKAN: e-mail over SMTP, Web Push to browsers, and
//! alerts to the operator's webhooks.
//!
//! No OpenSSL anywhere: TLS is rustls (with the process's ring provider), the push
//! cryptography is RustCrypto (P-256, HKDF, AES-128-GCM).

pub mod mail;
pub mod resolve;
pub mod webhook;
pub mod webpush;

/// How one attempt to send went wrong.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Worth trying again later (network trouble, 5xx, rate limiting).
    #[error("temporary failure: {0}")]
    Retry(String),
    /// The push subscription no longer exists (404/410): forget it.
    #[error("the subscription is gone")]
    Gone,
    /// Will not work however often it is tried (a malformed address, 4xx).
    #[error("permanent failure: {0}")]
    Fatal(String),
}
