//! How the page looks: light and dark (the system's `prefers-color-scheme`,
//! emulated with Chromium's `--force-dark-mode`), and at 320 px wide.
//! With `FLAGS_UI_SCREENSHOTS=DIR` set, the screenshots are saved there
//! (the README's come from `FLAGS_UI_SCREENSHOTS=docs`).

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::browser::{Browser, Driver};
use crate::service::{Service, WRITE_TOKEN};
use crate::ONE_BROWSER;

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n";

/// Requests through the layer for a while, so the counters and charts move.
fn traffic(addr: SocketAddr) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
        for i in 0u32.. {
            let path = if i % 2 == 0 {
                "/api/v1/products/42"
            } else {
                "/api/v1/checkout/button"
            };
            let req = axum::http::Request::get(format!("http://{addr}{path}"))
                .header("x-user-id", format!("user_{}", i % 500))
                .body(Full::new(Bytes::new()))
                .unwrap();
            let _ = client.request(req).await;
            tokio::time::sleep(Duration::from_millis(15)).await;
        }
    })
}

async fn shot(b: &Browser, name: &str) {
    let png = b.client.screenshot().await.unwrap();
    assert!(
        png.starts_with(PNG) && png.len() > 1000,
        "{name}: not a PNG"
    );
    if let Some(dir) = std::env::var_os("FLAGS_UI_SCREENSHOTS") {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), &png).unwrap();
    }
}

#[tokio::test]
async fn the_list_and_a_flag_page_follow_the_system_colour_scheme() {
    let _one = ONE_BROWSER.lock().await;
    let svc = Service::checkout("").await;
    let load = traffic(svc.addr);
    let driver = Driver::start();
    for (dark, scheme, background) in [
        (false, "light", "rgb(255, 255, 255)"),
        (true, "dark", "rgb(15, 20, 25)"),
    ] {
        let b = driver.browser(dark).await;
        b.client.set_window_size(1100, 800).await.unwrap();
        b.sign_in(&svc.page(), WRITE_TOKEN).await;
        b.until(
            "live counters",
            r#"document.querySelector('tr[data-flag="new_checkout_flow"] .arms li:not(.muted)')"#,
        )
        .await;
        let bg = b
            .js("return getComputedStyle(document.body).backgroundColor")
            .await;
        assert_eq!(bg, background, "{scheme}");
        shot(&b, &format!("web-ui-list-{scheme}")).await;

        b.client.set_window_size(1100, 1000).await.unwrap();
        b.goto(&format!("{}_ui/#/flag/new_checkout_flow", svc.page()))
            .await;
        b.until(
            "chart lines of a few samples",
            "[...document.querySelectorAll('#live polyline')].some((p) => p.points.numberOfItems >= 4)",
        )
        .await;
        assert!(b.text("#toml").await.starts_with("[new_checkout_flow]"));
        shot(&b, &format!("web-ui-flag-{scheme}")).await;
        b.close().await;
    }
    load.abort();
}

#[tokio::test]
async fn the_page_reads_at_320_px_without_sideways_scrolling() {
    let _one = ONE_BROWSER.lock().await;
    let svc = Service::checkout("").await;
    let driver = Driver::start();
    let b = driver.browser(false).await;
    b.client.set_window_size(320, 700).await.unwrap();
    b.sign_in(&svc.page(), WRITE_TOKEN).await;
    b.find(r#"tr[data-flag="new_checkout_flow"]"#).await;
    let width = b.js("return window.innerWidth").await.as_u64().unwrap();
    assert!(width <= 400, "the window is {width} px wide");
    for page in ["#/", "#/flag/new_checkout_flow", "#/audit"] {
        b.goto(&format!("{}_ui/{page}", svc.page())).await;
        b.find("main h1").await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let scroll = b
            .js("return document.documentElement.scrollWidth")
            .await
            .as_u64()
            .unwrap();
        assert!(
            scroll <= width,
            "{page}: {scroll} px of content in a {width} px window"
        );
    }
    b.close().await;
}
