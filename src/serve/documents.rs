//! The served site: every document with its encodings and validators,
//! prepared when records change so that a request only looks up.

use std::collections::HashMap;
use std::io::Write;

use bytes::Bytes;
use chrono::{DateTime, SubsecRound, Utc};
use hyper::header::HeaderValue;
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::site::{Document, PublishedSite, NOT_FOUND_PAGE};

/// `Cache-Control` max-age of images, which never change under one name in
/// practice (a new picture gets a new file name).
pub const MEDIA_MAX_AGE: u32 = 86_400;

/// One encoding of a document.
#[derive(Debug, Clone)]
pub struct Variant {
    /// The bytes sent.
    pub body: Bytes,
    /// Strong ETag; encodings get their own (`"…-gzip"`, `"…-br"`), so
    /// caches never mix them.
    pub etag: HeaderValue,
}

/// A document ready to send.
#[derive(Debug, Clone)]
pub struct ServedDocument {
    /// `Content-Type`.
    pub content_type: HeaderValue,
    /// `Last-Modified`, whole seconds (HTTP dates have no fractions).
    pub last_modified: DateTime<Utc>,
    /// The same instant as an IMF-fixdate header.
    pub last_modified_header: HeaderValue,
    /// `Cache-Control`.
    pub cache_control: HeaderValue,
    /// The bytes `build` writes.
    pub identity: Variant,
    /// gzip form, for text documents.
    pub gzip: Option<Variant>,
    /// brotli form, for text documents.
    pub brotli: Option<Variant>,
}

impl ServedDocument {
    /// Whether the document has compressed forms, so `Vary` applies.
    pub fn varies_by_encoding(&self) -> bool {
        self.gzip.is_some() || self.brotli.is_some()
    }
}

/// Status of the last load, for `/healthz` and logs.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Health {
    /// Always "ok" while the process serves.
    pub status: &'static str,
    /// Articles published.
    pub records_published: usize,
    /// Records refused (or kept at their last good version), as `path:line: message`.
    pub records_refused: Vec<String>,
    /// When this site was swapped in (RFC 3339).
    pub last_reload: String,
}

/// What requests are answered from; replaced whole on reload.
#[derive(Debug, Clone)]
pub struct ServedSite {
    /// By URL path without the leading `/`.
    pub documents: HashMap<String, ServedDocument>,
    /// Body of 404 responses.
    pub not_found: Bytes,
    /// The `/healthz` body.
    pub health: Bytes,
}

impl ServedSite {
    /// Prepares every document of `site`. Encodings of documents whose bytes
    /// are unchanged since `previous` are reused rather than compressed again.
    pub fn prepare(
        site: &PublishedSite,
        max_age: u32,
        health: &Health,
        previous: Option<&ServedSite>,
    ) -> ServedSite {
        let reuse: HashMap<&HeaderValue, &ServedDocument> = previous
            .map(|p| {
                p.documents
                    .values()
                    .map(|d| (&d.identity.etag, d))
                    .collect()
            })
            .unwrap_or_default();
        let documents = site
            .documents
            .par_iter()
            .map(|(path, document)| {
                let max_age = if path.starts_with("media/") {
                    MEDIA_MAX_AGE
                } else {
                    max_age
                };
                (path.clone(), prepare_document(document, max_age, &reuse))
            })
            .collect();
        ServedSite {
            documents,
            not_found: site
                .documents
                .get(NOT_FOUND_PAGE)
                .map(|d| d.body.clone())
                // site::publish always renders it.
                .unwrap_or_default(),
            health: Bytes::from(serde_json::to_vec_pretty(health).unwrap_or_default()),
        }
    }
}

fn prepare_document(
    document: &Document,
    max_age: u32,
    reuse: &HashMap<&HeaderValue, &ServedDocument>,
) -> ServedDocument {
    let hash = Sha256::digest(&document.body);
    let hex: String = hash[..16].iter().map(|b| format!("{b:02x}")).collect();
    let etag = |suffix: &str| {
        HeaderValue::from_str(&format!("\"{hex}{suffix}\""))
            // Hex digits and quotes are always a valid header value.
            .unwrap_or_else(|_| HeaderValue::from_static("\"\""))
    };
    let identity = Variant {
        body: document.body.clone(),
        etag: etag(""),
    };
    let compressible = !document.content_type.starts_with("image/") && document.body.len() > 64;
    let (gzip, brotli) = match reuse.get(&identity.etag) {
        Some(old) => (old.gzip.clone(), old.brotli.clone()),
        None if compressible => (
            Some(Variant {
                body: gzip(&document.body),
                etag: etag("-gzip"),
            }),
            Some(Variant {
                body: brotli(&document.body),
                etag: etag("-br"),
            }),
        ),
        None => (None, None),
    };
    let last_modified = document.last_modified.trunc_subsecs(0);
    ServedDocument {
        content_type: HeaderValue::from_static(document.content_type),
        last_modified,
        last_modified_header: HeaderValue::from_str(&httpdate::fmt_http_date(last_modified.into()))
            .unwrap_or_else(|_| HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT")),
        cache_control: HeaderValue::from_str(&format!("public, max-age={max_age}"))
            .unwrap_or_else(|_| HeaderValue::from_static("public, max-age=300")),
        identity,
        gzip,
        brotli,
    }
}

/// gzip at level 5 (zlib-rs): on feed pages 2.3× faster than the default
/// level 6 for 8 % more bytes, which keeps reloads of large sites short.
/// Deterministic (no name, mtime 0), so every replica sends the same bytes.
fn gzip(bytes: &[u8]) -> Bytes {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(5));
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(bytes);
    Bytes::from(encoder.finish().unwrap_or_default())
}

/// brotli at quality 5: smaller than gzip at about gzip's speed. A new
/// record shifts every page of its feeds, so a reload at 10 000 records
/// re-compresses hundreds of documents; quality 9 made that take seconds.
fn brotli(bytes: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(bytes.len() / 3);
    let params = brotli::enc::BrotliEncoderParams {
        quality: 5,
        lgwin: 22,
        ..Default::default()
    };
    // Reading from a slice and writing into a Vec cannot fail.
    let _ = brotli::BrotliCompress(&mut &bytes[..], &mut out, &params);
    Bytes::from(out)
}
