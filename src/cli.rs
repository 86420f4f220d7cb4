//! The command line (PRODUCT.md §2): `serve` (the default), `build`, `check`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, Parser, Subcommand};

use crate::content::{Library, Problem};

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

/// Options of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Where the content is.
    #[command(flatten)]
    pub feeds: FeedsArg,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: std::net::SocketAddr,
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
    },
    /// Check every record; print each problem as `path:line: message`.
    Check {
        /// Where the content is.
        #[command(flatten)]
        feeds: FeedsArg,
    },
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
        Command::Build { feeds, out } => build(&feeds.feeds, &out),
        Command::Check { feeds } => check(&feeds.feeds),
        Command::Serve(args) => serve(&args.feeds.feeds, args.addr),
    }
}

fn print_problems(problems: &[Problem], feeds: &Path) {
    for problem in problems {
        eprintln!("{}", problem.in_dir(feeds));
    }
}

fn build(feeds: &Path, out: &Path) -> ExitCode {
    let started = Instant::now();
    let library = Library::open(feeds);
    let snapshot = match library.snapshot() {
        Ok(snapshot) => snapshot,
        Err(problem) => {
            eprintln!("{}", problem.in_dir(feeds));
            eprintln!(
                "nothing built: {} needs a usable site.toml",
                feeds.display()
            );
            return ExitCode::FAILURE;
        }
    };
    print_problems(&snapshot.problems, feeds);
    let published = crate::site::publish(&snapshot.site);
    let written = match crate::build::write_site(&published, out) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!(
        "built {}: {} records published, {} refused, {} documents written in {:.0?}",
        out.display(),
        snapshot.site.articles.len(),
        snapshot.problems.len(),
        written,
        started.elapsed()
    );
    if snapshot.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn check(feeds: &Path) -> ExitCode {
    let library = Library::open(feeds);
    match library.snapshot() {
        Err(problem) => {
            println!("{}", problem.in_dir(feeds));
            ExitCode::FAILURE
        }
        Ok(snapshot) => {
            for problem in &snapshot.problems {
                println!("{}", problem.in_dir(feeds));
            }
            eprintln!(
                "{} records, {} problems",
                snapshot.records_seen,
                snapshot.problems.len()
            );
            if snapshot.problems.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn serve(feeds: &Path, addr: std::net::SocketAddr) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let config = crate::serve::Config::new(feeds.to_path_buf(), addr);
    match runtime.block_on(crate::serve::run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
