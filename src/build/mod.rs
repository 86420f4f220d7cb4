//! `stadtfeed build`: the published site as files, each at its URL path, for
//! any static web server, CDN or object store.
//!
//! Only what changed is rendered and written: every document's fingerprint
//! is compared with the manifest of the last build into the same folder
//! (all of them when the folder is not as that build left it). Every file
//! is written whole (temporary name, then rename), leaves before the
//! documents that link to them, and files of documents that no longer
//! exist are removed last, so that a build killed at any moment leaves
//! every file complete and every link of the old or new site working.
//! Into a new or empty folder there is nothing to replace, and files are
//! written in place: a reader there sees a half-written file as it sees a
//! half-built site.
//!
//! Beside the site it writes what a static host needs to send `serve`'s
//! headers (see [`headers`]) and, with `--precompress`, the `.gz` and
//! `.br` forms of every text document.

pub mod headers;

use rustc_hash::{FxHashMap, FxHashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::content::store::ArticleStore;
use crate::content::{Restored, Stamp};
use crate::index::Index;
use crate::site::key::DocKey;
use crate::site::plan::Plan;
use crate::site::reach::{reach, Reach};
use crate::site::{self, compress, RenderError};
use crate::state::write_whole;

/// Why the site could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The file system refused.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The file or folder that failed.
        path: PathBuf,
        /// What the file system said.
        source: std::io::Error,
    },
    /// The output names something that is not a folder (a file left
    /// there, a typo): the site is written into a folder.
    #[error("{} is not a folder; the site is written into a folder (--out DIR)", .0.display())]
    NotAFolder(PathBuf),
    /// A document could not be rendered.
    #[error(transparent)]
    Render(#[from] RenderError),
}

/// How to build.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BuildOptions {
    /// Also write `<file>.gz` and `<file>.br` beside every text document,
    /// for nginx's `gzip_static` and `brotli_static`.
    pub precompress: bool,
}

/// What a build did, for its summary line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BuildReport {
    /// Files written (new or changed).
    pub written: usize,
    /// Files left as they were.
    pub unchanged: usize,
    /// Files of documents that no longer exist, removed.
    pub removed: usize,
}

/// What the last build wrote: per path, the document's fingerprint and the
/// file as it was left (length and mtime), so an unchanged document whose
/// file nobody touched is neither rendered nor read.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Manifest {
    /// The generation of the library state saved with this build: when
    /// the next build restores that state, the manifest describes the site
    /// of the restored index, and only what changed since is planned.
    generation: u64,
    /// Whether `.gz` and `.br` files were asked for.
    precompress: bool,
    /// The output folder as the build left it. When it differs at the
    /// next build (deleted and made anew, emptied, a folder of it removed),
    /// its files are not what `files` says, and every document is compared.
    folder: Option<Stamp>,
    files: FxHashMap<String, Written>,
}

/// What a build into a folder knows of the last one (from the state
/// directory).
#[derive(Debug, Clone, Copy)]
pub struct Previous<'a> {
    /// Where the manifest of the last build is kept (this build's replaces it).
    pub manifest_file: &'a Path,
    /// The index the library's saved state described, if it was restored.
    pub restored: Option<&'a Restored>,
    /// The generation of the library state saved with this build.
    pub generation: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Written {
    fingerprint: [u8; 16],
    length: u64,
    modified: Option<SystemTime>,
    /// Whether `.gz` and `.br` files were written beside it.
    compressed: bool,
}

/// What became of one document.
struct Outcome {
    path: String,
    written: Written,
    /// Whether it was (re)written.
    changed: bool,
    /// Whether the manifest's entry for it changes (a new document, new
    /// bytes, or the same bytes under a new fingerprint).
    recorded_anew: bool,
}

