//! What is published, in the order feeds show it: a summary of every
//! published record (no text), ordered per feed (the site, each category)
//! and counted per month. Every document's plan is computed from here.
//!
//! The maps are persistent (`imbl`): a clone costs nothing and shares every
//! node until one side changes, so a reload edits a copy while requests
//! read the current one.

use std::cmp::Reverse;
use std::path::Path;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use chrono::{DateTime, Datelike, FixedOffset, Utc};
use imbl::OrdMap;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::content::store::ArticleHash;
use crate::model::{ArticleId, Category, CategorySlug, MediaFile, SiteConfig};

/// Entries per archive document at most; a month with more is split into
/// parts, oldest first, each full before the next begins, so that a new
/// record of the month changes only its newest part.
pub const ARCHIVE_PART_SIZE: usize = 200;

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

/// A calendar month in the site's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Month {
    /// The year, e.g. 2022.
    pub year: i32,
    /// 1–12.
    pub month: u32,
}

impl Month {
    /// The month of a date in the site's offset (dates carry it already).
    pub fn of(date: &DateTime<FixedOffset>) -> Month {
        Month {
            year: date.year(),
            month: date.month(),
        }
    }

    /// The URL path segment `YYYY/MM`.
    pub fn path(&self) -> String {
        format!("{:04}/{:02}", self.year, self.month)
    }

    /// The month before.
    fn previous(self) -> Month {
        if self.month == 1 {
            Month {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Month {
                month: self.month - 1,
                ..self
            }
        }
    }
}

/// One archive document: a part (1-based) of a month of one feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ArchivePart {
    /// The month.
    pub month: Month,
    /// The part, 1 = the oldest entries.
    pub part: u32,
}

/// What memory keeps of a published record; the text is in the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Identity.
    pub id: ArticleId,
    /// First publication, in the site's offset.
    #[serde(with = "instant_as_numbers")]
    pub published: DateTime<FixedOffset>,
    /// Last change after publication, if any.
    #[serde(with = "instant_as_numbers::optional")]
    pub updated: Option<DateTime<FixedOffset>>,
    /// Its categories, in the record's order.
    pub categories: Vec<Category>,
    /// The article version in the store.
    pub hash: ArticleHash,
    /// The newest mtime of the record file and its image: an edit moves it.
    #[serde(with = "instant_as_numbers::utc")]
    pub file_modified: DateTime<Utc>,
    /// The folder of the record file (relative to the content directory):
    /// a deletion beside it moves that folder's mtime.
    pub folder: Arc<Path>,
}

impl Summary {
    /// The summary of `article`, stored under `hash`.
    pub fn of(article: &crate::model::Article, hash: ArticleHash) -> Summary {
        Summary {
            id: article.id.clone(),
            published: article.published,
            updated: article.updated,
            categories: article.categories.clone(),
            hash,
            file_modified: DateTime::UNIX_EPOCH,
            folder: Arc::from(Path::new("")),
        }
    }

    /// `updated`, else `published`.
    pub fn last_change(&self) -> DateTime<FixedOffset> {
        self.updated.unwrap_or(self.published)
    }

    /// Every feed the record appears in.
    pub fn scopes(&self) -> impl Iterator<Item = Scope> + '_ {
        std::iter::once(Scope::Site).chain(
            self.categories
                .iter()
                .map(|c| Scope::Category(c.slug.clone())),
        )
    }
}

/// A summary's instants as numbers (seconds, nanoseconds, offset) in the
/// saved state: chrono's text form made restoring 100 000 summaries parse
/// two or three dates each.
mod instant_as_numbers {
    use chrono::{DateTime, FixedOffset, Utc};
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    type Numbers = (i64, u32, i32);

    fn numbers(instant: &DateTime<FixedOffset>) -> Numbers {
        let offset = instant.offset().local_minus_utc();
        (
            instant.timestamp(),
            instant.timestamp_subsec_nanos(),
            offset,
        )
    }

    fn instant<E: serde::de::Error>(
        (secs, nanos, offset): Numbers,
    ) -> Result<DateTime<FixedOffset>, E> {
        let offset =
            FixedOffset::east_opt(offset).ok_or_else(|| E::custom("offset out of range"))?;
        DateTime::from_timestamp(secs, nanos)
            .map(|utc| utc.with_timezone(&offset))
            .ok_or_else(|| E::custom("instant out of range"))
    }

    pub fn serialize<S: Serializer>(
        value: &DateTime<FixedOffset>,
        to: S,
    ) -> Result<S::Ok, S::Error> {
        numbers(value).serialize(to)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        from: D,
    ) -> Result<DateTime<FixedOffset>, D::Error> {
        instant(Numbers::deserialize(from)?)
    }

