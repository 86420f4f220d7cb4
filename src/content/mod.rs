//! Reading `feeds/`: `site.toml` and the article records become the typed
//! [`model`](crate::model); every check of the input lives here.
//!
//! [`Library`] keeps what it read, so that a reload re-reads only the files
//! that changed and a record that turns bad keeps its last good version;
//! it keeps the [`Index`] of what is published in step, and the full
//! articles in the [`store`].

pub mod config;
pub mod date;
pub mod image;
pub mod markdown;
pub mod media;
pub mod problem;
pub mod record;
pub mod store;
pub mod text;

use std::collections::BTreeSet;

use rustc_hash::{FxHashMap, FxHashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::Mutex;
use std::time::SystemTime;

pub use problem::{Problem, ProblemKind};
use rayon::prelude::*;
use record::Record;
use serde::{Deserialize, Serialize};
use store::{ArticleHash, ArticleStore};

use crate::index::{Index, Summary};
use crate::model::{ArticleId, Category, MediaFile, SiteConfig};
use chrono::{DateTime, FixedOffset, Utc};

/// Where records live, relative to the content directory.
pub const ARTICLES_DIR: &str = "articles";

/// How long `articles/` must stay empty before an empty site is published.
pub const EMPTY_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// What identifies a version of a file without reading it. The change
/// time and inode catch a rewrite that keeps mtime and length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Stamp {
    modified: Option<SystemTime>,
    changed: i64,
    inode: u64,
    len: u64,
}

impl Stamp {
    pub(crate) fn of(path: &Path) -> Option<Stamp> {
        Some(Stamp::of_metadata(&std::fs::metadata(path).ok()?))
    }

    /// The stamp of a file whose metadata was already read.
    pub(crate) fn of_metadata(meta: &std::fs::Metadata) -> Stamp {
        use std::os::unix::fs::MetadataExt;
        Stamp {
            modified: meta.modified().ok(),
            changed: meta.ctime().saturating_mul(1_000_000_000) + meta.ctime_nsec(),
            inode: meta.ino(),
            len: meta.len(),
        }
    }
}

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

/// The name of a record file's bytes.
fn bytes_hash(bytes: &[u8]) -> [u8; 16] {
    let mut name = [0; 16];
    name.copy_from_slice(&blake3::hash(bytes).as_bytes()[..16]);
    name
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

/// What is kept between runs: enough to re-read only what changed since.
#[derive(Serialize, Deserialize)]
struct Saved {
    /// The program that wrote it (its hash): another build may read records
    /// differently, so its summaries are not trusted.
    program: [u8; 16],
    /// The configuration the records were read with.
    config: [u8; 16],
    /// Which saved state this is (see [`Restored`]).
    generation: u64,
    /// The whole configuration's hash (`config` leaves out what no
    /// document shows, `max_age`): a restored index stands for the last
    /// run's only under the same one.
    whole_config: [u8; 16],
    /// The instant up to which scheduled records were published.
    published_as_of: DateTime<Utc>,
    entries: Vec<(PathBuf, Entry)>,
    media: Vec<(PathBuf, Option<Stamp>, MediaFile)>,
}

/// [`Saved`] as written: the same fields in the same order, borrowed, so
/// that saving does not copy the library first.
#[derive(Serialize)]
struct SavedRef<'a> {
    program: [u8; 16],
    config: [u8; 16],
    generation: u64,
    whole_config: [u8; 16],
    published_as_of: DateTime<Utc>,
    entries: Vec<(&'a PathBuf, EntryRef<'a>)>,
    media: Vec<(&'a PathBuf, &'a Option<Stamp>, &'a MediaFile)>,
}

/// An [`Entry`] as saved: its fields but the skipped `problem`.
#[derive(Serialize)]
struct EntryRef<'a> {
    stamp: Option<Stamp>,
    image: &'a Option<(Arc<Path>, Option<Stamp>)>,
    good: &'a Option<Good>,
    source: &'a Option<Source>,
}

