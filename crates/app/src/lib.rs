//! TEKKAN's use cases. Each public method checks, on the server, that the caller may do
//! what they ask (deny by default), validates input through `tekkan-core`, and commits
//! its change together with the audit events that describe it.
//!
//! The JSON API and the HTML pages both call these methods, so a rule lives in one place.

mod actor;
mod announcements;
mod attendance;
mod audit_export;
mod auth;
mod backup;
mod clubs;
mod comments;
pub mod containment;
mod delivery;
mod demo;
pub mod detect;
mod error;
mod events;
mod feeds;
mod health;
mod ical;
pub mod idempotency;
mod inbox;
pub mod incidents;
mod invitations;
mod limits;
mod login_guard;
mod members;
pub mod metrics;
mod mfa;
mod notify;
mod occurrences;
mod passkey_manage;
mod passkeys;
mod password;
mod personal;
mod polls;
mod privacy;
mod reads;
mod recovery;
mod reminders;
mod report;
mod security_mail;
mod sessions;
mod signing;
mod signup;
mod subgroups;
mod token;
pub mod totp;
mod transparency;
mod vault;
mod zip;

use std::sync::Arc;

use tekkan_storage::{Db, KeyStore};

pub use actor::{Actor, Origin};
pub use announcements::{AnnouncementInput, AnnouncementView, ConfirmationReceipt};
pub use attendance::{AnswerInput, OPENS_BEFORE_MS, OccurrenceView, RollCall, RollCallLine};
pub use auth::{NewSession, SessionSettings};
pub use clubs::ClubOverview;
pub use comments::Parent;
pub use delivery::{Delivery, notice_text};
pub use demo::scale::{BenchSession, ScaleOptions, ScaleReport};
pub use demo::{DemoLogin, DemoOptions};
pub use error::AppError;
pub use events::{Details, EventInput, RepeatInput, TimesInput};
pub use invitations::{InvitationPreview, InvitationSpec, JoinOutcome};
pub use limits::{IpLimits, IpPolicy, LimitSettings};
pub use members::{Roster, RosterEntry};
pub use mfa::{LoginOutcome, MfaStatus, REAUTH_WINDOW_MS, TotpSetup};
pub use notify::{CHANNELS, Channels, NoticeKind, PREF_GROUPS};
pub use passkeys::{PasskeyInfo, PasskeySettings};
pub use password::HashSettings;
pub use personal::{Profile, ProfileInput};
pub use polls::{PollInput, PollView};
pub use privacy::{DataExport, PrivacyRequest};
pub use reads::{AuditFilter, AuditLine, READS_AT_RISK};
pub use report::{MemberRate, Report, report_csv};
pub use sessions::SessionInfo;
pub use signing::{SIGNED_KINDS, SignatureInput, SigningOptions};
pub use signup::SignUp;
pub use subgroups::{SubgroupView, Subgroups};
pub use token::{hash_token, random_token};
pub use transparency::{Inclusion, LogKey};
pub use vault::{KeyLoader, MasterKey, Vault};

pub type Result<T, E = AppError> = std::result::Result<T, E>;

/// Settings the use cases need, resolved by the command line from config.
#[derive(Clone, Debug)]
pub struct AppSettings {
    pub sessions: SessionSettings,
    pub hashing: HashSettings,
    /// Whether anyone may sign up without an invitation.
    pub open_signup: bool,
    /// How long the first-run setup URL stays valid.
    pub setup_token_ttl_ms: i64,
    /// How links in e-mails and pushes begin (`https://tekkan.example.jp`).
    pub base_url: String,
    pub limits: LimitSettings,
    /// Whether the operator and privileged roles must use a second factor. Off only
    /// for development and for tests of unrelated features.
    pub enforce_mfa: bool,
    /// Below this age a guardian's consent comes before personal fields are kept.
    pub minor_age: i16,
    /// Where passkeys are valid.
    pub passkeys: PasskeySettings,
    /// New accounts wait for their address to be confirmed (when e-mail is on).
    pub confirm_signup: bool,
    /// Detection rules' thresholds and modes (`[detect]`).
    pub detect: detect::Thresholds,
    /// Where alerts to the operator go (`[alerts]`).
    pub alerts: detect::AlertSettings,
}

