//! Reading record files into entries: each file is opened, checked and
//! parsed on the file threads; its article goes into the store and its
//! summary into the entry; a first reading takes them all in at once.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rayon::prelude::*;
use rustc_hash::FxHashSet;

use super::files::{leads_outside, on_file_threads, open_real, read_open, RealFolders, Stamp};
use super::record::{self, Record};
use super::{image, Entry, Good, ImageSeen, Library, MediaPass, Problem, ProblemKind, Source};
use crate::index::{Index, Summary};
use crate::model::{ArticleId, SiteConfig};

/// The name of a record file's bytes, to know them again when only the
/// file's stamp moved (a deploy that rewrites every file). It never leaves
/// this machine and no document or URL is named by it, so a fast hash
/// does: with XXH3 instead of BLAKE3, hashing fell from 10 % to 6 % of a
/// first start's CPU at 100 000 records (perf; bench/README).
fn bytes_hash(bytes: &[u8]) -> [u8; 16] {
    xxhash_rust::xxh3::xxh3_128(bytes).to_le_bytes()
}

/// What every record of one reading is read with.
#[derive(Clone, Copy)]
pub(super) struct Reading<'a> {
    /// The real paths of the folders met.
    pub(super) folders: &'a RealFolders,
    /// The images measured (by the media pass, or by an earlier record).
    pub(super) images: &'a image::MeasuredImages<'a>,
    pub(super) config: &'a SiteConfig,
}

impl Library {
    /// Reads the given record files in parallel and takes in the results.
    pub(super) fn read_records(&mut self, paths: Vec<PathBuf>, media: MediaPass) -> bool {
        let Some(config) = self.config.clone() else {
            return false;
        };
        if paths.is_empty() {
            return false;
        }
        let started = std::time::Instant::now();
        let folders = RealFolders::default();
        // Shared images are measured once within one reading; kept longer,
        // the table would cost memory for every image of the archive.
        let images = image::MeasuredImages::with_media(&self.media, media);
        let reading = Reading {
            folders: &folders,
            images: &images,
            config: &config,
        };
        let read: Vec<(PathBuf, Entry)> = on_file_threads(|| {
            paths
                .par_iter()
                .map(|path| {
                    let before = self.entries.get(path);
                    let entry = self.read_record(path, &reading, before);
                    (path.clone(), entry)
                })
                .collect()
        });
        tracing::debug!(records = read.len(), elapsed = ?started.elapsed(), "records read");
        // Into a library that knows no record yet (a first start), the
        // index is built at once from the sorted entries rather than by
        // 100 000 single insertions.
        if self.entries.is_empty() && self.index.as_ref().is_some_and(Index::is_empty) {
            self.take_in_all(read, Utc::now());
        } else {
            for (path, entry) in read {
                for id in self.take_entry(path, Some(entry)) {
                    self.publish_owner(&id);
                }
            }
        }
        tracing::debug!(elapsed = ?started.elapsed(), "records taken in");
        self.store.flush();
        true
    }

    /// Takes in the entries of files while the library knows none (a
    /// first reading, a restore), and publishes the owner of each id as of
    /// `now`: no earlier version to withdraw, and the index is built once
    /// from all summaries (not by 100 000 single insertions), beside
    /// filling the entry table.
    pub(super) fn take_in_all(&mut self, taken: Vec<(PathBuf, Entry)>, now: DateTime<Utc>) {
        self.modified = true;
        self.published_as_of = now;
        self.entries.reserve(taken.len());
        self.claims.reserve(taken.len());
        let mut due = Vec::with_capacity(taken.len());
        let mut scheduled = Vec::new();
        let mut shared = Vec::new();
        for (path, entry) in &taken {
            if entry.problem.is_some() {
                self.troubled.insert(path.clone());
            }
            let Some(summary) = entry.summary() else {
                continue;
            };
            let paths = self.claims.entry(summary.id.clone()).or_default();
            paths.push(path.clone());
            if paths.len() > 1 {
                // The first by path owns the id (see `claims`): settled
                // below, once all paths are known.
                paths.sort_unstable();
                if paths.len() == 2 {
                    shared.push(summary.id.clone());
                }
            } else if summary.published > now {
                // Published when its date comes (see `publish_due`).
                scheduled.push(summary.id.clone());
            } else {
                due.push(Arc::clone(summary));
            }
        }
        if !shared.is_empty() {
            let shared: FxHashSet<&ArticleId> = shared.iter().collect();
            due.retain(|summary| !shared.contains(&summary.id));
            scheduled.retain(|id| !shared.contains(id));
        }
        let entries = &mut self.entries;
        let index = &mut self.index;
        rayon::join(
            || entries.extend(taken),
            || {
                if let Some(index) = index {
                    index.insert_all(due);
                }
            },
        );
        self.scheduled.extend(scheduled);
        for id in shared {
            let owner = self.owner(&id).cloned();
            match (owner, &mut self.index) {
                (Some(summary), _) if summary.published > now => {
                    self.scheduled.insert(id.clone());
                }
                (Some(summary), Some(index)) => index.insert(summary),
                _ => {}
            }
            self.duplicates.insert(id);
        }
    }

