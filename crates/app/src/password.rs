//! Argon2id password hashing, off the async threads and under a concurrency limit, so a
//! flood of logins queues up here instead of stalling every other request.

use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::SaltString;
use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version};
use rand_core::OsRng;
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

pub(crate) struct Hasher {
    params: Params,
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
        let dummy = hash_blocking(&params, "tekkan-dummy-password")?;
        Ok(Self {
            params,
            slots: Arc::new(Semaphore::new(s.max_concurrent.max(1))),
            queue_timeout: s.queue_timeout,
            dummy,
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(Params) -> T + Send + 'static,
    ) -> Result<T> {
        let permit = tokio::time::timeout(self.queue_timeout, self.slots.clone().acquire_owned())
            .await
            .map_err(|_| AppError::Overloaded)?
            .map_err(|_| AppError::Overloaded)?;
        let params = self.params.clone();
        let out = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            f(params)
        })
        .await
        .map_err(|e| AppError::Internal(format!("hashing task: {e}")))?;
        Ok(out)
    }

    /// A PHC string such as `$argon2id$v=19$m=19456,t=2,p=1$…`.
    pub async fn hash(&self, pw: Password) -> Result<String> {
        self.run(move |params| hash_blocking(&params, pw.expose()))
            .await?
    }

    /// Checks `pw` against `stored`, or against a dummy hash when there is none.
    pub async fn verify(&self, pw: Password, stored: Option<String>) -> Result<Verified> {
        let real = stored.is_some();
        let phc = stored.unwrap_or_else(|| self.dummy.clone());
        self.run(move |params| {
            let Ok(parsed) = PasswordHash::new(&phc) else {
                return Verified {
                    ok: false,
                    needs_rehash: false,
                };
            };
            let ok = argon2(&params)
                .verify_password(pw.expose().as_bytes(), &parsed)
                .is_ok()
                && real;
            let weaker = match Params::try_from(&parsed) {
                Ok(p) => {
                    parsed.algorithm.as_str() != "argon2id"
                        || p.m_cost() < params.m_cost()
                        || p.t_cost() < params.t_cost()
                        || p.p_cost() < params.p_cost()
                }
                Err(_) => true,
            };
            Verified {
                ok,
                needs_rehash: ok && weaker,
            }
        })
        .await
    }
}

fn argon2(params: &Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
}

fn hash_blocking(params: &Params, pw: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    argon2(params)
        .hash_password(pw.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(format!("hashing: {e}")))
}

#[cfg(test)]
mod tests {
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

        let wrong = Password::for_login("not the passphrase").unwrap();
        assert!(!h.verify(wrong, None).await.unwrap().ok);
        assert!(
            !h.verify(pw, None).await.unwrap().ok,
            "no account never verifies"
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
