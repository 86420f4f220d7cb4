//! What a document shows and links to, computed from the index: the
//! dependency rule of the site. A plan names its records by id and article
//! hash, so its [`fingerprint`](Plan::fingerprint) changes exactly when the
//! document's bytes would, and is known without rendering.

use std::sync::Arc;

use chrono::{DateTime, FixedOffset, SubsecRound, Utc};
use serde::Serialize;

use super::key::{DocKey, SitemapPart};
use crate::content::store::ArticleHash;
use crate::index::{ArchivePart, Index, Month, Scope, Summary};
use crate::model::{ArticleId, Category, MediaFile};
use crate::render::Format;

/// Bump when a renderer or template changes its output for the same input,
/// so that ETags change with the bytes (the golden test reminds you). A
/// member's hash names the record as read, not its body's HTML: a change
/// of Markdown rendering or sanitising (also by a new pulldown-cmark or
/// ammonia) needs a bump too.
pub const RENDERER_REVISION: u32 = 16;

/// A record a document shows: which one, in which version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Member {
    /// The record.
    pub id: ArticleId,
    /// Its article in the store.
    pub hash: ArticleHash,
}

/// A feed document: a subscription document or an archive part.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeedPlan {
    /// The site or a category.
    pub scope: Scope,
    /// RSS, Atom or JSON Feed.
    pub format: Format,
    /// The feed's title.
    pub title: String,
    /// The feed's description.
    pub description: String,
    /// For an archive document, which part of which month.
    pub archive: Option<ArchivePart>,
    /// The next older archive document.
    pub prev_archive: Option<ArchivePart>,
    /// The next newer archive document (archives only).
    pub next_archive: Option<ArchivePart>,
    /// Its entries, newest first.
    pub entries: Vec<Member>,
}

/// The start page or a category page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FrontPlan {
    /// The site or a category.
    pub scope: Scope,
    /// The feed's title.
    pub title: String,
    /// The page's heading: the site's title, or the category's name.
    pub heading: String,
    /// The feed's description.
    pub description: String,
    /// The newest entries.
    pub entries: Vec<Member>,
    /// Every category (start page only).
    pub categories: Vec<Category>,
}

/// Every month of a feed with its count.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArchiveIndexPlan {
    /// The site or a category.
    pub scope: Scope,
    /// The page's heading.
    pub title: String,
    /// Months with entries and their counts, newest first.
    pub months: Vec<(Month, usize)>,
}

/// One month of a feed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonthPlan {
    /// The site or a category.
    pub scope: Scope,
    /// The feed's title.
    pub title: String,
    /// The month.
    pub month: Month,
    /// How many archive parts the month's feed archive has.
    pub parts: u32,
    /// Its entries, newest first.
    pub entries: Vec<Member>,
    /// The month before with entries.
    pub previous: Option<Month>,
    /// The month after with entries.
    pub next: Option<Month>,
}

/// An article's page: the article, its neighbours in the site feed, and
/// the three articles before it in its first category ("Mehr aus …": the
/// ones before, so that a new record does not change every page).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArticlePlan {
    /// The article.
    pub article: Member,
    /// The next newer article of the site.
    pub newer: Option<Member>,
    /// The next older article of the site.
    pub older: Option<Member>,
    /// Up to three older articles of its first category.
    pub related: Vec<Member>,
}

/// The plan of one document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Plan {
    /// Subscription or archive feed.
    Feed(FeedPlan),
    /// Start or category page.
    FrontPage(FrontPlan),
    /// Month overview.
    ArchiveIndex(ArchiveIndexPlan),
    /// One month's page.
    MonthPage(MonthPlan),
    /// One article's page.
    Article(ArticlePlan),
    /// Every feed's URL.
    Opml {
        /// Every category, by slug.
        categories: Vec<Category>,
    },
    /// The "not found" page.
    NotFound,
    /// A sitemap: its URLs (paths under `base_url`) with their last change.
    Sitemap {
        /// Whether this is the index of the other parts.
        index: bool,
        /// Paths and when they last changed (from the records).
        urls: Vec<(String, DateTime<FixedOffset>)>,
    },
    /// `robots.txt`.
    Robots,
    /// The site's icon: the logo when it is a file under `media/`.
    Favicon(Option<MediaFile>),
    /// How to subscribe to every feed.
    Subscribe {
        /// Every category, by slug.
        categories: Vec<Category>,
    },
    /// A file under `media/`.
    Media(MediaFile),
}

