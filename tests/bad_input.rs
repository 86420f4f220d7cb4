//! PRODUCT.md §4: each kind of bad record is refused with its file, line and
//! a sentence saying what to fix, and every other record is still published.

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use common::{good_record, Fixture};
use stadtfeed::model::ArticleId;

/// Publishes the fixture with one good record beside `bad`, and returns the
/// single problem reported.
fn refuse(name: &str, bad: impl AsRef<[u8]>) -> String {
    let fixture = Fixture::new();
    fixture.record("gut.md", &good_record("Gute Meldung", "11.01.2022"));
    fixture.write(&format!("articles/{name}"), bad);
    let snapshot = common::open(fixture.path()).unwrap();
    let ids: Vec<&str> = snapshot.articles.iter().map(|a| a.id.as_str()).collect();
    assert!(
        ids.contains(&"gut"),
        "the good record is still published: {ids:?}"
    );
    assert_eq!(snapshot.problems.len(), 1, "{:?}", snapshot.problems);
    snapshot.problems[0].to_string()
}

fn assert_names(message: &str, path_and_line: &str, words: &str) {
    assert!(
        message.starts_with(path_and_line),
        "{message:?} should start with {path_and_line:?}"
    );
    assert!(message.contains(words), "{message:?} should say {words:?}");
}

/// The message refusing a `site.toml` of these lines.
fn refuse_site_toml(lines: &str) -> String {
    let fixture = Fixture::new();
    fixture.write("site.toml", lines);
    common::open(fixture.path()).unwrap_err().to_string()
}

/// The site published from a `site.toml` of these lines and one good
/// record, which must raise no problem.
fn publish_with_site_toml(lines: &str) -> common::Published {
    let fixture = Fixture::new();
    fixture.write("site.toml", lines);
    fixture.record("a.md", &good_record("A", "11.01.2022"));
    let (site, problems) = common::publish_dir(fixture.path());
    assert!(problems.is_empty(), "{problems:?}");
    site
}

#[test]
fn bad_toml() {
    let m = refuse(
        "kaputt.md",
        "+++\ntitle = \"A\"\ndate = \"11.01.2022\nid = 3\n+++\nText\n",
    );
    assert_names(&m, "articles/kaputt.md:3: ", "bad TOML");
}

#[test]
fn unknown_key_is_named() {
    let m = refuse(
        "tippfehler.md",
        "+++\ntitel = \"A\"\ndate = \"11.01.2022\"\n+++\nText\n",
    );
    assert_names(&m, "articles/tippfehler.md:2: ", "titel");
}

#[test]
fn duplicate_key_is_named() {
    let m = refuse(
        "doppelt.md",
        "+++\ntitle = \"A\"\ndate = \"11.01.2022\"\ntitle = \"B\"\n+++\nText\n",
    );
    assert_names(&m, "articles/doppelt.md:4: ", "duplicate key `title`");
}

#[test]
fn no_front_matter() {
    let m = refuse("ohne.md", "Nur Text, keine Kopfdaten.\n");
    assert_names(&m, "articles/ohne.md:1: ", "no front matter");
}

#[test]
fn unclosed_front_matter() {
    let m = refuse(
        "offen.md",
        "+++\ntitle = \"A\"\ndate = \"11.01.2022\"\nText\n",
    );
    assert_names(&m, "articles/offen.md:1: ", "never closed");
}

#[test]
fn no_title() {
    let m = refuse("ohne-titel.md", "+++\ndate = \"11.01.2022\"\n+++\nText\n");
    assert_names(&m, "articles/ohne-titel.md:1: ", "`title` is missing");
    let m = refuse(
        "leerer-titel.md",
        "+++\ndate = \"11.01.2022\"\ntitle = \"  \"\n+++\nText\n",
    );
    assert_names(&m, "articles/leerer-titel.md:3: ", "`title` is empty");
}

