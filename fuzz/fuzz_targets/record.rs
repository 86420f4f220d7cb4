//! A record file of arbitrary bytes: read or refused, never a panic, in
//! time linear in its size (libFuzzer's -timeout catches the rest); what
//! is read renders to well-formed documents.
#![no_main]

use std::path::Path;
use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use stadtfeed::content::image::MeasuredImages;
use stadtfeed::content::record::{self, Record};
use stadtfeed::content::store::ArticleStore;
use stadtfeed::index::{Index, Summary};

#[path = "common.rs"]
mod common;

fuzz_target!(|bytes: &[u8]| {
    let now = "2026-11-25T12:00:00Z".parse().unwrap();
    let parsed = record::parse(Path::new("/nonexistent"), Path::new("articles/x.md"), bytes, &common::config(), now, &MeasuredImages::default());
    if let Ok(Record::Article { article, .. }) = parsed {
        let store = ArticleStore::memory();
        let mut index = Index::new(common::config());
        index.insert(Arc::new(Summary::of(&article.article, store.put(&article))));
        for (path, body) in stadtfeed::site::render_all(&index, &store) {
            common::check_document(&path, &body);
        }
    }
});
