//! `stadtfeed publish` and `serve --publish-to`: the site `build` would
//! write, as objects in an S3-compatible bucket (AWS S3, Garage, MinIO,
//! Ceph, R2), each with its `Content-Type`, `Cache-Control` and
//! `Last-Modified`, uploading only what changed.
//!
//! What the bucket holds is recorded in a manifest (see
//! `manifest`); the order is `build`'s (leaves first, deletions last), so
//! an interrupted run leaves every document old or new and every link
//! working, and the next run completes it.

pub mod keeper;
mod manifest;
pub mod profile;
mod rewrite;
mod target;
mod upload;

pub use target::Target;
use upload::{compare, put, settle, Upload};

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use futures_util::StreamExt;
use object_store::path::Path as ObjectPath;
use object_store::ObjectStore;
use rayon::prelude::*;
use tokio::task::JoinSet;

use crate::content::store::ArticleStore;
use crate::content::Restored;
use crate::index::Index;
use crate::site::key::DocKey;
use crate::site::plan::Plan;
use crate::site::reach::{reach, Reach};
use crate::site::{self, build_phase, PHASES};
pub use manifest::{Manifest, ManifestRead};

/// Uploads in flight at once: enough to hide a store's latency, few
/// enough for a small machine and a rate-limited account.
const CONCURRENT_UPLOADS: usize = 16;

/// Why publishing failed.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The `--to` URL is not `s3://BUCKET[/PREFIX]`.
    #[error("{0}: expected s3://BUCKET or s3://BUCKET/PREFIX")]
    BadTarget(String),
    /// The store could not be set up (missing region, bad endpoint).
    #[error("cannot use the bucket: {0}")]
    Setup(object_store::Error),
    /// An AWS shared credentials or config file could not be read.
    #[error("cannot read the AWS profile: {0}")]
    Profile(String),
    /// The store refused or did not answer (after its retries).
    #[error("{path}: {source}")]
    Store {
        /// The object concerned.
        path: String,
        /// What the store said.
        source: object_store::Error,
    },
    /// A document could not be rendered (a media file went away).
    #[error(transparent)]
    Render(#[from] site::RenderError),
    /// A site path is no valid object name (it cannot be, for what the
    /// index publishes; kept as an error rather than a panic).
    #[error("{path}: not a valid object name: {reason}")]
    BadPath {
        /// The object name.
        path: String,
        /// Why.
        reason: String,
    },
    /// An upload task ended without an answer (the runtime shut down).
    #[error("an upload was cancelled: {0}")]
    Cancelled(String),
    /// Asked to stop (SIGINT, SIGTERM): the uploads under way were
    /// finished and recorded, no further one was started.
    #[error("stopped on request; {0} objects were put before")]
    Stopped(usize),
}

/// A bucket (and prefix) with what is known of its contents.
pub struct Bucket {
    store: Arc<dyn ObjectStore>,
    /// Changes an object's headers without re-sending its bytes (S3 only;
    /// without it, such objects are put again whole).
    rewriter: Option<Arc<rewrite::HeaderRewriter>>,
    prefix: String,
    /// What the bucket holds, once read; kept between runs of one process.
    known: Option<Manifest>,
    /// The index whose site `known` describes, when that is certain (after
    /// a run that ended well, or the saved state of the last process): a
    /// run then compares only what changed since (`site::reach`).
    since: Option<Index>,
    /// The saved state this process started from, until the manifest is
    /// read: its index counts as `since` if the kept copy of the manifest
    /// names its generation and the store says the copy is current.
    restored: Option<Restored>,
    /// The generation of the state this process saves, recorded with the
    /// manifest copy when a run ends well.
    generation: Option<u64>,
    /// The manifest, read while the content was (see
    /// [`manifest_reader`](Bucket::manifest_reader)).
    prefetched: Option<ManifestRead>,
    /// Where copies of the manifest objects are kept between processes, so
    /// that each is read again only when it changed.
    manifest_copy: Option<PathBuf>,
    /// Set to stop a run between uploads: the ones under way are finished
    /// and recorded first, because a store may lose an object whose
    /// overwrite is cut off (Garage 2.5 does; see bench/README.md).
    stopping: Arc<AtomicBool>,
}

/// What one run did, for its summary line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PublishReport {
    /// Objects put because their bytes changed (or were new).
    pub uploaded: usize,
    /// Objects put again only because their headers changed.
    pub headers: usize,
    /// Objects left as they were.
    pub unchanged: usize,
    /// Objects of documents that no longer exist, deleted.
    pub deleted: usize,
    /// Bytes sent in object bodies.
    pub bytes: u64,
}

impl PublishReport {
    /// Whether the run changed nothing in the bucket.
    pub fn is_nothing(&self) -> bool {
        self.uploaded + self.headers + self.deleted == 0
    }
}