impl Plan {
    /// The plan of `key`, or `None` when the site has no such document.
    pub fn of(index: &Index, key: &DocKey) -> Option<Plan> {
        let config = index.config();
        Some(match key {
            DocKey::Feed { scope, format } => {
                let feed = index.feed(scope)?;
                Plan::Feed(FeedPlan {
                    scope: scope.clone(),
                    format: *format,
                    title: feed_title(index, scope)?,
                    description: feed_description(index, scope)?,
                    archive: None,
                    prev_archive: feed.newest_archive(),
                    next_archive: None,
                    entries: members(feed.newest(config.items_per_page)),
                })
            }
            DocKey::Archive {
                scope,
                part,
                format,
            } => {
                let feed = index.feed(scope)?;
                let entries = feed.part(*part);
                if entries.is_empty() {
                    return None;
                }
                Plan::Feed(FeedPlan {
                    scope: scope.clone(),
                    format: *format,
                    title: feed_title(index, scope)?,
                    description: feed_description(index, scope)?,
                    archive: Some(*part),
                    prev_archive: feed.previous_archive(*part),
                    next_archive: feed.next_archive(*part),
                    entries: members(entries),
                })
            }
            DocKey::FrontPage(scope) => {
                let feed = index.feed(scope)?;
                let categories = match scope {
                    Scope::Site => categories(index),
                    Scope::Category(_) => Vec::new(),
                };
                let heading = match scope {
                    Scope::Site => config.title.clone(),
                    Scope::Category(slug) => index.category_name(slug)?.to_owned(),
                };
                Plan::FrontPage(FrontPlan {
                    scope: scope.clone(),
                    title: feed_title(index, scope)?,
                    heading,
                    description: feed_description(index, scope)?,
                    entries: members(feed.newest(config.items_per_page)),
                    categories,
                })
            }
            DocKey::ArchiveIndex(scope) => {
                let feed = index.feed(scope)?;
                if feed.is_empty() {
                    return None;
                }
                Plan::ArchiveIndex(ArchiveIndexPlan {
                    scope: scope.clone(),
                    title: feed_title(index, scope)?,
                    months: feed.months().rev().collect(),
                })
            }
            DocKey::MonthPage(scope, month) => {
                let feed = index.feed(scope)?;
                if feed.count(*month) == 0 {
                    return None;
                }
                let (previous, next) = feed.neighbour_months(*month);
                Plan::MonthPage(MonthPlan {
                    scope: scope.clone(),
                    title: feed_title(index, scope)?,
                    month: *month,
                    parts: feed.parts(*month),
                    entries: members(feed.month(*month)),
                    previous,
                    next,
                })
            }
            DocKey::Article(id) => {
                let summary = index.get(id)?;
                let site = index.feed(&Scope::Site)?;
                let (newer, older) = site.around(summary, 1);
                let category = summary.categories.first();
                let related = category
                    .and_then(|c| index.feed(&Scope::Category(c.slug.clone())))
                    .map(|feed| feed.around(summary, 3).1)
                    .unwrap_or_default();
                Plan::Article(ArticlePlan {
                    article: Member::of(summary),
                    newer: newer.map(|s| Member::of(s)),
                    older: older.first().map(|s| Member::of(s)),
                    related: members(related),
                })
            }
            DocKey::Opml => Plan::Opml {
                categories: categories(index),
            },
            DocKey::NotFound => Plan::NotFound,
            DocKey::Robots => Plan::Robots,
            DocKey::Favicon => Plan::Favicon(
                config
                    .logo_path()
                    .and_then(|path| index.media(path))
                    .map(|file| MediaFile::clone(file)),
            ),
            DocKey::Subscribe => Plan::Subscribe {
                categories: categories(index),
            },
            DocKey::Sitemap(part) => sitemap(index, *part)?,
            DocKey::Media(path) => Plan::Media(MediaFile::clone(index.media(path)?)),
        })
    }

