//! Pure functions from the model to the bytes of one document each. No
//! renderer reads files or the clock: the same site gives the same bytes.
//!
//! [`Feed`] cuts the site into the feed documents of every format
//! (site-wide and per category, paged by RFC 5005); the format modules
//! render one [`FeedPage`] each.

pub mod atom;
pub mod html;
pub mod json;
pub mod opml;
pub mod rss;

use chrono::{DateTime, FixedOffset};

use crate::model::{Article, Category, Site, SiteConfig};

/// The generator named in feeds.
pub const GENERATOR: &str = "stadtfeed";
/// Its version, from Cargo.toml.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The three feed formats; every feed is published in each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// One feed: the whole site, or one category.
#[derive(Debug, Clone)]
pub struct Feed<'a> {
    /// Feed title.
    pub title: String,
    /// Feed description.
    pub description: String,
    /// The category, for category feeds.
    pub category: Option<&'a Category>,
    /// URL path prefix of its documents and HTML page: `""` or `"kategorie/<slug>/"`.
    pub dir: String,
    /// Its articles, newest first.
    pub articles: Vec<&'a Article>,
}

impl<'a> Feed<'a> {
    /// The site-wide feed.
    pub fn site(site: &'a Site) -> Feed<'a> {
        Feed {
            title: site.config.title.clone(),
            description: site.config.description.clone(),
            category: None,
            dir: String::new(),
            articles: site.articles.iter().collect(),
        }
    }

    /// Every category feed, by slug.
    pub fn categories(site: &'a Site) -> Vec<Feed<'a>> {
        let mut feeds: Vec<Feed<'a>> = Vec::new();
        for article in &site.articles {
            for category in &article.categories {
                match feeds
                    .iter_mut()
                    .find(|f| f.category.is_some_and(|c| c.slug == category.slug))
                {
                    Some(feed) => feed.articles.push(article),
                    None => feeds.push(Feed {
                        title: format!("{} – {}", site.config.title, category.name),
                        description: format!("{}: {}", site.config.description, category.name),
                        category: Some(category),
                        dir: format!("kategorie/{}/", category.slug),
                        articles: vec![article],
                    }),
                }
            }
        }
        feeds.sort_by(|a, b| a.dir.cmp(&b.dir));
        feeds
    }

    /// How many documents each format needs at `per_page` entries each (at least one).
    pub fn page_count(&self, per_page: usize) -> usize {
        self.articles.len().div_ceil(per_page).max(1)
    }

    /// URL path of page `number` (1-based): `feed.rss`, `feed-2.rss`, …
    pub fn page_path(&self, format: Format, number: usize) -> String {
        let ext = format.extension();
        match number {
            1 => format!("{}feed.{ext}", self.dir),
            n => format!("{}feed-{n}.{ext}", self.dir),
        }
    }

    /// URL path of the HTML page that shows this feed.
    pub fn html_path(&self) -> String {
        self.dir.clone()
    }

    /// Every document of this feed in one format.
    pub fn pages(
        &'a self,
        config: &'a SiteConfig,
        format: Format,
    ) -> impl Iterator<Item = FeedPage<'a>> + 'a {
        let per_page = config.items_per_page;
        let count = self.page_count(per_page);
        (1..=count).map(move |number| {
            let start = (number - 1) * per_page;
            let entries = &self.articles
                [start.min(self.articles.len())..(start + per_page).min(self.articles.len())];
            let url = |n: usize| config.url(&self.page_path(format, n));
            FeedPage {
                feed: self,
                config,
                path: self.page_path(format, number),
                self_url: url(number),
                first_url: url(1),
                last_url: url(count),
                next_url: (number < count).then(|| url(number + 1)),
                prev_url: (number > 1).then(|| url(number - 1)),
                updated: newest_change(entries, config),
                entries,
            }
        })
    }
}

/// One feed document: a page of one feed in one format.
#[derive(Debug, Clone)]
pub struct FeedPage<'a> {
    /// The feed it belongs to.
    pub feed: &'a Feed<'a>,
    /// The publisher.
    pub config: &'a SiteConfig,
    /// Its URL path.
    pub path: String,
    /// Its absolute URL (`rel="self"`).
    pub self_url: String,
    /// RFC 5005 `first`.
    pub first_url: String,
    /// RFC 5005 `last`.
    pub last_url: String,
    /// RFC 5005 `next`: older entries.
    pub next_url: Option<String>,
    /// RFC 5005 `previous`: newer entries.
    pub prev_url: Option<String>,
    /// The newest change among its entries (never the clock).
    pub updated: DateTime<FixedOffset>,
    /// Its entries, newest first.
    pub entries: &'a [&'a Article],
}

impl FeedPage<'_> {
    /// The HTML page readers open from the feed.
    pub fn html_url(&self) -> String {
        self.config.url(&self.feed.html_path())
    }

    /// Whether the feed has more than one document, so paging links are due.
    pub fn is_paged(&self) -> bool {
        self.first_url != self.last_url
    }
}

/// The newest `updated`/`published` among `articles`; for none, the Unix
/// epoch in the site's zone, so that an empty feed is still deterministic.
pub fn newest_change(articles: &[&Article], config: &SiteConfig) -> DateTime<FixedOffset> {
    articles
        .iter()
        .map(|a| a.last_change())
        .max()
        .unwrap_or_else(|| {
            DateTime::UNIX_EPOCH
                .with_timezone(&config.timezone)
                .fixed_offset()
        })
}
