//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use stadtfeed::content::Library;
use stadtfeed::site::{publish, PublishedSite};

/// The shipped example content.
pub fn shipped_feeds() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("feeds")
}

/// Publishes a content directory the way `build` and `serve` do; panics
/// when the directory has no usable site.toml.
pub fn publish_dir(dir: &Path) -> (PublishedSite, Vec<String>) {
    let library = Library::open(dir);
    let snapshot = library.snapshot().expect("site.toml loads");
    let problems = snapshot.problems.iter().map(ToString::to_string).collect();
    (publish(&snapshot.site), problems)
}

/// The body of one document as text.
pub fn text(site: &PublishedSite, path: &str) -> String {
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

/// A minimal good record.
pub fn good_record(title: &str, date: &str) -> String {
    format!("+++\ntitle = \"{title}\"\ndate = \"{date}\"\ncategories = [\"Kultur\"]\n+++\nText von {title}.\n")
}
pub mod server;
