//! Who is asking, and from where: the "who" and "from where" of every audit entry.

use serde::Serialize;
use tekkan_audit::Event;
use tekkan_core::{AccountId, ClubId, SessionId};

/// Where a request came from. Also the whole context of an anonymous request.
#[derive(Clone, Debug, Default)]
pub struct Origin {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The device token this client holds from an earlier sign-in (a cookie, or the
    /// API's `device_token`): never audited, only checked.
    pub device: Option<String>,
}

/// A logged-in caller.
#[derive(Clone, Debug)]
pub struct Actor {
    pub account: AccountId,
    pub session: SessionId,
    pub display_name: String,
    pub email: String,
    pub is_operator: bool,
    pub origin: Origin,
    /// When this session last proved its owner (login or re-authentication).
    pub reauth_at: i64,
    /// The account has a confirmed second factor.
    pub has_mfa: bool,
    /// The account must have one (operator, privileged role, or a club's rule).
    pub mfa_required: bool,
}

impl Actor {
    /// Must add a second factor before doing anything else.
    pub fn must_enrol_mfa(&self) -> bool {
        self.mfa_required && !self.has_mfa
    }
}

/// An event of the server itself (no person, no request): start-up, key and log
/// maintenance, the operator's decisions taken from the command line.
pub(crate) fn system_event(action: &str, target: String, change: &impl Serialize) -> Event {
    event(None, None, &Origin::default(), None, action, target, change)
}

/// Builds an audit event. `change` is serialised to JSON and only its digest is kept.
pub(crate) fn event(
    account: Option<AccountId>,
    session: Option<SessionId>,
    origin: &Origin,
    club: Option<ClubId>,
    action: &str,
    target: String,
    change: &impl Serialize,
) -> Event {
    let bytes = serde_json::to_vec(change).unwrap_or_default();
    Event {
        actor_account: account.map(|a| a.to_string()),
        actor_session: session.map(|s| s.to_string()),
        club: club.map(|c| c.to_string()),
        action: action.to_owned(),
        target,
        change_digest: Event::digest(&bytes),
        ip: origin.ip.clone(),
        // Cap what a client can make us store.
        user_agent: origin
            .user_agent
            .as_ref()
            .map(|u| u.chars().take(256).collect()),
    }
}

impl Actor {
    /// An audit event done by this actor.
    pub(crate) fn event(
        &self,
        club: Option<ClubId>,
        action: &str,
        target: String,
        change: &impl Serialize,
    ) -> Event {
        event(
            Some(self.account),
            Some(self.session),
            &self.origin,
            club,
            action,
            target,
            change,
        )
    }
}

impl Actor {
    /// The audit event of an action that may have been signed: unsigned, as usual; signed,
    /// as `<action>.signed` with the signed record as its digest, the record kept in the
    /// same transaction.
    pub(crate) async fn maybe_signed(
        &self,
        tx: &mut tekkan_storage::WriteTx,
        club: Option<ClubId>,
        action: &str,
        target: String,
        change: &impl Serialize,
        signed: Option<tekkan_audit::action::SignedAction>,
    ) -> crate::Result<Event> {
        let Some(record) = signed else {
            return Ok(self.event(club, action, target, change));
        };
        let digest = record.digest();
        tx.insert_signed_action(&tekkan_audit::to_hex(&digest), &record.to_json())
            .await?;
        let mut ev = self.event(
            club,
            &format!("{action}{}", tekkan_audit::action::SIGNED_SUFFIX),
            target,
            change,
        );
        ev.change_digest = digest;
        Ok(ev)
    }
}
