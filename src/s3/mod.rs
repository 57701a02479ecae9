//! The only user of aws-sdk-s3: calls that need S3 itself rather than a signature (listing
//! objects; whether a download's object exists and its scan tag; multipart create, list, complete and abort;
//! the read-only bucket checks of `s3-broker doctor`). Every call is bounded in total, retries
//! included (the SDK's operation timeout; the whole ListParts listing and
//! CompleteMultipartUpload have their own budgets, see [`multipart`] and [`complete`]); the
//! service's calls are counted and timed in its metrics.

mod complete;
mod credential_source;
mod head;
mod inspect;
mod multipart;
mod stored;
mod tagging;

pub use complete::CompletedObject;
pub use credential_source::{
    CredentialSource, CredentialsUnavailable, FIRST_BACKOFF, MAX_BACKOFF, PROVIDER_TIMEOUT,
    REFRESH_AHEAD,
};
pub use head::StoredType;
pub use inspect::{
    BucketProbe, CorsRule, InspectError, LifecycleRule, PublicAccessBlock, ServerTime,
};
pub use multipart::UploadRef;
pub use stored::{QUARANTINE_TAG, StoredObject};
pub use tagging::ObjectTag;

use crate::domain::{BucketName, Credentials, Endpoint, Region};
use crate::telemetry::S3Calls;
use aws_config::timeout::TimeoutConfig;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_s3::config::BehaviorVersion;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::SdkError;
use chrono::{DateTime, Utc};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

/// Why an S3 call failed.
#[derive(Debug, thiserror::Error)]
pub enum S3Error {
    /// S3 did not answer in time, refused the connection or answered 5xx: retry later.
    #[error("S3 is unavailable: {0}")]
    Unavailable(String),
    /// S3 refused the request (bucket missing, access denied...): a configuration problem.
    #[error("S3 refused the request: {0}")]
    Refused(String),
    /// The broker has no usable credentials (expired, inside the margin, or the provider is
    /// failing): no call was made.
    #[error("no usable credentials: {0}")]
    Credentials(#[from] CredentialsUnavailable),
    /// The multipart upload does not exist (completed, aborted or never created).
    #[error("no such multipart upload")]
    NoSuchUpload,
    /// The object does not exist (HeadObject's 404 `NotFound`).
    #[error("no such object")]
    NoSuchKey,
    /// A conditional write failed: the object exists (`If-None-Match: *`, 412).
    #[error("the object already exists")]
    PreconditionFailed,
    /// A concurrent conditional write to the same key is in progress (409).
    #[error("a conflicting write to the same key is in progress")]
    Conflict,
    /// S3 refused the parts of a complete request (code such as `InvalidPart`,
    /// `InvalidPartOrder`, `EntityTooSmall`, `BadDigest`).
    #[error("S3 refused the parts: {0}")]
    PartsRejected(String),
}

impl S3Error {
    /// A short, stable name of the kind of failure (a metric label).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Unavailable(_) => "unavailable",
            Self::Refused(_) => "refused",
            Self::Credentials(_) => "credentials_unavailable",
            Self::NoSuchUpload => "no_such_upload",
            Self::NoSuchKey => "no_such_key",
            Self::PreconditionFailed => "precondition_failed",
            Self::Conflict => "conflict",
            Self::PartsRejected(_) => "parts_rejected",
        }
    }
}

/// One object in a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedObject {
    /// Full key.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// Last modification time.
    pub last_modified: Option<DateTime<Utc>>,
}

/// One page of a delimited listing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListPage {
    /// Objects directly under the prefix.
    pub objects: Vec<ListedObject>,
    /// Common prefixes ("folders") directly under the prefix, each ending with `/`.
    pub folders: Vec<String>,
    /// The continuation token of the next page.
    pub next_token: Option<String>,
}

/// How to reach S3 for the calls that need it.
#[derive(Debug, Clone)]
pub struct S3Settings {
    /// Region.
    pub region: Region,
    /// Endpoint.
    pub endpoint: Endpoint,
    /// Force path-style addressing.
    pub path_style: bool,
    /// Timeout of each whole operation, retries included.
    pub operation_timeout: Duration,
}

/// The SDK client, built by the first S3 call: building it reads and parses the system's root
/// certificates (some 20 million instructions, tens of milliseconds on a busy core), which
/// `serve` should not wait for before it answers `/readyz`: grants sign locally. Nor is it
/// built ahead on a thread of its own: a broker that only grants never calls S3, and the
/// client's code (the SDK, rustls, hyper, h2) and certificates would add about 2 MiB to its
/// resident set for nothing (doc/benchmarks.md, "Resident memory").
type LazyClient = LazyLock<aws_sdk_s3::Client, Box<dyn FnOnce() -> aws_sdk_s3::Client + Send>>;

/// An aws-sdk-s3 client configured from [`S3Settings`].
#[derive(Debug, Clone)]
pub struct S3Client {
    client: Arc<LazyClient>,
    /// The configured bound of one operation, retries included (for CompleteMultipartUpload,
    /// of the wait for S3 to start answering).
    pub(crate) operation_timeout: Duration,
    /// Counts and times every call (`s3_broker_s3_requests_total`).
    calls: S3Calls,
    /// Where the calls' credentials come from: the grants' source, so both share one window.
    credentials: CredentialSource,
}

