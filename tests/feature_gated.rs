//! `#[feature_gated]` handlers over real HTTP (loopback): rollouts, the kill
//! switch, A/B variants, body extractors, service code, and per-arm counters.
//!
//! Which arm each user should get is computed independently with the
//! engine's own evaluation (`Flags::is_enabled` / `Flags::variant`), so the
//! tests check the routing, not a hard-coded list.

mod support;

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{Method, Request, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use flags_middleware::edit::Edit;
use flags_middleware::layer::DecisionLog;
use flags_middleware::layer::{IdHashKey, IdLogging};
use flags_middleware::{feature_gated, Context, FlagContext, Flags, FlagsLayer};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::{Deserialize, Serialize};
use support::Recorder;
use tower::ServiceExt;

const FLAGS: &str = r#"{"version": 2, "features": [
  {"name": "new_checkout_flow", "enabled": true, "strategies": [
    {"name": "flexibleRollout",
     "parameters": {"rollout": "20", "stickiness": "default", "groupId": "new_checkout_flow"}}]},
  {"name": "checkout_experiment", "enabled": true,
   "strategies": [{"name": "default"}],
   "variants": [
     {"name": "blue", "weight": 500, "stickiness": "default"},
     {"name": "green", "weight": 300, "stickiness": "default"},
     {"name": "red", "weight": 200, "stickiness": "default"}]},
  {"name": "new_orders", "enabled": true, "strategies": [
    {"name": "userWithId", "parameters": {"userIds": "alice"}}]},
  {"name": "new_pricing", "enabled": true, "strategies": [
    {"name": "userWithId", "parameters": {"userIds": "alice"}}]},
  {"name": "search_v3", "enabled": true, "strategies": [
    {"name": "userWithId", "parameters": {"userIds": "alice"}}]},
  {"name": "search_v2", "enabled": true, "strategies": [
    {"name": "userWithId", "parameters": {"userIds": "alice,bob"}}]}
]}"#;

const USERS: usize = 2_000;

fn user(i: usize) -> String {
    format!("user-{i}")
}

// ---- the application under test -------------------------------------------

#[derive(Clone)]
struct Db {
    name: &'static str,
}

#[derive(Serialize, Deserialize)]
struct Product {
    id: String,
    db: String,
    checkout: String,
}

#[derive(Serialize, Deserialize)]
struct ProductV2 {
    id: String,
    db: String,
    checkout: String,
    version: u32,
}

/// The new implementation; "broken" products fail, to give the new arm an
/// error rate.
#[feature_gated("new_checkout_flow", fallback = get_product_legacy)]
async fn get_product(
    Path(id): Path<String>,
    State(db): State<Db>,
) -> Result<Json<ProductV2>, StatusCode> {
    if id == "broken" {
        return Err(StatusCode::INTERNAL_SERVER_ERROR);
    }
    Ok(Json(ProductV2 {
        id,
        db: db.name.to_owned(),
        checkout: "new".to_owned(),
        version: 2,
    }))
}

async fn get_product_legacy(Path(id): Path<String>, State(db): State<Db>) -> Json<Product> {
    Json(Product {
        id,
        db: db.name.to_owned(),
        checkout: "legacy".to_owned(),
    })
}

#[feature_gated(
    "checkout_experiment",
    variants(blue = checkout_blue, green = checkout_green),
    fallback = checkout_control
)]
async fn checkout(Path(cart): Path<u32>) -> String {
    format!("unlisted {cart}")
}

async fn checkout_blue(Path(cart): Path<u32>) -> String {
    format!("blue {cart}")
}

async fn checkout_green(Path(cart): Path<u32>) -> (StatusCode, String) {
    (StatusCode::OK, format!("green {cart}"))
}

async fn checkout_control(Path(_cart): Path<u32>) -> &'static str {
    "control"
}

#[derive(Serialize, Deserialize)]
struct Order {
    items: Vec<String>,
}

