//! What the [Frontend API](crate::frontend) and the
//! [client API](crate::client_api) share: SDK tokens, ETags, and the
//! metrics reports SDKs post.

pub(crate) mod body;
pub(crate) mod etag;
pub(crate) mod report;
pub(crate) mod tokens;