#[test]
fn impossible_date() {
    let m = refuse(
        "datum.md",
        "+++\ntitle = \"A\"\n\ndate = \"31.02.2022\"\n+++\nText\n",
    );
    assert_names(
        &m,
        "articles/datum.md:4: ",
        "`31.02.2022` does not exist in the calendar",
    );
}

#[test]
fn unreadable_date() {
    let m = refuse(
        "datum.md",
        "+++\ntitle = \"A\"\ndate = \"gestern\"\n+++\nText\n",
    );
    assert_names(&m, "articles/datum.md:3: ", "not a date stadtfeed reads");
}

#[test]
fn time_in_the_spring_forward_gap() {
    let m = refuse(
        "dst.md",
        "+++\ntitle = \"A\"\ndate = \"27.03.2022 02:30\"\n+++\nText\n",
    );
    assert_names(&m, "articles/dst.md:3: ", "does not exist in Europe/Berlin");
}

#[test]
fn image_path_leaving_the_content_directory() {
    for src in [
        "../../etc/passwd",
        "/etc/passwd",
        "media/../../x.jpg",
        "media\\..\\..\\x.jpg",
    ] {
        let m = refuse(
            "raus.md",
            format!(
                "+++\ntitle = \"A\"\ndate = \"11.01.2022\"\n[image]\nsrc = '{src}'\n+++\nText\n"
            ),
        );
        assert_names(&m, "articles/raus.md:5: ", "leaves the content directory");
    }
}

#[cfg(unix)]
#[test]
fn image_symlink_leaving_the_content_directory() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::copy(
        common::shipped_feeds().join("media/logo.png"),
        outside.path().join("secret.png"),
    )
    .unwrap();
    let fixture = Fixture::new();
    std::os::unix::fs::symlink(
        outside.path().join("secret.png"),
        fixture.path().join("media/link.png"),
    )
    .unwrap();
    fixture.record("gut.md", &good_record("Gute Meldung", "11.01.2022"));
    fixture.record(
        "link.md",
        "+++\ntitle = \"A\"\ndate = \"11.01.2022\"\n[image]\nsrc = \"media/link.png\"\n+++\nText\n",
    );
    let snapshot = common::open(fixture.path()).unwrap();
    assert_eq!(snapshot.problems.len(), 1);
    assert_names(
        &snapshot.problems[0].to_string(),
        "articles/link.md:5: ",
        "leaves the content directory",
    );
    let site = snapshot;
    assert!(
        !site.documents.contains_key("media/link.png"),
        "the symlinked file is not published"
    );

    // Nor what a linked folder leads to; a folder linked inside media/ is
    // followed.
    std::os::unix::fs::symlink(outside.path(), fixture.path().join("media/aussen")).unwrap();
    std::os::unix::fs::symlink(
        fixture.path().join("media/2022"),
        fixture.path().join("media/innen"),
    )
    .unwrap();
    let site = common::open(fixture.path()).unwrap();
    assert!(
        !site.documents.contains_key("media/aussen/secret.png"),
        "a file under a folder linked out of media/ is not published"
    );
    assert!(
        site.documents
            .contains_key("media/innen/werdau-videokonferenz.jpg"),
        "a folder linked inside media/ is followed"
    );
    assert!(site.documents.contains_key("media/logo.png"));
}

