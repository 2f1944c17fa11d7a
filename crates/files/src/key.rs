//! A file's key: its club and its SHA-256, as `clubs/<club>/<hash>` in the store. Made
//! only from a valid club id and a hash, so no key can point outside its club's folder.

use object_store::path::Path;

use crate::{FilesError, Result};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileKey {
    club: String,
    sha256: [u8; 32],
}

impl FileKey {
    pub fn new(club: &str, sha256: [u8; 32]) -> Result<Self> {
        valid_club(club)?;
        Ok(Self {
            club: club.to_owned(),
            sha256,
        })
    }

    /// Reads `clubs/<club>/<64 hex>`, as stored in the database.
    pub fn parse(s: &str) -> Result<Self> {
        let bad = || FilesError::BadKey(s.to_owned());
        let mut parts = s.split('/');
        let (Some("clubs"), Some(club), Some(hash), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        if hash.len() != 64 || hash.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(bad());
        }
        let mut sha256 = [0u8; 32];
        hex::decode_to_slice(hash, &mut sha256).map_err(|_| bad())?;
        Self::new(club, sha256)
    }

    pub fn club(&self) -> &str {
        &self.club
    }

    pub fn sha256(&self) -> [u8; 32] {
        self.sha256
    }

    pub(crate) fn path(&self) -> Path {
        Path::from(self.to_string())
    }

    pub(crate) fn folder(club: &str) -> Result<Path> {
        valid_club(club)?;
        Ok(Path::from(format!("clubs/{club}")))
    }
}

impl std::fmt::Display for FileKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "clubs/{}/{}", self.club, hex::encode(self.sha256))
    }
}

/// Club ids are TEKKAN's own (letters, digits, `-` and `_`); anything else is refused
/// before it can become part of a path.
fn valid_club(club: &str) -> Result<()> {
    let ok = (1..=64).contains(&club.len())
        && club
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(FilesError::BadKey(club.to_owned()))
    }
}