#[feature_gated("new_orders", fallback = place_order_legacy)]
async fn place_order(State(db): State<Db>, Json(order): Json<Order>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "arm": "new", "db": db.name, "items": order.items }))
}

async fn place_order_legacy(State(_db): State<Db>, Json(order): Json<Order>) -> String {
    format!("legacy: {}", order.items.join("+"))
}

/// Service code: gated below the handler, deciding with the handler's context.
#[feature_gated("new_pricing", fallback = price_legacy)]
async fn price(flags: &FlagContext, cents: u64) -> u64 {
    debug_assert!(flags.is_enabled("new_pricing"));
    cents * 9 / 10
}

async fn price_legacy(_flags: &FlagContext, cents: u64) -> u64 {
    cents
}

async fn quote(flags: FlagContext, Path(cents): Path<u64>) -> String {
    price(&flags, cents).await.to_string()
}

#[derive(Deserialize)]
struct Find {
    q: String,
}

/// Three generations of one endpoint, chained: each gate's fallback is the
/// generation before it, gated itself, and each keeps the signature its
/// author wrote.
#[feature_gated("search_v3", fallback = search_v2)]
async fn search_v3(
    Path(shop): Path<u32>,
    Query(find): Query<Find>,
    State(db): State<Db>,
) -> String {
    format!("v3 {shop} {} {}", find.q, db.name)
}

#[feature_gated("search_v2", fallback = search_v1)]
async fn search_v2(
    Path(shop): Path<u32>,
    Query(find): Query<Find>,
    State(db): State<Db>,
) -> (StatusCode, String) {
    (StatusCode::OK, format!("v2 {shop} {} {}", find.q, db.name))
}

async fn search_v1(
    Path(shop): Path<u32>,
    Query(find): Query<Find>,
    State(db): State<Db>,
) -> String {
    format!("v1 {shop} {} {}", find.q, db.name)
}

/// An argument named like the fallback function, which `#[instrument]`'s
/// `fields(..)` below the gate still reaches by its name.
#[feature_gated("search_v2", fallback = find)]
#[tracing::instrument(skip_all, fields(q = %find.q))]
async fn find_v2(find: Query<Find>) -> String {
    format!("v2 {}", find.q)
}

async fn find(Query(find): Query<Find>) -> String {
    format!("v1 {}", find.q)
}

/// Arguments configured in and out by `#[cfg]`.
#[feature_gated("search_v2", fallback = count_v1)]
async fn count_v2(
    #[cfg(not(test))] headers: axum::http::HeaderMap,
    Path(n): Path<u32>,
    #[cfg(test)] State(db): State<Db>,
) -> String {
    format!("v2 {n} {}", db.name)
}

async fn count_v1(
    #[cfg(not(test))] _headers: axum::http::HeaderMap,
    Path(n): Path<u32>,
    #[cfg(test)] State(db): State<Db>,
) -> String {
    format!("v1 {n} {}", db.name)
}

fn app(flags: &Flags) -> Router {
    Router::new()
        .route("/api/v1/products/{id}", get(get_product))
        .route("/checkout/{cart}", get(checkout).post(checkout))
        .route("/orders", post(place_order))
        .route("/quote/{cents}", get(quote))
        .route("/shops/{shop}/search", get(search_v3))
        .route("/find", get(find_v2))
        .route("/count/{n}", get(count_v2))
        .with_state(Db { name: "main-db" })
        .layer(
            FlagsLayer::new(flags.clone())
                .user_header("x-user-id")
                .unwrap()
                // The tests below count per-decision events.
                .decision_log(DecisionLog::PerDecision),
        )
}

// ---- a tiny HTTP client ------------------------------------------------------

