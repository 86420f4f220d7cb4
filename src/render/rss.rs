//! RSS 2.0 with the content, Dublin Core, Atom (self, hub, RFC 5005
//! archive links), feed history (`fh:archive`) and
//! Media RSS extensions, built with the `rss` crate.

use std::collections::BTreeMap;

use rss::extension::atom::{AtomExtension, Link};
use rss::extension::dublincore::DublinCoreExtension;
use rss::extension::{Extension, ExtensionMap};
use rss::{Category, Channel, Enclosure, Guid, Image, Item};

use super::{FeedDoc, Format, GENERATOR, HISTORY_NS, VERSION};
use crate::model::{Article, SiteConfig};

/// The DCMI terms namespace, for `dcterms:modified` of updated items.
const DCTERMS_NS: &str = "http://purl.org/dc/terms/";

/// The Media RSS namespace.
const MEDIA_NS: &str = "http://search.yahoo.com/mrss/";

/// The RSS spec's limits for the channel image; larger sizes are left out.
const MAX_IMAGE_WIDTH: u32 = 144;
const MAX_IMAGE_HEIGHT: u32 = 400;

/// One RSS document.
pub fn render(doc: &FeedDoc<'_>) -> Vec<u8> {
    let config = doc.config;
    let rss_type = Some(Format::Rss.mime_type());
    let mut atom_links = vec![atom_link("self", &doc.self_url, rss_type)];
    if let Some(hub) = &config.hub {
        atom_links.push(atom_link("hub", hub, None));
    }
    if doc.is_archive {
        atom_links.push(atom_link("current", &doc.current_url, rss_type));
    }
    if let Some(prev) = &doc.prev_archive_url {
        atom_links.push(atom_link("prev-archive", prev, rss_type));
    }
    if let Some(next) = &doc.next_archive_url {
        atom_links.push(atom_link("next-archive", next, rss_type));
    }
    let editor = config
        .email
        .as_ref()
        .map(|email| format!("{email} ({})", config.author));
    let mut namespaces = BTreeMap::from([
        ("media".to_owned(), MEDIA_NS.to_owned()),
        ("dcterms".to_owned(), DCTERMS_NS.to_owned()),
    ]);
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
    let channel = Channel {
        title: doc.title.to_owned(),
        link: doc.html_url.clone(),
        description: doc.description.to_owned(),
        language: Some(config.language.clone()),
        copyright: config.copyright.clone(),
        managing_editor: editor.clone(),
        webmaster: editor,
        last_build_date: Some(doc.updated.to_rfc2822()),
        generator: Some(format!("{GENERATOR} {VERSION}")),
        docs: Some("https://www.rssboard.org/rss-specification".to_owned()),
        image: config
            .logo
            .as_ref()
            .filter(|logo| rss_image_format(&logo.url))
            .map(|logo| {
                // Both or neither: RSS bounds the channel image's size.
                let size = logo
                    .width
                    .zip(logo.height)
                    .filter(|&(w, h)| w <= MAX_IMAGE_WIDTH && h <= MAX_IMAGE_HEIGHT);
                Image {
                    url: logo.url.clone(),
                    title: doc.title.to_owned(),
                    link: doc.html_url.clone(),
                    width: size.map(|(w, _)| w.to_string()),
                    height: size.map(|(_, h)| h.to_string()),
                    description: None,
                }
            }),
        items: doc.entries.iter().map(|a| item(a, config)).collect(),
        atom_ext: Some(AtomExtension { links: atom_links }),
        extensions,
        namespaces,
        ..Channel::default()
    };
    // Writing into a Vec cannot fail for I/O reasons, and the rss crate
    // escapes all text itself.
    let xml = channel
        .pretty_write_to(Vec::with_capacity(doc.capacity()), b' ', 2)
        .unwrap_or_default();
    with_character_references(&xml)
}

