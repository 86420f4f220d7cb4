//! The command line (PRODUCT.md §2): `serve` (the default), `build`, `check`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, Parser, Subcommand};

use std::sync::Arc;

use crate::content::store::ArticleStore;
use crate::content::{Library, Problem};
use crate::state::StateDir;

/// Publishes a German town's news as RSS 2.0, Atom 1.0 and JSON Feed 1.1.
#[derive(Debug, Parser)]
#[command(
    name = "stadtfeed",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// What to do; `serve` when left out.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// `serve`'s options, for `stadtfeed` without a subcommand.
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// The content directory, which every command reads.
#[derive(Debug, Args)]
pub struct FeedsArg {
    /// The content directory.
    #[arg(long, default_value = "feeds")]
    pub feeds: PathBuf,
}

/// Where state is kept between runs.
#[derive(Debug, Args)]
pub struct CacheDirArg {
    /// Where to keep state between runs (article store, file stamps, build
    /// manifest); default $STADTFEED_CACHE_DIR, else ~/.cache/stadtfeed.
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
}

/// Options of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Where the content is.
    #[command(flatten)]
    pub feeds: FeedsArg,
    /// Address to listen on: an IP address or a host name, with the port.
    #[arg(long, default_value = "127.0.0.1:8080", value_parser = parse_addr)]
    pub addr: std::net::SocketAddr,
    /// Connections one client address may hold open at once.
    #[arg(long, default_value_t = 32)]
    pub max_per_client: usize,
    /// A proxy in front (nginx, a CDN): its connections are not limited by
    /// address; the clients it names in X-Forwarded-For are. Repeatable.
    #[arg(long)]
    pub trusted_proxy: Vec<std::net::IpAddr>,
    /// Memory for documents rendered on request (archives, article pages), in MiB.
    #[arg(long, default_value_t = crate::serve::server::DEFAULT_CACHE_MB)]
    pub cache_mb: u64,
    /// Where state is kept.
    #[command(flatten)]
    pub cache_dir: CacheDirArg,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the feeds over HTTP, reloading when records change (the default).
    Serve(ServeArgs),
    /// Write the whole site as static files.
    Build {
        /// Where the content is.
        #[command(flatten)]
        feeds: FeedsArg,
        /// Where to write; created if missing.
        #[arg(long)]
        out: PathBuf,
        /// Where state is kept.
        #[command(flatten)]
        cache_dir: CacheDirArg,
    },
    /// Check every record; print each problem as `path:line: message`.
    Check {
        /// Where the content is.
        #[command(flatten)]
        feeds: FeedsArg,
    },
}

/// `127.0.0.1:8080`, `[::1]:8080` or `localhost:8080` (the first address
/// the name resolves to).
fn parse_addr(text: &str) -> Result<std::net::SocketAddr, String> {
    use std::net::ToSocketAddrs;
    text.to_socket_addrs()
        .map_err(|e| format!("{text}: {e}; write host:port, e.g. 127.0.0.1:8080"))?
        .next()
        .ok_or_else(|| format!("{text}: the name has no address"))
}

/// Entry point of the binary: parses arguments, sets up logging, runs.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    match cli.command.unwrap_or(Command::Serve(cli.serve)) {
        Command::Build {
            feeds,
            out,
            cache_dir,
        } => build(&feeds.feeds, &out, cache_dir.cache_dir.as_deref()),
        Command::Check { feeds } => check(&feeds.feeds),
        Command::Serve(args) => serve(args),
    }
}

fn print_problems(problems: &[Problem], feeds: &Path) {
    for problem in problems {
        eprintln!("{}", problem.in_dir(feeds));
    }
}

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

fn build(feeds: &Path, out: &Path, cache_dir: Option<&Path>) -> ExitCode {
    let started = Instant::now();
    let state = StateDir::open(cache_dir, "build", feeds, Some(out));
    let store = Arc::new(
        state
            .as_ref()
            .and_then(|s| ArticleStore::open(s.path()).ok())
            .unwrap_or_else(ArticleStore::memory),
    );
    let mut library = match &state {
        Some(state) => Library::open_saved(feeds, Arc::clone(&store), &state.library_file()),
        None => Library::open(feeds, Arc::clone(&store)),
    };
    tracing::debug!(elapsed = ?started.elapsed(), "content read");
    let index = match library.index() {
        Ok(index) => index,
        Err(problem) => {
            eprintln!("{}", problem.in_dir(feeds));
            eprintln!(
                "nothing built: {} needs a usable site.toml",
                feeds.display()
            );
            return ExitCode::FAILURE;
        }
    };
    let problems = library.problems();
    print_problems(&problems, feeds);
    print_scheduled(&library, feeds, "left out until then; build again after");
    let manifest = state.as_ref().map(StateDir::manifest_file);
    let report = match crate::build::write_site(&index, &store, out, manifest.as_deref()) {
        Ok(report) => report,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    tracing::debug!(elapsed = ?started.elapsed(), "site written");
    if let Some(state) = &state {
        if let Err(e) = library.save(&state.library_file()) {
            eprintln!("cannot save {}: {e}", state.library_file().display());
        }
        store.compact(&library.live_articles());
    }
    eprintln!(
        "built {}: {} records published, {} refused; {} files written, {} unchanged, {} removed in {:.0?}",
        out.display(),
        index.len(),
        problems.len(),
        report.written,
        report.unchanged,
        report.removed,
        started.elapsed()
    );
    if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn check(feeds: &Path) -> ExitCode {
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
        for warning in crate::content::config::legal_warnings(index.config()) {
            eprintln!("{}", feeds.join(warning).display());
        }
    }
    print_scheduled(&library, feeds, "published then by `serve`");
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

fn serve(args: ServeArgs) -> ExitCode {
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
    match runtime.block_on(crate::serve::run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
