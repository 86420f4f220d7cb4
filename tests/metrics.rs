//! `serve --metrics-addr` and `stadtfeed stats`: what aggregators state in
//! their User-Agent arrives per feed, other pollers are counted per day
//! without their addresses, and nothing of it is on the public port.

mod common;

use std::process::Command;

use common::server::Running;

/// User-Agent strings as the services send them.
const AGGREGATORS: [(&str, &str); 6] = [
    ("/feed.rss", "Feedly/1.0 (+http://www.feedly.com/fetcher.html; 42 subscribers; )"),
    ("/feed.rss", "Mozilla/5.0 (compatible; inoreader.com; 7 subscribers)"),
    ("/feed.atom", "NewsBlur Feed Fetcher - 12 subscribers - https://www.newsblur.com/site/6841513/stadt-werdau (Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15)"),
    ("/feed.atom", "Feedbin feed-id:1373711 - 3 subscribers"),
    ("/kategorie/kultur/feed.rss", "Mozilla/5.0 (compatible; theoldreader.com; 2 subscribers; feed-id=6a1e2f9c0b)"),
    ("/feed.json", "Mozilla/5.0 (compatible; Miniflux/2.2.3; +https://miniflux.app; 5 subscribers)"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribers_pollers_and_requests_reach_the_metrics_and_stats() {
    let server = Running::start_with(&common::shipped_feeds(), |config| {
        config.metrics_addr = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    let metrics_addr = server.metrics_addr.unwrap();
    for (path, agent) in AGGREGATORS {
        let reply = server.get(path, &[("user-agent", agent)]).await;
        assert_eq!(reply.status, 200, "{path}");
    }
    // Feedly again, with a new count: the latest one counts.
    let feedly = "Feedly/1.0 (+http://www.feedly.com/fetcher.html; 43 subscribers; )";
    server.get("/feed.rss", &[("user-agent", feedly)]).await;
    // Three other pollers (one of them twice, conditionally), from one address.
    let first = server
        .get("/feed.rss", &[("user-agent", "newsboat/2.36")])
        .await;
    server
        .get(
            "/feed.rss",
            &[
                ("user-agent", "newsboat/2.36"),
                ("if-none-match", first.header("etag")),
            ],
        )
        .await;
    server
        .get("/feed.atom", &[("user-agent", "Tiny Tiny RSS/23.04")])
        .await;
    server
        .get("/feed.json", &[("user-agent", "curl/8.5.0")])
        .await;

    // Not on the public port.
    assert_eq!(server.get("/metrics", &[]).await.status, 404);

    let addr = metrics_addr.to_string();
    let samples = tokio::task::spawn_blocking(move || stadtfeed::stats::fetch(&addr))
        .await
        .unwrap()
        .unwrap();
    let subscribers = |aggregator: &str| -> f64 {
        samples
            .iter()
            .filter(|s| s.name == "stadtfeed_subscribers" && s.labels["aggregator"] == aggregator)
            .map(|s| s.value)
            .sum()
    };
    assert_eq!(subscribers("Feedly"), 43.0);
    assert_eq!(subscribers("Inoreader"), 7.0);
    assert_eq!(subscribers("NewsBlur"), 12.0);
    assert_eq!(subscribers("Feedbin"), 3.0);
    assert_eq!(subscribers("The Old Reader"), 2.0);
    assert_eq!(subscribers("Miniflux"), 5.0);
    let value = |name: &str, labels: &[(&str, &str)]| -> f64 {
        samples
            .iter()
            .filter(|s| {
                s.name == name
                    && labels
                        .iter()
                        .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|s| s.value)
            .sum()
    };
    assert_eq!(value("stadtfeed_pollers_today", &[]), 3.0);
    assert_eq!(
        value(
            "stadtfeed_requests_total",
            &[("class", "feed"), ("status", "304")]
        ),
        1.0
    );
    assert_eq!(
        value(
            "stadtfeed_requests_total",
            &[("class", "feed"), ("status", "200")]
        ),
        10.0
    );
    assert!(value("stadtfeed_response_bytes_total", &[("class", "feed")]) > 10_000.0);
    assert_eq!(value("stadtfeed_records_published", &[]), 10.0);

    // The German table.
    let output = Command::new(env!("CARGO_BIN_EXE_stadtfeed"))
        .args(["stats", "--metrics-addr", &metrics_addr.to_string()])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{table}");
    assert!(table.contains("Feedly"), "{table}");
    assert!(
        table.lines().any(|l| l.contains("Feedly")
            && l.contains("/feed.rss")
            && l.trim_end().ends_with("43")),
        "{table}"
    );
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("  zusammen") && l.trim_end().ends_with("72")),
        "{table}"
    );
    assert!(
        table.contains("heute (verschiedene, ohne gespeicherte Adressen): 3"),
        "{table}"
    );
    server.stop().await;
}

#[test]
fn stats_without_a_service_says_how_to_start_one() {
    let output = Command::new(env!("CARGO_BIN_EXE_stadtfeed"))
        .args(["stats", "--metrics-addr", "127.0.0.1:9"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--metrics-addr 127.0.0.1:9"), "{stderr}");
}