    pub mod optional {
        use super::*;

        pub fn serialize<S: Serializer>(
            value: &Option<DateTime<FixedOffset>>,
            to: S,
        ) -> Result<S::Ok, S::Error> {
            value.as_ref().map(numbers).serialize(to)
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(
            from: D,
        ) -> Result<Option<DateTime<FixedOffset>>, D::Error> {
            Option::<Numbers>::deserialize(from)?
                .map(instant)
                .transpose()
        }
    }

    pub mod utc {
        use super::*;

        pub fn serialize<S: Serializer>(value: &DateTime<Utc>, to: S) -> Result<S::Ok, S::Error> {
            (value.timestamp(), value.timestamp_subsec_nanos()).serialize(to)
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(from: D) -> Result<DateTime<Utc>, D::Error> {
            let (secs, nanos) = <(i64, u32)>::deserialize(from)?;
            DateTime::from_timestamp(secs, nanos)
                .ok_or_else(|| D::Error::custom("instant out of range"))
        }
    }
}

/// The position of an entry in a feed: month and instant descending, then
/// id ascending, i.e. newest first with a deterministic tie-breaker.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct EntryKey {
    month: Reverse<Month>,
    instant: Reverse<i64>,
    /// The entry.
    pub id: ArticleId,
}

impl EntryKey {
    fn of(summary: &Summary) -> EntryKey {
        EntryKey {
            month: Reverse(Month::of(&summary.published)),
            instant: Reverse(summary.published.timestamp()),
            id: summary.id.clone(),
        }
    }

    /// The smallest key of a month: every entry of it sorts at or after it.
    fn month_start(month: Month) -> EntryKey {
        EntryKey {
            month: Reverse(month),
            instant: Reverse(i64::MAX),
            id: ArticleId::smallest(),
        }
    }
}

/// A record as one index has it and as another has it (`None`: not
/// published there).
pub type RecordChange<'a> = (Option<&'a Arc<Summary>>, Option<&'a Arc<Summary>>);

/// One feed's entries in order, and how many each month has. Each entry
/// holds its summary, so a document's plan reads its members without a
/// lookup by id.
#[derive(Debug, Clone, Default)]
pub struct FeedIndex {
    entries: OrdMap<EntryKey, Arc<Summary>>,
    months: OrdMap<Month, usize>,
}

impl FeedIndex {
    /// How many entries the feed has.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the feed has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The newest `n` entries, newest first.
    pub fn newest(&self, n: usize) -> impl Iterator<Item = &Arc<Summary>> {
        self.entries.values().take(n)
    }

    /// Months with entries and their counts, oldest first.
    pub fn months(&self) -> impl DoubleEndedIterator<Item = (Month, usize)> + '_ {
        self.months.iter().map(|(m, n)| (*m, *n))
    }

    /// How many entries `month` has (0 when none).
    pub fn count(&self, month: Month) -> usize {
        self.months.get(&month).copied().unwrap_or(0)
    }

    /// The entries of `month`, newest first.
    pub fn month(&self, month: Month) -> impl Iterator<Item = &Arc<Summary>> {
        self.entries
            .range(EntryKey::month_start(month)..EntryKey::month_start(month.previous()))
            .map(|(_, summary)| summary)
    }

    /// How many archive parts `month` has (0 when it has no entries).
    pub fn parts(&self, month: Month) -> u32 {
        self.count(month).div_ceil(ARCHIVE_PART_SIZE) as u32
    }

    /// The entries of one archive part, newest first.
    pub fn part(&self, part: ArchivePart) -> Vec<&Arc<Summary>> {
        let count = self.count(part.month);
        let index = part.part as usize;
        if index == 0 || index > self.parts(part.month) as usize {
            return Vec::new();
        }
        // Parts count from the oldest entry; the iterator from the newest.
        let end = (index * ARCHIVE_PART_SIZE).min(count);
        let start = (index - 1) * ARCHIVE_PART_SIZE;
        self.month(part.month)
            .skip(count - end)
            .take(end - start)
            .collect()
    }

    /// The entry just newer than `summary`'s and the `older` entries just
    /// older than it, newest first: an article page's neighbours.
    pub fn around(
        &self,
        summary: &Summary,
        older: usize,
    ) -> (Option<&Arc<Summary>>, Vec<&Arc<Summary>>) {
        let key = EntryKey::of(summary);
        let newer = self
            .entries
            .range(..key.clone())
            .next_back()
            .map(|(_, s)| s);
        let older = self
            .entries
            .range((std::ops::Bound::Excluded(key), std::ops::Bound::Unbounded))
            .take(older)
            .map(|(_, s)| s)
            .collect();
        (newer, older)
    }

