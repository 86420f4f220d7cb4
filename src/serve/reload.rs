//! Keeping the served site current: re-read the files the watcher reports,
//! update the index, re-render the hot documents whose fingerprint moved,
//! and swap the new state in whole, so that a request sees either the old
//! site or the new one, never a mix.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;

use super::delta::FeedHistory;
use super::documents::{document_cache, Health, ServedState};
use super::http::Context;
use super::websub;
use crate::content::problem::outside_subscriptions;
use crate::content::store::ArticleStore;
use crate::content::{Library, Problem};
use crate::state::StateDir;

/// The library and the state it currently serves.
pub struct Publisher {
    /// What was read from `feeds/`; keeps last good versions of records.
    library: Library,
    /// What requests read.
    context: Context,
    /// Where the library is saved between runs, if anywhere.
    state: Option<StateDir>,
    /// Whether the library changed since it was last saved.
    unsaved: bool,
    /// When the content was last read successfully.
    last_good_load: String,
    /// The health `/healthz` shows now.
    health_shown: Health,
    /// Where each new index goes to be published to a bucket
    /// (`--publish-to`).
    sites: Option<tokio::sync::watch::Sender<crate::index::Index>>,
    /// The keeper of that bucket, to stop at shutdown.
    keeper: Option<crate::publish::keeper::Keeper>,
    /// Held while [`hash_media`](Publisher::hash_media) reads: a second
    /// call (a shutdown right after a start) waits for the first and
    /// then finds nothing left, instead of hashing `media/` again beside it.
    hashing_media: Arc<Mutex<()>>,
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

impl Publisher {
    /// Reads `feeds_dir` (starting from what `state` kept of the last run)
    /// and prepares the first state; fails only when there is no usable
    /// `site.toml`, since then there is nothing to publish.
    pub fn open(
        feeds_dir: &Path,
        state: Option<StateDir>,
        cache_mb: u64,
    ) -> Result<(Publisher, LoadSummary), Problem> {
        let store = match &state {
            Some(state) => match ArticleStore::open(state.path()) {
                Ok(store) => store,
                Err(e) => {
                    tracing::warn!(
                        "{}: {e}; keeping articles in memory",
                        state.path().display()
                    );
                    ArticleStore::memory()
                }
            },
            None => ArticleStore::memory(),
        };
        let store = Arc::new(store);
        let saved = state.as_ref().map(StateDir::library_file);
        let mut library = Library::open_serving(feeds_dir, Arc::clone(&store), saved.as_deref());
        store.compact(&library.live_articles());
        // Everything read at start is "new"; only later additions are news.
        library.take_newly_published();
        let index = library.index()?;
        for warning in crate::content::config::legal_warnings(index.config())
            .into_iter()
            .chain(crate::content::config::color_warning(index.config()))
        {
            tracing::warn!("{}", feeds_dir.join(warning).display());
        }
        let cache = document_cache(cache_mb);
        let loaded = now_rfc3339();
        let health = health(&library, index.len(), &loaded);
        let bodies = state.as_ref().map(StateDir::path);
        let (served, _) = ServedState::prepare(index, &store, &cache, &health, None, bodies);
        let served = Arc::new(served);
        release_freed_memory();
        tracing::debug!(
            rss_mb = crate::content::resident_mb(),
            "hot documents ready"
        );
        // Served before their compressed forms are made, as after an edit:
        // a request that wants one first makes it itself. What compressing
        // freed (brotli's windows) is handed back after.
        let behind = Arc::clone(&served);
        rayon::spawn(move || {
            behind.compress();
            release_freed_memory();
        });
        let summary = summary(&health);
        let publisher = Publisher {
            library,
            context: Context {
                history: {
                    let history = FeedHistory::default();
                    history.record(&served);
                    Arc::new(history)
                },
                state: Arc::new(ArcSwap::new(served)),
                cache,
                store,
                publish: None,
                metrics: {
                    let metrics = super::metrics::Metrics::new();
                    metrics.loaded(health.records_published, health.records_refused.len());
                    Arc::new(metrics)
                },
            },
            sites: None,
            keeper: None,
            hashing_media: Arc::default(),
            state,
            unsaved: true,
            last_good_load: loaded,
            health_shown: health,
        };
        publisher.log_problems();
        Ok((publisher, summary))
    }

