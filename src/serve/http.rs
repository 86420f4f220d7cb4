//! One request, one answer: path → document key, conditional GET on the
//! fingerprint, content negotiation. Hot documents are looked up; a cold
//! one is answered 304 from its plan alone, or rendered once (off the
//! async threads) into the cache.

use std::sync::Arc;

use arc_swap::ArcSwap;
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Response, StatusCode};

use super::delta::{self, FeedHistory};
use super::documents::{DocumentCache, Encoding, Meta, ServedDocument, ServedState};
use super::negotiate::{choose_encoding, is_not_modified, not_modified, validators};
use crate::content::store::ArticleStore;
use crate::site::key::{self, DocKey, Route};
use crate::site::plan::Plan;

/// The response type of every handler.
pub type HttpResponse = Response<Body>;

/// A response body: a document's bytes from memory, or a media file
/// streamed from disk in small chunks, so that a large image costs a
/// buffer per request instead of its size.
pub type Body = http_body_util::Either<Full<Bytes>, MediaBody>;

/// A media file's bytes as they are read.
pub type MediaBody = http_body_util::StreamBody<
    futures_util::stream::MapOk<
        tokio_util::io::ReaderStream<tokio::fs::File>,
        fn(Bytes) -> hyper::body::Frame<Bytes>,
    >,
>;

/// A body of bytes in memory.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    http_body_util::Either::Left(Full::new(bytes.into()))
}

/// What a request is answered from.
#[derive(Clone)]
pub struct Context {
    /// The current state; swapped whole on reload.
    pub state: Arc<ArcSwap<ServedState>>,
    /// Cold documents rendered on request.
    pub cache: DocumentCache,
    /// The articles cold documents are rendered from.
    pub store: Arc<ArticleStore>,
    /// Earlier versions of the subscription feeds, for delta requests.
    pub history: Arc<FeedHistory>,
    /// How publishing to a bucket goes (`--publish-to`), for `/healthz`.
    pub publish: Option<crate::publish::keeper::SharedStatus>,
    /// Counters for `--metrics-addr`.
    pub metrics: Arc<super::metrics::Metrics>,
}

/// Where the lookup of a path leads.
enum Target {
    /// A hot document.
    Hot(DocKey, Arc<ServedDocument>),
    /// A document rendered on request.
    Cold(DocKey, Cold),
    /// Elsewhere, for good.
    Redirect(String),
    /// `/healthz`.
    Health,
    /// Nothing there.
    NotFound,
    /// A path that cannot be decoded.
    BadRequest,
}

/// What is known of a cold document when its request comes.
enum Cold {
    /// Its plan, made for this request.
    Planned(Plan),
    /// Its headers, made for an earlier request in the same state; it is
    /// planned again only if it must be rendered.
    Known(Arc<Meta>),
}

