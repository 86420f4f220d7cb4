//! Whatever editors type, every document stays well-formed and a parser
//! written by others reads the text back intact.

use std::path::Path;

mod common;

use proptest::prelude::*;
use stadtfeed::content::image::MeasuredImages;
use stadtfeed::content::record::{self, Record};
use stadtfeed::content::store::ArticleStore;
use stadtfeed::index::{Index, Summary};
use stadtfeed::model::SiteConfig;

fn config() -> SiteConfig {
    common::test_config()
}

/// Characters that break naive feed writers, mixed with ordinary text.
fn nasty_text() -> impl Strategy<Value = String> {
    let nasty = prop_oneof![
        Just("<".to_owned()),
        Just("&".to_owned()),
        Just("]]>".to_owned()),
        Just("&amp;".to_owned()),
        Just("\"'".to_owned()),
        Just("🎉".to_owned()),
        Just("שלום עולם".to_owned()),
        Just("\u{202E}".to_owned()),
        Just("\u{1}\u{8}\u{b}\u{1f}\u{7f}\u{FFFE}".to_owned()),
        Just("\r\n\t".to_owned()),
        Just("Grüße".to_owned()),
        any::<char>().prop_map(String::from),
        "[a-z ]{1,8}",
    ];
    prop::collection::vec(nasty, 0..12).prop_map(|parts| parts.concat())
}

/// Plain text as editors might type it: the nasty pieces above, or any
/// Unicode at all.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![nasty_text(), any::<String>()]
}