struct Server {
    addr: SocketAddr,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Server {
    async fn start(flags: &Flags) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = app(flags);
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let client = Client::builder(TokioExecutor::new()).build_http();
        Server { addr, client }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        user: &str,
        json: Option<&str>,
    ) -> (StatusCode, String) {
        let mut req = Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", self.addr))
            .header("x-user-id", user);
        if json.is_some() {
            req = req.header("content-type", "application/json");
        }
        let body = Full::new(Bytes::from(json.unwrap_or("").to_owned()));
        let res = self.client.request(req.body(body).unwrap()).await.unwrap();
        let status = res.status();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(bytes.to_vec()).unwrap())
    }

    async fn get(&self, path: &str, user: &str) -> (StatusCode, String) {
        self.send(Method::GET, path, user, None).await
    }
}

fn flags() -> Flags {
    Flags::from_unleash_json(FLAGS).unwrap()
}

/// Whether the product response came from the new implementation.
fn is_new_product(body: &str) -> bool {
    let value: serde_json::Value = serde_json::from_str(body).unwrap();
    match value["checkout"].as_str() {
        Some("new") => {
            assert_eq!(value["version"], 2, "{body}");
            true
        }
        Some("legacy") => {
            assert!(value.get("version").is_none(), "{body}");
            false
        }
        _ => panic!("unexpected product body {body}"),
    }
}

async fn kill(flags: &Flags, name: &str) {
    flags.writer("test").commit(Edit::kill(name)).await.unwrap();
}

// ---- tests -------------------------------------------------------------------

