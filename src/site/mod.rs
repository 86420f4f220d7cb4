//! The published site: every document by [`DocKey`], what it
//! shows ([`Plan`]), and its bytes. One code path renders for
//! `build` and `serve`.

pub mod compress;
pub mod key;
pub mod plan;
pub mod reach;

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;

use crate::content::store::ArticleStore;
use crate::index::{ArchivePart, Index, Month, Scope};
use crate::model::Article;
use crate::render::{self, html, FeedDoc, Format};
use key::{DocKey, SitemapPart};
use plan::{FeedPlan, Plan};

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
/// `Content-Type` of sitemaps.
pub const XML: &str = "application/xml; charset=utf-8";
/// The icon of a site without a logo: a white S on the pages' blue.
const DEFAULT_FAVICON: &[u8] = include_bytes!("../../assets/favicon.ico");

/// `Content-Type` of `robots.txt`.
pub const TEXT: &str = "text/plain; charset=utf-8";

/// The `Content-Type` of a document (known without its plan, so that a
/// run that plans only what changed still knows every document's headers).
pub fn content_type_of<'a>(index: &'a Index, key: &DocKey) -> &'a str {
    let media = |path: Option<&str>| path.and_then(|path| index.media(path));
    match key {
        DocKey::Feed { format, .. } | DocKey::Archive { format, .. } => content_type(*format),
        DocKey::Opml => OPML,
        DocKey::Sitemap(_) => XML,
        DocKey::Robots => TEXT,
        DocKey::Favicon => media(index.config().logo_path())
            .map_or("image/x-icon", |file| file.content_type.as_str()),
        DocKey::Media(path) => {
            media(Some(path)).map_or("application/octet-stream", |f| f.content_type.as_str())
        }
        DocKey::FrontPage(_)
        | DocKey::ArchiveIndex(_)
        | DocKey::MonthPage(..)
        | DocKey::Article(_)
        | DocKey::NotFound
        | DocKey::Subscribe => HTML,
    }
}

/// `Cache-Control` of documents that stay as they are: archives of earlier
/// months, their pages, and images.
pub const LONG_CACHE: &str = "public, max-age=86400, stale-while-revalidate=604800";

/// `Cache-Control` of a document: long for what will not change
/// (archives of earlier months and their pages, images), the site's
/// `max_age` for the rest. Known without the document's plan.
pub fn cache_control_of(index: &Index, key: &DocKey) -> String {
    let long = match key {
        DocKey::Media(_) | DocKey::Favicon => true,
        // An archive part with a newer one after it is complete.
        DocKey::Archive { scope, part, .. } => index
            .feed(scope)
            .is_some_and(|feed| feed.next_archive(*part).is_some()),
        DocKey::MonthPage(scope, month) => index
            .feed(scope)
            .and_then(|feed| feed.newest_archive())
            .is_some_and(|newest| newest.month > *month),
        _ => false,
    };
    if long {
        LONG_CACHE.to_owned()
    } else {
        format!("public, max-age={}", index.config().max_age)
    }
}

/// Why a document could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// A media file went away or cannot be read.
    #[error("cannot read {path}: {source}")]
    Media {
        /// The file.
        path: String,
        /// What the file system said.
        source: std::io::Error,
    },
}