/// What the text must read back as: every character typed, less the
/// removals the README documents (characters XML cannot carry, bidi
/// controls), runs of breaking whitespace as one space, none at the ends. Written
/// out here, apart from the code under test.
fn expected_line(text: &str) -> String {
    let removed = |c: char| {
        (c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
            || matches!(c, '\u{FFFE}' | '\u{FFFF}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    };
    let kept: String = text.chars().filter(|&c| !removed(c)).collect();
    kept.split(|c: char| c.is_whitespace() && !matches!(c, '\u{A0}' | '\u{2007}' | '\u{202F}'))
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
        .trim_matches(char::is_whitespace)
        .to_owned()
}

/// The text of the first element `selector` matches in an HTML page, as a
/// browser's HTML parser reads it.
fn html_text(page: &[u8], selector: &str) -> Option<String> {
    let page = scraper::Html::parse_document(std::str::from_utf8(page).ok()?);
    let selector = scraper::Selector::parse(selector).ok()?;
    let element = page.select(&selector).next()?;
    Some(element.text().collect())
}

/// The `content` attribute of the first `<meta>` that `selector` matches.
fn html_meta(page: &[u8], selector: &str) -> Option<String> {
    let page = scraper::Html::parse_document(std::str::from_utf8(page).ok()?);
    let selector = scraper::Selector::parse(selector).ok()?;
    let element = page.select(&selector).next()?;
    element.value().attr("content").map(str::to_owned)
}

fn well_formed(xml: &[u8]) -> Result<(), String> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(quick_xml::events::Event::Eof) => return Ok(()),
            Ok(_) => buf.clear(),
            Err(e) => return Err(e.to_string()),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn any_title_and_body_give_valid_documents(title in text(), summary in text(), body in nasty_text()) {
        let title = format!("T{title}");
        let summary = format!("S{summary}");
        let record_text = format!(
            "+++\ntitle = {}\nsummary = {}\ndate = \"11.01.2022\"\ncategories = [{}]\n+++\n{body}\n",
            toml::Value::String(title.clone()),
            toml::Value::String(summary.clone()),
            toml::Value::String(format!("K{title}")),
        );
        let config = config();
        let parsed = record::parse(Path::new("/nonexistent"), Path::new("articles/x.md"), record_text.as_bytes(), &config, chrono::Utc::now(), &MeasuredImages::default());
        let article = match parsed {
            Ok(Record::Article { article, .. }) => *article,
            other => return Err(TestCaseError::fail(format!("not published: {other:?}"))),
        };
        let content_html = article.clone().render().content_html;
        let store = ArticleStore::memory();
        let mut index = Index::new(config);
        index.insert(std::sync::Arc::new(Summary::of(&article.article, store.put(&article))));
        let documents = stadtfeed::site::render_all(&index, &store);
        for (path, body) in &documents {
            if path.ends_with(".rss") || path.ends_with(".atom") || path.ends_with(".opml") {
                prop_assert!(well_formed(body).is_ok(), "{path}: {:?}", well_formed(body));
            }
        }
        for path in ["feed.rss", "feed.atom", "feed.json", "archiv/2022/01/feed.atom"] {
            let feed = feed_rs::parser::parse(&documents[path][..])
                .map_err(|e| TestCaseError::fail(format!("{path}: {e}")))?;
            let entry = &feed.entries[0];
            let read_title = common::reader_text(entry.title.as_ref().unwrap());
            prop_assert_eq!(&read_title, &expected_line(&title), "{} title", path);
            // RSS descriptions and Atom text with `<` or `&` are HTML.
            let read_summary = common::reader_text(entry.summary.as_ref().unwrap());
            prop_assert_eq!(&read_summary, &expected_line(&summary), "{} summary", path);
            let category = &entry.categories[0];
            let category = category.label.as_ref().unwrap_or(&category.term);
            prop_assert_eq!(category, &expected_line(&format!("K{title}")), "{} category", path);
            let content = entry.content.as_ref().and_then(|c| c.body.as_deref());
            if content_html.is_empty() {
                // No body: RSS and Atom carry no content; JSON Feed repeats the summary as text.
                let expected = (path == "feed.json").then(|| expected_line(&summary));
                prop_assert_eq!(content.map(str::to_owned), expected, "{} content", path);
            } else {
                prop_assert_eq!(content, Some(content_html.as_str()), "{} content", path);
            }
        }
        let page = &documents[&format!("artikel/{}/index.html", article.article.id)];
        prop_assert_eq!(html_text(page, "h1"), Some(expected_line(&title)), "article h1");
        prop_assert_eq!(
            html_meta(page, "meta[property='og:title']"),
            Some(expected_line(&title)),
            "og:title"
        );
        let front = &documents["index.html"];
        let listed = html_text(front, &format!("a[href$='artikel/{}/']", article.article.id));
        prop_assert_eq!(listed, Some(expected_line(&title)), "front page link");
        let category_link = html_text(front, "a[href*='kategorie/']");
        prop_assert_eq!(category_link, Some(expected_line(&format!("K{title}"))), "category link");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// Whatever bytes a record holds, reading it gives an article or a
    /// problem; it never panics.
    #[test]
    fn any_bytes_are_read_or_refused(front in "[a-z_ =\"'\\[\\].,:0-9\\n+-]{0,120}", tail in prop::collection::vec(any::<u8>(), 0..80)) {
        let mut bytes = format!("+++\n{front}\n+++\n").into_bytes();
        bytes.extend(tail);
        let config = config();
        let _ = record::parse(Path::new("/nonexistent"), Path::new("articles/x.md"), &bytes, &config, chrono::Utc::now(), &MeasuredImages::default());
        let _ = record::parse(Path::new("/nonexistent"), Path::new("articles/x.md"), &bytes[4..], &config, chrono::Utc::now(), &MeasuredImages::default());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Date-like text of any shape is read or refused, never a panic; what
    /// is read carries an offset Europe/Berlin really has.
    #[test]
    fn date_like_text_is_read_or_refused(text in "([0-9]{1,5}[.:T -]{0,2}){1,6}(Uhr|[+-][0-9]{2}:[0-9]{2}|Z)?|[0-9]{1,2}\\. (Januar|März|Mai|Dezember|Foo) [0-9]{1,5}(, [0-9]{1,2}:[0-9]{1,2} Uhr)?") {
        if let Ok(date) = stadtfeed::content::date::parse_text(&text, chrono_tz::Europe::Berlin) {
            // Berlin's offset at that instant, as the tz database has it
            // (+03:00 in the summer of 1947, for one).
            use chrono::{Offset, TimeZone};
            let real = chrono_tz::Europe::Berlin
                .offset_from_utc_datetime(&date.naive_utc())
                .fix();
            prop_assert_eq!(*date.offset(), real, "{} → {}", text, date);
        }
    }
}
