//! Images named by records and `site.toml`: local files under `media/`
//! (measured: length, type from the bytes, pixel size) or remote URLs
//! (described by the record).

use rustc_hash::FxHashMap;
use std::io::{BufRead, BufReader};
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;

use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};

use super::problem::ProblemKind;
use super::{MediaPass, Stamp};
use crate::model::MediaFile;

/// Characters escaped in one URL path segment.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'\\');

/// Bytes of an image a record shows: feed readers download enclosures, and
/// a 200 MB photo straight from the camera helps nobody.
pub const MAX_IMAGE_BYTES: u64 = 20 * 1024 * 1024;

/// What a local image file is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalImage {
    /// The path as the record names it (`media/…`).
    pub src: String,
    /// Absolute URL under `base_url`.
    pub url: String,
    /// The file, for change detection.
    pub file: PathBuf,
    /// Its stamp when measured: the version these facts are of.
    pub(crate) stamp: Option<Stamp>,
    /// MIME type from the bytes.
    pub mime_type: &'static str,
    /// Exact length in bytes.
    pub length: u64,
    /// Pixel size.
    pub width: u32,
    /// Pixel size.
    pub height: u32,
}

/// Local images already measured, by file: many records show the same
/// image (a town hall photo, a logo), and measuring one means resolving its
/// real path and reading its header. The media pass has measured every
/// image under `media/` already (from the bytes it hashes); what it did not
/// measure is measured once here. An entry holds while the file's stamp
/// (inode, length, mtime, ctime) is the same, so a replaced file, or a
/// symlink pointed elsewhere, is measured again.
#[derive(Default)]
pub struct MeasuredImages<'a> {
    /// The media pass's files, by path, with the stamp measured.
    media: Option<&'a FxHashMap<PathBuf, (Option<Stamp>, MediaFile)>>,
    /// Whether that pass ran just before this reading.
    pass: MediaPass,
    /// Measured in this reading.
    measured: Mutex<FxHashMap<PathBuf, (Stamp, LocalImage)>>,
}

impl<'a> MeasuredImages<'a> {
    /// Starts from what the media pass measured, and when.
    pub(super) fn with_media(
        media: &'a FxHashMap<PathBuf, (Option<Stamp>, MediaFile)>,
        pass: MediaPass,
    ) -> MeasuredImages<'a> {
        MeasuredImages {
            media: Some(media),
            pass,
            measured: Mutex::default(),
        }
    }

    fn get(&self, file: &Path, stamp: Stamp) -> Option<LocalImage> {
        if let Some(image) = self.media_image(file).filter(|i| i.stamp == Some(stamp)) {
            return Some(image);
        }
        let table = self.measured.lock().unwrap_or_else(|e| e.into_inner());
        table
            .get(file)
            .filter(|(known, _)| *known == stamp)
            .map(|(_, image)| image.clone())
    }

    /// The stamp of `file` and what is known of that version. When the
    /// media pass ran just before this reading, its stamp and measurement
    /// are taken as they are, without a `stat` (70 000 at a first start of
    /// 100 000 records): a change since is a change of the image, which
    /// makes the records showing it stale, as their entries keep the
    /// pass's stamp.
    fn lookup(&self, file: &Path) -> (Option<Stamp>, Option<LocalImage>) {
        if let Some(image) = self
            .media_image(file)
            .filter(|_| self.pass == MediaPass::Now)
        {
            return (image.stamp, Some(image));
        }
        let stamp = Stamp::of(file);
        (stamp, stamp.and_then(|stamp| self.get(file, stamp)))
    }

    /// The media pass's measurement of `file`, if it is an image a record
    /// may show (anything else is measured again, and refused with its
    /// reason).
    fn media_image(&self, file: &Path) -> Option<LocalImage> {
        let (stamp, media) = self.media?.get(file)?;
        let stamp = (*stamp)?;
        let mime_type = image_type_named(&media.content_type)?;
        // Measured only when not too large to show (see `media::read`).
        let (width, height) = media.pixels?;
        Some(LocalImage {
            src: String::new(),
            url: String::new(),
            file: media.file.clone(),
            stamp: Some(stamp),
            mime_type,
            length: media.length,
            width,
            height,
        })
    }

    fn put(&self, file: PathBuf, stamp: Stamp, image: LocalImage) {
        let mut table = self.measured.lock().unwrap_or_else(|e| e.into_inner());
        table.insert(file, (stamp, image));
    }
}

/// True when `src` names a remote image rather than a file under `feeds/`.
pub fn is_remote(src: &str) -> bool {
    src.starts_with("https://") || src.starts_with("http://")
}

