//! The real server in the test process on 127.0.0.1:0, and small clients
//! for it: hyper's for well-formed requests, raw TCP for the rest.

use std::io::Read;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::header::HeaderMap;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use stadtfeed::serve::server::Server;
use stadtfeed::serve::Config;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A server running in this test process until `stop`.
pub struct Running {
    pub addr: SocketAddr,
    /// Where `/metrics` answers, when asked for.
    pub metrics_addr: Option<SocketAddr>,
    /// What the server answers from.
    pub context: stadtfeed::serve::http::Context,
    /// Its state directory, gone with the server.
    _state: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Running {
    pub async fn start(dir: &Path) -> Running {
        Running::start_with(dir, |_| {}).await
    }

    pub async fn start_with(dir: &Path, adjust: impl FnOnce(&mut Config)) -> Running {
        let mut config = Config::new(dir.to_path_buf(), "127.0.0.1:0".parse().unwrap());
        config.header_read_timeout = Duration::from_secs(1);
        config.shutdown_grace = Duration::from_secs(5);
        let state = tempfile::tempdir().expect("temp dir");
        config.cache_dir = Some(state.path().to_path_buf());
        adjust(&mut config);
        let server = Server::bind(config).await.expect("server starts");
        let addr = server.local_addr().unwrap();
        let metrics_addr = server.metrics_addr();
        let context = server.context();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            server
                .run(async {
                    let _ = stopped.await;
                })
                .await
                .expect("server runs");
        });
        Running {
            addr,
            metrics_addr,
            context,
            _state: state,
            stop: Some(stop),
            task,
        }
    }

    /// Its state directory (`--cache-dir`).
    #[allow(dead_code)]
    pub fn state_dir(&self) -> &Path {
        self._state.path()
    }

    pub async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(10), &mut self.task)
            .await
            .expect("server stops within its grace period")
            .expect("server task ends cleanly");
    }

    pub async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        self.request("GET", path, headers).await
    }

    /// One request on a fresh connection with hyper's client.
    pub async fn request(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Reply {
        let stream = TcpStream::connect(self.addr).await.unwrap();
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(connection);
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header("host", "localhost");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = sender
            .send_request(request.body(Empty::<Bytes>::new()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            headers,
            body,
        }
    }

    /// Raw bytes on a fresh connection; returns what the server sent until it closed.
    pub async fn raw(&self, request: &[u8]) -> String {
        let mut stream = TcpStream::connect(self.addr).await.unwrap();
        stream.write_all(request).await.unwrap();
        let mut out = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut out)).await;
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// What came back: status, headers and the whole body.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or("")
    }
}

pub fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

pub fn unbrotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli::BrotliDecompress(&mut &bytes[..], &mut out).unwrap();
    out
}

/// Polls `path` until `check` holds on the body, for at most `limit`.
impl Running {
    /// Waits until the media files the start measured are hashed: their
    /// ETags are then the hashes of their bytes (`Library::open_serving`).
    pub async fn media_hashed(&self) {
        let started = Instant::now();
        while self
            .context
            .state
            .load()
            .index
            .media_files()
            .any(|file| file.hash.is_none())
        {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "media not hashed within 10 s of the start"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

pub async fn eventually(
    server: &Running,
    path: &str,
    limit: Duration,
    check: impl Fn(&Reply) -> bool,
) -> Duration {
    let started = Instant::now();
    loop {
        let reply = server.get(path, &[]).await;
        if check(&reply) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < limit,
            "{path}: not within {limit:?}: {}",
            String::from_utf8_lossy(&reply.body)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn body_has(reply: &Reply, text: &str) -> bool {
    String::from_utf8_lossy(&reply.body).contains(text)
}
