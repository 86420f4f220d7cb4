//! What a poller is told over time: `Last-Modified` moves with every change
//! of a document (a back-dated record, an edit, a deletion) and is never
//! later than `Date`; a record dated in the future appears by itself when
//! its time comes.

mod common;

use std::time::Duration;

use common::server::{body_has, eventually, Reply, Running};
use common::{good_record, Fixture};
use hyper::StatusCode;

fn http_date(reply: &Reply, name: &str) -> std::time::SystemTime {
    httpdate::parse_http_date(reply.header(name)).unwrap_or_else(|_| panic!("no {name}"))
}

/// HTTP dates have whole seconds: let the clock pass one.
async fn next_second() {
    tokio::time::sleep(Duration::from_millis(1100)).await;
}

/// Polls with `If-Modified-Since` only, as many aggregators do: the answer
/// after a change must be the new document, never a 304.
async fn poll_since(server: &Running, path: &str, since: &str) -> Reply {
    server.get(path, &[("if-modified-since", since)]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn if_modified_since_alone_misses_no_change() {
    let fixture = Fixture::new();
    fixture.record("a.md", &good_record("Erste Meldung", "11.01.2022 10:00"));
    fixture.record("b.md", &good_record("Zweite Meldung", "12.01.2022 10:00"));
    let server = Running::start(fixture.path()).await;
    let limit = Duration::from_secs(5);
    let mut last = server.get("/feed.rss", &[]).await;
    for path in ["/feed.rss", "/archiv/2022/01/feed.rss", "/artikel/a/"] {
        let first = server.get(path, &[]).await;
        assert!(http_date(&first, "last-modified") <= http_date(&first, "date"));
        let again = poll_since(&server, path, first.header("last-modified")).await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{path} unchanged");
    }

    // A back-dated record: dated before every other, published now.
    next_second().await;
    fixture.record("alt.md", &good_record("Nachgereicht", "05.01.2022 09:00"));
    eventually(&server, "/feed.rss", limit, |r| body_has(r, "Nachgereicht")).await;
    let reply = poll_since(&server, "/feed.rss", last.header("last-modified")).await;
    assert_eq!(reply.status, StatusCode::OK, "back-dated record hidden");
    assert!(body_has(&reply, "Nachgereicht"));
    assert!(http_date(&reply, "last-modified") <= http_date(&reply, "date"));
    let archive = poll_since(
        &server,
        "/archiv/2022/01/feed.rss",
        last.header("last-modified"),
    )
    .await;
    assert_eq!(
        archive.status,
        StatusCode::OK,
        "archive: back-dated record hidden"
    );
    last = reply;

    // An edited body.
    next_second().await;
    fixture.record(
        "a.md",
        &good_record("Erste Meldung", "11.01.2022 10:00").replace("Text von", "Neuer Text von"),
    );
    eventually(&server, "/feed.rss", limit, |r| {
        body_has(r, "Neuer Text von")
    })
    .await;
    let reply = poll_since(&server, "/feed.rss", last.header("last-modified")).await;
    assert_eq!(reply.status, StatusCode::OK, "edit hidden");
    let page = poll_since(&server, "/artikel/a/", last.header("last-modified")).await;
    assert_eq!(page.status, StatusCode::OK, "article page: edit hidden");
    last = reply;

    // A deletion.
    next_second().await;
    std::fs::remove_file(fixture.path().join("articles/b.md")).unwrap();
    eventually(&server, "/feed.rss", limit, |r| {
        !body_has(r, "Zweite Meldung")
    })
    .await;
    let reply = poll_since(&server, "/feed.rss", last.header("last-modified")).await;
    assert_eq!(reply.status, StatusCode::OK, "deletion hidden");
    let archive = poll_since(
        &server,
        "/archiv/2022/01/feed.rss",
        last.header("last-modified"),
    )
    .await;
    assert_eq!(archive.status, StatusCode::OK, "archive: deletion hidden");
    // And once seen, unchanged again.
    let again = poll_since(&server, "/feed.rss", reply.header("last-modified")).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_record_appears_by_itself_when_due() {
    let fixture = Fixture::new();
    fixture.record("a.md", &good_record("Erste Meldung", "11.01.2022 10:00"));
    use chrono::SubsecRound;
    let due = (chrono::Utc::now() + chrono::Duration::seconds(3)).trunc_subsecs(0);
    let date = due
        .with_timezone(&chrono_tz::Europe::Berlin)
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
    fixture.record("geplant.md", &good_record("Geplante Meldung", &date));
    let server = Running::start(fixture.path()).await;
    let before = server.get("/feed.rss", &[]).await;
    assert!(
        !body_has(&before, "Geplante Meldung"),
        "published before its time"
    );
    assert_eq!(
        server.get("/artikel/geplant/", &[]).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(http_date(&before, "last-modified") <= http_date(&before, "date"));
    // No file changes from here on: the service publishes it by itself.
    let waited = eventually(&server, "/feed.rss", Duration::from_secs(8), |r| {
        body_has(r, "Geplante Meldung")
    })
    .await;
    assert!(chrono::Utc::now() >= due, "published {waited:?} early");
    let reply = poll_since(&server, "/feed.rss", before.header("last-modified")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(http_date(&reply, "last-modified") <= http_date(&reply, "date"));
    server.stop().await;
}

#[test]
fn check_lists_scheduled_records_and_refuses_implausible_dates() {
    let fixture = Fixture::new();
    fixture.record("a.md", &good_record("Erste Meldung", "11.01.2022 10:00"));
    let next_month = (chrono::Utc::now() + chrono::Duration::days(30))
        .format("%d.%m.%Y")
        .to_string();
    fixture.record("geplant.md", &good_record("Geplant", &next_month));
    fixture.record("tippfehler.md", &good_record("Tippfehler", "11.01.2202"));
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_stadtfeed"))
        .args(["check", "--feeds"])
        .arg(fixture.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stdout.contains("articles/tippfehler.md:3: Datum 11.01.2202 liegt 175 Jahre in der Zukunft – Tippfehler?"),
        "{stdout}"
    );
    assert!(
        stderr.contains("articles/geplant.md: geplant für "),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delta_request_gets_only_what_changed() {
    let fixture = Fixture::new();
    fixture.record("a.md", &good_record("Erste Meldung", "11.01.2022 10:00"));
    fixture.record("b.md", &good_record("Zweite Meldung", "12.01.2022 10:00"));
    let server = Running::start(fixture.path()).await;
    let first = server.get("/feed.atom", &[]).await;
    let old = first.header("etag").to_owned();
    fixture.record("c.md", &good_record("Dritte Meldung", "13.01.2022 10:00"));
    eventually(&server, "/feed.atom", Duration::from_secs(5), |r| {
        body_has(r, "Dritte Meldung")
    })
    .await;
    let current = server.get("/feed.atom", &[]).await;
    let new = current.header("etag").to_owned();
    assert_ne!(old, new);

    // An earlier version named: only the new entry, 226 IM Used.
    let delta = server
        .get("/feed.atom", &[("a-im", "feed"), ("if-none-match", &old)])
        .await;
    assert_eq!(delta.status.as_u16(), 226);
    assert_eq!(delta.header("im"), "feed");
    assert_eq!(delta.header("cache-control"), "no-store");
    assert_eq!(delta.header("etag"), new);
    let feed = feed_rs::parser::parse(&delta.body[..]).unwrap();
    let titles: Vec<String> = feed
        .entries
        .iter()
        .map(|e| e.title.as_ref().unwrap().content.clone())
        .collect();
    assert_eq!(titles, ["Dritte Meldung"]);

    // The current version: 304. An unknown one: the whole feed.
    let same = server
        .get("/feed.atom", &[("a-im", "feed"), ("if-none-match", &new)])
        .await;
    assert_eq!(same.status, StatusCode::NOT_MODIFIED);
    let unknown = server
        .get(
            "/feed.atom",
            &[
                ("a-im", "feed"),
                ("if-none-match", "\"0123456789abcdef0123456789abcdef\""),
            ],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::OK);
    assert_eq!(
        feed_rs::parser::parse(&unknown.body[..])
            .unwrap()
            .entries
            .len(),
        3
    );
    server.stop().await;
}
