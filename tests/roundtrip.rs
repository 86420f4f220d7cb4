//! The Werdau item read back by feed-rs, a parser written by others, from
//! all three formats: what we meant is what a reader gets.

mod common;

use chrono::{DateTime, Utc};
use feed_rs::model::{Entry, Feed};

fn parse(path: &str) -> Feed {
    let (site, problems) = common::publish_dir(&common::shipped_feeds());
    assert!(problems.is_empty(), "{problems:?}");
    let body = common::text(&site, path);
    feed_rs::parser::parse(body.as_bytes()).unwrap_or_else(|e| panic!("{path}: {e}"))
}

const ID: &str = "https://www.werdau.de/feeds/artikel/2022-asskomm-werdau/";
const TITLE: &str = "Als erste Stadt 2022: Werdau wird Teil des »ASSKomm«-Netzwerkes";
const IMAGE: &str = "https://www.werdau.de/feeds/media/2022/werdau-videokonferenz.jpg";

fn werdau(feed: &Feed) -> &Entry {
    feed.entries.iter().find(|e| e.id == ID).unwrap_or_else(|| {
        panic!(
            "no entry {ID} in {:?}",
            feed.entries.iter().map(|e| &e.id).collect::<Vec<_>>()
        )
    })
}

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn image_length() -> u64 {
    std::fs::metadata(common::shipped_feeds().join("media/2022/werdau-videokonferenz.jpg"))
        .unwrap()
        .len()
}