/// Records that show the same image share its measurement; a replaced
/// file, or one linked out of the content directory, is measured again
/// when a record showing it is read again.
#[cfg(unix)]
#[test]
fn a_shared_image_is_measured_again_when_it_changes() {
    use stadtfeed::content::store::ArticleStore;
    use stadtfeed::content::Library;
    let fixture = Fixture::new();
    let shown = "+++\ntitle = \"{title}\"\ndate = \"11.01.2022\"\n[image]\nsrc = \"media/2022/bild.jpg\"\n+++\nText\n";
    let record = |title: &str| shown.replace("{title}", title);
    let jpeg = common::shipped_feeds().join("media/2022/werdau-videokonferenz.jpg");
    let png = common::shipped_feeds().join("media/logo.png");
    std::fs::copy(&jpeg, fixture.path().join("media/2022/bild.jpg")).unwrap();
    fixture.record("a.md", &record("A"));
    fixture.record("b.md", &record("B"));
    let store = Arc::new(ArticleStore::memory());
    let mut library = Library::open(fixture.path(), Arc::clone(&store));
    let image_of = |library: &Library, id: &str| {
        let index = library.index().unwrap();
        let summary = index.get(&ArticleId::new(id).unwrap()).unwrap().clone();
        store.get(&summary.hash).unwrap().image.clone().unwrap()
    };
    let jpeg_length = std::fs::metadata(&jpeg).unwrap().len();
    assert_eq!(image_of(&library, "a").length, jpeg_length);
    assert_eq!(image_of(&library, "b").length, jpeg_length);

    // Replaced by a PNG under the same name (a PNG in a .jpg: the type
    // comes from the bytes), then the record showing it edited.
    let staged = fixture.path().join("media/2022/.bild.jpg.tmp");
    std::fs::copy(&png, &staged).unwrap();
    std::fs::rename(&staged, fixture.path().join("media/2022/bild.jpg")).unwrap();
    fixture.record("b.md", &record("B neu"));
    library.refresh_paths(&[PathBuf::from("articles/b.md")]);
    let image = image_of(&library, "b");
    assert_eq!(image.length, std::fs::metadata(&png).unwrap().len());
    assert_eq!(image.mime_type, "image/png");

    // Now a symlink leading out of the content directory.
    let outside = tempfile::tempdir().unwrap();
    std::fs::copy(&jpeg, outside.path().join("geheim.jpg")).unwrap();
    std::fs::remove_file(fixture.path().join("media/2022/bild.jpg")).unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("geheim.jpg"),
        fixture.path().join("media/2022/bild.jpg"),
    )
    .unwrap();
    fixture.record("a.md", &record("A neu"));
    library.refresh_paths(&[PathBuf::from("articles/a.md")]);
    let problems: Vec<String> = library.problems().iter().map(ToString::to_string).collect();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_names(
        &problems[0],
        "articles/a.md:5: ",
        "leaves the content directory",
    );
}

#[test]
fn missing_image_file() {
    let m = refuse(
        "bild.md",
        "+++\ntitle = \"A\"\ndate = \"11.01.2022\"\n[image]\nsrc = \"media/2022/fehlt.jpg\"\n+++\nText\n",
    );
    assert_names(
        &m,
        "articles/bild.md:5: ",
        "image file `media/2022/fehlt.jpg` does not exist",
    );
}

#[test]
fn image_outside_media() {
    // A file beside media/, and media/ itself.
    for src in ["site.toml", "media", "./media/"] {
        let m = refuse(
            "bild.md",
            format!(
                "+++\ntitle = \"A\"\ndate = \"11.01.2022\"\n[image]\nsrc = \"{src}\"\n+++\nText\n"
            ),
        );
        assert_names(&m, "articles/bild.md:5: ", "not under media/");
    }
}

#[test]
fn file_that_is_not_an_image() {
    let fixture = Fixture::new();
    fixture.write("media/text.jpg", "kein Bild");
    fixture.record(
        "bild.md",
        "+++\ntitle = \"A\"\ndate = \"11.01.2022\"\n[image]\nsrc = \"media/text.jpg\"\n+++\nText\n",
    );
    let snapshot = common::open(fixture.path()).unwrap();
    assert_names(
        &snapshot.problems[0].to_string(),
        "articles/bild.md:5: ",
        "is not a JPEG, PNG",
    );
}

