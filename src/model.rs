//! The typed model of a town's published news: what `content` produces from
//! `feeds/` and every renderer reads. Everything here is already checked;
//! URLs are absolute and dates carry the site's local offset.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, FixedOffset};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// An article's identity for every reader, forever: it names the entry in all
/// feeds and its page under `/artikel/<id>/`, so it is restricted to
/// characters that need no escaping in a URL path. Shared, not copied: the
/// index names every record several times.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ArticleId(Arc<str>);

impl ArticleId {
    /// Accepts letters, digits, `-`, `_` and `.` (not leading), the
    /// characters of a file stem that are safe as one URL path segment.
    pub fn new(text: &str) -> Option<ArticleId> {
        let valid = !text.is_empty()
            && !text.starts_with('.')
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        valid.then(|| ArticleId(Arc::from(text)))
    }

    /// A value below every valid id, for range bounds.
    pub(crate) fn smallest() -> ArticleId {
        ArticleId(Arc::from(""))
    }

    /// The id as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ArticleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The URL segment of a category (`/kategorie/<slug>/`): lower case, umlauts
/// as ae/oe/ue, ß as ss, every other run of non-alphanumerics as one `-`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CategorySlug(Arc<str>);

impl CategorySlug {
    /// The slug of a category name; `None` when nothing alphanumeric is left.
    /// Other accented letters are transliterated (é → e) so that URLs stay ASCII.
    pub fn from_name(name: &str) -> Option<CategorySlug> {
        let german = name
            .to_lowercase()
            .replace('ä', "ae")
            .replace('ö', "oe")
            .replace('ü', "ue")
            .replace('ß', "ss");
        let ascii = deunicode::deunicode(&german).to_lowercase();
        let slug = ascii
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join("-");
        (!slug.is_empty()).then(|| CategorySlug(Arc::from(slug)))
    }

    /// The slug as it appears in URLs.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CategorySlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A category as editors name it, with the slug of its URLs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Category {
    /// The name readers see ("Jugend & Soziales"); shared, as thousands of
    /// records name the same few categories.
    pub name: Arc<str>,
    /// Where its feeds and page live.
    pub slug: CategorySlug,
}

/// An image, local or remote, with everything an enclosure and Media RSS need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    /// Absolute URL readers fetch it from.
    pub url: String,
    /// MIME type; sniffed from the bytes for local files.
    pub mime_type: String,
    /// Exact size in bytes, as the enclosure's `length` must be.
    pub length: u64,
    /// Pixel size, when known (always for local files).
    pub width: Option<u32>,
    /// Pixel size, when known (always for local files).
    pub height: Option<u32>,
    /// Text for readers who cannot see the image.
    pub alt: String,
    /// What the image shows, in a sentence.
    pub caption: Option<String>,
    /// Who holds the rights ("© Stadt Werdau").
    pub credit: Option<String>,
}

/// The town's logo: channel image, `atom:logo`, JSON Feed icon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logo {
    /// Absolute URL.
    pub url: String,
    /// Pixel size, known for local files.
    pub width: Option<u32>,
    /// Pixel size, known for local files.
    pub height: Option<u32>,
}

/// One published news item: what the store keeps, and what renderers show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Article {
    /// Identity of the entry in every feed.
    pub id: ArticleId,
    /// The headline.
    pub title: String,
    /// When it was first published, in the site's offset.
    pub published: DateTime<FixedOffset>,
    /// When it last changed, if it did after publication.
    pub updated: Option<DateTime<FixedOffset>>,
    /// Who wrote it (defaults to the site's author).
    pub author: String,
    /// In the order the record lists them, without repeats.
    pub categories: Vec<Category>,
    /// Plain text teaser for RSS `description`, Atom `summary`.
    pub summary: String,
    /// The article's body as sanitised HTML, links absolute, figure first.
    pub content_html: String,
    /// The canonical page on the town's website, if the record names one.
    pub external_link: Option<String>,
    /// The article's picture, also the enclosure.
    pub image: Option<Image>,
    /// The record file, relative to the content directory, for messages.
    pub source: PathBuf,
}

impl Article {
    /// The instant of the last change: `updated`, else `published`.
    pub fn last_change(&self) -> DateTime<FixedOffset> {
        self.updated.unwrap_or(self.published)
    }
}

/// The publisher: the contents of `site.toml`, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteConfig {
    /// Feed title.
    pub title: String,
    /// Feed description / subtitle.
    pub description: String,
    /// Where the site is reachable, without a trailing slash.
    pub base_url: String,
    /// BCP 47 tag, e.g. `de-DE`.
    pub language: String,
    /// Local time of the editors' dates.
    pub timezone: Tz,
    /// Default author of articles and author of the feeds.
    pub author: String,
    /// Contact for `managingEditor`/`webMaster`, when given.
    pub email: Option<String>,
    /// Rights statement, when given.
    pub copyright: Option<String>,
    /// Channel image / `atom:logo`, when given.
    pub logo: Option<Logo>,
    /// Entries per feed document; older ones go to further pages.
    pub items_per_page: usize,
    /// WebSub hub announced in the feeds, when given.
    pub hub: Option<String>,
    /// `Cache-Control: max-age` for documents, in seconds.
    pub max_age: u32,
    /// What every page's footer links to.
    pub footer: Footer,
    /// The pages' accent colour, `#rrggbb`.
    pub color: String,
}

