//! One article record: `+++` TOML front matter `+++`, then Markdown
//! (PRODUCT.md §1.2). Every check of a record happens here.

use std::path::Path;

use chrono::{DateTime, Datelike, FixedOffset, Utc};
use serde::{Deserialize, Serialize};
use toml_spanner::{Spanned, Toml};

use super::date::{self, DateError};
use super::image::{self, LocalImage, MeasuredImages};
use super::markdown;
use super::problem::{line_of, read_toml, Problem, ProblemKind};
use super::text::{plain_line, xml_safe};
use crate::model::{Article, ArticleId, Category, CategorySlug, Image, SiteConfig};

/// The keys of a front matter and of its `[image]`, as [`FrontMatter`]
/// and [`ImageFront`] read them: named when a record has another.
const FRONT_KEYS: &crate::content::problem::TomlKeys = &[
    (
        "",
        &[
            "title",
            "date",
            "updated",
            "id",
            "author",
            "categories",
            "summary",
            "link",
            "draft",
            "image",
        ],
    ),
    (
        "image",
        &[
            "src", "alt", "caption", "credit", "type", "length", "width", "height",
        ],
    ),
];

#[derive(Toml)]
#[toml(deny_unknown_fields)]
struct FrontMatter {
    title: Option<Spanned<String>>,
    date: Option<Spanned<DateValue>>,
    updated: Option<Spanned<DateValue>>,
    id: Option<Spanned<String>>,
    author: Option<String>,
    #[toml(default)]
    categories: Vec<Spanned<String>>,
    summary: Option<String>,
    link: Option<Spanned<String>>,
    #[toml(default)]
    draft: bool,
    image: Option<ImageFront>,
}

#[derive(Toml)]
#[toml(deny_unknown_fields)]
struct ImageFront {
    src: Spanned<String>,
    alt: Option<String>,
    caption: Option<String>,
    credit: Option<String>,
    #[toml(rename = "type")]
    mime_type: Option<String>,
    length: Option<u64>,
    width: Option<u32>,
    height: Option<u32>,
}

/// `date` or `updated` as written: text (the German forms, RFC 3339), a
/// TOML datetime, or anything else, kept as its TOML text to be named in
/// the error.
enum DateValue {
    Text(String),
    Toml(toml_spanner::DateTime),
    Other(String),
}

impl<'de> toml_spanner::FromToml<'de> for DateValue {
    fn from_toml(
        ctx: &mut toml_spanner::Context<'de>,
        item: &toml_spanner::Item<'de>,
    ) -> Result<Self, toml_spanner::Failed> {
        Ok(match item.value() {
            toml_spanner::Value::String(text) => DateValue::Text((*text).to_owned()),
            toml_spanner::Value::DateTime(datetime) => DateValue::Toml(*datetime),
            _ => DateValue::Other(
                ctx.source()
                    .get(item.span().range())
                    .unwrap_or_default()
                    .to_owned(),
            ),
        })
    }
}

/// A record that was read: an article, or a draft that is not published.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// Ready to publish; `local_image` is the image file it depends on.
    Article {
        /// The article, its body still Markdown.
        article: Box<ArticleSource>,
        /// The local image as measured, whose change makes the record stale.
        local_image: Option<LocalImage>,
    },
    /// `draft = true`: never published.
    Draft,
}

/// An article as its record reads, checked, with the body still Markdown:
/// what the store keeps. Making the body's HTML (Markdown, then
/// sanitising) is most of the work of reading a record and cannot fail, so
/// it waits until a document first shows the article: a first start of
/// 100 000 records does not wait for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArticleSource {
    /// The article without its body's HTML; its `summary` is empty when
    /// the body's first paragraph is to be the teaser.
    pub article: Article,
    /// The body, Markdown made XML-safe.
    pub(crate) body: String,
    /// What relative links in the body resolve against.
    pub(crate) base_url: String,
}