    /// Reads the record at `path`, which was `before`, with what every
    /// record of this `reading` shares.
    fn read_record(&self, path: &Path, reading: &Reading, before: Option<&Entry>) -> Entry {
        let Reading {
            folders,
            images,
            config,
        } = *reading;
        let good_before = before.and_then(|e| e.good.clone());
        let full = self.dir.join(path);
        let problem = |kind| Problem {
            path: path.to_path_buf(),
            line: None,
            kind,
        };
        let unreadable = |e: std::io::Error| problem(ProblemKind::Unreadable(e.to_string()));
        // A record that leads out of the content directory (a symlink, or
        // a folder linked from outside) is refused before it is read.
        let read = open_real(&full, folders)
            .map_err(unreadable)
            .and_then(
                |(file, real)| match leads_outside(&full, &real, &self.dir) {
                    true => Err(problem(ProblemKind::RecordOutside(
                        real.display().to_string(),
                    ))),
                    false => read_open(file).map_err(unreadable),
                },
            );
        // Not read past the limit: a huge file costs no memory.
        let read = read.and_then(|(stamp, bytes)| match record::too_large(stamp.len) {
            Some(kind) => Err(problem(kind)),
            None => Ok((Some(stamp), bytes)),
        });
        let (stamp, bytes) = match read {
            Ok(read) => read,
            Err(problem) => {
                return Entry {
                    stamp: Stamp::of(&full),
                    image: None,
                    good: good_before,
                    source: None,
                    problem: Some(problem),
                }
            }
        };
        let hash = bytes_hash(&bytes);
        if let Some(known) = before.and_then(|e| self.known_again(e, hash, stamp, reading)) {
            return known;
        }
        self.parsed
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        match record::parse(&self.dir, path, &bytes, config, Utc::now(), images) {
            Ok(Record::Article {
                article,
                local_image,
            }) => {
                let source = Source {
                    bytes: hash,
                    image: local_image.as_ref().map(|image| self.image_seen(image)),
                };
                let image = local_image.map(|image| (self.intern_path(&image.file), image.stamp));
                let mut summary = Summary::of(&article.article, self.store.put(&article));
                for category in &mut summary.categories {
                    *category = self.intern(category);
                }
                summary.file_modified = [stamp, image.as_ref().and_then(|(_, s)| *s)]
                    .into_iter()
                    .flatten()
                    .filter_map(|s| s.modified)
                    .map(DateTime::<Utc>::from)
                    .max()
                    .unwrap_or(DateTime::UNIX_EPOCH);
                summary.folder = self.intern_path(path.parent().unwrap_or(Path::new("")));
                let summary = Arc::new(summary);
                Entry {
                    stamp,
                    image,
                    good: Some(Good::Article(summary)),
                    source: Some(source),
                    problem: None,
                }
            }
            Ok(Record::Draft) => Entry {
                stamp,
                image: None,
                good: Some(Good::Draft),
                source: Some(Source {
                    bytes: hash,
                    image: None,
                }),
                problem: None,
            },
            Err(problem) => Entry {
                stamp,
                image: None,
                good: good_before,
                source: None,
                problem: Some(problem),
            },
        }
    }

    /// The entry `before` under its new `stamp`, when the file's bytes
    /// hash to the same `hash` and its image measures as it did: the
    /// record would read to the same article (the configuration is the
    /// same, or the entries would have been dropped; dates accepted once
    /// stay acceptable). Its summary, and so its documents, stay as they
    /// were.
    fn known_again(
        &self,
        before: &Entry,
        hash: [u8; 16],
        stamp: Option<Stamp>,
        reading: &Reading,
    ) -> Option<Entry> {
        let source = before.source.as_ref().filter(|s| s.bytes == hash)?;
        let good = before.good.clone()?;
        let image = match &source.image {
            None => None,
            Some(seen) => {
                let src = seen.src.to_str()?;
                let now =
                    image::inspect_local(&self.dir, src, &reading.config.base_url, reading.images)
                        .ok()
                        .filter(|now| self.image_seen(now) == *seen)?;
                Some((self.intern_path(&now.file), now.stamp))
            }
        };
        Some(Entry {
            stamp,
            image,
            good: Some(good),
            source: Some(source.clone()),
            problem: None,
        })
    }

    /// What a record keeps of its local `image`.
    fn image_seen(&self, image: &image::LocalImage) -> ImageSeen {
        let mut hasher = blake3::Hasher::new();
        hasher.update(image.mime_type.as_bytes());
        for number in [image.length, image.width.into(), image.height.into()] {
            hasher.update(&number.to_le_bytes());
        }
        let mut measured = [0; 8];
        measured.copy_from_slice(&hasher.finalize().as_bytes()[..8]);
        ImageSeen {
            src: self.intern_path(Path::new(&image.src)),
            measured: u64::from_le_bytes(measured),
        }
    }

    /// How many record files were parsed since the library was opened;
    /// the others it read were known again by their bytes.
    pub fn records_parsed(&self) -> usize {
        self.parsed.load(std::sync::atomic::Ordering::Relaxed)
    }
}
