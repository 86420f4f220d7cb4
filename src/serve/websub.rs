//! WebSub: when a feed changes, tell the hub named in `site.toml`, so that
//! subscribers get the news without polling.

use std::time::Duration;

use super::documents::ServedSite;
use crate::model::Site;
use crate::render::{Feed, Format};

/// How long one ping may take; a slow hub must not hold up anything.
const PING_TIMEOUT: Duration = Duration::from_secs(10);

/// The first document of every feed (site and categories, all formats):
/// what subscribers subscribe to and hubs fetch.
pub fn subscribable_paths(site: &Site) -> Vec<String> {
    let site_feed = Feed::site(site);
    let categories = Feed::categories(site);
    std::iter::once(&site_feed)
        .chain(&categories)
        .flat_map(|feed| Format::ALL.map(|format| feed.page_path(format, 1)))
        .collect()
}

/// Absolute URLs of those of `paths` whose bytes differ between `old` and
/// `new` (or that are new).
pub fn changed_urls(
    paths: &[String],
    old: &ServedSite,
    new: &ServedSite,
    base_url: &str,
) -> Vec<String> {
    paths
        .iter()
        .filter(|path| {
            let etag = |site: &ServedSite| {
                site.documents
                    .get(path.as_str())
                    .map(|d| d.identity.etag.clone())
            };
            etag(new).is_some() && etag(old) != etag(new)
        })
        .map(|path| format!("{base_url}/{path}"))
        .collect()
}

/// Sends `hub.mode=publish` for each URL; failures are logged, never fatal.
pub fn ping(hub: &str, urls: &[String]) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(PING_TIMEOUT))
        .build()
        .into();
    for url in urls {
        match agent
            .post(hub)
            .send_form([("hub.mode", "publish"), ("hub.url", url.as_str())])
        {
            Ok(response) => {
                tracing::info!(hub, url, status = response.status().as_u16(), "WebSub ping")
            }
            Err(e) => tracing::warn!(hub, url, "WebSub ping failed: {e}"),
        }
    }
}
