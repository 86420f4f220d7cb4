//! Whatever editors type, every document stays well-formed and a parser
//! written by others reads the text back intact.

use std::path::Path;

use proptest::prelude::*;
use stadtfeed::content::record::{self, Record};
use stadtfeed::content::store::ArticleStore;
use stadtfeed::index::{Index, Summary};
use stadtfeed::model::SiteConfig;

fn config() -> SiteConfig {
    SiteConfig {
        title: "Teststadt".into(),
        description: "Meldungen".into(),
        base_url: "https://www.teststadt.de/feeds".into(),
        language: "de-DE".into(),
        timezone: chrono_tz::Europe::Berlin,
        author: "Stadt Teststadt".into(),
        email: None,
        copyright: None,
        logo: None,
        items_per_page: 50,
        hub: None,
        max_age: 300,
        footer: Default::default(),
        color: "#0b5394".into(),
    }
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

/// What the text must read back as: the plain line the content layer makes
/// of it (its own unit tests pin that down); the writers must not change it.
fn expected_line(text: &str) -> String {
    stadtfeed::content::text::plain_line(text)
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
    fn any_title_and_body_give_valid_documents(title in nasty_text(), summary in nasty_text(), body in nasty_text()) {
        let title = format!("T{title}");
        let summary = format!("S{summary}");
        let record_text = format!(
            "+++\ntitle = {}\nsummary = {}\ndate = \"11.01.2022\"\ncategories = [{}]\n+++\n{body}\n",
            toml::Value::String(title.clone()),
            toml::Value::String(summary.clone()),
            toml::Value::String(format!("K{title}")),
        );
        let config = config();
        let parsed = record::parse(Path::new("/nonexistent"), Path::new("articles/x.md"), record_text.as_bytes(), &config, chrono::Utc::now());
        let article = match parsed {
            Ok(Record::Article { article, .. }) => *article,
            other => return Err(TestCaseError::fail(format!("not published: {other:?}"))),
        };
        let content_html = article.content_html.clone();
        let store = ArticleStore::memory();
        let mut index = Index::new(config);
        index.insert(std::sync::Arc::new(Summary::of(&article, store.put(&article))));
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
            prop_assert_eq!(&entry.title.as_ref().unwrap().content, &expected_line(&title), "{} title", path);
            // RSS descriptions are HTML: feed-rs hands over the escaped text.
            let read_summary = &entry.summary.as_ref().unwrap().content;
            let read_summary = if path.ends_with(".rss") {
                quick_xml::escape::unescape(read_summary).unwrap().into_owned()
            } else {
                read_summary.clone()
            };
            prop_assert_eq!(&read_summary, &expected_line(&summary), "{} summary", path);
            let content = entry.content.as_ref().and_then(|c| c.body.as_deref());
            if content_html.is_empty() {
                // No body: RSS and Atom carry no content; JSON Feed repeats the summary as text.
                let expected = (path == "feed.json").then(|| expected_line(&summary));
                prop_assert_eq!(content.map(str::to_owned), expected, "{} content", path);
            } else {
                prop_assert_eq!(content, Some(content_html.as_str()), "{} content", path);
            }
        }
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
        let _ = record::parse(Path::new("/nonexistent"), Path::new("articles/x.md"), &bytes, &config, chrono::Utc::now());
        let _ = record::parse(Path::new("/nonexistent"), Path::new("articles/x.md"), &bytes[4..], &config, chrono::Utc::now());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Date-like text of any shape is read or refused, never a panic; what
    /// is read carries an offset Europe/Berlin really has.
    #[test]
    fn date_like_text_is_read_or_refused(text in "([0-9]{1,5}[.:T -]{0,2}){1,6}(Uhr|[+-][0-9]{2}:[0-9]{2}|Z)?|[0-9]{1,2}\\. (Januar|März|Mai|Dezember|Foo) [0-9]{1,5}(, [0-9]{1,2}:[0-9]{1,2} Uhr)?") {
        if let Ok(date) = stadtfeed::content::date::parse_text(&text, chrono_tz::Europe::Berlin) {
            let offset = date.offset().local_minus_utc();
            prop_assert!(offset == 3600 || offset == 7200, "{text} → {date}");
        }
    }
}