/// The index a saved state describes, as the run that saved it published
/// it (with its scheduled records as of then), and which saved state that
/// was: a manifest written beside the state names the same generation
/// when it describes that index's site, so that the next run need only
/// revisit what changed since (`site::reach`).
#[derive(Debug, Clone)]
pub struct Restored {
    /// What the last run published.
    pub index: Index,
    /// A number new with every saved state that differs from the last.
    pub generation: u64,
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
    /// hashes are not needed for the first answer.
    /// [`unhashed_media`](Library::unhashed_media) names them, for
    /// [`take_hashed_media`](Library::take_hashed_media).
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

    /// The index the saved state described when it was restored (before
    /// anything was read again), once.
    pub fn take_restored(&mut self) -> Option<Restored> {
        self.restored.take()
    }

    /// The generation the saved state has once [`save`](Library::save)d:
    /// the restored one if nothing changed since, else a new one.
    pub fn next_generation(&mut self) -> u64 {
        if self.modified && !self.generation_is_new {
            self.generation = fresh_generation();
            self.generation_is_new = true;
        }
        self.generation
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

    /// Restores the saved entries; returns whether all of them were.
    /// Called on a library that knows no record yet, so each entry goes in
    /// as it is: no earlier version to withdraw, no problem to forget.
    fn restore(&mut self, saved: Saved) -> bool {
        debug_assert!(self.entries.is_empty() && self.claims.is_empty());
        let mut whole = true;
        let published_as_of = saved.published_as_of;
        let mut taken = Vec::with_capacity(saved.entries.len());
        for (path, mut entry) in saved.entries {
            // Without its article in the store, a summary cannot be rendered.
            if entry
                .summary()
                .is_some_and(|s| !self.store.contains(&s.hash))
            {
                whole = false;
                continue;
            }
            if entry.good.is_none() {
                entry.stamp = None;
            }
            if let Some((image, _)) = &mut entry.image {
                *image = self.intern_path(image);
            }
            if let Some(seen) = entry.source.as_mut().and_then(|s| s.image.as_mut()) {
                seen.src = self.intern_path(&seen.src);
            }
            if let Some(Good::Article(summary)) = &mut entry.good {
                // Freshly decoded, so not shared: changed in place.
                for category in &mut Arc::make_mut(summary).categories {
                    *category = self.intern(category);
                }
            }
            taken.push((path, entry));
        }
        self.take_in_all(taken, published_as_of);
        tracing::debug!("saved entries taken in, index built");
        for (path, stamp, file) in saved.media {
            if let Some(index) = &mut self.index {
                index.set_media(file.clone());
            }
            self.media.insert(path, (stamp, file));
        }
        whole
    }

    /// Keeps what was read in `state` (written whole: temporary file, then
    /// rename), for [`open_saved`](Library::open_saved).
    pub fn save(&mut self, state: &Path) -> std::io::Result<()> {
        // What the saved library names is in the pack first.
        self.store.flush();
        let generation = self.next_generation();
        let Some(config) = &self.config else {
            return Ok(());
        };
        if !self.modified && state.exists() {
            return Ok(());
        }
        let saved = SavedRef {
            program: program_hash(),
            config: config.content_fingerprint(),
            generation,
            whole_config: config.fingerprint(),
            published_as_of: self.published_as_of,
            entries: self
                .entries
                .iter()
                .map(|(path, entry)| {
                    let entry_ref = EntryRef {
                        // One with a problem is read again next time, to
                        // report it.
                        stamp: entry.stamp.filter(|_| entry.problem.is_none()),
                        image: &entry.image,
                        good: &entry.good,
                        source: &entry.source,
                    };
                    (path, entry_ref)
                })
                .collect(),
            media: self
                .media
                .iter()
                .map(|(path, (stamp, file))| (path, stamp, file))
                .collect(),
        };
        // Streamed: at 100 000 records the state is 40 MB, which a buffer
        // in memory would first have to allocate (and the kernel zero).
        let temporary = state.with_extension("new");
        let file = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&temporary)?);
        postcard::to_io(&saved, file)
            .map_err(std::io::Error::other)?
            .into_inner()
            .map_err(std::io::IntoInnerError::into_error)?;
        std::fs::rename(&temporary, state)?;
        self.modified = false;
        self.generation_is_new = false;
        Ok(())
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
    fn refresh_listed(&mut self, listed: Option<RecordListing>) -> bool {
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

    /// Reads the given record files in parallel and takes in the results.
    fn read_records(&mut self, paths: Vec<PathBuf>, media: MediaPass) -> bool {
        let Some(config) = self.config.clone() else {
            return false;
        };
        if paths.is_empty() {
            return false;
        }
        let started = std::time::Instant::now();
        let folders = RealFolders::default();
        // Shared images are measured once within one reading; kept longer,
        // the table would cost memory for every image of the archive.
        let images = image::MeasuredImages::with_media(&self.media, media);
        let reading = Reading {
            folders: &folders,
            images: &images,
            config: &config,
        };
        let read: Vec<(PathBuf, Entry)> = on_file_threads(|| {
            paths
                .par_iter()
                .map(|path| {
                    let before = self.entries.get(path);
                    let entry = self.read_record(path, &reading, before);
                    (path.clone(), entry)
                })
                .collect()
        });
        tracing::debug!(records = read.len(), elapsed = ?started.elapsed(), "records read");
        // Into a library that knows no record yet (a first start), the
        // index is built at once from the sorted entries rather than by
        // 100 000 single insertions.
        if self.entries.is_empty() && self.index.as_ref().is_some_and(Index::is_empty) {
            self.take_in_all(read, Utc::now());
        } else {
            for (path, entry) in read {
                for id in self.take_entry(path, Some(entry)) {
                    self.publish_owner(&id);
                }
            }
        }
        tracing::debug!(elapsed = ?started.elapsed(), "records taken in");
        self.store.flush();
        true
    }

    /// Takes in the entries of files while the library knows none (a
    /// first reading, a restore), and publishes the owner of each id as of
    /// `now`: no earlier version to withdraw, and the index is built once
    /// from all summaries (not by 100 000 single insertions), beside
    /// filling the entry table.
    fn take_in_all(&mut self, taken: Vec<(PathBuf, Entry)>, now: DateTime<Utc>) {
        self.modified = true;
        self.published_as_of = now;
        self.entries.reserve(taken.len());
        self.claims.reserve(taken.len());
        let mut due = Vec::with_capacity(taken.len());
        let mut scheduled = Vec::new();
        let mut shared = Vec::new();
        for (path, entry) in &taken {
            if entry.problem.is_some() {
                self.troubled.insert(path.clone());
            }
            let Some(summary) = entry.summary() else {
                continue;
            };
            let paths = self.claims.entry(summary.id.clone()).or_default();
            paths.push(path.clone());
            if paths.len() > 1 {
                // The first by path owns the id (see `claims`): settled
                // below, once all paths are known.
                paths.sort_unstable();
                if paths.len() == 2 {
                    shared.push(summary.id.clone());
                }
            } else if summary.published > now {
                // Published when its date comes (see `publish_due`).
                scheduled.push(summary.id.clone());
            } else {
                due.push(Arc::clone(summary));
            }
        }
        if !shared.is_empty() {
            let shared: FxHashSet<&ArticleId> = shared.iter().collect();
            due.retain(|summary| !shared.contains(&summary.id));
            scheduled.retain(|id| !shared.contains(id));
        }
        let entries = &mut self.entries;
        let index = &mut self.index;
        rayon::join(
            || entries.extend(taken),
            || {
                if let Some(index) = index {
                    index.insert_all(due);
                }
            },
        );
        self.scheduled.extend(scheduled);
        for id in shared {
            let owner = self.owner(&id).cloned();
            match (owner, &mut self.index) {
                (Some(summary), _) if summary.published > now => {
                    self.scheduled.insert(id.clone());
                }
                (Some(summary), Some(index)) => index.insert(summary),
                _ => {}
            }
            self.duplicates.insert(id);
        }
    }

    /// Replaces (or with `None` removes) the entry of `path`, and brings the
    /// index in step for the ids it claimed before and claims now.
    fn set_entry(&mut self, path: PathBuf, entry: Option<Entry>) {
        for id in self.take_entry(path, entry) {
            self.publish_owner(&id);
        }
    }

    /// [`set_entry`](Library::set_entry) without bringing the index in
    /// step: returns the ids whose owner may have changed.
    fn take_entry(&mut self, path: PathBuf, entry: Option<Entry>) -> Vec<ArticleId> {
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
    fn publish_owner(&mut self, id: &ArticleId) {
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
    fn owner(&self, id: &ArticleId) -> Option<&Arc<Summary>> {
        let path = self.claims.get(id)?.first()?;
        self.entries.get(path)?.summary()
    }

    /// Whether the content directory and its `site.toml` are there. When
    /// they are not (a deploy swapping folders, a disk accident), nothing
    /// read now may replace the last good site: the refresh is skipped and
    /// the reason kept for `/healthz`.
    fn available(&mut self) -> bool {
        let reason = if !self.dir.is_dir() {
            Some(format!(
                "the content directory {} is missing; serving the last good site",
                self.dir.display()
            ))
        } else if !self.dir.join(config::FILE_NAME).is_file() {
            Some(format!(
                "{} is missing; serving the last good site",
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

    /// What a record keeps of its local `image`.
    fn image_seen(&self, image: &image::LocalImage) -> ImageSeen {
        let mut hasher = blake3::Hasher::new();
        hasher.update(image.mime_type.as_bytes());
        for number in [image.length, image.width.into(), image.height.into()] {
            hasher.update(&number.to_le_bytes());
        }
        let mut measured = [0; 8];
        measured.copy_from_slice(&hasher.finalize().as_bytes()[..8]);
        ImageSeen {
            src: self.intern_path(Path::new(&image.src)),
            measured: u64::from_le_bytes(measured),
        }
    }

    /// How many record files were parsed since the library was opened;
    /// the others it read were known again by their bytes.
    pub fn records_parsed(&self) -> usize {
        self.parsed.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Re-reads `site.toml` if it changed; keeps the last good one on error.
    fn refresh_config(&mut self) -> ConfigChange {
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

    /// Reads the record at `path`, which was `before`, with what every
    /// record of this `reading` shares.
    fn read_record(&self, path: &Path, reading: &Reading, before: Option<&Entry>) -> Entry {
        let Reading {
            folders,
            images,
            config,
        } = *reading;
        let good_before = before.and_then(|e| e.good.clone());
        let full = self.dir.join(path);
        let problem = |kind| Problem {
            path: path.to_path_buf(),
            line: None,
            kind,
        };
        let unreadable = |e: std::io::Error| problem(ProblemKind::Unreadable(e.to_string()));
        // A record that leads out of the content directory (a symlink, or
        // a folder linked from outside) is refused before it is read.
        let read = open_real(&full, folders)
            .map_err(unreadable)
            .and_then(
                |(file, real)| match leads_outside(&full, &real, &self.dir) {
                    true => Err(problem(ProblemKind::RecordOutside(
                        real.display().to_string(),
                    ))),
                    false => read_open(file).map_err(unreadable),
                },
            );
        // Not read past the limit: a huge file costs no memory.
        let read = read.and_then(|(stamp, bytes)| match record::too_large(stamp.len) {
            Some(kind) => Err(problem(kind)),
            None => Ok((Some(stamp), bytes)),
        });
        let (stamp, bytes) = match read {
            Ok(read) => read,
            Err(problem) => {
                return Entry {
                    stamp: Stamp::of(&full),
                    image: None,
                    good: good_before,
                    source: None,
                    problem: Some(problem),
                }
            }
        };
        let hash = bytes_hash(&bytes);
        if let Some(known) = before.and_then(|e| self.known_again(e, hash, stamp, reading)) {
            return known;
        }
        self.parsed
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        match record::parse(&self.dir, path, &bytes, config, Utc::now(), images) {
            Ok(Record::Article {
                article,
                local_image,
            }) => {
                let source = Source {
                    bytes: hash,
                    image: local_image.as_ref().map(|image| self.image_seen(image)),
                };
                let image = local_image.map(|image| (self.intern_path(&image.file), image.stamp));
                let mut summary = Summary::of(&article.article, self.store.put(&article));
                for category in &mut summary.categories {
                    *category = self.intern(category);
                }
                summary.file_modified = [stamp, image.as_ref().and_then(|(_, s)| *s)]
                    .into_iter()
                    .flatten()
                    .filter_map(|s| s.modified)
                    .map(DateTime::<Utc>::from)
                    .max()
                    .unwrap_or(DateTime::UNIX_EPOCH);
                summary.folder = self.intern_path(path.parent().unwrap_or(Path::new("")));
                let summary = Arc::new(summary);
                Entry {
                    stamp,
                    image,
                    good: Some(Good::Article(summary)),
                    source: Some(source),
                    problem: None,
                }
            }
            Ok(Record::Draft) => Entry {
                stamp,
                image: None,
                good: Some(Good::Draft),
                source: Some(Source {
                    bytes: hash,
                    image: None,
                }),
                problem: None,
            },
            Err(problem) => Entry {
                stamp,
                image: None,
                good: good_before,
                source: None,
                problem: Some(problem),
            },
        }
    }

    /// The entry `before` under its new `stamp`, when the file's bytes
    /// hash to the same `hash` and its image measures as it did: the
    /// record would read to the same article (the configuration is the
    /// same, or the entries would have been dropped; dates accepted once
    /// stay acceptable). Its summary, and so its documents, stay as they
    /// were.
    fn known_again(
        &self,
        before: &Entry,
        hash: [u8; 16],
        stamp: Option<Stamp>,
        reading: &Reading,
    ) -> Option<Entry> {
        let source = before.source.as_ref().filter(|s| s.bytes == hash)?;
        let good = before.good.clone()?;
        let image = match &source.image {
            None => None,
            Some(seen) => {
                let src = seen.src.to_str()?;
                let now =
                    image::inspect_local(&self.dir, src, &reading.config.base_url, reading.images)
                        .ok()
                        .filter(|now| self.image_seen(now) == *seen)?;
                Some((self.intern_path(&now.file), now.stamp))
            }
        };
        Some(Entry {
            stamp,
            image,
            good: Some(good),
            source: Some(source.clone()),
            problem: None,
        })
    }

    /// Re-measures what changed under `media/`.
    fn refresh_all_media(&mut self) -> bool {
        let listed = media::files_under_media(&self.dir);
        let mut changed = false;
        let first = self.media.is_empty();
        // Nothing measured yet (a first start): every file is read, and
        // stamped then, without a stat of its own first.
        let stale: Vec<PathBuf> = if first {
            listed
        } else {
            let listed = stamped(listed);
            let gone: Vec<PathBuf> = self
                .media
                .keys()
                .filter(|p| !listed.contains_key(*p))
                .cloned()
                .collect();
            changed = !gone.is_empty();
            for path in gone {
                self.drop_media(&path);
            }
            // Those not hashed yet too (a state saved before they were).
            listed
                .into_par_iter()
                .filter(|(path, now)| {
                    self.media
                        .get(path)
                        .is_none_or(|(stamp, file)| stamp != now || file.hash.is_none())
                })
                .map(|(path, _)| path)
                .collect()
        };
        changed |= !stale.is_empty();
        let hashed = !first || self.media_hashes == MediaHashes::AtOnce;
        for (path, measured) in media::read_all(&self.dir, stale, hashed) {
            match measured {
                Some((stamp, file)) => self.put_media(path, Some(stamp), file),
                None => self.drop_media(&path),
            }
        }
        changed
    }

    /// One media path (file or folder) changed: re-measure what is there
    /// now, and re-read the records whose image lies there.
    fn refresh_media_path(&mut self, relative: &Path) -> bool {
        let full = self.dir.join(relative);
        let mut changed = false;
        let present: Vec<PathBuf> = if full.is_dir() {
            media::files_under_media(&self.dir)
                .into_iter()
                .filter(|p| p.starts_with(&full))
                .collect()
        } else if media::is_publishable(&self.dir, &full) {
            vec![full.clone()]
        } else {
            Vec::new()
        };
        let gone: Vec<PathBuf> = self
            .media
            .keys()
            .filter(|p| p.starts_with(&full) && !present.contains(p))
            .cloned()
            .collect();
        for path in gone {
            changed = true;
            self.drop_media(&path);
        }
        for path in present {
            let stamp = Stamp::of(&path);
            if self
                .media
                .get(&path)
                .is_some_and(|(s, file)| *s == stamp && file.hash.is_some())
            {
                continue;
            }
            changed = true;
            match media::read(&self.dir, &path, &RealFolders::default(), true) {
                Some((stamp, file)) => self.put_media(path, Some(stamp), file),
                None => self.drop_media(&path),
            }
        }
        // Records measure their image; one that changed makes them stale.
        let real = full.canonicalize().ok();
        let dependants: Vec<PathBuf> = self
            .entries
            .iter()
            .filter(|(_, entry)| {
                entry.image.as_ref().is_some_and(|(image, _)| {
                    image.starts_with(&full) || real.as_ref().is_some_and(|r| image.starts_with(r))
                })
            })
            .filter(|(path, entry)| !entry.is_fresh(Stamp::of(&self.dir.join(path)), Stamp::of))
            .map(|(path, _)| path.clone())
            .collect();
        changed |= self.read_records(dependants, MediaPass::Earlier);
        changed
    }

    /// The files under `media/` measured but not hashed yet (see
    /// [`open_serving`](Library::open_serving)), for
    /// [`media::read_all`]: outside any lock, as a reload may run
    /// meanwhile.
    pub(crate) fn unhashed_media(&self) -> Vec<PathBuf> {
        self.media
            .iter()
            .filter(|(_, (_, file))| file.hash.is_none())
            .map(|(path, _)| path.clone())
            .collect()
    }

    /// Takes in files under `media/` measured with their hashes, where the
    /// table still has them unhashed (a reload meanwhile measured the
    /// others again, and the watcher reports any change since); returns
    /// whether any was.
    pub(crate) fn take_hashed_media(
        &mut self,
        measured: Vec<(PathBuf, Option<(Stamp, MediaFile)>)>,
    ) -> bool {
        let mut changed = false;
        for (path, measured) in measured {
            let Some((stamp, file)) = measured.filter(|(_, file)| file.hash.is_some()) else {
                continue;
            };
            if self
                .media
                .get(&path)
                .is_some_and(|(_, known)| known.hash.is_none())
            {
                self.put_media(path, Some(stamp), file);
                changed = true;
            }
        }
        changed
    }

    fn put_media(&mut self, path: PathBuf, stamp: Option<Stamp>, file: MediaFile) {
        self.modified = true;
        if let Some(index) = &mut self.index {
            index.set_media(file.clone());
        }
        self.media.insert(path, (stamp, file));
    }

    fn drop_media(&mut self, path: &Path) {
        self.modified = true;
        if let Some((_, file)) = self.media.remove(path) {
            if let Some(index) = &mut self.index {
                index.remove_media(&file.url_path);
            }
        }
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

    /// What is published, or the reason there is nothing (no usable
    /// `site.toml` was ever read).
    pub fn index(&self) -> Result<Index, Problem> {
        if self.index.is_none() && !self.dir.is_dir() {
            return Err(Problem {
                path: self.dir.clone(),
                line: None,
                kind: ProblemKind::Config(
                    "there is no content directory here; create it (site.toml, articles/, media/ as the README shows) or name it with --feeds DIR".to_owned(),
                ),
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

/// Whether a path (relative to the content directory) names a record file:
/// `*.md` (any case: `.MD` from some editors) under `articles/`, no hidden
/// component.
fn is_record_path(path: &Path) -> bool {
    path.extension()
        .is_some_and(|x| x.eq_ignore_ascii_case("md"))
        && !path.components().any(|c| is_hidden(c.as_os_str()))
}

/// Whether a file or folder name is hidden (`.git`, an editor's `.x.swp`).
pub(crate) fn is_hidden(name: &std::ffi::OsStr) -> bool {
    name.as_encoded_bytes().first() == Some(&b'.')
}

/// A name of the running program, so that saved state is only reused by
/// the build that wrote it: its version and its file's identity (device,
/// inode, length, modification time), which every build or install of the
/// binary changes. (Hashing the file itself read 120 MB at every start.)
pub(crate) fn program_hash() -> [u8; 16] {
    static HASH: std::sync::OnceLock<[u8; 16]> = std::sync::OnceLock::new();
    *HASH.get_or_init(|| {
        use std::os::unix::fs::MetadataExt;
        let mut hasher = blake3::Hasher::new();
        hasher.update(env!("CARGO_PKG_VERSION").as_bytes());
        // Without the file's identity, the version alone must do.
        if let Ok(meta) = std::env::current_exe().and_then(std::fs::metadata) {
            for part in [
                meta.dev(),
                meta.ino(),
                meta.len(),
                meta.mtime() as u64,
                meta.mtime_nsec() as u64,
            ] {
                hasher.update(&part.to_le_bytes());
            }
        }
        let mut hash = [0; 16];
        hash.copy_from_slice(&hasher.finalize().as_bytes()[..16]);
        hash
    })
}

/// Whether `path` (under `root`, as written), whose real path is `real`,
/// leads out of `root` through a symlink. Without one on the way the real
/// path is the written one, so `root` is resolved only when they differ
/// (not once per record of 100 000); a `root` that cannot be resolved
/// counts as left.
pub(crate) fn leads_outside(path: &Path, real: &Path, root: &Path) -> bool {
    if std::path::absolute(path).is_ok_and(|absolute| absolute == real) {
        return false;
    }
    !root.canonicalize().is_ok_and(|root| real.starts_with(root))
}

/// The real paths of folders, each resolved once while the files in them
/// are read (resolving costs a `readlink` per component of the path).
#[derive(Default)]
pub(crate) struct RealFolders(Mutex<FxHashMap<PathBuf, Option<PathBuf>>>);

impl RealFolders {
    fn of(&self, folder: &Path) -> Option<PathBuf> {
        let mut known = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(real) = known.get(folder) {
            return real.clone();
        }
        let real = folder.canonicalize().ok();
        known.insert(folder.to_path_buf(), real.clone());
        real
    }
}

/// What every record of one reading is read with.
#[derive(Clone, Copy)]
struct Reading<'a> {
    /// The real paths of the folders met.
    folders: &'a RealFolders,
    /// The images measured (by the media pass, or by an earlier record).
    images: &'a image::MeasuredImages<'a>,
    config: &'a SiteConfig,
}

/// Opens `path` for reading, without waiting on a FIFO, with its real
/// path: when it is no symlink, its folder's (from `folders`) and its name
/// (one lookup of the path instead of one per component); a symlink is
/// resolved in full.
pub(crate) fn open_real(
    path: &Path,
    folders: &RealFolders,
) -> std::io::Result<(std::fs::File, PathBuf)> {
    let in_folder = || Some(folders.of(path.parent()?)?.join(path.file_name()?));
    match open_unfollowed(path) {
        Ok(file) => match in_folder() {
            Some(real) => Ok((file, real)),
            None => Ok((file, path.canonicalize()?)),
        },
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            let real = path.canonicalize()?;
            Ok((open_followed(path)?, real))
        }
        Err(e) => Err(e),
    }
}

/// Opens a file for reading without following a symlink in its last
/// component (`ELOOP` then), and without waiting on a FIFO.
fn open_unfollowed(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
}

/// Opens a file for reading, following symlinks, without waiting on a FIFO.
fn open_followed(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

/// The stamp and bytes of an opened record file, at most one byte past a
/// record's limit; anything but a regular file is refused.
fn read_open(file: std::fs::File) -> std::io::Result<(Stamp, Vec<u8>)> {
    use std::io::Read;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    // As many bytes as the stamp says: a file that grows meanwhile has a
    // new stamp by then, and is read again.
    let len = meta.len().min(record::limits::RECORD_BYTES as u64 + 1);
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(len).read_to_end(&mut bytes)?;
    Ok((Stamp::of_metadata(&meta), bytes))
}

/// The files with their stamps now.
fn stamped(files: Vec<PathBuf>) -> FxHashMap<PathBuf, Option<Stamp>> {
    on_file_threads(|| {
        files
            .into_par_iter()
            .map(|path| {
                let stamp = Stamp::of(&path);
                (path, stamp)
            })
            .collect()
    })
}

/// Threads for reading and stamping many files. With a cold page cache
/// (after a reboot) each read waits on the disk, and more reads in flight
/// than there are cores shorten the wait: a first start at 100 000
/// records took 10.1–10.5 s with one thread per core and 5.8–5.9 s with 16
/// (bench/README.md). With a warm cache they cost no more than the
/// global pool's.
const FILE_THREADS: usize = 16;

/// Runs `work` (parallel iterators over files) on the file threads, or on
/// the global pool when they could not be started.
fn on_file_threads<R: Send>(work: impl FnOnce() -> R + Send) -> R {
    static POOL: std::sync::OnceLock<Option<rayon::ThreadPool>> = std::sync::OnceLock::new();
    let pool = POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(FILE_THREADS)
            .thread_name(|i| format!("stadtfeed-files-{i}"))
            .build()
            .inspect_err(|e| tracing::debug!("no file threads: {e}"))
            .ok()
    });
    match pool {
        Some(pool) => pool.install(work),
        None => work(),
    }
}

/// A number not drawn before (in practice), for saved states and the
/// bases of bucket manifests: the clock and the process, hashed.
pub(crate) fn fresh_generation() -> u64 {
    let mut hasher = blake3::Hasher::new();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    hasher.update(&now.as_nanos().to_le_bytes());
    hasher.update(&std::process::id().to_le_bytes());
    let mut bytes = [0; 8];
    bytes.copy_from_slice(&hasher.finalize().as_bytes()[..8]);
    u64::from_le_bytes(bytes)
}

/// The record files under a folder, relative to the content directory,
/// and the folders that could not be listed.
struct RecordListing {
    /// In the walk's order (a folder's files mostly one after another).
    files: Vec<PathBuf>,
    /// The files' stamps in the same order, when taken with the listing;
    /// else empty.
    stamps: Vec<Option<Stamp>>,
    unreadable: Vec<Problem>,
}

/// Lists the record files under `root` (inside the content directory
/// `dir`). Needs nothing of the library, so it can run while the saved
/// state is restored.
fn list_records(dir: &Path, root: &Path) -> RecordListing {
    let mut unreadable = Vec::new();
    let files = walk(root, &mut unreadable)
        .into_iter()
        .filter_map(|path| path.strip_prefix(dir).ok().map(Path::to_path_buf))
        .filter(|path| is_record_path(path))
        .collect();
    let unreadable = unreadable
        .into_iter()
        .map(|(path, error)| Problem {
            path: path
                .strip_prefix(dir)
                .map(Path::to_path_buf)
                .unwrap_or(path),
            line: None,
            kind: ProblemKind::UnreadableFolder(error),
        })
        .collect();
    RecordListing {
        files,
        stamps: Vec::new(),
        unreadable,
    }
}

/// Regular files under `root`, any depth, following symlinks, without
/// hidden files and folders (editors' swap and lock files, `.git`), in the
/// walk's order (a folder's files mostly together), and the folders that
/// could not be listed (with the reason), which would otherwise hide their
/// records silently.
fn walk(root: &Path, unreadable: &mut Vec<(PathBuf, String)>) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in visible_entries(root) {
        match entry {
            Ok(entry) if entry.file_type().is_file() => files.push(entry.into_path()),
            Ok(_) => {}
            Err(e) => {
                // A missing articles/ is no error: it is simply empty.
                if e.depth() > 0 || root.exists() {
                    let path = e
                        .path()
                        .map(Path::to_path_buf)
                        .unwrap_or_else(|| root.to_path_buf());
                    let reason = e
                        .io_error()
                        .map(ToString::to_string)
                        .unwrap_or_else(|| e.to_string());
                    unreadable.push((path, reason));
                }
            }
        }
    }
    files
}

/// Everything under `root`, any depth, following symlinks, without hidden
/// files and folders: what the content directory's walks see.
fn visible_entries(root: &Path) -> impl Iterator<Item = walkdir::Result<walkdir::DirEntry>> {
    walkdir::WalkDir::new(root)
        .follow_links(true)
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !is_hidden(e.file_name()))
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
