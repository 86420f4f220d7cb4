//! The command line (PRODUCT.md §2): `serve` (the default), `build`,
//! `check`, `stats`, `publish`: the arguments here, what each does in
//! `commands`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

mod commands;

use commands::{build, check, publish, serve};

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
    /// Serve Prometheus metrics (requests, subscribers stated by
    /// aggregators, daily pollers, reloads) on this address, e.g.
    /// 127.0.0.1:9464; never the public one. Off by default.
    #[arg(long, value_parser = parse_addr)]
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// Keep this bucket in step with the site: s3://BUCKET[/PREFIX]
    /// (published in the background after every reload).
    #[arg(long, value_name = "S3_URL")]
    pub publish_to: Option<String>,
    /// How to reach the bucket.
    #[command(flatten)]
    pub s3: S3Args,
}

/// How to reach an S3-compatible store; credentials come from
/// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or the other usual AWS
/// variables).
#[derive(Debug, Args)]
pub struct S3Args {
    /// The store's S3 endpoint, e.g. http://127.0.0.1:3900 (Garage, MinIO);
    /// AWS when left out (or $AWS_ENDPOINT).
    #[arg(long)]
    pub endpoint: Option<String>,
    /// The region (Garage: "garage"); default $AWS_REGION, else us-east-1.
    #[arg(long)]
    pub region: Option<String>,
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
        /// Also write .gz and .br files beside every text document (for
        /// nginx's gzip_static / brotli_static).
        #[arg(long)]
        precompress: bool,
        /// Where state is kept.
        #[command(flatten)]
        cache_dir: CacheDirArg,
    },
    /// Put the site into S3-compatible storage: only what changed, leaves
    /// before the pages that link to them, deletions last.
    Publish {
        /// Where the content is.
        #[command(flatten)]
        feeds: FeedsArg,
        /// The bucket: s3://BUCKET or s3://BUCKET/PREFIX.
        #[arg(long, value_name = "S3_URL")]
        to: String,
        /// How to reach the bucket.
        #[command(flatten)]
        s3: S3Args,
        /// Where state is kept.
        #[command(flatten)]
        cache_dir: CacheDirArg,
    },
    /// Readers per feed and aggregator, pollers and requests of a running
    /// `serve --metrics-addr`, as a German table.
    Stats {
        /// Where `serve --metrics-addr` answers.
        #[arg(long, default_value = "127.0.0.1:9464")]
        metrics_addr: String,
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
    let log = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        );
    if matches!(cli.command, Some(Command::Check { .. })) {
        // What `check` says is for editors: every line `path:line: …`,
        // as its problems, for the tools that jump to a file's line.
        log.without_time()
            .with_target(false)
            .with_level(false)
            .init();
    } else {
        log.init();
    }
    match cli.command.unwrap_or(Command::Serve(cli.serve)) {
        Command::Build {
            feeds,
            out,
            precompress,
            cache_dir,
        } => build(
            &feeds.feeds,
            &out,
            cache_dir.cache_dir.as_deref(),
            crate::build::BuildOptions { precompress },
        ),
        Command::Publish {
            feeds,
            to,
            s3,
            cache_dir,
        } => publish(&feeds.feeds, &to, s3, cache_dir.cache_dir.as_deref()),
        Command::Check { feeds } => check(&feeds.feeds),
        Command::Stats { metrics_addr } => match crate::stats::fetch(&metrics_addr) {
            Ok(samples) => {
                print!("{}", crate::stats::table(&samples));
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::FAILURE
            }
        },
        Command::Serve(args) => serve(args),
    }
}
