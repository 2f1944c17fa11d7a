//! Backups that survive ransomware and disasters: a consistent snapshot of the data
//! directory packed as tar, compressed with zstd, encrypted with age to the operator's
//! public keys, described by a signed manifest, and sent to several destinations
//! (directories, S3-compatible buckets with Object Lock). Verification and restore
//! need the private key, which the server never holds.

pub mod age;
pub mod archive;
mod bech32;
pub mod dest;
pub mod manifest;
pub mod retention;
pub mod s3;
mod sigv4;

use std::path::{Path, PathBuf};

use tekkan_audit::signed::{PublicKey, Signer};

pub use dest::{DestError, Destination};
pub use manifest::Manifest;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("snapshot: {0}")]
    Snapshot(String),
    #[error("the backup is corrupted or incomplete: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Age(#[from] age::AgeError),
    #[error(transparent)]
    Manifest(#[from] manifest::ManifestError),
    #[error(
        "the backup is from a newer schema ({found}) than this tekkan knows ({known}): \
         restore it with a newer tekkan"
    )]
    NewerSchema { found: i64, known: i64 },
    #[error("destination {name}: {source}")]
    Destination { name: String, source: DestError },
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// What goes into a backup besides the archive: filled in by the caller from the
/// snapshot it took.
pub struct Snapshot {
    pub id: String,
    pub created_ms: i64,
    pub schema_version: i64,
    pub audit: manifest::Audit,
    /// Archive path → file on disk.
    pub files: Vec<(String, PathBuf)>,
}

/// A new backup id: its UTC time to the millisecond (so names sort by age) and a random
/// suffix (`20261127T011429.123Z-ab12`).
pub fn new_id(now: jiff::Timestamp) -> String {
    use rand_core::{OsRng, RngCore};
    format!(
        "{}.{:03}Z-{:04x}",
        now.strftime("%Y%m%dT%H%M%S"),
        now.subsec_millisecond(),
        OsRng.next_u32() & 0xffff
    )
}

/// The creation time encoded in a backup id.
pub fn id_time(id: &str) -> Option<jiff::Timestamp> {
    let (secs, rest) = id.split_once('.')?;
    let millis: i64 = rest.get(..3)?.parse().ok()?;
    if rest.get(3..4)? != "Z" {
        return None;
    }
    let t = jiff::Timestamp::strptime("%Y%m%dT%H%M%S%z", format!("{secs}+0000")).ok()?;
    t.checked_add(jiff::SignedDuration::from_millis(millis))
        .ok()
}

/// Seals the snapshot into `staging` and returns the signed manifest and archive path.
pub fn seal(
    snap: &Snapshot,
    recipients: &[age::Recipient],
    signer: &Signer,
    staging: &Path,
) -> Result<(Manifest, String, PathBuf), BackupError> {
    let name = format!("{}.tar.zst.age", snap.id);
    let out = staging.join(&name);
    let (entries, archive) = archive::pack(&snap.files, recipients, &out, &name)?;
    let m = Manifest {
        format: manifest::FORMAT.into(),
        id: snap.id.clone(),
        created_ms: snap.created_ms,
        tekkan_version: env!("CARGO_PKG_VERSION").into(),
        schema_version: snap.schema_version,
        recipients: recipients.iter().map(age::Recipient::encode).collect(),
        archive,
        entries,
        audit: snap.audit.clone(),
    };
    let note = m.sign(signer);
    Ok((m, note, out))
}

/// How one destination fared.
pub struct Sent {
    pub destination: String,
    pub result: Result<Option<String>, DestError>,
}

/// Sends the archive, then the manifest (whose presence marks a complete backup), to
/// every destination; one failing never stops the others.
pub async fn send(
    dests: &[Destination],
    manifest: &Manifest,
    note: &str,
    archive: &Path,
    staging: &Path,
) -> Vec<Sent> {
    let note_path = staging.join(Manifest::object_name(&manifest.id));
    let written = tokio::fs::write(&note_path, note).await;
    let mut out = Vec::new();
    for d in dests {
        let result = match &written {
            Err(e) => Err(DestError::Other(format!("writing the manifest: {e}"))),
            Ok(()) => match d.put(&manifest.archive.name, archive).await {
                Ok(lock) => d
                    .put(&Manifest::object_name(&manifest.id), &note_path)
                    .await
                    .map(|_| lock),
                Err(e) => Err(e),
            },
        };
        out.push(Sent {
            destination: d.name.clone(),
            result,
        });
    }
    out
}

