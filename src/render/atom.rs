//! Atom 1.0 (RFC 4287) with RFC 5005 archive links, built with
//! `atom_syndication`.

use std::collections::BTreeMap;

use atom_syndication::extension::{Extension, ExtensionMap};
use atom_syndication::{Category, Content, Entry, Feed, Generator, Link, Person, Text};

use super::{FeedDoc, Format, GENERATOR, HISTORY_NS, VERSION};
use crate::model::{Article, SiteConfig};

/// One Atom document.
pub fn render(doc: &FeedDoc<'_>) -> Vec<u8> {
    let config = doc.config;
    let atom_type = Some(Format::Atom.mime_type());
    let mut links = vec![
        link("self", &doc.self_url, atom_type),
        link("alternate", &doc.html_url, Some("text/html")),
    ];
    if let Some(hub) = &config.hub {
        links.push(link("hub", hub, None));
    }
    if doc.is_archive {
        links.push(link("current", &doc.current_url, atom_type));
    }
    if let Some(prev) = &doc.prev_archive_url {
        links.push(link("prev-archive", prev, atom_type));
    }
    if let Some(next) = &doc.next_archive_url {
        links.push(link("next-archive", next, atom_type));
    }
    let mut namespaces = BTreeMap::new();
    let mut extensions = ExtensionMap::default();
    if doc.is_archive {
        namespaces.insert("fh".to_owned(), HISTORY_NS.to_owned());
        extensions.insert(
            "fh".to_owned(),
            BTreeMap::from([(
                "archive".to_owned(),
                vec![Extension {
                    name: "fh:archive".to_owned(),
                    ..Extension::default()
                }],
            )]),
        );
    }
    let feed = Feed {
        title: plain_text(doc.title.to_owned()),
        // The subscription document's URL names the feed in every
        // document of it: archives are the same feed (RFC 5005).
        id: doc.current_url.clone(),
        updated: doc.updated,
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
        subtitle: Some(plain_text(doc.description.to_owned())),
        entries: doc.entries.iter().map(|a| entry(a, config)).collect(),
        extensions,
        namespaces,
        lang: Some(config.language.clone()),
        ..Feed::default()
    };
    let mut out = Vec::with_capacity(doc.capacity());
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
        title: plain_text(article.title.clone()),
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
                label: Some(c.name.to_string()),
            })
            .collect(),
        links,
        summary: Some(plain_text(article.summary.clone())),
        content: (!article.content_html.is_empty()).then(|| Content {
            value: Some(article.content_html.clone()),
            content_type: Some("html".to_owned()),
            ..Content::default()
        }),
        ..Entry::default()
    }
}

/// A plain-text construct. Text that a reader could take for markup (an
/// end tag such as `</b>`, or an entity such as `&amp;`) goes out as
/// `type="html"`, escaped once more: the same characters to every Atom
/// reader, and right also in readers that guess whether a title is HTML
/// (the W3C validator flags such `type="text"`). Everything else, `a<b`
/// and `AT&T` included, stays `type="text"`, which every reader shows.
fn plain_text(text: impl Into<String>) -> Text {
    let text = text.into();
    if looks_like_markup(&text) {
        Text::html(quick_xml::escape::escape(&text).into_owned())
    } else {
        Text::plain(text)
    }
}

/// Whether `text` holds an end tag (`</word>`) or an entity (`&word;`,
/// `&#123;`), the signs by which readers and validators guess at HTML.
fn looks_like_markup(text: &str) -> bool {
    let word_then = |rest: &str, end: char| {
        let word_len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '#'))
            .unwrap_or(rest.len());
        word_len > 0 && rest[word_len..].starts_with(end)
    };
    text.match_indices("</")
        .any(|(i, _)| word_then(&text[i + 2..], '>'))
        || text
            .match_indices('&')
            .any(|(i, _)| word_then(&text[i + 1..], ';'))
}

#[cfg(test)]
mod tests {
    use super::looks_like_markup;

    #[test]
    fn only_tags_and_entities_look_like_markup() {
        for text in [
            "a <script>x</script>",
            "A &amp; B",
            "&#60;",
            "</b>",
            "Q&A; B",
        ] {
            assert!(looks_like_markup(text), "{text}");
        }
        for text in [
            "Tarif a<b bleibt",
            "AT&T",
            "<Entwurf>",
            "3 < 5 > 4",
            "</ b>",
            "& ;",
        ] {
            assert!(!looks_like_markup(text), "{text}");
        }
    }
}
