//! The admin API: change flags without a deploy.
//!
//! # Example
//!
//! ```
//! use axum::Router;
//! use flags_middleware::Flags;
//! use flags_middleware::admin::{AdminConfig, Role};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let flags = Flags::from_toml_str("[new_checkout_flow]\nrollout = 5\n", "flags.toml")?;
//! let app: Router = Router::new().nest_service(
//!     "/admin/flags",
//!     flags.admin_router(AdminConfig::new().token("ops", "a-long-random-secret", Role::Write)),
//! );
//! # Ok(()) }
//! ```
//!
//! Mount it with `nest_service`: the root then answers at both
//! `/admin/flags` and `/admin/flags/` (`POST $F/` creates a flag). With
//! axum's `nest` a router's root is reachable only without the trailing
//! slash, and no route inside the nested router can change that.
//!
//! # Endpoints
//!
//! Paths are relative to where the router is nested. The web page,
//! `GET /_ui/` (a browser opening `/` is sent there), needs no token: it
//! signs in in the browser and calls the endpoints below. Every other request needs
//! `Authorization: Bearer <token>` (the scheme in any case); `GET`s need a read or write token, the
//! rest a write token. JSON in and out.
//!
//! | method and path | does | body |
//! |---|---|---|
//! | `GET /` | every flag: definition (TOML shape and Unleash shape), counters per arm, client-side exposures reported by Unleash SDKs (`client_exposures`) | |
//! | `POST /` | creates a flag (201; 409 if it exists) | `{"name": "x", "rollout": 5}` or an Unleash feature |
//! | `GET /{name}` | one flag | |
//! | `PUT /{name}` | replaces its definition | `{"rollout": 20, "when": {"beta": true}}` or an Unleash feature (`{"enabled": true, "strategies": [..]}`) |
//! | `DELETE /{name}` | deletes it (400 while others require it) | |
//! | `POST /{name}/kill` | off for everyone, now | |
//! | `POST /{name}/enable` | on again | |
//! | `PUT /{name}/rollout` | sets the rollout percentage | `{"percent": 25}` |
//! | `PUT /{name}/users` | sets the user list | `{"users": ["user_123"]}` |
//! | `GET /_status` | source, watch mode, version, last reload error | |
//! | `GET /_whoami` | the caller's token: `{"name": "ops", "role": "write"}` | |
//! | `GET /_audit?limit=50&offset=0[&flag=name]` | the audit log, newest first; with `flag`, that flag's entries only | |
//! | `GET /_metrics` | the counters, version and guard verdicts in Prometheus' text format ([`export::Prometheus`](crate::export::Prometheus)) | |
//! | `PUT /{name}/guard` | the rollout guard watches the flag (`false`: stops) | `true` or `{"min_difference": "2%", "window": "10m"}` |
//! | `DELETE /{name}/guard` | the guard stops watching it (its plan goes too) | |
//! | `PUT /{name}/plan` | the guard walks this plan | `"gradual"` or `[{"percent": 5, "for": "1d"}, {"percent": 100}]` |
//! | `DELETE /{name}/plan` | no more plan; the flag stays as it is, guarded | |
//! | `GET /_guard` | the rollout guard: per flag, window counts per arm, last verdict, plan position; recent events | |
//! | `POST /{name}/plan/{op}` | plan control: `pause`, `resume`, `restart` (first step, same users) or `abandon` (412 if `If-Match` names another version) | |
//! | `GET /_unknown` | names asked for that no flag has: count, first and last time; `other` beyond the kept 1,000 | |
//! | `GET /_inventory` | per flag: call sites in code, routes that asked and how often, first and last evaluation, requests per arm | |
//! | `GET /_stale?days=30` | potentially stale flags with reasons and call sites; `dead_code`: fallbacks no request reaches | |
//! | `POST /_stale/mark?days=30` | sets Unleash's `stale` field on each of them (audited) | |
//!
//! Every write is one [`Edit`](crate::edit::Edit) committed through a
//! [`Writer`](crate::change::Writer) named after the caller's token, so it
//! is validated, persisted, served and audited like any other change. `PUT
//! /{name}/rollout` is [`Edit::Rollout`](crate::edit::Edit::Rollout): the
//! same rule as a guard plan's step (every percentage rule of the flag
//! moves, if they agree; an everyone-rule becomes a sticky rollout; the
//! flag stays off if it was killed).
//!
//! Flag reads (`GET /`, `GET /{name}`), `/_status` and the answers to
//! flag writes carry the flag-set version in the body and as an `ETag`
//! (`"7"`). Writes take `If-Match: "7"` and answer **412** if the flags
//! moved on; without `If-Match`, single-field writes (kill, enable,
//! rollout, users) are re-applied to the newest definition. Errors are
//! `{"error": code, "message": ..}`, also for what is refused before a
//! handler runs (a body over 2 MB is **413** `too_large`, a bad query
//! **400**, a wrong method **405** with `Allow`, an unknown path **404**);
//! validation errors (**400**) add
//! `errors`, each with `flag`, `field` and `message`. **401** without or with
//! an unknown token, **403** for a read token on a write, **409** while the
//! flags file holds an edit that has not loaded, **503** when no tokens are
//! configured.
//!
//! `PUT`/`DELETE` `/{name}/guard` and `/{name}/plan` edit the flag's
//! definition (audited, persisted, seen by every instance sharing the
//! store); a [`Guard`](crate::guard::Guard) following the flags picks the
//! change up at its next check. `GET /_guard` and `POST /{name}/plan/{op}`
//! need a running guard given with [`AdminConfig::guard`]; without one they
//! answer **404**
//! (`no_guard`). A flag the guard does not watch is **404**
//! (`not_guarded`); an operation the plan's state does not allow (resume a
//! plan that is not paused, anything on a flag without a plan) is **409**.
//!
//! ```text
//! $ curl -s -X PUT localhost:3000/admin/flags/new_checkout_flow/rollout \
//!     -H "Authorization: Bearer $FLAGS_TOKEN" -d '{"percent": 150}'
//! {"error":"invalid","message":"admin api: flag `new_checkout_flow`, field `percent`: a percentage must be between 0 and 100, got 150","errors":[...]}
//! ```