/// Writes the site of `index` under `out`, comparing with the manifest of
/// `previous` (if any) and updating it. Files the site does not name and
/// that no earlier build wrote are left alone.
pub fn write_site(
    index: &Index,
    store: &ArticleStore,
    out: &Path,
    previous: Option<Previous>,
    options: BuildOptions,
) -> Result<BuildReport, WriteError> {
    if out.exists() && !out.is_dir() {
        return Err(WriteError::NotAFolder(out.to_path_buf()));
    }
    let manifest_file = previous.map(|p| p.manifest_file);
    let old = manifest_file
        .and_then(|file| std::fs::read(file).ok())
        .and_then(|bytes| postcard::from_bytes::<Manifest>(&bytes).ok())
        .unwrap_or_default();
    let folder_before = Stamp::of(out);
    // Into a folder that is new or empty nothing is compared or replaced:
    // files are written in place, without reading what is not there.
    let fresh = std::fs::read_dir(out).map_or(true, |mut entries| entries.next().is_none());
    std::fs::create_dir_all(out).map_err(|source| WriteError::Io {
        path: out.to_path_buf(),
        source,
    })?;
    // A marker while writing: if it is still there, the last build was
    // killed, and its temporary files are swept away first.
    let marker = manifest_file.map(|file| file.with_extension("writing"));
    let killed = marker.as_ref().is_some_and(|m| m.exists());
    if let Some(marker) = &marker {
        if killed {
            sweep_temporary_files(out);
        }
        let _ = std::fs::write(marker, b"");
    }
    // Only what changed since the index the manifest describes, when that
    // is known; else every document.
    let reached = match previous.and_then(|p| p.restored) {
        Some(restored)
            if restored.generation == old.generation
                && old.precompress == options.precompress
                && old.folder.is_some()
                && old.folder == folder_before
                && !killed =>
        {
            reach(&restored.index, index)
        }
        _ => Reach::Everything,
    };
    let keys = site::all_keys(index);
    let rules = headers::Rules::of(&keys, index);
    let visited: Vec<&DocKey> = match &reached {
        Reach::Everything => keys.iter().collect(),
        Reach::Keys(reached) => reached.iter().collect(),
    };
    let writer = Writer {
        out,
        old: &old,
        options,
        fresh,
        folders: Mutex::default(),
    };
    let mut outcomes = Vec::with_capacity(visited.len());
    // Documents visited that the site no longer has.
    let mut absent = Vec::new();
    for phase in 0..site::PHASES {
        let done: Vec<Result<Outcome, String>> = visited
            .par_iter()
            .filter(|key| site::build_phase(key) == phase)
            .map(|key| match Plan::of(index, key) {
                Some(plan) => writer.document(index, store, key, &plan).map(Ok),
                None => Ok(Err(key.path())),
            })
            .collect::<Result<_, _>>()?;
        for outcome in done {
            match outcome {
                Ok(outcome) => outcomes.push(outcome),
                Err(path) => absent.push(path),
            }
        }
    }
    let mut report = BuildReport::default();
    let mut manifest_changed = old.generation != previous.map_or(0, |p| p.generation);
    // The new manifest: the outcomes alone when every document was
    // visited, else the old one with the outcomes put in.
    let (mut files, gone): (FxHashMap<String, Written>, Vec<String>) = match reached {
        Reach::Everything => {
            let files: FxHashMap<String, Written> = outcomes
                .iter()
                .map(|o| (o.path.clone(), o.written))
                .collect();
            let gone = old
                .files
                .keys()
                .filter(|path| !files.contains_key(*path))
                .cloned()
                .collect();
            (files, gone)
        }
        Reach::Keys(_) => {
            let gone = absent
                .into_iter()
                .filter(|path| old.files.contains_key(path))
                .collect();
            (old.files, gone)
        }
    };
    for outcome in outcomes {
        manifest_changed |= outcome.recorded_anew;
        if outcome.changed {
            report.written += 1;
        }
        files.insert(outcome.path, outcome.written);
    }
    for path in gone {
        manifest_changed = true;
        files.remove(&path);
        let file = out.join(&path);
        match std::fs::remove_file(&file) {
            Ok(()) => {
                report.removed += 1;
                remove_compressed(&file);
                remove_empty_folders(out, &file);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(WriteError::Io { path: file, source }),
        }
    }
    report.unchanged = files.len() - report.written;
    headers::write_files(index, out, &rules)
        .map_err(|(path, source)| WriteError::Io { path, source })?;
    let folder = Stamp::of(out);
    manifest_changed |= folder != old.folder;
    // An unchanged site leaves the manifest as it is (12 MB at 100 000
    // records: rewriting it would be most of an unchanged build's writes).
    if let Some(file) = manifest_file.filter(|_| manifest_changed) {
        let manifest = Manifest {
            generation: previous.map_or(0, |p| p.generation),
            precompress: options.precompress,
            folder,
            files,
        };
        // Serialising plain data cannot fail.
        let bytes = postcard::to_stdvec(&manifest).unwrap_or_default();
        write_whole(file, &bytes).map_err(|source| WriteError::Io {
            path: file.to_path_buf(),
            source,
        })?;
    }
    if let Some(marker) = &marker {
        let _ = std::fs::remove_file(marker);
    }
    Ok(report)
}

/// What writing one document needs to know of the whole run.
struct Writer<'a> {
    out: &'a Path,
    old: &'a Manifest,
    options: BuildOptions,
    /// Whether the output folder was new or empty at the start.
    fresh: bool,
    /// Folders made or found in this run, so that each is made once.
    folders: Mutex<FxHashSet<PathBuf>>,
}

