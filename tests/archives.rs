//! RFC 5005 archived feeds and what an edit costs: a walker over
//! `prev-archive` under change, the number of documents one edit changes,
//! and conditional GETs of cold archives over TCP.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::server::{eventually, Running};
use common::Fixture;
use hyper::StatusCode;
use stadtfeed::content::store::ArticleStore;
use stadtfeed::content::Library;
use stadtfeed::serve::documents::Encoding;
use stadtfeed::site::key::DocKey;
use stadtfeed::site::plan::Plan;
use stadtfeed::site::LONG_CACHE;

const SMALL_SITE: &str = r#"
title = "Teststadt – Meldungen"
description = "Nachrichten aus der Teststadt"
base_url = "https://www.teststadt.de/feeds"
author = "Stadt Teststadt"
items = 5
"#;

const CATEGORIES: [&str; 4] = ["Kultur", "Rathaus", "Polizei", "Baustellen"];

fn record(title: &str, date: &str, categories: &[&str]) -> String {
    let categories: Vec<String> = categories.iter().map(|c| format!("\"{c}\"")).collect();
    format!(
        "+++\ntitle = \"{title}\"\ndate = \"{date}\"\ncategories = [{}]\n+++\nText von {title}.\n",
        categories.join(", ")
    )
}

/// `n` records, one every ~2.5 days from January 2024 on, 1–2 categories each.
fn fill(fixture: &Fixture, n: usize) {
    fill_per_month(fixture, n, 11);
}

/// `n` records from January 2024 on, `per_month` a month.
fn fill_per_month(fixture: &Fixture, n: usize, per_month: usize) {
    for i in 0..n {
        let day = 1 + (i * 5 / 2) % 28;
        let month = 1 + i / per_month;
        let (year, month) = (2024 + (month as i32 - 1) / 12, (month - 1) % 12 + 1);
        let hour = 8 + i % 10;
        let cats = [CATEGORIES[i % 4], CATEGORIES[(i / 4) % 4]];
        fixture.record(
            &format!("{year}/m{i:04}.md"),
            &record(
                &format!("Meldung {i}"),
                &format!("{day:02}.{month:02}.{year} {hour:02}:{:02}", i % 60),
                &cats,
            ),
        );
    }
}

fn small_fixture(n: usize) -> Fixture {
    let fixture = Fixture::new();
    fixture.write("site.toml", SMALL_SITE);
    fill(&fixture, n);
    fixture
}

/// Entry ids and the `prev-archive` link of an Atom document, read by feed-rs.
fn read_atom(body: &[u8]) -> (Vec<String>, Option<String>, bool) {
    let feed = feed_rs::parser::parse(body).expect("feed-rs reads it");
    let prev = feed
        .links
        .iter()
        .find(|l| l.rel.as_deref() == Some("prev-archive"))
        .map(|l| l.href.clone());
    let is_archive = String::from_utf8_lossy(body).contains("<fh:archive");
    (
        feed.entries.into_iter().map(|e| e.id).collect(),
        prev,
        is_archive,
    )
}

fn path_of(url: &str) -> String {
    url.strip_prefix("https://www.teststadt.de/feeds")
        .expect("our base URL")
        .to_owned()
}

