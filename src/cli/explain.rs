//! `s3-broker explain URL`: decode a presigned URL without any secret.
//!
//! Parameters: <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html>

use super::CliError;
use super::args::ExplainArgs;
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use serde::Serialize;

/// What a presigned URL says about itself. The signature and any session token are not
/// repeated: only whether they are present.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    /// The operation, or the candidates when the method is not encoded in the URL.
    pub operation: String,
    /// Bucket, when it can be told from the host or path.
    pub bucket: Option<String>,
    /// The decoded object key.
    pub key: Option<String>,
    /// `virtual-hosted` or `path`.
    pub addressing: &'static str,
    /// `scheme://host[:port]`.
    pub endpoint: String,
    /// The access key id (public; it is in the URL).
    pub access_key_id: String,
    /// `date/region/service/aws4_request`.
    pub credential_scope: String,
    /// The region of the scope.
    pub region: String,
    /// Whether the URL carries a session token (temporary credentials).
    pub session_token: bool,
    /// Headers the client must send (all signed headers except host).
    pub headers_to_send: Vec<String>,
    /// Extra signed query parameters, decoded (SigV4 ones excluded).
    pub query: Vec<(String, String)>,
    /// When it was signed.
    pub signed_at: DateTime<Utc>,
    /// `X-Amz-Expires` in seconds.
    pub expires_in: i64,
    /// When it stops working (earlier if temporary credentials expire first).
    pub expires_at: DateTime<Utc>,
    /// Whether it had expired at the time of the check.
    pub expired: bool,
    /// Whether it was signed after the time of the check (S3 refuses it until then).
    pub not_yet_valid: bool,
}

impl Explanation {
    /// Whether S3 would accept the URL at the time of the check (as far as time goes).
    pub fn is_current(&self) -> bool {
        !self.expired && !self.not_yet_valid
    }
}

/// Runs `explain` and renders text or JSON, with whether the URL is current at that time.
pub(super) fn run(args: ExplainArgs) -> Result<(String, bool), CliError> {
    let explanation = explain_url(&args.url, args.at.unwrap_or_else(Utc::now))?;
    let current = explanation.is_current();
    if args.json {
        return Ok((super::to_pretty_json(&explanation), current));
    }
    Ok((render_text(&explanation), current))
}

/// Decodes a SigV4 presigned URL, judging expiry as of `now`.
pub fn explain_url(raw: &str, now: DateTime<Utc>) -> Result<Explanation, CliError> {
    let not = |why: &str| CliError::NotPresigned(why.to_owned());
    let url = url::Url::parse(raw.trim()).map_err(|e| not(&format!("cannot parse URL: {e}")))?;
    let params: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if get("AWSAccessKeyId").is_some() && get("X-Amz-Algorithm").is_none() {
        return Err(not(
            "this is a SigV2 URL (AWSAccessKeyId/Signature), which S3 is retiring",
        ));
    }
    let algorithm = get("X-Amz-Algorithm").ok_or_else(|| not("no X-Amz-Algorithm parameter"))?;
    if algorithm != "AWS4-HMAC-SHA256" {
        return Err(not(&format!("unsupported algorithm {algorithm:?}")));
    }
    for required in ["X-Amz-Signature", "X-Amz-SignedHeaders"] {
        get(required).ok_or_else(|| not(&format!("no {required} parameter")))?;
    }
    let credential = get("X-Amz-Credential").ok_or_else(|| not("no X-Amz-Credential parameter"))?;
    let (access_key_id, scope) = credential
        .split_once('/')
        .ok_or_else(|| not("X-Amz-Credential is not AKID/scope"))?;
    let scope_parts: Vec<&str> = scope.split('/').collect();
    if scope_parts.len() != 4 || scope_parts[3] != "aws4_request" {
        return Err(not(
            "credential scope is not date/region/service/aws4_request",
        ));
    }
    let signed_at = NaiveDateTime::parse_from_str(
        get("X-Amz-Date").ok_or_else(|| not("no X-Amz-Date parameter"))?,
        "%Y%m%dT%H%M%SZ",
    )
    .map_err(|_| not("X-Amz-Date is not YYYYMMDDTHHMMSSZ"))?
    .and_utc();
    let expires_in: i64 = get("X-Amz-Expires")
        .ok_or_else(|| not("no X-Amz-Expires parameter"))?
        .parse()
        .map_err(|_| not("X-Amz-Expires is not a number"))?;
    let expires_at = signed_at + Duration::seconds(expires_in);
    let headers_to_send = get("X-Amz-SignedHeaders")
        .unwrap_or_default()
        .split(';')
        .filter(|h| !h.is_empty() && *h != "host")
        .map(str::to_owned)
        .collect();
    let query: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| !k.starts_with("X-Amz-"))
        .cloned()
        .collect();

    let host = url.host_str().unwrap_or_default().to_owned();
    let endpoint = match url.port() {
        Some(port) => format!("{}://{}:{}", url.scheme(), host, port),
        None => format!("{}://{}", url.scheme(), host),
    };
    let path = percent_encoding::percent_decode_str(url.path())
        .decode_utf8_lossy()
        .into_owned();
    let (addressing, bucket, key) = split_bucket_and_key(&host, &path);
    let has = |name: &str| query.iter().any(|(k, _)| k == name);
    Ok(Explanation {
        operation: operation_of(
            get("x-id"),
            has("uploads"),
            has("uploadId"),
            has("partNumber"),
        ),
        bucket,
        key,
        addressing,
        endpoint,
        access_key_id: access_key_id.to_owned(),
        credential_scope: scope.to_owned(),
        region: scope_parts[1].to_owned(),
        session_token: get("X-Amz-Security-Token").is_some(),
        headers_to_send,
        query,
        signed_at,
        expires_in,
        expires_at,
        expired: now >= expires_at,
        not_yet_valid: now < signed_at,
    })
}