/// What every format must carry for the Werdau item.
fn assert_common(entry: &Entry, format: &str) {
    assert_eq!(
        entry.title.as_ref().map(|t| t.content.as_str()),
        Some(TITLE),
        "{format}"
    );
    assert_eq!(
        entry.published,
        Some(utc("2022-01-11T00:00:00+01:00")),
        "{format}"
    );
    assert!(
        entry.links.iter().any(|l| l.href == ID),
        "{format}: {:?}",
        entry.links
    );
    let content = entry
        .content
        .as_ref()
        .and_then(|c| c.body.as_deref())
        .unwrap_or_default();
    assert!(
        content.contains("Heute wurde die erste Kooperationsvereinbarung"),
        "{format}"
    );
    assert!(content.contains("<figure>"), "{format}");
    // A teaser made of the content's text starts with the article, and the
    // caption stands apart from it (the figure follows the first paragraph).
    assert!(
        content.starts_with("<p>Heute wurde die erste Kooperationsvereinbarung"),
        "{format}: {content}"
    );
    assert!(content.contains("</p>\n<figure>"), "{format}");
    assert!(content.contains("<figcaption>Oberbürgermeister Sören Kristensen während der Videokonferenz. <small>© Stadt Werdau</small></figcaption>"), "{format}: {content}");
    assert!(content.contains(r#"href="https://www.werdau.de/de/aktuelle-meldungen/modellprojekt-trouble-in-the-city-stark-ohne-drogen-startete-gestern-in-zwickau.html""#), "{format}");
    assert!(!content.contains("zurück zum Seitenanfang"), "{format}");
}

#[test]
fn rss() {
    let feed = parse("feed.rss");
    assert_eq!(
        feed.title.as_ref().unwrap().content,
        "Stadt Werdau – Aktuelle Meldungen"
    );
    let entry = werdau(&feed);
    assert_common(entry, "rss");
    let categories: Vec<&str> = entry.categories.iter().map(|c| c.term.as_str()).collect();
    assert_eq!(categories, ["Sicherheit", "Jugend & Soziales"]);
    assert_eq!(entry.authors[0].name.as_deref(), Some("Stadt Werdau"));
    // The enclosure and media:content both become media objects in feed-rs.
    let contents: Vec<_> = entry.media.iter().flat_map(|m| &m.content).collect();
    assert!(!contents.is_empty());
    for content in &contents {
        assert_eq!(content.url.as_ref().map(|u| u.as_str()), Some(IMAGE));
        assert_eq!(
            content
                .content_type
                .as_ref()
                .map(|t| t.to_string())
                .as_deref(),
            Some("image/jpeg")
        );
        assert_eq!(content.size, Some(image_length()));
    }
    let media = entry
        .media
        .iter()
        .find(|m| !m.credits.is_empty())
        .expect("media:content with credit");
    assert_eq!(media.credits[0].entity, "© Stadt Werdau");
    assert_eq!(
        media.description.as_ref().map(|d| d.content.as_str()),
        Some("Oberbürgermeister Sören Kristensen während der Videokonferenz.")
    );
    assert_eq!(media.content[0].width, Some(640));
    assert_eq!(media.content[0].height, Some(427));
    assert_eq!(media.thumbnails[0].image.uri, IMAGE);
}

#[test]
fn atom() {
    let feed = parse("feed.atom");
    assert_eq!(feed.updated, Some(utc("2022-11-28T00:00:00+01:00")));
    let entry = werdau(&feed);
    assert_common(entry, "atom");
    assert_eq!(entry.updated, Some(utc("2022-01-11T00:00:00+01:00")));
    let categories: Vec<(&str, Option<&str>)> = entry
        .categories
        .iter()
        .map(|c| (c.term.as_str(), c.label.as_deref()))
        .collect();
    assert_eq!(
        categories,
        [
            ("sicherheit", Some("Sicherheit")),
            ("jugend-soziales", Some("Jugend & Soziales"))
        ]
    );
    let enclosure = entry
        .links
        .iter()
        .find(|l| l.rel.as_deref() == Some("enclosure"))
        .expect("enclosure link");
    assert_eq!(enclosure.href, IMAGE);
    assert_eq!(enclosure.media_type.as_deref(), Some("image/jpeg"));
    assert_eq!(enclosure.length, Some(image_length()));
}

#[test]
fn json_feed() {
    let feed = parse("feed.json");
    let entry = werdau(&feed);
    assert_common(entry, "json");
    let categories: Vec<&str> = entry.categories.iter().map(|c| c.term.as_str()).collect();
    assert_eq!(categories, ["Sicherheit", "Jugend & Soziales"]);
    // feed-rs reads attachments as links; the caption is the attachment's title.
    let attachment = entry
        .links
        .iter()
        .find(|l| l.href == IMAGE)
        .expect("attachment");
    assert_eq!(attachment.media_type.as_deref(), Some("image/jpeg"));
    assert_eq!(attachment.length, Some(image_length()));
    assert_eq!(
        attachment.title.as_deref(),
        Some("Oberbürgermeister Sören Kristensen während der Videokonferenz.")
    );
    // JSON Feed has no field for credits; the figure in content_html carries it.
    let (site, _) = common::publish_dir(&common::shipped_feeds());
    let json: serde_json::Value = serde_json::from_str(&common::text(&site, "feed.json")).unwrap();
    let item = json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == ID)
        .unwrap();
    assert_eq!(item["date_published"], "2022-01-11T00:00:00+01:00");
    assert_eq!(item["image"], IMAGE);
}

#[test]
fn updated_dates_reach_every_format() {
    let id = "https://www.werdau.de/feeds/artikel/2022-03-15-sperrung-zwickauer-strasse/";
    let published = utc("2022-03-15T00:00:00+01:00");
    let updated = utc("2022-03-17T10:00:00+01:00");
    for path in ["feed.atom", "feed.json"] {
        let feed = parse(path);
        let entry = feed.entries.iter().find(|e| e.id == id).unwrap();
        assert_eq!(entry.published, Some(published), "{path}");
        assert_eq!(entry.updated, Some(updated), "{path}");
    }
}

#[test]
fn rss_items_that_were_updated_say_when() {
    let (site, _) = common::publish_dir(&common::shipped_feeds());
    let rss = common::text(&site, "feed.rss");
    // RSS has no element of its own; dcterms:modified carries it.
    assert!(rss.contains(r#"xmlns:dcterms="http://purl.org/dc/terms/""#));
    let feed = feed_rs::parser::parse(rss.as_bytes()).unwrap();
    let updated: Vec<_> = feed
        .entries
        .iter()
        .filter(|e| e.updated.is_some())
        .collect();
    assert!(!updated.is_empty(), "feed-rs reads no update date");
}
