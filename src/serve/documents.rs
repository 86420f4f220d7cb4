//! What requests are answered from: the hot documents, rendered and
//! compressed at each reload, and a byte-budgeted cache of cold documents
//! rendered on first request. Both are keyed by fingerprint, so nothing
//! ever needs invalidating: a changed document has a new fingerprint.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use chrono::{DateTime, SubsecRound, Utc};
use hyper::header::HeaderValue;
use rayon::prelude::*;

use crate::content::store::ArticleStore;
use crate::index::Index;
use crate::site::key::DocKey;
use crate::site::plan::Plan;
use crate::site::{self, compress, RenderError};

/// Which encoding of a document is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// The bytes `build` writes.
    Identity,
    /// `Content-Encoding: gzip`.
    Gzip,
    /// `Content-Encoding: br`.
    Brotli,
}

impl Encoding {
    /// The `Content-Encoding` value, none for identity.
    pub fn header(self) -> Option<&'static str> {
        match self {
            Encoding::Identity => None,
            Encoding::Gzip => Some("gzip"),
            Encoding::Brotli => Some("br"),
        }
    }
}

/// The validators and headers of a document, known from its plan alone.
#[derive(Debug, Clone)]
pub struct Meta {
    /// The fingerprint: the ETag of every encoding, with a suffix per
    /// encoding so caches never mix them.
    pub fingerprint: [u8; 16],
    /// `Content-Type`.
    pub content_type: HeaderValue,
    /// `Last-Modified`, whole seconds (HTTP dates have no fractions).
    pub last_modified: DateTime<Utc>,
    /// The same instant as an IMF-fixdate header.
    pub last_modified_header: HeaderValue,
    /// `Cache-Control`.
    pub cache_control: HeaderValue,
    /// Whether gzip and brotli forms exist (documents, not media files).
    pub compressible: bool,
    /// The ETags of identity, gzip and brotli, made once; none for a
    /// media file not hashed yet (`Last-Modified` alone validates it).
    etags: Option<[HeaderValue; 3]>,
}

impl Meta {
    /// The validators and headers of `key`, planned as `plan`.
    pub fn of(key: &DocKey, plan: &Plan, index: &Index) -> Meta {
        Meta::of_at(key, plan, index, Utc::now())
    }

    /// [`Meta::of`] for a response dated `now`.
    pub fn of_at(key: &DocKey, plan: &Plan, index: &Index, now: DateTime<Utc>) -> Meta {
        // Never later than the response's Date (RFC 9110 §8.8.2.1).
        let last_modified = plan.last_modified(index, now);
        let fingerprint = plan.fingerprint(index);
        let hex: String = fingerprint.iter().map(|b| format!("{b:02x}")).collect();
        let etag = |suffix: &str| {
            HeaderValue::from_str(&format!("\"{hex}{suffix}\""))
                // Hex digits and quotes are always a valid header value.
                .unwrap_or_else(|_| HeaderValue::from_static("\"\""))
        };
        Meta {
            fingerprint,
            etags: plan
                .names_its_content()
                .then(|| [etag(""), etag("-gzip"), etag("-br")]),
            content_type: HeaderValue::from_str(site::content_type_of(index, key))
                .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream")),
            last_modified,
            last_modified_header: HeaderValue::from_str(&httpdate::fmt_http_date(
                last_modified.into(),
            ))
            .unwrap_or_else(|_| HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT")),
            cache_control: HeaderValue::from_str(&site::cache_control_of(index, key))
                .unwrap_or_else(|_| HeaderValue::from_static("public, max-age=300")),
            compressible: key.is_text(),
        }
    }

    /// The strong ETag of one encoding, if it has one.
    pub fn etag(&self, encoding: Encoding) -> Option<&HeaderValue> {
        let etags = self.etags.as_ref()?;
        Some(match encoding {
            Encoding::Identity => &etags[0],
            Encoding::Gzip => &etags[1],
            Encoding::Brotli => &etags[2],
        })
    }
}

/// A document ready to send.
#[derive(Debug)]
pub struct ServedDocument {
    /// Validators and headers.
    pub meta: Meta,
    /// The bytes `build` writes.
    pub identity: Bytes,
    /// gzip form, for documents; hot documents get it right after they
    /// are swapped in (at a start, after an edit), so that neither waits
    /// for it, or from the request that first asks; cold ones when a
    /// request first asks for it.
    pub gzip: OnceLock<Bytes>,
    /// brotli form, likewise.
    pub brotli: OnceLock<Bytes>,
    /// Whether a request has set out to make the gzip and the brotli
    /// form (see [`make_form`](Self::make_form)).
    asked: [AtomicBool; 2],
}

impl ServedDocument {
    /// Renders the document of `key`; [`compress`](Self::compress) adds
    /// the compressed forms.
    pub fn render(
        index: &Index,
        store: &ArticleStore,
        key: &DocKey,
        plan: &Plan,
    ) -> Result<ServedDocument, RenderError> {
        let meta = Meta::of(key, plan, index);
        let identity = site::render(index, store, key, plan)?;
        Ok(ServedDocument {
            meta,
            identity,
            gzip: OnceLock::new(),
            brotli: OnceLock::new(),
            asked: Default::default(),
        })
    }

