//! OPML 2.0: every feed of the site in one list, for readers that import
//! subscriptions in bulk.

use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;

use super::{Feed, Format};
use crate::model::SiteConfig;

/// The OPML document listing the site feed and every category feed, each in
/// RSS (the form every reader takes; Atom and JSON sit beside it by URL).
pub fn render(config: &SiteConfig, site_feed: &Feed<'_>, category_feeds: &[Feed<'_>]) -> Vec<u8> {
    let updated = super::newest_change(&site_feed.articles, config);
    let mut writer = Writer::new_with_indent(Vec::new(), b' ', 2);
    // Writing into a Vec cannot fail; quick-xml escapes text and attributes.
    let _ = write(
        &mut writer,
        config,
        &updated.to_rfc2822(),
        site_feed,
        category_feeds,
    );
    let mut out = writer.into_inner();
    out.push(b'\n');
    out
}

fn write(
    writer: &mut Writer<Vec<u8>>,
    config: &SiteConfig,
    date_modified: &str,
    site_feed: &Feed<'_>,
    category_feeds: &[Feed<'_>],
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
        w.create_element("docs")
            .write_text_content(BytesText::new("http://opml.org/spec2.opml"))?;
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

fn outline(w: &mut Writer<Vec<u8>>, config: &SiteConfig, feed: &Feed<'_>) -> std::io::Result<()> {
    let text = feed
        .category
        .map(|c| c.name.as_str())
        .unwrap_or(&feed.title);
    w.create_element("outline")
        .with_attributes([
            ("type", "rss"),
            ("text", text),
            ("title", feed.title.as_str()),
            (
                "xmlUrl",
                config.url(&feed.page_path(Format::Rss, 1)).as_str(),
            ),
            ("htmlUrl", config.url(&feed.html_path()).as_str()),
            ("language", config.language.as_str()),
        ])
        .write_empty()?;
    Ok(())
}
