//! The saved state: what one run keeps in the state directory, so that
//! the next re-reads only the files that changed since and knows which
//! index the last run published.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::files::Stamp;
use super::{Entry, Good, Library, Source};
use crate::index::Index;
use crate::model::MediaFile;

/// What is kept between runs: enough to re-read only what changed since.
#[derive(Serialize, Deserialize)]
pub(super) struct Saved {
    /// The program that wrote it (its hash): another build may read records
    /// differently, so its summaries are not trusted.
    pub(super) program: [u8; 16],
    /// The configuration the records were read with.
    pub(super) config: [u8; 16],
    /// Which saved state this is (see [`Restored`]).
    pub(super) generation: u64,
    /// The whole configuration's hash (`config` leaves out what no
    /// document shows, `max_age`): a restored index stands for the last
    /// run's only under the same one.
    pub(super) whole_config: [u8; 16],
    /// The instant up to which scheduled records were published.
    pub(super) published_as_of: DateTime<Utc>,
    pub(super) entries: Vec<(PathBuf, Entry)>,
    pub(super) media: Vec<(PathBuf, Option<Stamp>, MediaFile)>,
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

impl Library {
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

    /// Restores the saved entries; returns whether all of them were.
    /// Called on a library that knows no record yet, so each entry goes in
    /// as it is: no earlier version to withdraw, no problem to forget.
    pub(super) fn restore(&mut self, saved: Saved) -> bool {
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
}