/// Renders the document `key` planned as `plan`, loading the articles it
/// shows from `store`. An article the store lost is left out (and logged):
/// the document still shows every other one.
pub fn render(
    index: &Index,
    store: &ArticleStore,
    key: &DocKey,
    plan: &Plan,
) -> Result<Bytes, RenderError> {
    let config = index.config();
    let articles = || -> Vec<Arc<Article>> {
        plan.members()
            .iter()
            .filter_map(|member| {
                let article = store.get(&member.hash);
                if article.is_none() {
                    tracing::error!(id = %member.id, "article missing from the store; left out");
                }
                article
            })
            .collect()
    };
    let path = key.path();
    let body = match plan {
        Plan::Feed(feed) => render_feed(index, feed, &articles(), plan.updated(index)),
        Plan::FrontPage(front) => html::front_page(config, front, &articles(), &path),
        Plan::ArchiveIndex(archive) => html::archive_index_page(config, archive, &path),
        Plan::MonthPage(month) => html::month_page(config, month, &articles(), &path),
        Plan::Article(page) => {
            let load = |member: &plan::Member| store.get(&member.hash);
            match articles().first() {
                Some(article) => html::article_page(
                    config,
                    article,
                    &html::Neighbours {
                        newer: page.newer.as_ref().and_then(load),
                        older: page.older.as_ref().and_then(load),
                        related: page.related.iter().filter_map(load).collect(),
                    },
                ),
                None => html::not_found_page(config),
            }
        }
        Plan::Opml { categories } => render::opml::render(config, plan.updated(index), categories),
        Plan::NotFound => html::not_found_page(config),
        Plan::Sitemap {
            index: is_index,
            urls,
        } => render::sitemap::render(config, *is_index, urls),
        Plan::Robots => render::sitemap::robots(config),
        Plan::Favicon(None) => DEFAULT_FAVICON.to_vec(),
        Plan::Favicon(Some(file)) => {
            return std::fs::read(&file.file)
                .map(Bytes::from)
                .map_err(|source| RenderError::Media {
                    path: file.url_path.clone(),
                    source,
                })
        }
        Plan::Subscribe { categories } => html::subscribe_page(config, categories, &path),
        Plan::Media(file) => {
            return std::fs::read(&file.file)
                .map(Bytes::from)
                .map_err(|source| RenderError::Media {
                    path: file.url_path.clone(),
                    source,
                })
        }
    };
    Ok(Bytes::from(body))
}

fn render_feed(
    index: &Index,
    plan: &FeedPlan,
    articles: &[Arc<Article>],
    updated: chrono::DateTime<chrono::FixedOffset>,
) -> Vec<u8> {
    let config = index.config();
    let archive_url = |part: ArchivePart| {
        config.url(
            &DocKey::Archive {
                scope: plan.scope.clone(),
                part,
                format: plan.format,
            }
            .path(),
        )
    };
    let current = DocKey::Feed {
        scope: plan.scope.clone(),
        format: plan.format,
    };
    let doc = FeedDoc {
        config,
        title: &plan.title,
        description: &plan.description,
        self_url: match plan.archive {
            Some(part) => archive_url(part),
            None => config.url(&current.path()),
        },
        html_url: config.url(&plan.scope.dir()),
        current_url: config.url(&current.path()),
        is_archive: plan.archive.is_some(),
        prev_archive_url: plan.prev_archive.map(archive_url),
        next_archive_url: plan.next_archive.map(archive_url),
        updated,
        entries: articles,
    };
    match plan.format {
        Format::Rss => render::rss::render(&doc),
        Format::Atom => render::atom::render(&doc),
        Format::Json => render::json::render(&doc),
    }
}

/// The documents kept rendered and compressed by the service: what pollers
/// and visitors ask for most. The newest archive parts change with every
/// new record too, but hold up to [`ARCHIVE_PART_SIZE`] full entries in
/// three formats per feed: rendering them on every edit would cost more
/// than rendering them on the first request after it (then they are
/// cached like any cold document).
///
/// [`ARCHIVE_PART_SIZE`]: crate::index::ARCHIVE_PART_SIZE
pub fn hot_keys(index: &Index) -> Vec<DocKey> {
    let mut keys = vec![DocKey::Opml, DocKey::NotFound];
    for scope in index.scopes() {
        keys.push(DocKey::FrontPage(scope.clone()));
        for format in Format::ALL {
            keys.push(DocKey::Feed {
                scope: scope.clone(),
                format,
            });
        }
    }
    keys
}