#[tokio::test]
async fn a_20_percent_rollout_sends_about_20_percent_of_users_to_the_new_handler_stickily() {
    let flags = flags();
    let server = Server::start(&flags).await;

    let mut first = Vec::with_capacity(USERS);
    for i in 0..USERS {
        let (status, body) = server.get("/api/v1/products/p-7", &user(i)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let value: serde_json::Value = serde_json::from_str(&body).unwrap();
        // Path and State reached whichever implementation ran.
        assert_eq!(
            (value["id"].as_str(), value["db"].as_str()),
            (Some("p-7"), Some("main-db"))
        );
        let new = is_new_product(&body);
        let expected = flags.is_enabled("new_checkout_flow", &Context::new().user_id(user(i)));
        assert_eq!(
            new, expected,
            "user {i} was routed against its own evaluation"
        );
        first.push(new);
    }

    let on = first.iter().filter(|&&new| new).count();
    let share = on as f64 / USERS as f64;
    eprintln!("new_checkout_flow at 20%: {on} of {USERS} users on the new handler");
    // Three standard deviations of a binomial(2000, 0.2) around 20%.
    assert!(
        (0.165..=0.235).contains(&share),
        "{on} of {USERS} users got the new handler"
    );

    // Each user gets the same implementation again.
    for (i, &was_new) in first.iter().enumerate() {
        let (_, body) = server.get("/api/v1/products/p-7", &user(i)).await;
        assert_eq!(is_new_product(&body), was_new, "user {i} changed arms");
    }

    // The layer counted each request under the arm the gate took.
    let metrics = flags.metrics().snapshot();
    let arm = |name: &str| {
        metrics
            .arm("new_checkout_flow", name)
            .map_or(0, |a| a.requests)
    };
    assert_eq!(arm("on"), 2 * on as u64);
    assert_eq!(arm("off"), 2 * (USERS - on) as u64);
}

#[tokio::test]
async fn the_kill_switch_sends_everyone_to_the_fallback_on_the_next_request() {
    let flags = flags();
    let server = Server::start(&flags).await;

    let mut were_new = Vec::new();
    for i in 0..USERS / 4 {
        let (_, body) = server.get("/api/v1/products/p-1", &user(i)).await;
        if is_new_product(&body) {
            were_new.push(i);
        }
    }
    assert!(
        were_new.len() > 50,
        "only {} users were on the new arm",
        were_new.len()
    );

    kill(&flags, "new_checkout_flow").await;

    for i in 0..USERS / 4 {
        let (status, body) = server.get("/api/v1/products/p-1", &user(i)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            !is_new_product(&body),
            "user {i} still got the new handler after the kill"
        );
    }
}

#[tokio::test]
async fn errors_are_counted_per_arm_for_gated_handlers() {
    let flags = flags();
    let server = Server::start(&flags).await;

    let mut on = 0u64;
    for i in 0..400 {
        let (status, _) = server.get("/api/v1/products/broken", &user(i)).await;
        // Only the new implementation fails.
        let new = flags.is_enabled("new_checkout_flow", &Context::new().user_id(user(i)));
        let expected = if new {
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            StatusCode::OK
        };
        assert_eq!(status, expected, "user {i}");
        on += u64::from(new);
    }

    let metrics = flags.metrics().snapshot();
    let new_arm = metrics.arm("new_checkout_flow", "on").unwrap();
    let old_arm = metrics.arm("new_checkout_flow", "off").unwrap();
    assert_eq!((new_arm.requests, new_arm.errors), (on, on));
    assert_eq!((old_arm.requests, old_arm.errors), (400 - on, 0));
}

#[tokio::test]
async fn variants_route_by_weight_and_the_kill_switch_sends_them_to_the_fallback() {
    let flags = flags();
    let server = Server::start(&flags).await;

    let (mut blue, mut green, mut unlisted) = (0usize, 0usize, 0usize);
    for i in 0..USERS {
        let method = if i % 2 == 0 {
            Method::GET
        } else {
            Method::POST
        };
        let (status, body) = server.send(method, "/checkout/42", &user(i), None).await;
        assert_eq!(status, StatusCode::OK);
        let variant = flags.variant("checkout_experiment", &Context::new().user_id(user(i)));
        let expected = match variant.name.as_str() {
            "blue" => "blue 42",
            "green" => "green 42",
            // Not listed in `variants(..)`: the gated function's own body.
            "red" => "unlisted 42",
            other => panic!("unexpected variant {other}"),
        };
        assert_eq!(body, expected, "user {i}");
        match expected {
            "blue 42" => blue += 1,
            "green 42" => green += 1,
            _ => unlisted += 1,
        }
    }
    let share = |n: usize| n as f64 / USERS as f64;
    eprintln!("checkout_experiment 500/300/200: blue {blue}, green {green}, unlisted {unlisted}");
    // Weights 500 / 300 / 200 of 1000, give or take three standard deviations.
    assert!((0.465..=0.535).contains(&share(blue)), "blue {blue}");
    assert!((0.27..=0.33).contains(&share(green)), "green {green}");
    assert!(
        (0.175..=0.225).contains(&share(unlisted)),
        "unlisted {unlisted}"
    );

    kill(&flags, "checkout_experiment").await;
    for i in 0..200 {
        let (_, body) = server.get("/checkout/42", &user(i)).await;
        assert_eq!(body, "control", "user {i}");
    }
}

#[tokio::test]
async fn a_json_body_reaches_whichever_implementation_runs() {
    let flags = flags();
    let server = Server::start(&flags).await;
    let order = r#"{"items": ["tea", "scone"]}"#;

    // alice is on `new_orders`, bob is not.
    let (status, body) = server
        .send(Method::POST, "/orders", "alice", Some(order))
        .await;
    assert_eq!(status, StatusCode::OK);
    let value: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        value,
        serde_json::json!({"arm": "new", "db": "main-db", "items": ["tea", "scone"]})
    );

    let (status, body) = server
        .send(Method::POST, "/orders", "bob", Some(order))
        .await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, "legacy: tea+scone")
    );

    // A body that does not parse is rejected by `Json` before any arm runs,
    // so no decision is made or counted.
    let before = flags.metrics().snapshot();
    let (status, _) = server
        .send(Method::POST, "/orders", "alice", Some("{\"items\": 3}"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(flags.metrics().snapshot(), before);
}

#[tokio::test]
async fn service_code_gated_below_the_handler_decides_with_the_handlers_context() {
    let flags = flags();
    let server = Server::start(&flags).await;

    assert_eq!(server.get("/quote/1000", "alice").await.1, "900");
    assert_eq!(server.get("/quote/1000", "bob").await.1, "1000");

    // The decision was the request's: counted under the request's arm.
    let metrics = flags.metrics().snapshot();
    assert_eq!(
        metrics.arm("new_pricing", "on").map(|a| a.requests),
        Some(1)
    );
    assert_eq!(
        metrics.arm("new_pricing", "off").map(|a| a.requests),
        Some(1)
    );
}

#[tokio::test]
async fn a_gated_request_makes_one_decision_and_its_request_event_names_the_arm() {
    let flags = flags();
    let app = app(&flags);
    let (events, _guard) = Recorder::install();

    // One user of each arm of the rollout, and one of each variant.
    let pick = |want: bool| {
        (0..USERS)
            .map(user)
            .find(|u| {
                flags.is_enabled("new_checkout_flow", &Context::new().user_id(u.as_str())) == want
            })
            .unwrap()
    };
    let variant_of = |u: &str| {
        flags
            .variant("checkout_experiment", &Context::new().user_id(u))
            .name
    };
    let cases = [
        (
            "/api/v1/products/p-1",
            pick(true),
            "new_checkout_flow",
            "on".to_owned(),
        ),
        (
            "/api/v1/products/p-1",
            pick(false),
            "new_checkout_flow",
            "off".to_owned(),
        ),
        (
            "/checkout/7",
            user(1),
            "checkout_experiment",
            variant_of(&user(1)),
        ),
        (
            "/checkout/7",
            user(2),
            "checkout_experiment",
            variant_of(&user(2)),
        ),
    ];
    for (path, who, flag, arm) in cases {
        events.clear();
        let req = Request::builder()
            .uri(path)
            .header("x-user-id", who.as_str())
            .body(axum::body::Body::empty())
            .unwrap();
        let res = app.clone().oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);

        let decisions = events.with_target("flags::decision");
        assert_eq!(decisions.len(), 1, "{path} as {who}: {decisions:?}");
        assert_eq!(decisions[0].str("feature_flag.key"), flag);
        assert_eq!(decisions[0].str("feature_flag.result.variant"), arm);

        let requests = events.with_target("flags::request");
        assert_eq!(requests.len(), 1, "{path} as {who}: {requests:?}");
        assert_eq!(
            requests[0].str("feature_flag.decisions"),
            format!("{flag}={arm}")
        );
    }
}