impl Writer<'_> {
    /// Renders and writes the document of `key` unless the manifest shows
    /// its file as it would be written.
    fn document(
        &self,
        index: &Index,
        store: &ArticleStore,
        key: &DocKey,
        plan: &Plan,
    ) -> Result<Outcome, WriteError> {
        let path = key.path();
        let file = self.out.join(&path);
        let fingerprint = plan.fingerprint(index);
        let compressed = self.options.precompress && key.is_text();
        let written = |meta: std::fs::Metadata| Written {
            fingerprint,
            length: meta.len(),
            modified: meta.modified().ok(),
            compressed,
        };
        let before = self.old.files.get(&path);
        let outcome = |written, changed| Outcome {
            path: path.clone(),
            recorded_anew: before != Some(&written),
            written,
            changed,
        };
        if let Some(before) = before {
            let on_disk = std::fs::metadata(&file).ok().map(written);
            if before.fingerprint == fingerprint && on_disk == Some(*before) {
                return Ok(outcome(*before, false));
            }
        }
        let body = site::render(index, store, key, plan)?;
        let io = |source| WriteError::Io {
            path: file.clone(),
            source,
        };
        let same_bytes = !self.fresh && std::fs::read(&file).is_ok_and(|existing| existing == body);
        let meta = if same_bytes {
            std::fs::metadata(&file).map_err(io)?
        } else {
            self.make_folder_of(&file).map_err(io)?;
            self.write(&file, &body).map_err(io)?
        };
        // The compressed forms follow their document (or go, when no longer
        // asked for); unchanged bytes keep the file and its mtime as they are.
        let had_compressed = before.is_some_and(|b| b.compressed);
        if compressed && (!same_bytes || !had_compressed) {
            for (extension, bytes) in [
                ("gz", compress::gzip(&body)),
                ("br", compress::brotli(&body)),
            ] {
                self.write(&with_extension(&file, extension), &bytes)
                    .map_err(io)?;
            }
        } else if !compressed && had_compressed {
            remove_compressed(&file);
        }
        Ok(outcome(written(meta), !same_bytes))
    }

    /// Makes the folder of `file` unless this run already made or found it.
    fn make_folder_of(&self, file: &Path) -> std::io::Result<()> {
        let Some(parent) = file.parent() else {
            return Ok(());
        };
        let mut folders = self.folders.lock().unwrap_or_else(|e| e.into_inner());
        if folders.contains(parent) {
            return Ok(());
        }
        drop(folders);
        std::fs::create_dir_all(parent)?;
        folders = self.folders.lock().unwrap_or_else(|e| e.into_inner());
        folders.insert(parent.to_path_buf());
        Ok(())
    }

    /// Writes `bytes` to `file`: in place into a fresh folder (nothing to
    /// replace, and a killed build is compared in full next time), else
    /// whole under a temporary name and renamed over it. Returns what the
    /// file is now.
    fn write(&self, file: &Path, bytes: &[u8]) -> std::io::Result<std::fs::Metadata> {
        if self.fresh {
            let mut handle = std::fs::File::create(file)?;
            handle.write_all(bytes)?;
            handle.metadata()
        } else {
            write_whole(file, bytes)
        }
    }
}

/// `file` with `.extension` added (`feed.rss` → `feed.rss.gz`).
fn with_extension(file: &Path, extension: &str) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".");
    name.push(extension);
    PathBuf::from(name)
}

/// Removes the `.gz` and `.br` forms of `file`, if any.
fn remove_compressed(file: &Path) {
    for extension in ["gz", "br"] {
        let _ = std::fs::remove_file(with_extension(file, extension));
    }
}

/// Removes what a killed build left half-written: files named
/// `.<name>.stadtfeed-tmp`, which are never a published name.
fn sweep_temporary_files(out: &Path) {
    for entry in walkdir::WalkDir::new(out)
        .into_iter()
        .filter_map(Result::ok)
    {
        if entry.file_type().is_file()
            && entry
                .file_name()
                .to_string_lossy()
                .ends_with(".stadtfeed-tmp")
        {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Removes the folders of a removed file that are now empty, up to `out`.
fn remove_empty_folders(out: &Path, file: &Path) {
    let mut folder = file.parent();
    while let Some(dir) = folder {
        if dir == out || !dir.starts_with(out) || std::fs::remove_dir(dir).is_err() {
            break;
        }
        folder = dir.parent();
    }
}
