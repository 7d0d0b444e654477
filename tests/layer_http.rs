//! End to end over real HTTP on loopback: `axum::serve` on 127.0.0.1:0 and
//! hyper-util's client.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use axum::body::{Body, Bytes};
use axum::extract::Query;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use flags_middleware::layer::SessionCookie;
use flags_middleware::{Context, FlagContext, Flags, FlagsLayer};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use tower::ServiceExt;

const SEED: &str = r#"{"features": [
  {"name": "new_checkout_flow", "enabled": true, "strategies": [
    {"name": "flexibleRollout", "parameters": {"rollout": "50", "stickiness": "default", "groupId": "new_checkout_flow"}}]},
  {"name": "exp", "enabled": true, "strategies": [{"name": "default"}], "variants": [
    {"name": "blue", "weight": 500, "stickiness": "default"},
    {"name": "green", "weight": 500, "stickiness": "default"}]}
]}"#;

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    addr
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

async fn get_url(
    client: &Client<HttpConnector, Empty<Bytes>>,
    url: String,
    headers: &[(&str, &str)],
) -> Reply {
    let mut req = Request::builder().uri(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = client
        .request(req.body(Empty::new()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        headers,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

fn client() -> Client<HttpConnector, Empty<Bytes>> {
    Client::builder(TokioExecutor::new()).build_http()
}

/// "<session id> <new_checkout_flow>"
async fn session_page(flags: FlagContext) -> String {
    format!(
        "{} {}",
        flags.context().get_session_id().unwrap_or("-"),
        flags.is_enabled("new_checkout_flow")
    )
}

#[tokio::test]
async fn anonymous_cookie_is_set_once_and_keeps_visitors_sticky() {
    let flags = Flags::from_unleash_json(SEED).unwrap();
    let app = Router::new()
        .route("/", get(session_page))
        .route("/static", get(|| async { "no flags" }))
        .layer(FlagsLayer::new(flags.clone()));
    let base = format!("http://{}", serve(app).await);
    let client = client();

    // A page that asks no flag sets no cookie.
    let quiet = get_url(&client, format!("{base}/static"), &[]).await;
    assert!(quiet.headers.get("set-cookie").is_none());

    let mut arms = BTreeMap::new();
    for _visitor in 0..24 {
        let first = get_url(&client, format!("{base}/"), &[]).await;
        assert_eq!(first.status, StatusCode::OK);
        let set: Vec<&str> = first
            .headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(set.len(), 1, "{set:?}");
        let (pair, attrs) = set[0].split_once(';').unwrap();
        let id = pair.strip_prefix("flags_sid=").expect("flags_sid cookie");
        assert_eq!(id.len(), 32);
        for attr in ["Path=/", "HttpOnly", "SameSite=Lax", "Max-Age=31536000"] {
            assert!(attrs.contains(attr), "{attr} missing from {attrs}");
        }
        assert!(
            !attrs.contains("Secure"),
            "Secure is off by default: {attrs}"
        );
        let (body_id, answer) = first.body.split_once(' ').unwrap();
        assert_eq!(body_id, id, "the request was evaluated with the id it set");
        let expected = flags.is_enabled("new_checkout_flow", &Context::new().session_id(id));
        assert_eq!(answer, expected.to_string());
        *arms.entry(answer.to_owned()).or_insert(0) += 1;

        // Coming back with the cookie: honoured, not set again, same answer.
        let cookie = format!("theme=dark; flags_sid={id}");
        for _ in 0..3 {
            let again = get_url(&client, format!("{base}/"), &[("cookie", &cookie)]).await;
            assert!(again.headers.get("set-cookie").is_none());
            assert_eq!(again.body, first.body);
        }
    }
    // Visitors really were split (24 fair coins all alike: p = 2^-23).
    assert_eq!(arms.len(), 2, "{arms:?}");

    // A mangled cookie is replaced rather than used.
    let bad = get_url(
        &client,
        format!("{base}/"),
        &[("cookie", "flags_sid=<script>")],
    )
    .await;
    assert!(bad.headers.get("set-cookie").is_some());
    assert!(!bad.body.contains("script"));
}

#[tokio::test]
async fn session_cookie_is_configurable_and_users_need_none() {
    let flags = Flags::from_unleash_json(SEED).unwrap();
    let layer = FlagsLayer::new(flags)
        .user_header("x-user-id")
        .unwrap()
        .session_cookie(SessionCookie::new().name("sid").unwrap().secure(true));
    let app = Router::new().route("/", get(session_page)).layer(layer);
    let base = format!("http://{}", serve(app).await);
    let client = client();
    let anon = get_url(&client, format!("{base}/"), &[]).await;
    let set = anon.headers.get("set-cookie").unwrap().to_str().unwrap();
    assert!(
        set.starts_with("sid=") && set.ends_with("; Secure"),
        "{set}"
    );
    let user = get_url(&client, format!("{base}/"), &[("x-user-id", "user_1")]).await;
    assert!(
        user.headers.get("set-cookie").is_none(),
        "a known user needs no session cookie"
    );
    assert!(user.body.starts_with("- "));
}

#[tokio::test]
async fn remote_address_from_the_peer_or_a_trusted_proxy() {
    async fn addr(flags: FlagContext) -> String {
        flags
            .context()
            .get_remote_address()
            .unwrap_or("-")
            .to_owned()
    }
    let xff = [("x-forwarded-for", "198.51.100.1, 203.0.113.9")];
    let client = client();
    let flags = Flags::from_unleash_json(SEED).unwrap();

    let direct = Router::new()
        .route("/", get(addr))
        .layer(FlagsLayer::new(flags.clone()));
    let base = format!("http://{}", serve(direct).await);
    assert_eq!(
        get_url(&client, format!("{base}/"), &xff).await.body,
        "127.0.0.1"
    );

    let proxied = Router::new().route("/", get(addr)).layer(
        FlagsLayer::new(flags)
            .trusted_proxies(["127.0.0.0/8"])
            .unwrap(),
    );
    let base = format!("http://{}", serve(proxied).await);
    assert_eq!(
        get_url(&client, format!("{base}/"), &xff).await.body,
        "203.0.113.9"
    );
    assert_eq!(
        get_url(&client, format!("{base}/"), &[]).await.body,
        "127.0.0.1"
    );
}

#[derive(serde::Deserialize)]
struct Params {
    fail: Option<bool>,
    panic: Option<bool>,
}

/// Reports its arms in headers; fails or panics on request.
async fn checkout(flags: FlagContext, Query(p): Query<Params>) -> impl IntoResponse {
    let checkout = if flags.is_enabled("new_checkout_flow") {
        "on"
    } else {
        "off"
    };
    let exp = flags.variant("exp").name.to_owned();
    if p.panic == Some(true) {
        panic!("checkout exploded");
    }
    let status = if p.fail == Some(true) {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    };
    (
        status,
        [("x-checkout", checkout.to_owned()), ("x-exp", exp)],
        "",
    )
}

#[tokio::test]
async fn counters_per_flag_and_arm_after_200s_and_500s() {
    let flags = Flags::from_unleash_json(SEED).unwrap();
    let app = Router::new().route("/checkout", get(checkout)).layer(
        FlagsLayer::new(flags.clone())
            .user_header("x-user-id")
            .unwrap(),
    );
    let base = format!("http://{}", serve(app).await);
    let client = client();

    // Tally what the responses say, then compare with the counters.
    let mut want: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
    for i in 0..60 {
        let fail = i % 3 == 0;
        let url = format!("{base}/checkout?fail={fail}");
        let user = format!("user_{i}");
        let r = get_url(&client, url, &[("x-user-id", &user)]).await;
        assert_eq!(r.status.is_server_error(), fail);
        for (flag, header) in [("new_checkout_flow", "x-checkout"), ("exp", "x-exp")] {
            let arm = r.headers[header].to_str().unwrap().to_owned();
            let e = want.entry((flag.to_owned(), arm)).or_default();
            e.0 += 1;
            e.1 += u64::from(fail);
        }
    }
    let snap = flags.metrics().snapshot();
    let mut got = BTreeMap::new();
    for f in &snap.flags {
        for a in &f.arms {
            got.insert((f.flag.clone(), a.arm.clone()), (a.requests, a.errors));
            assert_eq!(
                a.latency.count(),
                a.requests,
                "every request is in one bucket"
            );
        }
    }
    assert_eq!(got, want);
    assert_eq!(got.len(), 4, "two arms for each flag: {got:?}");
    assert_eq!(snap.dropped, 0);
}

#[tokio::test]
async fn a_panicking_handler_counts_as_a_5xx() {
    let flags = Flags::from_unleash_json(SEED).unwrap();
    let app = Router::new().route("/checkout", get(checkout)).layer(
        FlagsLayer::new(flags.clone())
            .user_header("x-user-id")
            .unwrap(),
    );
    let req = Request::builder()
        .uri("/checkout?panic=true")
        .header("x-user-id", "user_1")
        .body(Body::empty())
        .unwrap();
    // Nothing catches the panic here: it must still reach the caller.
    let joined = tokio::spawn(app.oneshot(req)).await;
    assert!(joined.unwrap_err().is_panic());

    let snap = flags.metrics().snapshot();
    let arm = if flags.is_enabled("new_checkout_flow", &Context::new().user_id("user_1")) {
        "on"
    } else {
        "off"
    };
    let stats = snap.arm("new_checkout_flow", arm).unwrap();
    assert_eq!((stats.requests, stats.errors), (1, 1));
}

/// `FlagsLayer` around the whole router (what the README recommends for
/// speed) serves like `Router::layer`: extraction, the user, the peer's
/// address, the anonymous cookie, counters and the route each flag was
/// asked on (which the router only knows after the layer has run).
#[tokio::test]
async fn the_layer_around_the_whole_router_serves_the_same() {
    use tower::Layer as _;

    async fn whoami(flags: FlagContext) -> String {
        let ctx = flags.context();
        format!(
            "{} {} {}",
            ctx.get_user_id().or(ctx.get_session_id()).unwrap_or("-"),
            ctx.remote_ip().map_or("-".into(), |ip| ip.to_string()),
            flags.is_enabled("new_checkout_flow"),
        )
    }

    let flags = Flags::from_unleash_json(SEED).unwrap();
    let router = Router::new()
        .route("/checkout", get(checkout))
        .route("/whoami/{id}", get(whoami));
    let app = FlagsLayer::new(flags.clone())
        .user_header("x-user-id")
        .unwrap()
        .layer(router);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let make = axum::ServiceExt::<Request<Body>>::into_make_service_with_connect_info::<
            SocketAddr,
        >(app);
        axum::serve(listener, make).await.unwrap();
    });
    let base = format!("http://{addr}");
    let client = client();

    let r = get_url(&client, format!("{base}/whoami/1"), &[("x-user-id", "ann")]).await;
    let expected = Flags::from_unleash_json(SEED)
        .unwrap()
        .is_enabled("new_checkout_flow", &Context::new().user_id("ann"));
    assert_eq!(r.body, format!("ann 127.0.0.1 {expected}"));
    assert!(
        r.headers.get("set-cookie").is_none(),
        "a user needs no cookie"
    );

    let r = get_url(&client, format!("{base}/whoami/2"), &[]).await;
    let cookie = r.headers["set-cookie"].to_str().unwrap().to_owned();
    let sid = cookie
        .strip_prefix("flags_sid=")
        .and_then(|c| c.split(';').next())
        .expect("the anonymous visitor's cookie");
    assert!(
        r.body.starts_with(&format!("{sid} 127.0.0.1 ")),
        "{}",
        r.body
    );

    // An unrouted request passes through untouched and asks nothing.
    let r = get_url(&client, format!("{base}/nowhere"), &[]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.headers.get("set-cookie").is_none());

    let mut failures = 0;
    for i in 0..30 {
        let fail = i % 3 == 0;
        failures += u64::from(fail);
        let url = format!("{base}/checkout?fail={fail}");
        get_url(&client, url, &[("x-user-id", &format!("user_{i}"))]).await;
    }
    let snap = flags.metrics().snapshot();
    let exp = snap.flags.iter().find(|f| f.flag == "exp").unwrap();
    let requests: u64 = exp.arms.iter().map(|a| a.requests).sum();
    let errors: u64 = exp.arms.iter().map(|a| a.errors).sum();
    assert_eq!((requests, errors), (30, failures));
    let checkout = flags.evaluations("new_checkout_flow").routes;
    assert_eq!(checkout.get("/checkout"), Some(&30), "{checkout:?}");
    assert_eq!(checkout.get("/whoami/{id}"), Some(&2), "{checkout:?}");
    // The unrouted request asked nothing, so no flag was used off a route.
    let other = flags_middleware::hygiene::OTHER_ROUTE;
    assert!(!checkout.contains_key(other), "{checkout:?}");
    assert_eq!(checkout.len(), 2, "{checkout:?}");
}