fn ids_on_disk(fixture: &Fixture) -> BTreeSet<String> {
    let published = common::open(fixture.path()).unwrap();
    published
        .articles
        .iter()
        .map(|a| format!("https://www.teststadt.de/feeds/artikel/{}/", a.id))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn walking_prev_archive_collects_every_record_once_while_records_change() {
    let fixture = small_fixture(60);
    let server = Running::start(fixture.path()).await;
    let before = ids_on_disk(&fixture);

    let mut collected: Vec<String> = Vec::new();
    let mut archive_ids: Vec<String> = Vec::new();
    let mut next = Some("/feed.atom".to_owned());
    let mut documents = 0;
    while let Some(path) = next.take() {
        let reply = server.get(&path, &[]).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
        let (ids, prev, is_archive) = read_atom(&reply.body);
        assert_eq!(is_archive, path != "/feed.atom", "{path}: fh:archive");
        if is_archive {
            archive_ids.extend(ids.iter().cloned());
        }
        collected.extend(ids);
        next = prev.map(|url| path_of(&url));
        documents += 1;
        if documents == 2 {
            // Meanwhile an editor adds a record and deletes an old one.
            fixture.record(
                "2024/neu.md",
                &record("Ganz neu", "28.06.2024 18:00", &["Kultur"]),
            );
            std::fs::remove_file(fixture.path().join("articles/2024/m0003.md")).unwrap();
            eventually(&server, "/feed.atom", Duration::from_secs(10), |r| {
                common::server::body_has(r, "Ganz neu")
            })
            .await;
        }
        assert!(documents < 100, "the chain of archives does not end");
    }
    let after = ids_on_disk(&fixture);
    let collected_set: BTreeSet<String> = collected.iter().cloned().collect();
    for id in before.intersection(&after) {
        assert!(collected_set.contains(id), "{id} was never seen");
    }
    // Archive documents do not overlap: each record is in one month.
    let unique: BTreeSet<&String> = archive_ids.iter().collect();
    assert_eq!(
        unique.len(),
        archive_ids.len(),
        "an archive repeats an entry"
    );
    assert!(documents > 5, "only {documents} documents walked");
    server.stop().await;
}

/// Renders the whole site into `out` with the library, as `build` does.
fn build(feeds: &Path, out: &Path) {
    let store = Arc::new(ArticleStore::memory());
    let library = Library::open(feeds, Arc::clone(&store));
    let index = library.index().unwrap();
    stadtfeed::build::write_site(&index, &store, out, None, Default::default()).unwrap();
}

fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let path = e.path().strip_prefix(dir).unwrap().display().to_string();
            (path, std::fs::read(e.path()).unwrap())
        })
        .collect()
}

/// Paths that differ between two builds, or exist in only one.
fn changed(a: &Path, b: &Path) -> Vec<String> {
    let (a, b) = (files(a), files(b));
    let paths: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    paths
        .into_iter()
        .filter(|p| a.get(*p) != b.get(*p))
        .cloned()
        .collect()
}

#[test]
fn an_edit_changes_only_the_documents_that_show_it() {
    let fixture = Fixture::new();
    fixture.write("site.toml", SMALL_SITE.replace("items = 5", "items = 20"));
    fill(&fixture, 300);
    let out = tempfile::tempdir().unwrap();
    let dir = |name: &str| out.path().join(name);
    build(fixture.path(), &dir("before"));
    let total = files(&dir("before")).len();

    // A new record in the newest month (which already has records).
    fixture.record(
        "2026/neu.md",
        &record("Neue Meldung", "28.04.2026 12:00", &["Kultur", "Rathaus"]),
    );
    build(fixture.path(), &dir("new"));
    let new = changed(&dir("before"), &dir("new"));
    eprintln!("one new record: {} of {total} files changed", new.len());
    assert!(
        new.len() <= 50,
        "{} of {total} files changed: {new:#?}",
        new.len()
    );
    assert!(
        new.contains(&"feed.rss".to_owned()) && new.contains(&"artikel/neu/index.html".to_owned())
    );
    for path in &new {
        assert!(
            !path.contains("archiv/2024/") && !path.contains("archiv/2025/"),
            "an older archive changed: {path}"
        );
    }

    // An edit of a record in an old month changes only what shows it.
    let old = fixture.path().join("articles/2024/m0020.md");
    let text = std::fs::read_to_string(&old).unwrap();
    std::fs::write(&old, text.replace("Text von", "Neuer Text von")).unwrap();
    build(fixture.path(), &dir("edited"));
    let edited = changed(&dir("new"), &dir("edited"));
    let month = "archiv/2024/02/";
    for path in &edited {
        assert!(
            path == "artikel/m0020/index.html" || path.contains(month),
            "{path} does not show the edited record"
        );
    }
    assert!(!edited.is_empty() && edited.len() <= 20, "{edited:#?}");
}

