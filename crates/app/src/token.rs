//! Secret tokens (sessions, invitations, setup): 256 random bits, shown once, stored
//! only as a SHA-256 hash, so a copy of the database opens no session and no link.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};

/// A new random token, URL-safe (43 characters).
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    OsRng.fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

/// The stored form of a token.
pub fn hash_token(token: &str) -> String {
    let d = Sha256::digest(token.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// 16 random bytes for an id.
pub(crate) fn random_id_bytes() -> [u8; 16] {
    let mut b = [0u8; 16];
    OsRng.fill_bytes(&mut b);
    b
}

macro_rules! new_id {
    ($t:ty) => {
        <$t>::from_bytes($crate::token::random_id_bytes())
    };
}
pub(crate) use new_id;
