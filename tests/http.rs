//! The HTTP manners a poller relies on, against the real server over TCP:
//! the bytes `build` writes, content types, conditional GET, encodings,
//! HEAD and other methods, 404s and traversal, bad requests, h2c.

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::server::{gunzip, unbrotli, Running};
use common::{good_record, Fixture};
use http_body_util::{BodyExt, Empty};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_document_is_byte_identical_to_the_built_file() {
    let out = tempfile::tempdir().unwrap();
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_stadtfeed"))
        .args([
            "build",
            "--feeds",
            common::shipped_feeds().to_str().unwrap(),
            "--out",
            out.path().to_str().unwrap(),
        ])
        .env("RUST_LOG", "error")
        .status()
        .unwrap();
    assert!(status.success());
    let server = Running::start(&common::shipped_feeds()).await;
    let (site, _) = common::publish_dir(&common::shipped_feeds());
    for path in site.documents.keys() {
        let url = format!("/{}", path.strip_suffix("index.html").unwrap_or(path));
        let reply = server.get(&url, &[]).await;
        assert_eq!(reply.status, StatusCode::OK, "{url}");
        let file = std::fs::read(out.path().join(path)).unwrap();
        assert!(reply.body == file, "{url} differs from the built file");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_types() {
    let server = Running::start(&common::shipped_feeds()).await;
    let table = [
        ("/feed.rss", "application/rss+xml; charset=utf-8"),
        ("/feed.atom", "application/atom+xml; charset=utf-8"),
        ("/feed.json", "application/feed+json; charset=utf-8"),
        (
            "/kategorie/kultur/feed.atom",
            "application/atom+xml; charset=utf-8",
        ),
        ("/feeds.opml", "text/x-opml; charset=utf-8"),
        ("/", "text/html; charset=utf-8"),
        ("/kategorie/jugend-soziales/", "text/html; charset=utf-8"),
        ("/artikel/2022-asskomm-werdau/", "text/html; charset=utf-8"),
        ("/media/2022/werdau-videokonferenz.jpg", "image/jpeg"),
        ("/media/logo.png", "image/png"),
    ];
    for (path, content_type) in table {
        let reply = server.get(path, &[]).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
        assert_eq!(reply.header("content-type"), content_type, "{path}");
        assert_eq!(reply.header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(
            reply.header("content-length"),
            reply.body.len().to_string(),
            "{path}"
        );
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditional_get() {
    let server = Running::start(&common::shipped_feeds()).await;
    let first = server.get("/feed.rss", &[]).await;
    let etag = first.header("etag").to_owned();
    let last_modified = first.header("last-modified").to_owned();
    assert!(
        etag.starts_with('"') && etag.ends_with('"'),
        "strong ETag: {etag}"
    );
    // The newest of the entries' dates and the files' and folders' mtimes,
    // never later than the response.
    let modified = httpdate::parse_http_date(&last_modified).unwrap();
    let newest_entry = httpdate::parse_http_date("Sun, 27 Nov 2022 23:00:00 GMT").unwrap();
    assert!(modified >= newest_entry, "{last_modified}");
    assert!(modified <= httpdate::parse_http_date(first.header("date")).unwrap());

    let weak = format!("W/{etag}");
    let list = format!("\"nope\", {etag}");
    for if_none_match in [etag.as_str(), weak.as_str(), list.as_str(), "*"] {
        let reply = server
            .get("/feed.rss", &[("if-none-match", if_none_match)])
            .await;
        assert_eq!(reply.status, StatusCode::NOT_MODIFIED, "{if_none_match}");
        assert!(reply.body.is_empty());
        assert_eq!(reply.header("etag"), etag);
        assert_eq!(reply.header("cache-control"), "public, max-age=300");
        assert_eq!(reply.header("last-modified"), last_modified);
        assert_eq!(reply.header("vary"), "Accept-Encoding");
    }
    let reply = server
        .get("/feed.rss", &[("if-none-match", "\"other\"")])
        .await;
    assert_eq!(reply.status, StatusCode::OK);

    let reply = server
        .get("/feed.rss", &[("if-modified-since", &last_modified)])
        .await;
    assert_eq!(reply.status, StatusCode::NOT_MODIFIED);
    let reply = server
        .get(
            "/feed.rss",
            &[("if-modified-since", "Sat, 26 Nov 2022 23:00:00 GMT")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    // If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2).
    let reply = server
        .get(
            "/feed.rss",
            &[
                ("if-none-match", "\"other\""),
                ("if-modified-since", &last_modified),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_negotiation() {
    let server = Running::start(&common::shipped_feeds()).await;
    let plain = server.get("/feed.atom", &[]).await;
    assert_eq!(plain.header("content-encoding"), "");
    assert_eq!(plain.header("vary"), "Accept-Encoding");

    let gz = server
        .get("/feed.atom", &[("accept-encoding", "gzip")])
        .await;
    assert_eq!(gz.header("content-encoding"), "gzip");
    assert_eq!(gunzip(&gz.body), plain.body);
    let x_gzip = server
        .get("/feed.atom", &[("accept-encoding", "x-gzip")])
        .await;
    assert_eq!(x_gzip.header("content-encoding"), "gzip");
    assert_eq!(gunzip(&x_gzip.body), plain.body);

    let br = server
        .get("/feed.atom", &[("accept-encoding", "gzip, deflate, br")])
        .await;
    assert_eq!(br.header("content-encoding"), "br");
    assert_eq!(unbrotli(&br.body), plain.body);
    assert!(br.body.len() < gz.body.len() && gz.body.len() < plain.body.len());

    let etags = [plain.header("etag"), gz.header("etag"), br.header("etag")];
    assert!(
        etags[0] != etags[1] && etags[1] != etags[2] && etags[0] != etags[2],
        "{etags:?}"
    );

    let table = [
        ("gzip;q=1.0, br;q=0.5", "gzip"),
        ("br;q=0.1, gzip;q=0.2", "gzip"),
        ("br;q=0, gzip;q=0", ""),
        ("*", "br"),
        ("*;q=0.5, br;q=0", "gzip"),
        ("identity", ""),
        ("identity;q=0.5, gzip", "gzip"),
        ("compress, deflate", ""),
        ("GZIP", "gzip"),
    ];
    for (accept, expected) in table {
        let reply = server
            .get("/feed.atom", &[("accept-encoding", accept)])
            .await;
        assert_eq!(reply.header("content-encoding"), expected, "{accept}");
    }
    // A 304 names the ETag of the encoding the client would have received.
    let reply = server
        .get(
            "/feed.atom",
            &[
                ("accept-encoding", "gzip"),
                ("if-none-match", gz.header("etag")),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_MODIFIED);
    let reply = server
        .get(
            "/feed.atom",
            &[
                ("accept-encoding", "br"),
                ("if-none-match", gz.header("etag")),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    // Images are not compressed again.
    let image = server
        .get(
            "/media/2022/werdau-videokonferenz.jpg",
            &[("accept-encoding", "br, gzip")],
        )
        .await;
    assert_eq!(image.header("content-encoding"), "");
    assert_eq!(image.header("cache-control"), stadtfeed::site::LONG_CACHE);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_and_other_methods() {
    let server = Running::start(&common::shipped_feeds()).await;
    let get = server
        .get("/feed.json", &[("accept-encoding", "gzip")])
        .await;
    let head = server
        .request("HEAD", "/feed.json", &[("accept-encoding", "gzip")])
        .await;
    assert_eq!(head.status, StatusCode::OK);
    assert!(head.body.is_empty());
    for name in [
        "etag",
        "content-type",
        "content-length",
        "content-encoding",
        "last-modified",
        "cache-control",
        "vary",
    ] {
        assert_eq!(head.header(name), get.header(name), "{name}");
    }
    for method in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"] {
        let reply = server.request(method, "/feed.rss", &[]).await;
        assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(reply.header("allow"), "GET, HEAD", "{method}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_age_comes_from_site_toml() {
    let fixture = Fixture::new();
    fixture.write("site.toml", format!("{}max_age = 120\n", common::SITE_TOML));
    fixture.record("a.md", &good_record("A", "11.01.2022"));
    let server = Running::start(fixture.path()).await;
    let reply = server.get("/feed.rss", &[]).await;
    assert_eq!(reply.header("cache-control"), "public, max-age=120");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_paths_and_redirects() {
    let server = Running::start(&common::shipped_feeds()).await;
    let reply = server.get("/gibt-es-nicht", &[]).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.header("content-type"), "text/html; charset=utf-8");
    assert!(String::from_utf8_lossy(&reply.body).contains("Seite nicht gefunden"));
    for (from, to) in [
        (
            "/artikel/2022-asskomm-werdau",
            "/artikel/2022-asskomm-werdau/",
        ),
        ("/kategorie/kultur", "/kategorie/kultur/"),
    ] {
        let reply = server.get(from, &[]).await;
        assert_eq!(reply.status, StatusCode::MOVED_PERMANENTLY, "{from}");
        assert_eq!(reply.header("location"), to);
    }
    let reply = server.get("/feed.rss?utm_source=x", &[]).await;
    assert_eq!(reply.status, StatusCode::OK, "query strings are ignored");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_path_leaves_the_site() {
    let fixture = Fixture::new();
    fixture.record("a.md", &good_record("A", "11.01.2022"));
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.png"), b"geheim").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(
        outside.path().join("secret.png"),
        fixture.path().join("media/secret.png"),
    )
    .unwrap();
    // A symlink that stays inside media/ is followed and served.
    fixture.write("media/plan.pdf", b"%PDF-1.4 Plan");
    #[cfg(unix)]
    std::os::unix::fs::symlink(
        fixture.path().join("media/plan.pdf"),
        fixture.path().join("media/verweis.pdf"),
    )
    .unwrap();
    let server = Running::start(fixture.path()).await;
    let linked = server
        .raw(b"GET /media/verweis.pdf HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await;
    assert!(linked.starts_with("HTTP/1.1 200"), "{linked}");
    assert!(linked.ends_with("%PDF-1.4 Plan"), "{linked}");
    let attempts = [
        "/../site.toml",
        "/media/../site.toml",
        "/%2e%2e/site.toml",
        "/media/%2e%2e/site.toml",
        "/media/..%2fsite.toml",
        "/media%2f..%2fsite.toml",
        "/media/..%5csite.toml",
        "/media/..\\site.toml",
        "/site.toml",
        "/articles/a.md",
        "/media/secret.png",
        "/media/%00",
        "//etc/passwd",
        "/%c0%ae%c0%ae/site.toml",
    ];
    for path in attempts {
        let raw = server
            .raw(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
            .await;
        let status_line = raw.lines().next().unwrap_or_default().to_owned();
        assert!(
            status_line.contains(" 404 ") || status_line.contains(" 400 "),
            "{path}: {status_line}"
        );
        assert!(
            !raw.contains("base_url") && !raw.contains("geheim"),
            "{path} leaked a file"
        );
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_do_not_hurt() {
    let server = Running::start(&common::shipped_feeds()).await;
    let garbage = server
        .raw(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n")
        .await;
    assert!(
        garbage.is_empty() || garbage.starts_with("HTTP/1.1 400"),
        "{garbage}"
    );
    let huge = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(64 * 1024)
    );
    let reply = server.raw(huge.as_bytes()).await;
    assert!(
        reply.is_empty() || reply.starts_with("HTTP/1.1 431"),
        "{}",
        &reply[..reply.len().min(200)]
    );
    let reply = server.raw(b"GET /feed.rss HTTP/9.9\r\n\r\n").await;
    assert!(
        reply.is_empty() || reply.starts_with("HTTP/1.1 505") || reply.starts_with("HTTP/1.1 400"),
        "{reply}"
    );
    // A slow client that never finishes its head is cut off (header read timeout).
    let started = Instant::now();
    let slow = server.raw(b"GET /feed.rss HTTP/1.1\r\nHost: x\r\n").await;
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "cut off after the 1 s timeout"
    );
    assert!(
        slow.is_empty() || slow.starts_with("HTTP/1.1 408"),
        "{slow}"
    );
    // Still serving.
    assert_eq!(server.get("/feed.rss", &[]).await.status, StatusCode::OK);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_reports_records() {
    let fixture = Fixture::new();
    fixture.record("gut.md", &good_record("Gut", "11.01.2022"));
    fixture.record(
        "kaputt.md",
        "+++\ntitle = \"Kaputt\"\ndate = \"31.02.2022\"\n+++\n",
    );
    let server = Running::start(fixture.path()).await;
    let reply = server.get("/healthz", &[]).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.header("content-type"),
        "application/json; charset=utf-8"
    );
    let health: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["records_published"], 1);
    let refused = health["records_refused"].as_array().unwrap();
    assert_eq!(refused.len(), 1);
    assert!(refused[0].as_str().unwrap().ends_with(
        "articles/kaputt.md:3: `31.02.2022` does not exist in the calendar; check day and month"
    ));
    assert!(chrono::DateTime::parse_from_rfc3339(health["last_reload"].as_str().unwrap()).is_ok());
    server.stop().await;
}

/// An HTTP/2 connection to `server` without TLS (h2c, prior knowledge).
async fn http2_client(server: &Running) -> hyper::client::conn::http2::SendRequest<Empty<Bytes>> {
    let stream = TcpStream::connect(server.addr).await.unwrap();
    let (sender, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        TokioIo::new(stream),
    )
    .await
    .unwrap();
    tokio::spawn(connection);
    sender
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_without_tls() {
    let server = Running::start(&common::shipped_feeds()).await;
    let mut sender = http2_client(&server).await;
    let request = Request::builder()
        .uri(format!("http://{}/feed.atom", server.addr))
        .header("accept-encoding", "gzip")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    assert_eq!(response.version(), hyper::Version::HTTP_2);
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-encoding"], "gzip");
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let plain = server.get("/feed.atom", &[]).await;
    assert_eq!(gunzip(&body), plain.body);
    drop(sender);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_are_streamed_from_disk_not_held_in_memory() {
    // Images and other media (a town's PDFs) alike.
    let fixture = common::Fixture::new();
    // A 6 MB image (a PNG header and padding the decoder never reads).
    let mut big = std::fs::read(fixture.path().join("media/logo.png")).unwrap();
    big.resize(6 * 1024 * 1024, 0);
    fixture.write("media/gross.png", &big);
    let mut pdf = b"%PDF-1.7\n".to_vec();
    pdf.resize(3 * 1024 * 1024, b' ');
    fixture.write("media/satzung.pdf", &pdf);
    fixture.record(
        "bild.md",
        "+++\ntitle = \"Großes Bild\"\ndate = \"11.01.2022\"\n[image]\nsrc = \"media/gross.png\"\nalt = \"x\"\n+++\nText\n",
    );
    let server = Running::start(fixture.path()).await;
    // Served at once; named by the hash of its bytes (the same on every
    // replica) once the start has hashed media/, just after it answers.
    let first = server.get("/media/gross.png", &[]).await;
    assert!(first.body[..] == big[..]);
    server.media_hashed().await;
    let hash = blake3::hash(&big);
    let hex: String = hash.as_bytes()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    for _ in 0..3 {
        let reply = server.get("/media/gross.png", &[]).await;
        assert_eq!(reply.header("etag"), format!("\"{hex}\""));
        assert_eq!(reply.status, 200);
        assert_eq!(reply.header("content-length"), big.len().to_string());
        assert_eq!(reply.body.len(), big.len());
        assert!(reply.body[..] == big[..]);
        let etag = reply.header("etag").to_owned();
        let again = server
            .get("/media/gross.png", &[("if-none-match", &etag)])
            .await;
        assert_eq!(again.status, 304);
    }
    // A town's PDF beside the images: the same.
    let pdf = server.get("/media/satzung.pdf", &[]).await;
    assert_eq!(pdf.status, 200);
    assert_eq!(pdf.header("content-type"), "application/pdf");
    assert_eq!(pdf.body.len(), 3 * 1024 * 1024);
    let head = server.request("HEAD", "/media/gross.png", &[]).await;
    assert_eq!(head.header("content-length"), big.len().to_string());
    assert!(head.body.is_empty());
    // Nothing of it went into the memory of documents rendered on request.
    server.context.cache.run_pending_tasks();
    assert_eq!(server.context.cache.entry_count(), 0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_feeds_arrive_whole_one_after_another_on_one_connection() {
    // Bodies from 32 KiB on are sent with sendfile from a file of their
    // own, unnamed in the server's state directory (src/serve/sendfile.rs):
    // what arrives must be the rendered bytes, framed right between the
    // responses of one keep-alive connection.
    let fixture = Fixture::new();
    let paragraph = "Der Stadtrat hat in seiner Sitzung über den Haushalt, die \
                     Sanierung der Grundschule und den Radweg entschieden. "
        .repeat(12);
    for day in 1..=28 {
        fixture.record(
            &format!("r{day}.md"),
            &format!(
                "+++\ntitle = \"Sitzung {day}\"\ndate = \"{day:02}.02.2022\"\n+++\n{paragraph}\n\n{paragraph}\n"
            ),
        );
    }
    let (site, _) = common::publish_dir(fixture.path());
    let server = Running::start(fixture.path()).await;
    let stream = TcpStream::connect(server.addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let requests = [
        ("GET", "/feed.rss", None),
        ("HEAD", "/feed.rss", None),
        ("GET", "/feed.atom", None),
        ("GET", "/feed.rss", Some("gzip")),
        ("GET", "/feed.json", None),
        ("GET", "/feed.rss", None),
    ];
    for (method, path, encoding) in requests {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", server.addr));
        if let Some(encoding) = encoding {
            request = request.header("accept-encoding", encoding);
        }
        // Still open after the last response: it was framed right.
        sender.ready().await.unwrap();
        let response = sender
            .send_request(request.body(Empty::<Bytes>::new()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{method} {path}");
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let expected = &site.documents[path.trim_start_matches('/')].body;
        assert!(
            expected.len() > stadtfeed::serve::sendfile::MIN_BYTES,
            "{path} is only {} bytes",
            expected.len()
        );
        let body = match (method, encoding) {
            ("HEAD", _) => {
                assert!(body.is_empty());
                continue;
            }
            (_, Some(_)) => gunzip(&body),
            _ => body.to_vec(),
        };
        assert!(body == expected[..], "{method} {path}: bytes differ");
    }
    drop(sender);
    // HTTP/2 cuts a body into frames of 16 KiB, each a slice of the
    // file-backed bytes between frame headers.
    let mut sender = http2_client(&server).await;
    for path in ["/feed.rss", "/feed.json"] {
        let request = Request::builder()
            .uri(format!("http://{}{path}", server.addr))
            .body(Empty::<Bytes>::new())
            .unwrap();
        let response = sender.send_request(request).await.unwrap();
        assert_eq!(response.version(), hyper::Version::HTTP_2);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let expected = &site.documents[path.trim_start_matches('/')].body;
        assert!(body == expected[..], "h2 {path}: bytes differ");
    }
    drop(sender);
    // Those files are this server's, in its own state directory (the
    // tests' other servers run in this process meanwhile).
    #[cfg(target_os = "linux")]
    {
        let state = server.state_dir().canonicalize().unwrap();
        let bodies = std::fs::read_dir("/proc/self/fd")
            .unwrap()
            .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
            .filter(|target| target.starts_with(&state))
            .filter(|target| target.to_string_lossy().ends_with("(deleted)"))
            .count();
        assert!(bodies >= 3, "{bodies} body files in {}", state.display());
    }
    server.stop().await;
}