/// The RSS Best Practices Profile's spelling of escaped plain text: `<` as
/// `&#x3C;` and `&` as `&#x26;`, which tells readers (and the W3C
/// validator) that a title such as "Tarif a<b bleibt" is text, not HTML.
/// The same characters to an XML parser; CDATA sections are left alone,
/// since references mean nothing there.
fn with_character_references(xml: &[u8]) -> Vec<u8> {
    use memchr::memmem;
    const CDATA_END: &[u8] = b"]]>";
    let mut out = Vec::with_capacity(xml.len() + xml.len() / 16);
    let mut rest = xml;
    while !rest.is_empty() {
        let (text, cdata) = match memmem::find(rest, b"<![CDATA[") {
            Some(start) => {
                let end = memmem::find(&rest[start..], CDATA_END)
                    .map_or(rest.len(), |end| start + end + CDATA_END.len());
                (&rest[..start], &rest[start..end])
            }
            None => (rest, &rest[rest.len()..]),
        };
        // Every reference starts with `&`: the runs between are copied whole.
        let mut run = text;
        while let Some(at) = memchr::memchr(b'&', run) {
            out.extend_from_slice(&run[..at]);
            let reference = &run[at..];
            let (spelling, len): (&[u8], usize) = if reference.starts_with(b"&lt;") {
                (b"&#x3C;", 4)
            } else if reference.starts_with(b"&amp;") {
                (b"&#x26;", 5)
            } else {
                (b"&", 1)
            };
            out.extend_from_slice(spelling);
            run = &reference[len..];
        }
        out.extend_from_slice(run);
        out.extend_from_slice(cdata);
        rest = &rest[text.len() + cdata.len()..];
    }
    out
}

fn atom_link(rel: &str, href: &str, mime_type: Option<&str>) -> Link {
    Link {
        rel: rel.to_owned(),
        href: href.to_owned(),
        mime_type: mime_type.map(str::to_owned),
        ..Link::default()
    }
}

fn item(article: &Article, config: &SiteConfig) -> Item {
    let link = article.link(config);
    let guid = config.article_url(&article.id);
    Item {
        title: Some(article.title.clone()),
        guid: Some(Guid {
            permalink: guid == link,
            value: guid,
        }),
        link: Some(link),
        // RSS `description` is HTML (readers render it so): the plain-text
        // summary goes in with its `<`, `&` and quotes escaped.
        description: Some(quick_xml::escape::escape(&article.summary).into_owned()),
        categories: article
            .categories
            .iter()
            .map(|c| Category {
                name: c.name.to_string(),
                domain: None,
            })
            .collect(),
        enclosure: article.image.as_ref().map(|image| Enclosure {
            url: image.url.clone(),
            length: image.length.to_string(),
            mime_type: image.mime_type.clone(),
        }),
        pub_date: Some(article.published.to_rfc2822()),
        content: (!article.content_html.is_empty()).then(|| article.content_html.clone()),
        dublin_core_ext: Some(DublinCoreExtension {
            creators: vec![article.author.clone()],
            ..DublinCoreExtension::default()
        }),
        extensions: item_extensions(article),
        ..Item::default()
    }
}

/// Media RSS, and `dcterms:modified` when the record was updated (RSS 2.0
/// has no element of its own for it).
fn item_extensions(article: &Article) -> ExtensionMap {
    let mut map = media_extensions(article);
    if let Some(updated) = &article.updated {
        let modified = Extension {
            name: "dcterms:modified".to_owned(),
            value: Some(super::json::rfc3339(updated)),
            ..Extension::default()
        };
        map.insert(
            "dcterms".to_owned(),
            BTreeMap::from([("modified".to_owned(), vec![modified])]),
        );
    }
    map
}