/// Every document of the site, in the order `build` writes them: leaves
/// first (media, articles, archives), then the pages and feeds that link to
/// them, the start page last.
pub fn all_keys(index: &Index) -> Vec<DocKey> {
    let mut keys: Vec<DocKey> = index
        .media_files()
        .map(|file| DocKey::Media(file.url_path.clone()))
        .collect();
    // In the site feed's order: an article page shows its neighbours in
    // it, so pages rendered one after another share the articles they
    // load (the store keeps the recent ones).
    if let Some(site) = index.feed(&Scope::Site) {
        keys.extend(
            site.newest(site.len())
                .map(|s| DocKey::Article(s.id.clone())),
        );
    }
    let scopes: Vec<&Scope> = index.scopes().collect();
    // Month by month across the feeds: the site's archive of a month and
    // its categories' show the same articles, which the store then still
    // holds decoded when the next one is rendered.
    let mut months: Vec<Month> = scopes
        .iter()
        .filter_map(|scope| index.feed(scope))
        .flat_map(|feed| feed.months().map(|(month, _)| month))
        .collect();
    months.sort_unstable();
    months.dedup();
    for month in months {
        for scope in &scopes {
            let Some(feed) = index.feed(scope).filter(|f| f.count(month) > 0) else {
                continue;
            };
            keys.extend(month_keys(scope, month, feed.parts(month)));
        }
    }
    for scope in &scopes {
        if index.feed(scope).is_some_and(|feed| !feed.is_empty()) {
            keys.push(DocKey::ArchiveIndex((*scope).clone()));
        }
    }
    keys.push(DocKey::NotFound);
    keys.push(DocKey::Robots);
    keys.push(DocKey::Subscribe);
    keys.push(DocKey::Favicon);
    if let Some(site) = index.feed(&Scope::Site) {
        let mut years: Vec<i32> = site.months().map(|(m, _)| m.year).collect();
        years.dedup();
        keys.extend(
            years
                .into_iter()
                .map(|y| DocKey::Sitemap(SitemapPart::Year(y))),
        );
        keys.push(DocKey::Sitemap(SitemapPart::Pages));
        keys.push(DocKey::Sitemap(SitemapPart::Index));
    }
    keys.push(DocKey::Opml);
    // Category scopes before the site, so the start page comes last.
    for scope in scopes.iter().rev() {
        for format in Format::ALL {
            keys.push(DocKey::Feed {
                scope: (*scope).clone(),
                format,
            });
        }
        keys.push(DocKey::FrontPage((*scope).clone()));
    }
    keys
}

/// A month's documents in one feed: its `parts` archive parts in every
/// format, then its page.
pub fn month_keys(scope: &Scope, month: Month, parts: u32) -> impl Iterator<Item = DocKey> + '_ {
    (1..=parts)
        .flat_map(move |part| {
            Format::ALL.into_iter().map(move |format| DocKey::Archive {
                scope: scope.clone(),
                part: ArchivePart { month, part },
                format,
            })
        })
        .chain(std::iter::once(DocKey::MonthPage(scope.clone(), month)))
}

/// How many phases [`build_phase`] has.
pub const PHASES: u8 = 5;

/// When a document is written (or put) in a build or publish, so that a
/// run cut short between phases leaves no feed linking to a document
/// that is not there yet: media and article pages first; then the
/// archive feeds, which list articles; then the month pages and archive
/// overviews, which link both; then each category's feeds and page; last
/// the site's own feeds and start page and the lists of everything (OPML,
/// sitemaps, robots.txt, /abonnieren/, the 404 page with the newest). Within a phase documents go in
/// parallel; pages that link each other (an article's neighbours) can
/// have no order.
pub fn build_phase(key: &DocKey) -> u8 {
    match key {
        DocKey::Media(_) | DocKey::Favicon | DocKey::Article(_) => 0,
        DocKey::Archive { .. } => 1,
        DocKey::MonthPage(..) | DocKey::ArchiveIndex(_) => 2,
        DocKey::Feed { scope, .. } | DocKey::FrontPage(scope) if *scope != Scope::Site => 3,
        DocKey::Feed { .. }
        | DocKey::FrontPage(_)
        | DocKey::Opml
        | DocKey::NotFound
        | DocKey::Subscribe
        | DocKey::Sitemap(_)
        | DocKey::Robots => 4,
    }
}

/// Every document rendered, by path: the whole site in memory, for tests
/// and comparisons (`build` and `serve` render by key as they go).
pub fn render_all(index: &Index, store: &ArticleStore) -> BTreeMap<String, Bytes> {
    all_keys(index)
        .into_iter()
        .filter_map(|key| {
            let plan = Plan::of(index, &key)?;
            let body = render(index, store, &key, &plan).ok()?;
            Some((key.path(), body))
        })
        .collect()
}
