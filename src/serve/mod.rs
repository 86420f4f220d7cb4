//! `stadtfeed serve`: the published site over HTTP/1.1 on hyper.
//!
//! - [`documents`] holds what requests are answered from: the hot
//!   documents (bytes, gzip and brotli forms, strong ETags) prepared once
//!   per reload, and a cache of documents rendered on request.
//! - [`http`] answers one request from those (`negotiate`: what its
//!   headers ask, encoding and validators).
//! - [`watch`] watches `feeds/` (debounce, periodic rescan, swaps of the
//!   folder) and runs the reloads.
//! - [`reload`] re-reads what changed and swaps in a new site atomically.
//! - [`server`] is the accept loop, connection limits and graceful shutdown
//!   (`clients`: each address's share).
//! - [`sendfile`] sends large hot bodies from files of their own, without a copy.
//! - [`delta`] answers `A-IM: feed` requests with only what changed.
//! - [`websub`] tells the hub, if one is configured, which feeds changed.
//! - [`metrics`] counts requests, stated subscribers and daily pollers for
//!   `--metrics-addr` and `stadtfeed stats`.

mod clients;
pub mod delta;
pub mod documents;
pub mod http;
pub mod metrics;
mod negotiate;
pub mod reload;
pub mod sendfile;
pub mod server;
pub mod watch;
pub mod websub;

pub use server::{run, Config};
