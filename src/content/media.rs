//! The files under `media/`: read once, and again only when they change.
//! Symlinks that lead out of `media/` and hidden files are not published.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use chrono::{DateTime, Utc};

use super::image::sniff_mime_type;
use super::{visible_files, Stamp};
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
    visible_files(&root)
        .filter(|path| path.canonicalize().is_ok_and(|p| p.starts_with(&real_root)))
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
        content_type: content_type(path, &bytes),
        bytes: Bytes::from(bytes),
        modified: DateTime::<Utc>::from(modified),
    })
}

/// Images by their bytes; other files (a PDF linked from an article) by
/// their extension, except types a browser would run as part of this site
/// (HTML, SVG, XML, JavaScript), which are sent as plain downloads.
fn content_type(path: &Path, bytes: &[u8]) -> &'static str {
    const DOWNLOAD: &str = "application/octet-stream";
    if let Some(image) = sniff_mime_type(bytes) {
        return image;
    }
    match mime_guess::from_path(path).first_raw() {
        Some(t) if t.contains("html") || t.contains("xml") || t.contains("javascript") => DOWNLOAD,
        Some(t) => t,
        None => DOWNLOAD,
    }
}

#[cfg(test)]
mod tests {
    use super::content_type;
    use std::path::Path;

    #[test]
    fn content_types_of_media_files() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";
        assert_eq!(content_type(Path::new("a.jpg"), png), "image/png");
        assert_eq!(
            content_type(Path::new("plan.pdf"), b"%PDF-1.7"),
            "application/pdf"
        );
        for active in ["x.html", "x.svg", "x.xml", "x.js", "x.xhtml"] {
            assert_eq!(
                content_type(Path::new(active), b"<script>"),
                "application/octet-stream",
                "{active}"
            );
        }
        assert_eq!(
            content_type(Path::new("noext"), b"?"),
            "application/octet-stream"
        );
    }
}
