//! The inventory after a mix of requests over two routes: call sites from
//! the registry, requests per route template, evaluation times, arms.

use axum::body::Body;
use axum::extract::Path;
use axum::http::Request;
use axum::routing::get;
use axum::Router;
use flags_middleware::admin::{AdminConfig, Role};
use flags_middleware::hygiene::{FlagInventory, UseKind};
use flags_middleware::{feature_gated, flag, FlagContext, Flags, FlagsLayer};
use tower::ServiceExt;

const TOKEN: &str = "hygiene-inventory-token";

flag!(INVENTORY_BANNER = "inventory_banner");

#[feature_gated("inventory_checkout", fallback = product_legacy)]
async fn product(Path(id): Path<u32>) -> String {
    format!("new {id}")
}

async fn product_legacy(Path(id): Path<u32>) -> String {
    format!("legacy {id}")
}

/// Asks both flags: the banner by key, the checkout through the gate.
async fn cart(flags: FlagContext) -> &'static str {
    if flags.is_enabled(INVENTORY_BANNER) {
        "banner"
    } else {
        "plain"
    }
}

fn app(flags: &Flags) -> Router {
    let config = AdminConfig::new().token("ops", TOKEN, Role::Read);
    Router::new()
        .route("/products/{id}", get(product))
        .route("/cart", get(cart))
        .route("/cart/{id}", get(product))
        .layer(FlagsLayer::new(flags.clone()))
        .nest_service("/admin/flags", flags.admin_router(config))
}

async fn send(app: &Router, path: &str, user: &str) -> String {
    let req = Request::get(path)
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("cookie", format!("flags_sid={user}"))
        .body(Body::empty())
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), 200, "{path}");
    let body = axum::body::to_bytes(res.into_body(), 1 << 24)
        .await
        .unwrap();
    String::from_utf8(body.to_vec()).unwrap()
}

fn entry<'a>(inventory: &'a [FlagInventory], name: &str) -> &'a FlagInventory {
    inventory.iter().find(|f| f.name == name).unwrap()
}

