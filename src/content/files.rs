//! The content directory's files as the library meets them: stamps that
//! tell a changed file without reading it, opening without leaving
//! `feeds/` through a symlink, reading a record file within its limit,
//! listing the record files, and the threads that read many files.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::{record, Problem, ProblemKind};

/// What identifies a version of a file without reading it. The change
/// time and inode catch a rewrite that keeps mtime and length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Stamp {
    pub(super) modified: Option<SystemTime>,
    pub(super) changed: i64,
    pub(super) inode: u64,
    pub(super) len: u64,
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

/// Whether a path (relative to the content directory) names a record file:
/// `*.md` (any case: `.MD` from some editors) under `articles/`, no hidden
/// component.
pub(super) fn is_record_path(path: &Path) -> bool {
    path.extension()
        .is_some_and(|x| x.eq_ignore_ascii_case("md"))
        && !path.components().any(|c| is_hidden(c.as_os_str()))
}

/// Whether a file or folder name is hidden (`.git`, an editor's `.x.swp`).
pub(crate) fn is_hidden(name: &std::ffi::OsStr) -> bool {
    name.as_encoded_bytes().first() == Some(&b'.')
}

/// Whether `path` (under `root`, as written), whose real path is `real`,
/// leads out of `root` through a symlink. Without one on the way the real
/// path is the written one, so `root` is resolved only when they differ
/// (not once per record of 100 000); a `root` that cannot be resolved
/// counts as left.
pub(crate) fn leads_outside(path: &Path, real: &Path, root: &Path) -> bool {
    if path == real || std::path::absolute(path).is_ok_and(|absolute| absolute == real) {
        return false;
    }
    !root.canonicalize().is_ok_and(|root| real.starts_with(root))
}

/// The real paths of folders, each resolved once while the files in them
/// are read (resolving costs a `readlink` per component of the path).
#[derive(Default)]
pub(crate) struct RealFolders(Mutex<FxHashMap<PathBuf, Option<PathBuf>>>);

impl RealFolders {
    /// The real path of `name` in `folder`, when `name` is no symlink.
    fn of_file_in(&self, folder: &Path, name: &std::ffi::OsStr) -> Option<PathBuf> {
        let mut known = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let real = match known.get(folder) {
            Some(real) => real.as_deref()?,
            None => known
                .entry(folder.to_path_buf())
                .or_insert(folder.canonicalize().ok())
                .as_deref()?,
        };
        // Sized once: joining onto a copy of the folder's path grew it.
        let mut file = PathBuf::with_capacity(real.as_os_str().len() + 1 + name.len());
        file.push(real);
        file.push(name);
        Some(file)
    }
}

/// Opens `path` for reading, without waiting on a FIFO, with its real
/// path: when it is no symlink, its folder's (from `folders`) and its name
/// (one lookup of the path instead of one per component); a symlink is
/// resolved in full.
pub(crate) fn open_real(
    path: &Path,
    folders: &RealFolders,
) -> std::io::Result<(std::fs::File, PathBuf)> {
    let in_folder = || folders.of_file_in(path.parent()?, path.file_name()?);
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
pub(super) fn read_open(file: std::fs::File) -> std::io::Result<(Stamp, Vec<u8>)> {
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
pub(super) fn stamped(files: Vec<PathBuf>) -> FxHashMap<PathBuf, Option<Stamp>> {
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
pub(super) fn on_file_threads<R: Send>(work: impl FnOnce() -> R + Send) -> R {
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

/// The record files under a folder, relative to the content directory,
/// and the folders that could not be listed.
pub(super) struct RecordListing {
    /// In the walk's order (a folder's files mostly one after another).
    pub(super) files: Vec<PathBuf>,
    /// The files' stamps in the same order, when taken with the listing;
    /// else empty.
    pub(super) stamps: Vec<Option<Stamp>>,
    pub(super) unreadable: Vec<Problem>,
}

/// Lists the record files under `root` (inside the content directory
/// `dir`). Needs nothing of the library, so it can run while the saved
/// state is restored.
pub(super) fn list_records(dir: &Path, root: &Path) -> RecordListing {
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
pub(super) fn visible_entries(
    root: &Path,
) -> impl Iterator<Item = walkdir::Result<walkdir::DirEntry>> {
    walkdir::WalkDir::new(root)
        .follow_links(true)
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !is_hidden(e.file_name()))
}
