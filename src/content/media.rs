//! The files under `media/`: measured once (type, length, hash), and again
//! only when they change. Their bytes stay on disk. Symlinks that lead out
//! of `media/` and hidden files are not published.

use std::io::Read;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rayon::prelude::*;

use super::files::stamped;
use super::image::{sniff_mime_type, MAX_IMAGE_BYTES};
use super::{Library, MediaHashes, MediaPass, RealFolders, Stamp};
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

/// What a first measuring without hashing reads of a file: enough for a
/// PNG, GIF or WebP header, and for a JPEG with a small Exif segment.
const FIRST_READ_BYTES: u64 = 8 * 1024;

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
    // The first bytes: an image's header lies there in practice, so an
    // image a record may show is measured from them (else the records
    // showing it measure it themselves). Only those are held, so that 16
    // file threads on large files cost no more than 16 × 256 KiB. When the
    // file is hashed it is read whole anyway; else the first 8 KiB hold
    // the size of most images, and the rest is read only when they do not.
    let header = meta.len().min(IMAGE_HEADER_BYTES);
    let first = match hashed {
        true => header,
        false => header.min(FIRST_READ_BYTES),
    };
    let mut head = Vec::with_capacity(first as usize);
    (&mut file).take(first).read_to_end(&mut head).ok()?;
    let image_type = sniff_mime_type(&head);
    let mut size = imagesize::blob_size(&head);
    if image_type.is_some() && size.is_err() && (head.len() as u64) < header {
        (&mut file)
            .take(header - head.len() as u64)
            .read_to_end(&mut head)
            .ok()?;
        size = imagesize::blob_size(&head);
    }
    let claims_image = path.extension().is_some_and(|x| {
        ["jpg", "jpeg", "png", "gif", "webp", "avif"]
            .iter()
            .any(|image| x.eq_ignore_ascii_case(image))
    });
    if claims_image && image_type.is_none() {
        // A `.jpg` that is no image would reach readers as image/jpeg.
        tracing::warn!(
            "{}: not an image as its name says; not published",
            path.display()
        );
        return None;
    }
    let shown = image_type.is_some() && meta.len() <= MAX_IMAGE_BYTES;
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
    let pixels = size
        .ok()
        .filter(|_| shown)
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

impl Library {
    /// Re-measures what changed under `media/`.
    pub(super) fn refresh_all_media(&mut self) -> bool {
        let listed = files_under_media(&self.dir);
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
            // Those not hashed yet too (a state saved before they were),
            // unless they are to be hashed later: `serve` hashes them after
            // its first answer, which a rescan meanwhile should not do twice.
            let rehash = self.media_hashes == MediaHashes::AtOnce;
            listed
                .into_par_iter()
                .filter(|(path, now)| {
                    self.media
                        .get(path)
                        .is_none_or(|(stamp, file)| stamp != now || (rehash && file.hash.is_none()))
                })
                .map(|(path, _)| path)
                .collect()
        };
        changed |= !stale.is_empty();
        let hashed = !first || self.media_hashes == MediaHashes::AtOnce;
        for (path, measured) in read_all(&self.dir, stale, hashed) {
            match measured {
                Some((stamp, file)) => self.put_media(path, Some(stamp), file),
                None => self.drop_media(&path),
            }
        }
        changed
    }

    /// One media path (file or folder) changed: re-measure what is there
    /// now, and re-read the records whose image lies there.
    pub(super) fn refresh_media_path(&mut self, relative: &Path) -> bool {
        let full = self.dir.join(relative);
        let mut changed = false;
        let present: Vec<PathBuf> = if full.is_dir() {
            files_under_media(&self.dir)
                .into_iter()
                .filter(|p| p.starts_with(&full))
                .collect()
        } else if is_publishable(&self.dir, &full) {
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
            match read(&self.dir, &path, &RealFolders::default(), true) {
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
    /// [`read_all`]: outside any lock, as a reload may run
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

    pub(super) fn put_media(&mut self, path: PathBuf, stamp: Option<Stamp>, file: MediaFile) {
        self.modified = true;
        if let Some(index) = &mut self.index {
            index.set_media(file.clone());
        }
        self.media.insert(path, (stamp, file));
    }

    pub(super) fn drop_media(&mut self, path: &Path) {
        self.modified = true;
        if let Some((_, file)) = self.media.remove(path) {
            if let Some(index) = &mut self.index {
                index.remove_media(&file.url_path);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{content_type, read, RealFolders};
    use std::path::Path;

    /// A JPEG of `width` × `height` whose size follows an Exif segment of
    /// `exif` bytes.
    fn jpeg_after_exif(width: u16, height: u16, exif: u16) -> Vec<u8> {
        let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE1];
        bytes.extend_from_slice(&(exif + 2).to_be_bytes());
        bytes.extend(std::iter::repeat_n(0u8, exif as usize));
        bytes.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x11, 0x08]);
        bytes.extend_from_slice(&height.to_be_bytes());
        bytes.extend_from_slice(&width.to_be_bytes());
        bytes.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
        bytes.extend_from_slice(&[0xFF, 0xD9]);
        bytes
    }

    #[test]
    fn an_image_is_measured_past_a_large_exif_segment() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("media")).unwrap();
        for (name, exif) in [("small.jpg", 100), ("large.jpg", 60_000)] {
            let path = dir.path().join("media").join(name);
            std::fs::write(&path, jpeg_after_exif(640, 480, exif)).unwrap();
            for hashed in [false, true] {
                let (_, measured) =
                    read(dir.path(), &path, &RealFolders::default(), hashed).unwrap();
                assert_eq!(measured.pixels, Some((640, 480)), "{name}, hashed {hashed}");
                assert_eq!(measured.content_type, "image/jpeg");
                assert_eq!(measured.hash.is_some(), hashed);
            }
        }
    }

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
