//! stadtfeed publishes a German town's news as RSS 2.0, Atom 1.0 and JSON Feed 1.1.
//!
//! Data flows one way, and the modules follow it:
//!
//! - [`content`] reads `feeds/` (`site.toml` and the article records) into the
//!   typed [`model`], and owns every check of the input. A bad record becomes a
//!   [`content::Problem`] that names its file and line; it never stops the rest.
//! - [`index`] orders what is published per feed and month: summaries
//!   only, the full articles stay in the content store.
//! - [`site`] names every document (`DocKey`), computes what it shows from
//!   the index (its plan and fingerprint) and renders it.
//! - [`render`] holds pure functions from the model to the bytes of one
//!   document each (RSS, Atom, JSON Feed, HTML, OPML).
//! - [`build`] writes that site to a folder, [`publish`] puts it into an
//!   S3-compatible bucket; [`serve`] answers HTTP from it (and may keep a
//!   bucket in step).
//! - [`cli`] is the command line on top of all that; `main.rs` only calls it.
//! - [`state`] is what is kept between runs (store, stamps, manifest).
//! - [`stats`] reads a running service's `/metrics` into a German table.
//! - [`de`] holds the German month and weekday names that dates are read
//!   and written with.

#![warn(missing_docs)]

pub mod build;
pub mod cli;
pub mod content;
pub mod de;
pub mod index;
pub mod model;
pub mod publish;
pub mod render;
pub mod serve;
pub mod site;
pub mod state;
pub mod stats;
