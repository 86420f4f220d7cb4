//! One request, one answer: path lookup, conditional GET, content
//! negotiation. Nothing here renders or touches the disk.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Response, StatusCode};

use super::documents::{ServedDocument, ServedSite, Variant};

/// The response type of every handler.
pub type HttpResponse = Response<Full<Bytes>>;

/// Where the lookup of a path leads.
#[derive(Debug)]
enum Target<'a> {
    /// A document of the site.
    Document(&'a ServedDocument),
    /// The same path with a trailing slash (`/artikel/<id>` → `/artikel/<id>/`).
    Redirect(String),
    /// `/healthz`.
    Health,
    /// Nothing there.
    NotFound,
    /// A path that cannot be decoded.
    BadRequest,
}

/// Answers one request from `site`.
pub fn respond(
    site: &ServedSite,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
) -> HttpResponse {
    if method != Method::GET && method != Method::HEAD {
        return Response::builder()
            .status(StatusCode::METHOD_NOT_ALLOWED)
            .header(header::ALLOW, "GET, HEAD")
            .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
            .body(Full::new(Bytes::from_static(b"Methode nicht erlaubt\n")))
            .unwrap_or_else(fallback);
    }
    let head = method == Method::HEAD;
    let response = match lookup(site, path) {
        Target::Document(document) => document_response(document, headers, head),
        Target::Redirect(location) => Response::builder()
            .status(StatusCode::MOVED_PERMANENTLY)
            .header(header::LOCATION, location)
            .header(header::CACHE_CONTROL, "public, max-age=86400")
            .body(Full::default()),
        Target::Health => Response::builder()
            .header(header::CONTENT_TYPE, "application/json; charset=utf-8")
            .header(header::CACHE_CONTROL, "no-store")
            .header(header::CONTENT_LENGTH, site.health.len())
            .body(Full::new(if head {
                Bytes::new()
            } else {
                site.health.clone()
            })),
        Target::NotFound => not_found(site, head),
        Target::BadRequest => Response::builder()
            .status(StatusCode::BAD_REQUEST)
            .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
            .body(Full::new(Bytes::from_static(
                "Ungültige Adresse\n".as_bytes(),
            ))),
    };
    let mut response = response.unwrap_or_else(fallback);
    // Browsers must take the Content-Type as sent, never guess a script
    // type from a download's bytes.
    response.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// Maps a request path to a document key. Only keys of the site can come
/// out, so no spelling of a path (`..`, `%2e%2e`, `%2f`, `\`) reaches a file.
fn lookup<'a>(site: &'a ServedSite, raw_path: &str) -> Target<'a> {
    if raw_path == "/healthz" {
        return Target::Health;
    }
    let Some(relative) = raw_path.strip_prefix('/') else {
        return Target::BadRequest;
    };
    let Ok(decoded) = percent_encoding::percent_decode_str(relative).decode_utf8() else {
        return Target::BadRequest;
    };
    if decoded.contains(['\\', '\0']) || decoded.split('/').any(|s| s == ".." || s == ".") {
        return Target::NotFound;
    }
    let key = if decoded.is_empty() || decoded.ends_with('/') {
        format!("{decoded}index.html")
    } else {
        decoded.into_owned()
    };
    if let Some(document) = site.documents.get(&key) {
        Target::Document(document)
    } else if site.documents.contains_key(&format!("{key}/index.html")) {
        Target::Redirect(format!("{raw_path}/"))
    } else {
        Target::NotFound
    }
}

fn document_response(
    document: &ServedDocument,
    headers: &HeaderMap,
    head: bool,
) -> Result<HttpResponse, hyper::http::Error> {
    let (variant, encoding) = choose_encoding(document, headers);
    let not_modified = match headers.get(header::IF_NONE_MATCH) {
        // RFC 9110 §13.2.2: If-None-Match, when present, decides alone.
        Some(value) => etag_matches(value, &variant.etag),
        None => headers
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok())
            .is_some_and(|since| {
                document.last_modified <= chrono::DateTime::<chrono::Utc>::from(since)
            }),
    };
    let mut builder = Response::builder()
        .header(header::ETAG, variant.etag.clone())
        .header(header::LAST_MODIFIED, document.last_modified_header.clone())
        .header(header::CACHE_CONTROL, document.cache_control.clone());
    if document.varies_by_encoding() {
        builder = builder.header(header::VARY, "Accept-Encoding");
    }
    if not_modified {
        return builder
            .status(StatusCode::NOT_MODIFIED)
            .body(Full::default());
    }
    builder = builder
        .header(header::CONTENT_TYPE, document.content_type.clone())
        .header(header::CONTENT_LENGTH, variant.body.len());
    if let Some(encoding) = encoding {
        builder = builder.header(header::CONTENT_ENCODING, encoding);
    }
    builder.body(Full::new(if head {
        Bytes::new()
    } else {
        variant.body.clone()
    }))
}

/// Picks br, gzip or identity by the client's q-values; at equal q the
/// smaller encoding (br, then gzip) wins.
fn choose_encoding<'a>(
    document: &'a ServedDocument,
    headers: &HeaderMap,
) -> (&'a Variant, Option<&'static str>) {
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
        (document.brotli.as_ref(), Some("br")),
        (document.gzip.as_ref(), Some("gzip")),
        (Some(&document.identity), None),
    ];
    let mut best: Option<(&Variant, Option<&'static str>, f32)> = None;
    for (variant, name) in options {
        let Some(variant) = variant else { continue };
        let q = q_of(name.unwrap_or("identity"));
        if q > 0.0 && best.is_none_or(|(_, _, best_q)| q > best_q) {
            best = Some((variant, name, q));
        }
    }
    // Nothing acceptable: identity anyway (RFC 9110 §12.5.3 allows it).
    best.map_or((&document.identity, None), |(variant, name, _)| {
        (variant, name)
    })
}

/// If-None-Match: `*`, or a list of entity tags compared weakly (W/ ignored).
fn etag_matches(if_none_match: &HeaderValue, etag: &HeaderValue) -> bool {
    let Ok(list) = if_none_match.to_str() else {
        return false;
    };
    let ours = etag.to_str().unwrap_or_default();
    list.split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == ours)
}

fn not_found(site: &ServedSite, head: bool) -> Result<HttpResponse, hyper::http::Error> {
    Response::builder()
        .status(StatusCode::NOT_FOUND)
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        .header(header::CONTENT_LENGTH, site.not_found.len())
        .header(header::CACHE_CONTROL, "public, max-age=60")
        .body(Full::new(if head {
            Bytes::new()
        } else {
            site.not_found.clone()
        }))
}

/// Only reached if a header value were invalid, which the values above never are.
fn fallback(_: hyper::http::Error) -> HttpResponse {
    let mut response = Response::new(Full::new(Bytes::from_static(b"Interner Fehler\n")));
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response
}
