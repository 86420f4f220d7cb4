//! Sitemaps (sitemaps.org) and `robots.txt`, for search engines.

use chrono::{DateTime, FixedOffset};
use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::Writer;

use crate::model::SiteConfig;

/// The sitemaps.org namespace.
const NS: &str = "http://www.sitemaps.org/schemas/sitemap/0.9";

/// A sitemap (`index` false: `<urlset>`) or a sitemap index (`<sitemapindex>`)
/// of `urls`, paths under `base_url` with their last change.
pub fn render(
    config: &SiteConfig,
    index: bool,
    urls: &[(String, DateTime<FixedOffset>)],
) -> Vec<u8> {
    let (root, item) = if index {
        ("sitemapindex", "sitemap")
    } else {
        ("urlset", "url")
    };
    let mut writer = Writer::new_with_indent(Vec::new(), b' ', 1);
    // Writing into a Vec cannot fail; quick-xml escapes text.
    let _ = writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
    let _ = writer
        .create_element(root)
        .with_attribute(("xmlns", NS))
        .write_inner_content(|w| {
            for (path, changed) in urls {
                w.create_element(item).write_inner_content(|w| {
                    w.create_element("loc")
                        .write_text_content(BytesText::new(&config.url(path)))?;
                    w.create_element("lastmod")
                        .write_text_content(BytesText::new(
                            &changed.to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
                        ))?;
                    Ok(())
                })?;
            }
            Ok(())
        });
    let mut out = writer.into_inner();
    out.push(b'\n');
    out
}

/// `robots.txt`: everything may be crawled; the sitemap says where.
pub fn robots(config: &SiteConfig) -> Vec<u8> {
    format!(
        "User-agent: *\nAllow: /\n\nSitemap: {}\n",
        config.url("sitemap.xml")
    )
    .into_bytes()
}
