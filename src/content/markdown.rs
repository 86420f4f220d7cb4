//! Article bodies: CommonMark to sanitised HTML whose links work far from
//! the site, and the plain-text teaser taken from the first paragraph.

use std::borrow::Cow;
use std::cell::RefCell;

use askama::Template;
use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

use crate::model::Image;

/// The Markdown extensions editors get beyond CommonMark.
fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH
}

/// Markdown to HTML that is safe in any reader: raw HTML is sanitised, and
/// relative links and images are made absolute against `base_url` (a path
/// starting with `/` is taken to mean this site, so it goes under `base_url`).
pub fn body_html(markdown: &str, base_url: &str) -> String {
    let mut unsafe_html = String::with_capacity(markdown.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut unsafe_html, Parser::new_ext(markdown, options()));
    sanitise(&unsafe_html, base_url)
}

/// Runs `html` through ammonia with the site's URL rules.
fn sanitise(html: &str, base_url: &str) -> String {
    thread_local! {
        /// The cleaner of the last `base_url` on this thread: building one
        /// (its tag and attribute tables) cost as much as cleaning a short
        /// article.
        static CLEANER: RefCell<Option<(String, ammonia::Builder<'static>)>> =
            const { RefCell::new(None) };
    }
    CLEANER.with_borrow_mut(|cleaner| {
        if cleaner.as_ref().is_some_and(|(base, _)| base != base_url) {
            *cleaner = None;
        }
        let (_, builder) =
            cleaner.get_or_insert_with(|| (base_url.to_owned(), cleaner_for(base_url)));
        builder.clean(html).to_string()
    })
}

/// An ammonia cleaner that makes relative URLs absolute under `base_url`.
fn cleaner_for(base_url: &str) -> ammonia::Builder<'static> {
    let mut builder = ammonia::Builder::default();
    match url::Url::parse(&format!("{}/", base_url.trim_end_matches('/'))) {
        Ok(base) => builder.url_relative(ammonia::UrlRelative::Custom(Box::new(SiteBase(base)))),
        // Unreachable for a checked site.toml; without a base, drop relative URLs.
        Err(_) => builder.url_relative(ammonia::UrlRelative::Deny),
    };
    builder
}

/// Resolves relative URLs against `base_url`; `/x` means `base_url/x`.
struct SiteBase(url::Url);

impl ammonia::UrlRelativeEvaluate<'_> for SiteBase {
    fn evaluate<'u>(&self, url: &'u str) -> Option<Cow<'u, str>> {
        let path = url.strip_prefix('/').unwrap_or(url);
        self.0.join(path).ok().map(|u| Cow::Owned(u.to_string()))
    }
}

/// The first paragraph of the body as one line of plain text.
pub fn first_paragraph_text(markdown: &str) -> String {
    let mut text = String::new();
    let mut depth = 0usize;
    for event in Parser::new_ext(markdown, options()) {
        match event {
            Event::Start(Tag::Paragraph) => depth += 1,
            Event::End(TagEnd::Paragraph) => {
                if !text.trim().is_empty() {
                    break;
                }
                depth = depth.saturating_sub(1);
            }
            Event::Text(t) | Event::Code(t) if depth > 0 => text.push_str(&t),
            Event::SoftBreak | Event::HardBreak if depth > 0 => text.push(' '),
            _ => {}
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The `<figure>` that opens an article's content: image, alt text, caption
/// and credit, so that readers without Media RSS show them too.
#[derive(Template)]
#[template(path = "figure.html")]
struct Figure<'a> {
    image: &'a Image,
}

/// The figure's HTML; askama escapes every value.
pub fn figure_html(image: &Image) -> String {
    Figure { image }
        .render()
        // Rendering into a String cannot fail: the template only displays
        // strings and integers.
        .unwrap_or_default()
}

/// The first line (1-based, in `markdown`) whose block quotes and list
/// items nest deeper than `limit`, and that depth. Deep nesting costs
/// CommonMark parsers quadratic time, so such a body is refused.
pub fn deepest_nesting(markdown: &str, limit: usize) -> Option<(usize, usize)> {
    for (number, line) in markdown.lines().enumerate() {
        let mut depth = 0;
        let mut rest = line.trim_start();
        loop {
            if let Some(after) = rest.strip_prefix('>') {
                rest = after.trim_start();
            } else if let Some(after) = ["- ", "* ", "+ "]
                .iter()
                .find_map(|marker| rest.strip_prefix(marker))
            {
                rest = after.trim_start();
            } else {
                break;
            }
            depth += 1;
        }
        if depth > limit {
            return Some((number + 1, depth));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "https://www.werdau.de/feeds";

    #[test]
    fn links_become_absolute() {
        let html = body_html(
            "[Plan](media/plan.pdf) [Seite](/artikel/x/) [Extern](https://example.org/a?b=1&c=2) ![Bild](media/a.jpg)",
            BASE,
        );
        assert!(
            html.contains(r#"href="https://www.werdau.de/feeds/media/plan.pdf""#),
            "{html}"
        );
        assert!(
            html.contains(r#"href="https://www.werdau.de/feeds/artikel/x/""#),
            "{html}"
        );
        assert!(
            html.contains(r#"href="https://example.org/a?b=1&amp;c=2""#),
            "{html}"
        );
        assert!(
            html.contains(r#"src="https://www.werdau.de/feeds/media/a.jpg""#),
            "{html}"
        );
    }

    #[test]
    fn raw_html_is_sanitised() {
        let html = body_html(
            "Hallo <script>alert(1)</script> <a href=\"javascript:alert(1)\" onclick=\"x()\">x</a> <img src=x onerror=alert(1)>\n\n<iframe src=\"https://evil\"></iframe>",
            BASE,
        );
        for bad in ["<script", "javascript:", "onclick", "onerror", "<iframe"] {
            assert!(!html.contains(bad), "{bad} in {html}");
        }
    }

    #[test]
    fn summary_is_first_paragraph_as_text() {
        let md = "# Titel\n\nHeute wurde **die erste** Vereinbarung\nunterzeichnet: `ASSKomm`.\n\nZweiter Absatz.";
        assert_eq!(
            first_paragraph_text(md),
            "Heute wurde die erste Vereinbarung unterzeichnet: ASSKomm."
        );
        assert_eq!(first_paragraph_text(""), "");
    }

    #[test]
    fn figure_escapes_and_carries_everything() {
        let image = Image {
            url: "https://x/media/a.jpg?x=1&y=2".into(),
            mime_type: "image/jpeg".into(),
            length: 10,
            width: Some(640),
            height: Some(480),
            alt: "Ein \"Bild\" <mit> & Text".into(),
            caption: Some("Der OB".into()),
            credit: Some("© Stadt Werdau".into()),
        };
        let html = figure_html(&image);
        assert_eq!(
            html,
            "<figure><img src=\"https://x/media/a.jpg?x=1&#38;y=2\" alt=\"Ein &#34;Bild&#34; &#60;mit&#62; &#38; Text\" width=\"640\" height=\"480\"><figcaption>Der OB <small>© Stadt Werdau</small></figcaption></figure>"
        );
    }
}
