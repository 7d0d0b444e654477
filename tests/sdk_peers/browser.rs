//! The browser SDK in headless Chromium, from a page on another origin.
