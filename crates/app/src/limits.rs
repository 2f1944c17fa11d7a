//! Throttling: per-address request limits (fixed windows) against credential stuffing
//! and enumeration, and the per-account login counter. Both are kept in the database,
//! so they hold across restarts and across every instance of the service.

use std::net::IpAddr;

use tekkan_core::throttle::{Policy, Refusal};

use crate::{AppError, Origin};

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

impl IpPolicy {
    /// The policy's name in the database.
    pub(crate) fn name(self) -> &'static str {
        match self {
            IpPolicy::Login => "login",
            IpPolicy::LoginFailure => "login_failure",
            IpPolicy::SignUp => "sign_up",
            IpPolicy::Invitation => "invitation",
            IpPolicy::Reset => "reset",
            IpPolicy::Export => "export",
        }
    }
}

impl IpLimits {
    pub(crate) fn of(&self, p: IpPolicy) -> (u32, i64) {
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

/// The part of an address one client controls: a whole IPv4 address, an IPv6 /64.
pub(crate) fn client_key(origin: &Origin) -> String {
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
