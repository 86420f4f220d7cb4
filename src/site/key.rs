//! The one URL table: every document of the site has a [`DocKey`], and
//! each key one path. `serve` maps request paths to keys and `build` keys
//! to file paths with the same two functions.

use serde::Serialize;

use crate::index::{ArchivePart, Month, Scope};
use crate::model::{ArticleId, CategorySlug};
use crate::render::Format;

/// The name of a document.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum DocKey {
    /// A subscription document: the newest entries of a feed.
    Feed {
        /// The site or a category.
        scope: Scope,
        /// RSS, Atom or JSON Feed.
        format: Format,
    },
    /// An RFC 5005 archive document: one part of a month of a feed.
    Archive {
        /// The site or a category.
        scope: Scope,
        /// Month and part.
        part: ArchivePart,
        /// RSS, Atom or JSON Feed.
        format: Format,
    },
    /// The start page, or a category's page.
    FrontPage(Scope),
    /// Every month with its number of articles.
    ArchiveIndex(Scope),
    /// One month's articles.
    MonthPage(Scope, Month),
    /// One article's page.
    Article(ArticleId),
    /// The OPML list of every feed.
    Opml,
    /// The page for unknown paths (`404.html`, for static hosts).
    NotFound,
    /// A sitemap for search engines (sitemaps.org).
    Sitemap(SitemapPart),
    /// `robots.txt`, naming the sitemap.
    Robots,
    /// `/abonnieren/`: how to subscribe, for people new to feeds.
    Subscribe,
    /// `/favicon.ico`: the logo, or a shipped default.
    Favicon,
    /// A file under `media/`, by its URL path.
    Media(String),
}

/// The parts of the sitemap: an index naming the others, one of every
/// page but articles, and one of the article pages of each year (at most
/// 50 000 URLs each as long as a town publishes fewer a year), so that a
/// new article changes only its year's part and the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum SitemapPart {
    /// `sitemap.xml`: the sitemap index.
    Index,
    /// `sitemap-seiten.xml`: front, category, archive and month pages.
    Pages,
    /// `sitemap-artikel-YYYY.xml`: the article pages of one year.
    Year(i32),
}

/// Where a request path leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// A document (which may still not exist: the index decides).
    Doc(DocKey),
    /// Moved for good: a path of an older URL scheme, or a folder without
    /// its slash.
    Redirect(String),
}

impl DocKey {
    /// Whether the document is text, sent compressed when asked (media
    /// files are sent as they are).
    pub fn is_text(&self) -> bool {
        !matches!(self, DocKey::Media(_) | DocKey::Favicon)
    }

    /// The URL path without the leading slash; folder pages end in
    /// `index.html`, as `build` writes them.
    pub fn path(&self) -> String {
        match self {
            DocKey::Feed { scope, format } => format!("{}feed.{}", scope.dir(), format.extension()),
            DocKey::Archive {
                scope,
                part,
                format,
            } => format!("{}feed.{}", archive_dir(scope, part), format.extension()),
            DocKey::FrontPage(scope) => format!("{}index.html", scope.dir()),
            DocKey::ArchiveIndex(scope) => format!("{}archiv/index.html", scope.dir()),
            DocKey::MonthPage(scope, month) => {
                format!("{}archiv/{}/index.html", scope.dir(), month.path())
            }
            DocKey::Article(id) => format!("artikel/{id}/index.html"),
            DocKey::Opml => "feeds.opml".to_owned(),
            DocKey::NotFound => "404.html".to_owned(),
            DocKey::Sitemap(SitemapPart::Index) => "sitemap.xml".to_owned(),
            DocKey::Sitemap(SitemapPart::Pages) => "sitemap-seiten.xml".to_owned(),
            DocKey::Sitemap(SitemapPart::Year(year)) => format!("sitemap-artikel-{year}.xml"),
            DocKey::Robots => "robots.txt".to_owned(),
            DocKey::Subscribe => "abonnieren/index.html".to_owned(),
            DocKey::Favicon => "favicon.ico".to_owned(),
            DocKey::Media(path) => path.clone(),
        }
    }