mod auth;
mod error;
mod guard;
mod handlers;
mod hygiene;
mod opt_in;
mod plain_errors;
mod ui;
mod whoami;

use std::sync::Arc;

use axum::routing::{get, post, put};
use axum::Router;

pub use auth::{AdminConfig, AdminConfigError, Role};

use crate::Flags;

/// A path under the admin API that is no endpoint.
async fn no_such_endpoint(uri: http::Uri) -> error::AdminError {
    error::AdminError::NoEndpoint(uri.path().to_owned())
}

impl Flags {
    /// The admin API for these flags, to mount where the app likes
    /// (`.nest_service("/admin/flags", flags.admin_router(config))`, which
    /// serves its root with and without a trailing slash). See
    /// [`crate::admin`] for the endpoints.
    ///
    /// With no tokens in `config` (and no
    /// [`allow_without_auth`](AdminConfig::allow_without_auth)) every API
    /// request is refused with 503 (the web page's files are still served,
    /// to say so), and an error is logged now.
    ///
    /// ```
    /// use axum::{body::Body, http::Request, Router};
    /// use flags_middleware::admin::{AdminConfig, Role};
    /// use flags_middleware::{Context, Flags};
    /// use tower::ServiceExt as _;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let flags = Flags::from_toml_str("[new_checkout_flow]\nrollout = 100\n", "flags.toml").unwrap();
    /// let config = AdminConfig::new().token("ops", "a-long-random-secret", Role::Write);
    /// let app: Router = Router::new().nest_service("/admin/flags", flags.admin_router(config));
    /// let kill = Request::post("/admin/flags/new_checkout_flow/kill")
    ///     .header("authorization", "Bearer a-long-random-secret");
    /// let res = app.oneshot(kill.body(Body::empty()).unwrap()).await.unwrap();
    /// assert_eq!(res.status(), 200);
    /// assert!(!flags.is_enabled("new_checkout_flow", &Context::new().user_id("user_123"))); // off, now
    /// assert_eq!(flags.audit_log(0, 1).unwrap()[0].actor, "ops");
    /// # }
    /// ```
    pub fn admin_router<S>(&self, config: AdminConfig) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let config = Arc::new(config);
        if config.refuses_everyone() {
            tracing::error!(
                target: "flags::admin",
                "the admin API has no tokens configured: every request will be refused"
            );
        }
        let guarded = Router::new()
            .route("/_guard", get(guard::snapshot))
            .route("/{name}/plan/{op}", post(guard::plan))
            .with_state((self.clone(), config.guard.clone()));
        let api = Router::new()
            .route("/", get(handlers::list).post(handlers::create))
            .route("/_status", get(handlers::status))
            .route("/_whoami", get(whoami::whoami))
            .route("/_audit", get(handlers::audit))
            .route("/_unknown", get(hygiene::unknown))
            .route("/_inventory", get(hygiene::inventory))
            .route("/_stale", get(hygiene::stale))
            .route("/_stale/mark", post(hygiene::mark_stale))
            .route(
                "/{name}",
                get(handlers::get_one)
                    .put(handlers::replace)
                    .delete(handlers::delete),
            )
            .route("/{name}/kill", post(handlers::kill))
            .route("/{name}/enable", post(handlers::enable))
            .route("/{name}/rollout", put(handlers::rollout))
            .route("/{name}/users", put(handlers::users))
            .route(
                "/{name}/guard",
                put(opt_in::put_guard).delete(opt_in::delete_guard),
            )
            .route(
                "/{name}/plan",
                put(opt_in::put_plan).delete(opt_in::delete_plan),
            )
            .merge(guarded)
            .merge(
                Router::new()
                    .route("/_metrics", get(crate::export::prometheus::serve))
                    .with_state(
                        crate::export::Prometheus::new(self).maybe_guard(config.guard.clone()),
                    ),
            )
            .fallback(no_such_endpoint)
            .layer(axum::middleware::from_fn_with_state(
                config,
                auth::require_token,
            ))
            .layer(axum::middleware::from_fn(plain_errors::as_json))
            .layer(axum::middleware::map_response(not_stored))
            .with_state(self.clone());
        // The web page's files need no token (they hold no data); a browser
        // opening the root is sent to the page.
        ui::router()
            .merge(api)
            .layer(axum::middleware::from_fn(ui::browser_root))
    }
}

