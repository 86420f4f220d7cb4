//! The HTML pages as a browser's parser reads them (the `scraper` crate):
//! one `h1` and no skipped heading levels, a `<time datetime>` on every
//! date shown, the neighbours and "Mehr aus …" of an article, the logo in
//! the header, the footer's legal links, link previews and the JSON-LD.

mod common;

use scraper::{Html, Selector};

fn select<'a>(page: &'a Html, selector: &str) -> Vec<scraper::ElementRef<'a>> {
    let selector = Selector::parse(selector).unwrap();
    page.select(&selector).collect()
}

fn text(element: &scraper::ElementRef<'_>) -> String {
    element.text().collect::<String>().trim().to_owned()
}

#[test]
fn every_page_has_one_h1_no_skipped_levels_and_machine_readable_dates() {
    let (site, _) = common::publish_dir(&common::shipped_feeds());
    let pages: Vec<&String> = site
        .documents
        .keys()
        .filter(|p| p.ends_with(".html"))
        .collect();
    assert!(pages.len() > 40, "{}", pages.len());
    for path in pages {
        let page = Html::parse_document(&common::text(&site, path));
        assert_eq!(select(&page, "h1").len(), 1, "{path}: one h1");
        let mut level = 1;
        for heading in select(&page, "h1, h2, h3, h4, h5, h6") {
            let this: u32 = heading.value().name()[1..].parse().unwrap();
            assert!(
                this <= level + 1,
                "{path}: h{level} then h{this} ({})",
                text(&heading)
            );
            level = this;
        }
        // Every date shown sits in a <time> whose datetime a machine reads
        // (`.datum` also styles other small print, which has no digits).
        for line in select(&page, ".datum") {
            if text(&line).chars().any(|c| c.is_ascii_digit()) {
                let times = line.select(&Selector::parse("time").unwrap()).count();
                assert!(times > 0, "{path}: {}", text(&line));
            }
        }
        for time in select(&page, "time") {
            let value = time.value().attr("datetime").unwrap_or_default();
            let parsed = chrono::DateTime::parse_from_rfc3339(value).is_ok()
                || chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d").is_ok()
                || chrono::NaiveDate::parse_from_str(&format!("{value}-01"), "%Y-%m-%d").is_ok();
            assert!(parsed, "{path}: <time datetime={value:?}>");
        }
        // The header's logo, and the footer's legal links.
        assert_eq!(select(&page, "header img.logo").len(), 1, "{path}: logo");
        for legal in ["Impressum", "Datenschutz", "Barrierefreiheit"] {
            assert!(
                select(&page, "footer a")
                    .iter()
                    .any(|a| text(a).contains(legal)),
                "{path}: footer link {legal}"
            );
        }
    }
}

#[test]
fn an_article_page_reads_like_a_news_site() {
    let (site, _) = common::publish_dir(&common::shipped_feeds());
    let page = Html::parse_document(&common::text(
        &site,
        "artikel/2022-asskomm-werdau/index.html",
    ));
    assert_eq!(
        text(&select(&page, "h1")[0]),
        "Als erste Stadt 2022: Werdau wird Teil des »ASSKomm«-Netzwerkes"
    );
    let date = select(&page, "time[datetime]");
    assert_eq!(
        date[0].value().attr("datetime"),
        Some("2022-01-11T00:00:00+01:00")
    );
    // Neighbours and the way back.
    assert_eq!(select(&page, "a[rel=prev]").len(), 1);
    assert_eq!(select(&page, "a[rel=next]").len(), 1);
    // (The header's home link alone would not do: every page has it.)
    let back = select(&page, "nav a")
        .into_iter()
        .find(|a| text(a) == "Zur Übersicht")
        .expect("a link back to the overview");
    assert_eq!(back.value().attr("href"), Some("../../"));
    // Link previews.
    let meta = |selector: &str| {
        select(&page, selector)
            .first()
            .and_then(|m| m.value().attr("content"))
            .map(str::to_owned)
    };
    assert_eq!(meta("meta[property='og:type']").as_deref(), Some("article"));
    assert!(
        meta("meta[name=description]").is_some_and(|d| !d.is_empty() && d.chars().count() <= 160)
    );
    assert!(
        meta("meta[property='og:image']").is_some_and(|u| u.ends_with("werdau-videokonferenz.jpg"))
    );
    // The structured data, read with serde_json.
    let json = text(&select(&page, "script[type='application/ld+json']")[0]);
    let data: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(data["@type"], "NewsArticle");
    assert_eq!(data["datePublished"], "2022-01-11T00:00:00+01:00");
    // The figure with caption and credit, after the first paragraph.
    let figure = select(&page, "article figure, main figure");
    assert_eq!(figure.len(), 1);
    assert!(text(&select(&page, "figcaption")[0]).contains("© Stadt Werdau"));
}

#[test]
fn more_from_the_category_lists_the_articles_before_it() {
    let fixture = common::Fixture::new();
    for (name, date) in [
        ("a", "10.01.2022"),
        ("b", "11.01.2022"),
        ("c", "12.01.2022"),
        ("d", "13.01.2022"),
    ] {
        fixture.record(
            &format!("{name}.md"),
            &common::good_record(&format!("Meldung {name}"), date),
        );
    }
    let (site, _) = common::publish_dir(fixture.path());
    let page = Html::parse_document(&common::text(&site, "artikel/c/index.html"));
    let heading = select(&page, "h2")
        .into_iter()
        .find(|h| text(h) == "Mehr aus Kultur")
        .expect("Mehr aus Kultur");
    // The list after the heading: the articles before c, newest first.
    let list = heading
        .next_siblings()
        .filter_map(scraper::ElementRef::wrap)
        .next()
        .unwrap();
    let titles: Vec<String> = list
        .select(&Selector::parse("a").unwrap())
        .map(|a| text(&a))
        .collect();
    assert_eq!(titles, ["Meldung b", "Meldung a"]);
}
