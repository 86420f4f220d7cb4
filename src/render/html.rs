//! The German HTML pages people open: the start page, one per category,
//! one per article, and the "not found" page. Links between pages are
//! relative, so the pages work wherever the site is served.

use askama::Template;

use super::json::rfc3339;
use super::{Feed, Format};
use crate::de;
use crate::model::{Article, Category, SiteConfig};

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
}

#[derive(Template)]
#[template(path = "list.html")]
struct ListPage<'a> {
    root: &'a str,
    site_title: &'a str,
    title: &'a str,
    description: &'a str,
    canonical: String,
    feeds: Vec<FeedLink>,
    categories: Vec<&'a Category>,
    articles: Vec<ListEntry<'a>>,
}

#[derive(Template)]
#[template(path = "article.html")]
struct ArticlePage<'a> {
    root: &'static str,
    site_title: &'a str,
    title: &'a str,
    summary: &'a str,
    canonical: String,
    feeds: Vec<FeedLink>,
    published_iso: String,
    date_line: String,
    updated_line: Option<String>,
    author: &'a str,
    content_html: &'a str,
    categories: &'a [Category],
    external_link: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "not_found.html")]
struct NotFoundPage<'a> {
    root: &'a str,
    site_title: &'a str,
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

fn feed_links(feed: &Feed<'_>, root: &str) -> Vec<FeedLink> {
    Format::ALL
        .iter()
        .map(|&format| FeedLink {
            mime_type: format.mime_type(),
            label: format.label(),
            href: format!("{root}{}", feed.page_path(format, 1)),
        })
        .collect()
}

/// The start page (`feed` is the site feed) or a category page.
pub fn list_page(config: &SiteConfig, feed: &Feed<'_>, categories: &[&Category]) -> Vec<u8> {
    let root = if feed.dir.is_empty() { "" } else { "../../" };
    let page = ListPage {
        root,
        site_title: &config.title,
        title: feed.category.map_or(&config.title, |c| &c.name),
        description: &feed.description,
        canonical: config.url(&feed.html_path()),
        feeds: feed_links(feed, root),
        categories: categories.to_vec(),
        articles: feed
            .articles
            .iter()
            .take(config.items_per_page)
            .map(|a| ListEntry {
                id: a.id.as_str(),
                title: &a.title,
                summary: &a.summary,
                date_line: date_line(&a.published),
            })
            .collect(),
    };
    into_bytes(page.render())
}

/// The page of one article, at `artikel/<id>/`.
pub fn article_page(config: &SiteConfig, site_feed: &Feed<'_>, article: &Article) -> Vec<u8> {
    let root = "../../";
    let page = ArticlePage {
        root,
        site_title: &config.title,
        title: &article.title,
        summary: &article.summary,
        canonical: config.article_url(&article.id),
        feeds: feed_links(site_feed, root),
        published_iso: rfc3339(&article.published),
        date_line: date_line(&article.published),
        updated_line: article.updated.as_ref().map(de::date_time),
        author: &article.author,
        content_html: &site_relative(&article.content_html, config, root),
        categories: &article.categories,
        external_link: article.external_link.as_deref(),
    };
    into_bytes(page.render())
}

/// The article's HTML with links into this site made relative to the page,
/// so that its images and links work wherever the pages are served (a local
/// `cargo run`, a CDN, a mirror), while feeds keep absolute URLs.
fn site_relative(content_html: &str, config: &SiteConfig, root: &str) -> String {
    // Only attribute values (src="…", href="…") start with `="`.
    content_html.replace(&format!("=\"{}/", config.base_url), &format!("=\"{root}"))
}

/// The page for unknown paths. Its links are absolute (it is shown at any
/// depth), so it links to the site root by `base_url`.
pub fn not_found_page(config: &SiteConfig) -> Vec<u8> {
    let root = format!("{}/", config.base_url);
    into_bytes(
        NotFoundPage {
            root: &root,
            site_title: &config.title,
        }
        .render(),
    )
}

fn into_bytes(rendered: askama::Result<String>) -> Vec<u8> {
    // The templates only display strings and numbers, which cannot fail.
    let mut bytes = rendered.unwrap_or_default().into_bytes();
    bytes.push(b'\n');
    bytes
}
