//! What the newsroom sees of its readers, and the service's own health, in
//! Prometheus text format on an address of its own (`--metrics-addr`,
//! never the public port): requests by kind of document and status, bytes
//! sent, the subscriber counts aggregators state in their `User-Agent`,
//! distinct other pollers per day, reloads, refused records and the cache.
//!
//! Pollers are counted without keeping addresses: a hash of address and
//! `User-Agent` with a salt that is drawn each day and lives only in
//! memory, so yesterday's hashes cannot be matched with anything.

use std::collections::HashSet;
use std::hash::{BuildHasher, Hash, Hasher};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{NaiveDate, Utc};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// A request counted: kind of document and status.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The kind of document ([`path_class`]).
    pub class: &'static str,
    /// The response status.
    pub status: u16,
}

/// Bytes sent for one kind of document.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ClassLabels {
    /// The kind of document.
    pub class: &'static str,
}

/// The subscribers one aggregator states for one feed.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SubscriberLabels {
    /// The aggregator ("Feedly", "Inoreader", …).
    pub aggregator: String,
    /// The feed's path (`/feed.rss`).
    pub feed: String,
    /// The aggregator's own id of the feed, when it states one (one feed
    /// may be subscribed under several ids).
    pub id: String,
}

/// The service's counters, shared by every request.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    bytes: Family<ClassLabels, Counter>,
    subscribers: Family<SubscriberLabels, Gauge>,
    pollers_today: Gauge,
    pollers: Mutex<DailyPollers>,
    reloads: Histogram,
    records_published: Gauge,
    records_refused: Gauge,
    cache_bytes: Gauge,
    cache_hits: Counter,
    cache_misses: Counter,
}

/// Distinct pollers of one day, as salted hashes.
struct DailyPollers {
    day: NaiveDate,
    salt: std::collections::hash_map::RandomState,
    seen: HashSet<u64>,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl Metrics {
    /// Empty counters, registered under `stadtfeed_`.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("stadtfeed");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "requests",
            "Requests answered, by kind of document and status (304: unchanged, 226: delta)",
            requests.clone(),
        );
        let bytes = Family::<ClassLabels, Counter>::default();
        registry.register(
            "response_bytes",
            "Body bytes sent, by kind of document",
            bytes.clone(),
        );
        let subscribers = Family::<SubscriberLabels, Gauge>::default();
        registry.register(
            "subscribers",
            "Subscribers an aggregator states in its User-Agent, latest per aggregator, feed and id",
            subscribers.clone(),
        );
        let pollers_today = Gauge::default();
        registry.register(
            "pollers_today",
            "Distinct other clients (address and User-Agent, salted daily, never stored) that fetched a feed today (UTC)",
            pollers_today.clone(),
        );
        let reloads = Histogram::new([0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]);
        registry.register(
            "reload_duration_seconds",
            "Time from a change on disk being taken in to the new site being served",
            reloads.clone(),
        );
        let records_published = Gauge::default();
        registry.register(
            "records_published",
            "Articles published",
            records_published.clone(),
        );
        let records_refused = Gauge::default();
        registry.register(
            "records_refused",
            "Records refused or kept at their last good version",
            records_refused.clone(),
        );
        let cache_bytes = Gauge::default();
        registry.register(
            "cache_bytes",
            "Bytes of documents rendered on request held in memory",
            cache_bytes.clone(),
        );
        let cache_hits = Counter::default();
        registry.register(
            "cache_hits",
            "Documents rendered on request found in memory",
            cache_hits.clone(),
        );
        let cache_misses = Counter::default();
        registry.register(
            "cache_misses",
            "Documents rendered on request that had to be rendered",
            cache_misses.clone(),
        );
        Metrics {
            registry,
            requests,
            bytes,
            subscribers,
            pollers_today,
            pollers: Mutex::new(DailyPollers {
                day: Utc::now().date_naive(),
                salt: Default::default(),
                seen: HashSet::new(),
            }),
            reloads,
            records_published,
            records_refused,
            cache_bytes,
            cache_hits,
            cache_misses,
        }
    }

    /// Counts one answered request of `client` for `path`.
    pub fn request(&self, path: &str, status: u16, bytes: u64, client: IpAddr, user_agent: &str) {
        let class = path_class(path);
        self.requests
            // Static labels: counting allocates nothing on the request path.
            .get_or_create(&RequestLabels { class, status })
            .inc();
        self.bytes
            .get_or_create(&ClassLabels { class })
            .inc_by(bytes);
        if !matches!(class, "feed" | "archive" | "opml") || status >= 400 {
            return;
        }
        match subscribers_in(user_agent) {
            Some(stated) => {
                self.subscribers
                    .get_or_create(&SubscriberLabels {
                        aggregator: stated.aggregator,
                        feed: path.to_owned(),
                        id: stated.feed_id.unwrap_or_default(),
                    })
                    .set(stated.count.min(i64::MAX as u64) as i64);
            }
            None => self.poller(client, user_agent),
        }
    }

    /// Counts a poller that states no subscribers, once per day.
    fn poller(&self, client: IpAddr, user_agent: &str) {
        let today = Utc::now().date_naive();
        let mut pollers = self.pollers.lock().unwrap_or_else(|e| e.into_inner());
        if pollers.day != today {
            // A new day: a new salt, and yesterday's hashes forgotten.
            *pollers = DailyPollers {
                day: today,
                salt: Default::default(),
                seen: HashSet::new(),
            };
        }
        let mut hasher = pollers.salt.build_hasher();
        client.hash(&mut hasher);
        user_agent.hash(&mut hasher);
        let hash = hasher.finish();
        pollers.seen.insert(hash);
        self.pollers_today.set(pollers.seen.len() as i64);
    }

    /// Records one reload and what it published.
    pub fn reloaded(&self, took: Duration, published: usize, refused: usize) {
        self.reloads.observe(took.as_secs_f64());
        self.loaded(published, refused);
    }

    /// Records what a load published.
    pub fn loaded(&self, published: usize, refused: usize) {
        self.records_published.set(published as i64);
        self.records_refused.set(refused as i64);
    }

    /// Counts a look into the cache of documents rendered on request.
    pub fn cache_lookup(&self, hit: bool) {
        if hit {
            self.cache_hits.inc();
        } else {
            self.cache_misses.inc();
        }
    }

    /// The text format, with the cache's current size.
    pub fn encode(&self, cache_bytes: u64) -> String {
        self.cache_bytes
            .set(cache_bytes.min(i64::MAX as u64) as i64);
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

/// The kind of document a request path names, for counting.
pub fn path_class(path: &str) -> &'static str {
    let is_feed = [".rss", ".atom", ".json"].iter().any(|e| path.ends_with(e));
    if is_feed && path.contains("/archiv/") {
        "archive"
    } else if is_feed {
        "feed"
    } else if path.starts_with("/artikel/") {
        "article"
    } else if path.starts_with("/media/") || path == "/favicon.ico" {
        "media"
    } else if path.ends_with(".opml") {
        "opml"
    } else if path == "/healthz" {
        "health"
    } else if path.starts_with("/sitemap") || path == "/robots.txt" {
        "sitemap"
    } else {
        "page"
    }
}

