//! The German HTML pages people open: the start page, one per category,
//! the archive by month, one per article, and the "not found" page. Links between pages are
//! relative, so the pages work wherever the site is served.

use std::sync::Arc;

use askama::Template;

mod article;

pub use article::{article_page, Neighbours};

use super::json::rfc3339;
use super::Format;
use crate::de;
use crate::index::{ArchivePart, Month, Scope};
use crate::model::{Article, Category, SiteConfig};
use crate::site::key::DocKey;
use crate::site::plan::{ArchiveIndexPlan, FrontPlan, MonthPlan};

/// A feed offered on a page (autodiscovery and visible links).
struct FeedLink {
    mime_type: &'static str,
    label: &'static str,
    href: String,
}

/// An article in a list.
struct ListEntry<'a> {
    id: &'a str,
    title: &'a str,
    summary: &'a str,
    date_line: String,
    date_iso: String,
}

impl<'a> ListEntry<'a> {
    fn of(article: &'a Article) -> ListEntry<'a> {
        ListEntry {
            id: article.id.as_str(),
            title: &article.title,
            summary: &article.summary,
            date_line: date_line(&article.published),
            date_iso: rfc3339(&article.published),
        }
    }
}

/// A link to another page of the site.
struct PageLink {
    href: String,
    label: String,
}

/// What `base.html` and every page's `<head>` show: the site, the way to
/// its root (links are relative), the page's canonical URL and the feeds
/// it offers.
struct Head<'a> {
    site: &'a SiteConfig,
    root: String,
    canonical: String,
    feeds: Vec<FeedLink>,
}

impl<'a> Head<'a> {
    /// The head of the page at `path` (as `build` writes it), whose
    /// canonical address is `link_path` and which offers `scope`'s feeds.
    fn of(site: &'a SiteConfig, path: &str, link_path: &str, scope: &Scope) -> Head<'a> {
        let root = root_of(path);
        Head {
            site,
            canonical: site.url(link_path),
            feeds: feed_links(scope, &root),
            root,
        }
    }
}

#[derive(Template)]
#[template(path = "list.html")]
struct ListPage<'a> {
    head: Head<'a>,
    title: &'a str,
    heading: &'a str,
    description: &'a str,
    categories: &'a [Category],
    articles: Vec<ListEntry<'a>>,
    archive_href: String,
    subscribe_href: String,
}

#[derive(Template)]
#[template(path = "archive.html")]
struct ArchiveIndexPage<'a> {
    head: Head<'a>,
    title: &'a str,
    years: Vec<(i32, Vec<(PageLink, usize)>)>,
}

#[derive(Template)]
#[template(path = "month.html")]
struct MonthPage<'a> {
    head: Head<'a>,
    title: &'a str,
    heading: String,
    month_feeds: Vec<FeedLink>,
    articles: Vec<ListEntry<'a>>,
    previous: Option<PageLink>,
    next: Option<PageLink>,
    archive_href: String,
}

/// One feed on the subscribe page, with one-click links into web readers.
struct Subscription {
    anchor: String,
    name: String,
    url: String,
    feedly: String,
    inoreader: String,
    newsblur: String,
    atom: String,
    json: String,
}

#[derive(Template)]
#[template(path = "abonnieren.html")]
struct SubscribePage<'a> {
    head: Head<'a>,
    subscriptions: Vec<Subscription>,
    opml: String,
}

#[derive(Template)]
#[template(path = "not_found.html")]
struct NotFoundPage<'a> {
    head: Head<'a>,
}

/// The date line of an article: "Dienstag, 11. Januar 2022", with the time
/// ("…, 14:30 Uhr") when the record gave one.
pub fn date_line(date: &chrono::DateTime<chrono::FixedOffset>) -> String {
    use chrono::Timelike;
    if date.hour() == 0 && date.minute() == 0 {
        de::long_date(date)
    } else {
        format!(
            "{}, {:02}:{:02} Uhr",
            de::long_date(date),
            date.hour(),
            date.minute()
        )
    }
}

/// The way from a page at `path` (as `build` writes it) to the site root.
pub fn root_of(path: &str) -> String {
    "../".repeat(path.matches('/').count())
}

fn feed_links(scope: &Scope, root: &str) -> Vec<FeedLink> {
    Format::ALL
        .iter()
        .map(|&format| FeedLink {
            mime_type: format.mime_type(),
            label: format.label(),
            href: format!(
                "{root}{}",
                DocKey::Feed {
                    scope: scope.clone(),
                    format
                }
                .path()
            ),
        })
        .collect()
}

/// The link from a page at `root` to the document `key`.
fn href(root: &str, key: &DocKey) -> String {
    format!("{root}{}", key.link_path())
}

/// "März 2024".
fn month_name(month: Month) -> String {
    format!("{} {}", de::MONTHS[month.month as usize - 1], month.year)
}

fn month_link(scope: &Scope, month: Month, root: &str) -> PageLink {
    PageLink {
        href: href(root, &DocKey::MonthPage(scope.clone(), month)),
        label: month_name(month),
    }
}

