//! An S3 server in the test process: the `s3s` crate speaks the protocol
//! (request parsing, SigV4 signature checks, XML errors) over real TCP;
//! the objects live in memory, with the headers they were put with. It
//! logs every request, and can be told to refuse puts (a store that goes
//! away in the middle of a publish) or to take its time over each.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::StreamExt;
use hyper_util::rt::{TokioExecutor, TokioIo};
use s3s::dto::{
    CopyObjectInput, CopyObjectOutput, CopyObjectResult, CopySource, DeleteObjectInput,
    DeleteObjectOutput, DeleteObjectsInput, DeleteObjectsOutput, DeletedObject, ETag,
    ETagCondition, GetObjectInput, GetObjectOutput, HeadObjectInput, HeadObjectOutput,
    PutObjectInput, PutObjectOutput,
};
use s3s::{s3_error, S3Request, S3Response, S3Result, S3};

pub const ACCESS_KEY: &str = "GKtest";
pub const SECRET_KEY: &str = "test-secret-0123456789";

/// One stored object.
#[derive(Debug, Clone)]
pub struct Object {
    pub body: Bytes,
    pub content_type: Option<String>,
    pub cache_control: Option<String>,
    pub metadata: HashMap<String, String>,
}

/// The store's contents and what was asked of it.
#[derive(Default)]
pub struct Memory {
    /// By bucket and key.
    pub objects: Mutex<BTreeMap<(String, String), Object>>,
    /// Every request: ("PUT" | "COPY" | "GET" | "GET 304" | "HEAD" |
    /// "DELETE", key).
    pub log: Mutex<Vec<(&'static str, String)>>,
    /// Puts still accepted before every further one is refused
    /// (`usize::MAX`: no limit).
    pub puts_left: AtomicUsize,
    /// Milliseconds each put takes (a slow store).
    pub put_delay_ms: AtomicU64,
}

impl Memory {
    fn record(&self, method: &'static str, key: &str) {
        self.log.lock().unwrap().push((method, key.to_owned()));
    }

    /// The requests since the last call.
    pub fn take_log(&self) -> Vec<(&'static str, String)> {
        std::mem::take(&mut *self.log.lock().unwrap())
    }

    /// One object, or S3's `NoSuchKey`.
    fn object(&self, bucket: String, key: String) -> S3Result<Object> {
        self.objects
            .lock()
            .unwrap()
            .get(&(bucket, key))
            .cloned()
            .ok_or_else(|| s3_error!(NoSuchKey))
    }

