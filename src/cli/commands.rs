//! What each subcommand does once its arguments are parsed: `build`,
//! `publish`, `check` and `serve`, with the loading and reporting they
//! share.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use super::{S3Args, ServeArgs};
use crate::content::problem::outside_subscriptions;
use crate::content::store::ArticleStore;
use crate::content::{Library, Problem};
use crate::state::{Output, StateDir};

fn print_problems(problems: &[Problem], feeds: &Path) {
    for problem in problems {
        eprintln!("{}", problem.in_dir(feeds));
    }
}

/// Names the records changed in the last [`RECENT_DAYS`] days that no
/// subscription document shows (back-dated beyond the newest `items`
/// entries of the site and of each of their categories): no subscriber
/// will see them, only the archive has them. The most recently changed
/// come first.
fn print_outside_subscriptions(library: &Library, index: &crate::index::Index, feeds: &Path) {
    let recent = chrono::Utc::now() - chrono::Duration::days(RECENT_DAYS);
    let mut outside: Vec<_> = index
        .records()
        .filter(|s| s.file_modified >= recent && !index.in_a_subscription_feed(&s.id))
        .filter_map(|s| Some((s.file_modified, library.path_of(&s.id)?)))
        .collect();
    outside.sort_unstable_by(|a, b| b.cmp(a));
    let paths: Vec<&Path> = outside.into_iter().map(|(_, path)| path).collect();
    let more = format!(
        "in den letzten {RECENT_DAYS} Tagen geänderte Meldungen erscheinen in keinem Abo-Feed (nach einem frischen Checkout oder Import ist das erwartet: jede Datei gilt dann als neu)"
    );
    for line in outside_subscriptions(&paths, feeds, index.config().items_per_page, &more) {
        eprintln!("{line}");
    }
}

/// How recent a change `check` treats as new, for the warning above.
const RECENT_DAYS: i64 = 7;

/// Lists the records dated in the future: `path: geplant für …`.
fn print_scheduled(library: &Library, feeds: &Path, what_then: &str) {
    for (path, date) in library.scheduled() {
        eprintln!(
            "{}: geplant für {} ({what_then})",
            feeds.join(path).display(),
            crate::de::date_time(&date)
        );
    }
}

/// What `build` and `publish` start from: the content read (from the
/// state of the last run into the same output, if any), its index, and
/// the problems and scheduled records reported; `None` (reported) without
/// a usable site.toml.
struct Loaded {
    started: Instant,
    state: Option<StateDir>,
    store: Arc<ArticleStore>,
    library: Library,
    index: crate::index::Index,
    problems: Vec<Problem>,
}

fn load(
    feeds: &Path,
    cache_dir: Option<&Path>,
    (command, done): (&str, &str),
    output: Output<'_>,
    state_opened: impl FnOnce(Option<&StateDir>),
) -> Option<Loaded> {
    let started = Instant::now();
    let state = StateDir::open(cache_dir, command, feeds, Some(output));
    // Work that needs the state but not the content starts now, beside
    // the reading of 100 000 records.
    state_opened(state.as_ref());
    let store = Arc::new(
        state
            .as_ref()
            .and_then(|s| ArticleStore::open(s.path()).ok())
            .unwrap_or_else(ArticleStore::memory),
    );
    let library = match &state {
        Some(state) => Library::open_saved(feeds, Arc::clone(&store), &state.library_file()),
        None => Library::open(feeds, Arc::clone(&store)),
    };
    tracing::debug!(elapsed = ?started.elapsed(), "content read");
    let index = match library.index() {
        Ok(index) => index,
        Err(problem) => {
            eprintln!("{}", problem.in_dir(feeds));
            eprintln!(
                "nothing {done}: {} needs a usable site.toml",
                feeds.display()
            );
            return None;
        }
    };
    let problems = library.problems();
    print_problems(&problems, feeds);
    print_scheduled(
        &library,
        feeds,
        &format!("left out until then; {command} again after"),
    );
    Some(Loaded {
        started,
        state,
        store,
        library,
        index,
        problems,
    })
}

impl Loaded {
    /// Runs `work` (writing or publishing the site) while the library is
    /// saved beside it: the saved state depends only on the content read,
    /// never on the output.
    ///
    /// `work` is also told what the saved state described when it was
    /// restored, and the generation of the state saved now (see
    /// [`Restored`](crate::content::Restored)).
    fn with_library_saved<T>(
        &mut self,
        work: impl FnOnce(&crate::index::Index, &Arc<ArticleStore>, Lineage) -> T,
    ) -> T {
        let Loaded {
            state,
            store,
            library,
            index,
            ..
        } = self;
        let lineage = Lineage {
            restored: library.take_restored(),
            generation: library.next_generation(),
        };
        std::thread::scope(|scope| {
            scope.spawn(|| {
                let started = Instant::now();
                save_library(state.as_ref(), library);
                tracing::debug!(elapsed = ?started.elapsed(), "library saved");
            });
            work(index, store, lineage)
        })
    }

    /// The last line of `build` and `publish`: what was read, what
    /// `outcome` the run had, and how long it all took.
    fn print_summary(&self, done: std::fmt::Arguments, outcome: std::fmt::Arguments) {
        eprintln!(
            "{done}: {} records published, {} refused; {outcome} in {:.0?}",
            self.index.len(),
            self.problems.len(),
            self.started.elapsed()
        );
    }

    /// Success unless records were refused. The process ends here:
    /// freeing 100 000 summaries and their indexes one by one would only
    /// delay the exit (by about 70 ms), so they are left to the system.
    fn exit_code(self) -> ExitCode {
        let code = if self.problems.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
        std::mem::forget(self);
        code
    }