/// The start page (site scope) or a category page, at `path`.
pub fn front_page(
    config: &SiteConfig,
    plan: &FrontPlan,
    articles: &[Arc<Article>],
    path: &str,
) -> Vec<u8> {
    let head = Head::of(config, path, &plan.scope.dir(), &plan.scope);
    let root = &head.root;
    let page = ListPage {
        title: &plan.title,
        heading: &plan.heading,
        description: &plan.description,
        categories: &plan.categories,
        articles: articles.iter().map(|a| ListEntry::of(a)).collect(),
        archive_href: href(root, &DocKey::ArchiveIndex(plan.scope.clone())),
        subscribe_href: format!(
            "{root}{}#{}",
            DocKey::Subscribe.link_path(),
            match &plan.scope {
                Scope::Site => "alle".to_owned(),
                Scope::Category(slug) => slug.to_string(),
            }
        ),
        head,
    };
    into_bytes(page.render())
}

/// Every month of a feed with its number of articles, by year.
pub fn archive_index_page(config: &SiteConfig, plan: &ArchiveIndexPlan, path: &str) -> Vec<u8> {
    let head = Head::of(
        config,
        path,
        &DocKey::ArchiveIndex(plan.scope.clone()).link_path(),
        &plan.scope,
    );
    let mut years: Vec<(i32, Vec<(PageLink, usize)>)> = Vec::new();
    for &(month, count) in &plan.months {
        let link = month_link(&plan.scope, month, &head.root);
        match years.last_mut() {
            Some((year, months)) if *year == month.year => months.push((link, count)),
            _ => years.push((month.year, vec![(link, count)])),
        }
    }
    let page = ArchiveIndexPage {
        head,
        title: &plan.title,
        years,
    };
    into_bytes(page.render())
}

/// One month of a feed: its articles, its feed archive, the neighbours.
pub fn month_page(
    config: &SiteConfig,
    plan: &MonthPlan,
    articles: &[Arc<Article>],
    path: &str,
) -> Vec<u8> {
    let head = Head::of(
        config,
        path,
        &DocKey::MonthPage(plan.scope.clone(), plan.month).link_path(),
        &plan.scope,
    );
    let root = &head.root;
    let month_feeds = (1..=plan.parts)
        .flat_map(|part| {
            Format::ALL.into_iter().map(move |format| {
                let key = DocKey::Archive {
                    scope: plan.scope.clone(),
                    part: ArchivePart {
                        month: plan.month,
                        part,
                    },
                    format,
                };
                FeedLink {
                    mime_type: format.mime_type(),
                    label: format.label(),
                    href: format!("{root}{}", key.path()),
                }
            })
        })
        .collect();
    let page = MonthPage {
        title: &plan.title,
        heading: month_name(plan.month),
        month_feeds,
        articles: articles.iter().map(|a| ListEntry::of(a)).collect(),
        previous: plan.previous.map(|m| month_link(&plan.scope, m, root)),
        next: plan.next.map(|m| month_link(&plan.scope, m, root)),
        archive_href: href(root, &DocKey::ArchiveIndex(plan.scope.clone())),
        head,
    };
    into_bytes(page.render())
}

/// `/abonnieren/`: what a feed is, every feed's address to copy, and
/// one-click links into the common web readers.
pub fn subscribe_page(config: &SiteConfig, categories: &[Category], path: &str) -> Vec<u8> {
    use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
    let feed_url = |scope: &Scope, format| {
        config.url(
            &DocKey::Feed {
                scope: scope.clone(),
                format,
            }
            .path(),
        )
    };
    let subscription = |scope: Scope, name: String| {
        let url = feed_url(&scope, Format::Rss);
        let encoded = utf8_percent_encode(&url, NON_ALPHANUMERIC).to_string();
        Subscription {
            anchor: match &scope {
                Scope::Site => "alle".to_owned(),
                Scope::Category(slug) => slug.to_string(),
            },
            name,
            feedly: format!("https://feedly.com/i/subscription/feed/{encoded}"),
            inoreader: format!("https://www.inoreader.com/?add_feed={encoded}"),
            newsblur: format!("https://www.newsblur.com/?url={encoded}"),
            atom: feed_url(&scope, Format::Atom),
            json: feed_url(&scope, Format::Json),
            url,
        }
    };
    let subscriptions = std::iter::once(subscription(Scope::Site, "Alle Meldungen".to_owned()))
        .chain(
            categories
                .iter()
                .map(|c| subscription(Scope::Category(c.slug.clone()), format!("Nur {}", c.name))),
        )
        .collect();
    let page = SubscribePage {
        head: Head::of(config, path, &DocKey::Subscribe.link_path(), &Scope::Site),
        subscriptions,
        opml: config.url("feeds.opml"),
    };
    into_bytes(page.render())
}

/// The page for unknown paths. Its links are absolute (it is shown at any
/// depth), so it links to the site root by `base_url`.
pub fn not_found_page(config: &SiteConfig) -> Vec<u8> {
    let head = Head {
        site: config,
        root: format!("{}/", config.base_url),
        // Neither shown: the page is no document of its own.
        canonical: String::new(),
        feeds: Vec::new(),
    };
    into_bytes(NotFoundPage { head }.render())
}

fn into_bytes(rendered: askama::Result<String>) -> Vec<u8> {
    // The templates only display strings and numbers, which cannot fail.
    let mut bytes = rendered.unwrap_or_default().into_bytes();
    bytes.push(b'\n');
    bytes
}