/// Why a cold document could not be made.
#[derive(Debug, thiserror::Error)]
enum ColdError {
    #[error(transparent)]
    Render(#[from] crate::site::RenderError),
    /// Not expected: the state that made its headers planned it before.
    #[error("the document is no longer planned")]
    NotPlanned,
}

/// Answers one request.
pub async fn respond(
    context: &Context,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
) -> HttpResponse {
    if method != Method::GET && method != Method::HEAD {
        return Response::builder()
            .status(StatusCode::METHOD_NOT_ALLOWED)
            .header(header::ALLOW, "GET, HEAD")
            .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
            .body(full(Bytes::from_static(b"Methode nicht erlaubt\n")))
            .unwrap_or_else(fallback);
    }
    let head = method == Method::HEAD;
    let state = context.state.load_full();
    let response = match lookup(&state, path) {
        Target::Hot(key, document) => {
            match delta(context, &state, &key, &document, headers, head) {
                Some(response) => response,
                None => hot_response(document, headers, head).await,
            }
        }
        Target::Cold(key, cold) => {
            let (plan, meta) = match cold {
                Cold::Known(meta) => (None, meta),
                Cold::Planned(plan) => {
                    let now = chrono::Utc::now();
                    let meta = Meta::of_at(&key, &plan, &state.index, now);
                    // A file is streamed from its plan every time.
                    if !matches!(plan, Plan::Media(_) | Plan::Favicon(_)) {
                        state.keep_cold_meta(&key, &meta, now);
                    }
                    (Some(plan), Arc::new(meta))
                }
            };
            let streamed = match &plan {
                Some(Plan::Media(file) | Plan::Favicon(Some(file))) => {
                    media_response(file, &meta, headers, head).await
                }
                _ => None,
            };
            let encoding = choose_encoding(headers, meta.compressible);
            if let Some(response) = streamed {
                response
            } else if is_not_modified(headers, &meta, encoding) {
                not_modified(&meta, encoding)
            } else {
                match cold_document(context, &state, key, plan, meta, encoding).await {
                    Some(document) => document_response(&document, encoding, headers, head),
                    None => not_found(&state, head),
                }
            }
        }
        Target::Redirect(location) => Response::builder()
            .status(StatusCode::MOVED_PERMANENTLY)
            .header(header::LOCATION, location)
            .header(header::CACHE_CONTROL, "public, max-age=86400")
            .body(full(Bytes::new())),
        Target::Health => {
            let body = health_body(context, &state);
            Response::builder()
                .header(header::CONTENT_TYPE, "application/json; charset=utf-8")
                .header(header::CACHE_CONTROL, "no-store")
                .header(header::CONTENT_LENGTH, body.len())
                .body(full(if head { Bytes::new() } else { body }))
        }
        Target::NotFound => not_found(&state, head),
        Target::BadRequest => Response::builder()
            .status(StatusCode::BAD_REQUEST)
            .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
            .body(full(Bytes::from_static("Ungültige Adresse\n".as_bytes()))),
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

/// RFC 3229 for subscription feeds: with `A-IM: feed` and an
/// `If-None-Match` naming an earlier version this service remembers, the
/// entries added or changed since, as a feed of its own (`226 IM Used`).
/// `None`: answer as usual (the current version named: 304; an unknown
/// one: the whole feed).
fn delta(
    context: &Context,
    state: &ServedState,
    key: &DocKey,
    document: &ServedDocument,
    headers: &HeaderMap,
    head: bool,
) -> Option<Result<HttpResponse, hyper::http::Error>> {
    if !key.is_subscription() || !delta::wants_delta(headers) {
        return None;
    }
    let named = delta::named_versions(headers);
    if named.is_empty() || named.contains(&document.meta.fingerprint) {
        return None;
    }
    let old = named
        .iter()
        .find_map(|fingerprint| context.history.entries(key, fingerprint))?;
    let Some(Plan::Feed(mut plan)) = Plan::of(&state.index, key) else {
        return None;
    };
    plan.entries.retain(|entry| !old.contains(entry));
    let body = crate::site::render(&state.index, &context.store, key, &Plan::Feed(plan)).ok()?;
    let meta = &document.meta;
    let etag = meta.etag(Encoding::Identity)?;
    Some(
        Response::builder()
            .status(StatusCode::from_u16(226).unwrap_or(StatusCode::OK))
            .header("IM", "feed")
            .header(header::ETAG, etag.clone())
            .header(header::LAST_MODIFIED, meta.last_modified_header.clone())
            .header(header::CACHE_CONTROL, "no-store")
            .header(header::VARY, "Accept-Encoding, A-IM, If-None-Match")
            .header(header::CONTENT_TYPE, meta.content_type.clone())
            .header(header::CONTENT_LENGTH, body.len())
            .body(full(if head { Bytes::new() } else { body })),
    )
}

/// The cached document of that fingerprint, or rendered now on a blocking
/// thread (concurrent requests for it wait for the one rendering), with
/// the form of `encoding` made as for a hot document.
async fn cold_document(
    context: &Context,
    state: &Arc<ServedState>,
    key: DocKey,
    plan: Option<Plan>,
    meta: Arc<Meta>,
    encoding: Encoding,
) -> Option<Arc<ServedDocument>> {
    let cached = context.cache.get(&meta.fingerprint);
    context.metrics.cache_lookup(cached.is_some());
    let document = match cached {
        Some(document) => document,
        None => {
            let context = context.clone();
            let state = Arc::clone(state);
            let fingerprint = meta.fingerprint;
            tokio::task::spawn_blocking(move || {
                context
                    .cache
                    .try_get_with(fingerprint, || {
                        let plan = match plan {
                            Some(plan) => plan,
                            // The state that made the headers plans it the same way.
                            None => Plan::of(&state.index, &key).ok_or(ColdError::NotPlanned)?,
                        };
                        let document =
                            ServedDocument::render(&state.index, &context.store, &key, &plan)?;
                        Ok::<_, ColdError>(Arc::new(document))
                    })
                    .map_err(|e| tracing::warn!("{e}"))
                    .ok()
            })
            .await
            .ok()
            .flatten()?
        }
    };
    // Made on the cached document, so that later requests find it there.
    document.make_form(encoding).await;
    Some(document.with_meta(&meta))
}

/// The `/healthz` body: the state's, plus how publishing to a bucket goes
/// (a failing store makes the status "degraded").
fn health_body(context: &Context, state: &ServedState) -> Bytes {
    let Some(publish) = &context.publish else {
        return state.health.clone();
    };
    let publish = publish.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let Ok(serde_json::Value::Object(mut health)) = serde_json::from_slice(&state.health) else {
        return state.health.clone();
    };
    if publish.state == "failing" {
        health.insert("status".to_owned(), "degraded".into());
    }
    health.insert(
        "publish".to_owned(),
        serde_json::to_value(&publish).unwrap_or_default(),
    );
    Bytes::from(serde_json::to_vec_pretty(&health).unwrap_or_default())
}

/// Maps a request path to a document. Only keys the index knows can come
/// out, so no spelling of a path (`..`, `%2e%2e`, `%2f`, `\`) reaches a file.
fn lookup(state: &ServedState, raw_path: &str) -> Target {
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
    match key::route(&decoded) {
        None => Target::NotFound,
        Some(Route::Redirect(location)) => {
            // Only to a document that exists, so a redirect never leads to a 404.
            let target = location.trim_start_matches('/');
            match key::route(target) {
                Some(Route::Doc(key)) if Plan::of(&state.index, &key).is_some() => {
                    Target::Redirect(location)
                }
                _ => Target::NotFound,
            }
        }
        Some(Route::Doc(key)) => {
            if let Some(document) = state.hot.get(&key) {
                return Target::Hot(key, Arc::clone(document));
            }
            if let Some(meta) = state.cold_meta(&key) {
                return Target::Cold(key, Cold::Known(meta));
            }
            match Plan::of(&state.index, &key) {
                Some(plan) => Target::Cold(key, Cold::Planned(plan)),
                None => Target::NotFound,
            }
        }
    }
}

/// A hot document in the encoding the client prefers. Its compressed
/// forms are made behind a start or an edit; one asked for before it is
/// there is made now by the first request asking, off the async threads
/// (a 304 needs none); requests meanwhile get identity.
async fn hot_response(
    document: Arc<ServedDocument>,
    headers: &HeaderMap,
    head: bool,
) -> Result<HttpResponse, hyper::http::Error> {
    let meta = &document.meta;
    let encoding = choose_encoding(headers, meta.compressible);
    if !is_not_modified(headers, meta, encoding) {
        document.make_form(encoding).await;
    }
    document_response(&document, encoding, headers, head)
}

/// `document` in `encoding` (identity if that form could not be made),
/// or 304.
fn document_response(
    document: &ServedDocument,
    encoding: Encoding,
    headers: &HeaderMap,
    head: bool,
) -> Result<HttpResponse, hyper::http::Error> {
    let meta = &document.meta;
    if is_not_modified(headers, meta, encoding) {
        return not_modified(meta, encoding);
    }
    let encoding = match document.has(encoding) {
        true => encoding,
        false => Encoding::Identity,
    };
    let body = document.body(encoding);
    let mut builder = validators(meta, encoding)
        .header(header::CONTENT_TYPE, meta.content_type.clone())
        .header(header::CONTENT_LENGTH, body.len());
    if let Some(encoding) = encoding.header() {
        builder = builder.header(header::CONTENT_ENCODING, encoding);
    }
    builder.body(full(if head { Bytes::new() } else { body.clone() }))
}

/// A media file answered from disk: 304 when unchanged, else its bytes
/// streamed as they are read. `None` when the file on disk is no longer
/// the one the index measured (it changed a moment ago; the reload that
/// follows takes it in): then it is answered like any other document.
async fn media_response(
    file: &crate::model::MediaFile,
    meta: &Meta,
    headers: &HeaderMap,
    head: bool,
) -> Option<Result<HttpResponse, hyper::http::Error>> {
    if is_not_modified(headers, meta, Encoding::Identity) {
        return Some(not_modified(meta, Encoding::Identity));
    }
    let opened = tokio::fs::File::open(&file.file).await.ok()?;
    let on_disk = opened.metadata().await.ok()?;
    let unchanged = on_disk.len() == file.length
        && on_disk
            .modified()
            .ok()
            .map(chrono::DateTime::<chrono::Utc>::from)
            == Some(file.modified);
    if !unchanged {
        return None;
    }
    let builder = validators(meta, Encoding::Identity)
        .header(header::CONTENT_TYPE, meta.content_type.clone())
        .header(header::CONTENT_LENGTH, file.length);
    if head {
        return Some(builder.body(full(Bytes::new())));
    }
    let frames: fn(Bytes) -> hyper::body::Frame<Bytes> = hyper::body::Frame::data;
    let stream = futures_util::TryStreamExt::map_ok(
        tokio_util::io::ReaderStream::with_capacity(opened, 64 * 1024),
        frames,
    );
    Some(builder.body(http_body_util::Either::Right(
        http_body_util::StreamBody::new(stream),
    )))
}

fn not_found(state: &ServedState, head: bool) -> Result<HttpResponse, hyper::http::Error> {
    Response::builder()
        .status(StatusCode::NOT_FOUND)
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        .header(header::CONTENT_LENGTH, state.not_found.len())
        .header(header::CACHE_CONTROL, "public, max-age=60")
        .body(full(if head {
            Bytes::new()
        } else {
            state.not_found.clone()
        }))
}

/// Only reached if a header value were invalid, which the values above never are.
fn fallback(_: hyper::http::Error) -> HttpResponse {
    let mut response = Response::new(full(Bytes::from_static(b"Interner Fehler\n")));
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::Library;

    /// A hot document is served before its compressed forms are made (at a
    /// start, after an edit): a request that wants one gets it, made then;
    /// a 304 makes none.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_hot_document_is_compressed_when_first_asked() {
        let feeds = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("feeds");
        let store = Arc::new(ArticleStore::memory());
        let index = Library::open(&feeds, Arc::clone(&store)).index().unwrap();
        let Some(Route::Doc(key)) = key::route("feed.rss") else {
            panic!("/feed.rss is a document");
        };
        let plan = Plan::of(&index, &key).unwrap();
        let document = Arc::new(ServedDocument::render(&index, &store, &key, &plan).unwrap());
        let asking = |pairs: &[(header::HeaderName, &str)]| {
            let mut headers = HeaderMap::new();
            for (name, value) in pairs {
                headers.insert(name, HeaderValue::from_str(value).unwrap());
            }
            headers
        };

        let brotli_etag = document
            .meta
            .etag(Encoding::Brotli)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let revalidated = hot_response(
            Arc::clone(&document),
            &asking(&[
                (header::ACCEPT_ENCODING, "br"),
                (header::IF_NONE_MATCH, &brotli_etag),
            ]),
            false,
        )
        .await
        .unwrap();
        assert_eq!(revalidated.status(), StatusCode::NOT_MODIFIED);
        assert!(
            !document.has(Encoding::Brotli),
            "a 304 compressed the document"
        );

        let zipped = hot_response(
            Arc::clone(&document),
            &asking(&[(header::ACCEPT_ENCODING, "gzip")]),
            false,
        )
        .await
        .unwrap();
        assert_eq!(zipped.headers()[header::CONTENT_ENCODING], "gzip");
        assert_eq!(
            zipped.headers()[header::ETAG],
            document.meta.etag(Encoding::Gzip).unwrap()
        );
        assert!(document.has(Encoding::Gzip) && !document.has(Encoding::Brotli));

        // While another request makes the brotli form, one more asking for
        // it gets identity rather than a blocking thread of its own.
        assert!(document.first_to_ask(Encoding::Brotli));
        let meanwhile = hot_response(
            Arc::clone(&document),
            &asking(&[(header::ACCEPT_ENCODING, "br")]),
            false,
        )
        .await
        .unwrap();
        assert!(meanwhile.headers().get(header::CONTENT_ENCODING).is_none());
        assert_eq!(
            meanwhile.headers()[header::ETAG],
            document.meta.etag(Encoding::Identity).unwrap()
        );
        assert!(!document.has(Encoding::Brotli));
    }
}
