//! Where to publish: an `s3://BUCKET[/PREFIX]` URL with its endpoint and
//! region, and the bucket it connects to.

use std::sync::Arc;
use std::time::Duration;

use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::RetryConfig;

use super::{profile, rewrite, Bucket, PublishError};

/// Where to publish: a bucket, a prefix inside it, and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The bucket's name.
    pub bucket: String,
    /// The folder inside the bucket, without slashes at its ends; empty for
    /// the bucket's root.
    pub prefix: String,
    /// The store's S3 endpoint (Garage, MinIO: `http://host:3900`); AWS
    /// when `None`.
    pub endpoint: Option<String>,
    /// The region; `AWS_REGION`/`AWS_DEFAULT_REGION` or `us-east-1` when
    /// `None` (Garage's default region is `garage`).
    pub region: Option<String>,
}

impl Target {
    /// Reads `s3://BUCKET[/PREFIX]`.
    pub fn parse(
        url: &str,
        endpoint: Option<String>,
        region: Option<String>,
    ) -> Result<Target, PublishError> {
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| PublishError::BadTarget(url.to_owned()))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(PublishError::BadTarget(url.to_owned()));
        }
        Ok(Target {
            bucket: bucket.to_owned(),
            prefix: prefix.trim_matches('/').to_owned(),
            endpoint,
            region,
        })
    }

    /// The `s3://` URL, for logs and `/healthz`.
    pub fn url(&self) -> String {
        if self.prefix.is_empty() {
            format!("s3://{}", self.bucket)
        } else {
            format!("s3://{}/{}", self.bucket, self.prefix)
        }
    }

    /// What names this bucket among a publisher's states: its URL and
    /// endpoint (the same bucket name on two stores is two buckets).
    pub fn identity(&self) -> String {
        format!(
            "{} {}",
            self.url(),
            self.endpoint.as_deref().unwrap_or_default()
        )
    }

    /// A client for the bucket, with credentials from the environment
    /// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`),
    /// else from the AWS profile (`AWS_PROFILE`, `~/.aws/credentials`),
    /// else container and instance credentials; retries with backoff.
    pub fn connect(&self) -> Result<Bucket, PublishError> {
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(&self.bucket)
            .with_retry(RetryConfig {
                max_retries: 5,
                retry_timeout: Duration::from_secs(120),
                ..RetryConfig::default()
            });
        let profile = profile::Profile::from_env().map_err(PublishError::Profile)?;
        let unset = |name: &str| std::env::var_os(name).is_none_or(|v| v.is_empty());
        if unset("AWS_ACCESS_KEY_ID") {
            if let (Some(id), Some(secret)) = (profile.access_key_id, profile.secret_access_key) {
                builder = builder
                    .with_access_key_id(id)
                    .with_secret_access_key(secret);
                if let Some(token) = profile.session_token {
                    builder = builder.with_token(token);
                }
            }
        }
        if unset("AWS_REGION") && unset("AWS_DEFAULT_REGION") {
            if let Some(region) = profile.region {
                builder = builder.with_region(region);
            }
        }
        if unset("AWS_ENDPOINT") && unset("AWS_ENDPOINT_URL") {
            if let Some(endpoint) = &profile.endpoint_url {
                builder = with_endpoint(builder, endpoint);
            }
        }
        if let Some(endpoint) = &self.endpoint {
            builder = with_endpoint(builder, endpoint);
        }
        if let Some(region) = &self.region {
            builder = builder.with_region(region);
        }
        let region = builder
            .get_config_value(&AmazonS3ConfigKey::Region)
            .unwrap_or_else(|| "us-east-1".to_owned());
        let store = Arc::new(builder.build().map_err(PublishError::Setup)?);
        let rewriter = rewrite::HeaderRewriter::new(Arc::clone(&store), &self.bucket, &region)
            .map_err(PublishError::Setup)?;
        let mut bucket = Bucket::new(store, &self.prefix);
        bucket.rewriter = Some(Arc::new(rewriter));
        Ok(bucket)
    }
}

/// The builder with `endpoint`, plain HTTP allowed only when it names it
/// (a store on loopback or a private network).
fn with_endpoint(builder: AmazonS3Builder, endpoint: &str) -> AmazonS3Builder {
    builder
        .with_allow_http(endpoint.starts_with("http://"))
        .with_endpoint(endpoint)
}
