//! Privacy rights: download all my data, correct my name, delete my account, ask the
//! operator (stop of use, corrections); the operator's list of open requests.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tekkan_app::{DataExport, PrivacyRequest};

use crate::AppState;
use crate::error::WebResult;
use crate::extract::ApiJson;
use crate::routes::Routes;
use crate::session::Auth;

pub fn routes() -> Routes {
    Routes::new()
        .get("/api/v1/me/export", export)
        .patch("/api/v1/me", rename)
        .delete("/api/v1/me", delete)
        .post("/api/v1/me/privacy-requests", request)
        .get("/api/v1/admin/privacy-requests", open_requests)
}

/// The ZIP as a download that no cache keeps.
pub fn zip_response(e: DataExport) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/zip".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", e.filename),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        e.zip,
    )
        .into_response()
}

async fn export(State(st): State<AppState>, Auth(a): Auth) -> WebResult<Response> {
    Ok(zip_response(st.app.export_my_data(&a).await?))
}

#[derive(Deserialize)]
struct RenameReq {
    display_name: String,
}

async fn rename(
    State(st): State<AppState>,
    Auth(a): Auth,
    ApiJson(r): ApiJson<RenameReq>,
) -> WebResult<StatusCode> {
    st.app.rename_me(&a, &r.display_name).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn delete(State(st): State<AppState>, Auth(a): Auth) -> WebResult<StatusCode> {
    st.app.delete_my_account(&a).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct RequestReq {
    kind: String,
    #[serde(default)]
    details: String,
}

#[derive(Serialize)]
struct RequestRes {
    id: String,
}

async fn request(
    State(st): State<AppState>,
    Auth(a): Auth,
    ApiJson(r): ApiJson<RequestReq>,
) -> WebResult<(StatusCode, Json<RequestRes>)> {
    let id = st.app.request_privacy(&a, &r.kind, &r.details).await?;
    Ok((StatusCode::CREATED, Json(RequestRes { id })))
}

async fn open_requests(
    State(st): State<AppState>,
    Auth(a): Auth,
) -> WebResult<Json<Vec<PrivacyRequest>>> {
    Ok(Json(st.app.privacy_requests(&a).await?))
}