    /// The path as linked: folder pages without `index.html`.
    pub fn link_path(&self) -> String {
        let path = self.path();
        match path.strip_suffix("index.html") {
            Some(folder) => folder.to_owned(),
            None => path,
        }
    }

    /// Whether the document is a subscription feed, the kind WebSub hubs
    /// are told about.
    pub fn is_subscription(&self) -> bool {
        matches!(self, DocKey::Feed { .. })
    }
}

/// `archiv/YYYY/MM/` or `archiv/YYYY/MM/teil-N/` under the scope's folder.
fn archive_dir(scope: &Scope, part: &ArchivePart) -> String {
    match part.part {
        1 => format!("{}archiv/{}/", scope.dir(), part.month.path()),
        n => format!("{}archiv/{}/teil-{n}/", scope.dir(), part.month.path()),
    }
}

/// Reads a decoded request path (without the leading slash; a folder ends
/// in `/`) as a document key. `None`: no document can have that path.
pub fn route(path: &str) -> Option<Route> {
    let key_path = if path.is_empty() || path.ends_with('/') {
        format!("{path}index.html")
    } else {
        path.to_owned()
    };
    if let Some(key) = parse(&key_path) {
        return Some(Route::Doc(key));
    }
    // A folder page asked for without its slash.
    if !path.is_empty() && !path.ends_with('/') && parse(&format!("{path}/index.html")).is_some() {
        return Some(Route::Redirect(format!("/{path}/")));
    }
    // The paged feeds of earlier versions: feed-2.rss, kategorie/x/feed-3.atom.
    let (dir, file) = path.rsplit_once('/').map_or(("", path), |(d, f)| (d, f));
    let (stem, extension) = file.rsplit_once('.')?;
    let page = stem.strip_prefix("feed-")?;
    if page.parse::<u32>().is_ok() && Format::from_extension(extension).is_some() {
        let folder = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        if parse_scope(&folder).is_some_and(|(_, rest)| rest.is_empty()) {
            return Some(Route::Redirect(format!("/{folder}feed.{extension}")));
        }
    }
    None
}

/// The scope a path starts with, and the rest of the path.
fn parse_scope(path: &str) -> Option<(Scope, &str)> {
    match path.strip_prefix("kategorie/") {
        None => Some((Scope::Site, path)),
        Some(rest) => {
            let (slug, rest) = rest.split_once('/')?;
            let slug = CategorySlug::from_name(slug).filter(|s| s.as_str() == slug)?;
            Some((Scope::Category(slug), rest))
        }
    }
}

