//! Keeping the served site current: re-read what changed in `feeds/`,
//! publish, prepare, and swap the new site in whole, so that a request sees
//! either the old site or the new one, never a mix.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use notify_debouncer_mini::notify::RecursiveMode;
use notify_debouncer_mini::{new_debouncer, DebounceEventResult, Debouncer};

use super::documents::{Health, ServedSite};
use super::websub;
use crate::content::{Library, Problem};
use crate::site::publish;

/// The debounce window: editors and CMSs write several files in a burst,
/// which becomes one or two reloads instead of one per file.
pub const DEBOUNCE: Duration = Duration::from_millis(250);

/// The library and the site it currently serves.
pub struct Publisher {
    /// What was read from `feeds/`; keeps last good versions of records.
    library: Library,
    /// What requests read; swapped whole.
    current: Arc<ArcSwap<ServedSite>>,
}

/// Counts of one load, for the startup line and logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadSummary {
    /// Articles published.
    pub published: usize,
    /// Problems reported (refused records, a bad site.toml).
    pub refused: usize,
}

/// A hub to notify and the feed URLs that changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubPing {
    /// The WebSub hub from `site.toml`.
    pub hub: String,
    /// Absolute URLs of the changed feeds.
    pub urls: Vec<String>,
}

/// What one reload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reloaded {
    /// Counts, for the log.
    pub summary: LoadSummary,
    /// The WebSub ping due, if a hub is configured and a feed changed.
    pub ping: Option<HubPing>,
}

/// A site ready to swap in, with what a WebSub ping needs to know.
struct Prepared {
    site: ServedSite,
    summary: LoadSummary,
    hub: Option<String>,
    base_url: String,
    feed_paths: Vec<String>,
}

impl Publisher {
    /// Reads `feeds_dir` and prepares the first site; fails only when there
    /// is no usable `site.toml`, since then there is nothing to publish.
    pub fn open(feeds_dir: &Path) -> Result<(Publisher, LoadSummary), Problem> {
        let library = Library::open(feeds_dir);
        let prepared = prepare(&library, None)?;
        let publisher = Publisher {
            library,
            current: Arc::new(ArcSwap::from_pointee(prepared.site)),
        };
        Ok((publisher, prepared.summary))
    }

    /// The handle requests read the current site through.
    pub fn current(&self) -> Arc<ArcSwap<ServedSite>> {
        Arc::clone(&self.current)
    }

    /// Re-reads what changed; swaps in a new site if anything did.
    pub fn reload(&mut self) -> Option<Reloaded> {
        if !self.library.refresh() {
            return None;
        }
        let previous = self.current.load_full();
        match prepare(&self.library, Some(&previous)) {
            Ok(prepared) => {
                let ping = prepared.hub.and_then(|hub| {
                    let urls = websub::changed_urls(
                        &prepared.feed_paths,
                        &previous,
                        &prepared.site,
                        &prepared.base_url,
                    );
                    (!urls.is_empty()).then_some(HubPing { hub, urls })
                });
                self.current.store(Arc::new(prepared.site));
                Some(Reloaded {
                    summary: prepared.summary,
                    ping,
                })
            }
            // Unreachable once a site.toml was read: the library keeps it.
            Err(problem) => {
                tracing::warn!("{problem}");
                None
            }
        }
    }
}

fn prepare(library: &Library, previous: Option<&ServedSite>) -> Result<Prepared, Problem> {
    let snapshot = library.snapshot()?;
    for problem in &snapshot.problems {
        tracing::warn!("{}", problem.in_dir(library.dir()));
    }
    let published = publish(&snapshot.site);
    let health = Health {
        status: "ok",
        records_published: snapshot.site.articles.len(),
        records_refused: snapshot
            .problems
            .iter()
            .map(|p| p.in_dir(library.dir()).to_string())
            .collect(),
        last_reload: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    };
    let config = &snapshot.site.config;
    Ok(Prepared {
        site: ServedSite::prepare(&published, config.max_age, &health, previous),
        summary: LoadSummary {
            published: health.records_published,
            refused: health.records_refused.len(),
        },
        hub: config.hub.clone(),
        base_url: config.base_url.clone(),
        feed_paths: websub::subscribable_paths(&snapshot.site),
    })
}

/// Watches `feeds_dir` and reloads `publisher` after each burst of changes.
/// The returned debouncer must be kept alive for as long as watching goes on.
pub fn watch(
    feeds_dir: &Path,
    publisher: Arc<Mutex<Publisher>>,
) -> notify::Result<Debouncer<notify::RecommendedWatcher>> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let mut debouncer = new_debouncer(DEBOUNCE, move |result: DebounceEventResult| {
        if let Err(e) = &result {
            tracing::warn!("watching the content directory: {e}");
        }
        let _ = tx.send(());
    })?;
    debouncer
        .watcher()
        .watch(feeds_dir, RecursiveMode::Recursive)?;
    tokio::spawn(async move {
        while rx.recv().await.is_some() {
            while rx.try_recv().is_ok() {}
            let publisher = Arc::clone(&publisher);
            let reloaded = tokio::task::spawn_blocking(move || {
                // A poisoned lock means a reload panicked; the data is still
                // the last consistent state, so go on with it.
                let mut publisher = publisher.lock().unwrap_or_else(|e| e.into_inner());
                publisher.reload()
            })
            .await;
            match reloaded {
                Ok(Some(Reloaded { summary, ping })) => {
                    tracing::info!(
                        published = summary.published,
                        refused = summary.refused,
                        "reloaded"
                    );
                    if let Some(HubPing { hub, urls }) = ping {
                        tokio::task::spawn_blocking(move || websub::ping(&hub, &urls));
                    }
                }
                Ok(None) => {}
                Err(e) => tracing::error!("reload failed: {e}"),
            }
        }
    });
    Ok(debouncer)
}
