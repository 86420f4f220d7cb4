//! What is wrong with an input file, said so that an editor can fix it.

use std::fmt;
use std::path::PathBuf;

use super::date::DateError;

/// One problem in one file: `path:line: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file, relative to the content directory where possible.
    pub path: PathBuf,
    /// 1-based line of the offending text, when one can be named.
    pub line: Option<usize>,
    /// What is wrong and what to do.
    pub kind: ProblemKind,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.path.display(), line, self.kind),
            None => write!(f, "{}: {}", self.path.display(), self.kind),
        }
    }
}

impl std::error::Error for Problem {}

/// How many records without a subscription document a warning names;
/// the rest it counts, so that an imported archive (or a fresh checkout,
/// where every file is new) does not print a line per record.
pub const OUTSIDE_NAMED: usize = 10;

/// The warning lines for published records that no subscription document
/// shows (`paths` under `dir`, the most relevant first), beyond the
/// newest `items` entries of the site and of their categories: the first
/// [`OUTSIDE_NAMED`] named, then one line counting the rest as `more`
/// ("neue Meldungen …").
pub fn outside_subscriptions(
    paths: &[&std::path::Path],
    dir: &std::path::Path,
    items: usize,
    more: &str,
) -> Vec<String> {
    let mut lines: Vec<String> = paths
        .iter()
        .take(OUTSIDE_NAMED)
        .map(|path| {
            format!(
                "{}: erscheint in keinem Abo-Feed – älter als die {items} neuesten Meldungen der Seite und ihrer Kategorien, nur im Archiv zu finden",
                dir.join(path).display()
            )
        })
        .collect();
    if let Some(rest) = paths.len().checked_sub(OUTSIDE_NAMED).filter(|&n| n > 0) {
        lines.push(format!("… und {rest} weitere {more}"));
    }
    lines
}