    /// The same document with its identity bytes file-backed when they
    /// are large (see [`sendfile`](super::sendfile)), the file in `dir`
    /// where it can be: for hot documents, which are few and requested
    /// often.
    pub fn file_backed(self, dir: Option<&Path>) -> ServedDocument {
        ServedDocument {
            identity: super::sendfile::file_backed(dir, self.identity),
            ..self
        }
    }

    /// The same document with the headers its key has now: the
    /// fingerprint covers the bytes, not `Cache-Control` (the site's
    /// `max_age` is not part of it), so a document kept by fingerprint may
    /// have been made under another one. Shares the bytes.
    pub fn with_headers_of(
        self: Arc<Self>,
        key: &DocKey,
        plan: &Plan,
        index: &Index,
    ) -> Arc<ServedDocument> {
        let cache_control = site::cache_control_of(index, key);
        if self.meta.cache_control == cache_control.as_str() {
            return self;
        }
        self.with_meta(&Meta::of(key, plan, index))
    }

    /// The same document with `meta`'s headers (see
    /// [`with_headers_of`](Self::with_headers_of)), for a request that
    /// has made them already.
    pub fn with_meta(self: Arc<Self>, meta: &Meta) -> Arc<ServedDocument> {
        if self.meta.cache_control == meta.cache_control {
            return self;
        }
        Arc::new(ServedDocument {
            meta: meta.clone(),
            identity: self.identity.clone(),
            gzip: self.gzip.clone(),
            brotli: self.brotli.clone(),
            asked: Default::default(),
        })
    }

    /// Makes the form of `encoding` if it is not there yet, off the async
    /// threads: the first request that asks makes it, and those that come
    /// meanwhile return at once and are sent a form that is there, so that
    /// a burst holds one blocking thread per form, not one per request
    /// (the soak counted 21 more threads so). Hot and cold documents alike.
    pub async fn make_form(self: &Arc<Self>, encoding: Encoding) {
        if !self.meta.compressible || self.has(encoding) || !self.first_to_ask(encoding) {
            return;
        }
        let behind = Arc::clone(self);
        if tokio::task::spawn_blocking(move || behind.compress_for(encoding))
            .await
            .is_err()
        {
            // Not made (the runtime is shutting down): a later request may try.
            if let Some(asked) = self.asked_for(encoding) {
                asked.store(false, Ordering::Release);
            }
        }
    }

    /// Whether this request is the first to ask for the form of
    /// `encoding` (see [`make_form`](Self::make_form)).
    pub fn first_to_ask(&self, encoding: Encoding) -> bool {
        self.asked_for(encoding)
            .is_some_and(|asked| !asked.swap(true, Ordering::AcqRel))
    }

    fn asked_for(&self, encoding: Encoding) -> Option<&AtomicBool> {
        match encoding {
            Encoding::Identity => None,
            Encoding::Gzip => Some(&self.asked[0]),
            Encoding::Brotli => Some(&self.asked[1]),
        }
    }

    /// Adds the gzip and brotli forms (documents only; media files are
    /// sent as they are).
    pub fn compress(&self) {
        self.compress_for(Encoding::Gzip);
        self.compress_for(Encoding::Brotli);
    }

