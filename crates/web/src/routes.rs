//! A router that remembers what it serves, so that the access-matrix test can fail when
//! an endpoint is added without an entry.

use axum::Router;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{MethodRouter, delete, get, patch, post, put};

use crate::AppState;

/// One method on one path, as written in the router (`/api/v1/clubs/{club}`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint {
    pub method: Method,
    pub path: &'static str,
}

/// Routes plus their list.
#[derive(Default)]
pub struct Routes {
    pub(crate) router: Router<AppState>,
    pub(crate) endpoints: Vec<Endpoint>,
}

macro_rules! verb {
    ($name:ident, $method:ident, $ctor:ident) => {
        pub fn $name<H, T>(self, path: &'static str, h: H) -> Self
        where
            H: Handler<T, AppState>,
            T: 'static,
        {
            self.add(Method::$method, path, $ctor(h))
        }
    };
}

impl Routes {
    pub fn new() -> Self {
        Self::default()
    }

    fn add(mut self, method: Method, path: &'static str, mr: MethodRouter<AppState>) -> Self {
        self.router = self.router.route(path, mr);
        self.endpoints.push(Endpoint { method, path });
        self
    }

    verb!(get, GET, get);
    verb!(post, POST, post);
    verb!(put, PUT, put);
    verb!(patch, PATCH, patch);
    verb!(delete, DELETE, delete);

    pub fn merge(mut self, other: Routes) -> Self {
        self.router = self.router.merge(other.router);
        self.endpoints.extend(other.endpoints);
        self
    }

    pub fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }
}
