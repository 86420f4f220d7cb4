//! The state directory: what stadtfeed keeps between runs outside the
//! content directory and the output, so that a restart or a rebuild costs
//! what changed — the article store, the library's file stamps, the
//! manifest of the last build, and a copy of a bucket's manifest.
//! Deleting it is always safe: the next run reads everything again.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Where a command writes the site, as far as its state depends on it.
#[derive(Debug, Clone, Copy)]
pub enum Output<'a> {
    /// A folder (`build --out`); the same folder by any path is the same
    /// output.
    Folder(&'a Path),
    /// A bucket, named by its URL and endpoint: never a path (the working
    /// directory is no part of it).
    Bucket(&'a str),
}

/// One command's state for one content directory (and output), locked for
/// as long as the value lives.
pub struct StateDir {
    dir: PathBuf,
    /// Held open with an exclusive lock: two processes never share state.
    _lock: File,
}

impl StateDir {
    /// The state of `command` for `feeds` (and its output) under
    /// `root` — by default `$STADTFEED_CACHE_DIR`, `$XDG_CACHE_HOME/stadtfeed`
    /// or `~/.cache/stadtfeed`. When that directory is in use by another
    /// process or cannot be made, a fresh one under the system's temporary
    /// folder is used (correct, only slower to start); `None` when not even
    /// that works: then everything is kept in memory.
    pub fn open(
        root: Option<&Path>,
        command: &str,
        feeds: &Path,
        output: Option<Output<'_>>,
    ) -> Option<StateDir> {
        let root = root.map(Path::to_path_buf).unwrap_or_else(default_root);
        let mut hasher = blake3::Hasher::new();
        let absolute = |path: &Path| {
            path.canonicalize()
                .or_else(|_| std::path::absolute(path))
                .unwrap_or_else(|_| path.to_path_buf())
        };
        hasher.update(absolute(feeds).as_os_str().as_encoded_bytes());
        hasher.update(b"\0");
        match output {
            Some(Output::Folder(out)) => {
                hasher.update(absolute(out).as_os_str().as_encoded_bytes());
            }
            Some(Output::Bucket(name)) => {
                hasher.update(name.as_bytes());
            }
            None => {}
        }
        let name = format!("{command}-{}", &hasher.finalize().to_hex()[..16]);
        let preferred = root.join(&name);
        let error = match StateDir::lock(preferred.clone()) {
            Ok(state) => return Some(state),
            Err(e) => e,
        };
        let fallback =
            std::env::temp_dir().join(format!("stadtfeed-{name}-{}", std::process::id()));
        tracing::warn!(
            "state directory {}: {error}; using {} for this run",
            preferred.display(),
            fallback.display()
        );
        StateDir::lock(fallback)
            .map_err(|e| tracing::warn!("no state directory ({e}); keeping state in memory"))
            .ok()
    }

    fn lock(dir: PathBuf) -> std::io::Result<StateDir> {
        std::fs::create_dir_all(&dir)?;
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("lock"))?;
        lock.try_lock().map_err(|e| match e {
            std::fs::TryLockError::WouldBlock => {
                std::io::Error::other("in use by another stadtfeed process")
            }
            std::fs::TryLockError::Error(e) => e,
        })?;
        Ok(StateDir { dir, _lock: lock })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Where the library's stamps and summaries are kept.
    pub fn library_file(&self) -> PathBuf {
        self.dir.join("library.bin")
    }

    /// Where `publish` keeps a copy of the bucket's manifest (the base
    /// here, its changes beside it).
    pub fn bucket_manifest_file(&self) -> PathBuf {
        self.dir.join("bucket-manifest.bin")
    }

    /// Where `build` keeps what it wrote last.
    pub fn manifest_file(&self) -> PathBuf {
        self.dir.join("manifest.bin")
    }
}

fn default_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("STADTFEED_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(dir).join("stadtfeed");
    }
    if let Some(home) = std::env::var_os("HOME") {
        return PathBuf::from(home).join(".cache").join("stadtfeed");
    }
    std::env::temp_dir().join("stadtfeed")
}

/// Writes `bytes` to a temporary file beside `file` and renames it over
/// `file`: a reader (or a crash) sees the old file or the new one, whole.
/// Returns what the file is now. (`build` sweeps the temporary files a
/// killed build left in its output.)
pub(crate) fn write_whole(file: &Path, bytes: &[u8]) -> std::io::Result<std::fs::Metadata> {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = file.with_file_name(format!(".{name}.stadtfeed-tmp"));
    let written = std::fs::File::create(&temporary).and_then(|mut handle| {
        handle.write_all(bytes)?;
        handle.metadata()
    });
    written
        .and_then(|meta| std::fs::rename(&temporary, file).map(|()| meta))
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&temporary);
        })
}
