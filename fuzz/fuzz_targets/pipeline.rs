//! Arbitrary structured records (titles, dates, categories, bodies) through
//! the whole pipeline: every document of the site renders well-formed.
#![no_main]

use std::path::Path;
use std::sync::Arc;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use stadtfeed::content::image::MeasuredImages;
use stadtfeed::content::record::{self, Record};
use stadtfeed::content::store::ArticleStore;
use stadtfeed::index::{Index, Summary};

#[path = "common.rs"]
mod common;

#[derive(Arbitrary, Debug)]
struct Input {
    title: String,
    summary: Option<String>,
    author: Option<String>,
    /// Minutes since 2016-01-01, so that dates land in many months.
    minutes: u32,
    categories: Vec<String>,
    body: String,
    id: Option<String>,
}

fuzz_target!(|records: Vec<Input>| {
    let now = "2026-11-25T12:00:00Z".parse().unwrap();
    let store = ArticleStore::memory();
    let mut index = Index::new(common::config());
    let start = chrono::DateTime::parse_from_rfc3339("2016-01-01T00:00:00+01:00").unwrap();
    for (n, input) in records.iter().take(64).enumerate() {
        let date = start + chrono::Duration::minutes(i64::from(input.minutes % 5_000_000));
        let mut text = format!(
            "+++\ntitle = {}\ndate = \"{}\"\ncategories = [{}]\n",
            toml::Value::String(input.title.clone()),
            date.to_rfc3339(),
            input
                .categories
                .iter()
                .map(|c| toml::Value::String(c.clone()).to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        if let Some(summary) = &input.summary {
            text.push_str(&format!("summary = {}\n", toml::Value::String(summary.clone())));
        }
        if let Some(author) = &input.author {
            text.push_str(&format!("author = {}\n", toml::Value::String(author.clone())));
        }
        if let Some(id) = &input.id {
            text.push_str(&format!("id = {}\n", toml::Value::String(id.clone())));
        }
        text.push_str("+++\n");
        text.push_str(&input.body);
        let path = format!("articles/r{n}.md");
        if let Ok(Record::Article { article, .. }) =
            record::parse(Path::new("/nonexistent"), Path::new(&path), text.as_bytes(), &common::config(), now, &MeasuredImages::default())
        {
            index.insert(Arc::new(Summary::of(&article.article, store.put(&article))));
        }
    }
    for (path, body) in stadtfeed::site::render_all(&index, &store) {
        common::check_document(&path, &body);
    }
});
