//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use stadtfeed::content::store::ArticleStore;
use stadtfeed::content::{Library, Problem};
use stadtfeed::index::Scope;
use stadtfeed::model::Article;
use stadtfeed::site::key::DocKey;
use stadtfeed::site::plan::Plan;

/// The configuration of a test town, as `site.toml` would give it.
pub fn test_config() -> stadtfeed::model::SiteConfig {
    stadtfeed::model::SiteConfig {
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

/// The shipped example content.
pub fn shipped_feeds() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("feeds")
}

/// One published document.
#[derive(Debug, PartialEq)]
pub struct Doc {
    pub content_type: String,
    pub body: Bytes,
}

/// A content directory read and rendered whole, the way `build` does.
#[derive(Debug, PartialEq)]
pub struct Published {
    /// Published articles, newest first.
    pub articles: Vec<Arc<Article>>,
    /// Every problem, in file order.
    pub problems: Vec<Problem>,
    /// Every document by path.
    pub documents: BTreeMap<String, Doc>,
}

/// Reads and renders a content directory; `Err` when it has no usable site.toml.
pub fn open(dir: &Path) -> Result<Published, Problem> {
    let store = Arc::new(ArticleStore::memory());
    let library = Library::open(dir, Arc::clone(&store));
    let index = library.index()?;
    let articles = index
        .feed(&Scope::Site)
        .map(|feed| {
            feed.newest(feed.len())
                .map(|summary| store.get(&summary.hash).unwrap())
                .collect()
        })
        .unwrap_or_default();
    let documents = stadtfeed::site::all_keys(&index)
        .into_iter()
        .map(|key: DocKey| {
            let plan = Plan::of(&index, &key).expect("every key has a plan");
            let body = stadtfeed::site::render(&index, &store, &key, &plan).expect("renders");
            let content_type = stadtfeed::site::content_type_of(&index, &key).to_owned();
            (key.path(), Doc { content_type, body })
        })
        .collect();
    Ok(Published {
        articles,
        problems: library.problems(),
        documents,
    })
}

/// Publishes a content directory the way `build` and `serve` do; panics
/// when the directory has no usable site.toml.
pub fn publish_dir(dir: &Path) -> (Published, Vec<String>) {
    let published = open(dir).expect("site.toml loads");
    let problems = published.problems.iter().map(ToString::to_string).collect();
    (published, problems)
}

/// The body of one document as text.
pub fn text(site: &Published, path: &str) -> String {
    let document = site
        .documents
        .get(path)
        .unwrap_or_else(|| panic!("no document {path}"));
    String::from_utf8(document.body.to_vec()).expect("documents are UTF-8")
}

/// A content directory in a temporary folder: the given site.toml, and
/// `media/` copied from the shipped example.
pub struct Fixture {
    pub dir: tempfile::TempDir,
}

pub const SITE_TOML: &str = r#"
title = "Teststadt – Meldungen"
description = "Nachrichten aus der Teststadt"
base_url = "https://www.teststadt.de/feeds"
author = "Stadt Teststadt"
items = 50
"#;

impl Fixture {
    pub fn new() -> Fixture {
        let fixture = Fixture {
            dir: tempfile::tempdir().expect("temp dir"),
        };
        fixture.write("site.toml", SITE_TOML);
        std::fs::create_dir_all(fixture.path().join("articles")).unwrap();
        let media = fixture.path().join("media");
        std::fs::create_dir_all(media.join("2022")).unwrap();
        for file in [
            "2022/werdau-videokonferenz.jpg",
            "2022/freibad-saisonstart.png",
            "logo.png",
        ] {
            std::fs::copy(shipped_feeds().join("media").join(file), media.join(file)).unwrap();
        }
        fixture
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file relative to the content directory.
    pub fn write(&self, relative: &str, contents: impl AsRef<[u8]>) {
        let path = self.path().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }

    /// Writes a record under `articles/`.
    pub fn record(&self, name: &str, contents: &str) {
        self.write(&format!("articles/{name}"), contents);
    }
}

/// Runs `stadtfeed build` of `feeds` into `out` (state beside it, as
/// `out.state`) with `extra` arguments; panics unless it succeeds.
pub fn build_site(feeds: &Path, out: &Path, extra: &[&str]) {
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_stadtfeed"))
        .arg("build")
        .args(extra)
        .arg("--feeds")
        .arg(feeds)
        .arg("--out")
        .arg(out)
        .arg("--cache-dir")
        .arg(out.with_extension("state"))
        .status()
        .unwrap();
    assert!(status.success());
}

/// A minimal good record.
pub fn good_record(title: &str, date: &str) -> String {
    format!("+++\ntitle = \"{title}\"\ndate = \"{date}\"\ncategories = [\"Kultur\"]\n+++\nText von {title}.\n")
}
pub mod s3;
pub mod server;

/// A text construct as a reader shows it: HTML-typed text (Atom
/// `type="html"`, RSS `description`) decoded once more, plain text as is.
pub fn reader_text(text: &feed_rs::model::Text) -> String {
    if text.content_type.essence().to_string() == "text/html" {
        quick_xml::escape::unescape(&text.content)
            .map(|t| t.into_owned())
            .unwrap_or_else(|_| text.content.clone())
    } else {
        text.content.clone()
    }
}