/// `media:content` with description, credit and thumbnail.
fn media_extensions(article: &Article) -> ExtensionMap {
    let Some(image) = &article.image else {
        return ExtensionMap::default();
    };
    let mut attrs = BTreeMap::from([
        ("url".to_owned(), image.url.clone()),
        ("type".to_owned(), image.mime_type.clone()),
        ("medium".to_owned(), "image".to_owned()),
        ("fileSize".to_owned(), image.length.to_string()),
    ]);
    let mut thumbnail_attrs = BTreeMap::from([("url".to_owned(), image.url.clone())]);
    if let (Some(width), Some(height)) = (image.width, image.height) {
        for map in [&mut attrs, &mut thumbnail_attrs] {
            map.insert("width".to_owned(), width.to_string());
            map.insert("height".to_owned(), height.to_string());
        }
    }
    let mut children: BTreeMap<String, Vec<Extension>> = BTreeMap::new();
    let text_element = |name: &str, value: &str, attrs: &[(&str, &str)]| Extension {
        name: format!("media:{name}"),
        value: Some(value.to_owned()),
        attrs: attrs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        children: BTreeMap::new(),
    };
    children.insert(
        "title".to_owned(),
        vec![text_element("title", &image.alt, &[("type", "plain")])],
    );
    if let Some(caption) = &image.caption {
        children.insert(
            "description".to_owned(),
            vec![text_element("description", caption, &[("type", "plain")])],
        );
    }
    if let Some(credit) = &image.credit {
        children.insert(
            "credit".to_owned(),
            vec![text_element("credit", credit, &[])],
        );
    }
    children.insert(
        "thumbnail".to_owned(),
        vec![Extension {
            name: "media:thumbnail".to_owned(),
            value: None,
            attrs: thumbnail_attrs,
            children: BTreeMap::new(),
        }],
    );
    let content = Extension {
        name: "media:content".to_owned(),
        value: None,
        attrs,
        children,
    };
    ExtensionMap::from([(
        "media".to_owned(),
        BTreeMap::from([("content".to_owned(), vec![content])]),
    )])
}

/// Whether an image at `url` may be the channel's `<image>`: RSS 2.0 takes
/// a GIF, JPEG or PNG there, and validators and readers go by the file
/// name. A logo named otherwise (`logo.svg`, `logo.webp`) is left to Atom
/// and JSON Feed, which take any; one without an extension is kept.
fn rss_image_format(url: &str) -> bool {
    let path = url::Url::parse(url)
        .map(|u| u.path().to_owned())
        .unwrap_or_default();
    let name = path.rsplit('/').next().unwrap_or_default();
    match name.rsplit_once('.') {
        Some((_, extension)) => ["gif", "jpg", "jpeg", "png"]
            .iter()
            .any(|known| known.eq_ignore_ascii_case(extension)),
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::with_character_references;
    use proptest::prelude::*;

    /// The definition, byte by byte: outside CDATA sections `&lt;` becomes
    /// `&#x3C;` and `&amp;` becomes `&#x26;`; nothing else changes.
    fn by_definition(xml: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut i = 0;
        let mut in_cdata = false;
        while i < xml.len() {
            let rest = &xml[i..];
            let (bytes, len): (&[u8], usize) = if in_cdata {
                if rest.starts_with(b"]]>") {
                    in_cdata = false;
                    (b"]]>", 3)
                } else {
                    (&rest[..1], 1)
                }
            } else if rest.starts_with(b"<![CDATA[") {
                in_cdata = true;
                (b"<![CDATA[", 9)
            } else if rest.starts_with(b"&lt;") {
                (b"&#x3C;", 4)
            } else if rest.starts_with(b"&amp;") {
                (b"&#x26;", 5)
            } else {
                (&rest[..1], 1)
            };
            out.extend_from_slice(bytes);
            i += len;
        }
        out
    }

    proptest! {
        /// Inputs built from the pieces that matter, so that references,
        /// CDATA sections and their edges meet often.
        #[test]
        fn references_follow_the_definition(
            pieces in proptest::collection::vec(
                prop_oneof![
                    Just("&lt;"), Just("&amp;"), Just("&gt;"), Just("&"), Just("&l"),
                    Just("<![CDATA["), Just("]]>"), Just("]]"), Just("<t>"), Just("ä"), Just("x"),
                ],
                0..40,
            )
        ) {
            let xml = pieces.concat();
            let ours = String::from_utf8(with_character_references(xml.as_bytes())).unwrap();
            let defined = String::from_utf8(by_definition(xml.as_bytes())).unwrap();
            prop_assert_eq!(ours, defined);
        }
    }

    #[test]
    fn text_gets_hex_references_and_cdata_stays() {
        let xml = b"<title>Tarif a&lt;b &amp; AT&amp;amp;T</title><description><![CDATA[&lt;p&gt; &amp;]]></description><x a=\"&lt;\"/>";
        let expected = "<title>Tarif a&#x3C;b &#x26; AT&#x26;amp;T</title><description><![CDATA[&lt;p&gt; &amp;]]></description><x a=\"&#x3C;\"/>";
        assert_eq!(
            String::from_utf8_lossy(&with_character_references(xml)),
            expected
        );
    }
}
