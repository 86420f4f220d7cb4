//! The files under `media/`: measured once (type, length, hash), and again
//! only when they change. Their bytes stay on disk. Symlinks that lead out
//! of `media/` and hidden files are not published.

use std::io::Read;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::image::{sniff_mime_type, MAX_IMAGE_BYTES};
use super::{RealFolders, Stamp};
use crate::model::MediaFile;

/// Regular files under `feeds_dir/media` that really lie there (symlinks
/// inside `media/` are followed, those that leave it are not published),
/// in no particular order. Hidden files and folders are skipped.
pub fn files_under_media(feeds_dir: &Path) -> Vec<PathBuf> {
    let root = feeds_dir.join("media");
    let Ok(real_root) = root.canonicalize() else {
        return Vec::new();
    };
    // Only a path through a symlink can lead out of `media/`, so only
    // those are resolved, not every one of 20 000 images at each refresh.
    let mut files = Vec::new();
    // The depth of the linked folder being walked, if any.
    let mut linked_folder: Option<usize> = None;
    for entry in super::visible_entries(&root).filter_map(Result::ok) {
        if linked_folder.is_some_and(|depth| entry.depth() <= depth) {
            linked_folder = None;
        }
        let through_link = linked_folder.is_some() || entry.path_is_symlink();
        if entry.file_type().is_dir() {
            if entry.path_is_symlink() && linked_folder.is_none() {
                linked_folder = Some(entry.depth());
            }
            continue;
        }
        if entry.file_type().is_file()
            && (!through_link
                || entry
                    .path()
                    .canonicalize()
                    .is_ok_and(|p| p.starts_with(&real_root)))
        {
            files.push(entry.into_path());
        }
    }
    files
}

/// Whether `path` (under `feeds_dir`) is a media file that may be published.
pub fn is_publishable(feeds_dir: &Path, path: &Path) -> bool {
    let Ok(real_root) = feeds_dir.join("media").canonicalize() else {
        return false;
    };
    let hidden = path
        .strip_prefix(feeds_dir)
        .map(|rel| rel.components().any(|c| super::is_hidden(c.as_os_str())))
        .unwrap_or(true);
    !hidden && path.is_file() && path.canonicalize().is_ok_and(|p| p.starts_with(&real_root))
}

/// The bytes of an image read to measure its pixel size: a JPEG's size
/// follows its metadata segments (Exif, colour profile), each at most
/// 64 KiB.
const IMAGE_HEADER_BYTES: u64 = 256 * 1024;

/// Measures the files at `paths` on the file threads (see [`read`]).
pub(crate) fn read_all(
    feeds_dir: &Path,
    paths: Vec<PathBuf>,
    hashed: bool,
) -> Vec<(PathBuf, Option<(Stamp, MediaFile)>)> {
    use rayon::prelude::*;
    let folders = RealFolders::default();
    super::on_file_threads(|| {
        paths
            .into_par_iter()
            .map(|path| {
                let measured = read(feeds_dir, &path, &folders, hashed);
                (path, measured)
            })
            .collect()
    })
}

/// Measures one file: its URL path, type, length, mtime, (for an image)
/// pixel size and, when `hashed`, hash; and the stamp of the version
/// measured.
pub(crate) fn read(
    feeds_dir: &Path,
    path: &Path,
    folders: &RealFolders,
    hashed: bool,
) -> Option<(Stamp, MediaFile)> {
    let url_path = path
        .strip_prefix(feeds_dir)
        .ok()?
        .components()
        .map(|c| c.as_os_str().to_str())
        .collect::<Option<Vec<_>>>()?
        .join("/");
    let (mut file, real) = super::open_real(path, folders).ok()?;
    let meta = file.metadata().ok()?;
    if !meta.is_file() {
        return None;
    }
    // The first bytes, in one read: an image's header lies there in
    // practice, so an image a record may show is measured from them (else
    // the records showing it measure it themselves). Only those are held,
    // so that 16 file threads on large files cost no more than 16 × 256 KiB.
    let first = meta.len().min(IMAGE_HEADER_BYTES);
    let mut head = Vec::with_capacity(first as usize);
    (&mut file).take(first).read_to_end(&mut head).ok()?;
    let claims_image = path.extension().is_some_and(|x| {
        ["jpg", "jpeg", "png", "gif", "webp", "avif"]
            .iter()
            .any(|image| x.eq_ignore_ascii_case(image))
    });
    if claims_image && sniff_mime_type(&head).is_none() {
        // A `.jpg` that is no image would reach readers as image/jpeg.
        tracing::warn!(
            "{}: not an image as its name says; not published",
            path.display()
        );
        return None;
    }
    let shown = sniff_mime_type(&head).is_some() && meta.len() <= MAX_IMAGE_BYTES;
    let hash = match hashed {
        true => {
            let mut hasher = blake3::Hasher::new();
            hasher.update(&head);
            // Most files were read whole above; the reader's 64 KiB buffer,
            // zeroed on every call, would cost more than hashing them.
            if (head.len() as u64) < meta.len() {
                hasher.update_reader(&mut file).ok()?;
            }
            let mut hash = [0; 16];
            hash.copy_from_slice(&hasher.finalize().as_bytes()[..16]);
            Some(hash)
        }
        false => None,
    };
    let pixels = shown
        .then(|| imagesize::blob_size(&head).ok())
        .flatten()
        .map(|size| (size.width as u32, size.height as u32));
    let measured = MediaFile {
        url_path,
        file: real,
        content_type: content_type(path, &head).to_owned(),
        length: meta.len(),
        hash,
        modified: DateTime::<Utc>::from(meta.modified().ok()?),
        pixels,
    };
    Some((Stamp::of_metadata(&meta), measured))
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