    /// The objects of `bucket`, by key.
    pub fn bucket(&self, bucket: &str) -> BTreeMap<String, Object> {
        self.objects
            .lock()
            .unwrap()
            .iter()
            .filter(|((b, _), _)| b == bucket)
            .map(|((_, k), o)| (k.clone(), o.clone()))
            .collect()
    }
}

/// An object's ETag: a hash of its bytes, as S3's MD5 is.
fn etag_of(body: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(body)
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

struct Store(Arc<Memory>);

#[async_trait::async_trait]
impl S3 for Store {
    async fn put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        let input = req.input;
        self.0.record("PUT", &input.key);
        let allowed = self
            .0
            .puts_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(1)
            })
            .is_ok();
        if !allowed {
            return Err(s3_error!(AccessDenied, "puts refused by the test"));
        }
        let delay = self.0.put_delay_ms.load(Ordering::SeqCst);
        if delay > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
        }
        let mut body = Vec::new();
        if let Some(mut stream) = input.body {
            while let Some(chunk) = stream.next().await {
                body.extend_from_slice(&chunk.map_err(|_| s3_error!(IncompleteBody))?);
            }
        }
        let etag = etag_of(&body);
        self.0.objects.lock().unwrap().insert(
            (input.bucket, input.key),
            Object {
                body: Bytes::from(body),
                content_type: input.content_type,
                cache_control: input.cache_control,
                metadata: input.metadata.unwrap_or_default(),
            },
        );
        Ok(S3Response::new(PutObjectOutput {
            e_tag: Some(ETag::Strong(etag)),
            ..Default::default()
        }))
    }

    /// CopyObject as S3 does it: the source's bytes; its headers, or with
    /// `x-amz-metadata-directive: REPLACE` the request's; onto itself only
    /// with REPLACE.
    async fn copy_object(
        &self,
        req: S3Request<CopyObjectInput>,
    ) -> S3Result<S3Response<CopyObjectOutput>> {
        let input = req.input;
        self.0.record("COPY", &input.key);
        let CopySource::Bucket { bucket, key, .. } = &input.copy_source else {
            return Err(s3_error!(NotImplemented));
        };
        let source = self.0.object(bucket.to_string(), key.to_string())?;
        let replace = input
            .metadata_directive
            .as_ref()
            .is_some_and(|d| d.as_str() == "REPLACE");
        if !replace && **bucket == *input.bucket && **key == *input.key {
            return Err(s3_error!(
                InvalidRequest,
                "copy onto itself without REPLACE"
            ));
        }
        let object = if replace {
            Object {
                body: source.body,
                content_type: input.content_type,
                cache_control: input.cache_control,
                metadata: input.metadata.unwrap_or_default(),
            }
        } else {
            source
        };
        self.0
            .objects
            .lock()
            .unwrap()
            .insert((input.bucket, input.key), object);
        Ok(S3Response::new(CopyObjectOutput {
            copy_object_result: Some(CopyObjectResult::default()),
            ..Default::default()
        }))
    }

    async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        let input = req.input;
        let object = self.0.object(input.bucket, input.key.clone())?;
        let etag = etag_of(&object.body);
        if let Some(ETagCondition::ETag(asked)) = &input.if_none_match {
            if asked.value() == etag {
                self.0.record("GET 304", &input.key);
                return Err(s3_error!(NotModified));
            }
        }
        self.0.record("GET", &input.key);
        Ok(S3Response::new(GetObjectOutput {
            content_length: Some(object.body.len() as i64),
            e_tag: Some(ETag::Strong(etag)),
            last_modified: Some(std::time::SystemTime::UNIX_EPOCH.into()),
            content_type: object.content_type,
            cache_control: object.cache_control,
            metadata: Some(object.metadata),
            body: Some(s3s::Body::from(object.body).into()),
            ..Default::default()
        }))
    }

    async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        let input = req.input;
        self.0.record("HEAD", &input.key);
        let object = self.0.object(input.bucket, input.key)?;
        Ok(S3Response::new(HeadObjectOutput {
            content_length: Some(object.body.len() as i64),
            content_type: object.content_type,
            cache_control: object.cache_control,
            metadata: Some(object.metadata),
            ..Default::default()
        }))
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        let input = req.input;
        self.0.record("DELETE", &input.key);
        self.0
            .objects
            .lock()
            .unwrap()
            .remove(&(input.bucket, input.key));
        Ok(S3Response::new(DeleteObjectOutput::default()))
    }

    async fn delete_objects(
        &self,
        req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        let input = req.input;
        let mut deleted = Vec::new();
        for object in input.delete.objects {
            self.0.record("DELETE", &object.key);
            self.0
                .objects
                .lock()
                .unwrap()
                .remove(&(input.bucket.clone(), object.key.clone()));
            deleted.push(DeletedObject {
                key: Some(object.key),
                ..Default::default()
            });
        }
        Ok(S3Response::new(DeleteObjectsOutput {
            deleted: Some(deleted),
            ..Default::default()
        }))
    }
}

/// Starts the server on 127.0.0.1:0; it runs until the runtime ends.
pub async fn start() -> (SocketAddr, Arc<Memory>) {
    let memory = Arc::new(Memory {
        puts_left: AtomicUsize::new(usize::MAX),
        ..Memory::default()
    });
    let service = {
        let mut builder = s3s::service::S3ServiceBuilder::new(Store(Arc::clone(&memory)));
        builder.set_auth(s3s::auth::SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
        builder.build()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let service = service.clone();
            tokio::spawn(async move {
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, memory)
}
