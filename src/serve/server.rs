//! The accept loop: one task per connection, bounded in number, with
//! timeouts for slow clients and a graceful shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::Request;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use super::clients::{forwarded_client, too_many_requests, Clients};
use super::http::{respond, Context, HttpResponse};
use super::reload::{lock, LoadSummary, Publisher};
use super::sendfile::Connection;
use super::watch;
use crate::content::Problem;
use crate::state::StateDir;

/// The default memory budget for cold documents: with the index of
/// 100 000 records and the hot documents, the service stays within what a
/// 512 MB VPS can spare.
pub const DEFAULT_CACHE_MB: u64 = 64;

/// How the server runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// The content directory.
    pub feeds: PathBuf,
    /// Where to listen (`127.0.0.1:0` picks a free port).
    pub addr: SocketAddr,
    /// Open connections at most; further clients wait in the kernel's backlog.
    pub max_connections: usize,
    /// Open connections of one client address at most; more are closed
    /// at once, so that a few slow clients cannot starve everyone else.
    pub max_connections_per_client: usize,
    /// Proxies (nginx, a CDN) whose connections carry many clients: they
    /// are not limited by address; instead, requests they forward are
    /// limited per `X-Forwarded-For` client (in flight at once).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// A client must send its request head within this time (slowloris).
    pub header_read_timeout: Duration,
    /// Request head size limit in bytes.
    pub max_header_bytes: usize,
    /// On shutdown, in-flight requests get this long to finish.
    pub shutdown_grace: Duration,
    /// Whether to watch `feeds/` and reload on change.
    pub watch: bool,
    /// Where state is kept between runs (see [`StateDir`]); `None`: the default.
    pub cache_dir: Option<PathBuf>,
    /// Memory for cold documents rendered on request, in MiB.
    pub cache_mb: u64,
    /// A bucket to keep in step with the site (`--publish-to`).
    pub publish_to: Option<crate::publish::Target>,
    /// Where to serve `/metrics` (Prometheus text format), apart from the
    /// public address; `None`: nowhere.
    pub metrics_addr: Option<SocketAddr>,
}