fn parse(path: &str) -> Option<DocKey> {
    if let Some(rest) = path.strip_prefix("artikel/") {
        let id = rest.strip_suffix("/index.html")?;
        return ArticleId::new(id).map(DocKey::Article);
    }
    if path.starts_with("media/") {
        return Some(DocKey::Media(path.to_owned()));
    }
    match path {
        "feeds.opml" => return Some(DocKey::Opml),
        "404.html" => return Some(DocKey::NotFound),
        "sitemap.xml" => return Some(DocKey::Sitemap(SitemapPart::Index)),
        "sitemap-seiten.xml" => return Some(DocKey::Sitemap(SitemapPart::Pages)),
        "robots.txt" => return Some(DocKey::Robots),
        "abonnieren/index.html" => return Some(DocKey::Subscribe),
        "favicon.ico" => return Some(DocKey::Favicon),
        _ => {}
    }
    if let Some(year) = path
        .strip_prefix("sitemap-artikel-")
        .and_then(|rest| rest.strip_suffix(".xml"))
    {
        return (year.len() == 4)
            .then(|| year.parse().ok())
            .flatten()
            .map(|year| DocKey::Sitemap(SitemapPart::Year(year)));
    }
    let (scope, rest) = parse_scope(path)?;
    if rest == "index.html" {
        return Some(DocKey::FrontPage(scope));
    }
    if let Some(format) = rest.strip_prefix("feed.").and_then(Format::from_extension) {
        return Some(DocKey::Feed { scope, format });
    }
    let rest = rest.strip_prefix("archiv/")?;
    if rest == "index.html" {
        return Some(DocKey::ArchiveIndex(scope));
    }
    let (year, rest) = rest.split_once('/')?;
    let (month, rest) = rest.split_once('/')?;
    if year.len() != 4 || month.len() != 2 {
        return None;
    }
    let month = Month {
        year: year.parse().ok()?,
        month: month.parse().ok().filter(|m| (1..=12).contains(m))?,
    };
    if rest == "index.html" {
        return Some(DocKey::MonthPage(scope, month));
    }
    let (part, file) = match rest.strip_prefix("teil-") {
        Some(rest) => {
            let (number, file) = rest.split_once('/')?;
            let part: u32 = number.parse().ok().filter(|n| *n >= 2)?;
            if number != part.to_string() {
                return None;
            }
            (part, file)
        }
        None => (1, rest),
    };
    let format = file
        .strip_prefix("feed.")
        .and_then(Format::from_extension)?;
    Some(DocKey::Archive {
        scope,
        part: ArchivePart { month, part },
        format,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_reads_back_from_its_path() {
        let kultur = Scope::Category(CategorySlug::from_name("Kultur").unwrap());
        let march = Month {
            year: 2024,
            month: 3,
        };
        let keys = [
            DocKey::Feed {
                scope: Scope::Site,
                format: Format::Rss,
            },
            DocKey::Feed {
                scope: kultur.clone(),
                format: Format::Json,
            },
            DocKey::Archive {
                scope: Scope::Site,
                part: ArchivePart {
                    month: march,
                    part: 1,
                },
                format: Format::Atom,
            },
            DocKey::Archive {
                scope: kultur.clone(),
                part: ArchivePart {
                    month: march,
                    part: 3,
                },
                format: Format::Rss,
            },
            DocKey::FrontPage(Scope::Site),
            DocKey::FrontPage(kultur.clone()),
            DocKey::ArchiveIndex(kultur.clone()),
            DocKey::MonthPage(Scope::Site, march),
            DocKey::Article(ArticleId::new("2022-asskomm").unwrap()),
            DocKey::Opml,
            DocKey::NotFound,
            DocKey::Sitemap(SitemapPart::Index),
            DocKey::Sitemap(SitemapPart::Pages),
            DocKey::Sitemap(SitemapPart::Year(2024)),
            DocKey::Robots,
            DocKey::Subscribe,
            DocKey::Favicon,
            DocKey::Media("media/2022/bild.jpg".to_owned()),
        ];
        for key in keys {
            let path = key.path();
            let request = path.strip_suffix("index.html").unwrap_or(&path);
            assert_eq!(route(request), Some(Route::Doc(key.clone())), "{path}");
        }
    }

    #[test]
    fn old_and_odd_paths() {
        let redirect = |to: &str| Some(Route::Redirect(to.to_owned()));
        assert_eq!(route("feed-2.rss"), redirect("/feed.rss"));
        assert_eq!(
            route("kategorie/kultur/feed-13.atom"),
            redirect("/kategorie/kultur/feed.atom")
        );
        assert_eq!(route("artikel/x"), redirect("/artikel/x/"));
        assert_eq!(route("kategorie/kultur"), redirect("/kategorie/kultur/"));
        for none in [
            "feed-x.rss",
            "feed.xml",
            "archiv/2024/13/feed.rss",
            "archiv/24/03/feed.rss",
            "archiv/2024/03/teil-1/feed.rss",
            "archiv/2024/03/teil-02/feed.rss",
            "kategorie/Kultur/feed.rss",
            "artikel/a b/",
            "irgendwas",
        ] {
            assert_eq!(route(none), None, "{none}");
        }
    }
}
