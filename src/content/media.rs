//! The files under `media/`: read once, and again only when they change.
//! Symlinks that lead out of `media/` and hidden files are not published.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use chrono::{DateTime, Utc};

use super::image::sniff_mime_type;
use super::Stamp;
use crate::model::MediaFile;

/// Every published file under `media/`, by its path on disk.
#[derive(Debug, Default)]
pub struct MediaCache {
    files: BTreeMap<PathBuf, (Option<Stamp>, MediaFile)>,
}

impl MediaCache {
    /// Re-reads new and changed files, forgets removed ones; returns whether
    /// anything changed.
    pub fn refresh(&mut self, feeds_dir: &Path) -> bool {
        let found = files_under_media(feeds_dir);
        let mut changed = found.len() != self.files.len();
        let mut files = BTreeMap::new();
        for path in found {
            let stamp = Stamp::of(&path);
            match self.files.remove(&path) {
                Some((old_stamp, file)) if old_stamp == stamp => {
                    files.insert(path, (stamp, file));
                }
                _ => {
                    changed = true;
                    if let Some(file) = read(feeds_dir, &path) {
                        files.insert(path, (stamp, file));
                    }
                }
            }
        }
        self.files = files;
        changed
    }

    /// The files, in path order.
    pub fn files(&self) -> Vec<MediaFile> {
        self.files.values().map(|(_, file)| file.clone()).collect()
    }
}

/// Regular files under `feeds_dir/media` that really lie there.
fn files_under_media(feeds_dir: &Path) -> Vec<PathBuf> {
    let root = feeds_dir.join("media");
    let Ok(real_root) = root.canonicalize() else {
        return Vec::new();
    };
    walkdir::WalkDir::new(&root)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'))
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .filter(|e| {
            e.path()
                .canonicalize()
                .is_ok_and(|p| p.starts_with(&real_root))
        })
        .map(|e| e.path().to_path_buf())
        .collect()
}

fn read(feeds_dir: &Path, path: &Path) -> Option<MediaFile> {
    let url_path = path
        .strip_prefix(feeds_dir)
        .ok()?
        .components()
        .map(|c| c.as_os_str().to_str())
        .collect::<Option<Vec<_>>>()?
        .join("/");
    let bytes = std::fs::read(path).ok()?;
    let modified = std::fs::metadata(path).ok()?.modified().ok()?;
    Some(MediaFile {
        url_path,
        content_type: sniff_mime_type(&bytes).unwrap_or("application/octet-stream"),
        bytes: Bytes::from(bytes),
        modified: DateTime::<Utc>::from(modified),
    })
}
