//! Reading `feeds/`: `site.toml` and the article records become the typed
//! [`model`](crate::model); every check of the input lives here.
//!
//! [`Library`] keeps what it read, so that a reload re-reads only the files
//! that changed and a record that turns bad keeps its last good version;
//! it keeps the [`Index`] of what is published in step, and the full
//! articles in the [`store`]. Beside this file, its jobs: `files` (stamps,
//! opening, listing), `refresh` (what a refresh re-reads; `site.toml`;
//! whether the folder is there), `reading` (record files into entries),
//! `owners` (which file owns an id; scheduled records), `saved` (the
//! state kept between runs), and the media table in [`media`].

pub mod config;
pub mod date;
mod files;
pub mod image;
pub mod markdown;
pub mod media;
mod owners;
pub mod problem;
mod reading;
pub mod record;
mod refresh;
mod saved;
pub mod store;
pub mod text;

pub(crate) use files::{is_hidden, leads_outside, open_real, RealFolders, Stamp};
use files::{list_records, on_file_threads, visible_entries};
pub use saved::Restored;
use saved::Saved;
pub(crate) use saved::{fresh_generation, program_hash};

use std::collections::BTreeSet;

use rustc_hash::{FxHashMap, FxHashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::Mutex;

pub use problem::{Problem, ProblemKind};
use serde::{Deserialize, Serialize};
use store::{ArticleHash, ArticleStore};

use crate::index::{Index, Summary};
use crate::model::{ArticleId, Category, MediaFile, SiteConfig};
use chrono::{DateTime, Utc};

/// Where records live, relative to the content directory.
pub const ARTICLES_DIR: &str = "articles";

/// How long `articles/` must stay empty before an empty site is published.
pub const EMPTY_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// What a record file last read as cleanly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
enum Good {
    /// Published: the summary (shared with the index), its article in the store.
    Article(Arc<Summary>),
    /// `draft = true`.
    Draft,
}

/// What the library knows about one record file.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    /// The record file's stamp when last read.
    stamp: Option<Stamp>,
    /// Its local image (real path, shared by the records showing it) and
    /// that file's stamp when last read.
    image: Option<(Arc<Path>, Option<Stamp>)>,
    /// The last version that read cleanly, published while the file is bad.
    good: Option<Good>,
    /// The text of that version, to know it again under a new stamp;
    /// none while the file has a problem (its text is then not that one).
    source: Option<Source>,
    /// What is wrong with the current version, if anything.
    #[serde(skip)]
    problem: Option<Problem>,
}

/// What a record read from, besides the site's configuration: a directory
/// copied, checked out or swapped in anew gives every file a new stamp,
/// and a record whose bytes and image are as before is then known again
/// without parsing it (a fresh CI checkout of 100 000 records would
/// otherwise cost every record's Markdown and sanitising).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Source {
    /// BLAKE3 of the file's bytes (the first 128 bits).
    bytes: [u8; 16],
    /// Its local image as the record names it, and as it measured.
    image: Option<ImageSeen>,
}

/// A local image as a record last saw it (kept for every record, so small).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct ImageSeen {
    /// As the record names it (`media/…`), shared by the records showing it.
    src: Arc<Path>,
    /// A hash of its type, length and pixel size as measured.
    measured: u64,
}

impl Entry {
    /// Whether the record and its image are as they were when last read:
    /// `stamp` is its file's stamp now, `image_stamp` gives an image's
    /// (many records share an image: a full refresh stats each once).
    fn is_fresh(&self, stamp: Option<Stamp>, image_stamp: impl Fn(&Path) -> Option<Stamp>) -> bool {
        stamp == self.stamp
            && self
                .image
                .as_ref()
                .is_none_or(|(image, stamp)| image_stamp(image) == *stamp)
    }

    fn summary(&self) -> Option<&Arc<Summary>> {
        match &self.good {
            Some(Good::Article(summary)) => Some(summary),
            _ => None,
        }
    }
}

/// When the media table was last brought in step with `media/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum MediaPass {
    /// Just before these records are read: its stamps are those of now.
    Now,
    /// At some earlier refresh (or never): an image may have changed since.
    #[default]
    Earlier,
}

/// A path kept once, found by its bytes: `Path`'s own hash and equality
/// go by components, and looking up the 170 000 folder and image paths of
/// a first start of 100 000 records so took about 1 % of its CPU (perf).
struct Interned(Arc<Path>);