    /// Keeps `bucket` in step with every index from now on (in a task on
    /// the current runtime) and shows how that goes in `/healthz`.
    pub fn publish_to(&mut self, bucket: crate::publish::Bucket, target: String) {
        let index = self.context.state.load().index.clone();
        let (sites, receiver) = tokio::sync::watch::channel(index);
        let keeper = crate::publish::keeper::spawn(
            bucket,
            target,
            std::sync::Arc::clone(&self.context.store),
            receiver,
        );
        self.sites = Some(sites);
        self.context.publish = Some(std::sync::Arc::clone(&keeper.status));
        self.keeper = Some(keeper);
    }

    /// Stops keeping the bucket in step, for a shutdown: the keeper, if
    /// any, hands back once the uploads it started are finished.
    pub fn stop_publishing(&mut self) -> Option<crate::publish::keeper::Keeper> {
        self.sites = None;
        self.keeper.take()
    }

    /// What requests are answered from.
    pub fn context(&self) -> Context {
        self.context.clone()
    }

    /// Re-reads what changed — the given paths, or with `None` every file
    /// whose stamp moved — and swaps in a new state if anything did.
    pub fn reload(&mut self, paths: Option<&[PathBuf]>) -> Option<Reloaded> {
        let started = Instant::now();
        let changed = match paths {
            Some(paths) => self.library.refresh_paths(paths),
            None => self.library.refresh(),
        };
        let changed = self.library.publish_due() || changed;
        self.swap_in(changed, started)
    }

    /// Swaps in the state of the library as it is now, if it `changed`.
    fn swap_in(&mut self, changed: bool, started: Instant) -> Option<Reloaded> {
        if !changed {
            tracing::debug!(
                micros = started.elapsed().as_micros() as u64,
                "nothing changed"
            );
            // Nothing new to publish; but /healthz may have to say that the
            // content directory went away (or came back).
            let now_degraded = self.library.unavailable().is_some();
            if now_degraded != (self.health_shown.status == "degraded") {
                self.show_health();
            }
            return None;
        }
        self.unsaved = true;
        if self.library.unavailable().is_none() {
            self.last_good_load = now_rfc3339();
        }
        let index = match self.library.index() {
            Ok(index) => index,
            Err(problem) => {
                tracing::warn!("{problem}");
                return None;
            }
        };
        let read = started.elapsed();
        let newly = self.library.take_newly_published();
        let outside: Vec<&Path> = newly
            .iter()
            .filter(|(id, _)| !index.in_a_subscription_feed(id))
            .map(|(_, path)| path.as_path())
            .collect();
        let more = "neue Meldungen erscheinen in keinem Abo-Feed, nur im Archiv";
        let items = index.config().items_per_page;
        for line in outside_subscriptions(&outside, self.library.dir(), items, more) {
            tracing::warn!("{line}");
        }
        let previous = self.context.state.load_full();
        let health = health(&self.library, index.len(), &self.last_good_load);
        self.health_shown = health.clone();
        let hub = index.config().hub.clone();
        let base_url = index.config().base_url.clone();
        let (served, changed_keys) = ServedState::prepare(
            index,
            &self.context.store,
            &self.context.cache,
            &health,
            Some(&previous),
            self.state.as_ref().map(StateDir::path),
        );
        let served = Arc::new(served);
        self.context.history.record(&served);
        self.context.state.store(Arc::clone(&served));
        if let Some(sites) = &self.sites {
            sites.send_replace(served.index.clone());
        }
        drop(previous);
        // The edit is served; the compressed forms follow.
        served.compress();
        self.log_problems();
        tracing::debug!(
            read_micros = read.as_micros() as u64,
            micros = started.elapsed().as_micros() as u64,
            rendered = changed_keys.len(),
            "reload"
        );
        self.context.metrics.reloaded(
            started.elapsed(),
            health.records_published,
            health.records_refused.len(),
        );
        let ping = hub.and_then(|hub| {
            let urls = websub::changed_urls(&changed_keys, &base_url);
            (!urls.is_empty()).then_some(HubPing { hub, urls })
        });
        Some(Reloaded {
            summary: summary(&health),
            ping,
        })
    }

