//! Changing an object's headers without sending its bytes again: S3's
//! CopyObject of the object onto itself with `x-amz-metadata-directive:
//! REPLACE`, the S3 API's documented way (seen on Garage 2.5.0). A change
//! of `max_age` in `site.toml` changes the `Cache-Control` of most of a
//! site's objects and none of their bytes.
//!
//! `object_store` has no copy with new metadata, so the request is made
//! here, but signed by its SigV4 signer, addressed by its own URL for the
//! object and sent by its HTTP client: nothing of the protocol's security
//! is written by hand.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use object_store::aws::{AmazonS3, AwsAuthorizer};
use object_store::client::{ClientOptions, HttpClient, HttpConnector, ReqwestConnector};
use object_store::path::Path as ObjectPath;
use object_store::signer::Signer;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// How S3 wants a key in `x-amz-copy-source`: percent-encoded, `/` kept
/// (the same set `object_store` uses for paths).
const KEY_ENCODING: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// Rewrites the headers of objects in one bucket.
#[derive(Debug)]
pub struct HeaderRewriter {
    /// The store: its credentials, and the URL it uses for an object.
    s3: Arc<AmazonS3>,
    bucket: String,
    region: String,
    client: HttpClient,
}

/// The headers an object is given.
pub struct ObjectHeaders<'a> {
    /// `Content-Type`.
    pub content_type: &'a str,
    /// `Cache-Control`.
    pub cache_control: &'a str,
    /// The document's `Last-Modified`, kept as `x-amz-meta-last-modified`.
    pub last_modified: &'a str,
}

impl HeaderRewriter {
    /// A rewriter for `bucket` of `s3` (in `region`, which signatures name).
    pub fn new(
        s3: Arc<AmazonS3>,
        bucket: &str,
        region: &str,
    ) -> Result<HeaderRewriter, object_store::Error> {
        // The URL comes from the store's own configuration, which already
        // refused plain HTTP unless it was asked for.
        let client =
            ReqwestConnector::default().connect(&ClientOptions::new().with_allow_http(true))?;
        Ok(HeaderRewriter {
            s3,
            bucket: bucket.to_owned(),
            region: region.to_owned(),
            client,
        })
    }

    /// Gives `object` new headers, keeping its bytes. An error means the
    /// object is as it was (the caller puts it whole instead).
    pub async fn rewrite(
        &self,
        object: &ObjectPath,
        headers: &ObjectHeaders<'_>,
    ) -> Result<(), String> {
        let mut url = self
            .s3
            .signed_url(http::Method::PUT, object, Duration::from_secs(300))
            .await
            .map_err(|e| e.to_string())?;
        url.set_query(None);
        let source = format!(
            "{}/{}",
            self.bucket,
            utf8_percent_encode(object.as_ref(), KEY_ENCODING)
        );
        let mut request = http::Request::builder()
            .method(http::Method::PUT)
            .uri(url.as_str())
            .header("x-amz-copy-source", source)
            .header("x-amz-metadata-directive", "REPLACE")
            .header(http::header::CONTENT_TYPE, headers.content_type)
            .header(http::header::CACHE_CONTROL, headers.cache_control)
            .header("x-amz-meta-last-modified", headers.last_modified)
            .body(Bytes::new().into())
            .map_err(|e| e.to_string())?;
        let credential = self
            .s3
            .credentials()
            .get_credential()
            .await
            .map_err(|e| e.to_string())?;
        AwsAuthorizer::new(&credential, "s3", &self.region)
            .try_authorize(&mut request, None)
            .map_err(|e| e.to_string())?;
        let response = self
            .client
            .execute(request)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let body = response
            .into_body()
            .bytes()
            .await
            .map_err(|e| e.to_string())?;
        // A copy can fail after its 200 has been sent: S3 then puts the
        // error in the body.
        if !status.is_success() || !contains(&body, b"CopyObjectResult") {
            return Err(format!(
                "the store answered {status}: {}",
                String::from_utf8_lossy(&body[..body.len().min(300)])
            ));
        }
        Ok(())
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
