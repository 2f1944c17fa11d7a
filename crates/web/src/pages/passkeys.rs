//! Passkeys on the pages: the browser's answer (from `app.js`) arrives in a hidden form
//! field, so that signing in sets the session cookie like a password login does.

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;

use super::auth::replace_session;
use super::form_error;
use super::security::outcome;
use crate::AppState;
use crate::error::{WebError, WebResult};
use crate::extract::{Ids, PageCtx, PageForm};
use crate::routes::Routes;
use crate::session::{Auth, Caller};

pub fn routes() -> Routes {
    Routes::new()
        .post("/login/passkey", sign_in)
        .post("/settings/security/passkeys", register)
        .post("/settings/security/passkeys/{passkey}/remove", remove)
        .post("/settings/security/reauth/passkey", reauth)
        .post("/settings/security/password/remove", remove_password)
}

#[derive(Deserialize)]
struct CredentialForm {
    #[serde(default)]
    credential: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    next: String,
}

async fn sign_in(
    State(st): State<AppState>,
    c: Caller,
    p: PageCtx,
    PageForm(f): PageForm<CredentialForm>,
) -> WebResult<Response> {
    match st.app.passkey_sign_in(&f.credential, &c.origin).await {
        Ok(s) => replace_session(&st, &c, &s, &f.next).await,
        Err(e) => {
            let e = WebError::from(e);
            let error = form_error(&p, &e);
            let mut res = super::auth::login_page(p, &f.next, error)?;
            *res.status_mut() = e.info().status;
            Ok(res)
        }
    }
}

async fn register(
    State(st): State<AppState>,
    Auth(a): Auth,
    p: PageCtx,
    PageForm(f): PageForm<CredentialForm>,
) -> WebResult<Response> {
    let name = match f.name.trim() {
        "" => "passkey",
        n => n,
    };
    let r = st
        .app
        .finish_passkey_registration(&a, name, &f.credential)
        .await;
    let mut a = a;
    a.has_mfa = a.has_mfa || r.is_ok();
    outcome(&st, &a, p, r, |info| (None, info.recovery_codes)).await
}

async fn remove(
    State(st): State<AppState>,
    Auth(a): Auth,
    p: PageCtx,
    Ids(id): Ids<String>,
) -> WebResult<Response> {
    let r = st.app.remove_passkey(&a, &id).await;
    outcome(&st, &a, p, r, |_| (None, Vec::new())).await
}

async fn reauth(
    State(st): State<AppState>,
    Auth(a): Auth,
    p: PageCtx,
    PageForm(f): PageForm<CredentialForm>,
) -> WebResult<Response> {
    match st.app.passkey_reauth(&a, &f.credential).await {
        Ok(()) => Ok(super::see_other("/settings/security")),
        Err(e) => outcome(&st, &a, p, Err::<(), _>(e), |_| (None, Vec::new())).await,
    }
}

async fn remove_password(
    State(st): State<AppState>,
    Auth(a): Auth,
    p: PageCtx,
) -> WebResult<Response> {
    let r = st.app.remove_password(&a).await;
    outcome(&st, &a, p, r, |_| (None, Vec::new())).await
}
