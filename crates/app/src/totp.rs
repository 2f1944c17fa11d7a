//! RFC 6238 time-based one-time passwords (HMAC-SHA1, 30-second steps, 6 digits), the
//! form authenticator apps expect, and RFC 4648 base32 for their secrets.

use hmac::{Hmac, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

pub const STEP_SECS: i64 = 30;
pub const DIGITS: u32 = 6;

/// The HOTP value (RFC 4226) of `secret` at counter `step`, with `digits` digits.
pub fn hotp(secret: &[u8], step: u64, digits: u32) -> u32 {
    #[allow(clippy::expect_used)] // HMAC takes keys of any length.
    let mut mac = Hmac::<Sha1>::new_from_slice(secret).expect("any key length");
    mac.update(&step.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let off = (h[19] & 0x0f) as usize;
    let bin = u32::from_be_bytes([h[off] & 0x7f, h[off + 1], h[off + 2], h[off + 3]]);
    bin % 10u32.pow(digits)
}

/// The step `unix_secs` falls in.
pub fn step_at(unix_secs: i64) -> i64 {
    unix_secs.div_euclid(STEP_SECS)
}

/// The step whose code `code` is, among the current step and one either side (clock
/// drift), if it is later than `last_used` (a code works once). Compared in constant
/// time.
pub fn verify(secret: &[u8], code: &str, unix_secs: i64, last_used: i64) -> Option<i64> {
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = step_at(unix_secs);
    (now - 1..=now + 1)
        .filter(|s| *s > last_used && *s >= 0)
        .find(|s| {
            let want = format!(
                "{:0width$}",
                hotp(secret, *s as u64, DIGITS),
                width = DIGITS as usize
            );
            bool::from(want.as_bytes().ct_eq(code.as_bytes()))
        })
}

const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32 without padding.
pub fn base32(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len() * 8 / 5 + 1);
    let (mut buf, mut bits) = (0u32, 0u32);
    for b in data {
        buf = (buf << 8) | u32::from(*b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buf >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buf << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// The `otpauth://` URI authenticator apps read from a QR code.
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    let enc = |s: &str| -> String { form_urlencoded_lite(s) };
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
        enc(issuer),
        enc(account),
        base32(secret),
        enc(issuer)
    )
}

/// Percent-encodes everything but unreserved characters.
fn form_urlencoded_lite(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6238_sha1_vectors() {
        // RFC 6238 Appendix B, SHA-1 seed, 8 digits.
        let seed = b"12345678901234567890";
        for (t, want) in [
            (59u64, 94287082u32),
            (1111111109, 7081804),
            (1111111111, 14050471),
            (1234567890, 89005924),
            (2000000000, 69279037),
            (20000000000, 65353130),
        ] {
            assert_eq!(hotp(seed, t / 30, 8), want, "T={t}");
        }
    }

    #[test]
    fn drift_of_one_step_and_no_reuse() {
        let seed = b"12345678901234567890";
        let t = 1_111_111_109;
        let code = |s: i64| format!("{:06}", hotp(seed, s as u64, 6));
        let now = step_at(t);
        assert_eq!(verify(seed, &code(now), t, 0), Some(now));
        assert_eq!(verify(seed, &code(now - 1), t, 0), Some(now - 1));
        assert_eq!(verify(seed, &code(now + 1), t, 0), Some(now + 1));
        assert_eq!(verify(seed, &code(now - 2), t, 0), None);
        assert_eq!(verify(seed, &code(now + 2), t, 0), None);
        // Used once: the same step is refused, and so is an earlier one.
        assert_eq!(verify(seed, &code(now), t, now), None);
        assert_eq!(verify(seed, &code(now - 1), t, now), None);
        assert_eq!(verify(seed, "12345", t, 0), None);
        assert_eq!(verify(seed, "abcdef", t, 0), None);
    }

    #[test]
    fn base32_matches_rfc4648() {
        assert_eq!(base32(b""), "");
        assert_eq!(base32(b"f"), "MY");
        assert_eq!(base32(b"fo"), "MZXQ");
        assert_eq!(base32(b"foo"), "MZXW6");
        assert_eq!(base32(b"foob"), "MZXW6YQ");
        assert_eq!(base32(b"fooba"), "MZXW6YTB");
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert!(
            otpauth_uri("TEKKAN", "a@b.jp", b"x")
                .starts_with("otpauth://totp/TEKKAN:a%40b.jp?secret=PA&")
        );
    }
}