    /// Up to `n` entries newer than `summary`'s place, nearest first: the
    /// pages whose "older" neighbours include it.
    pub fn newer(&self, summary: &Summary, n: usize) -> Vec<&Arc<Summary>> {
        self.entries
            .range(..EntryKey::of(summary))
            .rev()
            .take(n)
            .map(|(_, s)| s)
            .collect()
    }

    /// The archive document with the newest entries.
    pub fn newest_archive(&self) -> Option<ArchivePart> {
        let &(month, _) = self.months.get_max()?;
        Some(ArchivePart {
            month,
            part: self.parts(month),
        })
    }

    /// The archive document before `part` (older entries), if any.
    pub fn previous_archive(&self, part: ArchivePart) -> Option<ArchivePart> {
        if part.part > 1 {
            return Some(ArchivePart {
                part: part.part - 1,
                ..part
            });
        }
        let (&month, _) = self.months.range(..part.month).next_back()?;
        Some(ArchivePart {
            month,
            part: self.parts(month),
        })
    }

    /// The archive document after `part` (newer entries), if any.
    pub fn next_archive(&self, part: ArchivePart) -> Option<ArchivePart> {
        if part.part < self.parts(part.month) {
            return Some(ArchivePart {
                part: part.part + 1,
                ..part
            });
        }
        let (&month, _) = self
            .months
            .range((
                std::ops::Bound::Excluded(part.month),
                std::ops::Bound::Unbounded,
            ))
            .next()?;
        Some(ArchivePart { month, part: 1 })
    }

    /// The month before and after `month` that have entries.
    pub fn neighbour_months(&self, month: Month) -> (Option<Month>, Option<Month>) {
        let before = self.months.range(..month).next_back().map(|(m, _)| *m);
        let after = self
            .months
            .range((std::ops::Bound::Excluded(month), std::ops::Bound::Unbounded))
            .next()
            .map(|(m, _)| *m);
        (before, after)
    }

    /// A feed of entries already in order, as inserting them one by one
    /// would make it; the months are counted apart (a hundred of them,
    /// not an update of the persistent map per entry).
    fn from_sorted(entries: Vec<(EntryKey, Arc<Summary>)>) -> FeedIndex {
        let mut months = std::collections::BTreeMap::<Month, usize>::new();
        let mut feed = FeedIndex::default();
        for (key, summary) in entries {
            let month = key.month.0;
            if feed.entries.insert(key, summary).is_none() {
                *months.entry(month).or_insert(0) += 1;
            }
        }
        feed.months = months.into_iter().collect();
        feed
    }

    fn insert(&mut self, key: EntryKey, summary: Arc<Summary>) {
        let month = key.month.0;
        if self.entries.insert(key, summary).is_none() {
            *self.months.entry(month).or_insert(0) += 1;
        }
    }

    fn remove(&mut self, key: &EntryKey) {
        if self.entries.remove(key).is_some() {
            let month = key.month.0;
            match self.months.get(&month).copied() {
                Some(n) if n > 1 => {
                    self.months.insert(month, n - 1);
                }
                _ => {
                    self.months.remove(&month);
                }
            }
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    /// The saved state keeps each instant and its offset (`==` on chrono
    /// instants ignores the offset, so the text form is compared).
    #[test]
    fn a_summary_keeps_its_instants_and_offsets_through_the_saved_form() {
        let at = |text: &str| DateTime::parse_from_rfc3339(text).unwrap();
        let summary = Summary {
            id: ArticleId::new("sommerfest").unwrap(),
            published: at("2026-03-29T01:59:59.250+01:00"),
            updated: Some(at("2026-10-25T02:30:00+02:00")),
            categories: Vec::new(),
            hash: [7; 16],
            file_modified: at("2026-11-26T21:00:00.123456789Z").with_timezone(&Utc),
            folder: Arc::from(Path::new("articles/2026")),
        };
        let bytes = postcard::to_stdvec(&summary).unwrap();
        let back: Summary = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back.published.to_rfc3339(), "2026-03-29T01:59:59.250+01:00");
        assert_eq!(
            back.updated.map(|u| u.to_rfc3339()).as_deref(),
            Some("2026-10-25T02:30:00+02:00")
        );
        assert_eq!(
            back.file_modified.to_rfc3339(),
            "2026-11-26T21:00:00.123456789+00:00"
        );
        assert_eq!(back, summary);
        let never = Summary {
            updated: None,
            ..summary
        };
        let back: Summary = postcard::from_bytes(&postcard::to_stdvec(&never).unwrap()).unwrap();
        assert_eq!(back.updated, None);
    }
}