/// A backup a destination holds, as listed.
pub struct Listed {
    pub id: String,
    /// The manifest, unverified (listing needs no key); `None` if unreadable.
    pub manifest: Option<Manifest>,
    /// The archive's size there, if present.
    pub archive_size: Option<u64>,
}

pub async fn list(dest: &Destination, staging: &Path) -> Result<Vec<Listed>, BackupError> {
    let wrap = |source| BackupError::Destination {
        name: dest.name.clone(),
        source,
    };
    let objects = dest.list().await.map_err(wrap)?;
    let mut out = Vec::new();
    for o in &objects {
        let Some(id) = o.key.strip_suffix(".manifest") else {
            continue;
        };
        let tmp = staging.join(&o.key);
        let manifest = match dest.get(&o.key, &tmp).await {
            Ok(()) => std::fs::read_to_string(&tmp)
                .ok()
                .and_then(|t| Manifest::peek(&t)),
            Err(_) => None,
        };
        let _ = std::fs::remove_file(&tmp);
        let archive = format!("{id}.tar.zst.age");
        out.push(Listed {
            id: id.to_owned(),
            manifest,
            archive_size: objects.iter().find(|a| a.key == archive).map(|a| a.size),
        });
    }
    out.sort_by(|a, b| b.id.cmp(&a.id));
    Ok(out)
}

/// Fetches backup `id` (the newest when `None`) from `dest`, checks the manifest's
/// signature and schema, and unpacks the archive into `into` (an empty directory).
pub async fn fetch(
    dest: &Destination,
    id: Option<&str>,
    trusted: &[PublicKey],
    identities: &[age::Identity],
    known_schema: i64,
    work: &Path,
    into: &Path,
) -> Result<Manifest, BackupError> {
    let wrap = |source| BackupError::Destination {
        name: dest.name.clone(),
        source,
    };
    let id = match id {
        Some(i) => i.to_owned(),
        None => dest
            .list()
            .await
            .map_err(wrap)?
            .iter()
            .filter_map(|o| o.key.strip_suffix(".manifest"))
            .max()
            .map(str::to_owned)
            .ok_or_else(|| wrap(DestError::NotFound("no backup there".into())))?,
    };
    let note_path = work.join(Manifest::object_name(&id));
    dest.get(&Manifest::object_name(&id), &note_path)
        .await
        .map_err(wrap)?;
    let note = std::fs::read_to_string(&note_path)
        .map_err(|_| BackupError::Corrupt("the manifest is not text".into()))?;
    let (m, _) = Manifest::open(&note, trusted)?;
    if m.id != id {
        return Err(BackupError::Corrupt(format!(
            "the manifest describes {}",
            m.id
        )));
    }
    if m.schema_version > known_schema {
        return Err(BackupError::NewerSchema {
            found: m.schema_version,
            known: known_schema,
        });
    }
    let archive = work.join(&m.archive.name);
    dest.get(&m.archive.name, &archive).await.map_err(wrap)?;
    let (work_archive, m2, ids, into) = (
        archive.clone(),
        m.clone(),
        identities.to_vec(),
        into.to_owned(),
    );
    tokio::task::spawn_blocking(move || archive::unpack(&work_archive, &m2, &ids, &into))
        .await
        .map_err(|e| BackupError::Snapshot(e.to_string()))??;
    let _ = std::fs::remove_file(&archive);
    Ok(m)
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_sort_by_time_and_give_it_back() {
        let t: jiff::Timestamp = "2026-11-27T01:14:29.123Z".parse().expect("time");
        let id = super::new_id(t);
        assert!(id.starts_with("20261127T011429.123Z-"), "{id}");
        assert_eq!(super::id_time(&id), Some(t));
        assert_eq!(super::id_time("nonsense"), None);
        assert!(super::new_id(t) < super::new_id(t + jiff::SignedDuration::from_millis(1)));
    }
}
