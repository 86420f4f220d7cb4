//! `stadtfeed serve`: the published site over HTTP/1.1 on hyper.
//!
//! - [`documents`] turns a [`PublishedSite`](crate::site::PublishedSite)
//!   into what requests are answered from: bytes, gzip and brotli forms,
//!   strong ETags, prepared once per reload.
//! - [`http`] answers one request from those: a pure lookup, no rendering.
//! - [`reload`] watches `feeds/` and swaps in a new site atomically.
//! - [`server`] is the accept loop, connection limits and graceful shutdown.
//! - [`delta`] answers `A-IM: feed` requests with only what changed.
//! - [`websub`] tells the hub, if one is configured, which feeds changed.

pub mod delta;
pub mod documents;
pub mod http;
pub mod reload;
pub mod server;
pub mod websub;

pub use server::{run, Config};