impl ArticleSource {
    /// The whole article: the body as sanitised HTML, the image's figure
    /// after its first paragraph, the teaser if the record names none.
    pub fn render(self) -> Article {
        let mut article = self.article;
        if article.summary.is_empty() {
            article.summary = markdown::first_paragraph_text(&self.body);
        }
        let body_html = markdown::body_html(&self.body, &self.base_url);
        article.content_html = match &article.image {
            Some(image) => with_figure(body_html.trim_end(), &markdown::figure_html(image)),
            None => body_html.trim_end().to_owned(),
        };
        article
    }
}

/// Where in the file the front matter lives, so that TOML spans become lines.
struct Layout<'a> {
    /// The TOML between the `+++` lines; it starts on line 2.
    front: &'a str,
    /// The Markdown after the closing `+++`.
    body: &'a str,
}

/// Reads one record. `path` is relative to `feeds_dir` and names the record
/// in every message; `now` tells a scheduled date from a typo; `images`
/// keeps the measurements of local images that other records show too.
pub fn parse(
    feeds_dir: &Path,
    path: &Path,
    bytes: &[u8],
    config: &SiteConfig,
    now: DateTime<Utc>,
    images: &MeasuredImages,
) -> Result<Record, Problem> {
    let problem = |line: Option<usize>, kind| Problem {
        path: path.to_path_buf(),
        line,
        kind,
    };
    // simdutf8 checks German text (an umlaut every few words leaves std's
    // ASCII fast path) several times faster; its error says where only
    // when asked, so std finds the line of a bad byte.
    let text = simdutf8::basic::from_utf8(bytes)
        .or_else(|_| std::str::from_utf8(bytes))
        .map_err(|e| {
            let good = std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default();
            problem(Some(line_of(good, good.len())), ProblemKind::InvalidUtf8)
        })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if let Some(kind) = too_large(bytes.len() as u64) {
        return Err(problem(None, kind));
    }
    let layout = split(text).map_err(|(line, kind)| problem(Some(line), kind))?;
    let front_line =
        |span: toml_spanner::Span| Some(line_of(layout.front, span.start as usize) + 1);
    let at_start = Some(1);

    let front: FrontMatter = read_toml(layout.front, FRONT_KEYS)
        .map_err(|(span, kind)| problem(front_line(span), kind))?;
    if front.draft {
        return Ok(Record::Draft);
    }
    let title = front.title.ok_or_else(|| {
        problem(
            at_start,
            ProblemKind::Missing("title", "title = \"Baustelle an der Zwickauer Straße\""),
        )
    })?;
    let title_text = plain_line(&title.value);
    let title_chars = title_text.chars().count();
    if title_chars > limits::TITLE_CHARS {
        return Err(problem(
            front_line(title.span),
            ProblemKind::TooLarge {
                what: "`title`",
                found: format!("{title_chars} characters"),
                limit: format!("{} characters", limits::TITLE_CHARS),
            },
        ));
    }
    if title_text.is_empty() {
        return Err(problem(front_line(title.span), ProblemKind::Empty("title")));
    }
    if let Some(tag) = super::text::html_tag(&title_text) {
        tracing::warn!(
            "{}:{}: Warnung: der Titel enthält HTML ({tag}); er wird wörtlich als Text veröffentlicht, manche RSS-Leser deuten Titel aber als HTML – eingefügtes Markup entfernen?",
            feeds_dir.join(path).display(),
            front_line(title.span).unwrap_or(1)
        );
    }

    let read_date = |value: &Spanned<DateValue>| -> Result<DateTime<FixedOffset>, Problem> {
        let result = match &value.value {
            DateValue::Text(s) => date::parse_text(s, config.timezone),
            DateValue::Toml(dt) => date::parse_toml(dt, config.timezone),
            DateValue::Other(text) => Err(DateError::Unrecognised(text.clone())),
        };
        result.map_err(|e| problem(front_line(value.span), e.into()))
    };
    let date_value = front.date.ok_or_else(|| {
        problem(
            at_start,
            ProblemKind::Missing("date", "date = \"11.01.2022\""),
        )
    })?;
    let published = read_date(&date_value)?;
    if let Some(distance) = implausible(published, now) {
        let text = match &date_value.value {
            DateValue::Text(s) => s.trim().to_owned(),
            DateValue::Toml(dt) => {
                let mut buffer = std::mem::MaybeUninit::uninit();
                dt.format(&mut buffer).to_owned()
            }
            DateValue::Other(text) => text.clone(),
        };
        return Err(problem(
            front_line(date_value.span),
            ProblemKind::ImplausibleDate { text, distance },
        ));
    }
    let updated = front.updated.as_ref().map(read_date).transpose()?;
    if let (Some(updated_at), Some(value)) = (updated, &front.updated) {
        if updated_at < published {
            return Err(problem(
                front_line(value.span),
                ProblemKind::UpdatedBeforePublished,
            ));
        }
    }

    let id = match &front.id {
        Some(id) => ArticleId::new(id.value.trim())
            .ok_or_else(|| problem(front_line(id.span), ProblemKind::BadId(id.value.clone())))?,
        None => {
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default();
            ArticleId::new(stem)
                .ok_or_else(|| problem(at_start, ProblemKind::BadId(stem.to_owned())))?
        }
    };

    if front.categories.len() > limits::CATEGORIES {
        let line = front.categories.get(limits::CATEGORIES).map(|c| c.span);
        return Err(problem(
            line.map_or(at_start, &front_line),
            ProblemKind::TooLarge {
                what: "`categories`",
                found: format!("{} categories", front.categories.len()),
                limit: format!("{}", limits::CATEGORIES),
            },
        ));
    }
    let mut categories: Vec<Category> = Vec::new();
    for name in &front.categories {
        if name.value.chars().count() > limits::CATEGORY_CHARS {
            return Err(problem(
                front_line(name.span),
                ProblemKind::TooLarge {
                    what: "a category name",
                    found: format!("{} characters", name.value.chars().count()),
                    limit: format!("{} characters", limits::CATEGORY_CHARS),
                },
            ));
        }
        let category = category_named(&name.value).ok_or_else(|| {
            problem(
                front_line(name.span),
                ProblemKind::BadCategory(name.value.clone()),
            )
        })?;
        if !categories.iter().any(|c| c.slug == category.slug) {
            categories.push(category);
        }
    }

    let external_link = match &front.link {
        None => None,
        Some(link) => {
            let text = link.value.trim();
            let Some(url) = image::web_url(text) else {
                return Err(problem(
                    front_line(link.span),
                    ProblemKind::BadUrl(text.to_owned()),
                ));
            };
            Some(url)
        }
    };

    let (image, local_image) = match &front.image {
        None => (None, None),
        Some(spec) => {
            let (image, file) = resolve_image(spec, &title_text, feeds_dir, config, images)
                .map_err(|kind| problem(front_line(spec.src.span), kind))?;
            (Some(image), file)
        }
    };

    let body = xml_safe(layout.body);
    if let Some((line, depth)) = markdown::deepest_nesting(&body, limits::NESTING) {
        return Err(problem(
            Some(line_of(text, text.len() - layout.body.len()) + line - 1),
            ProblemKind::TooLarge {
                what: "the nesting of quotes and lists",
                found: format!("{depth} levels"),
                limit: format!("{} levels", limits::NESTING),
            },
        ));
    }
    // Empty: the body's first paragraph, when it is rendered.
    let summary = front.summary.as_deref().map(plain_line).unwrap_or_default();

    let article = Article {
        id,
        title: title_text,
        published,
        updated,
        author: front
            .author
            .as_deref()
            .map(plain_line)
            .filter(|a| !a.is_empty())
            .unwrap_or_else(|| config.author.clone()),
        categories,
        summary,
        content_html: String::new(),
        external_link,
        image,
        source: path.to_path_buf(),
    };
    Ok(Record::Article {
        article: Box::new(ArticleSource {
            article,
            body: body.into_owned(),
            base_url: config.base_url.clone(),
        }),
        local_image,
    })
}

