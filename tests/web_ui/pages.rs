//! Checks on what a page shows, shared by the browser tests.

use fantoccini::error::CmdError;

use crate::browser::Browser;

/// At least `at_least` buttons match `css`, and every one is disabled with
/// a tooltip that says why.
pub async fn assert_write_controls_disabled(b: &Browser, css: &str, at_least: usize) {
    let buttons = b.all(css).await;
    assert!(
        buttons.len() >= at_least,
        "{} buttons for `{css}`",
        buttons.len()
    );
    for button in buttons {
        let label = button.text().await.unwrap();
        assert!(
            !button.is_enabled().await.unwrap(),
            "`{label}` is enabled for a read token"
        );
        let title = button.attr("title").await.unwrap().unwrap_or_default();
        assert!(
            title.contains("Read-only token") && title.contains("viewer"),
            "`{label}`: {title:?}"
        );
    }
}

/// No alert is open, and the page holds no element a description could
/// have smuggled in.
pub async fn assert_no_markup_ran(b: &Browser) {
    match b.client.get_alert_text().await {
        Err(CmdError::Standard(e)) if e.error == fantoccini::error::ErrorStatus::NoSuchAlert => {}
        other => panic!("an alert is open (or the check failed): {other:?}"),
    }
    let smuggled = b
        .js("return document.querySelectorAll('main img, main [onerror]').length")
        .await;
    assert_eq!(smuggled, 0);
}

/// What the page's own files weighed (not the API's JSON).
#[derive(Debug)]
pub struct Weight {
    pub bytes: u64,
    pub files: u64,
}

pub async fn static_transfer(b: &Browser) -> Weight {
    let v = b
        .js(r#"
            const entries = performance.getEntriesByType('navigation')
              .concat(performance.getEntriesByType('resource')
                .filter((e) => e.initiatorType !== 'fetch' && e.initiatorType !== 'xmlhttprequest'));
            return [entries.reduce((sum, e) => sum + e.decodedBodySize, 0), entries.length];
        "#)
        .await;
    Weight {
        bytes: v[0].as_u64().unwrap(),
        files: v[1].as_u64().unwrap(),
    }
}
