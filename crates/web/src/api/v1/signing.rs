//! Passkey-signed actions over HTTP: the options to sign (step 1), and the signature
//! sent back with the action itself, in the `Tekkan-Signature` header (API) or the
//! `_signature` form field (pages), as base64url JSON `{"action", "credential"}`.

use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde::Deserialize;
use serde_json::Value;
use tekkan_app::{SignatureInput, SigningOptions};
use tekkan_core::ClubId;

use crate::AppState;
use crate::error::{WebError, WebResult};
use crate::extract::ApiJson;
use crate::routes::Routes;
use crate::session::Auth;

pub const HEADER: &str = "tekkan-signature";

pub fn routes() -> Routes {
    Routes::new().post("/api/v1/clubs/{club}/signed-actions/options", options)
}

/// Decodes a signature as sent (base64url JSON); malformed is a 400.
pub fn decode(s: &str) -> Result<SignatureInput, WebError> {
    let bad = || WebError::BadRequest("the signature is not base64url JSON");
    let bytes = B64.decode(s.trim()).map_err(|_| bad())?;
    serde_json::from_slice(&bytes).map_err(|_| bad())
}

/// The optional `_signature` form field (empty means none).
pub fn form_signature(v: Option<&str>) -> Result<Option<SignatureInput>, WebError> {
    match v.map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => decode(s).map(Some),
    }
}

/// The optional `Tekkan-Signature` header.
pub struct Signature(pub Option<SignatureInput>);

impl<S: Send + Sync> FromRequestParts<S> for Signature {
    type Rejection = WebError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, WebError> {
        match parts.headers.get(HEADER) {
            None => Ok(Self(None)),
            Some(v) => {
                let s = v
                    .to_str()
                    .map_err(|_| WebError::BadRequest("the signature is not base64url JSON"))?;
                Ok(Self(Some(decode(s)?)))
            }
        }
    }
}

#[derive(Deserialize)]
struct OptionsReq {
    kind: String,
    target: String,
    #[serde(default)]
    fields: Value,
}

async fn options(
    State(st): State<AppState>,
    Auth(a): Auth,
    Path(club): Path<ClubId>,
    ApiJson(r): ApiJson<OptionsReq>,
) -> WebResult<Json<SigningOptions>> {
    if r.target.len() > 200 {
        return Err(WebError::BadRequest("target too long"));
    }
    let fields = match r.fields {
        Value::Null => Value::Object(Default::default()),
        v => v,
    };
    Ok(Json(
        st.app
            .signing_options(&a, &r.kind, club, &r.target, fields)
            .await?,
    ))
}
