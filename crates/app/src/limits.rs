//! Throttling: per-address request limits (in memory, fixed windows) against credential
//! stuffing and enumeration, and the per-account login counter (in the database, so it
//! holds across restarts and instances).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use tekkan_core::throttle::{Policy, Refusal};

use crate::{AppError, Origin, Result};

/// What is limited per client address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IpPolicy {
    /// Every login attempt (password or second factor).
    Login,
    /// Failed logins across all accounts: credential stuffing.
    LoginFailure,
    /// New accounts.
    SignUp,
    /// Looking up or using invitation links.
    Invitation,
    /// Password-reset and unlock requests.
    Reset,
    /// Personal-data exports.
    Export,
}

/// (how many, per how many milliseconds) for each policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpLimits {
    pub login: (u32, i64),
    pub login_failure: (u32, i64),
    pub sign_up: (u32, i64),
    pub invitation: (u32, i64),
    pub reset: (u32, i64),
    pub export: (u32, i64),
}

impl Default for IpLimits {
    fn default() -> Self {
        const MIN: i64 = 60 * 1000;
        // Generous enough for a classroom behind one school address.
        Self {
            login: (300, 15 * MIN),
            login_failure: (50, 15 * MIN),
            sign_up: (60, 60 * MIN),
            invitation: (120, 15 * MIN),
            reset: (20, 60 * MIN),
            export: (10, 60 * MIN),
        }
    }
}

impl IpLimits {
    fn of(&self, p: IpPolicy) -> (u32, i64) {
        match p {
            IpPolicy::Login => self.login,
            IpPolicy::LoginFailure => self.login_failure,
            IpPolicy::SignUp => self.sign_up,
            IpPolicy::Invitation => self.invitation,
            IpPolicy::Reset => self.reset,
            IpPolicy::Export => self.export,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct LimitSettings {
    pub login: Policy,
    pub ip: IpLimits,
    /// How long an e-mailed unlock link works.
    pub unlock_ttl_ms: i64,
    /// How long an e-mailed password reset link works.
    pub reset_ttl_ms: i64,
}

/// Fixed-window counters per (policy, address). Per instance: behind a load balancer
/// each instance counts on its own, so the effective limit is multiplied by the number
/// of instances; the per-account counter in the database is shared.
#[derive(Default)]
pub(crate) struct Limiter {
    windows: Mutex<HashMap<(IpPolicy, String), (i64, u32)>>,
}

/// The part of an address one client controls: a whole IPv4 address, an IPv6 /64.
fn client_key(origin: &Origin) -> String {
    match origin.ip.as_deref().map(str::parse::<IpAddr>) {
        Some(Ok(IpAddr::V6(v6))) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Some(Ok(IpAddr::V6(v6))) => v6
            .to_ipv4_mapped()
            .map(|v| v.to_string())
            .unwrap_or_default(),
        Some(Ok(ip)) => ip.to_string(),
        _ => String::from("?"),
    }
}

impl Limiter {
    /// Counts a hit of `policy` from `origin`; refuses once the window's count is spent.
    /// `count == false` only checks.
    pub(crate) fn hit(
        &self,
        limits: &IpLimits,
        policy: IpPolicy,
        origin: &Origin,
        now: i64,
        count: bool,
    ) -> Result<()> {
        let (max, window) = limits.of(policy);
        let Ok(mut map) = self.windows.lock() else {
            return Err(AppError::Internal("limiter lock poisoned".into()));
        };
        if map.len() > 100_000 {
            // Forget windows that are over, so memory stays bounded.
            map.retain(|(p, _), (start, _)| now - *start < limits.of(*p).1);
        }
        let e = map.entry((policy, client_key(origin))).or_insert((now, 0));
        if now - e.0 >= window {
            *e = (now, 0);
        }
        if e.1 >= max {
            return Err(AppError::RateLimited {
                code: "rate_limited",
                retry_after_ms: Some(e.0 + window - now),
            });
        }
        if count {
            e.1 += 1;
        }
        Ok(())
    }
}

/// Turns a refused login attempt into the error the client sees. The same for an
/// address with no account, so the answer reveals nothing.
pub(crate) fn refusal_error(r: Refusal) -> AppError {
    match r {
        Refusal::Delayed(ms) => AppError::RateLimited {
            code: "login_delayed",
            retry_after_ms: Some(ms),
        },
        Refusal::Locked => AppError::RateLimited {
            code: "login_locked",
            retry_after_ms: None,
        },
        Refusal::DailyCap(ms) => AppError::RateLimited {
            code: "login_locked",
            retry_after_ms: Some(ms.max(0)),
        },
    }
}

/// The counter key for what was typed as an e-mail address.
pub(crate) fn login_key(typed_email: &str) -> String {
    crate::hash_token(&format!("login\0{}", typed_email.trim().to_lowercase()))
}
