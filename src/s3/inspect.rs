//! Read-only calls that inspect a bucket's setup for `s3-broker doctor`: HeadBucket (with the
//! server's `Date` header, to measure clock skew), a one-key listing, GetBucketCors,
//! GetBucketLifecycleConfiguration, GetBucketPolicy and GetPublicAccessBlock. The service never
//! makes these calls.
//!
//! Answers are turned into plain values ([`CorsRule`], [`LifecycleRule`],
//! [`PublicAccessBlock`]), so that judging
//! them needs no SDK type, and failures into an [`InspectError`] that keeps S3's error code
//! and HTTP status (what an operator needs to fix the setup) but not S3's message.

use super::S3Client;
use crate::domain::BucketName;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::interceptors::BeforeDeserializationInterceptorContextRef;
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_s3::error::{BoxError, ProvideErrorMetadata, SdkError};
use chrono::{DateTime, Utc};
use std::sync::{Arc, Mutex};

/// Why an inspection call gave no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InspectError {
    /// The store does not implement the call (`501` or code `NotImplemented`), as some
    /// S3-compatible servers answer for bucket configuration calls.
    #[error("not implemented by this store")]
    NotImplemented,
    /// S3 answered with an error status.
    #[error("{}", refusal_text(*status, code.as_deref()))]
    Refused {
        /// The HTTP status.
        status: u16,
        /// S3's error code (`NoSuchBucket`, `AccessDenied`, `InvalidAccessKeyId`...);
        /// `None` for HEAD requests, whose error responses have no body.
        code: Option<String>,
    },
    /// No answer: connection refused, timeout, no credentials to sign with.
    #[error("no answer from S3: {0}")]
    Unreachable(String),
}

fn refusal_text(status: u16, code: Option<&str>) -> String {
    match code {
        Some(code) => format!("{code} (HTTP {status})"),
        None => format!("HTTP {status}"),
    }
}

impl InspectError {
    /// S3's error code, if it sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Refused { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// The HTTP status, if S3 answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Refused { status, .. } => Some(*status),
            Self::NotImplemented => Some(501),
            Self::Unreachable(_) => None,
        }
    }
}

/// When a request was sent and answered, and the server's `Date` header of the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerTime {
    /// The server's clock (second resolution).
    pub server: DateTime<Utc>,
    /// The local clock when the request was sent.
    pub sent: DateTime<Utc>,
    /// The local clock when the answer arrived.
    pub received: DateTime<Utc>,
}

impl ServerTime {
    /// How far the server's clock is ahead of the local one (negative: behind), judged at
    /// the middle of the round trip.
    pub fn skew(&self) -> chrono::Duration {
        let midpoint = self.sent + (self.received - self.sent) / 2;
        self.server - midpoint
    }
}

/// What HeadBucket said, and the server's time from the answer (error answers carry a `Date`
/// header too, so a request refused for skew still measures it).
#[derive(Debug, Clone)]
pub struct BucketProbe {
    /// `Ok` when the bucket exists and the credentials may use it.
    pub result: Result<(), InspectError>,
    /// The server's time, when an answer with a `Date` header arrived.
    pub time: Option<ServerTime>,
}

/// One CORS rule of a bucket, as S3 returned it.
///
/// See <https://docs.aws.amazon.com/AmazonS3/latest/API/API_CORSRule.html>
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorsRule {
    /// `AllowedOrigins` (each may hold one `*` wildcard).
    pub allowed_origins: Vec<String>,
    /// `AllowedMethods`: `GET`, `PUT`, `POST`, `DELETE`, `HEAD`.
    pub allowed_methods: Vec<String>,
    /// `AllowedHeaders` (each may hold one `*` wildcard).
    pub allowed_headers: Vec<String>,
    /// `ExposeHeaders`.
    pub expose_headers: Vec<String>,
}

/// One lifecycle rule of a bucket, reduced to what matters for incomplete multipart uploads.
///
/// See <https://docs.aws.amazon.com/AmazonS3/latest/API/API_LifecycleRule.html>
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecycleRule {
    /// `ID`, if any.
    pub id: Option<String>,
    /// `Status` is `Enabled`.
    pub enabled: bool,
    /// The key prefix the rule applies to (`""`: the whole bucket); `None` when its filter
    /// also selects by tag or size, so it does not cover every upload under a prefix.
    pub prefix: Option<String>,
    /// `AbortIncompleteMultipartUpload.DaysAfterInitiation`.
    pub abort_incomplete_after_days: Option<i32>,
}