#[tokio::test]
async fn routes_times_arms_and_call_sites_per_flag() {
    let flags = Flags::from_toml_str(
        "[inventory_checkout]\nrollout = 50\n[inventory_banner]\n[inventory_unused]\n",
        "flags.toml",
    )
    .unwrap();
    let app = app(&flags);
    let before = chrono::Utc::now();
    let mut new = 0;
    for i in 0..40 {
        new += usize::from(
            send(&app, &format!("/products/{i}"), &format!("s{i}"))
                .await
                .starts_with("new"),
        );
    }
    for i in 0..10 {
        send(&app, &format!("/cart/{i}"), &format!("c{i}")).await;
        send(&app, "/cart", &format!("c{i}")).await;
    }
    assert!(new > 0 && new < 40, "a 50% rollout: {new} of 40");

    let inventory = flags.inventory();
    let checkout = entry(&inventory, "inventory_checkout");
    assert!(checkout.defined);
    let routes: Vec<(&str, u64)> = checkout
        .routes
        .iter()
        .map(|(r, n)| (r.as_str(), *n))
        .collect();
    assert_eq!(routes, [("/cart/{id}", 10), ("/products/{id}", 40)]);
    assert_eq!(checkout.arms.values().sum::<u64>(), 50);
    assert_eq!(checkout.arms.keys().collect::<Vec<_>>(), ["off", "on"]);
    let first = checkout.first_evaluated.unwrap();
    let last = checkout.last_evaluated.unwrap();
    assert!(before - chrono::Duration::seconds(1) <= first && first <= last);
    assert_eq!(checkout.call_sites.len(), 1);
    assert_eq!(checkout.call_sites[0].kind, UseKind::Gate);
    assert_eq!(checkout.call_sites[0].fallback, Some("product_legacy"));

    let banner = entry(&inventory, "inventory_banner");
    assert_eq!(
        banner.routes.iter().collect::<Vec<_>>(),
        [(&"/cart".to_owned(), &10)]
    );
    assert_eq!(banner.arms.get("on"), Some(&10));
    assert_eq!(banner.call_sites[0].item, "INVENTORY_BANNER");

    let unused = entry(&inventory, "inventory_unused");
    assert!(unused.routes.is_empty() && unused.first_evaluated.is_none());
    assert!(unused.call_sites.is_empty());

    // The admin API shows the same.
    let listed: serde_json::Value =
        serde_json::from_str(&send(&app, "/admin/flags/_inventory", "ops").await).unwrap();
    let checkout = listed["flags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "inventory_checkout")
        .unwrap();
    assert_eq!(checkout["routes"]["/products/{id}"], 40);
    assert_eq!(checkout["call_sites"][0]["item"], "product");
    assert_eq!(checkout["call_sites"][0]["kind"], "gate");
}

/// The layer keeps per-thread handles for each flag's arms and routes
/// (bounded per flag) and drops them when the snapshot changes: counts stay
/// exact past the bound, across a change, and on every route.
#[tokio::test(flavor = "current_thread")]
async fn counts_stay_exact_past_the_cached_routes_and_across_changes() {
    use flags_middleware::edit::Edit;

    let flags = Flags::from_toml_str("[inventory_many]\n", "flags.toml").unwrap();
    let mut router = Router::new();
    const ROUTES: usize = 40;
    for r in 0..ROUTES {
        router = router.route(
            &format!("/r{r}/{{id}}"),
            get(|flags: FlagContext| async move {
                if flags.is_enabled("inventory_many") {
                    "on"
                } else {
                    "off"
                }
            }),
        );
    }
    let app = router.layer(FlagsLayer::new(flags.clone()));
    let send = |path: String| {
        let app = app.clone();
        async move {
            let req = Request::get(path.as_str())
                .header("cookie", "flags_sid=s1")
                .body(Body::empty())
                .unwrap();
            let res = app.oneshot(req).await.unwrap();
            assert_eq!(res.status(), 200, "{path}");
        }
    };
    for round in 0..3 {
        for r in 0..ROUTES {
            send(format!("/r{r}/{round}")).await;
        }
    }
    flags
        .writer("test")
        .commit(Edit::kill("inventory_many"))
        .await
        .unwrap();
    for r in 0..ROUTES {
        send(format!("/r{r}/9")).await;
    }

    let inventory = flags.inventory();
    let many = entry(&inventory, "inventory_many");
    assert_eq!(many.routes.len(), ROUTES);
    for r in 0..ROUTES {
        assert_eq!(
            many.routes.get(&format!("/r{r}/{{id}}")),
            Some(&4),
            "route {r}"
        );
    }
    assert_eq!(many.arms.get("on"), Some(&(3 * ROUTES as u64)));
    assert_eq!(many.arms.get("off"), Some(&(ROUTES as u64)));
}

/// Two `Flags` handles served on one thread, requests alternating: each
/// handle's counts are its own and exact (the per-thread handles are kept
/// per snapshot and counters, not only for the last one used).
#[tokio::test(flavor = "current_thread")]
async fn two_handles_on_one_thread_count_apart() {
    let a = Flags::from_toml_str("[inventory_a]\n", "a.toml").unwrap();
    let b = Flags::from_toml_str("[inventory_a]\nenabled = false\n", "b.toml").unwrap();
    let app = |flags: &Flags| {
        Router::new()
            .route(
                "/x",
                get(
                    |flags: FlagContext| async move { flags.is_enabled("inventory_a").to_string() },
                ),
            )
            .layer(FlagsLayer::new(flags.clone()))
    };
    let (app_a, app_b) = (app(&a), app(&b));
    for _ in 0..5 {
        for (app, want) in [(&app_a, "true"), (&app_b, "false")] {
            let req = Request::get("/x").header("cookie", "flags_sid=s1");
            let res = app
                .clone()
                .oneshot(req.body(Body::empty()).unwrap())
                .await
                .unwrap();
            let body = axum::body::to_bytes(res.into_body(), 64).await.unwrap();
            assert_eq!(body, want);
        }
    }
    let arms = |flags: &Flags| entry(&flags.inventory(), "inventory_a").arms.clone();
    assert_eq!(
        arms(&a).into_iter().collect::<Vec<_>>(),
        [("on".to_owned(), 5)]
    );
    assert_eq!(
        arms(&b).into_iter().collect::<Vec<_>>(),
        [("off".to_owned(), 5)]
    );
    let routes = |flags: &Flags| entry(&flags.inventory(), "inventory_a").routes.clone();
    assert_eq!(routes(&a).get("/x"), Some(&5));
    assert_eq!(routes(&b).get("/x"), Some(&5));
}
