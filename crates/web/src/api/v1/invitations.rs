//! Invitation links: create (with link and QR code), list, revoke, preview, accept.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tekkan_app::{InvitationPreview, InvitationSpec, JoinOutcome};
use tekkan_core::{ClubId, InvitationId, Role, SubgroupId};
use tekkan_storage::{Invitation, now_ms};

use crate::AppState;
use crate::error::{WebError, WebResult};
use crate::extract::{ApiJson, Ids};
use crate::routes::Routes;
use crate::session::{Auth, Caller};

pub fn routes() -> Routes {
    Routes::new()
        .get("/api/v1/clubs/{club}/invitations", list)
        .post("/api/v1/clubs/{club}/invitations", create)
        .delete("/api/v1/clubs/{club}/invitations/{invitation}", revoke)
        .get("/api/v1/invitations/{token}", preview)
        .post("/api/v1/invitations/{token}/accept", accept)
}

/// Where an invitation stands at `now`.
pub fn state_of(i: &Invitation, now: i64) -> &'static str {
    if i.revoked_at.is_some() {
        "revoked"
    } else if i.expires_at <= now {
        "expired"
    } else if i.uses >= i.max_uses {
        "used_up"
    } else {
        "active"
    }
}

#[derive(Serialize)]
struct InvitationRes {
    id: InvitationId,
    role: Role,
    requires_approval: bool,
    max_uses: i64,
    uses: i64,
    expires_at: i64,
    subgroup_id: Option<SubgroupId>,
    created_at: i64,
    revoked_at: Option<i64>,
    state: &'static str,
}

impl From<Invitation> for InvitationRes {
    fn from(i: Invitation) -> Self {
        let state = state_of(&i, now_ms());
        Self {
            id: i.id,
            role: i.role,
            requires_approval: i.requires_approval,
            max_uses: i.max_uses,
            uses: i.uses,
            expires_at: i.expires_at,
            subgroup_id: i.subgroup_id,
            created_at: i.created_at,
            revoked_at: i.revoked_at,
            state,
        }
    }
}

async fn list(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids(club): Ids<ClubId>,
) -> WebResult<Json<Vec<InvitationRes>>> {
    Ok(Json(
        st.app
            .invitations(&a, club)
            .await?
            .1
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

#[derive(Deserialize)]
struct CreateReq {
    role: Role,
    #[serde(default = "default_hours")]
    expires_in_hours: i64,
    #[serde(default = "default_uses")]
    max_uses: i64,
    #[serde(default)]
    requires_approval: bool,
    subgroup_id: Option<SubgroupId>,
}

fn default_hours() -> i64 {
    168
}

fn default_uses() -> i64 {
    50
}

/// The new invitation, its secret link (shown only now) and the link as a QR code.
#[derive(Serialize)]
struct CreatedRes {
    invitation: InvitationRes,
    token: String,
    url: String,
    qr_svg: String,
}

/// The link for a token.
pub fn join_url(st: &AppState, token: &str) -> String {
    format!("{}/join/{token}", st.config.base_url.trim_end_matches('/'))
}

/// An SVG QR code of `url`.
pub fn qr_svg(url: &str) -> Result<String, WebError> {
    let code = qrcode::QrCode::new(url.as_bytes())
        .map_err(|e| tekkan_app::AppError::Internal(format!("qr: {e}")))?;
    Ok(code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build())
}

async fn create(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids(club): Ids<ClubId>,
    ApiJson(r): ApiJson<CreateReq>,
) -> WebResult<(StatusCode, Json<CreatedRes>)> {
    let spec = InvitationSpec {
        role: r.role,
        expires_in_hours: r.expires_in_hours,
        max_uses: r.max_uses,
        requires_approval: r.requires_approval,
        subgroup: r.subgroup_id,
    };
    let (inv, token) = st.app.create_invitation(&a, club, spec).await?;
    let url = join_url(&st, &token);
    let qr_svg = qr_svg(&url)?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedRes {
            invitation: inv.into(),
            token,
            url,
            qr_svg,
        }),
    ))
}

async fn revoke(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, id)): Ids<(ClubId, InvitationId)>,
) -> WebResult<StatusCode> {
    st.app.revoke_invitation(&a, club, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn preview(
    State(st): State<AppState>,
    c: Caller,
    Ids(token): Ids<String>,
) -> WebResult<Json<InvitationPreview>> {
    Ok(Json(st.app.preview_invitation(&token, &c.origin).await?))
}

async fn accept(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids(token): Ids<String>,
) -> WebResult<Json<JoinOutcome>> {
    Ok(Json(st.app.accept_invitation(&a, &token).await?))
}