impl Default for AppSettings {
    fn default() -> Self {
        Self {
            sessions: SessionSettings::default(),
            hashing: HashSettings::default(),
            open_signup: false,
            setup_token_ttl_ms: 60 * 60 * 1000,
            base_url: String::new(),
            limits: LimitSettings {
                unlock_ttl_ms: 60 * 60 * 1000,
                reset_ttl_ms: 30 * 60 * 1000,
                ..LimitSettings::default()
            },
            enforce_mfa: true,
            minor_age: 16,
            passkeys: PasskeySettings::default(),
            confirm_signup: true,
            detect: detect::Thresholds::default(),
            alerts: detect::AlertSettings::default(),
        }
    }
}

/// The application: cheap to clone, shared by every request.
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    settings: AppSettings,
    hasher: password::Hasher,
    delivery: Delivery,
    vault: Vault,
    keystore: KeyStore,
    /// Uploaded files: a directory or a bucket (`[files]`).
    files: tekkan_files::Files,
    log: transparency::LogKey,
    reads: reads::ReadLog,
    health: health::Health,
    /// The duties this instance holds (see [`tekkan_storage::Db::try_lead`]).
    leading: std::sync::Mutex<std::collections::BTreeSet<&'static str>>,
    /// The containment switches as last read (see [`containment`]).
    containment: containment::Watched,
    epochs: containment::Epochs,
    /// Open published incidents as last read (see [`incidents`]).
    incidents: incidents::OpenIncidents,
    detector: detect::Detector,
}

impl App {
    /// The application over `db`, sealing personal data with `vault`'s master key and
    /// sending e-mail and/or Web Push through `delivery`. Refuses a master key that does
    /// not open this database's data, before anything is read or written.
    pub async fn open(
        db: Db,
        keystore: KeyStore,
        settings: AppSettings,
        delivery: Delivery,
        vault: Vault,
        log_key: &[u8; 32],
        files: tekkan_files::Files,
    ) -> Result<Self> {
        match db.master_key_check().await? {
            Some((id, sealed)) => vault.verify_check(&id, &sealed)?,
            None => {
                let mut tx = db.begin().await?;
                let (id, check) = vault.check_value()?;
                tx.insert_master_key_check(&id, &check).await?;
                let ev = crate::actor::system_event(
                    "keys.master_registered",
                    format!("master_key:{id}"),
                    &id,
                );
                tx.commit(vec![ev]).await?;
            }
        }
        let committed = Self::commit_legacy_passkeys(&db).await?;
        if committed > 0 {
            tracing::info!(
                committed,
                "passkey keys enrolled earlier committed to the audit log"
            );
        }
        let moved = Self::move_legacy_data_keys(&db, &keystore).await?;
        if moved > 0 {
            tracing::info!(moved, "data keys moved from the database to the key store");
        }
        let hasher = password::Hasher::new(&settings.hashing)?;
        let log = transparency::LogKey::open(&db, &vault, log_key, &settings.base_url).await?;
        let settings_detect = settings.detect.clone();
        Ok(Self {
            inner: Arc::new(Inner {
                db,
                settings,
                hasher,
                delivery,
                vault,
                keystore,
                files,
                log,
                reads: reads::ReadLog::default(),
                health: health::Health::default(),
                leading: Default::default(),
                containment: Default::default(),
                epochs: Default::default(),
                incidents: Default::default(),
                detector: detect::Detector::new(settings_detect),
            }),
        })
    }

    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    pub fn settings(&self) -> &AppSettings {
        &self.inner.settings
    }

