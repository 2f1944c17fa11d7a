//! A minimal ZIP writer (stored entries, UTF-8 names, CRC-32) for the personal data
//! download: a person's copy is small, so compression would add a dependency for
//! little gain, and any unzip tool reads stored entries.

/// CRC-32 (IEEE 802.3, reflected), as ZIP requires.
fn crc32(data: &[u8]) -> u32 {
    let mut table = [0u32; 256];
    for (i, slot) in table.iter_mut().enumerate() {
        let mut c = i as u32;
        for _ in 0..8 {
            c = if c & 1 == 1 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
        *slot = c;
    }
    !data.iter().fold(!0u32, |c, b| {
        table[((c ^ u32::from(*b)) & 0xFF) as usize] ^ (c >> 8)
    })
}

/// Builds a ZIP archive of `(name, contents)`. Sizes must fit ZIP's 32-bit fields.
pub(crate) fn build(files: &[(String, Vec<u8>)]) -> Result<Vec<u8>, &'static str> {
    const FLAGS_UTF8: u16 = 0x0800;
    // 1980-01-01 00:00 in DOS time: the archive does not date its entries.
    const DOS_DATE: u16 = (1 << 5) | 1;
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in files {
        let offset = u32::try_from(out.len()).map_err(|_| "archive too large")?;
        let size = u32::try_from(data.len()).map_err(|_| "file too large")?;
        let name_len = u16::try_from(name.len()).map_err(|_| "name too long")?;
        let crc = crc32(data);
        let mut fields = Vec::new();
        for v in [20u16, FLAGS_UTF8, 0, 0, DOS_DATE] {
            fields.extend_from_slice(&v.to_le_bytes());
        }
        for v in [crc, size, size] {
            fields.extend_from_slice(&v.to_le_bytes());
        }
        fields.extend_from_slice(&name_len.to_le_bytes());
        fields.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        out.extend_from_slice(&fields);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(data);
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&20u16.to_le_bytes());
        central.extend_from_slice(&fields);
        for v in [0u16, 0, 0] {
            central.extend_from_slice(&v.to_le_bytes());
        }
        central.extend_from_slice(&0u32.to_le_bytes());
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let cd_offset = u32::try_from(out.len()).map_err(|_| "archive too large")?;
    let cd_size = u32::try_from(central.len()).map_err(|_| "archive too large")?;
    let n = u16::try_from(files.len()).map_err(|_| "too many files")?;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    for v in [0u16, 0, n, n] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&cd_size.to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn archives_have_one_entry_per_file_and_a_directory() {
        let z = build(&[
            ("a.txt".into(), b"hello".to_vec()),
            ("日本.csv".into(), vec![]),
        ])
        .unwrap();
        assert_eq!(&z[..4], b"PK\x03\x04");
        let eocd = &z[z.len() - 22..];
        assert_eq!(&eocd[..4], b"PK\x05\x06");
        assert_eq!(u16::from_le_bytes([eocd[10], eocd[11]]), 2);
    }
}
