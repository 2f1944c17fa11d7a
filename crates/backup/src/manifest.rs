//! The manifest: what a backup holds (every file's path, size and SHA-256; the sealed
//! archive's size and SHA-256), the schema version, and the audit checkpoint signed at
//! that moment; signed by the server as a C2SP signed note, so that a backup's origin
//! and completeness can be checked before anything is decrypted.

use serde::{Deserialize, Serialize};
use tekkan_audit::signed::{PublicKey, SignError, Signer, open_note};

pub const FORMAT: &str = "tekkan-backup-v1";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub path: String,
    pub size: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Archive {
    /// The object name beside the manifest (`<id>.tar.zst.age`).
    pub name: String,
    pub size: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Audit {
    /// Entries in the snapshot's audit log.
    pub entries: u64,
    /// The newest signed checkpoint inside the snapshot: the restored log must extend it.
    pub checkpoint: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: String,
    pub id: String,
    pub created_ms: i64,
    pub tekkan_version: String,
    pub schema_version: i64,
    pub recipients: Vec<String>,
    pub archive: Archive,
    pub entries: Vec<Entry>,
    pub audit: Audit,
}

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("the manifest's signature: {0}")]
    Signature(#[from] SignError),
    #[error("the manifest is not a {FORMAT} manifest: {0}")]
    Malformed(String),
}

impl Manifest {
    /// The object name of a backup's manifest.
    pub fn object_name(id: &str) -> String {
        format!("{id}.manifest")
    }

    pub fn sign(&self, signer: &Signer) -> String {
        let json = serde_json::to_string(self).expect("a manifest always serializes");
        signer.sign_note(&format!("{FORMAT}\n{json}\n"))
    }

    /// Checks the signature against `trusted` and parses; returns the signing key too.
    pub fn open(note: &str, trusted: &[PublicKey]) -> Result<(Self, PublicKey), ManifestError> {
        let (body, key) = open_note(note, trusted, "backup manifest")?;
        let json = body
            .strip_prefix(FORMAT)
            .and_then(|b| b.strip_prefix('\n'))
            .ok_or_else(|| ManifestError::Malformed("first line".into()))?;
        let m: Self = serde_json::from_str(json.trim_end())
            .map_err(|e| ManifestError::Malformed(e.to_string()))?;
        if m.format != FORMAT || m.archive.name != format!("{}.tar.zst.age", m.id) {
            return Err(ManifestError::Malformed("format or archive name".into()));
        }
        Ok((m, key.clone()))
    }

    /// Reads a manifest without checking its signature: for listing only.
    pub fn peek(note: &str) -> Option<Self> {
        let (body, _) = note.split_once("\n\n")?;
        serde_json::from_str(body.strip_prefix(FORMAT)?.trim()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        Manifest {
            format: FORMAT.into(),
            id: "20261127T010203Z-ab12".into(),
            created_ms: 1,
            tekkan_version: "0.1.0".into(),
            schema_version: 14,
            recipients: vec!["age1x".into()],
            archive: Archive {
                name: "20261127T010203Z-ab12.tar.zst.age".into(),
                size: 10,
                sha256: "00".into(),
            },
            entries: vec![],
            audit: Audit {
                entries: 3,
                checkpoint: Some("origin\n3\nroot\ntime 1\n\n\u{2014} origin AAAA\n".into()),
            },
        }
    }

    #[test]
    fn signed_by_the_server_and_refused_under_another_key_or_edited() {
        let ours = Signer::new("tekkan.example.jp/backup", &[7; 32]);
        let theirs = Signer::new("tekkan.example.jp/backup", &[8; 32]);
        let note = sample().sign(&ours);
        let (m, key) = Manifest::open(&note, &[ours.public()]).expect("opens");
        assert_eq!((m, key), (sample(), ours.public()));
        assert!(matches!(
            Manifest::open(&theirs.sign_note("x\n"), &[ours.public()]),
            Err(ManifestError::Signature(SignError::UnknownKey(_)))
        ));
        assert!(matches!(
            Manifest::open(&sample().sign(&theirs), &[ours.public()]),
            Err(ManifestError::Signature(SignError::UnknownKey(_)))
        ));
        let edited = note.replace("\"schema_version\":14", "\"schema_version\":15");
        assert!(matches!(
            Manifest::open(&edited, &[ours.public()]),
            Err(ManifestError::Signature(SignError::BadSignature(_)))
        ));
        assert_eq!(Manifest::peek(&note), Some(sample()));
    }
}
