//! JSON Feed 1.1 (<https://www.jsonfeed.org/version/1.1/>).

use serde::Serialize;

use super::FeedDoc;
use crate::model::{Article, SiteConfig};

#[derive(Serialize)]
struct JsonFeed<'a> {
    version: &'static str,
    title: &'a str,
    home_page_url: String,
    feed_url: &'a str,
    description: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    icon: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    favicon: Option<&'a str>,
    authors: Vec<Author<'a>>,
    language: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hubs: Vec<Hub<'a>>,
    /// RFC 5005 in JSON Feed's extension form (the README documents it).
    #[serde(rename = "_stadtfeed")]
    history: History<'a>,
    items: Vec<Item<'a>>,
}

/// The `_stadtfeed` extension object: RFC 5005 archive links.
#[derive(Serialize)]
struct History<'a> {
    about: &'static str,
    archive: bool,
    current: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    prev_archive: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_archive: Option<&'a str>,
}

#[derive(Serialize)]
struct Author<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
}

#[derive(Serialize)]
struct Hub<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    url: &'a str,
}

#[derive(Serialize)]
struct Item<'a> {
    id: String,
    url: String,
    title: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    content_html: &'a str,
    /// Only when there is no HTML: JSON Feed requires one of the two.
    #[serde(skip_serializing_if = "Option::is_none")]
    content_text: Option<&'a str>,
    summary: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<&'a str>,
    date_published: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    date_modified: Option<String>,
    /// JSON Feed 1.0's field, kept for its readers (1.1 asks for both).
    author: Author<'a>,
    authors: Vec<Author<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    attachments: Vec<Attachment<'a>>,
}

#[derive(Serialize)]
struct Attachment<'a> {
    url: &'a str,
    mime_type: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<&'a str>,
    size_in_bytes: u64,
}

/// RFC 3339 with the local offset, whole seconds: `2022-01-11T00:00:00+01:00`.
pub fn rfc3339(date: &chrono::DateTime<chrono::FixedOffset>) -> String {
    date.to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

/// One JSON Feed document. `next_url` leads to older entries (the
/// previous archive), as JSON Feed readers page.
pub fn render(doc: &FeedDoc<'_>) -> Vec<u8> {
    let config = doc.config;
    let logo = config.logo.as_ref().map(|l| l.url.as_str());
    let feed = JsonFeed {
        version: "https://jsonfeed.org/version/1.1",
        title: doc.title,
        home_page_url: doc.html_url.clone(),
        feed_url: &doc.self_url,
        description: doc.description,
        next_url: doc.prev_archive_url.as_deref(),
        icon: logo,
        favicon: logo,
        authors: vec![Author {
            name: &config.author,
            url: Some(format!("{}/", config.base_url)),
        }],
        language: &config.language,
        hubs: config
            .hub
            .iter()
            .map(|url| Hub {
                kind: "WebSub",
                url,
            })
            .collect(),
        history: History {
            about: "https://www.rfc-editor.org/rfc/rfc5005#section-4",
            archive: doc.is_archive,
            current: &doc.current_url,
            prev_archive: doc.prev_archive_url.as_deref(),
            next_archive: doc.next_archive_url.as_deref(),
        },
        items: doc.entries.iter().map(|a| item(a, config)).collect(),
    };
    let mut out = Vec::with_capacity(doc.capacity());
    // Serialising plain data into a Vec cannot fail.
    let _ = serde_json::to_writer_pretty(&mut out, &feed);
    out.push(b'\n');
    out
}

fn item<'a>(article: &'a Article, config: &SiteConfig) -> Item<'a> {
    Item {
        id: config.article_url(&article.id),
        url: article.link(config),
        title: &article.title,
        content_html: &article.content_html,
        content_text: article
            .content_html
            .is_empty()
            .then_some(article.summary.as_str()),
        summary: &article.summary,
        image: article.image.as_ref().map(|i| i.url.as_str()),
        date_published: rfc3339(&article.published),
        date_modified: article.updated.as_ref().map(rfc3339),
        author: Author {
            name: &article.author,
            url: None,
        },
        authors: vec![Author {
            name: &article.author,
            url: None,
        }],
        tags: article.categories.iter().map(|c| &*c.name).collect(),
        attachments: article
            .image
            .iter()
            .map(|i| Attachment {
                url: &i.url,
                mime_type: &i.mime_type,
                title: i.caption.as_deref(),
                size_in_bytes: i.length,
            })
            .collect(),
    }
}
