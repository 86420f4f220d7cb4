//! The whole published site: every document by its URL path, with the
//! bytes, content type and last-modified date that `build` writes and
//! `serve` answers with. One code path renders both.

use std::collections::BTreeMap;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use rayon::prelude::*;

use crate::model::Site;
use crate::render::{self, html, Feed, Format};

/// One document of the site.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// `Content-Type`, with charset for text.
    pub content_type: &'static str,
    /// The exact bytes.
    pub body: Bytes,
    /// From the records (or the media file), never the clock.
    pub last_modified: DateTime<Utc>,
}

/// Every document by URL path without the leading slash; directory pages
/// end in `index.html` (`artikel/<id>/index.html`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PublishedSite {
    /// The documents.
    pub documents: BTreeMap<String, Document>,
}

/// The file name of the "not found" page.
pub const NOT_FOUND_PAGE: &str = "404.html";

/// `Content-Type` of a feed format.
pub fn content_type(format: Format) -> &'static str {
    match format {
        Format::Rss => "application/rss+xml; charset=utf-8",
        Format::Atom => "application/atom+xml; charset=utf-8",
        Format::Json => "application/feed+json; charset=utf-8",
    }
}

/// `Content-Type` of the HTML pages.
pub const HTML: &str = "text/html; charset=utf-8";
/// `Content-Type` of the OPML list.
pub const OPML: &str = "text/x-opml; charset=utf-8";

/// Renders every document of `site`; a pure function of the site.
pub fn publish(site: &Site) -> PublishedSite {
    let config = &site.config;
    let site_feed = Feed::site(site);
    let category_feeds = Feed::categories(site);
    let all_feeds: Vec<&Feed<'_>> = std::iter::once(&site_feed).chain(&category_feeds).collect();
    let newest = render::newest_change(&site_feed.articles, config).with_timezone(&Utc);
    let document = |content_type, body: Vec<u8>, last_modified: DateTime<Utc>| Document {
        content_type,
        body: Bytes::from(body),
        last_modified,
    };

    let feed_documents = all_feeds.par_iter().flat_map_iter(|feed| {
        Format::ALL
            .into_iter()
            .flat_map(|format| feed.pages(config, format).map(move |page| (format, page)))
            .map(|(format, page)| {
                let body = match format {
                    Format::Rss => render::rss::render(&page),
                    Format::Atom => render::atom::render(&page),
                    Format::Json => render::json::render(&page),
                };
                (
                    page.path.clone(),
                    document(content_type(format), body, page.updated.with_timezone(&Utc)),
                )
            })
    });
    let list_pages = all_feeds.par_iter().map(|feed| {
        let categories: Vec<_> = if feed.category.is_none() {
            category_feeds.iter().filter_map(|f| f.category).collect()
        } else {
            Vec::new()
        };
        let updated = render::newest_change(&feed.articles, config).with_timezone(&Utc);
        (
            format!("{}index.html", feed.html_path()),
            document(HTML, html::list_page(config, feed, &categories), updated),
        )
    });
    let article_pages = site.articles.par_iter().map(|article| {
        (
            format!("artikel/{}/index.html", article.id),
            document(
                HTML,
                html::article_page(config, &site_feed, article),
                article.last_change().with_timezone(&Utc),
            ),
        )
    });
    let mut documents: BTreeMap<String, Document> = feed_documents
        .chain(list_pages)
        .chain(article_pages)
        .collect();
    documents.insert(
        "feeds.opml".to_owned(),
        document(
            OPML,
            render::opml::render(config, &site_feed, &category_feeds),
            newest,
        ),
    );
    documents.insert(
        NOT_FOUND_PAGE.to_owned(),
        document(HTML, html::not_found_page(config), newest),
    );
    documents.extend(site.media.iter().map(|file| {
        let document = Document {
            content_type: file.content_type,
            body: file.bytes.clone(),
            last_modified: file.modified,
        };
        (file.url_path.clone(), document)
    }));
    PublishedSite { documents }
}