impl std::hash::Hash for Interned {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.as_os_str().hash(state);
    }
}

impl PartialEq for Interned {
    fn eq(&self, other: &Interned) -> bool {
        self.0.as_os_str() == other.0.as_os_str()
    }
}

impl Eq for Interned {}

impl std::borrow::Borrow<std::ffi::OsStr> for Interned {
    fn borrow(&self) -> &std::ffi::OsStr {
        self.0.as_os_str()
    }
}

/// When files under `media/` measured for the first time are hashed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MediaHashes {
    /// As they are measured.
    AtOnce,
    /// Later, by [`Library::take_hashed_media`] (`serve`: at 100 000
    /// records with 20 000 images, hashing them was about 5 % of the CPU
    /// spent until the first answer, perf).
    Later,
}

/// What a re-read of `site.toml` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ConfigChange {
    /// Nothing new.
    None,
    /// Only its problem appeared or went away; the config in use is the same.
    Problem,
    /// A different config is in use.
    Value,
}

/// The content directory as last read.
pub struct Library {
    /// The content directory (`feeds/`).
    dir: PathBuf,
    /// The last `site.toml` that read cleanly.
    config: Option<SiteConfig>,
    /// Stamp of `site.toml` when last read.
    config_stamp: Option<Stamp>,
    /// What is wrong with the current `site.toml`, if anything.
    config_problem: Option<Problem>,
    /// Every record file under `articles/`, by path relative to `dir`
    /// (hashed: ordered paths compare component by component, which at
    /// 100 000 records costs seconds).
    entries: FxHashMap<PathBuf, Entry>,
    /// Which record files claim each id; the first by path owns it.
    claims: FxHashMap<ArticleId, Vec<PathBuf>>,
    /// Record files with a problem, so that listing problems costs what
    /// is wrong, not what exists.
    troubled: BTreeSet<PathBuf>,
    /// Ids claimed by more than one record file.
    duplicates: BTreeSet<ArticleId>,
    /// Ids whose record is dated in the future: not yet published.
    scheduled: BTreeSet<ArticleId>,
    /// Ids published since [`take_newly_published`](Library::take_newly_published)
    /// was last called.
    newly_published: Vec<ArticleId>,
    /// Why the content directory cannot be read now, if it cannot.
    unavailable: Option<String>,
    /// Folders under `articles/` that could not be listed, as problems.
    folder_problems: Mutex<Vec<Problem>>,
    /// Since when `articles/` has been found empty while records were
    /// published.
    empty_since: Option<std::time::Instant>,
    /// The files under `media/` by path on disk; a new or replaced image
    /// (the logo, say) is published even when no record changed.
    media: FxHashMap<PathBuf, (Option<Stamp>, MediaFile)>,
    /// The full articles.
    store: Arc<ArticleStore>,
    /// Record files parsed since the library was opened.
    parsed: std::sync::atomic::AtomicUsize,
    /// What is published, kept in step with `entries`.
    index: Option<Index>,
    /// Whether anything changed since the library was opened or saved.
    modified: bool,
    /// The generation of the saved state: the restored one, or the one
    /// the next save writes.
    generation: u64,
    /// Whether `generation` is new since the last restore or save.
    generation_is_new: bool,
    /// The instant of the last publication of due records.
    published_as_of: DateTime<Utc>,
    /// Whether the first media pass hashes the files it measures.
    media_hashes: MediaHashes,
    /// The index as the saved state had it, until taken.
    restored: Option<Restored>,
    /// One copy of each category, shared by every summary naming it.
    categories: Mutex<FxHashSet<Category>>,
    /// One copy of each image and folder path, shared by every record
    /// showing that image or lying in that folder.
    paths: Mutex<FxHashSet<Interned>>,
}

impl Library {
    /// Reads the whole content directory, keeping articles in `store`.
    pub fn open(dir: &Path, store: Arc<ArticleStore>) -> Library {
        let mut library = Library::open_empty(dir, store);
        library.refresh();
        library
    }

    /// Like [`open`](Library::open), starting from what [`save`](Library::save)
    /// kept in `state`: only files whose stamps moved since are read again.
    /// A missing or unusable state file just means reading everything.
    pub fn open_saved(dir: &Path, store: Arc<ArticleStore>, state: &Path) -> Library {
        Library::open_saved_hashing(dir, store, state, MediaHashes::AtOnce)
    }

