//! Argon2id password hashing on a small fixed pool of threads (one per allowed
//! concurrent hash), so a flood of logins queues up here instead of stalling every other
//! request.
//!
//! Each hashing thread owns one Argon2 work area (19 MiB at the default cost) and reuses
//! it for every hash. Allocating it per hash, as the usual `hash_password` does, left the
//! freed areas in the allocator's per-thread arenas: the server's resident size reached
//! 300–600 MB after a few dozen hashes (see docs/benchmarks.md). Now memory is fixed at
//! threads × work area.

use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use argon2::password_hash::{PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use rand_core::{OsRng, RngCore};
use subtle::ConstantTimeEq;
use tekkan_core::Password;
use tokio::sync::Semaphore;

use crate::{AppError, Result};

/// Argon2id cost. The floor is OWASP's m=19 MiB, t=2, p=1.
#[derive(Clone, Debug)]
pub struct HashSettings {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    /// How many hashes may run at once (default: one per core).
    pub max_concurrent: usize,
    /// How long a request waits for a hashing slot before it is told to retry.
    pub queue_timeout: Duration,
}

impl Default for HashSettings {
    fn default() -> Self {
        Self {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
            max_concurrent: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            queue_timeout: Duration::from_secs(10),
        }
    }
}

/// The outcome of checking a password.
pub(crate) struct Verified {
    pub ok: bool,
    /// The stored hash is weaker than the configured cost: store a new one.
    pub needs_rehash: bool,
}

/// Work for a hashing thread, given that thread's reusable work area.
type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send>;

pub(crate) struct Hasher {
    params: Params,
    /// Jobs for the hashing threads; they end when this is dropped.
    jobs: Mutex<mpsc::Sender<Job>>,
    /// One permit per hashing thread: a request waits here, at most `queue_timeout`.
    slots: Arc<Semaphore>,
    queue_timeout: Duration,
    /// Checked against when the account does not exist, so that a miss costs as much
    /// time as a hit and timing does not reveal who has an account.
    dummy: String,
}

impl Hasher {
    pub fn new(s: &HashSettings) -> Result<Self> {
        if s.memory_kib < 19_456 || s.iterations < 2 || s.parallelism < 1 {
            return Err(AppError::Internal(
                "argon2 parameters below m=19456 KiB, t=2, p=1".into(),
            ));
        }
        let params = Params::new(s.memory_kib, s.iterations, s.parallelism, None)
            .map_err(|e| AppError::Internal(format!("argon2 parameters: {e}")))?;
        let threads = s.max_concurrent.max(1);
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads {
            let (rx, blocks) = (rx.clone(), params.block_count());
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    let mut area = vec![Block::default(); blocks];
                    loop {
                        // Take one job, releasing the lock before running it.
                        let job = match rx.lock() {
                            Ok(r) => r.recv(),
                            Err(_) => return,
                        };
                        let Ok(job) = job else { return };
                        // A panicking job must not shrink the pool; its caller sees the
                        // dropped reply as an error.
                        drop(std::panic::catch_unwind(std::panic::AssertUnwindSafe(
                            || job(&mut area),
                        )));
                    }
                })
                .map_err(|e| AppError::Internal(format!("hashing thread: {e}")))?;
        }
        let mut area = vec![Block::default(); params.block_count()];
        let dummy = hash_phc(&params, "tekkan-dummy-password", &mut area)?;
        Ok(Self {
            params,
            jobs: Mutex::new(tx),
            slots: Arc::new(Semaphore::new(threads)),
            queue_timeout: s.queue_timeout,
            dummy,
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Params, &mut Vec<Block>) -> T + Send + 'static,
    ) -> Result<T> {
        let permit = tokio::time::timeout(self.queue_timeout, self.slots.clone().acquire_owned())
            .await
            .map_err(|_| AppError::Overloaded)?
            .map_err(|_| AppError::Overloaded)?;
        let params = self.params.clone();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |area| {
            let _permit = permit;
            let _ = tx.send(f(&params, area));
        });
        self.jobs
            .lock()
            .map_err(|_| AppError::Internal("hashing queue poisoned".into()))?
            .send(job)
            .map_err(|_| AppError::Internal("hashing threads stopped".into()))?;
        rx.await
            .map_err(|_| AppError::Internal("hashing job dropped".into()))
    }

    /// A PHC string such as `$argon2id$v=19$m=19456,t=2,p=1$…`.
    pub async fn hash(&self, pw: Password) -> Result<String> {
        self.run(move |params, area| hash_phc(params, pw.expose(), area))
            .await?
    }

    /// Checks `pw` against `stored`, or against a dummy hash when there is none.
    pub async fn verify(&self, pw: Password, stored: Option<String>) -> Result<Verified> {
        let real = stored.is_some();
        let phc = stored.unwrap_or_else(|| self.dummy.clone());
        self.run(move |params, area| {
            let Some((stored_params, weaker)) = stored_params(&phc, params) else {
                return Verified {
                    ok: false,
                    needs_rehash: false,
                };
            };
            let ok = verify_phc(&phc, &stored_params, pw.expose(), area) && real;
            Verified {
                ok,
                needs_rehash: ok && weaker,
            }
        })
        .await
    }
}