/// The record's `[image]`: a local file measured, or a remote one as the
/// record describes it; with the local file, whose change makes the record
/// stale.
fn resolve_image(
    spec: &ImageFront,
    title: &str,
    feeds_dir: &Path,
    config: &SiteConfig,
    images: &MeasuredImages,
) -> Result<(Image, Option<LocalImage>), ProblemKind> {
    let src = spec.src.value.trim();
    let alt = spec
        .alt
        .as_deref()
        .or(spec.caption.as_deref())
        .map(plain_line)
        .unwrap_or_else(|| title.to_owned());
    let caption = spec
        .caption
        .as_deref()
        .map(plain_line)
        .filter(|s| !s.is_empty());
    let credit = spec
        .credit
        .as_deref()
        .map(plain_line)
        .filter(|s| !s.is_empty());
    if image::is_remote(src) {
        let Some(url) = image::web_url(src) else {
            return Err(ProblemKind::BadUrl(src.to_owned()));
        };
        let (Some(mime_type), Some(length)) = (&spec.mime_type, spec.length) else {
            return Err(ProblemKind::RemoteImageIncomplete(src.to_owned()));
        };
        let Some(mime_type) = image::image_type_named(mime_type) else {
            return Err(ProblemKind::RemoteImageType {
                src: src.to_owned(),
                found: plain_line(mime_type),
            });
        };
        if length == 0 {
            return Err(ProblemKind::RemoteImageEmpty(src.to_owned()));
        }
        if spec.width == Some(0) || spec.height == Some(0) {
            return Err(ProblemKind::RemoteImageNoPixels(src.to_owned()));
        }
        let image = Image {
            url,
            mime_type: mime_type.to_owned(),
            length,
            width: spec.width,
            height: spec.height,
            alt,
            caption,
            credit,
        };
        return Ok((image, None));
    }
    let local = image::inspect_local(feeds_dir, src, &config.base_url, images)?;
    let image = Image {
        url: local.url.clone(),
        mime_type: local.mime_type.to_owned(),
        length: local.length,
        width: Some(local.width),
        height: Some(local.height),
        alt,
        caption,
        credit,
    };
    Ok((image, Some(local)))
}