#[test]
fn build_writes_only_what_changed_and_removes_what_is_gone() {
    let fixture = small_fixture(40);
    let out = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let run_with = |state: &Path| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_stadtfeed"))
            .args(["build", "--feeds"])
            .arg(fixture.path())
            .arg("--out")
            .arg(out.path())
            .arg("--cache-dir")
            .arg(state)
            .output()
            .unwrap();
        assert!(output.status.success());
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let run = || run_with(state.path());
    let first = run();
    assert!(first.contains(" 0 unchanged, 0 removed"), "{first}");
    let second = run();
    assert!(second.contains("0 files written"), "{second}");
    // A file nobody asked for stays; a deleted record's page goes.
    std::fs::write(out.path().join("eigene-datei.txt"), "bleibt").unwrap();
    let page = out.path().join("artikel/m0000/index.html");
    assert!(page.exists());
    std::fs::remove_file(fixture.path().join("articles/2024/m0000.md")).unwrap();
    let third = run();
    assert!(!page.exists(), "the deleted record's page is still there");
    assert!(!third.contains(" 0 removed"), "{third}");
    assert!(out.path().join("eigene-datei.txt").exists());
    // An edit is written without looking at the other files: a file
    // changed behind build's back stays until its document changes...
    std::fs::write(out.path().join("kategorie/kultur/feed.rss"), "kaputt").unwrap();
    let old_month = out.path().join("archiv/2024/01/index.html");
    std::fs::write(&old_month, "kaputt").unwrap();
    let record = fixture.path().join("articles/2024/m0039.md");
    let text = std::fs::read_to_string(&record).unwrap();
    std::fs::write(&record, text.replace("Text von", "Neuer Text von")).unwrap();
    let fourth = run();
    assert!(!fourth.contains(" 0 files written"), "{fourth}");
    assert_eq!(std::fs::read(&old_month).unwrap(), b"kaputt");
    // ...or a build compares every document: one without its state.
    let fresh_state = tempfile::tempdir().unwrap();
    let fifth = run_with(fresh_state.path());
    assert!(!fifth.contains(" 0 files written"), "{fifth}");
    assert_ne!(std::fs::read(&old_month).unwrap(), b"kaputt");
    // And what a build after an edit leaves is what a whole build writes.
    let whole = tempfile::tempdir().unwrap();
    build(fixture.path(), whole.path());
    assert_eq!(
        changed(out.path(), whole.path()),
        [String::from("eigene-datei.txt")]
    );
}

