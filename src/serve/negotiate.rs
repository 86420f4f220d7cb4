//! What a request's headers ask of a document: which encoding (by the
//! client's q-values), and whether the copy it has is still good
//! (`If-None-Match`, `If-Modified-Since`), answered with the validators
//! every response of a document carries.

use bytes::Bytes;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Response, StatusCode};

use super::documents::{Encoding, Meta};
use super::http::{full, HttpResponse};

pub(super) fn is_not_modified(headers: &HeaderMap, meta: &Meta, encoding: Encoding) -> bool {
    match headers.get(header::IF_NONE_MATCH) {
        // RFC 9110 §13.2.2: If-None-Match, when present, decides alone.
        Some(value) => etag_matches(value, meta.etag(encoding)),
        None => headers
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok())
            .is_some_and(|since| {
                meta.last_modified <= chrono::DateTime::<chrono::Utc>::from(since)
            }),
    }
}

pub(super) fn validators(meta: &Meta, encoding: Encoding) -> hyper::http::response::Builder {
    let mut builder = Response::builder()
        .header(header::LAST_MODIFIED, meta.last_modified_header.clone())
        .header(header::CACHE_CONTROL, meta.cache_control.clone());
    if let Some(etag) = meta.etag(encoding) {
        builder = builder.header(header::ETAG, etag.clone());
    }
    if meta.compressible {
        builder = builder.header(header::VARY, "Accept-Encoding");
    }
    builder
}

pub(super) fn not_modified(
    meta: &Meta,
    encoding: Encoding,
) -> Result<HttpResponse, hyper::http::Error> {
    validators(meta, encoding)
        .status(StatusCode::NOT_MODIFIED)
        .body(full(Bytes::new()))
}

/// Picks br, gzip or identity by the client's q-values (only identity
/// unless the document is `compressible`: media files are not); at equal
/// q the smaller encoding (br, then gzip) wins.
pub(super) fn choose_encoding(headers: &HeaderMap, compressible: bool) -> Encoding {
    let accept = headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    let q_of = |coding: &str| -> f32 {
        let mut wildcard = None;
        for part in accept.split(',') {
            let mut pieces = part.split(';');
            let name = pieces.next().unwrap_or_default().trim();
            let q = pieces
                .filter_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .or_else(|| p.trim().strip_prefix("Q="))
                })
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            // x-gzip is gzip (RFC 9110 §8.4.1.3).
            let name = if name.eq_ignore_ascii_case("x-gzip") {
                "gzip"
            } else {
                name
            };
            if name.eq_ignore_ascii_case(coding) {
                return q;
            }
            if name == "*" {
                wildcard = Some(q);
            }
        }
        // Identity is acceptable unless excluded, but a coding the client
        // names is preferred to it; other codings only if named.
        wildcard.unwrap_or(if coding == "identity" { 0.001 } else { 0.0 })
    };
    // In order of preference at equal q; a later one must have a higher q.
    let options = [
        (compressible, Encoding::Brotli, "br"),
        (compressible, Encoding::Gzip, "gzip"),
        (true, Encoding::Identity, "identity"),
    ];
    let mut best: Option<(Encoding, f32)> = None;
    for (_, encoding, name) in options.into_iter().filter(|(offered, _, _)| *offered) {
        let q = q_of(name);
        if q > 0.0 && best.is_none_or(|(_, best_q)| q > best_q) {
            best = Some((encoding, q));
        }
    }
    // Nothing acceptable: identity anyway (RFC 9110 §12.5.3 allows it).
    best.map_or(Encoding::Identity, |(encoding, _)| encoding)
}

/// If-None-Match: `*`, or a list of entity tags compared weakly (W/ ignored)
/// with ours, if the document has one.
fn etag_matches(if_none_match: &HeaderValue, etag: Option<&HeaderValue>) -> bool {
    let Ok(list) = if_none_match.to_str() else {
        return false;
    };
    let ours = etag.and_then(|etag| etag.to_str().ok());
    list.split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || Some(tag.strip_prefix("W/").unwrap_or(tag)) == ours)
}
