//! Reading `feeds/`: `site.toml` and the article records become the typed
//! [`model`](crate::model); every check of the input lives here.
//!
//! [`Library`] keeps what it read, so that a reload re-reads only the files
//! that changed and a record that turns bad keeps its last good version.

pub mod config;
pub mod date;
pub mod image;
pub mod markdown;
pub mod media;
pub mod problem;
pub mod record;
pub mod text;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

pub use problem::{Problem, ProblemKind};
use rayon::prelude::*;
use record::Record;

use crate::model::{Site, SiteConfig};

/// Where records live, relative to the content directory.
pub const ARTICLES_DIR: &str = "articles";

/// What identifies a version of a file without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
}

impl Stamp {
    pub(crate) fn of(path: &Path) -> Option<Stamp> {
        let meta = std::fs::metadata(path).ok()?;
        Some(Stamp {
            modified: meta.modified().ok(),
            len: meta.len(),
        })
    }
}

/// What the library knows about one record file.
#[derive(Debug, Clone)]
struct Entry {
    /// The record file's and its local images' stamps when last read.
    stamps: Vec<(PathBuf, Option<Stamp>)>,
    /// The last version that read cleanly, published while the file is bad.
    good: Option<Record>,
    /// What is wrong with the current version, if anything.
    problem: Option<Problem>,
}

impl Entry {
    fn is_fresh(&self) -> bool {
        self.stamps
            .iter()
            .all(|(path, stamp)| Stamp::of(path) == *stamp)
    }
}

/// What a re-read of `site.toml` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ConfigChange {
    /// Nothing new.
    None,
    /// Only its problem appeared or went away; the config in use is the same.
    Problem,
    /// A different config is in use.
    Value,
}

/// The content directory as last read.
#[derive(Debug)]
pub struct Library {
    /// The content directory (`feeds/`).
    dir: PathBuf,
    /// The last `site.toml` that read cleanly.
    config: Option<SiteConfig>,
    /// Stamp of `site.toml` when last read.
    config_stamp: Option<Stamp>,
    /// What is wrong with the current `site.toml`, if anything.
    config_problem: Option<Problem>,
    /// Every record file under `articles/`, by path relative to `dir`.
    entries: BTreeMap<PathBuf, Entry>,
    /// The files under `media/`; a new or replaced image (the logo, say)
    /// is published even when no record changed.
    media: media::MediaCache,
}

/// What is ready to publish, and what was refused.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The site with every publishable article, newest first.
    pub site: Site,
    /// Every current problem, in file order.
    pub problems: Vec<Problem>,
    /// Record files seen, good or bad, drafts included.
    pub records_seen: usize,
}

impl Library {
    /// Reads the whole content directory.
    pub fn open(dir: &Path) -> Library {
        let mut library = Library {
            dir: dir.to_path_buf(),
            config: None,
            config_stamp: None,
            config_problem: None,
            entries: BTreeMap::new(),
            media: media::MediaCache::default(),
        };
        library.refresh();
        library
    }

    /// The content directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Re-reads what changed since the last read; returns whether anything did.
    pub fn refresh(&mut self) -> bool {
        let config_change = self.refresh_config();
        if config_change == ConfigChange::Value {
            // base_url or timezone may have changed, which every record depends on.
            self.entries.clear();
        }
        let mut changed = config_change != ConfigChange::None;
        let files = self.record_files();
        let before = self.entries.len();
        self.entries.retain(|path, _| files.contains(path));
        changed |= self.entries.len() != before;
        let Some(config) = self.config.clone() else {
            return changed;
        };
        let stale: Vec<PathBuf> = files
            .into_iter()
            .filter(|path| !self.entries.get(path).is_some_and(Entry::is_fresh))
            .collect();
        let stale: Vec<(PathBuf, Option<Entry>)> = stale
            .into_iter()
            .map(|path| {
                let previous = self.entries.remove(&path);
                (path, previous)
            })
            .collect();
        changed |= !stale.is_empty();
        let read: Vec<(PathBuf, Entry)> = stale
            .into_par_iter()
            .map(|(path, previous)| {
                let entry = self.read_record(&path, &config, previous);
                (path, entry)
            })
            .collect();
        self.entries.extend(read);
        changed |= self.media.refresh(&self.dir);
        changed
    }

