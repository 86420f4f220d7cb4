//! The command line as a user runs it: `check` and `build`.

mod common;

use std::path::Path;
use std::process::Command;

use common::{good_record, Fixture};

fn stadtfeed(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_stadtfeed"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A content directory whose subscription documents show only the two
/// newest entries, so that a third record is in the archive alone.
fn fixture_with_two_items() -> Fixture {
    let fixture = Fixture::new();
    fixture.write(
        "site.toml",
        common::SITE_TOML.replace("items = 50", "items = 2"),
    );
    fixture
}

/// `stadtfeed build --feeds FEEDS --out OUT`, then `extra` arguments.
fn build(feeds: &Path, out: &Path, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec![
        "build",
        "--feeds",
        feeds.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    stadtfeed(&args)
}

#[test]
fn check_passes_on_the_shipped_example() {
    let feeds = common::shipped_feeds();
    let (code, stdout, stderr) = stadtfeed(&["check", "--feeds", feeds.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(stdout, "");
    assert!(stderr.contains("11 records, 0 problems"), "{stderr}");
}

#[test]
fn check_prints_every_problem_with_file_and_line() {
    let fixture = Fixture::new();
    fixture.record("gut.md", &good_record("Gut", "11.01.2022"));
    fixture.record("a.md", "+++\ntitle = \"A\"\ndate = \"31.02.2022\"\n+++\n");
    fixture.record("sub/b.md", "kein Kopf\n");
    let dir = fixture.path().to_str().unwrap();
    let (code, stdout, _) = stadtfeed(&["check", "--feeds", dir]);
    assert_eq!(code, 1);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(
        lines[0].starts_with(&format!("{dir}/articles/a.md:3: ")),
        "{stdout}"
    );
    assert!(
        lines[1].starts_with(&format!("{dir}/articles/sub/b.md:1: ")),
        "{stdout}"
    );
}

#[test]
fn build_publishes_the_good_records_and_fails_for_the_bad() {
    let fixture = Fixture::new();
    fixture.record("gut.md", &good_record("Gute Nachricht", "11.01.2022"));
    fixture.record("kaputt.md", "+++\ntitle = \"Kaputt\"\n+++\n");
    let out = tempfile::tempdir().unwrap();
    let (code, _, stderr) = build(fixture.path(), out.path(), &[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("articles/kaputt.md:1: `date` is missing"),
        "{stderr}"
    );
    assert!(
        stderr.contains("1 records published, 1 refused"),
        "{stderr}"
    );
    let rss = std::fs::read_to_string(out.path().join("feed.rss")).unwrap();
    assert!(rss.contains("Gute Nachricht"));
    assert!(!rss.contains("Kaputt"));
    assert!(out.path().join("artikel/gut/index.html").is_file());
    assert!(out.path().join("kategorie/kultur/feed.atom").is_file());
    assert!(out.path().join("media/logo.png").is_file());
}

#[test]
fn build_writes_every_document_of_the_shipped_example() {
    let out = tempfile::tempdir().unwrap();
    let feeds = common::shipped_feeds();
    let (code, _, stderr) = build(&feeds, out.path(), &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("10 records published, 0 refused"),
        "{stderr}"
    );
    let (site, _) = common::publish_dir(&feeds);
    for (path, document) in &site.documents {
        let written =
            std::fs::read(out.path().join(path)).unwrap_or_else(|_| panic!("{path} not written"));
        assert_eq!(written, document.body, "{path}");
    }
    for path in [
        "feed.rss",
        "feed.atom",
        "feed.json",
        "feeds.opml",
        "index.html",
        "kategorie/strassenverkehr/feed.rss",
        "artikel/2022-asskomm-werdau/index.html",
        "media/2022/werdau-videokonferenz.jpg",
    ] {
        assert!(out.path().join(path).is_file(), "{path}");
    }
}

#[cfg(unix)]
#[test]
fn serve_logs_its_address_and_exits_cleanly_on_sigterm() {
    let feeds = common::shipped_feeds();
    let options = ["--feeds", feeds.to_str().unwrap(), "--addr", "127.0.0.1:0"];
    serve_until_sigterm(&[&["serve"][..], &options].concat());
    // Without a subcommand, stadtfeed serves.
    serve_until_sigterm(&options);
    // A host name is an address too.
    serve_until_sigterm(&["--feeds", feeds.to_str().unwrap(), "--addr", "localhost:0"]);
}

/// `stadtfeed serve` as a child process whose log lines arrive on a
/// channel; killed when dropped, so a failed assertion leaves no server
/// running.
#[cfg(unix)]
struct ServeProcess {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
}

#[cfg(unix)]
impl ServeProcess {
    fn spawn(command: &mut Command, log_filter: &str) -> ServeProcess {
        use std::io::{BufRead, BufReader};
        let mut child = command
            .env("RUST_LOG", log_filter)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let (sender, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        ServeProcess { child, lines }
    }

    /// The next log line; fails after 20 s without one or when the
    /// server has exited.
    fn next_line(&self) -> String {
        self.lines
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("a log line")
    }
}

#[cfg(unix)]
impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(unix)]
fn serve_until_sigterm(args: &[&str]) {
    use std::io::{Read, Write};
    let mut server = ServeProcess::spawn(
        Command::new(env!("CARGO_BIN_EXE_stadtfeed")).args(args),
        "info",
    );
    // Other lines (about the state directory) may come first.
    let line = loop {
        let line = server.next_line();
        if line.contains("serving") {
            break line;
        }
    };
    assert!(line.contains("(10 records published, 0 refused)"), "{line}");
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in {line}"))
        .to_owned();
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    stream
        .write_all(b"GET /feed.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    let mut log = String::new();
    while !log.contains("path=/feed.json status=200") {
        log.push_str(&server.next_line());
        log.push('\n');
    }
    assert!(
        log.contains("method=GET") && log.contains("micros="),
        "{log}"
    );
    let status = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = server.child.wait().unwrap();
    assert_eq!(exit.code(), Some(0), "exit status after SIGTERM");
}

/// An archive moved into `articles/` while serving: the log names ten of
/// the records no subscription document shows and counts the rest,
/// rather than a line per record.
#[cfg(unix)]
#[test]
fn serve_counts_rather_than_names_many_imported_archive_only_records() {
    let fixture = fixture_with_two_items();
    fixture.record("neu.md", &good_record("Neu", "01.03.2022"));
    let state = tempfile::tempdir().unwrap();
    let server = ServeProcess::spawn(
        Command::new(env!("CARGO_BIN_EXE_stadtfeed"))
            .args(["serve", "--addr", "127.0.0.1:0", "--feeds"])
            .arg(fixture.path())
            .arg("--cache-dir")
            .arg(state.path()),
        "warn,stadtfeed::serve::server=info",
    );
    while !server.next_line().contains("serving") {}
    // Fifteen records of 2021, written beside the content directory and
    // moved in at once: one reload publishes them all, and the two newest
    // of the site stay the record of 2022 and the newest of 2021.
    let archive = fixture.path().join("archiv-2021");
    std::fs::create_dir(&archive).unwrap();
    for day in 1..=15 {
        let name = format!("alt{day:02}");
        std::fs::write(
            archive.join(format!("{name}.md")),
            good_record(&name, &format!("{day:02}.03.2021")),
        )
        .unwrap();
    }
    std::fs::rename(&archive, fixture.path().join("articles/2021")).unwrap();
    let mut named = 0;
    let counted = loop {
        let line = server.next_line();
        if line.contains(".md: erscheint in keinem Abo-Feed") {
            named += 1;
        } else if line.contains("weitere neue Meldungen erscheinen in keinem Abo-Feed") {
            break line;
        }
    };
    assert_eq!(named, 10, "{counted}");
    assert!(counted.contains("… und 4 weitere"), "{counted}");
}

#[test]
fn build_leaves_unchanged_files_untouched() {
    let out = tempfile::tempdir().unwrap();
    let feeds = common::shipped_feeds();
    assert_eq!(build(&feeds, out.path(), &[]).0, 0);
    let feed = out.path().join("feed.rss");
    let stray = out.path().join("robots.txt");
    std::fs::write(&stray, "User-agent: *\n").unwrap();
    let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_600_000_000);
    std::fs::File::options()
        .write(true)
        .open(&feed)
        .unwrap()
        .set_modified(old)
        .unwrap();
    assert_eq!(build(&feeds, out.path(), &[]).0, 0);
    assert_eq!(
        std::fs::metadata(&feed).unwrap().modified().unwrap(),
        old,
        "feed.rss was rewritten"
    );
    assert!(
        stray.is_file(),
        "files the site does not produce are left alone"
    );
}

/// The state directory outlives the output folder: a clean build
/// (`rm -rf out`), an emptied folder or a removed part of it must still
/// give the whole site, not only what changed since the last build.
#[test]
fn build_into_a_deleted_or_emptied_folder_writes_the_whole_site() {
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("out");
    let state = root.path().join("state");
    let feeds = common::shipped_feeds();
    let build_kept = || build(&feeds, &out, &["--cache-dir", state.to_str().unwrap()]);
    let (site, _) = common::publish_dir(&feeds);
    let assert_whole = |when: &str| {
        for (path, document) in &site.documents {
            let written = std::fs::read(out.join(path))
                .unwrap_or_else(|_| panic!("{path} missing after {when}"));
            assert_eq!(written, document.body, "{path} after {when}");
        }
    };
    assert_eq!(build_kept().0, 0);
    assert_whole("the first build");
    std::fs::remove_dir_all(&out).unwrap();
    assert_eq!(build_kept().0, 0);
    assert_whole("the folder was deleted");
    for entry in std::fs::read_dir(&out).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            std::fs::remove_dir_all(&path).unwrap();
        } else {
            std::fs::remove_file(&path).unwrap();
        }
    }
    assert_eq!(build_kept().0, 0);
    assert_whole("the folder was emptied");
    std::fs::remove_dir_all(out.join("artikel")).unwrap();
    let (code, _, stderr) = build_kept();
    assert_eq!(code, 0, "{stderr}");
    assert_whole("artikel/ was removed");
    // Nothing touched since: nothing is written.
    let (_, _, stderr) = build_kept();
    assert!(stderr.contains(" 0 files written"), "{stderr}");
}

#[test]
fn every_page_links_the_legal_pages_and_check_warns_without_them() {
    let (site, _) = common::publish_dir(&common::shipped_feeds());
    let mut pages = 0;
    for (path, document) in &site.documents {
        if !path.ends_with(".html") {
            continue;
        }
        let html = String::from_utf8_lossy(&document.body);
        for link in [
            r#"<a href="https://www.werdau.de/impressum">Impressum</a>"#,
            r#"<a href="https://www.werdau.de/datenschutz">Datenschutz</a>"#,
            r#"<a href="https://www.werdau.de/barrierefreiheit">Barrierefreiheit</a>"#,
            r#"<a href="mailto:presse@werdau.de">"#,
        ] {
            assert!(html.contains(link), "{path} lacks {link}");
        }
        pages += 1;
    }
    assert!(pages > 20, "{pages} pages");

    // A site.toml without them: check warns, and still succeeds.
    let fixture = common::Fixture::new();
    fixture.record("a.md", &common::good_record("Meldung", "11.01.2022"));
    let (code, _, stderr) = stadtfeed(&["check", "--feeds", fixture.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("site.toml: Warnung: `impressum` fehlt"),
        "{stderr}"
    );
    assert!(stderr.contains("`barrierefreiheit` fehlt"), "{stderr}");
}

#[test]
fn the_subscribe_page_offers_every_feed_and_every_page_leads_there() {
    let (site, _) = common::publish_dir(&common::shipped_feeds());
    let page = common::text(&site, "abonnieren/index.html");
    for slug in ["", "kategorie/kultur/", "kategorie/jugend-soziales/"] {
        let url = format!("https://www.werdau.de/feeds/{slug}feed.rss");
        assert!(page.contains(&format!("value=\"{url}\"")), "{url}");
    }
    assert!(page.contains("https://feedly.com/i/subscription/feed/https%3A%2F%2Fwww%2Ewerdau%2Ede%2Ffeeds%2Ffeed%2Erss"));
    assert!(page.contains("OPML"));
    assert!(common::text(&site, "index.html").contains(r##"href="abonnieren/#alle""##));
    assert!(common::text(&site, "kategorie/kultur/index.html")
        .contains(r##"href="../../abonnieren/#kultur""##));
}

#[test]
fn article_pages_carry_link_previews_and_news_article_data() {
    let (site, _) = common::publish_dir(&common::shipped_feeds());
    let page = common::text(&site, "artikel/2022-asskomm-werdau/index.html");
    for tag in [
        r#"<meta property="og:type" content="article">"#,
        r#"<meta property="og:locale" content="de_DE">"#,
        r#"<meta property="og:image" content="https://www.werdau.de/feeds/media/2022/werdau-videokonferenz.jpg">"#,
        r#"<meta property="og:image:width" content="640">"#,
        r#"<meta name="twitter:card" content="summary_large_image">"#,
        r#"<meta property="article:published_time" content="2022-01-11T00:00:00+01:00">"#,
        r#"<link rel="icon" href="../../favicon.ico">"#,
    ] {
        assert!(page.contains(tag), "{tag}");
    }
    let description = page
        .split(r#"<meta name="description" content=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap();
    assert!(description.chars().count() <= 160, "{description}");
    assert!(page.contains(
        r#"<link rel="canonical" href="https://www.werdau.de/feeds/artikel/2022-asskomm-werdau/">"#
    ));
    // A record with a link names the town's original as canonical.
    let linked = common::text(&site, "artikel/2021-06-24-trouble-in-the-city/index.html");
    assert!(linked.contains(r#"<link rel="canonical" href="https://www.werdau.de/de/"#));
    let json = page
        .split(r#"<script type="application/ld+json">"#)
        .nth(1)
        .and_then(|rest| rest.split("</script>").next())
        .unwrap();
    let data: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(data["@type"], "NewsArticle");
    assert_eq!(
        data["headline"],
        "Als erste Stadt 2022: Werdau wird Teil des »ASSKomm«-Netzwerkes"
    );
    assert_eq!(data["datePublished"], "2022-01-11T00:00:00+01:00");
    assert!(data["publisher"]["logo"]["url"]
        .as_str()
        .unwrap()
        .ends_with("media/logo.png"));
    assert!(site.documents.contains_key("favicon.ico"));
}

#[test]
fn article_pages_link_their_neighbours_and_shift_body_headings() {
    let fixture = common::Fixture::new();
    for (name, date) in [
        ("a", "10.01.2022"),
        ("b", "11.01.2022"),
        ("c", "12.01.2022"),
    ] {
        fixture.record(
            &format!("{name}.md"),
            &common::good_record(&format!("Meldung {name}"), date),
        );
    }
    fixture.record(
        "d.md",
        "+++\ntitle = \"Mit Überschriften\"\ndate = \"13.01.2022\"\ncategories = [\"Kultur\"]\n+++\nText.\n\n### Hintergrund\n\nMehr.\n\n#### Details\n\nNoch mehr.\n",
    );
    let (site, _) = common::publish_dir(fixture.path());
    let b = common::text(&site, "artikel/b/index.html");
    assert!(
        b.contains(r#"<a href="../../artikel/a/" rel="prev">"#),
        "{b}"
    );
    assert!(
        b.contains(r#"<a href="../../artikel/c/" rel="next">"#),
        "{b}"
    );
    let d = common::text(&site, "artikel/d/index.html");
    // "Mehr aus Kultur": the articles before it in its category.
    assert!(d.contains("<h2>Mehr aus Kultur</h2>"));
    assert!(d.contains(r#"<a href="../../artikel/c/">Meldung c</a>"#));
    // One h1 (the title); the body's ### became h2, #### h3.
    assert_eq!(d.matches("<h1>").count(), 1);
    assert!(
        d.contains("<h2>Hintergrund</h2>") && d.contains("<h3>Details</h3>"),
        "{d}"
    );
}

#[test]
fn check_names_new_records_that_no_subscription_document_shows() {
    let fixture = fixture_with_two_items();
    for (name, date) in [
        ("r1", "01.03.2022"),
        ("r2", "02.03.2022"),
        ("r3", "03.03.2022"),
    ] {
        fixture.record(&format!("{name}.md"), &good_record(name, date));
    }
    // A press release dated back, added today: beyond the 2 newest entries
    // of the site and of its category.
    fixture.record("rueckdatiert.md", &good_record("Alt", "01.01.2020"));
    let dir = fixture.path().to_str().unwrap();
    let (code, _, stderr) = stadtfeed(&["check", "--feeds", dir]);
    assert_eq!(code, 0, "a warning, not a problem: {stderr}");
    let warned: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("erscheint in keinem Abo-Feed"))
        .collect();
    assert_eq!(warned.len(), 2, "{stderr}");
    assert!(
        warned.iter().any(|l| l.contains("rueckdatiert.md")),
        "{stderr}"
    );
    assert!(warned.iter().any(|l| l.contains("r1.md")), "{stderr}");
}

/// A fresh checkout or import makes every file new: `check` then names
/// the ten most recently changed archive-only records and counts the
/// rest, instead of a line per record of the archive.
#[test]
fn check_counts_rather_than_names_many_new_archive_only_records() {
    let fixture = fixture_with_two_items();
    for day in 1..=27 {
        let name = format!("r{day:02}");
        fixture.record(
            &format!("{name}.md"),
            &good_record(&name, &format!("{day:02}.03.2022")),
        );
    }
    let dir = fixture.path().to_str().unwrap();
    let (code, _, stderr) = stadtfeed(&["check", "--feeds", dir]);
    assert_eq!(code, 0, "a warning, not a problem: {stderr}");
    let named = stderr
        .lines()
        .filter(|l| l.contains(".md: erscheint in keinem Abo-Feed"))
        .count();
    assert_eq!(named, 10, "{stderr}");
    // 27 records, the 2 newest in the feeds: 25 outside, 10 named.
    assert!(
        stderr.contains("… und 15 weitere in den letzten 7 Tagen geänderte Meldungen erscheinen in keinem Abo-Feed"),
        "{stderr}"
    );
    // The most recently changed are named: written in order, r16 to r25.
    assert!(stderr.contains("r25.md: erscheint"), "{stderr}");
    assert!(stderr.contains("r16.md: erscheint"), "{stderr}");
    assert!(!stderr.contains("r15.md: erscheint"), "{stderr}");
}

#[test]
fn check_warns_about_a_link_colour_too_light_to_read() {
    let fixture = Fixture::new();
    fixture.write(
        "site.toml",
        format!("{}color = \"#7fbfff\"\n", common::SITE_TOML),
    );
    fixture.record("a.md", &good_record("A", "11.01.2022"));
    let dir = fixture.path().to_str().unwrap();
    let (code, _, stderr) = stadtfeed(&["check", "--feeds", dir]);
    assert_eq!(code, 0, "a warning, not a problem: {stderr}");
    assert!(
        stderr.contains("color = \"#7fbfff\" hat auf dem weißen Hintergrund der Seiten nur einen Kontrast von 1.9:1"),
        "{stderr}"
    );
    // The shipped colour passes.
    let feeds = common::shipped_feeds();
    let (_, _, stderr) = stadtfeed(&["check", "--feeds", feeds.to_str().unwrap()]);
    assert!(!stderr.contains("Kontrast"), "{stderr}");
}

/// A title with pasted markup is published verbatim (PRODUCT.md §1.2),
/// but the newsroom is told, with file and line; words in angle brackets
/// are no markup.
#[test]
fn check_warns_about_html_pasted_into_a_title() {
    let fixture = Fixture::new();
    fixture.write("site.toml", common::SITE_TOML);
    fixture.record(
        "markup.md",
        &good_record("Rathaus <b>geschlossen</b>", "01.03.2022"),
    );
    fixture.record(
        "wort.md",
        &good_record("Liste <Entwurf> online", "02.03.2022"),
    );
    let dir = fixture.path().to_str().unwrap();
    let (code, _, stderr) = stadtfeed(&["check", "--feeds", dir]);
    assert_eq!(code, 0, "a warning, not a problem: {stderr}");
    let warned: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("der Titel enthält HTML"))
        .collect();
    assert_eq!(warned.len(), 1, "{stderr}");
    // A line of its own, `path:line: …`, as check's problems.
    assert!(
        warned[0].starts_with(dir) && warned[0].contains("markup.md:2: Warnung: "),
        "{stderr}"
    );
    assert!(warned[0].contains("(<b>)"), "{stderr}");
}

#[test]
fn every_command_names_a_missing_site_toml_by_its_whole_path() {
    // A first run on a folder without site.toml: nothing to publish, and
    // no earlier site that could be served instead.
    let feeds = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let dir = feeds.path().to_str().unwrap();
    let expected = format!("{}", feeds.path().join("site.toml").display());
    for args in [
        vec!["check", "--feeds", dir],
        vec![
            "build",
            "--feeds",
            dir,
            "--out",
            out.path().to_str().unwrap(),
        ],
        vec![
            "serve",
            "--feeds",
            dir,
            "--addr",
            "127.0.0.1:0",
            "--cache-dir",
            state.path().to_str().unwrap(),
        ],
    ] {
        let (code, stdout, stderr) = stadtfeed(&args);
        let said = format!("{stdout}{stderr}");
        assert_ne!(code, 0, "{args:?}: {said}");
        assert!(
            said.contains(&expected),
            "{args:?} does not name {expected}: {said}"
        );
        assert!(
            !said.contains("last good site"),
            "{args:?} promises a site it never had: {said}"
        );
    }
}

#[test]
fn build_into_a_file_says_that_it_is_no_folder_and_leaves_it() {
    let fixture = Fixture::new();
    fixture.record("a.md", &good_record("A", "01.02.2022"));
    let out = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(out.path(), "kept").unwrap();
    let (code, _, stderr) = build(fixture.path(), out.path(), &[]);
    assert_ne!(code, 0);
    let expected = format!("{} is not a folder", out.path().display());
    assert!(stderr.contains(&expected), "{stderr}");
    assert_eq!(std::fs::read_to_string(out.path()).unwrap(), "kept");
}

#[test]
fn a_file_named_as_the_content_directory_is_called_a_file() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let path = file.path().to_str().unwrap();
    let (code, stdout, stderr) = stadtfeed(&["check", "--feeds", path]);
    assert_ne!(code, 0);
    let said = format!("{stdout}{stderr}");
    assert!(said.contains(&format!("{path}: this is a file")), "{said}");
}
