//! `/api/v1`: the same operations as the pages, as JSON, with one error shape:
//! `{"error": {"status", "code", "message", "field", "request_id"}}`.

mod account;
mod alerts;
mod announcements;
pub mod audit;
mod auth;
mod breach;
mod clubs;
mod containment;
pub mod events;
pub mod feeds;
mod incidents;
pub mod invitations;
mod members;
mod notifications;
mod passkeys;
mod personal;
mod polls;
pub mod privacy;
mod roles;
mod roll_call;
mod security;
pub mod signing;
mod subgroups;
mod transparency;

use serde::Serialize;
use tekkan_core::MembershipId;

use crate::routes::Routes;

pub fn routes() -> Routes {
    Routes::new()
        .merge(auth::routes())
        .merge(clubs::routes())
        .merge(members::routes())
        .merge(subgroups::routes())
        .merge(invitations::routes())
        .merge(roles::routes())
        .merge(events::routes())
        .merge(roll_call::routes())
        .merge(notifications::routes())
        .merge(announcements::routes())
        .merge(polls::routes())
        .merge(feeds::routes())
        .merge(security::routes())
        .merge(account::routes())
        .merge(personal::routes())
        .merge(privacy::routes())
        .merge(passkeys::routes())
        .merge(transparency::routes())
        .merge(audit::routes())
        .merge(signing::routes())
        .merge(containment::routes())
        .merge(incidents::routes())
        .merge(breach::routes())
        .merge(alerts::routes())
}

/// A member named in a list.
#[derive(Serialize)]
pub struct Named {
    pub membership_id: MembershipId,
    pub display_name: String,
}

pub fn named(v: Vec<(MembershipId, String)>) -> Vec<Named> {
    v.into_iter()
        .map(|(membership_id, display_name)| Named {
            membership_id,
            display_name,
        })
        .collect()
}

/// The operator only, checked before anything in the request is looked at, so that
/// everyone else learns nothing (not even which switches or incidents exist).
pub(crate) fn operator(a: &tekkan_app::Actor) -> Result<(), crate::error::WebError> {
    match a.is_operator {
        true => Ok(()),
        false => Err(tekkan_app::AppError::Forbidden.into()),
    }
}