/// A build into a built folder plans only what the edits since reach;
/// after each kind of edit, what it leaves must be what a build of
/// everything writes.
#[test]
fn builds_after_edits_leave_what_a_whole_build_writes() {
    let fixture = Fixture::new();
    fixture.write("site.toml", SMALL_SITE);
    fill_per_month(&fixture, 90, 30);
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("site");
    let incremental = |what: &str| {
        common::build_site(fixture.path(), &out, &[]);
        let whole = root
            .path()
            .join(format!("whole-{}", what.replace(' ', "-")));
        build(fixture.path(), &whole);
        assert_eq!(changed(&out, &whole), Vec::<String>::new(), "after: {what}");
    };
    incremental("first build");
    // Each edit: files written (with their text) or removed (`None`).
    let write = |name: &str, title: &str, date: &str, category: &str| {
        (
            format!("2024/{name}.md"),
            Some(record(title, date, &[category])),
        )
    };
    let edits = [
        (
            "a new record",
            vec![write("neu", "Neu", "20.03.2024 10:00", "Kultur")],
        ),
        (
            "a record moved to another month",
            vec![write("neu", "Neu", "02.01.2024 10:00", "Kultur")],
        ),
        (
            "new categories",
            vec![write("m0010", "Meldung 10", "26.01.2024 18:10", "Jugend")],
        ),
        (
            "a category renamed by its newest record",
            vec![write("m0089", "Meldung 89", "31.03.2024 23:00", "KULTUR")],
        ),
        (
            "a month emptied",
            (30..60)
                .map(|i| (format!("2024/m{i:04}.md"), None))
                .collect(),
        ),
    ];
    for (what, files) in &edits {
        for (name, text) in files {
            match text {
                Some(text) => fixture.record(name, text),
                None => std::fs::remove_file(fixture.path().join("articles").join(name)).unwrap(),
            }
        }
        incremental(what);
        if what.starts_with("a category renamed") {
            // The edit did rename it: the category's feed has the new name.
            let feed = std::fs::read_to_string(out.join("kategorie/kultur/feed.rss")).unwrap();
            assert!(feed.contains("– KULTUR</title>"), "{feed}");
        }
    }
    // A record scheduled a few seconds ahead, taken just now: both builds
    // after it must run before its time (the edits above may take seconds
    // on a loaded machine, and a whole build after the time would differ).
    let time = chrono::Local::now() + chrono::Duration::seconds(6);
    let soon = time.to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
    let (name, text) = write("bald", "Bald", &soon, "Kultur");
    fixture.record(&name, text.as_deref().unwrap());
    incremental("a scheduled record");
    assert!(chrono::Local::now() < time, "the builds took too long");
    // The scheduled record's time comes: the next build publishes it.
    let wait = time - chrono::Local::now() + chrono::Duration::seconds(1);
    std::thread::sleep(wait.to_std().unwrap_or_default());
    incremental("the scheduled record's time");
    assert!(std::fs::read_to_string(out.join("feed.rss"))
        .unwrap()
        .contains("Bald"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cold_archives_answer_304_without_rendering() {
    let feeds = common::shipped_feeds();
    let server = Running::start(&feeds).await;
    // The ETag every replica gives this archive, computed from the records
    // alone: no replica needs to have rendered it.
    let store = Arc::new(ArticleStore::memory());
    let index = Library::open(&feeds, store).index().unwrap();
    let key = stadtfeed::site::key::route("archiv/2022/01/feed.rss").unwrap();
    let stadtfeed::site::key::Route::Doc(key) = key else {
        panic!("not a document")
    };
    let plan = Plan::of(&index, &key).unwrap();
    let hex: String = plan
        .fingerprint(&index)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let etag = format!("\"{hex}\"");

    let cached = |server: &Running| {
        server.context.cache.run_pending_tasks();
        server.context.cache.entry_count()
    };
    assert_eq!(cached(&server), 0);
    let reply = server
        .get("/archiv/2022/01/feed.rss", &[("if-none-match", &etag)])
        .await;
    assert_eq!(reply.status, StatusCode::NOT_MODIFIED);
    assert_eq!(reply.header("etag"), etag);
    assert_eq!(reply.header("cache-control"), LONG_CACHE);
    assert_eq!(cached(&server), 0, "a 304 rendered the document");

    let full = server.get("/archiv/2022/01/feed.rss", &[]).await;
    assert_eq!(full.status, StatusCode::OK);
    assert_eq!(full.header("etag"), etag);
    assert_eq!(cached(&server), 1);
    let (published, _) = common::publish_dir(&feeds);
    assert_eq!(
        full.body,
        published.documents["archiv/2022/01/feed.rss"].body
    );
    // A cold document is compressed as requests ask: the plain request
    // made no compressed form, a gzip one makes gzip only, a brotli one
    // then adds brotli; each is the same document.
    let forms = |server: &Running| {
        let document = server.context.cache.get(&plan.fingerprint(&index)).unwrap();
        (document.has(Encoding::Brotli), document.has(Encoding::Gzip))
    };
    assert_eq!(forms(&server), (false, false));
    let gzip = server
        .get("/archiv/2022/01/feed.rss", &[("accept-encoding", "gzip")])
        .await;
    assert_eq!(gzip.header("content-encoding"), "gzip");
    assert_eq!(common::server::gunzip(&gzip.body), full.body);
    assert_eq!(forms(&server), (false, true));
    let br = server
        .get("/archiv/2022/01/feed.rss", &[("accept-encoding", "br")])
        .await;
    assert_eq!(br.header("content-encoding"), "br");
    assert_eq!(common::server::unbrotli(&br.body), full.body);
    assert_eq!(forms(&server), (true, true));
    // While one request makes a cached document's form, another asking
    // for it is sent identity rather than taking a blocking thread too.
    let atom = server.get("/archiv/2022/01/feed.atom", &[]).await;
    let atom_key = match stadtfeed::site::key::route("archiv/2022/01/feed.atom") {
        Some(stadtfeed::site::key::Route::Doc(key)) => key,
        _ => panic!("not a document"),
    };
    let atom_fingerprint = Plan::of(&index, &atom_key).unwrap().fingerprint(&index);
    let cached_atom = server.context.cache.get(&atom_fingerprint).unwrap();
    assert!(cached_atom.first_to_ask(Encoding::Brotli));
    let meanwhile = server
        .get("/archiv/2022/01/feed.atom", &[("accept-encoding", "br")])
        .await;
    assert_eq!(meanwhile.status, StatusCode::OK);
    assert!(meanwhile.headers.get("content-encoding").is_none());
    assert_eq!(meanwhile.body, atom.body);
    assert_eq!(meanwhile.header("etag"), atom.header("etag"));
    assert!(!cached_atom.has(Encoding::Brotli));

    // The newest archive may still grow: short caching.
    let newest = server.get("/archiv/2022/11/feed.rss", &[]).await;
    assert_eq!(newest.header("cache-control"), "public, max-age=300");
    // The paged URLs of earlier versions lead to the subscription document.
    let old = server.get("/kategorie/kultur/feed-2.atom", &[]).await;
    assert_eq!(old.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(old.header("location"), "/kategorie/kultur/feed.atom");
    // Months and parts that do not exist are 404.
    for path in [
        "/archiv/2022/02/feed.rss",
        "/archiv/2022/01/teil-2/feed.rss",
    ] {
        assert_eq!(
            server.get(path, &[]).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let key_path = DocKey::ArchiveIndex(stadtfeed::index::Scope::Site).link_path();
    assert_eq!(
        server.get(&format!("/{key_path}"), &[]).await.status,
        StatusCode::OK
    );
    server.stop().await;
}

#[test]
fn a_build_killed_at_any_moment_leaves_every_file_whole() {
    let fixture = Fixture::new();
    fixture.write("site.toml", SMALL_SITE);
    fill_per_month(&fixture, 2000, 100);
    let out = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let run_build = || {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_stadtfeed"));
        command
            .args(["build", "--feeds"])
            .arg(fixture.path())
            .arg("--out")
            .arg(out.path())
            .arg("--cache-dir")
            .arg(state.path())
            .stderr(std::process::Stdio::null());
        command
    };
    assert!(run_build().status().unwrap().success());
    let old = files(out.path());
    // The new site: every record's text changed, so every document changes.
    for entry in walkdir::WalkDir::new(fixture.path().join("articles")) {
        let entry = entry.unwrap();
        if entry.file_type().is_file() {
            let text = std::fs::read_to_string(entry.path()).unwrap();
            std::fs::write(entry.path(), text.replace("Text von", "Neuer Text von")).unwrap();
        }
    }
    let reference = tempfile::tempdir().unwrap();
    build(fixture.path(), reference.path());
    let new = files(reference.path());
    for delay_ms in [5, 40, 120, 300, 700] {
        let mut child = run_build().spawn().unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        for (path, bytes) in files(out.path()) {
            if path.ends_with(".stadtfeed-tmp") {
                continue; // a temporary file is never a published name
            }
            assert!(
                old.get(&path) == Some(&bytes) || new.get(&path) == Some(&bytes),
                "{path} is neither the old nor the new file after a kill at {delay_ms} ms"
            );
        }
    }
    // And a build that runs to the end gives the new site exactly, without
    // the temporary files of the killed ones.
    assert!(run_build().status().unwrap().success());
    let done = files(out.path());
    assert!(
        done.keys().all(|path| !path.ends_with(".stadtfeed-tmp")),
        "temporary files left behind"
    );
    for (path, bytes) in &new {
        assert_eq!(done.get(path), Some(bytes), "{path}");
    }
}

#[test]
fn the_sitemap_lists_every_article_and_page_and_robots_names_it() {
    let fixture = small_fixture(120);
    let site = common::open(fixture.path()).unwrap();
    let text = |path: &str| String::from_utf8(site.documents[path].body.to_vec()).unwrap();
    assert!(text("robots.txt").contains("Sitemap: https://www.teststadt.de/feeds/sitemap.xml"));
    let locs = |xml: &str| -> Vec<String> {
        xml.split("<loc>")
            .skip(1)
            .map(|rest| rest.split("</loc>").next().unwrap().to_owned())
            .collect()
    };
    let mut listed = BTreeSet::new();
    let index = text("sitemap.xml");
    assert!(index.contains("<sitemapindex"));
    for part in locs(&index) {
        let part = part
            .strip_prefix("https://www.teststadt.de/feeds/")
            .unwrap();
        let xml = text(part);
        assert!(
            xml.contains("<urlset") && xml.contains("<lastmod>"),
            "{part}"
        );
        listed.extend(locs(&xml));
    }
    for article in &site.articles {
        let url = format!("https://www.teststadt.de/feeds/artikel/{}/", article.id);
        assert!(listed.contains(&url), "{url} missing from the sitemap");
    }
    for page in [
        "",
        "archiv/",
        "archiv/2024/03/",
        "kategorie/kultur/",
        "kategorie/kultur/archiv/",
    ] {
        let url = format!("https://www.teststadt.de/feeds/{page}");
        assert!(listed.contains(&url), "{url} missing from the sitemap");
    }
}

/// Every link target of an HTML page, resolved against its path.
fn links_of(page_path: &str, html: &str) -> Vec<String> {
    let folder = match page_path.rfind('/') {
        Some(i) => &page_path[..=i],
        None => "",
    };
    html.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|href| {
            !href.contains("://") && !href.starts_with("mailto:") && !href.starts_with('#')
        })
        .map(|href| {
            let href = href.split('#').next().unwrap_or_default();
            let mut parts: Vec<&str> = folder.split('/').filter(|p| !p.is_empty()).collect();
            for segment in href.split('/') {
                match segment {
                    ".." => {
                        parts.pop();
                    }
                    "." | "" => {}
                    s => parts.push(s),
                }
            }
            let mut path = parts.join("/");
            if href.ends_with('/') || href.is_empty() {
                if !path.is_empty() {
                    path.push('/');
                }
                path.push_str("index.html");
            }
            path
        })
        .collect()
}

#[test]
fn every_article_is_reached_from_the_start_page_within_four_clicks() {
    let fixture = Fixture::new();
    fixture.write("site.toml", SMALL_SITE.replace("items = 5", "items = 50"));
    fill_per_month(&fixture, 500, 40);
    let site = common::open(fixture.path()).unwrap();
    let mut depth: BTreeMap<String, usize> = BTreeMap::from([("index.html".to_owned(), 0)]);
    let mut queue = std::collections::VecDeque::from(["index.html".to_owned()]);
    while let Some(page) = queue.pop_front() {
        let Some(document) = site.documents.get(&page) else {
            continue;
        };
        if !page.ends_with(".html") {
            continue;
        }
        let clicks = depth[&page];
        for target in links_of(&page, &String::from_utf8_lossy(&document.body)) {
            if !depth.contains_key(&target) {
                depth.insert(target.clone(), clicks + 1);
                queue.push_back(target);
            }
        }
    }
    let mut deepest = 0;
    for article in &site.articles {
        let page = format!("artikel/{}/index.html", article.id);
        let clicks = depth
            .get(&page)
            .unwrap_or_else(|| panic!("{page} is not reached"));
        deepest = deepest.max(*clicks);
    }
    eprintln!(
        "{} articles reached, at most {deepest} clicks",
        site.articles.len()
    );
    assert!(deepest <= 4, "{deepest} clicks");
    // Every internal link leads to a page that exists.
    for target in depth.keys() {
        assert!(
            site.documents.contains_key(target),
            "a link leads to {target}, which is not there"
        );
    }
}

#[test]
fn a_record_older_than_every_subscription_document_is_told_apart() {
    let fixture = small_fixture(40);
    let store = Arc::new(ArticleStore::memory());
    let index = Library::open(fixture.path(), store).index().unwrap();
    let id = |name: &str| stadtfeed::model::ArticleId::new(name).unwrap();
    // The newest is in the site feed; the oldest is beyond the newest five
    // of the site and of both its categories: no subscriber sees it.
    assert!(index.in_a_subscription_feed(&id("m0039")));
    assert!(!index.in_a_subscription_feed(&id("m0000")));
}