impl Bucket {
    /// A bucket reached through `store`, objects under `prefix`.
    pub fn new(store: Arc<dyn ObjectStore>, prefix: &str) -> Bucket {
        Bucket {
            store,
            rewriter: None,
            prefix: prefix.trim_matches('/').to_owned(),
            known: None,
            since: None,
            restored: None,
            generation: None,
            prefetched: None,
            manifest_copy: None,
            stopping: Arc::default(),
        }
    }

    /// Keeps a copy of the bucket's manifest in `file` (in the
    /// publisher's state), so that a later process reads it from the store
    /// only when it changed.
    pub fn keep_manifest_copy_in(&mut self, file: PathBuf) {
        self.manifest_copy = Some(file);
    }

    /// Starts from the saved state of the last `publish` into this bucket
    /// (see [`Restored`]): if the manifest is the one that run left, only
    /// what changed since is compared. `generation` is the state this run
    /// saves.
    pub fn start_from(&mut self, restored: Option<Restored>, generation: u64) {
        self.restored = restored;
        self.generation = Some(generation);
    }

    /// Reads the bucket's manifest apart from the bucket, so that it can
    /// be read while the content directory is (at 100 000 records each
    /// takes a fraction of a second); hand the result to
    /// [`take_manifest`](Bucket::take_manifest).
    pub fn manifest_reader(
        &self,
    ) -> Result<impl std::future::Future<Output = Result<ManifestRead, PublishError>>, PublishError>
    {
        let store = Arc::clone(&self.store);
        let objects = self.manifest_objects()?;
        let copy = self.manifest_copy.clone();
        Ok(async move { manifest::read(store.as_ref(), &objects, copy.as_deref()).await })
    }

    /// The manifest as [`manifest_reader`](Bucket::manifest_reader) read
    /// it, for the next run.
    pub fn take_manifest(&mut self, read: ManifestRead) {
        self.prefetched = Some(read);
    }

