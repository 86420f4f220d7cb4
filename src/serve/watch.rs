//! Noticing changes: the watcher on the content directory (and on its
//! parent, for swaps), the debounce that makes a burst of writes one
//! reload, the periodic rescan, and the task that runs the reloads.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::reload::{lock, release_freed_memory, HubPing, Publisher, Reloaded};
use super::websub;

/// The debounce window: editors and CMSs write several files in a burst,
/// which becomes one reload instead of one per file, without delaying a
/// single edit noticeably.
pub const DEBOUNCE: Duration = Duration::from_millis(25);

/// How often every file's stamp is checked, in case the watcher missed
/// something (a full inotify queue, a network file system).
pub const RESCAN: Duration = Duration::from_secs(60);

/// What the watcher asks for.
enum Wanted {
    /// These paths changed.
    Paths(Vec<PathBuf>),
    /// Check everything (the watcher lost track, or the periodic rescan).
    Everything,
    /// The content directory itself was replaced, moved or removed (a
    /// deploy swapping folders or symlinks): watch whatever is there now.
    Swapped,
}

/// A burst of changes is taken in whole once it has been quiet for
/// [`DEBOUNCE`], or after this long at the latest.
const LONGEST_BURST: Duration = Duration::from_millis(500);

/// How long no change must come after a reload before the memory it freed
/// is handed back.
const QUIET_BEFORE_COLLECT: Duration = Duration::from_secs(1);

/// Changes reported by the file watcher, waiting to be taken in.
pub struct Changes {
    /// Keeps the watch alive.
    _watcher: notify::RecommendedWatcher,
    /// The content directory, absolute, as named.
    feeds: PathBuf,
    receiver: tokio::sync::mpsc::UnboundedReceiver<Wanted>,
}

/// Starts watching `feeds_dir`, while the content is read: placing a
/// recursive watch walks every file (0.12–0.15 s at 100 000 records),
/// which a first answer should not wait for. So the first thing it asks
/// for is a full rescan, which finds what changed before the watch was in
/// place (the reads took each file's stamp); later changes wait in the
/// queue as events.
pub fn watch(feeds_dir: &Path) -> notify::Result<Changes> {
    use notify::{Config, EventKindMask, RecursiveMode, Watcher};
    let started = Instant::now();
    let (events, receiver) = tokio::sync::mpsc::unbounded_channel::<Wanted>();
    // The folder as named (a symlink stays a symlink): a swap replaces
    // that name in its parent, which is watched too.
    let feeds = std::path::absolute(feeds_dir)?;
    let named = feeds.clone();
    let rescan = events.clone();
    let handler = move |result: notify::Result<notify::Event>| {
        let wanted = match result {
            Ok(event) if event.need_rescan() => Wanted::Everything,
            Ok(event) if event.paths.contains(&named) => Wanted::Swapped,
            Ok(event) => Wanted::Paths(event.paths),
            Err(e) => {
                tracing::warn!("watching the content directory: {e}");
                Wanted::Everything
            }
        };
        let _ = events.send(wanted);
    };
    // Not asked for opens and closes: reading a file is no change, and the
    // kernel would queue one event per file read (100 000 at a first
    // start; the service itself reads media too).
    let config = Config::default().with_event_kinds(EventKindMask::CORE);
    let mut watcher = notify::RecommendedWatcher::new(handler, config)?;
    watcher.watch(&feeds, RecursiveMode::Recursive)?;
    if let Some(parent) = feeds.parent() {
        watcher.watch(parent, RecursiveMode::NonRecursive)?;
    }
    tracing::debug!(elapsed = ?started.elapsed(), "watching");
    let _ = rescan.send(Wanted::Everything);
    Ok(Changes {
        _watcher: watcher,
        feeds,
        receiver,
    })
}

/// Watches the content directory anew after a swap: the old watch follows
/// the folder that was moved away (or is gone). A folder not there yet is
/// watched when the parent reports it.
fn rewatch(watcher: &mut notify::RecommendedWatcher, feeds: &Path) {
    use notify::{RecursiveMode, Watcher};
    // The old watch may be gone with its folder; that is fine.
    let _ = watcher.unwatch(feeds);
    if feeds.is_dir() {
        match watcher.watch(feeds, RecursiveMode::Recursive) {
            Ok(()) => tracing::info!("content directory replaced; watching {}", feeds.display()),
            Err(e) => tracing::warn!("cannot watch {}: {e}", feeds.display()),
        }
    }
}

