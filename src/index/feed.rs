//! One feed's entries in the order it shows them (month and instant
//! descending, then id), counted per month, and the months and archive
//! parts that order makes.

use std::cmp::Reverse;
use std::sync::Arc;

use chrono::{DateTime, Datelike, FixedOffset};
use imbl::OrdMap;
use serde::{Deserialize, Serialize};

use super::Summary;
use crate::model::ArticleId;

/// Entries per archive document at most; a month with more is split into
/// parts, oldest first, each full before the next begins, so that a new
/// record of the month changes only its newest part.
pub const ARCHIVE_PART_SIZE: usize = 200;

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
    pub(super) fn of(summary: &Summary) -> EntryKey {
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
    pub(super) fn from_sorted(entries: Vec<(EntryKey, Arc<Summary>)>) -> FeedIndex {
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

    pub(super) fn insert(&mut self, key: EntryKey, summary: Arc<Summary>) {
        let month = key.month.0;
        if self.entries.insert(key, summary).is_none() {
            *self.months.entry(month).or_insert(0) += 1;
        }
    }

    pub(super) fn remove(&mut self, key: &EntryKey) {
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