/// The stored hash's parameters, and whether they are weaker than `current`. `None`
/// for anything that is not an Argon2id PHC string.
fn stored_params(phc: &str, current: &Params) -> Option<(Params, bool)> {
    let parsed = PasswordHash::new(phc).ok()?;
    if parsed.algorithm.as_str() != "argon2id" {
        return None;
    }
    let p = Params::try_from(&parsed).ok()?;
    let weaker = p.m_cost() < current.m_cost()
        || p.t_cost() < current.t_cost()
        || p.p_cost() < current.p_cost();
    Some((p, weaker))
}

fn argon2(params: &Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
}

/// Makes sure `area` has room for `params` (it grows only if the cost was raised
/// while an older, larger hash is checked).
fn area_for<'a>(area: &'a mut Vec<Block>, params: &Params) -> &'a mut [Block] {
    if area.len() < params.block_count() {
        area.resize(params.block_count(), Block::default());
    }
    &mut area[..params.block_count()]
}

fn hash_phc(params: &Params, pw: &str, area: &mut Vec<Block>) -> Result<String> {
    let mut salt = [0u8; 16];
    OsRng.fill_bytes(&mut salt);
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    argon2(params)
        .hash_password_into_with_memory(pw.as_bytes(), &salt, &mut out, area_for(area, params))
        .map_err(|e| AppError::Internal(format!("hashing: {e}")))?;
    // The PHC string format, with its unpadded standard Base64.
    let salt =
        SaltString::encode_b64(&salt).map_err(|e| AppError::Internal(format!("salt: {e}")))?;
    Ok(format!(
        "$argon2id$v=19$m={},t={},p={}${}${}",
        params.m_cost(),
        params.t_cost(),
        params.p_cost(),
        salt.as_str(),
        STANDARD_NO_PAD.encode(out)
    ))
}

fn verify_phc(phc: &str, params: &Params, pw: &str, area: &mut Vec<Block>) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    let ok = argon2(params).hash_password_into_with_memory(
        pw.as_bytes(),
        salt,
        &mut out,
        area_for(area, params),
    );
    ok.is_ok() && bool::from(out.ct_eq(expected.as_bytes()))
}

#[cfg(test)]
mod tests {
    use argon2::{PasswordHasher, PasswordVerifier};

    use super::*;

    #[tokio::test]
    async fn hashes_in_phc_form_and_flags_weaker_hashes() {
        let h = Hasher::new(&HashSettings::default()).unwrap();
        let pw = Password::parse("a perfectly fine passphrase", &[]).unwrap();
        let phc = h.hash(pw.clone()).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        let v = h.verify(pw.clone(), Some(phc)).await.unwrap();
        assert!(v.ok && !v.needs_rehash);

        let stronger = Hasher::new(&HashSettings {
            memory_kib: 32_768,
            iterations: 3,
            ..Default::default()
        })
        .unwrap();
        let old = h.hash(pw.clone()).await.unwrap();
        let v = stronger.verify(pw.clone(), Some(old)).await.unwrap();
        assert!(v.ok && v.needs_rehash);
        // And the other way: a hash stronger than the configured cost still verifies.
        let strong = stronger.hash(pw.clone()).await.unwrap();
        let v = h.verify(pw.clone(), Some(strong)).await.unwrap();
        assert!(v.ok && !v.needs_rehash);

        let wrong = Password::for_login("not the passphrase").unwrap();
        assert!(!h.verify(wrong, None).await.unwrap().ok);
        assert!(
            !h.verify(pw.clone(), None).await.unwrap().ok,
            "no account never verifies"
        );
        assert!(
            !h.verify(
                pw,
                Some("$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA".into())
            )
            .await
            .unwrap()
            .ok
        );
    }

    #[tokio::test]
    async fn phc_strings_interoperate_with_the_standard_argon2_api() {
        let h = Hasher::new(&HashSettings::default()).unwrap();
        let params = Params::new(19_456, 2, 1, None).unwrap();
        let std_argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        // Ours, checked by the crate's own verifier.
        let ours = h
            .hash(Password::parse("interoperable phrase", &[]).unwrap())
            .await
            .unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            std_argon
                .verify_password(b"interoperable phrase", &parsed)
                .is_ok()
        );
        assert!(
            std_argon
                .verify_password(b"another phrase", &parsed)
                .is_err()
        );
        // The crate's, checked by ours.
        let salt = SaltString::generate(&mut OsRng);
        let theirs = std_argon
            .hash_password(b"interoperable phrase", &salt)
            .unwrap()
            .to_string();
        assert!(
            h.verify(
                Password::for_login("interoperable phrase").unwrap(),
                Some(theirs)
            )
            .await
            .unwrap()
            .ok
        );
    }

    #[test]
    fn refuses_parameters_below_the_floor() {
        assert!(
            Hasher::new(&HashSettings {
                memory_kib: 4096,
                ..Default::default()
            })
            .is_err()
        );
    }
}