    /// For `serve`: like [`open_saved`](Library::open_saved) (or
    /// [`open`](Library::open) without a `state`), except that files under
    /// `media/` measured for the first time are not hashed yet: their
    /// hashes are not needed for the first answer. `unhashed_media`
    /// names them, for `take_hashed_media`.
    pub fn open_serving(dir: &Path, store: Arc<ArticleStore>, state: Option<&Path>) -> Library {
        match state {
            Some(state) => Library::open_saved_hashing(dir, store, state, MediaHashes::Later),
            None => {
                let mut library = Library::open_empty(dir, store);
                library.media_hashes = MediaHashes::Later;
                library.refresh();
                library
            }
        }
    }

    fn open_saved_hashing(
        dir: &Path,
        store: Arc<ArticleStore>,
        state: &Path,
        media_hashes: MediaHashes,
    ) -> Library {
        let started = std::time::Instant::now();
        let mut library = Library::open_empty(dir, store);
        library.media_hashes = media_hashes;
        library.refresh_config();
        library.reset_index();
        // Listing 100 000 record files needs only the folder: it runs
        // beside the restore, which needs only the saved state.
        let articles = dir.join(ARTICLES_DIR);
        let listed = std::thread::scope(|scope| {
            // Without a saved state there is nothing to compare stamps
            // with: each record's is taken when it is read.
            let saved = state.is_file();
            let listing = scope.spawn(move || {
                let mut listing = list_records(dir, &articles);
                // The stamps too, while the other core restores the state.
                if saved {
                    listing.stamps = listing
                        .files
                        .iter()
                        .map(|path| Stamp::of(&dir.join(path)))
                        .collect();
                }
                tracing::debug!(elapsed = ?started.elapsed(), files = listing.files.len(), "records listed");
                listing
            });
            if let (Some(config), Ok(bytes)) = (&library.config, std::fs::read(state)) {
                let decoded = postcard::from_bytes::<Saved>(&bytes);
                tracing::debug!(elapsed = ?started.elapsed(), "saved state decoded");
                match decoded {
                    Ok(saved)
                        if saved.program == program_hash()
                            && saved.config == config.content_fingerprint() =>
                    {
                        let generation = saved.generation;
                        let same_config = saved.whole_config == config.fingerprint();
                        let whole = library.restore(saved) && same_config;
                        library.modified = false;
                        library.generation = generation;
                        library.generation_is_new = false;
                        // Records whose article the store lost are read
                        // again: then the index is not the one saved.
                        library.restored = library
                            .index
                            .clone()
                            .filter(|_| whole)
                            .map(|index| Restored { index, generation });
                    }
                    _ => tracing::info!(
                        "{}: from another version; reading everything",
                        state.display()
                    ),
                }
            }
            // Then media/ (records take their images' measurements from
            // it), while the listing goes on.
            if library.available() {
                library.refresh_all_media();
            }
            tracing::debug!(elapsed = ?started.elapsed(), "state and media restored");
            listing.join().ok()
        });
        tracing::debug!(elapsed = ?started.elapsed(), rss_mb = resident_mb(), "saved state restored");
        library.refresh_listed(listed);
        // One instant for every scheduled record: the index is then what
        // the saved state rebuilds (`published_as_of`).
        library.publish_due();
        tracing::debug!(
            elapsed = ?started.elapsed(),
            rss_mb = resident_mb(),
            parsed = library.records_parsed(),
            "files checked"
        );
        library
    }

    fn open_empty(dir: &Path, store: Arc<ArticleStore>) -> Library {
        Library {
            dir: dir.to_path_buf(),
            config: None,
            config_stamp: None,
            config_problem: None,
            entries: FxHashMap::default(),
            claims: FxHashMap::default(),
            troubled: BTreeSet::new(),
            duplicates: BTreeSet::new(),
            scheduled: BTreeSet::new(),
            newly_published: Vec::new(),
            unavailable: None,
            folder_problems: Mutex::default(),
            empty_since: None,
            media: FxHashMap::default(),
            store,
            parsed: Default::default(),
            index: None,
            modified: true,
            generation: fresh_generation(),
            generation_is_new: true,
            published_as_of: Utc::now(),
            media_hashes: MediaHashes::AtOnce,
            restored: None,
            categories: Mutex::default(),
            paths: Mutex::default(),
        }
    }