/// The body with the image's figure after its first paragraph (or first,
/// when the body does not open with one): readers that make a teaser of
/// the content's text then start with the article, not the caption.
fn with_figure(body_html: &str, figure: &str) -> String {
    const END: &str = "</p>";
    match body_html.find(END) {
        Some(at) if body_html.starts_with("<p>") => {
            let split = at + END.len();
            format!("{}\n{figure}{}", &body_html[..split], &body_html[split..])
        }
        _ if body_html.is_empty() => figure.to_owned(),
        _ => format!("{figure}\n{body_html}"),
    }
}

/// The limits of a record (listed in the README): beyond them a record is
/// refused with a message, so that no single file can cost the service
/// more than linear time or a disproportionate share of memory.
pub mod limits {
    /// Bytes of a record file.
    pub const RECORD_BYTES: usize = 1024 * 1024;
    /// Characters of a title.
    pub const TITLE_CHARS: usize = 300;
    /// Categories of one record.
    pub const CATEGORIES: usize = 10;
    /// Characters of a category name.
    pub const CATEGORY_CHARS: usize = 80;
    /// Levels of nested block quotes and lists in the body.
    pub const NESTING: usize = 32;
}

/// The problem of a record file of `len` bytes, if it is over the limit:
/// checked by whoever reads the file, which need not read past the limit.
pub(crate) fn too_large(len: u64) -> Option<ProblemKind> {
    (len > limits::RECORD_BYTES as u64).then(|| ProblemKind::TooLarge {
        what: "the record",
        found: format!("{} KiB", len / 1024),
        limit: format!("{} KiB", limits::RECORD_BYTES / 1024),
    })
}

/// Finds the front matter between the opening `+++` line and the next one.
fn split(text: &str) -> Result<Layout<'_>, (usize, ProblemKind)> {
    let mut lines = text.split_inclusive('\n');
    let first = lines.next().unwrap_or_default();
    if first.trim_end() != "+++" {
        return Err((1, ProblemKind::NoFrontMatter));
    }
    let front_start = first.len();
    let mut offset = front_start;
    for line in lines {
        if line.trim_end() == "+++" {
            return Ok(Layout {
                front: &text[front_start..offset],
                body: &text[offset + line.len()..],
            });
        }
        offset += line.len();
    }
    Err((1, ProblemKind::UnclosedFrontMatter))
}

