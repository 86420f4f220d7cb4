//! WebSub: when a feed changes, tell the hub named in `site.toml`, so that
//! subscribers get the news without polling.

use std::time::Duration;

use crate::site::key::DocKey;

/// How long one ping may take; a slow hub must not hold up anything.
const PING_TIMEOUT: Duration = Duration::from_secs(10);

/// Absolute URLs of the subscription feeds among `changed`: what
/// subscribers subscribe to and hubs fetch.
pub fn changed_urls(changed: &[DocKey], base_url: &str) -> Vec<String> {
    changed
        .iter()
        .filter(|key| key.is_subscription())
        .map(|key| format!("{base_url}/{}", key.path()))
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
