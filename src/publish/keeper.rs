//! `serve --publish-to`: keeps a bucket in step with the served site, in
//! the background. Each reload hands over its index through a watch
//! channel (only the newest counts: a burst of reloads is one publish);
//! a failure is logged, shown in `/healthz`, and retried with backoff,
//! and the next success catches up with everything changed meanwhile.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::watch;

use super::{Bucket, PublishError};
use crate::content::store::ArticleStore;
use crate::index::Index;

/// The first wait after a failure; doubled up to [`LONGEST_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// The longest wait between tries while the store fails.
const LONGEST_BACKOFF: Duration = Duration::from_secs(300);

/// How publishing goes, for `/healthz`.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct PublishStatus {
    /// The bucket, as `s3://BUCKET/PREFIX`.
    pub target: String,
    /// "pending" (not yet published), "ok", or "failing".
    pub state: &'static str,
    /// When the bucket was last brought in step (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_success: Option<String>,
    /// Since when publishing fails (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failing_since: Option<String>,
    /// The last failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Objects put (bytes or headers) and deleted by the last successful run.
    pub last_changed: usize,
}

/// The shared status a keeper updates.
pub type SharedStatus = Arc<Mutex<PublishStatus>>;

/// A running keeper: its status, and how to stop it.
pub struct Keeper {
    /// What `/healthz` shows.
    pub status: SharedStatus,
    /// Stops a publish between uploads (see [`Bucket::stop_flag`]).
    stop: Arc<AtomicBool>,
    /// The keeper's task, ended once it has stopped.
    task: tokio::task::JoinHandle<()>,
}

impl Keeper {
    /// Stops the keeper for a shutdown: a publish under way finishes the
    /// uploads it started and records them (a store may lose an object
    /// whose overwrite is cut off), no further one starts. Completes when
    /// the keeper has stopped. The sender of its sites must be dropped too.
    pub async fn stop(self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.task.await;
    }
}

/// Starts the keeper on the current runtime: publishes `sites`' current
/// index at once, then after every change, until the sender is dropped or
/// it is stopped.
pub fn spawn(
    mut bucket: Bucket,
    target: String,
    store: Arc<ArticleStore>,
    mut sites: watch::Receiver<Index>,
) -> Keeper {
    let status = Arc::new(Mutex::new(PublishStatus {
        target: target.clone(),
        state: "pending",
        ..PublishStatus::default()
    }));
    let shared = Arc::clone(&status);
    let stop = bucket.stop_flag();
    let task = tokio::spawn(async move {
        let mut backoff = FIRST_BACKOFF;
        loop {
            let index = sites.borrow_and_update().clone();
            let started = Instant::now();
            let outcome = bucket.publish(&index, &store).await;
            if let Err(PublishError::Stopped(put)) = outcome {
                tracing::info!("publishing to {target} stopped after {put} objects");
                break;
            }
            let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            let failed = {
                let mut status = shared.lock().unwrap_or_else(|e| e.into_inner());
                match outcome {
                    Ok(report) => {
                        if !report.is_nothing() {
                            tracing::info!(
                                target = %target,
                                uploaded = report.uploaded,
                                headers = report.headers,
                                deleted = report.deleted,
                                bytes = report.bytes,
                                millis = started.elapsed().as_millis() as u64,
                                "published"
                            );
                        }
                        status.state = "ok";
                        status.last_success = Some(now);
                        status.failing_since = None;
                        status.last_changed = report.uploaded + report.headers + report.deleted;
                        false
                    }
                    Err(e) => {
                        tracing::warn!(
                            "publishing to {target} failed: {e}; retrying in {backoff:?}"
                        );
                        status.state = "failing";
                        status.failing_since.get_or_insert(now);
                        status.last_error = Some(e.to_string());
                        true
                    }
                }
            };
            if failed {
                // Wait, but never longer than needed: a new site does not
                // make the store answer sooner, so only the backoff counts.
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(LONGEST_BACKOFF);
                if sites.has_changed().is_err() {
                    break;
                }
                continue;
            }
            backoff = FIRST_BACKOFF;
            if sites.changed().await.is_err() {
                break;
            }
        }
    });
    Keeper { status, stop, task }
}
