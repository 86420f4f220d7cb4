//! `stadtfeed stats`: what a running `serve --metrics-addr` counted, as a
//! German table for the newsroom — readers per feed and aggregator, other
//! pollers today, requests by kind, and the service's health.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One sample of the text format: name, labels, value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The metric's name (`stadtfeed_requests_total`).
    pub name: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// Its value.
    pub value: f64,
}

/// Why there is no table.
#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    /// The service did not answer.
    #[error("cannot read http://{addr}/metrics: {reason} (is `stadtfeed serve --metrics-addr {addr}` running?)")]
    Fetch {
        /// The address asked.
        addr: String,
        /// What went wrong.
        reason: String,
    },
}

/// Reads `/metrics` from a running service.
pub fn fetch(addr: &str) -> Result<Vec<Sample>, StatsError> {
    let error = |reason: String| StatsError::Fetch {
        addr: addr.to_owned(),
        reason,
    };
    let text = ureq::get(&format!("http://{addr}/metrics"))
        .call()
        .map_err(|e| error(e.to_string()))?
        .body_mut()
        .read_to_string()
        .map_err(|e| error(e.to_string()))?;
    Ok(parse(&text))
}

/// The samples of a Prometheus / OpenMetrics text; lines it cannot read
/// are skipped.
pub fn parse(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .filter_map(parse_line)
        .collect()
}