/// The footer of every page: the town's main site, the legal pages a
/// public body must link, and the press contact (with `SiteConfig::email`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Footer {
    /// The town's main website.
    pub homepage: Option<String>,
    /// Impressum (§ 5 DDG).
    pub impressum: Option<String>,
    /// Datenschutzerklärung (GDPR Art. 13).
    pub datenschutz: Option<String>,
    /// Erklärung zur Barrierefreiheit (EU Directive 2016/2102).
    pub barrierefreiheit: Option<String>,
    /// Press telephone number.
    pub phone: Option<String>,
}

impl Footer {
    /// The footer's links that are set, with their German labels, in order.
    pub fn links(&self) -> Vec<(&'static str, &str)> {
        [
            ("Zur Website der Stadt", &self.homepage),
            ("Impressum", &self.impressum),
            ("Datenschutz", &self.datenschutz),
            ("Barrierefreiheit", &self.barrierefreiheit),
        ]
        .into_iter()
        .filter_map(|(label, url)| url.as_deref().map(|url| (label, url)))
        .collect()
    }
}

impl SiteConfig {
    /// A hash of every setting (the Debug form names each field and
    /// value): equal exactly when the configurations are.
    pub fn fingerprint(&self) -> [u8; 16] {
        let mut hash = [0; 16];
        hash.copy_from_slice(&blake3::hash(format!("{self:?}").as_bytes()).as_bytes()[..16]);
        hash
    }

    /// [`fingerprint`](SiteConfig::fingerprint) of what documents show:
    /// every setting but `max_age`, which is only in `Cache-Control`, so
    /// that changing it re-sends headers (an S3 metadata-only copy in
    /// `publish`), not 100 000 documents.
    pub fn content_fingerprint(&self) -> [u8; 16] {
        SiteConfig {
            max_age: 0,
            ..self.clone()
        }
        .fingerprint()
    }

    /// The absolute URL of a path inside the site (`path` without leading `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}/{}", self.base_url, path)
    }

    /// The logo's path inside the site (`media/logo.png`), when it is a
    /// file of this site rather than a remote URL.
    pub fn logo_path(&self) -> Option<&str> {
        self.logo
            .as_ref()?
            .url
            .strip_prefix(&self.base_url)?
            .strip_prefix('/')
    }

    /// Where pages find the logo: relative to the site root (`root`) when it
    /// is a file of this site, so that it shows wherever the pages are
    /// served; the remote URL otherwise.
    pub fn logo_src(&self, root: &str) -> Option<String> {
        match self.logo_path() {
            Some(path) => Some(format!("{root}{path}")),
            None => self.logo.as_ref().map(|logo| logo.url.clone()),
        }
    }

    /// The page of an article on this site.
    pub fn article_url(&self, id: &ArticleId) -> String {
        self.url(&format!("artikel/{id}/"))
    }
}

/// A file under `media/`, published at the same path. Its bytes stay on
/// disk: the service reads them when asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaFile {
    /// URL path, e.g. `media/2022/werdau-videokonferenz.jpg`.
    pub url_path: String,
    /// The file on disk (real path, inside `media/`).
    pub file: PathBuf,
    /// Sniffed from the bytes; by extension for non-images.
    pub content_type: String,
    /// Length in bytes.
    pub length: u64,
    /// BLAKE3 of the bytes: the ETag, equal on every replica. `None`
    /// until hashed: `serve` answers before it hashes `media/`
    /// ([`Library::open_serving`](crate::content::Library::open_serving)).
    pub hash: Option<[u8; 16]>,
    /// The file's mtime: media carry no dates of their own.
    pub modified: DateTime<chrono::Utc>,
    /// Width and height of an image: records showing it take them from
    /// here rather than opening the file again.
    pub pixels: Option<(u32, u32)>,
}

impl Article {
    /// Where readers go: the record's `link`, or the article page.
    pub fn link(&self, config: &SiteConfig) -> String {
        self.external_link
            .clone()
            .unwrap_or_else(|| config.article_url(&self.id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn category_slugs() {
        let table = [
            ("Jugend & Soziales", "jugend-soziales"),
            ("Straßenverkehr", "strassenverkehr"),
            ("Öffentliche Ordnung", "oeffentliche-ordnung"),
            ("Kultur", "kultur"),
            ("  Bau / Verkehr  ", "bau-verkehr"),
            ("Übung--macht   Meister!", "uebung-macht-meister"),
            ("ÄÖÜ äöü ß", "aeoeue-aeoeue-ss"),
            ("Sport 2022", "sport-2022"),
            ("Café am Markt", "cafe-am-markt"),
        ];
        for (name, slug) in table {
            assert_eq!(
                CategorySlug::from_name(name).map(|s| s.0.to_string()),
                Some(slug.to_owned()),
                "{name}"
            );
        }
        assert_eq!(CategorySlug::from_name(" & "), None);
    }

    #[test]
    fn article_ids() {
        assert!(ArticleId::new("2022-asskomm-werdau").is_some());
        assert!(ArticleId::new("a_b.c").is_some());
        for bad in ["", ".hidden", "a/b", "a b", "über", "a?b", "a%2e"] {
            assert!(ArticleId::new(bad).is_none(), "{bad}");
        }
    }
}