/// `text` as an absolute http(s) URL that feeds may carry, if it is one:
/// what a URI cannot hold (a space, an umlaut in the path) percent-encoded
/// and the host normalised, as `url` serialises it. Written as typed, a
/// space made the W3C validator's "Invalid character in a URI".
pub fn web_url(text: &str) -> Option<String> {
    let text = text.trim();
    if !is_remote(text) {
        return None;
    }
    url::Url::parse(text).ok().map(String::from)
}

/// Checks that `src` stays inside `feeds_dir/media` (also through symlinks)
/// and measures the file, unless `measured` knows this version of it.
pub fn inspect_local(
    feeds_dir: &Path,
    src: &str,
    base_url: &str,
    measured: &MeasuredImages,
) -> Result<LocalImage, ProblemKind> {
    let relative = Path::new(src);
    let escapes = src.contains('\\')
        || relative
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir));
    if escapes {
        return Err(ProblemKind::ImageOutside(src.to_owned()));
    }
    let mut segments = relative
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => s.to_str(),
            _ => None,
        })
        .peekable();
    // A file inside media/, not media/ itself.
    if segments.next() != Some("media") || segments.peek().is_none() {
        return Err(ProblemKind::ImageNotInMedia(src.to_owned()));
    }
    let mut url = String::with_capacity(base_url.len() + src.len() + 16);
    url.push_str(base_url);
    url.push_str("/media");
    for segment in segments {
        url.push('/');
        url.extend(utf8_percent_encode(segment, SEGMENT));
    }
    let written = feeds_dir.join(relative);
    let (stamp, known) = measured.lookup(&written);
    if let Some(known) = known {
        return Ok(LocalImage {
            src: src.to_owned(),
            url,
            ..known
        });
    }
    let real = written
        .canonicalize()
        .map_err(|_| ProblemKind::ImageMissing(src.to_owned()))?;
    if super::leads_outside(&written, &real, &feeds_dir.join("media")) {
        return Err(ProblemKind::ImageOutside(src.to_owned()));
    }
    // One open for length, type and pixel size.
    let unreadable = |_| ProblemKind::ImageMissing(src.to_owned());
    let file = std::fs::File::open(&real).map_err(unreadable)?;
    let length = file.metadata().map_err(unreadable)?.len();
    if length > MAX_IMAGE_BYTES {
        return Err(ProblemKind::TooLarge {
            what: "the image",
            found: format!("{} MiB", length / (1024 * 1024)),
            limit: format!("{} MiB", MAX_IMAGE_BYTES / (1024 * 1024)),
        });
    }
    let mut reader = BufReader::new(file);
    let not_image = || ProblemKind::ImageUnknownType(src.to_owned());
    let mime_type = imagesize::image_type(reader.fill_buf().map_err(unreadable)?)
        .ok()
        .and_then(mime_type_of)
        .ok_or_else(not_image)?;
    let size = imagesize::reader_size(reader).map_err(|_| not_image())?;
    let image = LocalImage {
        src: src.to_owned(),
        url,
        file: real,
        stamp,
        mime_type,
        length,
        width: size.width as u32,
        height: size.height as u32,
    };
    if let Some(stamp) = stamp {
        measured.put(written, stamp, image.clone());
    }
    Ok(image)
}

/// The MIME types of the image formats feed readers display.
const IMAGE_TYPES: [&str; 5] = [
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "image/avif",
];

/// `written` as one of the MIME types of the image formats feed readers
/// display (any case), if it is one.
pub(crate) fn image_type_named(written: &str) -> Option<&'static str> {
    IMAGE_TYPES
        .into_iter()
        .find(|known| known.eq_ignore_ascii_case(written.trim()))
}

/// The MIME type of the image formats feed readers display.
fn mime_type_of(kind: imagesize::ImageType) -> Option<&'static str> {
    use imagesize::{Compression, ImageType};
    Some(match kind {
        ImageType::Jpeg => IMAGE_TYPES[0],
        ImageType::Png => IMAGE_TYPES[1],
        ImageType::Gif => IMAGE_TYPES[2],
        ImageType::Webp => IMAGE_TYPES[3],
        ImageType::Heif(Compression::Av1) => IMAGE_TYPES[4],
        _ => return None,
    })
}

/// The MIME type of an image readers show, from its bytes; `None` for
/// anything else.
pub fn sniff_mime_type(bytes: &[u8]) -> Option<&'static str> {
    imagesize::image_type(bytes).ok().and_then(mime_type_of)
}