/// Why a publication date cannot be meant: before 1990, or more than a
/// year ahead of `now` (a record may be scheduled, but not for 2202).
fn implausible(date: DateTime<FixedOffset>, now: DateTime<Utc>) -> Option<String> {
    if date.year() < 1990 {
        return Some("vor 1990".to_owned());
    }
    let ahead = date.with_timezone(&Utc) - now;
    if ahead <= chrono::Duration::days(366) {
        return None;
    }
    let years = ahead.num_days() / 365;
    Some(match years {
        0 | 1 => "mehr als ein Jahr in der Zukunft".to_owned(),
        n => format!("{n} Jahre in der Zukunft"),
    })
}

/// The category a record names, or `None` when the name makes no slug.
/// A town uses a few dozen names across 100 000 records: each reading
/// thread works each out once (a slug costs five string passes).
fn category_named(name: &str) -> Option<Category> {
    /// Names kept per thread; the table starts over when it is full.
    const KEPT: usize = 1024;
    thread_local! {
        static KNOWN: std::cell::RefCell<rustc_hash::FxHashMap<String, Option<Category>>> =
            Default::default();
    }
    KNOWN.with_borrow_mut(|known| {
        if let Some(category) = known.get(name) {
            return category.clone();
        }
        let plain = plain_line(name);
        let category = CategorySlug::from_name(&plain).map(|slug| Category {
            name: plain.into(),
            slug,
        });
        if known.len() >= KEPT {
            known.clear();
        }
        known.insert(name.to_owned(), category.clone());
        category
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The keys an error names are the keys the front matter reads: a
    /// record setting each named key is read (none unknown), and sets
    /// every field (the patterns name them all, so a new field must be
    /// here); `titel` is refused with the list.
    #[test]
    fn named_keys_are_the_keys_read() {
        let mut text = String::new();
        for (table, keys) in FRONT_KEYS {
            if !table.is_empty() {
                text.push_str(&format!("[{table}]\n"));
            }
            for key in keys
                .iter()
                .filter(|key| !FRONT_KEYS.iter().any(|(t, _)| t == *key))
            {
                let value = match *key {
                    "categories" => "[\"Kultur\"]",
                    "draft" => "true",
                    "length" | "width" | "height" => "1",
                    _ => "\"x\"",
                };
                text.push_str(&format!("{key} = {value}\n"));
            }
        }
        let front =
            read_toml::<FrontMatter>(&text, FRONT_KEYS).unwrap_or_else(|(_, e)| panic!("{e}"));
        let FrontMatter {
            title,
            date,
            updated,
            id,
            author,
            categories,
            summary,
            link,
            draft,
            image,
        } = front;
        let ImageFront {
            src: _,
            alt,
            caption,
            credit,
            mime_type,
            length,
            width,
            height,
        } = image.expect("[image]");
        assert!(title.is_some() && id.is_some() && link.is_some());
        assert!(date.is_some() && updated.is_some());
        assert!(author.is_some() && summary.is_some() && !categories.is_empty() && draft);
        assert!(alt.is_some() && caption.is_some() && credit.is_some() && mime_type.is_some());
        assert!(length.is_some() && width.is_some() && height.is_some());
        let (_, kind) = read_toml::<FrontMatter>("titel = 1\n", FRONT_KEYS)
            .err()
            .expect("titel is no key");
        assert!(kind
            .to_string()
            .contains("unknown key `titel`; known here: title, date"));
    }

    #[test]
    fn implausible_dates() {
        let now = "2026-11-25T12:00:00Z".parse::<DateTime<Utc>>().unwrap();
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap();
        assert_eq!(implausible(at("2022-01-11T00:00:00+01:00"), now), None);
        assert_eq!(implausible(at("2027-11-20T00:00:00+01:00"), now), None);
        assert_eq!(
            implausible(at("2202-01-11T00:00:00+01:00"), now).as_deref(),
            Some("175 Jahre in der Zukunft")
        );
        assert_eq!(
            implausible(at("1989-12-31T00:00:00+01:00"), now).as_deref(),
            Some("vor 1990")
        );
    }
}