    /// Adds the form of one encoding, if it is not there yet: a cold
    /// document is compressed only as its requests ask (feed readers
    /// want gzip, browsers brotli; with both made at every first render,
    /// bench/serve.sh's 2 000-URL cycle reached 0.42–0.63 of nginx, with
    /// one 0.64–0.78).
    pub fn compress_for(&self, encoding: Encoding) {
        if !self.meta.compressible {
            return;
        }
        match encoding {
            Encoding::Identity => {}
            Encoding::Gzip => {
                self.gzip.get_or_init(|| compress::gzip(&self.identity));
            }
            Encoding::Brotli => {
                self.brotli.get_or_init(|| compress::brotli(&self.identity));
            }
        }
    }

    /// Whether the form of `encoding` is there (identity always is).
    pub fn has(&self, encoding: Encoding) -> bool {
        match encoding {
            Encoding::Identity => true,
            Encoding::Gzip => self.gzip.get().is_some(),
            Encoding::Brotli => self.brotli.get().is_some(),
        }
    }

    /// The body of one encoding; identity when that form does not exist.
    pub fn body(&self, encoding: Encoding) -> &Bytes {
        match encoding {
            Encoding::Identity => &self.identity,
            Encoding::Gzip => self.gzip.get().unwrap_or(&self.identity),
            Encoding::Brotli => self.brotli.get().unwrap_or(&self.identity),
        }
    }

    fn weight(&self) -> u32 {
        let bytes = self.identity.len() + self.identity.len() / 2 + 256;
        bytes.min(u32::MAX as usize) as u32
    }
}

/// Cold documents by fingerprint, within a byte budget; concurrent misses
/// of one document render it once.
pub type DocumentCache = moka::sync::Cache<[u8; 16], Arc<ServedDocument>>;

/// A cache of at most `megabytes` of document bytes (all encodings).
pub fn document_cache(megabytes: u64) -> DocumentCache {
    moka::sync::Cache::builder()
        .max_capacity(megabytes * 1024 * 1024)
        .weigher(|_, document: &Arc<ServedDocument>| document.weight())
        .build()
}

/// Status of the last load, for `/healthz` and logs.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Health {
    /// "ok", or "degraded" while the content directory cannot be read and
    /// the last good site is served.
    pub status: &'static str,
    /// Why it is degraded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// When the site served was last read successfully (RFC 3339).
    pub last_good_load: String,
    /// Articles published.
    pub records_published: usize,
    /// Records refused (or kept at their last good version), as `path:line: message`.
    pub records_refused: Vec<String>,
    /// When this state was swapped in (RFC 3339).
    pub last_reload: String,
}

/// What requests are answered from; replaced whole on reload.
pub struct ServedState {
    /// What is published; cold documents are planned from it.
    pub index: Index,
    /// The hot documents.
    pub hot: HashMap<DocKey, Arc<ServedDocument>>,
    /// Body of 404 responses.
    pub not_found: Bytes,
    /// The `/healthz` body.
    pub health: Bytes,
    /// The headers of cold documents asked for since this state was
    /// swapped in (see [`ServedState::cold_meta`]).
    cold_metas: moka::sync::Cache<DocKey, Arc<Meta>>,
}

/// How many cold documents' headers a state keeps (about 500 bytes each).
const COLD_METAS: u64 = 8192;

impl ServedState {
    /// The headers of the cold document `key` as asked for before in this
    /// state. Planning a document and hashing its members for the ETag
    /// cost more than sending it from the cache (bench/serve.sh's
    /// 2 000-URL cycle); within one state they cannot change, since a
    /// reload swaps in a new state.
    pub fn cold_meta(&self, key: &DocKey) -> Option<Arc<Meta>> {
        self.cold_metas.get(key)
    }

    /// Keeps `meta`, made by [`Meta::of_at`] for `now`, for
    /// [`cold_meta`](Self::cold_meta), unless its `Last-Modified` was held
    /// back to `now` (a record dated ahead): later requests must see it
    /// move on.
    pub fn keep_cold_meta(&self, key: &DocKey, meta: &Meta, now: DateTime<Utc>) {
        if meta.last_modified < now.trunc_subsecs(0) {
            self.cold_metas.insert(key.clone(), Arc::new(meta.clone()));
        }
    }