#[test]
fn remote_image_without_type_and_length() {
    let m = refuse(
        "remote.md",
        "+++\ntitle = \"A\"\ndate = \"11.01.2022\"\n[image]\nsrc = \"https://example.org/a.jpg\"\ntype = \"image/jpeg\"\n+++\nText\n",
    );
    assert_names(&m, "articles/remote.md:5: ", "needs `type` and `length`");
}

#[test]
fn remote_image_of_a_type_no_reader_shows_or_of_no_bytes() {
    // Both went into enclosures and Media RSS, which the W3C validator
    // refused ("Not a valid MIME type", "fileSize must be a positive
    // integer").
    let record = |image_type: &str, length: u64| {
        format!("+++\ntitle = \"A\"\ndate = \"11.01.2022\"\n[image]\nsrc = \"https://example.org/bild\"\ntype = \"{image_type}\"\nlength = {length}\n+++\nText\n")
    };
    let m = refuse("typ.md", record("bild", 4800));
    assert_names(&m, "articles/typ.md:5: ", "type `bild` is not image/jpeg");
    let m = refuse("leer.md", record("image/jpeg", 0));
    assert_names(&m, "articles/leer.md:5: ", "`length` is its size in bytes");
    let m = refuse(
        "flach.md",
        record("image/jpeg", 4800).replace("+++\nText", "height = 0\n+++\nText"),
    );
    assert_names(
        &m,
        "articles/flach.md:5: ",
        "size in pixels, which cannot be 0",
    );
    // The type is taken in any case, and sent as the MIME type it names.
    let fixture = Fixture::new();
    fixture.record("gross.md", &record("Image/JPEG", 4800));
    let (site, problems) = common::publish_dir(fixture.path());
    assert!(problems.is_empty(), "{problems:?}");
    let rss = common::text(&site, "feed.rss");
    assert!(rss.contains(r#"length="4800" type="image/jpeg""#), "{rss}");
}

#[test]
fn duplicate_id() {
    let fixture = Fixture::new();
    fixture.record(
        "a.md",
        "+++\ntitle = \"A\"\ndate = \"11.01.2022\"\nid = \"gleich\"\n+++\nA\n",
    );
    fixture.record(
        "b.md",
        "+++\ntitle = \"B\"\ndate = \"12.01.2022\"\nid = \"gleich\"\n+++\nB\n",
    );
    let snapshot = common::open(fixture.path()).unwrap();
    assert_eq!(snapshot.articles.len(), 1);
    assert_eq!(
        snapshot.articles[0].title, "A",
        "the first record by path keeps the id"
    );
    assert_eq!(snapshot.problems.len(), 1);
    assert_names(
        &snapshot.problems[0].to_string(),
        "articles/b.md:1: ",
        "id `gleich` is already used by articles/a.md",
    );
}

#[test]
fn invalid_utf8() {
    let mut bytes = b"+++\ntitle = \"A\"\ndate = \"11.01.2022\"\n+++\nZeile\nGr".to_vec();
    bytes.extend_from_slice(&[0xfc, 0xdf, b'e']); // "Grüße" in Latin-1
    let m = refuse("latin1.md", bytes);
    assert_names(&m, "articles/latin1.md:6: ", "not valid UTF-8");
}

#[test]
fn bad_id() {
    let m = refuse(
        "id.md",
        "+++\ntitle = \"A\"\ndate = \"11.01.2022\"\nid = \"a/b\"\n+++\nText\n",
    );
    assert_names(&m, "articles/id.md:4: ", "id `a/b` may only hold");
}

#[test]
fn bad_site_toml_is_reported_with_its_line() {
    let problem = refuse_site_toml(
        "title = \"T\"\nbase_url = \"https://x.de\"\ntimezone = \"Europe/Werdau\"\n",
    );
    assert_names(&problem, "site.toml:3: ", "not an IANA time zone");
}

#[test]
fn a_language_no_feed_reader_knows_is_reported_with_its_line() {
    // "deutsch" and the locale style "de_DE" made feeds the W3C validator
    // refuses ("language must be an ISO-639 language code").
    for language in ["deutsch", "de_DE"] {
        let problem = refuse_site_toml(&format!(
            "title = \"T\"\nbase_url = \"https://x.de\"\nlanguage = \"{language}\"\n"
        ));
        assert_names(
            &problem,
            "site.toml:3: ",
            &format!("language `{language}` is not a language tag like \"de-DE\""),
        );
    }
}

#[test]
fn an_email_that_is_no_address_is_reported_with_its_line() {
    // It became RSS managingEditor and Atom email, which the W3C
    // validator refused ("Invalid email address").
    let problem =
        refuse_site_toml("title = \"T\"\nbase_url = \"https://x.de\"\nemail = \"Pressestelle\"\n");
    assert_names(
        &problem,
        "site.toml:3: ",
        "email `Pressestelle` is not an email address",
    );
}

#[test]
fn blank_settings_are_as_if_left_out() {
    // Atom refuses a blank `rights` or `subtitle` (W3C validator: "should
    // not be blank"); a blank description means the title, as when left out.
    let site = publish_with_site_toml(
        "title = \"Stadt Werdau\"\nbase_url = \"https://x.de\"\ndescription = \" \"\ncopyright = \"\"\nauthor = \"\"\n",
    );
    let atom = common::text(&site, "feed.atom");
    assert!(!atom.contains("<rights"), "{atom}");
    assert!(atom.contains("<subtitle>Stadt Werdau</subtitle>"), "{atom}");
    let rss = common::text(&site, "feed.rss");
    assert!(!rss.contains("<copyright>"), "{rss}");
    assert!(
        rss.contains("<description>Stadt Werdau</description>"),
        "{rss}"
    );
}

#[test]
fn a_logo_rss_cannot_show_is_left_to_atom_and_json_feed() {
    // RSS 2.0's channel image is a GIF, JPEG or PNG; an SVG there drew the
    // W3C validator's "Image not in required format".
    let site = publish_with_site_toml(
        "title = \"T\"\nbase_url = \"https://x.de\"\nlogo = \"https://x.de/logo.svg\"\n",
    );
    let rss = common::text(&site, "feed.rss");
    assert!(!rss.contains("<image>"), "{rss}");
    let atom = common::text(&site, "feed.atom");
    assert!(
        atom.contains("<logo>https://x.de/logo.svg</logo>"),
        "{atom}"
    );
    let json = common::text(&site, "feed.json");
    assert!(json.contains("https://x.de/logo.svg"), "{json}");
}

#[test]
fn links_written_with_spaces_are_sent_percent_encoded() {
    // Sent as typed, a space drew the W3C validator's "Invalid character
    // in a URI" in RSS and Atom.
    let fixture = Fixture::new();
    fixture.record(
        "leer.md",
        "+++\ntitle = \"A\"\ndate = \"11.01.2022\"\nlink = \"https://x.de/meldung mit leerzeichen.html\"\n[image]\nsrc = \"https://x.de/ein bild.jpg\"\ntype = \"image/jpeg\"\nlength = 4800\n+++\nText\n",
    );
    let (site, problems) = common::publish_dir(fixture.path());
    assert!(problems.is_empty(), "{problems:?}");
    for feed in ["feed.rss", "feed.atom", "feed.json"] {
        let text = common::text(&site, feed);
        assert!(
            text.contains("https://x.de/meldung%20mit%20leerzeichen.html"),
            "{feed}: {text}"
        );
        assert!(
            text.contains("https://x.de/ein%20bild.jpg"),
            "{feed}: {text}"
        );
        assert!(!text.contains("mit leerzeichen"), "{feed}: {text}");
    }
}

#[test]
fn drafts_are_never_published() {
    let fixture = Fixture::new();
    fixture.record(
        "entwurf.md",
        "+++\ntitle = \"Geheim\"\ndate = \"11.01.2022\"\ndraft = true\n+++\nText\n",
    );
    let (site, problems) = common::publish_dir(fixture.path());
    assert!(problems.is_empty());
    assert!(site
        .documents
        .values()
        .all(|d| !String::from_utf8_lossy(&d.body).contains("Geheim")));
}

#[test]
fn png_named_jpg_is_sent_as_png() {
    let fixture = Fixture::new();
    std::fs::copy(
        fixture.path().join("media/logo.png"),
        fixture.path().join("media/falsch.jpg"),
    )
    .unwrap();
    fixture.record("bild.md", "+++\ntitle = \"A\"\ndate = \"11.01.2022\"\n[image]\nsrc = \"media/falsch.jpg\"\n+++\nText\n");
    let (site, problems) = common::publish_dir(fixture.path());
    assert!(problems.is_empty(), "{problems:?}");
    let rss = common::text(&site, "feed.rss");
    assert!(rss.contains(r#"type="image/png""#), "{rss}");
    assert_eq!(site.documents["media/falsch.jpg"].content_type, "image/png");
}

#[test]
fn control_characters_are_dropped_and_script_never_reaches_readers() {
    let fixture = Fixture::new();
    fixture.record(
        "böse.md",
        "+++\nid = \"boese\"\ntitle = \"Ti\\u0001tel <script>alert(1)</script>\"\ndate = \"11.01.2022\"\n+++\nA\u{7}b <script>alert(2)</script> <img src=x onerror=alert(3)> [x](javascript:alert(4))\n",
    );
    let (site, problems) = common::publish_dir(fixture.path());
    assert!(problems.is_empty(), "{problems:?}");
    let title = "Titel <script>alert(1)</script>";
    for (path, document) in site
        .documents
        .iter()
        .filter(|(p, _)| !p.starts_with("media/") && *p != "favicon.ico")
    {
        let text = String::from_utf8_lossy(&document.body);
        assert!(!text.contains('\u{1}') && !text.contains('\u{7}'), "{path}");
        if path.ends_with(".html") || path.ends_with('/') {
            // As a browser parses the page: the one script element is the
            // JSON-LD data; no handler or javascript: link got through.
            let page = scraper::Html::parse_document(&text);
            let scripts =
                scraper::Selector::parse("script:not([type='application/ld+json'])").unwrap();
            assert_eq!(page.select(&scripts).count(), 0, "{path}");
            let active =
                scraper::Selector::parse("[onerror], [href^='javascript:'], [src^='javascript:']")
                    .unwrap();
            assert_eq!(page.select(&active).count(), 0, "{path}");
        }
    }
    let page = scraper::Html::parse_document(&common::text(&site, "artikel/boese/index.html"));
    let h1 = scraper::Selector::parse("h1").unwrap();
    let shown: String = page.select(&h1).next().unwrap().text().collect();
    assert_eq!(shown, title, "the page shows the title as typed, as text");
    for path in ["feed.rss", "feed.atom", "feed.json"] {
        let feed = feed_rs::parser::parse(common::text(&site, path).as_bytes()).unwrap();
        let entry = &feed.entries[0];
        // Titles are plain text, kept verbatim: each format escapes them.
        assert_eq!(
            common::reader_text(entry.title.as_ref().unwrap()),
            title,
            "{path}"
        );
        // The content is HTML a reader renders: sanitised.
        let content = entry
            .content
            .as_ref()
            .and_then(|c| c.body.clone())
            .unwrap_or_default();
        for active in ["<script", "onerror", "javascript:"] {
            assert!(!content.contains(active), "{path}: {content}");
        }
        assert!(content.contains("Ab"), "{path}: {content}");
    }
}

#[test]
fn windows_line_endings_and_a_byte_order_mark_are_fine() {
    let fixture = Fixture::new();
    fixture.record(
        "windows.md",
        "\u{feff}+++\r\ntitle = \"Aus Word kopiert\"\r\ndate = \"11.01.2022\"\r\n+++\r\nErster Absatz\r\nmit Umbruch.\r\n\r\nZweiter.\r\n",
    );
    fixture.record(
        "kaputt.md",
        "+++\r\ntitle = \"A\"\r\ndate = \"31.02.2022\"\r\n+++\r\n",
    );
    let snapshot = common::open(fixture.path()).unwrap();
    assert_eq!(snapshot.articles.len(), 1);
    let article = &snapshot.articles[0];
    assert_eq!(article.title, "Aus Word kopiert");
    assert_eq!(article.summary, "Erster Absatz mit Umbruch.");
    assert_eq!(snapshot.problems.len(), 1);
    assert_names(
        &snapshot.problems[0].to_string(),
        "articles/kaputt.md:3: ",
        "31.02.2022",
    );
}

#[test]
fn parser_messages_stay_on_one_line() {
    let m = refuse(
        "kaputt.md",
        "+++\ntitle = \"A\"\ndate = \"11.01.2022\nid = 3\n+++\nText\n",
    );
    assert!(!m.contains('\n'), "{m:?}");
}

#[test]
fn a_record_larger_than_a_mebibyte() {
    let body = "Text. ".repeat(200_000);
    let m = refuse(
        "riesig.md",
        format!("+++\ntitle = \"A\"\ndate = \"11.01.2022\"\n+++\n{body}\n"),
    );
    assert_names(&m, "articles/riesig.md: ", "the record is too large");
    // Its real size, although it is read only up to the limit.
    assert!(m.contains("1171 KiB"), "{m}");
}

#[test]
fn a_title_too_long() {
    let title = "Sehr ".repeat(100);
    let m = refuse(
        "titel.md",
        format!("+++\ntitle = \"{title}\"\ndate = \"11.01.2022\"\n+++\nText\n"),
    );
    assert_names(&m, "articles/titel.md:2: ", "`title` is too large");
}

#[test]
fn too_many_categories() {
    let names: Vec<String> = (0..1000).map(|i| format!("\"K{i}\"")).collect();
    let m = refuse(
        "kategorien.md",
        format!(
            "+++\ntitle = \"A\"\ndate = \"11.01.2022\"\ncategories = [{}]\n+++\nText\n",
            names.join(", ")
        ),
    );
    assert_names(
        &m,
        "articles/kategorien.md:4: ",
        "`categories` is too large: 1000 categories, at most 10",
    );
}

#[test]
fn deeply_nested_markdown_is_refused_quickly() {
    let started = std::time::Instant::now();
    let m = refuse(
        "tief.md",
        format!(
            "+++\ntitle = \"A\"\ndate = \"11.01.2022\"\n+++\nErste Zeile\n{}\n",
            ">".repeat(100_000)
        ),
    );
    assert_names(
        &m,
        "articles/tief.md:6: ",
        "nesting of quotes and lists is too large",
    );
    // Debug build, shared machine: generous; the release build takes ~1 ms.
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[test]
fn an_image_above_the_size_limit() {
    let fixture = Fixture::new();
    let mut big = std::fs::read(fixture.path().join("media/logo.png")).unwrap();
    big.resize(21 * 1024 * 1024, 0);
    fixture.write("media/gross.png", big);
    fixture.record(
        "bild.md",
        "+++\ntitle = \"A\"\ndate = \"11.01.2022\"\n[image]\nsrc = \"media/gross.png\"\n+++\nText\n",
    );
    let snapshot = common::open(fixture.path()).unwrap();
    assert_names(
        &snapshot.problems[0].to_string(),
        "articles/bild.md:5: ",
        "the image is too large: 21 MiB, at most 20 MiB",
    );
}

#[test]
fn bidi_controls_are_removed_from_titles() {
    let fixture = Fixture::new();
    fixture.record(
        "bidi.md",
        "+++\ntitle = \"Rathaus \u{202E}tsaP\u{202C} geöffnet\"\ndate = \"11.01.2022\"\n+++\nText\n",
    );
    let snapshot = common::open(fixture.path()).unwrap();
    assert_eq!(snapshot.articles[0].title, "Rathaus tsaP geöffnet");
}

#[test]
fn records_named_in_capitals_are_read_too() {
    let fixture = Fixture::new();
    fixture.record("GROSS.MD", &good_record("Großgeschrieben", "11.01.2022"));
    let snapshot = common::open(fixture.path()).unwrap();
    assert_eq!(snapshot.articles.len(), 1);
    assert_eq!(snapshot.articles[0].title, "Großgeschrieben");
}

#[test]
fn a_record_linked_from_outside_is_refused() {
    let fixture = Fixture::new();
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("geheim.md");
    std::fs::write(&secret, good_record("Von außerhalb", "11.01.2022")).unwrap();
    std::os::unix::fs::symlink(&secret, fixture.path().join("articles/link.md")).unwrap();
    let snapshot = common::open(fixture.path()).unwrap();
    assert!(snapshot.articles.is_empty());
    assert_names(
        &snapshot.problems[0].to_string(),
        "articles/link.md: ",
        "outside the content directory",
    );

    // Nor a record in a folder linked from outside; a folder linked
    // inside the content directory is followed.
    std::fs::remove_file(fixture.path().join("articles/link.md")).unwrap();
    std::os::unix::fs::symlink(outside.path(), fixture.path().join("articles/aussen")).unwrap();
    fixture.record("2022/innen.md", &good_record("Von innen", "12.01.2022"));
    std::os::unix::fs::symlink(
        fixture.path().join("articles/2022"),
        fixture.path().join("articles/verlinkt"),
    )
    .unwrap();
    let snapshot = common::open(fixture.path()).unwrap();
    let problems: Vec<String> = snapshot.problems.iter().map(ToString::to_string).collect();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert_names(
        &problems[0],
        "articles/aussen/geheim.md: ",
        "outside the content directory",
    );
    // The linked folder shows the same record twice: one id, two files.
    assert!(
        problems[1].contains("articles/verlinkt/innen.md"),
        "{problems:?}"
    );
}

#[test]
fn a_record_linked_from_inside_the_content_directory_is_read() {
    let fixture = Fixture::new();
    fixture.write("vorlagen/text.md", good_record("Verlinkt", "11.01.2022"));
    std::os::unix::fs::symlink(
        fixture.path().join("vorlagen/text.md"),
        fixture.path().join("articles/link.md"),
    )
    .unwrap();
    let snapshot = common::open(fixture.path()).unwrap();
    let titles: Vec<&str> = snapshot.articles.iter().map(|a| &*a.title).collect();
    assert_eq!(titles, ["Verlinkt"]);
    assert_eq!(snapshot.articles[0].id.as_str(), "link");
}

#[test]
fn a_folder_that_cannot_be_listed_is_reported() {
    // As root, permissions stop nothing; a symlink loop cannot be listed
    // by anyone.
    let fixture = Fixture::new();
    fixture.record("gut.md", &good_record("Gute Meldung", "11.01.2022"));
    std::os::unix::fs::symlink(
        fixture.path().join("articles"),
        fixture.path().join("articles/schleife"),
    )
    .unwrap();
    let snapshot = common::open(fixture.path()).unwrap();
    assert_eq!(snapshot.articles.len(), 1);
    assert_names(
        &snapshot.problems[0].to_string(),
        "articles/schleife: ",
        "cannot read the folder",
    );
}

#[test]
fn a_jpg_that_is_no_image_is_not_published() {
    let fixture = Fixture::new();
    fixture.write("media/falsch-benannt.jpg", "<html>kein Bild</html>");
    let snapshot = common::open(fixture.path()).unwrap();
    assert!(!snapshot.documents.contains_key("media/falsch-benannt.jpg"));
    assert!(snapshot.documents.contains_key("media/logo.png"));
}
