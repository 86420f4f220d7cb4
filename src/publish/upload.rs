//! One document's upload: what must happen to it (compared with the
//! manifest), putting it (or only giving the object new headers), and
//! taking the finished upload in.

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use object_store::path::Path as ObjectPath;
use object_store::{Attribute, Attributes, ObjectStore, PutOptions, PutPayload};

use super::manifest::{headers_hash, Entry, Manifest};
use super::{rewrite, PublishError, PublishReport};
use crate::content::store::ArticleStore;
use crate::index::Index;
use crate::site::{self, key::DocKey, plan::Plan};

/// One object to put.
pub(super) struct Upload {
    pub(super) path: String,
    key: DocKey,
    plan: Plan,
    entry: Entry,
    content_type: String,
    cache_control: String,
    last_modified: String,
    headers_only: bool,
}

/// What must happen to one document: its path, and the upload (of the
/// bytes, or of the headers only) unless the bucket holds it as it is.
pub(super) fn compare(
    index: &Index,
    key: &DocKey,
    plan: Plan,
    known: &Manifest,
    now: chrono::DateTime<chrono::Utc>,
) -> (String, Option<Upload>) {
    let path = key.path();
    let fingerprint = plan.fingerprint(index);
    let content_type = site::content_type_of(index, key).to_owned();
    let cache_control = site::cache_control_of(index, key);
    let headers = headers_hash(&content_type, &cache_control);
    let before = known.get(&path);
    if before.is_some_and(|b| b.fingerprint == fingerprint && b.headers == headers) {
        return (path, None);
    }
    let last_modified = SystemTime::from(plan.last_modified(index, now));
    let upload = Upload {
        path: path.clone(),
        key: key.clone(),
        headers_only: before.is_some_and(|b| b.fingerprint == fingerprint),
        plan,
        entry: Entry {
            fingerprint,
            headers,
        },
        content_type,
        cache_control,
        last_modified: httpdate::fmt_http_date(last_modified),
    };
    (path, Some(upload))
}

/// Takes in one finished upload: counted, and recorded in the manifest.
pub(super) fn settle(
    done: Result<Result<Settled, PublishError>, tokio::task::JoinError>,
    known: &mut Manifest,
    report: &mut PublishReport,
) -> Result<(), PublishError> {
    let settled = done.map_err(|e| PublishError::Cancelled(e.to_string()))??;
    if settled.headers_only {
        report.headers += 1;
    } else {
        report.uploaded += 1;
    }
    report.bytes += settled.bytes;
    known.insert(settled.path, settled.entry);
    Ok(())
}

/// One upload done.
pub(super) struct Settled {
    path: String,
    entry: Entry,
    headers_only: bool,
    bytes: u64,
}

/// Renders one document (off the async threads) and puts it; or, when
/// only its headers changed, gives the object new headers in place.
pub(super) async fn put(
    bucket: Arc<dyn ObjectStore>,
    rewriter: Option<Arc<rewrite::HeaderRewriter>>,
    index: Arc<Index>,
    store: Arc<ArticleStore>,
    object: ObjectPath,
    upload: Upload,
) -> Result<Settled, PublishError> {
    let Upload {
        path,
        key,
        plan,
        entry,
        content_type,
        cache_control,
        last_modified,
        headers_only,
    } = upload;
    if let (true, Some(rewriter)) = (headers_only, rewriter) {
        let headers = rewrite::ObjectHeaders {
            content_type: &content_type,
            cache_control: &cache_control,
            last_modified: &last_modified,
        };
        match rewriter.rewrite(&object, &headers).await {
            Ok(()) => {
                tracing::debug!(target: "stadtfeed::publish::objects", %path, "headers rewritten");
                return Ok(Settled {
                    path,
                    entry,
                    headers_only,
                    bytes: 0,
                });
            }
            Err(e) => {
                tracing::warn!("{path}: cannot change its headers in place ({e}); putting it whole")
            }
        }
    }
    let body: Bytes =
        tokio::task::spawn_blocking(move || site::render(&index, &store, &key, &plan))
            .await
            .map_err(|e| PublishError::Cancelled(e.to_string()))??;
    let mut attributes = Attributes::new();
    attributes.insert(Attribute::ContentType, content_type.into());
    attributes.insert(Attribute::CacheControl, cache_control.into());
    attributes.insert(
        Attribute::Metadata("last-modified".into()),
        last_modified.into(),
    );
    let bytes = body.len() as u64;
    let options = PutOptions {
        attributes,
        ..PutOptions::default()
    };
    bucket
        .put_opts(&object, PutPayload::from(body), options)
        .await
        .map_err(|source| PublishError::Store {
            path: path.clone(),
            source,
        })?;
    tracing::debug!(target: "stadtfeed::publish::objects", %path, headers_only, "put");
    Ok(Settled {
        path,
        entry,
        headers_only,
        bytes,
    })
}