#[tokio::test]
async fn chained_gates_each_decide_their_own_flag_for_the_same_request() {
    let flags = flags();
    let app = app(&flags);
    let (events, _guard) = Recorder::install();

    // alice is on both flags, bob on `search_v2` only, carol on neither.
    let cases = [
        ("alice", "v3 7 tea main-db", "search_v3=on"),
        ("bob", "v2 7 tea main-db", "search_v3=off,search_v2=on"),
        ("carol", "v1 7 tea main-db", "search_v3=off,search_v2=off"),
    ];
    for (who, body, decisions) in cases {
        events.clear();
        let (status, got) = oneshot(&app, "/shops/7/search?q=tea", who).await;
        assert_eq!((status, got.as_str()), (StatusCode::OK, body), "{who}");
        // The inner gate asked the request's context: one request, whose
        // event names each flag the chain asked.
        let requests = events.with_target("flags::request");
        assert_eq!(requests.len(), 1, "{who}: {requests:?}");
        assert_eq!(requests[0].str("feature_flag.decisions"), decisions);
    }

    // Killing the middle generation sends bob on to the first.
    kill(&flags, "search_v2").await;
    let (_, got) = oneshot(&app, "/shops/7/search?q=tea", "bob").await;
    assert_eq!(got, "v1 7 tea main-db");
    let (_, got) = oneshot(&app, "/shops/7/search?q=tea", "alice").await;
    assert_eq!(got, "v3 7 tea main-db");
}