    /// The document's ETag value: a hash of what it shows and of the
    /// renderer, equal on every replica, known without rendering. Media
    /// files are named by the hash of their bytes.
    pub fn fingerprint(&self, index: &Index) -> [u8; 16] {
        if let Plan::Media(file) | Plan::Favicon(Some(file)) = self {
            // Not hashed yet (a moment after a start): the plan, naming
            // its path, length and mtime, is hashed below; no ETag is
            // made of that (see `names_its_content`).
            if let Some(hash) = file.hash {
                return hash;
            }
        }
        let mut hasher = blake3::Hasher::new();
        hasher.update(env!("CARGO_PKG_VERSION").as_bytes());
        hasher.update(&RENDERER_REVISION.to_le_bytes());
        hasher.update(index.config_hash());
        // A plan is plain data; serialising it cannot fail.
        hasher.update(&postcard::to_stdvec(self).unwrap_or_default());
        // The OPML list shows the site's newest change (`dateModified`),
        // which its plan does not name.
        if let Plan::Opml { .. } = self {
            hasher.update(self.updated(index).to_rfc3339().as_bytes());
        }
        let mut hash = [0; 16];
        hash.copy_from_slice(&hasher.finalize().as_bytes()[..16]);
        hash
    }

    /// Whether [`fingerprint`](Self::fingerprint) is one of what the
    /// document shows, as an ETag must be (every replica agrees on it):
    /// not for a media file whose bytes are not hashed yet.
    pub fn names_its_content(&self) -> bool {
        match self {
            Plan::Media(file) | Plan::Favicon(Some(file)) => file.hash.is_some(),
            _ => true,
        }
    }

    /// The records it shows.
    pub fn members(&self) -> &[Member] {
        match self {
            Plan::Feed(plan) => &plan.entries,
            Plan::FrontPage(plan) => &plan.entries,
            Plan::MonthPage(plan) => &plan.entries,
            Plan::Article(plan) => std::slice::from_ref(&plan.article),
            _ => &[],
        }
    }

    /// The newest change among the records it shows (never the clock); the
    /// whole site's for documents that show none.
    pub fn updated(&self, index: &Index) -> DateTime<FixedOffset> {
        match self {
            Plan::ArchiveIndex(_)
            | Plan::Opml { .. }
            | Plan::NotFound
            | Plan::Media(_)
            | Plan::Sitemap { .. }
            | Plan::Subscribe { .. }
            | Plan::Favicon(_)
            | Plan::Robots => index.newest_change(
                index
                    .feed(&Scope::Site)
                    .into_iter()
                    .flat_map(|f| f.newest(1)),
            ),
            _ => index.newest_change(self.members().iter().filter_map(|m| index.get(&m.id))),
        }
    }

    /// `Last-Modified`: moves forward with every change of the document's
    /// bytes, from what every replica with the same files sees alike — the
    /// newest of the dates of the records it shows, the mtimes of their
    /// files and folders (an edit, a back-dated record, a deletion beside
    /// them) and of `site.toml`; for the documents that list the newest
    /// records (subscription feeds, front pages, overviews) the mtimes of
    /// every records folder, since any record may enter or leave them.
    /// Media: the file's mtime. Whole seconds (HTTP dates have no
    /// fractions), and never later than `now` (RFC 9110 §8.8.2.1: not
    /// after the response's `Date`), for `serve` and `publish` alike.
    pub fn last_modified(&self, index: &Index, now: DateTime<Utc>) -> DateTime<Utc> {
        self.latest_change(index).min(now).trunc_subsecs(0)
    }

