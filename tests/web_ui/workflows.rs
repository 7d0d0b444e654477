//! The rest of what an operator does on the page: the banner for a bad
//! edit of the flags file, the audit log's pages, the user list and plan
//! controls on a flag's page, and the keyboard.

use std::time::Duration;

use fantoccini::key::Key;

use crate::browser::Driver;
use crate::service::{Service, WRITE_TOKEN};
use crate::{KILL, ONE_BROWSER};

#[tokio::test]
async fn a_rejected_edit_of_the_flags_file_shows_in_a_banner_with_its_place() {
    let (_one, _driver, svc, b) = crate::signed_in(WRITE_TOKEN).await;
    b.find(KILL).await;
    assert_eq!(
        b.js("return document.getElementById('banner').hidden")
            .await,
        true
    );

    let text = std::fs::read_to_string(&svc.file).unwrap();
    let line = text
        .lines()
        .position(|l| l.starts_with("rollout = 20"))
        .unwrap()
        + 1;
    std::fs::write(&svc.file, text.replacen("rollout = 20", "rollout = 150", 1)).unwrap();
    let banner = b
        .until(
            "the banner",
            "!document.getElementById('banner').hidden && document.getElementById('banner').textContent",
        )
        .await;
    let banner = banner.as_str().unwrap();
    let place = format!("{}:{line}:11", svc.file.display());
    assert!(banner.contains(&place), "{place} in {banner}");
    assert!(
        banner.contains("new_checkout_flow") && banner.contains("150"),
        "{banner}"
    );
    // The flags kept serving: still at 20%.
    let row = b
        .text(r#"tr[data-flag="new_checkout_flow"] td[data-label="Rollout"]"#)
        .await;
    assert_eq!(row, "20%");
    b.close().await;
}

/// Sets `new_checkout_flow`'s rollout to each of `percents` in turn, through
/// the admin API (one audit entry each).
async fn roll_out(svc: &Service, percents: impl IntoIterator<Item = u32>) {
    for percent in percents {
        let body = format!(r#"{{"percent": {percent}}}"#);
        let (status, _) = svc
            .admin(WRITE_TOKEN, "PUT", "/new_checkout_flow/rollout", &body)
            .await;
        assert_eq!(status, 200);
    }
}

#[tokio::test]
async fn the_audit_log_is_shown_newest_first_fifty_a_page() {
    let _one = ONE_BROWSER.lock().await;
    let svc = Service::checkout("").await;
    roll_out(&svc, 1..=60).await;
    let driver = Driver::start();
    let b = driver.browser(false).await;
    b.sign_in(&svc.page(), WRITE_TOKEN).await;
    b.find(r##"a[href="#/audit"]"##)
        .await
        .click()
        .await
        .unwrap();
    b.until(
        "50 entries",
        "document.querySelectorAll('#audit tbody tr').length === 50",
    )
    .await;
    let first = b.text("#audit tbody tr td:nth-child(3)").await;
    assert_eq!(first, "rollout 60%");
    assert_eq!(
        b.js("return document.getElementById('newer').hidden").await,
        true
    );

    b.find("#older").await.click().await.unwrap();
    b.until(
        "the second page",
        "document.querySelectorAll('#audit tbody tr').length === 10",
    )
    .await;
    assert_eq!(
        b.text("#audit tbody tr td:nth-child(3)").await,
        "rollout 10%"
    );
    assert_eq!(
        b.js("return document.getElementById('older').hidden").await,
        true
    );
    b.close().await;
}

/// A flag's page shows its own changes however many others came after.
#[tokio::test]
async fn a_flag_page_shows_its_changes_from_the_whole_log() {
    let _one = ONE_BROWSER.lock().await;
    let svc = Service::checkout("").await;
    let (status, _) = svc
        .admin(WRITE_TOKEN, "POST", "/ai_recommendations/kill", "")
        .await;
    assert_eq!(status, 200);
    // 520 changes to another flag: more than the page used to look through.
    roll_out(&svc, (0..520).map(|i| 1 + i % 99)).await;
    let driver = Driver::start();
    let b = driver.browser(false).await;
    b.sign_in(&svc.page(), WRITE_TOKEN).await;
    b.goto(&format!("{}_ui/#/flag/ai_recommendations", svc.page()))
        .await;
    let rows = b
        .until(
            "the flag's audit entry",
            "document.querySelectorAll('#flag-audit tbody tr').length === 1 \
             && document.querySelector('#flag-audit tbody tr').textContent",
        )
        .await;
    assert!(rows.as_str().unwrap().contains("kill"), "{rows}");
    b.close().await;
}

#[tokio::test]
async fn the_user_list_and_the_plan_are_run_from_a_flag_page() {
    let (_one, _driver, svc, b) = crate::signed_in(WRITE_TOKEN).await;
    b.goto(&format!("{}_ui/#/flag/ai_recommendations", svc.page()))
        .await;
    b.find(r#"main .toolbar button[data-action="users"]"#)
        .await
        .click()
        .await
        .unwrap();
    let area = b.find("#users-list").await;
    assert_eq!(
        area.prop("value").await.unwrap().unwrap(),
        "user_123\nuser_456"
    );
    area.clear().await.unwrap();
    area.send_keys("user_9\nuser_10").await.unwrap();
    b.find("#dialog-confirm").await.click().await.unwrap();
    b.until(
        "the new list in the definition",
        "document.getElementById('toml').textContent.includes('user_10')",
    )
    .await;
    let (_, one) = svc
        .admin(WRITE_TOKEN, "GET", "/ai_recommendations", "")
        .await;
    assert_eq!(
        one["flag"]["definition"]["users"],
        serde_json::json!(["user_9", "user_10"])
    );

    let (status, _) = svc
        .admin(
            WRITE_TOKEN,
            "PUT",
            "/new_checkout_flow/plan",
            r#""gradual""#,
        )
        .await;
    assert_eq!(status, 200);
    wait_for_plan(&svc, "running").await;
    b.goto(&format!("{}_ui/#/flag/new_checkout_flow", svc.page()))
        .await;
    b.find(r#"#guard button[data-op="pause"]"#)
        .await
        .click()
        .await
        .unwrap();
    b.find(r#"#guard button[data-op="resume"]"#).await;
    assert_eq!(b.text("#notice").await, "new_checkout_flow: plan pause");
    wait_for_plan(&svc, "paused").await;
    b.find(r#"#guard button[data-op="resume"]"#)
        .await
        .click()
        .await
        .unwrap();
    b.find(r#"#guard button[data-op="pause"]"#).await;
    let (_, guard) = svc.admin(WRITE_TOKEN, "GET", "/_guard", "").await;
    assert_ne!(guard["flags"][0]["plan"]["status"], "paused");
    b.close().await;
}

/// Waits until the guard reports the plan of `new_checkout_flow` as `status`.
pub(crate) async fn wait_for_plan(svc: &Service, status: &str) {
    let deadline = std::time::Instant::now() + crate::browser::PATIENCE;
    loop {
        let (_, guard) = svc.admin(WRITE_TOKEN, "GET", "/_guard", "").await;
        if guard["flags"][0]["plan"]["status"] == status {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "{guard}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn the_keyboard_opens_and_cancels_a_kill() {
    let (_one, _driver, svc, b) = crate::signed_in(WRITE_TOKEN).await;
    let kill = b.find(KILL).await;
    kill.send_keys(&Key::Enter.to_string()).await.unwrap();
    b.find("#dialog-confirm").await;
    // The dialog takes the focus, on its confirm button.
    let focused = b.js("return document.activeElement.id").await;
    assert_eq!(focused, "dialog-confirm");
    b.find("#dialog-confirm")
        .await
        .send_keys(&Key::Escape.to_string())
        .await
        .unwrap();
    b.until(
        "the dialog to close",
        "!document.getElementById('dialog').open",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        svc.flags
            .snapshot()
            .feature("new_checkout_flow")
            .unwrap()
            .enabled
    );
    b.close().await;
}