    /// The shared copy of a path (an image, a folder).
    fn intern_path(&self, path: &Path) -> Arc<Path> {
        let mut known = self.paths.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(copy) = known.get(path.as_os_str()) {
            return Arc::clone(&copy.0);
        }
        let copy: Arc<Path> = Arc::from(path);
        known.insert(Interned(Arc::clone(&copy)));
        copy
    }

    /// The shared copy of `category`.
    fn intern(&self, category: &Category) -> Category {
        let mut known = self.categories.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(copy) = known.get(category) {
            return copy.clone();
        }
        known.insert(category.clone());
        category.clone()
    }

    /// The content directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the full articles are.
    pub fn store(&self) -> &Arc<ArticleStore> {
        &self.store
    }

    /// Every article version that published or last-good records use, so
    /// that the store can drop the rest.
    pub fn live_articles(&self) -> FxHashSet<ArticleHash> {
        self.entries
            .values()
            .filter_map(Entry::summary)
            .map(|s| s.hash)
            .collect()
    }

    /// A new configuration: every record is read again under it.
    fn reset_index(&mut self) {
        self.entries.clear();
        self.claims.clear();
        self.troubled.clear();
        self.duplicates.clear();
        self.scheduled.clear();
        self.index = self.config.clone().map(Index::new);
        if let Some(index) = &mut self.index {
            for (_, file) in self.media.values() {
                index.set_media(file.clone());
            }
        }
    }

    /// What is published, or the reason there is nothing (no usable
    /// `site.toml` was ever read).
    pub fn index(&self) -> Result<Index, Problem> {
        if self.index.is_none() && !self.dir.is_dir() {
            return Err(Problem {
                path: self.dir.clone(),
                line: None,
                kind: ProblemKind::Config(if self.dir.exists() {
                    "this is a file, not the content directory (a folder with site.toml, articles/, media/); name that with --feeds DIR".to_owned()
                } else {
                    "there is no content directory here; create it (site.toml, articles/, media/ as the README shows) or name it with --feeds DIR".to_owned()
                }),
            });
        }
        self.index.clone().ok_or_else(|| {
            self.config_problem.clone().unwrap_or_else(|| Problem {
                path: PathBuf::from(config::FILE_NAME),
                line: None,
                kind: ProblemKind::Unreadable("not found".to_owned()),
            })
        })
    }

    /// Every current problem, in file order: bad records (published at
    /// their last good version, if any), duplicate ids, a bad `site.toml`.
    pub fn problems(&self) -> Vec<Problem> {
        let mut problems: Vec<Problem> = self
            .troubled
            .iter()
            .filter_map(|path| self.entries.get(path)?.problem.clone())
            .collect();
        for id in &self.duplicates {
            let Some((owner, others)) = self.claims.get(id).and_then(|p| p.split_first()) else {
                continue;
            };
            problems.extend(others.iter().map(|path| Problem {
                path: path.clone(),
                line: Some(1),
                kind: ProblemKind::DuplicateId {
                    id: id.to_string(),
                    other: owner.display().to_string(),
                },
            }));
        }
        problems.extend(
            self.folder_problems
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .cloned(),
        );
        problems.sort_by(|a, b| a.path.cmp(&b.path).then(a.line.cmp(&b.line)));
        self.config_problem
            .iter()
            .cloned()
            .chain(problems)
            .collect()
    }

    /// Record files seen, good or bad, drafts included.
    pub fn records_seen(&self) -> usize {
        self.entries.len()
    }
}

