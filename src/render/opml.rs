//! OPML 2.0: every feed of the site in one list, for readers that import
//! subscriptions in bulk.

use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;

use chrono::{DateTime, FixedOffset};

use super::Format;
use crate::index::Scope;
use crate::model::{Category, SiteConfig};
use crate::site::key::DocKey;

/// One feed in the list.
struct Outline {
    scope: Scope,
    text: String,
    title: String,
}

/// The OPML document listing the site feed and every category feed, each in
/// RSS (the form every reader takes; Atom and JSON sit beside it by URL).
pub fn render(
    config: &SiteConfig,
    updated: DateTime<FixedOffset>,
    categories: &[Category],
) -> Vec<u8> {
    let site_feed = Outline {
        scope: Scope::Site,
        text: config.title.clone(),
        title: config.title.clone(),
    };
    let category_feeds: Vec<Outline> = categories
        .iter()
        .map(|c| Outline {
            scope: Scope::Category(c.slug.clone()),
            text: c.name.to_string(),
            title: format!("{} – {}", config.title, c.name),
        })
        .collect();
    let mut writer = Writer::new_with_indent(Vec::new(), b' ', 2);
    // Writing into a Vec cannot fail; quick-xml escapes text and attributes.
    let _ = write(
        &mut writer,
        config,
        &updated.to_rfc2822(),
        &site_feed,
        &category_feeds,
    );
    let mut out = writer.into_inner();
    out.push(b'\n');
    out
}

fn write(
    writer: &mut Writer<Vec<u8>>,
    config: &SiteConfig,
    date_modified: &str,
    site_feed: &Outline,
    category_feeds: &[Outline],
) -> std::io::Result<()> {
    writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("utf-8"), None)))?;
    writer.write_event(Event::Start(
        BytesStart::new("opml").with_attributes([("version", "2.0")]),
    ))?;
    writer.create_element("head").write_inner_content(|w| {
        w.create_element("title")
            .write_text_content(BytesText::new(&config.title))?;
        w.create_element("dateModified")
            .write_text_content(BytesText::new(date_modified))?;
        w.create_element("ownerName")
            .write_text_content(BytesText::new(&config.author))?;
        if let Some(email) = &config.email {
            w.create_element("ownerEmail")
                .write_text_content(BytesText::new(email))?;
        }
        // No `docs`: OPML 2.0 allows it, but the W3C validator's OPML rules
        // do not know it, and readers do not need it.
        Ok(())
    })?;
    writer.create_element("body").write_inner_content(|w| {
        outline(w, config, site_feed)?;
        if !category_feeds.is_empty() {
            w.create_element("outline")
                .with_attribute(("text", "Kategorien"))
                .write_inner_content(|w| {
                    for feed in category_feeds {
                        outline(w, config, feed)?;
                    }
                    Ok(())
                })?;
        }
        Ok(())
    })?;
    writer.write_event(Event::End(BytesEnd::new("opml")))?;
    Ok(())
}

fn outline(w: &mut Writer<Vec<u8>>, config: &SiteConfig, feed: &Outline) -> std::io::Result<()> {
    let xml_url = DocKey::Feed {
        scope: feed.scope.clone(),
        format: Format::Rss,
    }
    .path();
    w.create_element("outline")
        .with_attributes([
            ("type", "rss"),
            ("text", feed.text.as_str()),
            ("title", feed.title.as_str()),
            ("xmlUrl", config.url(&xml_url).as_str()),
            ("htmlUrl", config.url(&feed.scope.dir()).as_str()),
            ("language", config.language.as_str()),
        ])
        .write_empty()?;
    Ok(())
}
