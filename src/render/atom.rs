//! Atom 1.0 (RFC 4287) with RFC 5005 paging links, built with
//! `atom_syndication`.

use atom_syndication::{Category, Content, Entry, Feed, Generator, Link, Person, Text};

use super::{FeedPage, Format, GENERATOR, VERSION};
use crate::model::{Article, SiteConfig};

/// One Atom document.
pub fn render(page: &FeedPage<'_>) -> Vec<u8> {
    let config = page.config;
    let atom_type = Some(Format::Atom.mime_type());
    let mut links = vec![
        link("self", &page.self_url, atom_type),
        link("alternate", &page.html_url(), Some("text/html")),
    ];
    if let Some(hub) = &config.hub {
        links.push(link("hub", hub, None));
    }
    if page.is_paged() {
        links.push(link("first", &page.first_url, atom_type));
        links.push(link("last", &page.last_url, atom_type));
    }
    if let Some(prev) = &page.prev_url {
        links.push(link("previous", prev, atom_type));
    }
    if let Some(next) = &page.next_url {
        links.push(link("next", next, atom_type));
    }
    let feed = Feed {
        title: Text::plain(page.feed.title.clone()),
        // The first page's URL names the feed on every page: they are one feed.
        id: page.first_url.clone(),
        updated: page.updated,
        authors: vec![site_author(config)],
        generator: Some(Generator {
            value: GENERATOR.to_owned(),
            // No uri: the project has no public home page to point to yet.
            uri: None,
            version: Some(VERSION.to_owned()),
        }),
        icon: config.logo.as_ref().map(|l| l.url.clone()),
        logo: config.logo.as_ref().map(|l| l.url.clone()),
        links,
        rights: config.copyright.clone().map(Text::plain),
        subtitle: Some(Text::plain(page.feed.description.clone())),
        entries: page.entries.iter().map(|a| entry(a, config)).collect(),
        lang: Some(config.language.clone()),
        ..Feed::default()
    };
    let mut out = Vec::new();
    // Writing into a Vec cannot fail; atom_syndication escapes all text.
    let _ = feed.write_with_config(
        &mut out,
        atom_syndication::WriteConfig {
            write_document_declaration: true,
            indent_size: Some(2),
        },
    );
    out
}

fn link(rel: &str, href: &str, mime_type: Option<&str>) -> Link {
    Link {
        rel: rel.to_owned(),
        href: href.to_owned(),
        mime_type: mime_type.map(str::to_owned),
        ..Link::default()
    }
}

fn site_author(config: &SiteConfig) -> Person {
    Person {
        name: config.author.clone(),
        email: config.email.clone(),
        uri: Some(format!("{}/", config.base_url)),
        ..Person::default()
    }
}

fn entry(article: &Article, config: &SiteConfig) -> Entry {
    let mut links = vec![link("alternate", &article.link(config), Some("text/html"))];
    if let Some(image) = &article.image {
        links.push(Link {
            length: Some(image.length.to_string()),
            ..link("enclosure", &image.url, Some(&image.mime_type))
        });
    }
    Entry {
        id: config.article_url(&article.id),
        title: Text::plain(article.title.clone()),
        published: Some(article.published),
        updated: article.last_change(),
        authors: vec![Person {
            name: article.author.clone(),
            ..Person::default()
        }],
        categories: article
            .categories
            .iter()
            .map(|c| Category {
                term: c.slug.to_string(),
                scheme: Some(config.url("kategorie/")),
                label: Some(c.name.clone()),
            })
            .collect(),
        links,
        summary: Some(Text::plain(article.summary.clone())),
        content: (!article.content_html.is_empty()).then(|| Content {
            value: Some(article.content_html.clone()),
            content_type: Some("html".to_owned()),
            ..Content::default()
        }),
        ..Entry::default()
    }
}
