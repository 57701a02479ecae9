//! S3 refuses a presigned URL whose `X-Amz-Expires` is over 604,800 seconds (7 days) with 400
//! `AuthorizationQueryParametersError`; s3s-fs 0.14.1 accepts it. The embedded store refuses
//! it first.
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html>
//! (`X-Amz-Expires`: "minimum value you can set is 1, and the maximum is 604800").

use super::s3_error::s3_error;
use http::StatusCode;

/// The longest lifetime of a presigned URL, in seconds.
const MAX_EXPIRES_SECS: u64 = 604_800;

/// S3's refusal of a presigned request whose `X-Amz-Expires` is out of 1..=604800, if it is.
pub(super) fn refusal<B>(req: &http::Request<B>) -> Option<http::Response<s3s::Body>> {
    let query = req.uri().query()?;
    let expires = url::form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == "X-Amz-Expires")?
        .1;
    let fits = expires
        .parse::<u64>()
        .is_ok_and(|secs| (1..=MAX_EXPIRES_SECS).contains(&secs));
    (!fits).then(|| {
        s3_error(
            StatusCode::BAD_REQUEST,
            "AuthorizationQueryParametersError",
            "X-Amz-Expires must be less than a week (in seconds) that is; 604800",
            &[],
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(query: &str) -> http::Request<()> {
        http::Request::get(format!("http://s/b/k?{query}"))
            .body(())
            .unwrap()
    }

    #[test]
    fn seven_days_is_the_longest_lifetime() {
        assert!(refusal(&get("X-Amz-Expires=604800&X-Amz-Signature=a")).is_none());
        assert!(refusal(&get("X-Amz-Expires=1")).is_none());
        assert!(refusal(&get("partNumber=1")).is_none());
        for bad in ["604801", "0", "-1", "x"] {
            let refused = refusal(&get(&format!("X-Amz-Expires={bad}"))).expect("refused");
            assert_eq!(refused.status(), 400, "{bad}");
        }
    }
}