    pub(crate) fn channels(&self) -> Channels {
        Channels {
            email: self.inner.delivery.mailer.is_some(),
            push: self.inner.delivery.pusher.is_some(),
        }
    }

    pub(crate) fn vault(&self) -> &Vault {
        &self.inner.vault
    }

    pub(crate) fn keystore(&self) -> &KeyStore {
        &self.inner.keystore
    }

    /// Where uploaded files are kept.
    pub fn files(&self) -> &tekkan_files::Files {
        &self.inner.files
    }

    /// The account's data key (created on first use), from the key store.
    pub(crate) async fn data_key(
        &self,
        account: tekkan_core::AccountId,
        now: i64,
    ) -> Result<vault::DataKey> {
        self.vault().data_key(self.keystore(), account, now).await
    }

    pub(crate) fn delivery(&self) -> &Delivery {
        &self.inner.delivery
    }

    fn hasher(&self) -> &password::Hasher {
        &self.inner.hasher
    }

    /// Counts a request of `policy` from `origin`, refusing it over the limit.
    pub(crate) async fn limit(&self, policy: IpPolicy, origin: &Origin) -> Result<()> {
        self.address_window(policy, origin, true).await
    }

    /// Whether `origin` is already over `policy`'s limit, without counting.
    pub(crate) async fn over_limit(&self, policy: IpPolicy, origin: &Origin) -> Result<()> {
        self.address_window(policy, origin, false).await
    }

    /// Notes whether this instance holds `duty` (for `/metrics` and the tests).
    pub fn set_leading(&self, duty: &'static str, held: bool) {
        if let Ok(mut l) = self.inner.leading.lock() {
            match held {
                true => l.insert(duty),
                false => l.remove(duty),
            };
        }
    }

    /// The duties this instance holds now.
    pub fn leading(&self) -> Vec<&'static str> {
        self.inner
            .leading
            .lock()
            .map(|l| l.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Drops per-address windows that are over (housekeeping, run hourly).
    pub async fn forget_old_address_windows(&self) -> Result<u64> {
        let l = &self.settings().limits.ip;
        let longest = [
            IpPolicy::Login,
            IpPolicy::LoginFailure,
            IpPolicy::SignUp,
            IpPolicy::Invitation,
            IpPolicy::Reset,
            IpPolicy::Export,
        ]
        .iter()
        .map(|p| l.of(*p).1)
        .max()
        .unwrap_or_default();
        Ok(self
            .db()
            .forget_address_windows(tekkan_storage::now_ms() - longest)
            .await?)
    }

    /// [`App::limit`] inside an open write (which holds the write lock the window needs).
    pub(crate) async fn limit_in(
        &self,
        tx: &mut tekkan_storage::WriteTx,
        policy: IpPolicy,
        origin: &Origin,
    ) -> Result<()> {
        let (max, window_ms) = self.settings().limits.ip.of(policy);
        let hit = tx
            .hit_address_window(
                policy.name(),
                &limits::client_key(origin),
                tekkan_storage::now_ms(),
                (i64::from(max), window_ms),
            )
            .await?;
        window_outcome(hit)
    }

    async fn address_window(&self, policy: IpPolicy, origin: &Origin, count: bool) -> Result<()> {
        let (max, window_ms) = self.settings().limits.ip.of(policy);
        let hit = self
            .db()
            .hit_address_window(
                policy.name(),
                &limits::client_key(origin),
                tekkan_storage::now_ms(),
                (i64::from(max), window_ms),
                count,
            )
            .await?;
        window_outcome(hit)
    }
}

fn window_outcome(hit: tekkan_storage::WindowHit) -> Result<()> {
    match hit {
        tekkan_storage::WindowHit::Allowed => Ok(()),
        tekkan_storage::WindowHit::Refused { retry_after_ms } => Err(AppError::RateLimited {
            code: "rate_limited",
            retry_after_ms: Some(retry_after_ms),
        }),
    }
}