    /// A flag that, once set, stops a running publish after the uploads
    /// under way (for SIGINT and SIGTERM).
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.stopping)
    }

    /// Writes `known` as the bucket's manifest (and its local copy; with
    /// `generation` when it describes the site of the state saved now).
    async fn record(
        &self,
        objects: &manifest::Objects,
        known: &mut Manifest,
        generation: Option<u64>,
    ) -> Result<(), PublishError> {
        manifest::write(
            self.store.as_ref(),
            objects,
            known,
            self.manifest_copy.as_deref().map(|file| (file, generation)),
        )
        .await
    }

    /// The object name of a site path.
    fn object(&self, path: &str) -> Result<ObjectPath, PublishError> {
        let name = if self.prefix.is_empty() {
            path.to_owned()
        } else {
            format!("{}/{path}", self.prefix)
        };
        ObjectPath::parse(&name).map_err(|e| PublishError::BadPath {
            reason: e.to_string(),
            path: name,
        })
    }

    /// The objects of the manifest under the prefix.
    fn manifest_objects(&self) -> Result<manifest::Objects, PublishError> {
        Ok(manifest::Objects {
            base: self.object(manifest::PATH)?,
            changes: self.object(manifest::CHANGES_PATH)?,
        })
    }

    /// The site path of an object name.
    fn site_path(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_owned()
        } else {
            name.strip_prefix(&self.prefix)
                .and_then(|rest| rest.strip_prefix('/'))
                .unwrap_or(name)
                .to_owned()
        }
    }

    /// Puts the site of `index` into the bucket: what changed since the
    /// manifest, in `build`'s order, then deletions, then the manifest.
    pub async fn publish(
        &mut self,
        index: &Index,
        store: &Arc<ArticleStore>,
    ) -> Result<PublishReport, PublishError> {
        // Whatever happens, the next run compares everything unless this
        // one ends well.
        let since = self.since.take();
        let manifest_objects = self.manifest_objects()?;
        let (mut known, since) = match self.known.take() {
            Some(known) => (known, since),
            None => {
                let read = match self.prefetched.take() {
                    Some(read) => read,
                    None => {
                        manifest::read(
                            self.store.as_ref(),
                            &manifest_objects,
                            self.manifest_copy.as_deref(),
                        )
                        .await?
                    }
                };
                let restored = self.restored.take();
                let since = restored
                    .filter(|r| read.generation.is_some_and(|g| g == r.generation))
                    .map(|r| r.index);
                (read.manifest, since)
            }
        };
        let index = Arc::new(index.clone());
        let now = chrono::Utc::now();
        let reached = match &since {
            Some(since) if !known.is_empty() => reach(since, &index),
            _ => Reach::Everything,
        };
        let everything = reached == Reach::Everything;
        let keys: Vec<DocKey> = match reached {
            Reach::Everything => site::all_keys(&index),
            Reach::Keys(keys) => keys.into_iter().collect(),
        };
        tracing::debug!(
            everything,
            documents = keys.len(),
            "compared with the manifest"
        );
        let mut report = PublishReport::default();
        let mut present = std::collections::HashSet::with_capacity(keys.len());
        // Documents compared that the site no longer has.
        let mut absent = Vec::new();
        // Bytes put since the manifest was last written. Ended, stopped and
        // failed runs write it; after a phase, only a long run does (see
        // `worth_recording`).
        let mut unrecorded_bytes = 0;
        for phase in 0..PHASES {
            let compared: Vec<Result<(String, Option<Upload>), String>> = keys
                .par_iter()
                .filter(|key| build_phase(key) == phase)
                .map(|key| match Plan::of(&index, key) {
                    Some(plan) => Ok(compare(&index, key, plan, &known, now)),
                    None => Err(key.path()),
                })
                .collect();
            let mut uploads = Vec::new();
            for compared in compared {
                match compared {
                    Ok((path, upload)) => {
                        present.insert(path);
                        uploads.extend(upload);
                    }
                    Err(path) => absent.push(path),
                }
            }
            let bytes_before = report.bytes;
            let mut failure = None;
            let mut running = JoinSet::new();
            for upload in uploads {
                if self.stopping.load(Ordering::SeqCst) || failure.is_some() {
                    break;
                }
                if running.len() >= CONCURRENT_UPLOADS {
                    if let Some(done) = running.join_next().await {
                        if let Err(e) = settle(done, &mut known, &mut report) {
                            failure.get_or_insert(e);
                        }
                    }
                }
                let object = self.object(&upload.path)?;
                running.spawn(put(
                    Arc::clone(&self.store),
                    self.rewriter.clone(),
                    Arc::clone(&index),
                    Arc::clone(store),
                    object,
                    upload,
                ));
            }
            while let Some(done) = running.join_next().await {
                if let Err(e) = settle(done, &mut known, &mut report) {
                    failure.get_or_insert(e);
                }
            }
            unrecorded_bytes += report.bytes - bytes_before;
            if let Some(failure) = failure {
                // What was put is recorded if the store still takes it; if
                // not, the next run puts it again.
                let _ = self.record(&manifest_objects, &mut known, None).await;
                return Err(failure);
            }
            if self.stopping.load(Ordering::SeqCst) {
                self.record(&manifest_objects, &mut known, None).await?;
                self.known = Some(known);
                return Err(PublishError::Stopped(report.uploaded + report.headers));
            }
            if worth_recording(unrecorded_bytes, known.stored_size()) {
                self.record(&manifest_objects, &mut known, None).await?;
                unrecorded_bytes = 0;
            }
        }
        let gone: Vec<String> = if everything {
            known
                .paths()
                .filter(|path| !present.contains(*path))
                .map(str::to_owned)
                .collect()
        } else {
            absent
                .into_iter()
                .filter(|path| known.get(path).is_some())
                .collect()
        };
        // In batches (S3's DeleteObjects takes up to 1 000 keys).
        let objects = gone
            .iter()
            .map(|path| self.object(path))
            .collect::<Result<Vec<_>, _>>()?;
        let mut results = self
            .store
            .delete_stream(futures_util::stream::iter(objects.into_iter().map(Ok)).boxed());
        while let Some(result) = results.next().await {
            match result {
                Ok(object) => {
                    let path = self.site_path(object.as_ref());
                    tracing::debug!(target: "stadtfeed::publish::objects", %path, "deleted");
                    known.remove(&path);
                    report.deleted += 1;
                }
                Err(object_store::Error::NotFound { path, .. }) => {
                    known.remove(&self.site_path(&path));
                }
                Err(source) => {
                    // What was deleted so far is recorded; the rest is
                    // deleted by the next run.
                    self.record(&manifest_objects, &mut known, None).await?;
                    return Err(PublishError::Store {
                        path: "(deleting)".to_owned(),
                        source,
                    });
                }
            }
        }
        // Every object of the site not put by this run is as it was
        // (compared, or not reached by any change).
        report.unchanged = known.len() - report.uploaded - report.headers;
        tracing::debug!(?report, "uploads and deletions done");
        if !report.is_nothing() {
            self.record(&manifest_objects, &mut known, self.generation)
                .await?;
            tracing::debug!(base_bytes = known.stored_size(), "manifest written");
        } else if let (Some(file), Some(generation)) = (&self.manifest_copy, self.generation) {
            // The bucket is as the kept copy says, and it is the site of
            // the state saved now.
            manifest::note_generation(file, generation);
        }
        self.known = Some(known);
        self.since = Some(Index::clone(&index));
        Ok(report)
    }
}

/// Whether the bytes put since the manifest was last written are worth a
/// write before the next phase: a run killed (`kill -9`, a lost machine)
/// before its last write redoes what its manifest does not record, which
/// for a first publish of 100 000 records is gigabytes; for an edit it is
/// a few dozen small objects, and a write after each of the five phases
/// would add its latency five times (and, while the changes are large, a
/// base with an entry for each of 128 000 documents). So: more than
/// 16 MiB and a hundred times the base's size.
fn worth_recording(unrecorded_bytes: u64, manifest_bytes: u64) -> bool {
    unrecorded_bytes > (16 << 20).max(100 * manifest_bytes)
}
