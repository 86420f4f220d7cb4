//! What a refresh re-reads: every file whose stamp moved (a start, the
//! periodic rescan), or the paths the watcher named; `site.toml` when it
//! changed; and whether the content directory is there at all (a swap
//! by `mv`, a missing `articles/`), so that an accident on disk keeps the
//! last good site.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rayon::prelude::*;
use rustc_hash::FxHashSet;

use super::files::{is_record_path, list_records, on_file_threads, RecordListing, Stamp};
use super::{config, ConfigChange, Library, MediaPass, ARTICLES_DIR, EMPTY_GRACE};

impl Library {
    /// Re-reads everything whose stamp moved; returns whether anything changed.
    pub fn refresh(&mut self) -> bool {
        if !self.available() {
            return false;
        }
        // Media first: records take their images' measurements from them.
        let media = self.refresh_all_media();
        self.refresh_listed(None) | media
    }

    /// The records' part of [`refresh`](Library::refresh), after the media's,
    /// with the record files already listed if given (by [`list_records`],
    /// while the saved state was being restored).
    pub(super) fn refresh_listed(&mut self, listed: Option<RecordListing>) -> bool {
        if !self.available() {
            return false;
        }
        let config_change = self.refresh_config();
        if config_change == ConfigChange::Value {
            self.reset_index();
        }
        let mut changed = config_change != ConfigChange::None;
        // Stamps taken while listing (beside the restore), if any.
        let (files, stamps) = match listed {
            Some(mut listing) => {
                let stamps = std::mem::take(&mut listing.stamps);
                (
                    self.take_listing(listing, &self.dir.join(ARTICLES_DIR)),
                    stamps,
                )
            }
            None => (self.record_files(), Vec::new()),
        };
        let unreadable: Vec<PathBuf> = self
            .folder_problems
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|p| p.path.clone())
            .collect();
        // The folders holding records: a listing gives a folder's files
        // one after another. Records in a folder that cannot be listed
        // keep their last version, and their folder is noted too.
        let mut folders = BTreeSet::from([PathBuf::from(ARTICLES_DIR)]);
        let mut last = None;
        for parent in files.iter().map(|p| p.parent()) {
            if parent != last {
                folders.extend(parent.map(Path::to_path_buf));
                last = parent;
            }
        }
        if !unreadable.is_empty() {
            let kept = self
                .entries
                .keys()
                .filter(|path| unreadable.iter().any(|folder| path.starts_with(folder)));
            folders.extend(kept.filter_map(|p| p.parent()).map(Path::to_path_buf));
        }
        for folder in folders {
            self.note_folder(&folder);
        }
        self.note_config();
        // An image under media/ was stamped just before, by the media pass.
        let image_stamp = |image: &Path| match self.media.get(image) {
            Some((stamp, _)) => *stamp,
            None => Stamp::of(image),
        };
        // One lookup per file: whether it is known, and if so as it is now.
        let known = std::sync::atomic::AtomicUsize::new(0);
        let stale: Vec<PathBuf> = on_file_threads(|| {
            files
                .par_iter()
                .enumerate()
                .filter(|&(at, path)| {
                    let Some(entry) = self.entries.get(path) else {
                        return true;
                    };
                    known.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let stamp = match stamps.get(at) {
                        Some(stamp) => *stamp,
                        None => Stamp::of(&self.dir.join(path)),
                    };
                    !entry.is_fresh(stamp, image_stamp)
                })
                .map(|(_, path)| path.clone())
                .collect()
        });
        drop(stamps);
        // Known files that were not listed are gone, unless their folder
        // could not be listed.
        if known.into_inner() < self.entries.len() {
            let listed: FxHashSet<&Path> = files.iter().map(PathBuf::as_path).collect();
            let gone: Vec<PathBuf> = self
                .entries
                .keys()
                .filter(|path| !listed.contains(path.as_path()))
                .filter(|path| !unreadable.iter().any(|folder| path.starts_with(folder)))
                .cloned()
                .collect();
            drop(listed);
            changed |= self.remove_entries(gone, files.len());
        }
        // The media pass stamped every image just before.
        changed |= self.read_records(stale, MediaPass::Now);
        changed
    }

    /// Re-reads what the paths name (files or folders, relative to the
    /// content directory or absolute under it, existing or gone): the
    /// watcher's report of what changed. Returns whether anything did.
    pub fn refresh_paths(&mut self, paths: &[PathBuf]) -> bool {
        if !self.available() {
            return false;
        }
        let mut records = BTreeSet::new();
        let mut media = BTreeSet::new();
        for path in paths {
            let Some(relative) = self.relative(path) else {
                continue;
            };
            match relative.components().next() {
                None => return self.refresh(),
                Some(first) if first.as_os_str() == config::FILE_NAME => return self.refresh(),
                Some(first) if first.as_os_str() == ARTICLES_DIR => {
                    records.insert(relative);
                }
                Some(first) if first.as_os_str() == "media" => {
                    media.insert(relative);
                }
                Some(_) => {}
            }
        }
        if self.config.is_none() {
            return self.refresh();
        }
        let mut changed = false;
        let mut stale = Vec::new();
        for relative in &records {
            if let Some(parent) = relative.parent() {
                self.note_folder(parent);
            }
            if self.dir.join(relative).is_dir() {
                self.note_folder(relative);
            }
        }
        let mut gone: Vec<PathBuf> = Vec::new();
        for relative in records {
            let full = self.dir.join(&relative);
            if full.is_dir() {
                let files: FxHashSet<PathBuf> =
                    self.record_files_under(&full).into_iter().collect();
                stale.extend(files.iter().cloned());
                gone.extend(
                    self.entries
                        .keys()
                        .filter(|p| p.starts_with(&relative) && !files.contains(*p))
                        .cloned(),
                );
            } else if is_record_path(&relative) && full.is_file() {
                stale.push(relative);
            } else if self.entries.contains_key(&relative) {
                // A record file went away (or stopped being one).
                gone.push(relative);
            } else if !is_record_path(&relative) {
                // Perhaps a folder that went away: everything under it goes.
                gone.extend(
                    self.entries
                        .keys()
                        .filter(|p| p.starts_with(&relative))
                        .cloned(),
                );
            }
        }
        gone.sort();
        gone.dedup();
        let present = self.entries.len() - gone.len() + stale.len();
        changed |= self.remove_entries(gone, present);
        stale.retain(|path| {
            !self
                .entries
                .get(path)
                .is_some_and(|e| e.is_fresh(Stamp::of(&self.dir.join(path)), Stamp::of))
        });
        changed |= self.read_records(stale, MediaPass::Earlier);
        for relative in media {
            changed |= self.refresh_media_path(&relative);
        }
        changed
    }

    fn relative(&self, path: &Path) -> Option<PathBuf> {
        if path.is_relative() {
            return Some(path.to_path_buf());
        }
        let mut bases = vec![self.dir.clone()];
        if let Ok(absolute) = std::path::absolute(&self.dir) {
            bases.push(absolute);
        }
        if let Ok(real) = self.dir.canonicalize() {
            bases.push(real);
        }
        bases
            .iter()
            .find_map(|base| path.strip_prefix(base).ok())
            .map(Path::to_path_buf)
    }

    /// Removes the entries of files that are gone, unless that would empty
    /// a site that had records (`present` is how many stay): then only once
    /// `articles/` has stayed empty for [`EMPTY_GRACE`], since an emptied
    /// folder is more often an accident or a deploy in progress than a
    /// town withdrawing all its news.
    fn remove_entries(&mut self, gone: Vec<PathBuf>, present: usize) -> bool {
        if gone.is_empty() {
            return false;
        }
        if present == 0 && gone.len() == self.entries.len() {
            let since = *self.empty_since.get_or_insert_with(std::time::Instant::now);
            if since.elapsed() < EMPTY_GRACE {
                tracing::warn!(
                    "articles/ is empty; publishing that if it stays so for {EMPTY_GRACE:?}"
                );
                return false;
            }
        }
        self.empty_since = None;
        for path in gone {
            self.set_entry(path, None);
        }
        true
    }

    /// Every `*.md` under `articles/`, any depth, skipping hidden files
    /// (editors' swap and lock files).
    fn record_files(&self) -> Vec<PathBuf> {
        self.record_files_under(&self.dir.join(ARTICLES_DIR))
    }

    fn record_files_under(&self, root: &Path) -> Vec<PathBuf> {
        self.take_listing(list_records(&self.dir, root), root)
    }

    /// The files of a listing under `root`; its unreadable folders replace
    /// the problems known under `root`.
    fn take_listing(&self, listing: RecordListing, root: &Path) -> Vec<PathBuf> {
        let mut known = self
            .folder_problems
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        known.retain(|p| !self.dir.join(&p.path).starts_with(root));
        known.extend(listing.unreadable);
        listing.files
    }

    /// Re-reads `site.toml` if it changed; keeps the last good one on error.
    pub(super) fn refresh_config(&mut self) -> ConfigChange {
        let path = self.dir.join(config::FILE_NAME);
        let stamp = Stamp::of(&path);
        if self.config_stamp == stamp && (self.config.is_some() || self.config_problem.is_some()) {
            return ConfigChange::None;
        }
        self.config_stamp = stamp;
        match config::load(&self.dir) {
            Ok(config) => {
                let had_problem = self.config_problem.take().is_some();
                if self.config.as_ref() == Some(&config) {
                    return if had_problem {
                        ConfigChange::Problem
                    } else {
                        ConfigChange::None
                    };
                }
                self.config = Some(config);
                ConfigChange::Value
            }
            Err(problem) => {
                self.config_problem = Some(problem);
                ConfigChange::Problem
            }
        }
    }

    /// Whether the content directory and its `site.toml` are there. When
    /// they are not (a deploy swapping folders, a disk accident), nothing
    /// read now may replace the last good site: the refresh is skipped and
    /// the reason kept for `/healthz`.
    pub(super) fn available(&mut self) -> bool {
        // At a first start there is no site yet to keep serving.
        let keeping = if self.index.is_some() {
            "; serving the last good site"
        } else {
            ""
        };
        let reason = if !self.dir.is_dir() {
            let what = if self.dir.exists() {
                "is not a folder"
            } else {
                "is missing"
            };
            Some(format!(
                "the content directory {} {what}{keeping}",
                self.dir.display()
            ))
        } else if !self.dir.join(config::FILE_NAME).is_file() {
            Some(format!(
                "{} is missing{keeping}",
                self.dir.join(config::FILE_NAME).display()
            ))
        } else {
            None
        };
        if reason.is_some() && self.unavailable.is_none() {
            if let Some(reason) = &reason {
                tracing::warn!("{reason}");
            }
        }
        self.unavailable = reason;
        self.unavailable.is_none()
    }

    /// Why the content cannot be read right now, if it cannot.
    pub fn unavailable(&self) -> Option<&str> {
        self.unavailable.as_deref()
    }

    /// When an emptied `articles/` is to be looked at again.
    pub fn empty_check_due(&self) -> Option<std::time::Instant> {
        self.empty_since.map(|since| since + EMPTY_GRACE)
    }

    /// Notes the mtime of `site.toml`, for `Last-Modified`.
    fn note_config(&mut self) {
        let modified = std::fs::metadata(self.dir.join(config::FILE_NAME))
            .and_then(|m| m.modified())
            .map(DateTime::<Utc>::from);
        if let (Some(index), Ok(modified)) = (&mut self.index, modified) {
            index.set_config_modified(modified);
        }
    }

    /// Notes the current mtime of a folder holding (or having held)
    /// records, for `Last-Modified`.
    fn note_folder(&mut self, folder: &Path) {
        let modified = std::fs::metadata(self.dir.join(folder))
            .and_then(|m| m.modified())
            .map(DateTime::<Utc>::from);
        let folder = self.intern_path(folder);
        if let (Some(index), Ok(modified)) = (&mut self.index, modified) {
            index.set_folder_modified(folder, modified);
        }
    }
}