impl Config {
    /// Defaults for serving `feeds` on `addr`.
    pub fn new(feeds: PathBuf, addr: SocketAddr) -> Config {
        Config {
            feeds,
            addr,
            max_connections: 1024,
            max_connections_per_client: 32,
            trusted_proxies: Vec::new(),
            header_read_timeout: Duration::from_secs(10),
            max_header_bytes: 16 * 1024,
            shutdown_grace: Duration::from_secs(10),
            watch: true,
            cache_dir: None,
            cache_mb: DEFAULT_CACHE_MB,
            publish_to: None,
            metrics_addr: None,
        }
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// No usable site.toml: nothing to serve.
    #[error("{0}")]
    Content(#[from] Problem),
    /// The address is taken or not ours.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the OS said.
        source: std::io::Error,
    },
    /// Reading the content died (a bug: reading never panics by design).
    #[error("loading the content failed: {0}")]
    Load(String),
    /// The file watcher could not start.
    #[error("cannot watch the content directory: {0}")]
    Watch(#[from] notify::Error),
    /// The `--publish-to` bucket cannot be used (a bad URL or setting;
    /// a store that does not answer is retried instead).
    #[error("--publish-to: {0}")]
    Publish(#[from] crate::publish::PublishError),
}

/// A bound server, ready to run.
pub struct Server {
    config: Config,
    listener: TcpListener,
    /// The `--metrics-addr` listener.
    metrics_listener: Option<TcpListener>,
    publisher: Arc<Mutex<Publisher>>,
    context: Context,
    /// What the watcher reported since it was placed (beside the first
    /// load; its first request is a full rescan).
    changes: Option<watch::Changes>,
    /// What the first load published, for the startup line.
    pub loaded: LoadSummary,
}

impl Server {
    /// Loads the content and binds the address.
    pub async fn bind(config: Config) -> Result<Server, StartError> {
        // Placed beside the load, not before it: see `watch::watch`.
        let watching = config.watch.then(|| {
            let feeds = config.feeds.clone();
            tokio::task::spawn_blocking(move || watch::watch(&feeds))
        });
        let feeds = config.feeds.clone();
        let cache_dir = config.cache_dir.clone();
        let cache_mb = config.cache_mb;
        let bucket = match &config.publish_to {
            Some(target) => Some((target.connect()?, target.url())),
            None => None,
        };
        let (publisher, loaded) = tokio::task::spawn_blocking(move || {
            let state = StateDir::open(cache_dir.as_deref(), "serve", &feeds, None);
            // Named as the user typed the folder, as `build` and `check` do.
            Publisher::open(&feeds, state, cache_mb).map_err(|problem| problem.in_dir(&feeds))
        })
        .await
        .map_err(|e| StartError::Load(e.to_string()))??;
        let changes = match watching {
            Some(watching) => Some(
                watching
                    .await
                    .map_err(|e| StartError::Load(e.to_string()))??,
            ),
            None => None,
        };
        let publisher = Arc::new(Mutex::new(publisher));
        if let Some((bucket, url)) = bucket {
            // The bucket's manifest names media files by their hashes:
            // made before the first upload, not behind it.
            let hashing = Arc::clone(&publisher);
            tokio::task::spawn_blocking(move || Publisher::hash_media(&hashing))
                .await
                .map_err(|e| StartError::Load(e.to_string()))?;
            lock(&publisher).publish_to(bucket, url);
        }
        // After `publish_to`: the context shows how publishing goes.
        let context = lock(&publisher).context();
        let listener = TcpListener::bind(config.addr)
            .await
            .map_err(|source| StartError::Bind {
                addr: config.addr,
                source,
            })?;
        let metrics_listener = match config.metrics_addr {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .map_err(|source| StartError::Bind { addr, source })?,
            ),
            None => None,
        };
        Ok(Server {
            metrics_listener,
            changes,
            context,
            publisher,
            config,
            listener,
            loaded,
        })
    }

    /// What requests are answered from (for tests and diagnostics).
    pub fn context(&self) -> Context {
        self.context.clone()
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The address `/metrics` is served on, if any.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener.as_ref()?.local_addr().ok()
    }

    /// Serves until `shutdown` completes, then stops accepting and lets
    /// in-flight requests finish within the grace period.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), StartError> {
        // The start answered before it hashed media/; the hashes follow.
        let hashing = Arc::clone(&self.publisher);
        tokio::task::spawn_blocking(move || Publisher::hash_media(&hashing));
        if let Some(changes) = self.changes {
            watch::spawn_reloader(changes, Arc::clone(&self.publisher));
        }
        if let Some(listener) = self.metrics_listener {
            spawn_metrics(listener, self.context.clone());
        }
        let limit = Arc::new(Semaphore::new(self.config.max_connections));
        let clients = Arc::new(Clients::default());
        let graceful = GracefulShutdown::new();
        // HTTP/1.1, and HTTP/2 for clients that speak it without TLS (h2c).
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(self.config.header_read_timeout)
            .max_buf_size(self.config.max_header_bytes.max(8192));
        builder
            .http2()
            .timer(TokioTimer::new())
            .max_header_list_size(self.config.max_header_bytes as u32);
        tokio::pin!(shutdown);
        let mut backoff = Duration::from_millis(5);
        loop {
            let permit = tokio::select! {
                permit = Arc::clone(&limit).acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => break, // the semaphore is never closed
                },
                () = &mut shutdown => break,
            };
            let (stream, peer) = tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of file descriptors and the like: wait, do not die.
                        tracing::warn!("accept failed: {e}; retrying in {backoff:?}");
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(1));
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            backoff = Duration::from_millis(5);
            let proxy = self.config.trusted_proxies.contains(&peer.ip());
            let slot = if proxy {
                None
            } else {
                match clients.enter(peer.ip(), self.config.max_connections_per_client) {
                    Some(slot) => Some(slot),
                    None => {
                        tracing::debug!(%peer, "too many connections from this address; closed");
                        continue;
                    }
                }
            };
            let context = self.context.clone();
            let forwarded = proxy.then(|| Arc::clone(&clients));
            let per_client = self.config.max_connections_per_client;
            let service = service_fn(move |request: Request<Incoming>| {
                let context = context.clone();
                let forwarded = forwarded.clone();
                async move {
                    // Behind a trusted proxy, the client is the forwarded one.
                    let forwarded_ip = forwarded
                        .as_ref()
                        .and_then(|c| forwarded_client(&request).map(|ip| (c, ip)));
                    let client = forwarded_ip.as_ref().map_or(peer.ip(), |(_, ip)| *ip);
                    let _slot = match forwarded_ip {
                        Some((clients, ip)) => match clients.enter(ip, per_client) {
                            Some(slot) => Some(slot),
                            None => return Ok::<_, Infallible>(too_many_requests()),
                        },
                        None => None,
                    };
                    Ok::<_, Infallible>(handle(&context, &request, client).await)
                }
            });
            let connection = graceful.watch(
                builder
                    .serve_connection(TokioIo::new(Connection::new(stream)), service)
                    .into_owned(),
            );
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::debug!("connection: {e}");
                }
                drop(slot);
                drop(permit);
            });
        }
        drop(self.listener);
        tracing::info!("shutting down: finishing open requests");
        tokio::select! {
            () = graceful.shutdown() => tracing::info!("all connections closed"),
            () = tokio::time::sleep(self.config.shutdown_grace) => {
                tracing::warn!("grace period over; closing remaining connections");
            }
        }
        let keeper = lock(&self.publisher).stop_publishing();
        if let Some(keeper) = keeper {
            tracing::info!("finishing the uploads under way");
            if tokio::time::timeout(self.config.shutdown_grace, keeper.stop())
                .await
                .is_err()
            {
                tracing::warn!("grace period over; publishing cut off");
            }
        }
        let publisher = Arc::clone(&self.publisher);
        let _ = tokio::task::spawn_blocking(move || {
            // Stopped right after a start: the state is saved with the
            // media hashes, which the next start would otherwise make
            // before it answers.
            Publisher::hash_media(&publisher);
            lock(&publisher).save();
        })
        .await;
        Ok(())
    }
}

