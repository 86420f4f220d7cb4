//! What is published, in the order feeds show it: a summary of every
//! published record (no text), ordered per feed (the site, each category)
//! and counted per month. Every document's plan is computed from here.
//!
//! The maps are persistent (`imbl`): a clone costs nothing and shares every
//! node until one side changes, so a reload edits a copy while requests
//! read the current one.

mod feed;
mod summary;

pub use feed::{ArchivePart, EntryKey, FeedIndex, Month, ARCHIVE_PART_SIZE};
pub use summary::Summary;

use std::path::Path;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use chrono::{DateTime, FixedOffset, Utc};
use imbl::OrdMap;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::model::{ArticleId, CategorySlug, MediaFile, SiteConfig};

/// A feed: the whole site, or one category.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Scope {
    /// Every article.
    Site,
    /// The articles of one category.
    Category(CategorySlug),
}

impl Scope {
    /// URL path prefix of the scope's documents: `""` or `"kategorie/<slug>/"`.
    pub fn dir(&self) -> String {
        match self {
            Scope::Site => String::new(),
            Scope::Category(slug) => format!("kategorie/{slug}/"),
        }
    }
}

/// A record as one index has it and as another has it (`None`: not
/// published there).
pub type RecordChange<'a> = (Option<&'a Arc<Summary>>, Option<&'a Arc<Summary>>);

/// Everything that is published, for one configuration.
#[derive(Debug, Clone)]
pub struct Index {
    config: Arc<SiteConfig>,
    config_hash: [u8; 16],
    records: OrdMap<ArticleId, Arc<Summary>>,
    feeds: OrdMap<Scope, FeedIndex>,
    media: OrdMap<String, Arc<MediaFile>>,
    /// The mtimes of the folders that hold records, and of `site.toml`.
    folders: OrdMap<Arc<Path>, DateTime<Utc>>,
    config_modified: DateTime<Utc>,
}

impl Index {
    /// An empty site with `config`.
    pub fn new(config: SiteConfig) -> Index {
        let config_hash = config.content_fingerprint();
        Index {
            config: Arc::new(config),
            config_hash,
            records: OrdMap::new(),
            feeds: OrdMap::unit(Scope::Site, FeedIndex::default()),
            media: OrdMap::new(),
            folders: OrdMap::new(),
            config_modified: DateTime::UNIX_EPOCH,
        }
    }

    /// Notes the mtime of a folder that holds (or held) records.
    pub fn set_folder_modified(&mut self, folder: Arc<Path>, modified: DateTime<Utc>) {
        self.folders.insert(folder, modified);
    }

    /// Notes the mtime of `site.toml`.
    pub fn set_config_modified(&mut self, modified: DateTime<Utc>) {
        self.config_modified = modified;
    }

    /// When `site.toml` last changed.
    pub fn config_modified(&self) -> DateTime<Utc> {
        self.config_modified
    }

    /// The mtime of a folder holding records (the epoch when unknown).
    pub fn folder_modified(&self, folder: &Path) -> DateTime<Utc> {
        self.folders
            .get(folder)
            .copied()
            .unwrap_or(DateTime::UNIX_EPOCH)
    }

    /// The newest change of anything records are read from: a record
    /// added, changed or deleted anywhere, or `site.toml`.
    pub fn content_modified(&self) -> DateTime<Utc> {
        self.folders
            .values()
            .copied()
            .chain([self.config_modified])
            .max()
            .unwrap_or(DateTime::UNIX_EPOCH)
    }

    /// The site's configuration.
    pub fn config(&self) -> &SiteConfig {
        &self.config
    }

    /// A hash of the configuration, part of every fingerprint.
    pub fn config_hash(&self) -> &[u8; 16] {
        &self.config_hash
    }

    /// Publishes `summary`, replacing the record with the same id.
    pub fn insert(&mut self, summary: Arc<Summary>) {
        self.remove(&summary.id);
        let key = EntryKey::of(&summary);
        for scope in summary.scopes() {
            self.feeds
                .entry(scope)
                .or_default()
                .insert(key.clone(), Arc::clone(&summary));
        }
        self.records.insert(summary.id.clone(), summary);
    }

    /// Publishes many records at once, as [`insert`](Index::insert) one by
    /// one would: each feed is built from its entries sorted, the feeds and
    /// the id map in parallel (a restore inserted each record into several
    /// maps one at a time).
    pub fn insert_all(&mut self, summaries: Vec<Arc<Summary>>) {
        if !self.records.is_empty() {
            for summary in summaries {
                self.insert(summary);
            }
            return;
        }
        let mut by_scope: FxHashMap<Scope, Vec<(EntryKey, Arc<Summary>)>> = FxHashMap::default();
        for summary in &summaries {
            let key = EntryKey::of(summary);
            for scope in summary.scopes() {
                by_scope
                    .entry(scope)
                    .or_default()
                    .push((key.clone(), Arc::clone(summary)));
            }
        }
        let (feeds, records) = rayon::join(
            || {
                by_scope
                    .into_par_iter()
                    .map(|(scope, mut entries)| {
                        entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
                        (scope, FeedIndex::from_sorted(entries))
                    })
                    .collect::<Vec<_>>()
            },
            || {
                // In order, each insertion follows the last one's path
                // down the tree (a quarter less time at 100 000).
                let mut summaries = summaries;
                summaries.sort_unstable_by(|a, b| a.id.cmp(&b.id));
                summaries
                    .into_iter()
                    .map(|summary| (summary.id.clone(), summary))
                    .collect::<OrdMap<_, _>>()
            },
        );
        for (scope, feed) in feeds {
            self.feeds.insert(scope, feed);
        }
        self.records = records;
    }

