//! Headless Chromium driven through chromedriver: the driver is started
//! on a free loopback port for each test and killed when dropped. Also the
//! SDK tests' browser (tests/sdk_peers), which use only part of it.
#![allow(dead_code, unreachable_pub)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// How long to wait for the page to show something.
pub const PATIENCE: Duration = Duration::from_secs(15);

pub struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Driver {
    /// Starts chromedriver; panics (never skips) when it is not installed:
    /// `scripts/chromium.sh` installs it.
    pub fn start() -> Driver {
        assert!(
            std::path::Path::new(CHROMEDRIVER).exists(),
            "{CHROMEDRIVER} is missing: run scripts/chromium.sh (Debian's chromium and chromium-driver)"
        );
        let port = free_port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let driver = Driver { child, port };
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + PATIENCE;
        while TcpStream::connect(addr).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen on {addr}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        driver
    }

    /// A new headless browser window, `dark` emulating a dark system theme.
    pub async fn browser(&self, dark: bool) -> Browser {
        let mut args = vec![
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--window-size=1280,900",
            "--hide-scrollbars",
        ];
        if dark {
            args.push("--force-dark-mode");
            args.push("--blink-settings=preferredColorScheme=0");
        }
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
        });
        let Value::Object(caps) = caps else {
            unreachable!()
        };
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a chromium session");
        Browser { client }
    }
}

/// One browser window.
pub struct Browser {
    pub client: Client,
}

impl Browser {
    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap();
    }

    /// The first element matching `css`, waiting for it to appear.
    pub async fn find(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no `{css}` on the page: {e}"))
    }

    pub async fn all(&self, css: &str) -> Vec<Element> {
        self.client.find_all(Locator::Css(css)).await.unwrap()
    }

    pub async fn js(&self, script: &str) -> Value {
        self.client.execute(script, vec![]).await.unwrap()
    }

    /// Waits until `script` (an expression) is truthy; returns its value.
    pub async fn until(&self, what: &str, script: &str) -> Value {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let v = self.js(&format!("return ({script});")).await;
            let truthy = match &v {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::String(s) => !s.is_empty(),
                Value::Number(n) => n.as_f64() != Some(0.0),
                _ => true,
            };
            if truthy {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {script}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Opens the page and signs in with `token`; waits for the first view.
    pub async fn sign_in(&self, page: &str, token: &str) {
        self.goto(page).await;
        self.find("#token").await.send_keys(token).await.unwrap();
        self.find("#signin-submit").await.click().await.unwrap();
        self.until("the signed-in header", "document.body.dataset.role")
            .await;
    }

    /// The text of the element matching `css`.
    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap()
    }

    pub async fn close(self) {
        self.client.close().await.unwrap();
    }
}
