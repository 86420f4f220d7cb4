//! Which documents a change between two indexes can reach: what `build`,
//! `publish` and `serve --publish-to` plan again instead of all of them.
//! The rule repeats what [`Plan::of`](super::plan::Plan::of) reads; the
//! tests compare it with planning everything (see ARCHITECTURE.md).

use rustc_hash::FxHashSet;
use std::sync::Arc;

use super::key::{DocKey, SitemapPart};
use super::month_keys;
use crate::index::{Index, Month, Scope, Summary};
use crate::render::Format;

/// The documents to plan again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// Every document (the configuration changed, or nothing is known of
    /// the last run).
    Everything,
    /// Only these: every document whose plan or headers may differ, in
    /// either index (a key may name a document that no longer exists).
    Keys(FxHashSet<DocKey>),
}

impl Reach {
    /// Whether `key` is to be planned again.
    pub fn contains(&self, key: &DocKey) -> bool {
        match self {
            Reach::Everything => true,
            Reach::Keys(keys) => keys.contains(key),
        }
    }
}

/// The documents whose bytes or headers may differ between the site of
/// `before` and the site of `after`.
pub fn reach(before: &Index, after: &Index) -> Reach {
    // The configuration is in every document (and `max_age` in the
    // headers of most).
    if before.config() != after.config() {
        return Reach::Everything;
    }
    let mut keys = FxHashSet::default();
    let media = before.media_changes(after);
    keys.extend(media.iter().map(|path| DocKey::Media((*path).to_owned())));
    if !media.is_empty() {
        // The logo may be among them.
        keys.insert(DocKey::Favicon);
    }
    let records = before.record_changes(after);
    if records.is_empty() {
        return Reach::Keys(keys);
    }
    for (old, new) in &records {
        for (index, summary) in [(before, old), (after, new)] {
            if let Some(summary) = summary {
                around_record(index, summary, &mut keys);
            }
        }
    }
    // A category's name is that of its newest entry: it is in the title
    // of every document of the category.
    let scopes: FxHashSet<&Scope> = before.scopes().chain(after.scopes()).collect();
    for scope in scopes {
        if let Scope::Category(slug) = scope {
            if before.category_name(slug) != after.category_name(slug) {
                for index in [before, after] {
                    every_document_of(index, scope, &mut keys);
                }
            }
        }
    }
    for index in [before, after] {
        site_wide(index, &mut keys);
    }
    Reach::Keys(keys)
}

/// What shows or links to one version of a record in `index`.
fn around_record(index: &Index, summary: &Arc<Summary>, keys: &mut FxHashSet<DocKey>) {
    keys.insert(DocKey::Article(summary.id.clone()));
    let month = Month::of(&summary.published);
    keys.insert(DocKey::Sitemap(SitemapPart::Year(month.year)));
    for scope in summary.scopes() {
        let Some(feed) = index.feed(&scope) else {
            continue;
        };
        // Article pages name their neighbours in the site feed, and the
        // three older entries of their first category.
        let (newer, older) = match scope {
            Scope::Site => (feed.newer(summary, 1), feed.around(summary, 1).1),
            Scope::Category(_) => (feed.newer(summary, 3), Vec::new()),
        };
        for neighbour in newer.into_iter().chain(older) {
            keys.insert(DocKey::Article(neighbour.id.clone()));
        }
        // The month's archive parts and page, and its neighbours' (their
        // links to it, and their own part count when it comes or goes).
        let (previous, next) = feed.neighbour_months(month);
        for month in [Some(month), previous, next].into_iter().flatten() {
            keys.extend(month_keys(&scope, month, feed.parts(month)));
        }
    }
}

/// Every document of one feed.
fn every_document_of(index: &Index, scope: &Scope, keys: &mut FxHashSet<DocKey>) {
    if let Some(feed) = index.feed(scope) {
        for (month, _) in feed.months() {
            keys.extend(month_keys(scope, month, feed.parts(month)));
        }
    }
    feed_documents(scope, keys);
}

/// The documents of a feed that show its newest entries or all its months.
fn feed_documents(scope: &Scope, keys: &mut FxHashSet<DocKey>) {
    for format in Format::ALL {
        keys.insert(DocKey::Feed {
            scope: scope.clone(),
            format,
        });
    }
    keys.insert(DocKey::FrontPage(scope.clone()));
    keys.insert(DocKey::ArchiveIndex(scope.clone()));
}

/// The documents any change of a record can reach: each feed's newest,
/// and the lists of the whole site.
fn site_wide(index: &Index, keys: &mut FxHashSet<DocKey>) {
    for scope in index.scopes() {
        feed_documents(scope, keys);
    }
    keys.extend([
        DocKey::Opml,
        DocKey::NotFound,
        DocKey::Robots,
        DocKey::Subscribe,
        DocKey::Favicon,
        DocKey::Sitemap(SitemapPart::Index),
        DocKey::Sitemap(SitemapPart::Pages),
    ]);
}
