//! Pure functions from the model to the bytes of one document each. No
//! renderer reads files or the clock: the same site gives the same bytes.
//!
//! The format modules render one [`FeedDoc`] each: a subscription
//! document or an RFC 5005 archive document, with its entries.

pub mod atom;
pub mod html;
pub mod json;
pub mod opml;
pub mod rss;
pub mod sitemap;

use std::sync::Arc;

use chrono::{DateTime, FixedOffset};
use serde::Serialize;

use crate::model::{Article, SiteConfig};

/// The generator named in feeds.
pub const GENERATOR: &str = "stadtfeed";
/// Its version, from Cargo.toml.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The three feed formats; every feed is published in each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Format {
    /// RSS 2.0
    Rss,
    /// Atom 1.0
    Atom,
    /// JSON Feed 1.1
    Json,
}

impl Format {
    /// Every format, in the order pages list them.
    pub const ALL: [Format; 3] = [Format::Rss, Format::Atom, Format::Json];

    /// The format of a file extension (`rss`, `atom`, `json`).
    pub fn from_extension(extension: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.extension() == extension)
    }

    /// File extension of its documents.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Rss => "rss",
            Format::Atom => "atom",
            Format::Json => "json",
        }
    }

    /// The MIME type (without charset) for `<link rel="alternate">` and HTTP.
    pub fn mime_type(self) -> &'static str {
        match self {
            Format::Rss => "application/rss+xml",
            Format::Atom => "application/atom+xml",
            Format::Json => "application/feed+json",
        }
    }

    /// How people call it.
    pub fn label(self) -> &'static str {
        match self {
            Format::Rss => "RSS",
            Format::Atom => "Atom",
            Format::Json => "JSON Feed",
        }
    }
}

/// One feed document as the format renderers take it: the plan's links as
/// URLs, and the full articles.
#[derive(Debug, Clone)]
pub struct FeedDoc<'a> {
    /// The publisher.
    pub config: &'a SiteConfig,
    /// Feed title.
    pub title: &'a str,
    /// Feed description.
    pub description: &'a str,
    /// Its absolute URL (`rel="self"`).
    pub self_url: String,
    /// The HTML page readers open from the feed.
    pub html_url: String,
    /// The subscription document of the feed (RFC 5005 `current`; also the
    /// feed's identity in Atom).
    pub current_url: String,
    /// Whether this is an archive document (RFC 5005 `fh:archive`).
    pub is_archive: bool,
    /// RFC 5005 `prev-archive`: the archive with the next older entries.
    pub prev_archive_url: Option<String>,
    /// RFC 5005 `next-archive`: the archive with the next newer entries.
    pub next_archive_url: Option<String>,
    /// The newest change among its entries (never the clock).
    pub updated: DateTime<FixedOffset>,
    /// Its entries, newest first.
    pub entries: &'a [Arc<Article>],
}

impl FeedDoc<'_> {
    /// About the size of the document in any format, so that its buffer
    /// is allocated once rather than doubled and copied a dozen times.
    pub fn capacity(&self) -> usize {
        self.entries
            .iter()
            .map(|a| a.content_html.len() + a.summary.len() + 1400)
            .sum::<usize>()
            + 4096
    }
}

/// The RFC 5005 namespace of `fh:archive`.
pub const HISTORY_NS: &str = "http://purl.org/syndication/history/1.0";