/// What an aggregator's `User-Agent` says of one feed's subscribers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stated {
    /// The aggregator's name.
    pub aggregator: String,
    /// Its subscribers of this feed.
    pub count: u64,
    /// Its id of the feed, when it states one.
    pub feed_id: Option<String>,
}

/// Aggregators by a word of their `User-Agent`, with their usual name.
const AGGREGATORS: [(&str, &str); 12] = [
    ("feedly", "Feedly"),
    ("inoreader", "Inoreader"),
    ("newsblur", "NewsBlur"),
    ("feedbin", "Feedbin"),
    ("theoldreader", "The Old Reader"),
    ("miniflux", "Miniflux"),
    ("feedspot", "Feedspot"),
    ("bazqux", "BazQux Reader"),
    ("netvibes", "Netvibes"),
    ("feedwrangler", "Feed Wrangler"),
    ("feedhq", "FeedHQ"),
    ("commafeed", "CommaFeed"),
];

/// The subscriber count in a `User-Agent` of the common forms: "Feedly/1.0
/// (+`http://www.feedly.com/fetcher.html`; 42 subscribers; )", "…inoreader.com;
/// 7 subscribers)", "NewsBlur Feed Fetcher - 12 subscribers - …/site/123/…",
/// "Feedbin feed-id:1 - 3 subscribers", "…theoldreader.com; 2 subscribers;
/// feed-id=abc)", and any other "N subscribers" / "N readers".
pub fn subscribers_in(user_agent: &str) -> Option<Stated> {
    let lower = user_agent.to_ascii_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let count = words.windows(2).find_map(|pair| {
        matches!(pair[1], "subscribers" | "subscriber" | "readers" | "reader")
            .then(|| pair[0].parse::<u64>().ok())
            .flatten()
    })?;
    let aggregator = AGGREGATORS
        .iter()
        .find(|(word, _)| lower.contains(word))
        .map(|(_, name)| (*name).to_owned())
        .unwrap_or_else(|| {
            user_agent
                .split(['/', ' ', ';', '('])
                .find(|w| !w.is_empty() && *w != "Mozilla")
                .unwrap_or("?")
                .to_owned()
        });
    let feed_id = ["feed-id:", "feed-id=", "feed_id=", "/site/"]
        .iter()
        .find_map(|marker| {
            let start = lower.find(marker)? + marker.len();
            let id: String = user_agent[start..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect();
            (!id.is_empty()).then_some(id)
        });
    Some(Stated {
        aggregator,
        count,
        feed_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// User-Agent strings as these services send them (from their
    /// documentation and from server logs of public feeds).
    #[test]
    fn aggregators_state_their_subscribers() {
        let table = [
            ("Feedly/1.0 (+http://www.feedly.com/fetcher.html; 42 subscribers; )", "Feedly", 42, None),
            ("Mozilla/5.0 (compatible; Feedly/1.0; +http://www.feedly.com/fetcher.html; 1 subscribers; )", "Feedly", 1, None),
            ("Mozilla/5.0 (compatible; inoreader.com; 7 subscribers)", "Inoreader", 7, None),
            ("NewsBlur Feed Fetcher - 12 subscribers - https://www.newsblur.com/site/6841513/stadt-werdau (Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15)", "NewsBlur", 12, Some("6841513")),
            ("Feedbin feed-id:1373711 - 3 subscribers", "Feedbin", 3, Some("1373711")),
            ("Mozilla/5.0 (compatible; theoldreader.com; 2 subscribers; feed-id=6a1e2f9c0b)", "The Old Reader", 2, Some("6a1e2f9c0b")),
            ("Mozilla/5.0 (compatible; Miniflux/2.2.3; +https://miniflux.app; 5 subscribers)", "Miniflux", 5, None),
            ("SomeReader/3.1 (https://example.org; 9 readers)", "SomeReader", 9, None),
        ];
        for (agent, name, count, id) in table {
            let stated = subscribers_in(agent).unwrap_or_else(|| panic!("{agent}"));
            assert_eq!(stated.aggregator, name, "{agent}");
            assert_eq!(stated.count, count, "{agent}");
            assert_eq!(stated.feed_id.as_deref(), id, "{agent}");
        }
        for agent in [
            "Mozilla/5.0 (compatible; Miniflux/2.2.3; +https://miniflux.app)",
            "Tiny Tiny RSS/23.04 (https://tt-rss.org/)",
            "curl/8.5.0",
            "",
        ] {
            assert_eq!(subscribers_in(agent), None, "{agent}");
        }
    }

    #[test]
    fn paths_by_kind() {
        assert_eq!(path_class("/feed.rss"), "feed");
        assert_eq!(path_class("/kategorie/kultur/feed.json"), "feed");
        assert_eq!(path_class("/archiv/2022/01/feed.atom"), "archive");
        assert_eq!(path_class("/artikel/x/"), "article");
        assert_eq!(path_class("/media/a.jpg"), "media");
        assert_eq!(path_class("/"), "page");
        assert_eq!(path_class("/feeds.opml"), "opml");
    }

    #[test]
    fn pollers_are_counted_once_a_day_and_aggregators_apart() {
        let metrics = Metrics::new();
        let a: IpAddr = "192.0.2.1".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let b: IpAddr = "192.0.2.2".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        for _ in 0..3 {
            metrics.request("/feed.rss", 200, 10, a, "curl/8");
            metrics.request("/feed.atom", 304, 0, b, "newsboat/2.36");
            metrics.request(
                "/feed.rss",
                304,
                0,
                a,
                "Feedly/1.0 (+http://www.feedly.com/fetcher.html; 42 subscribers; )",
            );
        }
        metrics.request("/artikel/x/", 200, 10, b, "Mozilla/5.0");
        let text = metrics.encode(0);
        assert!(text.contains("stadtfeed_pollers_today 2\n"), "{text}");
        assert!(
            text.contains(
                r#"stadtfeed_subscribers{aggregator="Feedly",feed="/feed.rss",id=""} 42"#
            ),
            "{text}"
        );
        assert!(
            text.contains(r#"stadtfeed_requests_total{class="feed",status="304"} 6"#),
            "{text}"
        );
        assert!(!text.contains("192.0.2"), "no addresses: {text}");
    }
}
