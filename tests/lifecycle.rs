//! The server's life: live reload while editors work, the connection
//! limit, and a graceful shutdown with a request in flight.

mod common;

use std::time::Duration;

use common::server::{body_has, eventually, Running};
use common::{good_record, Fixture};
use hyper::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_reload() {
    let fixture = Fixture::new();
    fixture.record("a.md", &good_record("Erste Meldung", "11.01.2022"));
    let server = Running::start(fixture.path()).await;
    let limit = Duration::from_secs(2);

    // Add.
    fixture.record("b.md", &good_record("Zweite Meldung", "12.01.2022"));
    eventually(&server, "/feed.rss", limit, |r| {
        body_has(r, "Zweite Meldung")
    })
    .await;
    assert_eq!(server.get("/artikel/b/", &[]).await.status, StatusCode::OK);

    // Change.
    fixture.record(
        "b.md",
        &good_record("Zweite Meldung, korrigiert", "12.01.2022"),
    );
    eventually(&server, "/feed.rss", limit, |r| {
        body_has(r, "Zweite Meldung, korrigiert")
    })
    .await;
    // The page was asked for before the change: the new state answers
    // with its own headers and rendering, not the old state's.
    let page = server.get("/artikel/b/", &[]).await;
    assert!(body_has(&page, "Zweite Meldung, korrigiert"));

    // Break: the last good version stays, and the problem is reported.
    fixture.record("b.md", "+++\ntitle = \"Kaputt\"\ndate = \"gestern\"\n+++\n");
    eventually(&server, "/healthz", limit, |r| {
        body_has(r, "articles/b.md:3:")
    })
    .await;
    let feed = server.get("/feed.rss", &[]).await;
    assert!(
        body_has(&feed, "Zweite Meldung, korrigiert"),
        "last good version kept"
    );
    assert!(!body_has(&feed, "Kaputt"));
    // Cold documents too are rendered from the last good version.
    let page = server.get("/artikel/b/", &[]).await;
    assert!(body_has(&page, "Zweite Meldung, korrigiert"));
    let archive = server.get("/archiv/2022/01/feed.atom", &[]).await;
    assert!(body_has(&archive, "Zweite Meldung, korrigiert"));

    // Delete.
    std::fs::remove_file(fixture.path().join("articles/b.md")).unwrap();
    eventually(&server, "/feed.rss", limit, |r| {
        !body_has(r, "Zweite Meldung")
    })
    .await;
    assert_eq!(
        server.get("/artikel/b/", &[]).await.status,
        StatusCode::NOT_FOUND
    );

    // A new image alone (no record changed) is published.
    std::fs::copy(
        fixture.path().join("media/logo.png"),
        fixture.path().join("media/neu.png"),
    )
    .unwrap();
    eventually(&server, "/media/neu.png", limit, |r| {
        r.status == StatusCode::OK
    })
    .await;

    // A bad site.toml keeps the previous site.
    fixture.write("site.toml", "title = \n");
    eventually(&server, "/healthz", limit, |r| body_has(r, "site.toml:1:")).await;
    let feed = server.get("/feed.rss", &[]).await;
    assert!(body_has(&feed, "Teststadt – Meldungen") && body_has(&feed, "Erste Meldung"));

    // And a good one is taken up again.
    fixture.write(
        "site.toml",
        common::SITE_TOML.replace("Teststadt – Meldungen", "Neue Stadt"),
    );
    eventually(&server, "/feed.rss", limit, |r| body_has(r, "Neue Stadt")).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_a_request_in_flight_finish() {
    let server = Running::start(&common::shipped_feeds()).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    // The request head is half sent when the shutdown begins.
    stream
        .write_all(b"GET /feed.rss HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let addr = server.addr;
    let stopping = tokio::spawn(server.stop());
    tokio::time::sleep(Duration::from_millis(200)).await;
    // New connections are refused once the listener is gone.
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "still accepting after shutdown began"
    );
    stream.write_all(b"\r\n").await.unwrap();
    let mut out = Vec::new();
    stream.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.starts_with("HTTP/1.1 200 OK"),
        "{}",
        &text[..text.len().min(200)]
    );
    assert!(text.contains("</rss>"));
    stopping.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_limit_wait_their_turn() {
    let server = Running::start_with(&common::shipped_feeds(), |c| c.max_connections = 1).await;
    let request = b"GET /feed.json HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut first = TcpStream::connect(server.addr).await.unwrap();
    first.write_all(request).await.unwrap();
    let mut buf = vec![0u8; 64];
    let n = first.read(&mut buf).await.unwrap();
    assert!(
        buf[..n].starts_with(b"HTTP/1.1 200"),
        "the first connection is served"
    );
    // The first connection stays open (keep-alive), holding the only slot.
    let mut second = TcpStream::connect(server.addr).await.unwrap();
    second.write_all(request).await.unwrap();
    let waited = tokio::time::timeout(Duration::from_millis(500), second.read(&mut buf)).await;
    assert!(
        waited.is_err(),
        "the second connection is not served while the first holds the slot"
    );
    drop(first);
    let n = tokio::time::timeout(Duration::from_secs(5), second.read(&mut buf))
        .await
        .expect("served once the slot is free")
        .unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    server.stop().await;
}

/// A WebSub hub on loopback that records the form bodies it is sent.
async fn fake_hub() -> (String, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                loop {
                    let n = stream.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    request.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&request).into_owned();
                    let Some(end) = text.find("\r\n\r\n") else {
                        continue;
                    };
                    let length = text[..end]
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if request.len() >= end + 4 + length {
                        let _ = tx.send(text[end + 4..].to_owned());
                        let _ = stream
                            .write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
                            .await;
                        return;
                    }
                }
            });
        }
    });
    (url, rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hub_is_told_which_feeds_changed() {
    let (hub, mut pings) = fake_hub().await;
    let fixture = Fixture::new();
    fixture.write(
        "site.toml",
        format!("{}hub = \"{hub}\"\n", common::SITE_TOML),
    );
    fixture.record("a.md", &good_record("Erste", "11.01.2022"));
    let server = Running::start(fixture.path()).await;
    // Nothing is sent at start-up.
    assert!(
        tokio::time::timeout(Duration::from_millis(300), pings.recv())
            .await
            .is_err()
    );

    // A new record in a new category changes the site feed and creates that category's feed.
    fixture.record(
        "b.md",
        "+++\ntitle = \"Zweite\"\ndate = \"12.01.2022\"\ncategories = [\"Baustellen\"]\n+++\nText\n",
    );
    let mut bodies = Vec::new();
    while bodies.len() < 6 {
        let body = tokio::time::timeout(Duration::from_secs(5), pings.recv())
            .await
            .expect("pings within 5 s")
            .unwrap();
        bodies.push(body);
    }
    let base = "https%3A%2F%2Fwww.teststadt.de%2Ffeeds%2F";
    for path in [
        "feed.rss",
        "feed.atom",
        "feed.json",
        "kategorie%2Fbaustellen%2Ffeed.rss",
        "kategorie%2Fbaustellen%2Ffeed.atom",
        "kategorie%2Fbaustellen%2Ffeed.json",
    ] {
        let expected = format!("hub.mode=publish&hub.url={base}{path}");
        assert!(bodies.contains(&expected), "{expected} not in {bodies:?}");
    }
    // The unchanged category feed (Kultur) is not pinged.
    assert!(
        tokio::time::timeout(Duration::from_millis(500), pings.recv())
            .await
            .is_err()
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_max_age_is_sent_at_once_with_the_same_etags() {
    let fixture = Fixture::new();
    fixture.record("a.md", &good_record("Erste Meldung", "11.01.2022"));
    let server = Running::start(fixture.path()).await;
    let limit = Duration::from_secs(2);
    // A hot document and a cold one (rendered now, kept in the cache).
    let feed = server.get("/feed.rss", &[]).await;
    let page = server.get("/artikel/a/", &[]).await;
    for reply in [&feed, &page] {
        assert_eq!(reply.header("cache-control"), "public, max-age=300");
    }

    fixture.write("site.toml", format!("max_age = 900\n{}", common::SITE_TOML));
    eventually(&server, "/feed.rss", limit, |r| {
        r.header("cache-control") == "public, max-age=900"
    })
    .await;
    let page_after = server.get("/artikel/a/", &[]).await;
    assert_eq!(page_after.header("cache-control"), "public, max-age=900");
    // The bytes did not change, so neither did their ETags: pollers keep
    // getting 304s.
    let feed_after = server.get("/feed.rss", &[]).await;
    assert_eq!(feed_after.header("etag"), feed.header("etag"));
    assert_eq!(feed_after.body, feed.body);
    assert_eq!(page_after.header("etag"), page.header("etag"));
    let revalidated = server
        .get("/artikel/a/", &[("if-none-match", page.header("etag"))])
        .await;
    assert_eq!(revalidated.status, StatusCode::NOT_MODIFIED);
    assert_eq!(revalidated.header("cache-control"), "public, max-age=900");
    server.stop().await;
}
