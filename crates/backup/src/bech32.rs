//! Bech32 (BIP 173, not bech32m), the text form of age keys. age does not apply BIP
//! 173's 90-character limit.

const CHARSET: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";
const GEN: [u32; 5] = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

fn polymod(values: impl Iterator<Item = u8>) -> u32 {
    let mut chk: u32 = 1;
    for v in values {
        let top = chk >> 25;
        chk = ((chk & 0x1ff_ffff) << 5) ^ u32::from(v);
        for (i, g) in GEN.iter().enumerate() {
            if (top >> i) & 1 == 1 {
                chk ^= g;
            }
        }
    }
    chk
}

fn hrp_expand(hrp: &str) -> impl Iterator<Item = u8> + '_ {
    hrp.bytes()
        .map(|b| b >> 5)
        .chain(std::iter::once(0))
        .chain(hrp.bytes().map(|b| b & 31))
}

/// Regroups bits: 8 → 5 (with padding) or 5 → 8 (padding must be zero and short).
fn convert(data: &[u8], from: u32, to: u32, pad: bool) -> Option<Vec<u8>> {
    let (mut acc, mut bits, mut out) = (0u32, 0u32, Vec::new());
    let max = (1u32 << to) - 1;
    for &v in data {
        acc = (acc << from) | u32::from(v);
        bits += from;
        while bits >= to {
            bits -= to;
            out.push(((acc >> bits) & max) as u8);
        }
    }
    if pad && bits > 0 {
        out.push(((acc << (to - bits)) & max) as u8);
    } else if !pad && (bits >= from || (acc << (to - bits)) & max != 0) {
        return None;
    }
    Some(out)
}

/// Lowercase bech32 of `data` under `hrp` (which must be lowercase).
pub fn encode(hrp: &str, data: &[u8]) -> String {
    let five = convert(data, 8, 5, true).unwrap_or_default();
    let pm = polymod(hrp_expand(hrp).chain(five.iter().copied()).chain([0; 6])) ^ 1;
    let mut s = format!("{hrp}1");
    s.extend(five.iter().map(|&v| CHARSET[v as usize] as char));
    s.extend((0..6).map(|i| CHARSET[((pm >> (5 * (5 - i))) & 31) as usize] as char));
    s
}

/// The (lowercased) human-readable part and the data; `None` unless the checksum holds.
pub fn decode(s: &str) -> Option<(String, Vec<u8>)> {
    if s.chars().any(|c| c.is_ascii_lowercase()) && s.chars().any(|c| c.is_ascii_uppercase()) {
        return None;
    }
    let s = s.to_ascii_lowercase();
    let sep = s.rfind('1')?;
    let (hrp, rest) = (&s[..sep], &s[sep + 1..]);
    if hrp.is_empty() || rest.len() < 6 || !hrp.bytes().all(|b| (33..=126).contains(&b)) {
        return None;
    }
    let five = rest
        .bytes()
        .map(|b| CHARSET.iter().position(|&c| c == b).map(|p| p as u8))
        .collect::<Option<Vec<u8>>>()?;
    if polymod(hrp_expand(hrp).chain(five.iter().copied())) != 1 {
        return None;
    }
    let data = convert(&five[..five.len() - 6], 5, 8, false)?;
    Some((hrp.to_owned(), data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bip173_vectors_and_round_trip() {
        // Valid BIP 173 checksums.
        for v in [
            "A12UEL5L",
            "a12uel5l",
            "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
        ] {
            assert!(decode(v).is_some(), "{v}");
        }
        // Mixed case, bad checksum, no separator.
        for v in ["A12uEL5L", "a12uel5m", "pzry9x0s0muk"] {
            assert!(decode(v).is_none(), "{v}");
        }
        let data: Vec<u8> = (0..32).collect();
        let s = encode("age", &data);
        assert_eq!(decode(&s), Some(("age".to_owned(), data)));
    }
}
