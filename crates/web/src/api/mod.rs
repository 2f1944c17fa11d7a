//! The JSON API. `/api/v1` is versioned; `/healthz` sits beside it for load balancers.

pub mod v1;

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::WebResult;
use crate::routes::Routes;

pub fn routes() -> Routes {
    Routes::new().get("/healthz", healthz).merge(v1::routes())
}

/// Healthy when the database answers.
async fn healthz(State(st): State<AppState>) -> WebResult<Json<Value>> {
    st.app
        .db()
        .operator_exists()
        .await
        .map_err(tekkan_app::AppError::from)?;
    Ok(Json(json!({ "status": "ok" })))
}
