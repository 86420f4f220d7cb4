//! What both targets share: a fixed site and the checks of a document.

use stadtfeed::model::SiteConfig;

pub fn config() -> SiteConfig {
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
        items_per_page: 5,
        hub: None,
        max_age: 300,
        footer: Default::default(),
        color: "#0b5394".into(),
    }
}

/// Every XML document reads through quick-xml; every JSON Feed parses.
pub fn check_document(path: &str, body: &[u8]) {
    if path.ends_with(".json") {
        serde_json::from_slice::<serde_json::Value>(body)
            .unwrap_or_else(|e| panic!("{path}: not JSON: {e}"));
    } else if path.ends_with(".rss") || path.ends_with(".atom") || path.ends_with(".opml") {
        let mut reader = quick_xml::Reader::from_reader(body);
        let mut buf = Vec::new();
        loop {
            match reader.read_event_into(&mut buf) {
                Ok(quick_xml::events::Event::Eof) => break,
                Ok(_) => buf.clear(),
                Err(e) => panic!("{path}: not well-formed: {e}"),
            }
        }
    }
}