fn parse_line(line: &str) -> Option<Sample> {
    let (name, rest) = match line.find(['{', ' ']) {
        Some(i) => line.split_at(i),
        None => return None,
    };
    let mut labels = BTreeMap::new();
    let rest = if let Some(mut inside) = rest.strip_prefix('{') {
        loop {
            inside = inside.trim_start_matches(',');
            if let Some(after) = inside.strip_prefix('}') {
                break after;
            }
            let (key, after) = inside.split_once("=\"")?;
            let mut value = String::new();
            let mut chars = after.char_indices();
            let end = loop {
                let (i, c) = chars.next()?;
                match c {
                    '\\' => match chars.next()?.1 {
                        'n' => value.push('\n'),
                        other => value.push(other),
                    },
                    '"' => break i,
                    other => value.push(other),
                }
            };
            labels.insert(key.trim().to_owned(), value);
            inside = &after[end + 1..];
        }
    } else {
        rest
    };
    let value = rest.split_whitespace().next()?.parse().ok()?;
    Some(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

/// The German table of `samples`.
pub fn table(samples: &[Sample]) -> String {
    fn named<'a>(samples: &'a [Sample], name: &'a str) -> impl Iterator<Item = &'a Sample> {
        samples.iter().filter(move |s| s.name == name)
    }
    let of = |name: &'static str| named(samples, name);
    let single = |name: &'static str| of(name).next().map_or(0.0, |s| s.value);
    let label = |s: &Sample, key: &str| s.labels.get(key).cloned().unwrap_or_default();
    let mut out = String::new();

    let _ = writeln!(
        out,
        "Abonnements, wie die Aggregatoren sie melden (zuletzt gemeldet)"
    );
    let mut readers: Vec<(String, String, f64)> = of("stadtfeed_subscribers")
        .map(|s| (label(s, "aggregator"), label(s, "feed"), s.value))
        .collect();
    readers.sort_by(|a, b| b.2.total_cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
    if readers.is_empty() {
        let _ = writeln!(out, "  (noch keine Meldung eines Aggregators)");
    } else {
        let _ = writeln!(
            out,
            "  {:<16} {:<40} {:>11}",
            "Aggregator", "Feed", "Abonnements"
        );
        for (aggregator, feed, count) in &readers {
            let _ = writeln!(out, "  {aggregator:<16} {feed:<40} {:>11}", number(*count));
        }
        let total: f64 = readers.iter().map(|r| r.2).sum();
        let _ = writeln!(out, "  {:<57} {:>11}", "zusammen", number(total));
    }
    let _ = writeln!(
        out,
        "\nWeitere Abrufer der Feeds heute (verschiedene, ohne gespeicherte Adressen): {}",
        number(single("stadtfeed_pollers_today"))
    );

    let _ = writeln!(out, "\nAnfragen seit dem Start");
    let _ = writeln!(
        out,
        "  {:<10} {:>10} {:>14} {:>11} {:>12}",
        "Art", "Anfragen", "unverändert", "Delta", "gesendet"
    );
    let mut classes: BTreeMap<String, [f64; 3]> = BTreeMap::new();
    for sample in of("stadtfeed_requests_total") {
        let counts = classes.entry(label(sample, "class")).or_default();
        counts[0] += sample.value;
        match label(sample, "status").as_str() {
            "304" => counts[1] += sample.value,
            "226" => counts[2] += sample.value,
            _ => {}
        }
    }
    for (class, [all, unchanged, delta]) in &classes {
        let bytes = of("stadtfeed_response_bytes_total")
            .find(|s| label(s, "class") == *class)
            .map_or(0.0, |s| s.value);
        let share = |part: f64| {
            if *all > 0.0 {
                format!("{} ({:.0} %)", number(part), 100.0 * part / all)
            } else {
                "0".to_owned()
            }
        };
        let _ = writeln!(
            out,
            "  {:<10} {:>10} {:>14} {:>11} {:>12}",
            class_name(class),
            number(*all),
            share(*unchanged),
            number(*delta),
            megabytes(bytes)
        );
    }

    let reloads = single("stadtfeed_reload_duration_seconds_count");
    let reload_sum = single("stadtfeed_reload_duration_seconds_sum");
    let hits = single("stadtfeed_cache_hits_total");
    let misses = single("stadtfeed_cache_misses_total");
    let _ = writeln!(
        out,
        "\nDienst: {} Meldungen veröffentlicht, {} abgelehnt; {} Neuladungen{}; Zwischenspeicher {}, Trefferquote {}",
        number(single("stadtfeed_records_published")),
        number(single("stadtfeed_records_refused")),
        number(reloads),
        if reloads > 0.0 {
            format!(" (im Mittel {:.0} ms)", 1000.0 * reload_sum / reloads)
        } else {
            String::new()
        },
        megabytes(single("stadtfeed_cache_bytes")),
        if hits + misses > 0.0 {
            format!("{:.0} %", 100.0 * hits / (hits + misses))
        } else {
            "–".to_owned()
        }
    );
    out
}

fn class_name(class: &str) -> &str {
    match class {
        "feed" => "Feeds",
        "archive" => "Archive",
        "article" => "Artikel",
        "page" => "Seiten",
        "media" => "Bilder",
        "opml" => "OPML",
        "sitemap" => "Sitemaps",
        "health" => "healthz",
        other => other,
    }
}

/// A whole number with German thousands separators: 12 345.
fn number(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push('\u{a0}');
        }
        out.push(c);
    }
    out
}

fn megabytes(bytes: f64) -> String {
    format!("{:.1} MB", bytes / 1_000_000.0).replace('.', ",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_text_format() {
        let samples = parse(
            "# HELP x y\nstadtfeed_subscribers{aggregator=\"The \\\"Old\\\" Reader\",feed=\"/feed.rss\",id=\"\"} 42\nstadtfeed_pollers_today 3\n# EOF\n",
        );
        assert_eq!(samples.len(), 2);
        assert_eq!(samples[0].labels["aggregator"], "The \"Old\" Reader");
        assert_eq!(samples[0].value, 42.0);
        assert_eq!(samples[1].name, "stadtfeed_pollers_today");
    }

    #[test]
    fn german_numbers() {
        assert_eq!(number(1234567.0), "1\u{a0}234\u{a0}567");
        assert_eq!(number(12.0), "12");
        assert_eq!(megabytes(1_250_000.0), "1,2 MB");
    }
}