    /// Prepares the hot documents of `index`; those whose fingerprint is
    /// unchanged since `previous` (or that the cache holds) are reused.
    /// Large new bodies get their `sendfile` copies in `bodies` (the state
    /// directory) where they can. Also returns the keys whose documents
    /// changed.
    pub fn prepare(
        index: Index,
        store: &ArticleStore,
        cache: &DocumentCache,
        health: &Health,
        previous: Option<&ServedState>,
        bodies: Option<&Path>,
    ) -> (ServedState, Vec<DocKey>) {
        let planned: Vec<(DocKey, Plan, [u8; 16])> = site::hot_keys(&index)
            .into_iter()
            .filter_map(|key| {
                let plan = Plan::of(&index, &key)?;
                let fingerprint = plan.fingerprint(&index);
                Some((key, plan, fingerprint))
            })
            .collect();
        let reused = |key: &DocKey, plan: &Plan, fingerprint: &[u8; 16]| {
            previous
                .and_then(|p| p.hot.get(key))
                .filter(|d| d.meta.fingerprint == *fingerprint)
                .cloned()
                .or_else(|| cache.get(fingerprint))
                .map(|document| document.with_headers_of(key, plan, &index))
        };
        let prepared: Vec<(DocKey, Option<Arc<ServedDocument>>, bool)> = planned
            .into_par_iter()
            .map(
                |(key, plan, fingerprint)| match reused(&key, &plan, &fingerprint) {
                    Some(document) => {
                        let was_hot = previous
                            .and_then(|p| p.hot.get(&key))
                            .is_some_and(|d| d.meta.fingerprint == fingerprint);
                        (key, Some(document), !was_hot)
                    }
                    None => {
                        let document = ServedDocument::render(&index, store, &key, &plan)
                            .map_err(|e| tracing::error!("{e}"))
                            .ok()
                            .map(|document| Arc::new(document.file_backed(bodies)));
                        (key, document, true)
                    }
                },
            )
            .collect();
        let mut changed = Vec::new();
        let mut hot = HashMap::new();
        for (key, document, is_new) in prepared {
            if is_new {
                changed.push(key.clone());
            }
            if let Some(document) = document {
                hot.insert(key, document);
            }
        }
        let not_found = hot
            .get(&DocKey::NotFound)
            .map(|d| d.identity.clone())
            .unwrap_or_default();
        let state = ServedState {
            index,
            hot,
            not_found,
            health: Bytes::from(serde_json::to_vec_pretty(health).unwrap_or_default()),
            cold_metas: moka::sync::Cache::new(COLD_METAS),
        };
        (state, changed)
    }

    /// Adds the compressed forms of hot documents that lack them.
    pub fn compress(&self) {
        self.hot
            .par_iter()
            .for_each(|(_, document)| document.compress());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::store::ArticleStore;
    use crate::content::Library;
    use crate::model::MediaFile;
    use std::sync::Arc;

    /// A media file's ETag is the hash of its bytes, which every replica
    /// makes alike; before that hash is made (a moment after a start) it
    /// has none, only `Last-Modified`.
    #[test]
    fn a_media_file_has_no_etag_until_its_bytes_are_hashed() {
        let feeds = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("feeds");
        let index = Library::open(&feeds, Arc::new(ArticleStore::memory()))
            .index()
            .unwrap();
        let file = index.media("media/logo.png").unwrap();
        let key = DocKey::Media(file.url_path.clone());
        let bytes = std::fs::read(feeds.join("media/logo.png")).unwrap();
        let hex: String = blake3::hash(&bytes).as_bytes()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let hashed = Meta::of(&key, &Plan::Media(MediaFile::clone(file)), &index);
        assert_eq!(
            hashed.etag(Encoding::Identity).unwrap(),
            &format!("\"{hex}\"")
        );

        let unhashed = MediaFile {
            hash: None,
            ..MediaFile::clone(file)
        };
        let meta = Meta::of(&key, &Plan::Media(unhashed), &index);
        assert!(meta.etag(Encoding::Identity).is_none());
        assert_eq!(meta.last_modified_header, hashed.last_modified_header);
    }
}