/// Answers hold flag definitions and who changed them, for a token's eyes:
/// no cache (a browser's, a proxy's) keeps a copy.
async fn not_stored(mut res: axum::response::Response) -> axum::response::Response {
    res.headers_mut()
        .entry(http::header::CACHE_CONTROL)
        .or_insert(http::HeaderValue::from_static("no-store"));
    res
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::Router;
    use http::{Request, StatusCode};
    use tower::ServiceExt;

    use super::*;

    const TOKEN: &str = "admin-mount-test-token";

    async fn status(app: &Router, method: &str, path: &str, body: &str) -> StatusCode {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {TOKEN}"))
            .body(Body::from(body.to_owned()))
            .unwrap();
        app.clone().oneshot(req).await.unwrap().status()
    }

    #[tokio::test]
    async fn mounted_as_documented_the_root_answers_with_and_without_a_trailing_slash() {
        let flags = Flags::from_toml_str("[a]\n", "flags.toml").unwrap();
        let config = AdminConfig::new().token("ops", TOKEN, Role::Write);
        let app: Router = Router::new().nest_service("/admin/flags", flags.admin_router(config));

        assert_eq!(
            status(&app, "GET", "/admin/flags", "").await,
            StatusCode::OK
        );
        assert_eq!(
            status(&app, "GET", "/admin/flags/", "").await,
            StatusCode::OK
        );
        let create = r#"{"name": "b", "rollout": 5}"#;
        assert_eq!(
            status(&app, "POST", "/admin/flags/", create).await,
            StatusCode::CREATED
        );
        assert!(flags.snapshot().feature("b").is_some());
        let create = r#"{"name": "c"}"#;
        assert_eq!(
            status(&app, "POST", "/admin/flags", create).await,
            StatusCode::CREATED
        );
        for path in [
            "/admin/flags/b",
            "/admin/flags/_status",
            "/admin/flags/_audit",
        ] {
            assert_eq!(
                status(&app, "GET", path, "").await,
                StatusCode::OK,
                "{path}"
            );
        }
    }
}
