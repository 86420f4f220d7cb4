//! `stadtfeed serve`: the published site over HTTP/1.1 on hyper.
//!
//! - [`documents`] holds what requests are answered from: the hot
//!   documents (bytes, gzip and brotli forms, strong ETags) prepared once
//!   per reload, and a cache of documents rendered on request.
//! - [`http`] answers one request from those.
//! - [`reload`] watches `feeds/` and swaps in a new site atomically.
//! - [`server`] is the accept loop, connection limits and graceful shutdown.
//! - [`sendfile`] sends large hot bodies from memory files, without a copy.
//! - [`delta`] answers `A-IM: feed` requests with only what changed.
//! - [`websub`] tells the hub, if one is configured, which feeds changed.
//! - [`metrics`] counts requests, stated subscribers and daily pollers for
//!   `--metrics-addr` and `stadtfeed stats`.

pub mod delta;
pub mod documents;
pub mod http;
pub mod metrics;
mod negotiate;
pub mod reload;
pub mod sendfile;
pub mod server;
pub mod websub;

pub use server::{run, Config};