/// Keeps the `Date` header of the last response of one operation.
#[derive(Debug, Default, Clone)]
struct DateCapture(Arc<Mutex<Option<DateTime<Utc>>>>);

impl DateCapture {
    fn get(&self) -> Option<DateTime<Utc>> {
        self.0.lock().ok().and_then(|slot| *slot)
    }
}

impl Intercept for DateCapture {
    fn name(&self) -> &'static str {
        "s3-broker-doctor-date-capture"
    }

    fn read_before_deserialization(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let date = context
            .response()
            .headers()
            .get("date")
            .and_then(parse_http_date);
        if let (Some(date), Ok(mut slot)) = (date, self.0.lock()) {
            *slot = Some(date);
        }
        Ok(())
    }
}

/// Parses an HTTP `Date` (IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`).
fn parse_http_date(value: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc2822(value.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The status and code of a failed call; `NotImplemented` for 501 or that code.
fn inspect_error<E>(err: SdkError<E, HttpResponse>) -> InspectError
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
{
    match &err {
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let code = service.err().code().map(str::to_owned);
            if status == 501 || code.as_deref() == Some("NotImplemented") {
                InspectError::NotImplemented
            } else {
                InspectError::Refused { status, code }
            }
        }
        _ => InspectError::Unreachable(aws_sdk_s3::error::DisplayErrorContext(&err).to_string()),
    }
}

impl S3Client {
    /// HeadBucket: whether `bucket` exists and these credentials may use it, plus the
    /// server's `Date`. The answer to a HEAD has no body, so a refusal has a status but no
    /// code. Needs `s3:ListBucket` on the bucket.
    ///
    /// See <https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadBucket.html>
    pub async fn probe_bucket(&self, bucket: &BucketName) -> BucketProbe {
        let capture = DateCapture::default();
        let sent = Utc::now();
        let result = self
            .client()
            .head_bucket()
            .bucket(bucket.as_str())
            .customize()
            .interceptor(capture.clone())
            .send()
            .await
            .map(|_| ())
            .map_err(inspect_error);
        let received = Utc::now();
        BucketProbe {
            result,
            time: capture.get().map(|server| ServerTime {
                server,
                sent,
                received,
            }),
        }
    }

    /// ListObjectsV2 of at most one key under `prefix`: the listing the broker makes, so it
    /// works under a least-privilege policy that allows `s3:ListBucket` only with the
    /// profiles' prefixes, and its error answers carry S3's error code.
    ///
    /// See <https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html>
    pub async fn probe_listing(
        &self,
        bucket: &BucketName,
        prefix: &str,
    ) -> Result<(), InspectError> {
        self.client()
            .list_objects_v2()
            .bucket(bucket.as_str())
            .prefix(prefix)
            .delimiter("/")
            .max_keys(1)
            .send()
            .await
            .map(|_| ())
            .map_err(inspect_error)
    }

    /// GetBucketCors: the bucket's CORS rules; none when it has no CORS configuration
    /// (`NoSuchCORSConfiguration`). Needs `s3:GetBucketCORS`.
    ///
    /// See <https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketCors.html>
    pub async fn bucket_cors(&self, bucket: &BucketName) -> Result<Vec<CorsRule>, InspectError> {
        match self
            .client()
            .get_bucket_cors()
            .bucket(bucket.as_str())
            .send()
            .await
        {
            Ok(output) => Ok(output
                .cors_rules()
                .iter()
                .map(|rule| CorsRule {
                    allowed_origins: rule.allowed_origins().to_vec(),
                    allowed_methods: rule.allowed_methods().to_vec(),
                    allowed_headers: rule.allowed_headers().to_vec(),
                    expose_headers: rule.expose_headers().to_vec(),
                })
                .collect()),
            Err(err) => match inspect_error(err) {
                e if e.code() == Some("NoSuchCORSConfiguration") => Ok(Vec::new()),
                e => Err(e),
            },
        }
    }

    /// GetBucketLifecycleConfiguration: the bucket's lifecycle rules; none when it has no
    /// lifecycle configuration (`NoSuchLifecycleConfiguration`). Needs
    /// `s3:GetLifecycleConfiguration`.
    ///
    /// See <https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketLifecycleConfiguration.html>
    pub async fn bucket_lifecycle(
        &self,
        bucket: &BucketName,
    ) -> Result<Vec<LifecycleRule>, InspectError> {
        match self
            .client()
            .get_bucket_lifecycle_configuration()
            .bucket(bucket.as_str())
            .send()
            .await
        {
            Ok(output) => Ok(output.rules().iter().map(lifecycle_rule).collect()),
            Err(err) => match inspect_error(err) {
                e if e.code() == Some("NoSuchLifecycleConfiguration") => Ok(Vec::new()),
                e => Err(e),
            },
        }
    }
}

impl S3Client {
    /// GetBucketPolicy: the bucket policy's JSON text; `None` when the bucket has none
    /// (`NoSuchBucketPolicy`). Needs `s3:GetBucketPolicy`.
    ///
    /// See <https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketPolicy.html>
    pub async fn bucket_policy(&self, bucket: &BucketName) -> Result<Option<String>, InspectError> {
        match self
            .client()
            .get_bucket_policy()
            .bucket(bucket.as_str())
            .send()
            .await
        {
            Ok(output) => Ok(output.policy().map(str::to_owned)),
            Err(err) => match inspect_error(err) {
                e if e.code() == Some("NoSuchBucketPolicy") => Ok(None),
                e => Err(e),
            },
        }
    }
}

/// A bucket's S3 Block Public Access settings, as GetPublicAccessBlock returned them (a
/// setting S3 left out is off).
///
/// See <https://docs.aws.amazon.com/AmazonS3/latest/API/API_PublicAccessBlockConfiguration.html>
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PublicAccessBlock {
    /// `BlockPublicAcls`: requests that set a public ACL (canned or explicit) are refused.
    pub block_public_acls: bool,
    /// `IgnorePublicAcls`: public ACLs on the bucket and its objects grant nothing.
    pub ignore_public_acls: bool,
    /// `BlockPublicPolicy`: a public bucket policy is refused.
    pub block_public_policy: bool,
    /// `RestrictPublicBuckets`: a public bucket policy grants only to AWS services and the
    /// bucket owner's account.
    pub restrict_public_buckets: bool,
}

impl S3Client {
    /// GetPublicAccessBlock: the bucket's Block Public Access settings; `None` when the bucket
    /// has none (`NoSuchPublicAccessBlockConfiguration`). Needs
    /// `s3:GetBucketPublicAccessBlock`.
    ///
    /// See <https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetPublicAccessBlock.html>
    pub async fn public_access_block(
        &self,
        bucket: &BucketName,
    ) -> Result<Option<PublicAccessBlock>, InspectError> {
        match self
            .client()
            .get_public_access_block()
            .bucket(bucket.as_str())
            .send()
            .await
        {
            Ok(output) => {
                Ok(output
                    .public_access_block_configuration()
                    .map(|c| PublicAccessBlock {
                        block_public_acls: c.block_public_acls().unwrap_or(false),
                        ignore_public_acls: c.ignore_public_acls().unwrap_or(false),
                        block_public_policy: c.block_public_policy().unwrap_or(false),
                        restrict_public_buckets: c.restrict_public_buckets().unwrap_or(false),
                    }))
            }
            Err(err) => {
                // Ceph radosgw 16 answers 200 with the root element misnamed
                // `BlockPublicAccessBlockConfiguration`, which the SDK does not parse.
                if let SdkError::ServiceError(service) = &err
                    && service.raw().status().is_success()
                    && let Some(block) = service
                        .raw()
                        .body()
                        .bytes()
                        .and_then(parse_public_access_block)
                {
                    return Ok(Some(block));
                }
                match inspect_error(err) {
                    e if e.code() == Some("NoSuchPublicAccessBlockConfiguration") => Ok(None),
                    e => Err(e),
                }
            }
        }
    }
}

/// The settings of a `...PublicAccessBlockConfiguration` XML document, whatever its root is
/// called; `None` when the text is no such document.
fn parse_public_access_block(body: &[u8]) -> Option<PublicAccessBlock> {
    let text = std::str::from_utf8(body).ok()?;
    if !text.contains("PublicAccessBlockConfiguration>") {
        return None;
    }
    let setting = |name: &str| {
        let open = format!("<{name}>");
        let start = text.find(&open)? + open.len();
        let end = start + text[start..].find(&format!("</{name}>"))?;
        Some(text[start..end].trim().eq_ignore_ascii_case("true"))
    };
    Some(PublicAccessBlock {
        block_public_acls: setting("BlockPublicAcls").unwrap_or(false),
        ignore_public_acls: setting("IgnorePublicAcls").unwrap_or(false),
        block_public_policy: setting("BlockPublicPolicy").unwrap_or(false),
        restrict_public_buckets: setting("RestrictPublicBuckets").unwrap_or(false),
    })
}

/// Reduces an SDK rule: its prefix (from `Filter`, `Filter.And` or the legacy `Prefix`), and
/// `None` as prefix when tags or sizes narrow it further.
fn lifecycle_rule(rule: &aws_sdk_s3::types::LifecycleRule) -> LifecycleRule {
    let prefix = match rule.filter() {
        Some(filter) if filter.tag().is_some() => None,
        Some(filter)
            if filter.object_size_greater_than().is_some()
                || filter.object_size_less_than().is_some() =>
        {
            None
        }
        Some(filter) => match filter.and() {
            Some(and)
                if !and.tags().is_empty()
                    || and.object_size_greater_than().is_some()
                    || and.object_size_less_than().is_some() =>
            {
                None
            }
            Some(and) => Some(and.prefix().unwrap_or_default().to_owned()),
            None => Some(filter.prefix().unwrap_or_default().to_owned()),
        },
        // Rules written before `Filter` existed carry a top-level `Prefix`, which S3 still
        // returns for them.
        #[allow(deprecated)]
        None => Some(rule.prefix().unwrap_or_default().to_owned()),
    };
    LifecycleRule {
        id: rule.id().map(str::to_owned),
        enabled: *rule.status() == aws_sdk_s3::types::ExpirationStatus::Enabled,
        prefix,
        abort_incomplete_after_days: rule
            .abort_incomplete_multipart_upload()
            .and_then(|a| a.days_after_initiation()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceph_public_access_blocks_parse_despite_their_root() {
        let ceph =
            b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><BlockPublicAccessBlockConfiguration>\
            <BlockPublicAcls>false</BlockPublicAcls><IgnorePublicAcls>true</IgnorePublicAcls>\
            <BlockPublicPolicy>true</BlockPublicPolicy><RestrictPublicBuckets>false\
            </RestrictPublicBuckets></BlockPublicAccessBlockConfiguration>";
        assert_eq!(
            parse_public_access_block(ceph),
            Some(PublicAccessBlock {
                block_public_acls: false,
                ignore_public_acls: true,
                block_public_policy: true,
                restrict_public_buckets: false,
            })
        );
        let partial =
            b"<PublicAccessBlockConfiguration><IgnorePublicAcls> TRUE </IgnorePublicAcls>\
            </PublicAccessBlockConfiguration>";
        assert_eq!(
            parse_public_access_block(partial),
            Some(PublicAccessBlock {
                ignore_public_acls: true,
                ..PublicAccessBlock::default()
            })
        );
        assert_eq!(
            parse_public_access_block(b"<Error><Code>x</Code></Error>"),
            None
        );
        assert_eq!(parse_public_access_block(&[0xff, 0xfe]), None);
    }

    #[test]
    fn http_dates_parse() {
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some("1994-11-06T08:49:37Z".parse().unwrap())
        );
        assert_eq!(parse_http_date("yesterday"), None);
    }

    #[test]
    fn skew_is_judged_at_the_middle_of_the_round_trip() {
        let sent: DateTime<Utc> = "2030-01-01T00:00:00Z".parse().unwrap();
        let time = ServerTime {
            server: sent + chrono::Duration::seconds(91),
            sent,
            received: sent + chrono::Duration::seconds(2),
        };
        assert_eq!(time.skew(), chrono::Duration::seconds(90));
    }

    #[test]
    fn lifecycle_rules_keep_only_plain_prefixes() {
        use aws_sdk_s3::types::{
            AbortIncompleteMultipartUpload, ExpirationStatus, LifecycleRuleFilter, Tag,
        };
        let abort = AbortIncompleteMultipartUpload::builder()
            .days_after_initiation(7)
            .build();
        let whole = aws_sdk_s3::types::LifecycleRule::builder()
            .status(ExpirationStatus::Enabled)
            .filter(LifecycleRuleFilter::builder().prefix("").build())
            .abort_incomplete_multipart_upload(abort.clone())
            .build()
            .unwrap();
        assert_eq!(
            lifecycle_rule(&whole),
            LifecycleRule {
                id: None,
                enabled: true,
                prefix: Some(String::new()),
                abort_incomplete_after_days: Some(7),
            }
        );
        let tagged = aws_sdk_s3::types::LifecycleRule::builder()
            .status(ExpirationStatus::Disabled)
            .filter(
                LifecycleRuleFilter::builder()
                    .tag(Tag::builder().key("k").value("v").build().unwrap())
                    .build(),
            )
            .build()
            .unwrap();
        let reduced = lifecycle_rule(&tagged);
        assert_eq!((reduced.enabled, reduced.prefix), (false, None));
    }
}
