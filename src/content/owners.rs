//! Which file owns an article id, and when its record is published: the
//! library keeps the index in step with its entries, one id at a time,
//! and publishes scheduled records when their date comes.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, FixedOffset, Utc};

use super::{Entry, Library};
use crate::index::Summary;
use crate::model::ArticleId;

impl Library {
    /// Replaces (or with `None` removes) the entry of `path`, and brings the
    /// index in step for the ids it claimed before and claims now.
    pub(super) fn set_entry(&mut self, path: PathBuf, entry: Option<Entry>) {
        for id in self.take_entry(path, entry) {
            self.publish_owner(&id);
        }
    }

    /// [`set_entry`](Library::set_entry) without bringing the index in
    /// step: returns the ids whose owner may have changed.
    pub(super) fn take_entry(&mut self, path: PathBuf, entry: Option<Entry>) -> Vec<ArticleId> {
        self.modified = true;
        let old_id = self
            .entries
            .get(&path)
            .and_then(Entry::summary)
            .map(|s| s.id.clone());
        let new_id = entry
            .as_ref()
            .and_then(Entry::summary)
            .map(|s| s.id.clone());
        if entry.as_ref().is_some_and(|e| e.problem.is_some()) {
            self.troubled.insert(path.clone());
        } else {
            self.troubled.remove(&path);
        }
        match entry {
            Some(entry) => {
                self.entries.insert(path.clone(), entry);
            }
            None => {
                self.entries.remove(&path);
            }
        }
        if let Some(id) = &old_id {
            if let Some(paths) = self.claims.get_mut(id) {
                paths.retain(|p| *p != path);
                if paths.is_empty() {
                    self.claims.remove(id);
                }
            }
        }
        if let Some(id) = &new_id {
            let paths = self.claims.entry(id.clone()).or_default();
            if let Err(at) = paths.binary_search(&path) {
                paths.insert(at, path);
            }
        }
        let touched: Vec<ArticleId> = old_id
            .iter()
            .chain(new_id.iter().filter(|id| Some(*id) != old_id.as_ref()))
            .cloned()
            .collect();
        for id in &touched {
            if self.claims.get(id).is_some_and(|paths| paths.len() > 1) {
                self.duplicates.insert(id.clone());
            } else {
                self.duplicates.remove(id);
            }
        }
        touched
    }

    /// Puts the owner's version of `id` into the index, or takes it out.
    pub(super) fn publish_owner(&mut self, id: &ArticleId) {
        if self.index.is_none() {
            return;
        }
        let owner = self.owner(id).cloned();
        let Some(index) = &mut self.index else {
            return;
        };
        match owner {
            // Scheduled: published when its date comes (see `publish_due`).
            Some(summary) if summary.published > Utc::now() => {
                index.remove(id);
                self.scheduled.insert(id.clone());
            }
            Some(summary) => {
                if index.get(id).is_none() {
                    self.newly_published.push(id.clone());
                }
                index.insert(summary);
                self.scheduled.remove(id);
            }
            None => {
                index.remove(id);
                self.scheduled.remove(id);
            }
        }
    }

    /// Publishes the scheduled records whose date has come; returns
    /// whether there were any.
    pub fn publish_due(&mut self) -> bool {
        let now = Utc::now();
        self.published_as_of = now;
        let due: Vec<ArticleId> = self
            .scheduled
            .iter()
            .filter(|id| self.owner(id).is_some_and(|s| s.published <= now))
            .cloned()
            .collect();
        for id in &due {
            self.publish_owner(id);
        }
        // The saved state must say so, or restoring it would rebuild an
        // index without them.
        self.modified |= !due.is_empty();
        !due.is_empty()
    }

    /// The file a published record was read from (relative to the content
    /// directory).
    pub fn path_of(&self, id: &ArticleId) -> Option<&Path> {
        self.claims.get(id)?.first().map(PathBuf::as_path)
    }

    /// The records published since the last call (new files, or ids that
    /// were not published before), with their files.
    pub fn take_newly_published(&mut self) -> Vec<(ArticleId, PathBuf)> {
        std::mem::take(&mut self.newly_published)
            .into_iter()
            .filter_map(|id| {
                let path = self.claims.get(&id)?.first()?.clone();
                Some((id, path))
            })
            .collect()
    }

    /// When the next scheduled record is due.
    pub fn next_due(&self) -> Option<DateTime<Utc>> {
        self.scheduled
            .iter()
            .filter_map(|id| self.owner(id))
            .map(|s| s.published.with_timezone(&Utc))
            .min()
    }

    /// The scheduled records: file and date, in date order.
    pub fn scheduled(&self) -> Vec<(PathBuf, DateTime<FixedOffset>)> {
        let mut scheduled: Vec<_> = self
            .scheduled
            .iter()
            .filter_map(|id| {
                let path = self.claims.get(id)?.first()?;
                Some((path.clone(), self.owner(id)?.published))
            })
            .collect();
        scheduled.sort_by_key(|(_, date)| *date);
        scheduled
    }

    /// The summary of the record that owns `id`.
    pub(super) fn owner(&self, id: &ArticleId) -> Option<&Arc<Summary>> {
        let path = self.claims.get(id)?.first()?;
        self.entries.get(path)?.summary()
    }
}
