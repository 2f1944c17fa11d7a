//! Account protection: lifting a login lockout with the e-mailed token.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use crate::AppState;
use crate::error::WebResult;
use crate::extract::ApiJson;
use crate::routes::Routes;
use crate::session::Caller;

pub fn routes() -> Routes {
    Routes::new().post("/api/v1/unlock", unlock)
}

#[derive(Deserialize)]
struct TokenReq {
    token: String,
}

async fn unlock(
    State(st): State<AppState>,
    c: Caller,
    ApiJson(r): ApiJson<TokenReq>,
) -> WebResult<StatusCode> {
    st.app.unlock_login(&r.token, &c.origin).await?;
    Ok(StatusCode::NO_CONTENT)
}
