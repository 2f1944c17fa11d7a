//! Extractors whose rejections are [`WebError`]s, so malformed input gets the one error
//! shape; and the page context every template receives.

use axum::extract::{FromRequest, FromRequestParts, Query};
use axum::http::request::Parts;
use serde::Deserialize;

use crate::error::WebError;
use crate::frame::Nonce;
use crate::i18n::{Lang, Tr};
use crate::session::{Caller, lang_of};

/// JSON body; a malformed one is a 400, a wrong content type a 415, too large a 413.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(WebError))]
pub struct ApiJson<T>(pub T);

/// Form body of a page.
#[derive(FromRequest)]
#[from_request(via(axum::Form), rejection(WebError))]
pub struct PageForm<T>(pub T);

/// Query parameters; malformed ones are a 400.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(WebError))]
pub struct Params<T>(pub T);

/// Path parameters; a malformed id is a 404 like an unknown one.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(WebError))]
pub struct Ids<T>(pub T);

/// What every page template needs: language, nonce, CSRF token, who is logged in, and a
/// one-off message named in `?msg=`.
#[derive(Clone, Debug)]
pub struct PageCtx {
    pub t: Tr,
    pub lang: &'static str,
    /// The language the switch offers.
    pub other_lang: &'static str,
    /// This page's path, to come back to after switching language.
    pub path: String,
    pub nonce: String,
    pub csrf: String,
    pub user: Option<String>,
    /// Logged in without a second factor: invited to add one.
    pub suggest_mfa: bool,
    pub msg: Option<&'static str>,
    /// A published incident that concerns this person: (title, state), in their
    /// language.
    pub banner: Option<(String, &'static str)>,
    /// The operator is reached by no alert channel.
    pub alerting_down: bool,
}

#[derive(Deserialize)]
struct MsgQuery {
    msg: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for PageCtx {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let lang: Lang = lang_of(&parts.headers);
        let t = Tr(lang);
        let nonce = parts
            .extensions
            .get::<Nonce>()
            .map(|n| n.0.clone())
            .unwrap_or_default();
        let msg = Query::<MsgQuery>::try_from_uri(&parts.uri)
            .ok()
            .and_then(|q| q.0.msg)
            .map(|m| format!("msg.{m}"))
            .filter(|k| Tr::has(k))
            .map(|k| t.s(&k));
        let banner = caller.banner.as_ref().map(|b| {
            let title = match lang {
                Lang::Ja => b.title.clone(),
                Lang::En => b.title_en.clone(),
            };
            (title, t.s(&format!("incident.state.{}", b.state)))
        });
        Ok(Self {
            alerting_down: caller.alerting_down,
            banner,
            t,
            lang: lang.code(),
            other_lang: lang.other().code(),
            path: parts.uri.path().to_owned(),
            nonce,
            csrf: caller.csrf,
            // On the home pages only, until put off on this device.
            suggest_mfa: caller.actor.as_ref().is_some_and(|a| !a.has_mfa)
                && matches!(parts.uri.path(), "/" | "/clubs" | "/schedule")
                && crate::session::read_cookie(
                    &parts.headers,
                    crate::pages::security::LATER_COOKIE,
                )
                .is_none(),
            user: caller.actor.map(|a| a.display_name),
            msg,
        })
    }
}