/// The keys a TOML file knows, per table (`""` the top level), named
/// when it meets another: a typo's fix is then on the same line.
pub(crate) type TomlKeys = [(&'static str, &'static [&'static str])];

/// Reads `text` (a front matter, `site.toml`) as TOML into `T`, or says
/// where (the span of the first problem in the text) and what is wrong, on
/// one line so that `path:line: message` stays one line.
pub(crate) fn read_toml<T>(
    text: &str,
    keys: &TomlKeys,
) -> Result<T, (toml_spanner::Span, ProblemKind)>
where
    T: for<'de> toml_spanner::FromToml<'de>,
{
    toml_spanner::from_str(text).map_err(|error| {
        let first = error
            .errors
            .iter()
            .min_by_key(|e| e.span().start)
            .map(|e| (e.span(), toml_problem(e, text, keys)));
        first.unwrap_or((
            toml_spanner::Span::new(0, 0),
            ProblemKind::Toml(error.to_string()),
        ))
    })
}

/// The TOML reader's complaint, naming the key where it only says
/// "duplicate key" or "unexpected key", and the keys it knows there.
fn toml_problem(error: &toml_spanner::Error, text: &str, keys: &TomlKeys) -> ProblemKind {
    let key = text
        .get(error.span().range())
        .map(str::trim)
        .filter(|key| !key.is_empty() && !key.contains('\n'));
    match (error.kind(), key) {
        (toml_spanner::ErrorKind::DuplicateKey { .. }, Some(key)) => {
            ProblemKind::Toml(format!("duplicate key `{key}`"))
        }
        (toml_spanner::ErrorKind::UnexpectedKey { .. }, _) => {
            let path = error.path().map(ToString::to_string);
            let name = path.as_deref().or(key).unwrap_or_default();
            let table = name.rsplit_once('.').map_or("", |(table, _)| table);
            match keys.iter().find(|(known, _)| *known == table) {
                Some((_, known)) => ProblemKind::Toml(format!(
                    "unknown key `{name}`; known here: {}",
                    known.join(", ")
                )),
                None => ProblemKind::Toml(format!("unknown key `{name}`")),
            }
        }
        _ => ProblemKind::Toml(
            error
                .to_string()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
        ),
    }
}

impl Problem {
    /// The same problem with `dir` (the content directory as the user typed
    /// it) in front of its path, so that editors' tools can jump to it:
    /// `feeds/articles/x.md:3: …`.
    pub fn in_dir(&self, dir: &std::path::Path) -> Problem {
        Problem {
            path: dir.join(&self.path),
            ..self.clone()
        }
    }
}

/// Every way an input file can be refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProblemKind {
    /// The file system refused.
    #[error("cannot read the file: {0}")]
    Unreadable(String),
    /// Records are UTF-8 text.
    #[error("the file is not valid UTF-8; save it as UTF-8")]
    InvalidUtf8,
    /// The record does not start with `+++`.
    #[error("no front matter: a record starts with a line `+++`, then TOML, then `+++`")]
    NoFrontMatter,
    /// The opening `+++` has no closing partner.
    #[error("the front matter opened here is never closed with a line `+++`")]
    UnclosedFrontMatter,
    /// The TOML parser's own words.
    #[error("bad TOML: {0}")]
    Toml(String),
    /// A required key is absent.
    #[error("`{0}` is missing; add e.g. {1}")]
    Missing(&'static str, &'static str),
    /// A key is present but empty.
    #[error("`{0}` is empty")]
    Empty(&'static str),
    /// `date` or `updated` could not be read.
    #[error("{0}")]
    Date(#[from] DateError),
    /// A date far in the future or long past: most often a typo.
    #[error(
        "Datum {text} liegt {distance} – Tippfehler? (erlaubt: ab 1990, höchstens ein Jahr voraus)"
    )]
    ImplausibleDate {
        /// The date as written.
        text: String,
        /// "180 Jahre in der Zukunft", "vor 1990".
        distance: String,
    },
    /// A record, field or list beyond the limits the README lists.
    #[error("{what} is too large: {found}, at most {limit} allowed")]
    TooLarge {
        /// What is too large ("the record", "title", …).
        what: &'static str,
        /// How large it is.
        found: String,
        /// The limit.
        limit: String,
    },
    /// `updated` before `date`.
    #[error("`updated` is before `date`")]
    UpdatedBeforePublished,
    /// An id (or file stem) that is not one URL segment.
    #[error("id `{0}` may only hold letters a–z, digits, `-`, `_` and `.`; set `id = \"…\"` or rename the file")]
    BadId(String),
    /// Two records claim the same identity.
    #[error("id `{id}` is already used by {other}; every record needs its own id")]
    DuplicateId {
        /// The id in question.
        id: String,
        /// The record that keeps it.
        other: String,
    },
    /// A category name without letters or digits.
    #[error("category `{0}` has no letters or digits")]
    BadCategory(String),
    /// `link` or a remote image that is not an absolute http(s) URL.
    #[error("`{0}` is not an absolute http(s) URL")]
    BadUrl(String),
    /// A record file that is a symlink to somewhere outside the content
    /// directory: only what lies in `feeds/` is published.
    #[error(
        "the record is a link to {0}, outside the content directory; copy the file in instead"
    )]
    RecordOutside(String),
    /// A folder that cannot be listed: its records cannot be read.
    #[error("cannot read the folder: {0}")]
    UnreadableFolder(String),
    /// An image path with `..`, an absolute path or a symlink that escapes.
    #[error("image `{0}` leaves the content directory; put it under media/")]
    ImageOutside(String),
    /// Images are served from `/media/`, so local ones must live there.
    #[error("image `{0}` is not under media/; move it there")]
    ImageNotInMedia(String),
    /// The named file is not there.
    #[error("image file `{0}` does not exist")]
    ImageMissing(String),
    /// The bytes are not an image a feed reader shows.
    #[error("`{0}` is not a JPEG, PNG, GIF, WebP or AVIF image")]
    ImageUnknownType(String),
    /// Enclosures need exact type and length, which only local files give.
    #[error("remote image `{0}` needs `type` and `length` (bytes) in [image]")]
    RemoteImageIncomplete(String),
    /// A remote image's `type` that no feed reader shows (or a typo):
    /// enclosures and Media RSS would carry it.
    #[error("remote image `{src}`: type `{found}` is not image/jpeg, image/png, image/gif, image/webp or image/avif")]
    RemoteImageType {
        /// The image's URL.
        src: String,
        /// The `type` written.
        found: String,
    },
    /// A remote image's `length = 0`: feed validators refuse a Media RSS
    /// `fileSize` of 0, and readers take it for an empty file.
    #[error("remote image `{0}`: `length` is its size in bytes, which cannot be 0")]
    RemoteImageEmpty(String),
    /// A remote image's `width` or `height` of 0: Media RSS and JSON Feed
    /// would carry it, and validators refuse it.
    #[error("remote image `{0}`: `width` and `height` are its size in pixels, which cannot be 0 (leave them out when unknown)")]
    RemoteImageNoPixels(String),
    /// `site.toml` values that are not usable.
    #[error("{0}")]
    Config(String),
}

/// 1-based line number of a byte offset in `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}