    /// Drops from the store what no record uses any more.
    fn compact_store(&self) {
        if self.state.is_some() {
            self.store.compact(&self.library.live_articles());
        }
    }
}

/// Where a run's content comes from: the index of the saved state it
/// restored, and the generation of the state it saves.
struct Lineage {
    restored: Option<crate::content::Restored>,
    generation: u64,
}

/// Keeps what was read for the next run.
fn save_library(state: Option<&StateDir>, library: &mut Library) {
    if let Some(state) = state {
        if let Err(e) = library.save(&state.library_file()) {
            eprintln!("cannot save {}: {e}", state.library_file().display());
        }
    }
}

pub(super) fn build(
    feeds: &Path,
    out: &Path,
    cache_dir: Option<&Path>,
    options: crate::build::BuildOptions,
) -> ExitCode {
    let Some(mut loaded) = load(
        feeds,
        cache_dir,
        ("build", "built"),
        Output::Folder(out),
        |_| {},
    ) else {
        return ExitCode::FAILURE;
    };
    let manifest = loaded.state.as_ref().map(StateDir::manifest_file);
    let written = loaded.with_library_saved(|index, store, lineage| {
        let previous = manifest
            .as_deref()
            .map(|manifest_file| crate::build::Previous {
                manifest_file,
                restored: lineage.restored.as_ref(),
                generation: lineage.generation,
            });
        crate::build::write_site(index, store, out, previous, options)
    });
    let report = match written {
        Ok(report) => report,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    tracing::debug!(elapsed = ?loaded.started.elapsed(), "site written");
    loaded.compact_store();
    loaded.print_summary(
        format_args!("built {}", out.display()),
        format_args!(
            "{} files written, {} unchanged, {} removed",
            report.written, report.unchanged, report.removed
        ),
    );
    loaded.exit_code()
}

pub(super) fn publish(feeds: &Path, to: &str, s3: S3Args, cache_dir: Option<&Path>) -> ExitCode {
    let target = match crate::publish::Target::parse(to, s3.endpoint, s3.region) {
        Ok(target) => target,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let mut bucket = match target.connect() {
        Ok(bucket) => bucket,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The manifest is read while the content is.
    let mut manifest = None;
    let bucket_name = target.identity();
    let Some(mut loaded) = load(
        feeds,
        cache_dir,
        ("publish", "published"),
        Output::Bucket(&bucket_name),
        |state| {
            if let Some(state) = state {
                bucket.keep_manifest_copy_in(state.bucket_manifest_file());
            }
            manifest = bucket
                .manifest_reader()
                .ok()
                .map(|reader| runtime.spawn(reader));
        },
    ) else {
        return ExitCode::FAILURE;
    };
    // If it failed, the run reads it again and reports what fails.
    if let Some(Ok(Ok(read))) = manifest.map(|read| runtime.block_on(read)) {
        bucket.take_manifest(read);
    }
    // Ctrl-C or SIGTERM: finish and record the uploads under way, start
    // no more; a second one exits at once.
    let stop = bucket.stop_flag();
    runtime.spawn(async move {
        crate::serve::server::shutdown_signal().await;
        eprintln!("stopping: finishing the uploads under way (again to quit at once)");
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        crate::serve::server::shutdown_signal().await;
        std::process::exit(130);
    });
    let published = loaded.with_library_saved(|index, store, lineage| {
        bucket.start_from(lineage.restored, lineage.generation);
        runtime.block_on(bucket.publish(index, store))
    });
    let report = match published {
        Ok(report) => report,
        Err(e) => {
            eprintln!("{e}");
            eprintln!("publishing stopped; what was put is consistent, run again to complete it");
            return ExitCode::FAILURE;
        }
    };
    loaded.compact_store();
    let what = if report.is_nothing() {
        "nothing to upload".to_owned()
    } else {
        format!(
            "{} uploaded ({} bytes), {} with new headers",
            report.uploaded, report.bytes, report.headers
        )
    };
    loaded.print_summary(
        format_args!("published {}", target.url()),
        format_args!(
            "{what}, {} unchanged, {} deleted",
            report.unchanged, report.deleted
        ),
    );
    loaded.exit_code()
}

pub(super) fn check(feeds: &Path) -> ExitCode {
    let library = Library::open(feeds, Arc::new(ArticleStore::discard()));
    if let Err(problem) = library.index() {
        println!("{}", problem.in_dir(feeds));
        return ExitCode::FAILURE;
    }
    let problems = library.problems();
    for problem in &problems {
        println!("{}", problem.in_dir(feeds));
    }
    if let Ok(index) = library.index() {
        for warning in crate::content::config::legal_warnings(index.config())
            .into_iter()
            .chain(crate::content::config::color_warning(index.config()))
        {
            eprintln!("{}", feeds.join(warning).display());
        }
    }
    print_scheduled(&library, feeds, "published then by `serve`");
    if let Ok(index) = library.index() {
        print_outside_subscriptions(&library, &index, feeds);
    }
    eprintln!(
        "{} records, {} problems",
        library.records_seen(),
        problems.len()
    );
    if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

pub(super) fn serve(args: ServeArgs) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut config = crate::serve::Config::new(args.feeds.feeds, args.addr);
    config.cache_mb = args.cache_mb;
    config.max_connections_per_client = args.max_per_client;
    config.trusted_proxies = args.trusted_proxy;
    config.cache_dir = args.cache_dir.cache_dir;
    config.metrics_addr = args.metrics_addr;
    if let Some(url) = &args.publish_to {
        match crate::publish::Target::parse(url, args.s3.endpoint, args.s3.region) {
            Ok(target) => config.publish_to = Some(target),
            Err(e) => {
                eprintln!("--publish-to: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    match runtime.block_on(crate::serve::run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