impl S3Client {
    /// Builds a client that draws credentials from `credentials`: the same source, margin,
    /// single flight and backoff as grants. The SDK's own identity cache is off, so it never
    /// keeps credentials past what the source allows.
    pub fn new(settings: &S3Settings, credentials: &CredentialSource) -> Self {
        let mut config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new(
                settings.region.as_str().to_owned(),
            ))
            .credentials_provider(credentials.sdk_provider())
            .identity_cache(aws_sdk_s3::config::IdentityCache::no_cache())
            .force_path_style(settings.path_style || settings.endpoint.host_is_ip())
            // Checksums only where S3 requires them: the broker's calls carry no object bytes,
            // and S3-compatible stores differ in the checksum headers they accept.
            .request_checksum_calculation(
                aws_sdk_s3::config::RequestChecksumCalculation::WhenRequired,
            )
            .response_checksum_validation(
                aws_sdk_s3::config::ResponseChecksumValidation::WhenRequired,
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(3))
                    .operation_timeout(settings.operation_timeout)
                    .build(),
            );
        if let Endpoint::Custom { scheme, host, port } = &settings.endpoint {
            let url = match port {
                Some(port) => format!("{}://{host}:{port}", scheme.as_str()),
                None => format!("{}://{host}", scheme.as_str()),
            };
            config = config.endpoint_url(url);
        }
        let config = config.build();
        let client: Arc<LazyClient> = Arc::new(LazyLock::new(Box::new(move || {
            aws_sdk_s3::Client::from_conf(config)
        })));
        Self {
            client,
            operation_timeout: settings.operation_timeout,
            calls: S3Calls::detached(),
            credentials: credentials.clone(),
        }
    }

    /// The SDK client (built here on first use).
    pub(crate) fn client(&self) -> &aws_sdk_s3::Client {
        &self.client
    }

    /// Records every call in `calls` (a service's [`crate::telemetry::Metrics`]).
    pub fn with_metrics(mut self, calls: S3Calls) -> Self {
        self.calls = calls;
        self
    }

    /// Awaits one SDK call, classifies its error and records its outcome and duration under
    /// `operation` (the S3 API name, e.g. `ListParts`). Without usable credentials the call is
    /// not made ([`S3Error::Credentials`]): S3 would refuse it, and the cause is the broker's
    /// credentials, not S3.
    pub(crate) async fn timed<T, E>(
        &self,
        operation: &'static str,
        call: impl std::future::Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    ) -> Result<T, S3Error>
    where
        E: std::error::Error + aws_sdk_s3::error::ProvideErrorMetadata + Send + Sync + 'static,
    {
        self.credentials.current(Utc::now()).await?;
        let started = std::time::Instant::now();
        let result = call.await.map_err(classify);
        let outcome = match &result {
            Ok(_) => "ok",
            Err(err) => err.kind(),
        };
        self.calls.record(operation, outcome, started.elapsed());
        result
    }

    /// Lists one page under `prefix` with delimiter `/` (ListObjectsV2).
    ///
    /// See <https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html>
    pub async fn list_page(
        &self,
        bucket: &BucketName,
        prefix: &str,
        continuation: Option<String>,
        max_keys: i32,
    ) -> Result<ListPage, S3Error> {
        let output = self
            .client()
            .list_objects_v2()
            .bucket(bucket.as_str())
            .prefix(prefix)
            .delimiter("/")
            .max_keys(max_keys)
            .set_continuation_token(continuation)
            .send();
        let output = self.timed("ListObjectsV2", output).await?;
        let objects = output
            .contents()
            .iter()
            .filter_map(|o| {
                Some(ListedObject {
                    key: o.key()?.to_owned(),
                    size: u64::try_from(o.size().unwrap_or(0)).unwrap_or(0),
                    last_modified: o
                        .last_modified()
                        .and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos())),
                })
            })
            .collect();
        let folders = output
            .common_prefixes()
            .iter()
            .filter_map(|p| p.prefix().map(str::to_owned))
            .collect();
        let next_token = if output.is_truncated().unwrap_or(false) {
            output.next_continuation_token().map(str::to_owned)
        } else {
            None
        };
        Ok(ListPage {
            objects,
            folders,
            next_token,
        })
    }
}

/// Timeouts, connection failures and 5xx are "unavailable"; the multipart outcomes a client
/// caused get their own variants; other service errors are refusals.
pub(crate) fn classify<E>(err: aws_sdk_s3::error::SdkError<E, HttpResponse>) -> S3Error
where
    E: std::error::Error + aws_sdk_s3::error::ProvideErrorMetadata + Send + Sync + 'static,
{
    use aws_sdk_s3::error::DisplayErrorContext;
    let message = DisplayErrorContext(&err).to_string();
    match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            S3Error::Unavailable(message)
        }
        SdkError::ServiceError(service) => {
            let status = service.raw().status();
            match (status.as_u16(), service.err().code()) {
                (_, Some("NoSuchUpload")) => S3Error::NoSuchUpload,
                // HeadObject's 404 (its answer has no body; the SDK names it `NotFound`). Not
                // `NoSuchKey`: Ceph answers ListParts of an aborted upload with it.
                (404, Some("NotFound")) => S3Error::NoSuchKey,
                (404, code) if code != Some("NoSuchBucket") => S3Error::NoSuchUpload,
                (412, _) | (_, Some("PreconditionFailed")) => S3Error::PreconditionFailed,
                (409, _) | (_, Some("ConditionalRequestConflict")) => S3Error::Conflict,
                (
                    _,
                    Some(
                        code @ ("InvalidPart" | "InvalidPartOrder" | "EntityTooSmall" | "BadDigest"
                        | "InvalidDigest"),
                    ),
                ) => S3Error::PartsRejected(code.to_owned()),
                _ if status.is_server_error() => S3Error::Unavailable(message),
                _ => S3Error::Refused(message),
            }
        }
        _ => S3Error::Refused(message),
    }
}

/// Wraps domain credentials as an SDK credentials provider (static credentials).
pub fn static_provider(credentials: &Credentials) -> SharedCredentialsProvider {
    SharedCredentialsProvider::new(credential_source::sdk_credentials(credentials))
}