/// Answers one request, logs and counts it.
async fn handle(
    context: &Context,
    request: &Request<Incoming>,
    client: std::net::IpAddr,
) -> HttpResponse {
    let started = Instant::now();
    let response = respond(
        context,
        request.method(),
        request.uri().path(),
        request.headers(),
    )
    .await;
    // Streamed media have no exact size hint; their Content-Length says it.
    let bytes = hyper::body::Body::size_hint(response.body())
        .exact()
        .or_else(|| {
            response
                .headers()
                .get(hyper::header::CONTENT_LENGTH)?
                .to_str()
                .ok()?
                .parse()
                .ok()
        })
        .unwrap_or(0);
    tracing::info!(
        method = %request.method(),
        path = %request.uri().path(),
        status = response.status().as_u16(),
        bytes,
        micros = started.elapsed().as_micros() as u64,
        "request"
    );
    let user_agent = request
        .headers()
        .get(hyper::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    context.metrics.request(
        request.uri().path(),
        response.status().as_u16(),
        bytes,
        client,
        user_agent,
    );
    response
}

/// Serves `GET /metrics` on the `--metrics-addr` listener until the
/// runtime ends; HTTP/1.1 only, one small task per connection.
fn spawn_metrics(listener: TcpListener, context: Context) {
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            let context = context.clone();
            let service = service_fn(move |request: Request<Incoming>| {
                let context = context.clone();
                async move {
                    let mut response = if request.uri().path() == "/metrics" {
                        // The cache counts its size lazily; bring it up to date.
                        context.cache.run_pending_tasks();
                        let text = context.metrics.encode(context.cache.weighted_size());
                        let mut response = hyper::Response::new(http_body_util::Full::new(
                            bytes::Bytes::from(text),
                        ));
                        response.headers_mut().insert(
                            hyper::header::CONTENT_TYPE,
                            hyper::header::HeaderValue::from_static(
                                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                            ),
                        );
                        response
                    } else {
                        let mut response = hyper::Response::new(http_body_util::Full::new(
                            bytes::Bytes::from_static(b"/metrics\n"),
                        ));
                        *response.status_mut() = hyper::StatusCode::NOT_FOUND;
                        response
                    };
                    response.headers_mut().insert(
                        hyper::header::CACHE_CONTROL,
                        hyper::header::HeaderValue::from_static("no-store"),
                    );
                    Ok::<_, Infallible>(response)
                }
            });
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(Duration::from_secs(10))
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
}

/// Runs the server until SIGINT or SIGTERM; the CLI's `serve`.
pub async fn run(config: Config) -> Result<(), StartError> {
    let server = Server::bind(config.clone()).await?;
    tracing::info!(
        "serving {} on http://{} ({} records published, {} refused)",
        config.feeds.display(),
        server.local_addr().unwrap_or(config.addr),
        server.loaded.published,
        server.loaded.refused
    );
    server.run(shutdown_signal()).await
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {},
            _ = terminate.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