#[tokio::test]
async fn an_argument_named_like_the_fallback_does_not_hide_it() {
    let app = app(&flags());
    let (events, _guard) = Recorder::install();
    assert_eq!(oneshot(&app, "/find?q=tea", "bob").await.1, "v2 tea");
    assert_eq!(oneshot(&app, "/find?q=tea", "carol").await.1, "v1 tea");
    // The span's field read the argument, not the function.
    let spans: Vec<_> = events
        .spans()
        .into_iter()
        .filter(|span| span.name == "find_v2")
        .collect();
    assert_eq!(spans.len(), 2, "{spans:?}");
    assert!(spans.iter().all(|span| span.str("q") == "tea"), "{spans:?}");
}

#[tokio::test]
async fn arguments_configured_out_are_left_out_of_every_arm() {
    let app = app(&flags());
    assert_eq!(oneshot(&app, "/count/3", "bob").await.1, "v2 3 main-db");
    assert_eq!(oneshot(&app, "/count/3", "carol").await.1, "v1 3 main-db");
}

/// `#[tracing::instrument]` below the gate records every argument of the
/// generated handler, the request's `FlagContext` included.
#[feature_gated("search_v2", fallback = profile_v1)]
#[tracing::instrument]
async fn profile_v2(Path(name): Path<String>) -> String {
    format!("v2 {name}")
}

async fn profile_v1(Path(name): Path<String>) -> String {
    format!("v1 {name}")
}

#[tokio::test]
async fn an_instrumented_gated_handler_logs_the_caller_only_as_id_logging_allows() {
    let flags = flags();
    let key = IdHashKey::new([3; 16]);
    let version = flags.snapshot().version();
    let cases = [
        (
            IdLogging::Plain,
            format!(r#"FlagContext {{ version: {version}, id: "bob", id_kind: "user", .. }}"#),
        ),
        (
            IdLogging::Hashed(key.clone()),
            format!(
                r#"FlagContext {{ version: {version}, id: "{}", id_kind: "user", .. }}"#,
                key.hash("bob")
            ),
        ),
        (
            IdLogging::Omitted,
            format!(r#"FlagContext {{ version: {version}, id_kind: "user", .. }}"#),
        ),
    ];
    for (ids, expected) in cases {
        let app = Router::new()
            .route("/profile/{name}", get(profile_v2))
            .layer(
                FlagsLayer::new(flags.clone())
                    .user_header("x-user-id")
                    .unwrap()
                    .log_ids(ids.clone()),
            );
        let (events, _guard) = Recorder::install();
        let mut req = Request::builder()
            .uri("/profile/bob")
            .header("x-user-id", "bob")
            .body(axum::body::Body::empty())
            .unwrap();
        // The caller's address, as `into_make_service_with_connect_info` gives it.
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([203, 0, 113, 9], 40_000))));
        let res = app.oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);

        let spans: Vec<_> = events
            .spans()
            .into_iter()
            .filter(|span| span.name == "profile_v2")
            .collect();
        assert_eq!(spans.len(), 1, "{ids:?}: {spans:?}");
        let recorded = spans[0]
            .fields
            .iter()
            .find(|(_, value)| value.as_str().is_some_and(|v| v.starts_with("FlagContext")))
            .map(|(_, value)| value.as_str().unwrap().to_owned());
        assert_eq!(recorded, Some(expected), "{ids:?}: {:?}", spans[0].fields);
        for (name, value) in &spans[0].fields {
            assert!(
                !value.to_string().contains("203.0.113.9"),
                "{ids:?}: {name} shows the IP: {value}"
            );
        }
    }
}

/// One request through `app` as `user`, without a server.
async fn oneshot(app: &Router, path: &str, user: &str) -> (StatusCode, String) {
    let req = Request::builder()
        .uri(path)
        .header("x-user-id", user)
        .body(axum::body::Body::empty())
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}