/// Reloads `publisher` after each burst of `changes`, and checks every
/// file every [`RESCAN`], until the runtime ends.
pub fn spawn_reloader(changes: Changes, publisher: Arc<Mutex<Publisher>>) {
    let Changes {
        _watcher: mut watcher,
        feeds,
        receiver: mut rx,
    } = changes;
    tokio::spawn(async move {
        let mut rescan = tokio::time::interval(RESCAN);
        rescan.tick().await;
        // Whether a reload freed memory not yet handed back.
        let mut to_collect = false;
        loop {
            let wake = { lock(&publisher).next_wake() };
            let until_wake = wake.unwrap_or(RESCAN) + Duration::from_millis(5);
            let first = tokio::select! {
                _ = rescan.tick() => Wanted::Everything,
                // A scheduled record's time has come: publish it, no file event needed.
                _ = tokio::time::sleep(until_wake), if wake.is_some() => Wanted::Everything,
                wanted = rx.recv() => match wanted {
                    Some(wanted) => wanted,
                    None => break,
                },
                _ = tokio::time::sleep(QUIET_BEFORE_COLLECT), if to_collect => {
                    to_collect = false;
                    let _ = tokio::task::spawn_blocking(release_freed_memory).await;
                    continue;
                }
            };
            // Take the whole burst: until it has been quiet for a moment.
            let started = Instant::now();
            let mut paths = Vec::new();
            let mut everything = false;
            let mut next = Some(first);
            while let Some(wanted) = next.take() {
                match wanted {
                    Wanted::Paths(more) => paths.extend(more),
                    Wanted::Everything => everything = true,
                    Wanted::Swapped => {
                        everything = true;
                        rewatch(&mut watcher, &feeds);
                    }
                }
                if started.elapsed() < LONGEST_BURST {
                    if let Ok(Some(more)) = tokio::time::timeout(DEBOUNCE, rx.recv()).await {
                        next = Some(more);
                    }
                }
            }
            let publisher = Arc::clone(&publisher);
            let reloaded = tokio::task::spawn_blocking(move || {
                let mut publisher = lock(&publisher);
                let reloaded = publisher.reload((!everything).then_some(&paths[..]));
                if everything {
                    publisher.save();
                }
                reloaded
            })
            .await;
            match reloaded {
                Ok(Some(Reloaded { summary, ping })) => {
                    to_collect = true;
                    tracing::info!(
                        published = summary.published,
                        refused = summary.refused,
                        micros = started.elapsed().as_micros() as u64,
                        "reloaded"
                    );
                    if let Some(HubPing { hub, urls }) = ping {
                        tokio::task::spawn_blocking(move || websub::ping(&hub, &urls));
                    }
                }
                // A full rescan stamps every file (and the first one after
                // a start saves the library), whether or not anything
                // changed: about 17 MB at 100 000 records to hand back.
                Ok(None) => to_collect |= everything,
                // At shutdown the runtime cancels what it has not started.
                Err(e) if e.is_cancelled() => break,
                Err(e) => tracing::error!("reload failed: {e}"),
            }
        }
        drop(watcher);
    });
}

#[cfg(test)]
mod tests {
    use super::{watch, Wanted};

    #[test]
    fn a_new_watch_asks_for_a_full_rescan() {
        // Placed while the first load reads: what changed before it was in
        // place is found by the rescan, not by events.
        let feeds = tempfile::tempdir().unwrap();
        let mut changes = watch(feeds.path()).unwrap();
        let mut rescan = false;
        // Events from the watched parent (a shared /tmp) may come first.
        while let Ok(wanted) = changes.receiver.try_recv() {
            rescan |= matches!(wanted, Wanted::Everything);
        }
        assert!(
            rescan,
            "the first load's changes would wait for the minute's rescan"
        );
    }
}