    /// Re-reads `site.toml` if it changed; keeps the last good one on error.
    fn refresh_config(&mut self) -> ConfigChange {
        let path = self.dir.join(config::FILE_NAME);
        let stamp = Stamp::of(&path);
        if self.config_stamp == stamp && (self.config.is_some() || self.config_problem.is_some()) {
            return ConfigChange::None;
        }
        self.config_stamp = stamp;
        match config::load(&self.dir) {
            Ok(config) => {
                let had_problem = self.config_problem.take().is_some();
                if self.config.as_ref() == Some(&config) {
                    return if had_problem {
                        ConfigChange::Problem
                    } else {
                        ConfigChange::None
                    };
                }
                self.config = Some(config);
                ConfigChange::Value
            }
            Err(problem) => {
                self.config_problem = Some(problem);
                ConfigChange::Problem
            }
        }
    }

    fn read_record(&self, path: &Path, config: &SiteConfig, previous: Option<Entry>) -> Entry {
        let full = self.dir.join(path);
        let stamp = Stamp::of(&full);
        let good_before = previous.and_then(|e| e.good);
        let parsed = std::fs::read(&full)
            .map_err(|e| Problem {
                path: path.to_path_buf(),
                line: None,
                kind: ProblemKind::Unreadable(e.to_string()),
            })
            .and_then(|bytes| record::parse(&self.dir, path, &bytes, config));
        let mut stamps = vec![(full, stamp)];
        match parsed {
            Ok(record) => {
                if let Record::Article {
                    image_file: Some(image),
                    ..
                } = &record
                {
                    stamps.push((image.clone(), Stamp::of(image)));
                }
                Entry {
                    stamps,
                    good: Some(record),
                    problem: None,
                }
            }
            Err(problem) => Entry {
                stamps,
                good: good_before,
                problem: Some(problem),
            },
        }
    }

    /// Every `*.md` under `articles/`, any depth, skipping hidden files
    /// (editors' swap and lock files).
    fn record_files(&self) -> BTreeSet<PathBuf> {
        visible_files(&self.dir.join(ARTICLES_DIR))
            .filter(|path| path.extension().is_some_and(|x| x == "md"))
            .filter_map(|path| path.strip_prefix(&self.dir).ok().map(Path::to_path_buf))
            .collect()
    }

    /// The publishable site, or the reason there is none (no usable
    /// `site.toml` was ever read).
    pub fn snapshot(&self) -> Result<Snapshot, Problem> {
        let Some(config) = self.config.clone() else {
            return Err(self.config_problem.clone().unwrap_or_else(|| Problem {
                path: PathBuf::from(config::FILE_NAME),
                line: None,
                kind: ProblemKind::Unreadable("not found".to_owned()),
            }));
        };
        let mut problems: Vec<Problem> = self.config_problem.iter().cloned().collect();
        let mut owners: HashMap<&str, &Path> = HashMap::new();
        let mut articles = Vec::new();
        for (path, entry) in &self.entries {
            problems.extend(entry.problem.iter().cloned());
            let Some(Record::Article { article, .. }) = &entry.good else {
                continue;
            };
            match owners.get(article.id.as_str()) {
                Some(owner) => problems.push(Problem {
                    path: path.clone(),
                    line: Some(1),
                    kind: ProblemKind::DuplicateId {
                        id: article.id.to_string(),
                        other: owner.display().to_string(),
                    },
                }),
                None => {
                    owners.insert(article.id.as_str(), path);
                    articles.push((**article).clone());
                }
            }
        }
        articles.sort_by(|a, b| b.published.cmp(&a.published).then_with(|| a.id.cmp(&b.id)));
        Ok(Snapshot {
            site: Site {
                config,
                articles,
                media: self.media.files(),
            },
            problems,
            records_seen: self.entries.len(),
        })
    }
}

/// Regular files under `root`, any depth, in name order, following
/// symlinks; hidden files and folders (editors' swap and lock files,
/// `.git`) are skipped.
fn visible_files(root: &Path) -> impl Iterator<Item = PathBuf> {
    walkdir::WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'))
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(walkdir::DirEntry::into_path)
}