    /// Hashes the files under `media/` that the start measured without
    /// (see [`Library::open_serving`]) and swaps in the state that names
    /// them by their hashes. The files are read and hashed outside the
    /// lock, so that an edit meanwhile is not held up.
    pub fn hash_media(publisher: &Mutex<Publisher>) {
        let hashing = Arc::clone(&lock(publisher).hashing_media);
        let _hashing = hashing.lock().unwrap_or_else(|e| e.into_inner());
        let (dir, unhashed) = {
            let publisher = lock(publisher);
            let library = &publisher.library;
            (library.dir().to_path_buf(), library.unhashed_media())
        };
        if unhashed.is_empty() {
            return;
        }
        let started = Instant::now();
        let measured = crate::content::media::read_all(&dir, unhashed, true);
        let mut publisher = lock(publisher);
        let changed = publisher.library.take_hashed_media(measured);
        publisher.swap_in(changed, started);
        drop(publisher);
        release_freed_memory();
        tracing::debug!(
            micros = started.elapsed().as_micros() as u64,
            "media hashed"
        );
    }

    /// When the reloader must look again without a file event: a
    /// scheduled record's time, or the end of an empty folder's grace.
    pub fn next_wake(&self) -> Option<Duration> {
        let due = self.library.next_due().map(|due| {
            (due - chrono::Utc::now())
                .to_std()
                .unwrap_or(Duration::ZERO)
        });
        let empty = self
            .library
            .empty_check_due()
            .map(|at| at.saturating_duration_since(Instant::now()));
        due.into_iter().chain(empty).min()
    }

    /// Swaps in the same site with the current health.
    fn show_health(&mut self) {
        let current = self.context.state.load_full();
        let health = health(&self.library, current.index.len(), &self.last_good_load);
        self.health_shown = health.clone();
        let (served, _) = ServedState::prepare(
            current.index.clone(),
            &self.context.store,
            &self.context.cache,
            &health,
            Some(&current),
            self.state.as_ref().map(StateDir::path),
        );
        self.context.state.store(Arc::new(served));
    }

    /// Keeps the library in the state directory, so that the next start
    /// re-reads only what changed meanwhile.
    pub fn save(&mut self) {
        if !self.unsaved {
            return;
        }
        if let Some(state) = &self.state {
            match self.library.save(&state.library_file()) {
                Ok(()) => self.unsaved = false,
                Err(e) => tracing::warn!("cannot save {}: {e}", state.library_file().display()),
            }
        }
    }

    /// Logs the problems `/healthz` now shows (listed once per load).
    fn log_problems(&self) {
        for problem in &self.health_shown.records_refused {
            tracing::warn!("{problem}");
        }
    }
}

fn health(library: &Library, published: usize, last_good_load: &str) -> Health {
    Health {
        status: if library.unavailable().is_some() {
            "degraded"
        } else {
            "ok"
        },
        problem: library.unavailable().map(str::to_owned),
        last_good_load: last_good_load.to_owned(),
        records_published: published,
        records_refused: library
            .problems()
            .iter()
            .map(|p| p.in_dir(library.dir()).to_string())
            .collect(),
        last_reload: now_rfc3339(),
    }
}

fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn summary(health: &Health) -> LoadSummary {
    LoadSummary {
        published: health.records_published,
        refused: health.records_refused.len(),
    }
}

/// The publisher. A poisoned lock means a reload panicked; the data is
/// still the last consistent state, so the server goes on with it.
pub(super) fn lock(publisher: &Mutex<Publisher>) -> std::sync::MutexGuard<'_, Publisher> {
    publisher.lock().unwrap_or_else(|e| e.into_inner())
}

/// Hands the memory a load freed back to the system. mimalloc (the
/// binary's allocator) returns freed pages only when the thread that freed
/// them allocates again, and an idle server's threads do not: after a
/// restart at 100 000 records it kept about 50 MB so (bench/README.md).
/// Forced, a collection on any thread also returns what the other threads
/// have given back (30 edits left 273 MB, a quiet second later 233 MB).
/// It took 2–14 ms where timed; made inside each reload it slowed the
/// edits of a burst by several ms, so after a reload it waits for a quiet
/// moment (`watch::QUIET_BEFORE_COLLECT`).
pub(super) fn release_freed_memory() {
    let started = Instant::now();
    // SAFETY: mi_collect only walks mimalloc's own structures; it is safe
    // from any thread at any time, also when mimalloc is not the global
    // allocator (then there is little to collect).
    unsafe { libmimalloc_sys::mi_collect(true) };
    tracing::debug!(
        micros = started.elapsed().as_micros() as u64,
        rss_mb = crate::content::resident_mb(),
        "freed memory handed back"
    );
}
