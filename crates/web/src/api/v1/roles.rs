//! What each role may do, as the server enforces it: for clients that show or explain
//! roles without hard-coding them.

use axum::Json;
use serde::Serialize;
use tekkan_core::{Permission, Role};

use crate::routes::Routes;

pub fn routes() -> Routes {
    Routes::new().get("/api/v1/roles", list)
}

#[derive(Serialize)]
struct RoleRes {
    role: Role,
    permissions: Vec<&'static str>,
    /// Roles a holder of this role may hand out.
    may_grant: Vec<Role>,
}

async fn list() -> Json<Vec<RoleRes>> {
    Json(
        Role::ALL
            .into_iter()
            .map(|role| RoleRes {
                role,
                permissions: Permission::ALL
                    .into_iter()
                    .filter(|p| role.allows(*p))
                    .map(Permission::as_str)
                    .collect(),
                may_grant: Role::ALL
                    .into_iter()
                    .filter(|r| role.may_grant(*r))
                    .collect(),
            })
            .collect(),
    )
}
