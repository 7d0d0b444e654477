//! The `flags` binary, run as a user runs it, against the real admin router
//! served on a loopback port.

mod check;
mod help;
mod hygiene;
mod pipe;
mod rollout;
mod support;
mod url;