/// Resident memory in MiB (Linux), for the debug log of a start.
pub fn resident_mb() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096 / (1024 * 1024))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `save` writes, `open_saved` reads back: a second run restores
    /// every record instead of reading them again.
    #[test]
    fn a_saved_library_is_restored_without_reading_records_again() {
        let feeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("feeds");
        let state = tempfile::tempdir().unwrap();
        let file = state.path().join("library.bin");
        let store = Arc::new(ArticleStore::memory());
        let mut first = Library::open_saved(&feeds, Arc::clone(&store), &file);
        assert!(first.modified, "the first run reads everything");
        first.save(&file).unwrap();
        let second = Library::open_saved(&feeds, store, &file);
        assert!(!second.modified, "restored, nothing read again");
        let (a, b) = (first.index().unwrap(), second.index().unwrap());
        assert!(a.len() >= 10);
        assert_eq!(
            a.records().collect::<Vec<_>>(),
            b.records().collect::<Vec<_>>()
        );
        // Every feed (built all at once on restore) as reading built it.
        let scopes: Vec<&crate::index::Scope> = a.scopes().collect();
        assert!(scopes.len() > 3, "{scopes:?}");
        assert_eq!(scopes, b.scopes().collect::<Vec<_>>());
        for scope in scopes {
            let (x, y) = (a.feed(scope).unwrap(), b.feed(scope).unwrap());
            assert_eq!(
                x.newest(x.len()).collect::<Vec<_>>(),
                y.newest(y.len()).collect::<Vec<_>>(),
                "{scope:?}"
            );
            assert_eq!(
                x.months().collect::<Vec<_>>(),
                y.months().collect::<Vec<_>>()
            );
        }
    }

    /// `serve` answers before it hashes media/: its library names the
    /// files unhashed until their hashes are taken in; then it is what a
    /// library hashing at once has. A state saved meanwhile is hashed on
    /// its restore.
    #[test]
    fn a_serving_library_hashes_media_after_it_is_open() {
        let feeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("feeds");
        let media = |library: &Library| {
            let index = library.index().unwrap();
            let mut files: Vec<MediaFile> = index.media_files().map(|f| (**f).clone()).collect();
            files.sort_by(|a, b| a.url_path.cmp(&b.url_path));
            files
        };
        let at_once = Library::open(&feeds, Arc::new(ArticleStore::memory()));
        assert!(at_once.unhashed_media().is_empty());
        let hashed = media(&at_once);
        assert!(hashed.len() >= 2 && hashed.iter().all(|f| f.hash.is_some()));

        let mut serving = Library::open_serving(&feeds, Arc::new(ArticleStore::memory()), None);
        let unhashed = serving.unhashed_media();
        assert_eq!(unhashed.len(), hashed.len());
        let state = tempfile::tempdir().unwrap();
        let file = state.path().join("library.bin");
        serving.save(&file).unwrap();
        assert!(serving.take_hashed_media(media::read_all(&feeds, unhashed, true)));
        assert!(serving.unhashed_media().is_empty());
        assert_eq!(media(&serving), hashed);
        assert!(!serving.take_hashed_media(media::read_all(
            &feeds,
            at_once.media.keys().cloned().collect(),
            true
        )));

        let restored = Library::open_saved(&feeds, Arc::new(ArticleStore::memory()), &file);
        assert!(restored.unhashed_media().is_empty());
        assert_eq!(media(&restored), hashed);
    }

    /// Restoring takes entries in as saved (in no order): several files
    /// claiming one id are still owned by the first by path, and reported.
    #[test]
    fn a_restored_library_keeps_the_owner_of_a_shared_id() {
        let feeds = tempfile::tempdir().unwrap();
        std::fs::write(
            feeds.path().join("site.toml"),
            "title = \"T\"\nbase_url = \"https://example.org\"\n",
        )
        .unwrap();
        let articles = feeds.path().join(ARTICLES_DIR);
        std::fs::create_dir_all(&articles).unwrap();
        for name in ["c", "a", "d", "b"] {
            let record = format!(
                "+++\ntitle = \"{name}\"\ndate = \"11.01.2022\"\nid = \"gleich\"\n+++\nText\n"
            );
            std::fs::write(articles.join(format!("{name}.md")), record).unwrap();
        }
        let state = tempfile::tempdir().unwrap();
        let file = state.path().join("library.bin");
        let store = Arc::new(ArticleStore::memory());
        let mut first = Library::open_saved(feeds.path(), Arc::clone(&store), &file);
        first.save(&file).unwrap();
        let second = Library::open_saved(feeds.path(), Arc::clone(&store), &file);
        assert!(!second.modified, "restored, nothing read again");
        for library in [&first, &second] {
            let index = library.index().unwrap();
            let id = ArticleId::new("gleich").unwrap();
            let owner = store.get(&index.get(&id).unwrap().hash).unwrap();
            assert_eq!(owner.title, "a");
            assert_eq!(library.path_of(&id), Some(Path::new("articles/a.md")));
            assert_eq!(library.problems().len(), 3, "b, c and d are reported");
        }
    }
}