    /// Withdraws the record with that id, if published.
    pub fn remove(&mut self, id: &ArticleId) {
        let Some(old) = self.records.remove(id) else {
            return;
        };
        let key = EntryKey::of(&old);
        for scope in old.scopes() {
            if let Some(feed) = self.feeds.get_mut(&scope) {
                feed.remove(&key);
                if feed.is_empty() && scope != Scope::Site {
                    self.feeds.remove(&scope);
                }
            }
        }
    }

    /// The published record with that id.
    pub fn get(&self, id: &ArticleId) -> Option<&Arc<Summary>> {
        self.records.get(id)
    }

    /// How many records are published.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether nothing is published.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Every published record, by id.
    pub fn records(&self) -> impl Iterator<Item = &Arc<Summary>> {
        self.records.values()
    }

    /// The site feed, then every category feed by slug.
    pub fn scopes(&self) -> impl Iterator<Item = &Scope> {
        self.feeds.keys()
    }

    /// One feed's entries; `None` for a category without articles.
    pub fn feed(&self, scope: &Scope) -> Option<&FeedIndex> {
        self.feeds.get(scope)
    }

    /// Whether the record `id` is among the newest `items` entries of the
    /// site feed or of one of its categories: whether subscribers see it.
    pub fn in_a_subscription_feed(&self, id: &ArticleId) -> bool {
        let Some(summary) = self.records.get(id) else {
            return false;
        };
        let items = self.config.items_per_page;
        summary.scopes().any(|scope| {
            self.feeds
                .get(&scope)
                .is_some_and(|feed| feed.newest(items).any(|newest| &newest.id == id))
        })
    }

    /// The name of a category as its newest article spells it.
    pub fn category_name(&self, slug: &CategorySlug) -> Option<&str> {
        let feed = self.feeds.get(&Scope::Category(slug.clone()))?;
        feed.newest(1)
            .next()?
            .categories
            .iter()
            .find(|c| &c.slug == slug)
            .map(|c| &*c.name)
    }

    /// The newest change among `summaries` (for documents' dates); the Unix epoch
    /// in the site's zone for none, so an empty feed stays deterministic.
    pub fn newest_change<'a>(
        &self,
        summaries: impl IntoIterator<Item = &'a Arc<Summary>>,
    ) -> DateTime<FixedOffset> {
        summaries
            .into_iter()
            .map(|s| s.last_change())
            .max()
            .unwrap_or_else(|| {
                DateTime::UNIX_EPOCH
                    .with_timezone(&self.config.timezone)
                    .fixed_offset()
            })
    }

    /// Publishes or replaces a media file.
    pub fn set_media(&mut self, file: MediaFile) {
        self.media.insert(file.url_path.clone(), Arc::new(file));
    }

    /// Withdraws a media file.
    pub fn remove_media(&mut self, url_path: &str) {
        self.media.remove(url_path);
    }

    /// The media file published at `url_path`.
    pub fn media(&self, url_path: &str) -> Option<&Arc<MediaFile>> {
        self.media.get(url_path)
    }

    /// The records published in only one of `self` and `other`, or in
    /// both in different versions: (this one's, the other's). Nodes the
    /// two share are skipped, so an index and its edited copy compare in
    /// what changed.
    pub fn record_changes<'a>(&'a self, other: &'a Index) -> Vec<RecordChange<'a>> {
        use imbl::ordmap::DiffItem;
        self.records
            .diff(&other.records)
            .map(|item| match item {
                DiffItem::Add(_, new) => (None, Some(new)),
                DiffItem::Update {
                    old: (_, old),
                    new: (_, new),
                } => (Some(old), Some(new)),
                DiffItem::Remove(_, old) => (Some(old), None),
            })
            .collect()
    }

    /// The URL paths of media files added, removed or changed between
    /// `self` and `other`.
    pub fn media_changes<'a>(&'a self, other: &'a Index) -> Vec<&'a str> {
        use imbl::ordmap::DiffItem;
        self.media
            .diff(&other.media)
            .map(|item| match item {
                DiffItem::Add(path, _) | DiffItem::Remove(path, _) => path.as_str(),
                DiffItem::Update { new: (path, _), .. } => path.as_str(),
            })
            .collect()
    }

    /// Every media file, by URL path.
    pub fn media_files(&self) -> impl Iterator<Item = &Arc<MediaFile>> {
        self.media.values()
    }
}