    fn latest_change(&self, index: &Index) -> DateTime<Utc> {
        if let Plan::Media(file) | Plan::Favicon(Some(file)) = self {
            return file.modified;
        }
        let summaries = self.members().iter().filter_map(|m| index.get(&m.id));
        let own = summaries
            .flat_map(|s| [s.file_modified, index.folder_modified(&s.folder)])
            .max()
            .unwrap_or(DateTime::UNIX_EPOCH);
        let wider = match self {
            Plan::Article(_) | Plan::MonthPage(_) => index.config_modified(),
            Plan::Feed(feed) if feed.archive.is_some() => index.config_modified(),
            _ => index.content_modified(),
        };
        self.updated(index).with_timezone(&Utc).max(own).max(wider)
    }
}

/// The URLs of one sitemap part with their last change; `None` for a
/// year without articles.
fn sitemap(index: &Index, part: SitemapPart) -> Option<Plan> {
    let site = index.feed(&Scope::Site)?;
    let years: Vec<i32> = {
        let mut years: Vec<i32> = site.months().map(|(m, _)| m.year).collect();
        years.dedup();
        years
    };
    let newest_of =
        |summaries: &mut dyn Iterator<Item = &Arc<Summary>>| index.newest_change(summaries);
    let urls = match part {
        SitemapPart::Index => {
            let mut urls = vec![(
                DocKey::Sitemap(SitemapPart::Pages).path(),
                newest_of(&mut site.newest(1)),
            )];
            for year in years.iter().rev() {
                let newest = (1..=12)
                    .rev()
                    .flat_map(|month| site.month(Month { year: *year, month }))
                    .map(|s| s.last_change())
                    .max()?;
                urls.push((DocKey::Sitemap(SitemapPart::Year(*year)).path(), newest));
            }
            return Some(Plan::Sitemap { index: true, urls });
        }
        SitemapPart::Pages => {
            let mut urls = Vec::new();
            for scope in index.scopes() {
                let Some(feed) = index.feed(scope) else {
                    continue;
                };
                if feed.is_empty() {
                    continue;
                }
                let newest = newest_of(&mut feed.newest(1));
                urls.push((DocKey::FrontPage(scope.clone()).link_path(), newest));
                urls.push((DocKey::ArchiveIndex(scope.clone()).link_path(), newest));
                for (month, _) in feed.months().rev() {
                    let changed = newest_of(&mut feed.month(month));
                    urls.push((DocKey::MonthPage(scope.clone(), month).link_path(), changed));
                }
            }
            urls
        }
        SitemapPart::Year(year) => {
            if !years.contains(&year) {
                return None;
            }
            (1..=12)
                .rev()
                .flat_map(|month| site.month(Month { year, month }))
                .map(|s| (DocKey::Article(s.id.clone()).link_path(), s.last_change()))
                .collect()
        }
    };
    Some(Plan::Sitemap { index: false, urls })
}

fn members<'a>(summaries: impl IntoIterator<Item = &'a Arc<Summary>>) -> Vec<Member> {
    summaries.into_iter().map(|s| Member::of(s)).collect()
}

impl Member {
    fn of(summary: &Summary) -> Member {
        Member {
            id: summary.id.clone(),
            hash: summary.hash,
        }
    }
}

fn categories(index: &Index) -> Vec<Category> {
    index
        .scopes()
        .filter_map(|scope| match scope {
            Scope::Site => None,
            Scope::Category(slug) => Some(Category {
                name: index.category_name(slug)?.into(),
                slug: slug.clone(),
            }),
        })
        .collect()
}

/// The title of a feed: the site's, or "site – category".
pub fn feed_title(index: &Index, scope: &Scope) -> Option<String> {
    let config = index.config();
    Some(match scope {
        Scope::Site => config.title.clone(),
        Scope::Category(slug) => format!("{} – {}", config.title, index.category_name(slug)?),
    })
}

fn feed_description(index: &Index, scope: &Scope) -> Option<String> {
    let config = index.config();
    Some(match scope {
        Scope::Site => config.description.clone(),
        Scope::Category(slug) => {
            format!("{}: {}", config.description, index.category_name(slug)?)
        }
    })
}