/// Virtual-hosted on an AWS host (`bucket.s3.region.amazonaws.com`), else path-style.
fn split_bucket_and_key(host: &str, path: &str) -> (&'static str, Option<String>, Option<String>) {
    let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    let aws_virtual = host
        .find(".s3.")
        .or_else(|| host.find(".s3-"))
        .filter(|_| host.ends_with(".amazonaws.com") || host.ends_with(".amazonaws.com.cn"));
    match aws_virtual {
        Some(end) => (
            "virtual-hosted",
            Some(host[..end].to_owned()),
            non_empty(path.strip_prefix('/').unwrap_or(path)),
        ),
        None => {
            let rest = path.strip_prefix('/').unwrap_or(path);
            let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
            ("path", non_empty(bucket), non_empty(key))
        }
    }
}

fn operation_of(x_id: Option<&str>, uploads: bool, upload_id: bool, part_number: bool) -> String {
    if let Some(id) = x_id {
        return id.to_owned();
    }
    match (uploads, upload_id, part_number) {
        (true, _, _) => "CreateMultipartUpload (POST)".into(),
        (_, true, true) => "UploadPart (PUT)".into(),
        (_, true, false) => {
            "CompleteMultipartUpload (POST), ListParts (GET) or AbortMultipartUpload (DELETE): the method is not part of the URL".into()
        }
        _ => "GetObject, HeadObject, PutObject or DeleteObject: the method is not part of the URL"
            .into(),
    }
}

fn render_text(e: &Explanation) -> String {
    let none = || "-".to_owned();
    let mut out = String::new();
    let mut line = |label: &str, value: String| out.push_str(&format!("{label:<18} {value}\n"));
    line("operation:", e.operation.clone());
    line("bucket:", e.bucket.clone().unwrap_or_else(none));
    line("key:", e.key.clone().unwrap_or_else(none));
    line("addressing:", e.addressing.to_owned());
    line("endpoint:", e.endpoint.clone());
    line("access key id:", e.access_key_id.clone());
    line("credential scope:", e.credential_scope.clone());
    line(
        "session token:",
        if e.session_token {
            "present (temporary credentials: the URL dies with them)"
        } else {
            "none"
        }
        .to_owned(),
    );
    line(
        "headers to send:",
        if e.headers_to_send.is_empty() {
            none()
        } else {
            e.headers_to_send.join(", ")
        },
    );
    for (k, v) in &e.query {
        line("signed parameter:", format!("{k}={v}"));
    }
    line("signed at:", e.signed_at.to_rfc3339());
    line("expires in:", format!("{} s", e.expires_in));
    line("expires at:", e.expires_at.to_rfc3339());
    let status = if e.expired {
        "EXPIRED"
    } else if e.not_yet_valid {
        "NOT YET VALID (signed after the time of the check)"
    } else {
        "valid"
    };
    line("status:", status.to_owned());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC_URL: &str = "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";

    #[test]
    fn explains_the_aws_example() {
        let e = explain_url(DOC_URL, "2013-05-24T12:00:00Z".parse().unwrap()).unwrap();
        assert_eq!(e.bucket.as_deref(), Some("examplebucket"));
        assert_eq!(e.key.as_deref(), Some("test.txt"));
        assert_eq!(e.addressing, "virtual-hosted");
        assert_eq!(e.region, "us-east-1");
        assert_eq!(e.access_key_id, "AKIAIOSFODNN7EXAMPLE");
        assert_eq!(
            e.expires_at,
            "2013-05-25T00:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert!(!e.expired);
        assert!(e.headers_to_send.is_empty());
        let later = explain_url(DOC_URL, "2013-05-25T00:00:00Z".parse().unwrap()).unwrap();
        assert!(later.expired);
        assert!(
            !render_text(&e).contains("aeeed9bb"),
            "never repeat the signature"
        );
    }

    #[test]
    fn explains_path_style_multipart_urls() {
        let url = "http://127.0.0.1:9000/bkt/a%20b/%C3%BC.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20240101%2Fgarage%2Fs3%2Faws4_request&X-Amz-Date=20240101T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=content-length%3Bhost&X-Amz-Security-Token=tok&partNumber=3&uploadId=xyz&X-Amz-Signature=00";
        let e = explain_url(url, "2024-01-01T00:00:30Z".parse().unwrap()).unwrap();
        assert_eq!(e.addressing, "path");
        assert_eq!(e.bucket.as_deref(), Some("bkt"));
        assert_eq!(e.key.as_deref(), Some("a b/ü.txt"));
        assert_eq!(e.operation, "UploadPart (PUT)");
        assert_eq!(e.headers_to_send, ["content-length"]);
        assert!(e.session_token);
        assert_eq!(e.endpoint, "http://127.0.0.1:9000");
        assert!(!format!("{e:?}").contains("tok&"));
    }

    #[test]
    fn refuses_what_is_not_a_sigv4_url() {
        let now = Utc::now();
        assert!(explain_url("not a url", now).is_err());
        assert!(explain_url("https://b.s3.amazonaws.com/k", now).is_err());
        assert!(
            explain_url(
                "https://b.s3.amazonaws.com/k?AWSAccessKeyId=A&Signature=x&Expires=1",
                now
            )
            .is_err()
        );
        let broken = DOC_URL.replace("X-Amz-Date=20130524T000000Z", "X-Amz-Date=yesterday");
        assert!(explain_url(&broken, now).is_err());
    }
}
