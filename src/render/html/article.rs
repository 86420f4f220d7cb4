//! The page of one article: the article with its figure, its neighbours
//! and "Mehr aus …", the schema.org `NewsArticle` search engines read, and
//! its body's headings shifted under the page's own `h1`.

use std::sync::Arc;

use askama::Template;

use super::super::json::rfc3339;
use super::{date_line, feed_links, into_bytes, Head, ListEntry, PageLink};
use crate::de;
use crate::index::Scope;
use crate::model::{Article, Category, SiteConfig};

#[derive(Template)]
#[template(path = "article.html")]
struct ArticlePage<'a> {
    head: Head<'a>,
    title: &'a str,
    published_iso: String,
    date_line: String,
    updated_line: Option<String>,
    author: &'a str,
    content_html: &'a str,
    categories: &'a [Category],
    external_link: Option<&'a str>,
    description: String,
    page_url: String,
    modified_iso: String,
    image: Option<&'a crate::model::Image>,
    section: Option<&'a str>,
    json_ld: String,
    newer: Option<PageLink>,
    older: Option<PageLink>,
    related: Vec<ListEntry<'a>>,
    related_name: Option<&'a str>,
    related_href: Option<String>,
}

/// What an article page links to besides the article.
pub struct Neighbours {
    /// The next newer article of the site.
    pub newer: Option<Arc<Article>>,
    /// The next older article of the site.
    pub older: Option<Arc<Article>>,
    /// Older articles of its first category.
    pub related: Vec<Arc<Article>>,
}

/// The page of one article, at `artikel/<id>/`.
pub fn article_page(config: &SiteConfig, article: &Article, neighbours: &Neighbours) -> Vec<u8> {
    let root = "../../";
    let link = |a: &Arc<Article>| PageLink {
        href: format!("{root}artikel/{}/", a.id),
        label: a.title.clone(),
    };
    let page = ArticlePage {
        head: Head {
            site: config,
            root: root.to_owned(),
            // The record's `link` when it names one: the article's own
            // address elsewhere.
            canonical: article.link(config),
            feeds: feed_links(&Scope::Site, root),
        },
        title: &article.title,
        published_iso: rfc3339(&article.published),
        date_line: date_line(&article.published),
        updated_line: article.updated.as_ref().map(de::date_time),
        author: &article.author,
        content_html: &shift_headings(&site_relative(&article.content_html, config, root)),
        categories: &article.categories,
        external_link: article.external_link.as_deref(),
        description: meta_description(&article.summary),
        page_url: config.article_url(&article.id),
        modified_iso: rfc3339(&article.last_change()),
        image: article.image.as_ref(),
        section: article.categories.first().map(|c| &*c.name),
        json_ld: news_article(config, article),
        newer: neighbours.newer.as_ref().map(link),
        older: neighbours.older.as_ref().map(link),
        related: neighbours
            .related
            .iter()
            .map(|a| ListEntry::of(a))
            .collect(),
        related_name: article.categories.first().map(|c| &*c.name),
        related_href: article
            .categories
            .first()
            .map(|c| format!("{root}kategorie/{}/", c.slug)),
    };
    into_bytes(page.render())
}

/// A `<meta name="description">` of at most 160 characters: the summary,
/// cut at a word with "…" when longer.
fn meta_description(summary: &str) -> String {
    const MAX: usize = 160;
    if summary.chars().count() <= MAX {
        return summary.to_owned();
    }
    let cut: String = summary.chars().take(MAX - 1).collect();
    let at_word = cut.rfind(' ').map_or(cut.as_str(), |i| &cut[..i]);
    format!("{}…", at_word.trim_end_matches([',', '.', ';', ':', ' ']))
}

/// The schema.org `NewsArticle` of an article as JSON-LD, safe inside a
/// `<script>` element (`<`, `>` and `&` as JSON escapes).
fn news_article(config: &SiteConfig, article: &Article) -> String {
    let mut value = serde_json::json!({
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": article.title,
        "description": article.summary,
        "url": article.link(config),
        "mainEntityOfPage": config.article_url(&article.id),
        "datePublished": rfc3339(&article.published),
        "dateModified": rfc3339(&article.last_change()),
        "inLanguage": config.language,
        "author": { "@type": "Organization", "name": article.author },
        "publisher": {
            "@type": "Organization",
            "name": config.author,
            "url": format!("{}/", config.base_url),
        },
    });
    if let Some(image) = &article.image {
        value["image"] = serde_json::json!([image.url]);
    }
    if let Some(logo) = &config.logo {
        value["publisher"]["logo"] = serde_json::json!({ "@type": "ImageObject", "url": logo.url });
    }
    let text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// The body's headings moved down so that its highest becomes `h2`: the
/// page's `h1` is the title, and no level is skipped below it.
fn shift_headings(html: &str) -> String {
    // The highest level used, in one pass (most bodies have none).
    let bytes = html.as_bytes();
    let highest = memchr::memmem::find_iter(bytes, b"<h")
        .filter_map(|at| match bytes.get(at + 2..at + 4) {
            Some(&[level @ b'1'..=b'6', b'>']) => Some(i32::from(level - b'0')),
            _ => None,
        })
        .min();
    let Some(highest) = highest else {
        return html.to_owned();
    };
    let shift = 2 - highest;
    if shift == 0 {
        return html.to_owned();
    }
    // Replace from the end of the range that moves away first, so that no
    // heading is moved twice.
    let levels: Vec<i32> = if shift > 0 {
        (1..=6).rev().collect()
    } else {
        (1..=6).collect()
    };
    let mut out = html.to_owned();
    for level in levels {
        let to = (level + shift).clamp(1, 6);
        out = out
            .replace(&format!("<h{level}>"), &format!("<h{to}>"))
            .replace(&format!("</h{level}>"), &format!("</h{to}>"));
    }
    out
}

/// The article's HTML with links into this site made relative to the page,
/// so that its images and links work wherever the pages are served (a local
/// `cargo run`, a CDN, a mirror), while feeds keep absolute URLs.
fn site_relative(content_html: &str, config: &SiteConfig, root: &str) -> String {
    // Only attribute values (src="…", href="…") start with `="`.
    content_html.replace(&format!("=\"{}/", config.base_url), &format!("=\"{root}"))
}
