//! A decided download → a presigned GetObject that signs the response overrides (the
//! disposition and, when the stored type must not be trusted, the type) and the SSE-C
//! headers.
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html>

use super::{BuildError, attribute_url, sign_decided};
use crate::domain::{Expiry, GrantId};
use crate::policy::DownloadDecision;
use crate::sigv4::{PresignRequest, S3Operation};

/// GetObject with the signed `response-content-disposition` (and `response-content-type`
/// when decided) query parameters, encryption headers and the `grant` id, valid for
/// `expires`.
pub fn get_request(
    decision: &DownloadDecision,
    expires: Expiry,
    grant: &GrantId,
) -> Result<PresignRequest, BuildError> {
    let mut get = PresignRequest::new(
        S3Operation::GetObject,
        decision.bucket.clone(),
        decision.key.clone(),
        expires,
    );
    get.query.insert(
        "response-content-disposition",
        &decision.content_disposition,
    )?;
    if let Some(content_type) = &decision.response_content_type {
        get.query.insert("response-content-type", content_type)?;
    }
    sign_decided(
        &mut get.headers,
        decision.encryption_headers.iter().map(|(n, v)| (n, v)),
    )?;
    attribute_url(&mut get, grant)?;
    Ok(get)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grants::test_support::{MD5, alice, profile};
    use crate::policy::{Disposition, DownloadIntent};

    fn query(request: &PresignRequest) -> Vec<(&str, &str)> {
        request.query.iter().collect()
    }

    #[test]
    fn binds_the_decided_disposition_and_type() {
        let profile = profile("allow_inline = true");
        let key = format!("{}a.html", profile.namespace(&alice()).prefix());
        let decision = profile
            .decide_download(
                &alice(),
                &DownloadIntent {
                    key,
                    disposition: Some(Disposition::Inline),
                    ..DownloadIntent::default()
                },
                None,
            )
            .unwrap();
        let grant = GrantId::new();
        let get = get_request(&decision, Expiry::from_secs(60).unwrap(), &grant).unwrap();
        assert_eq!(get.operation, S3Operation::GetObject);
        assert_eq!(get.key, decision.key);
        assert_eq!(
            query(&get),
            [
                (
                    "response-content-disposition",
                    decision.content_disposition.as_str()
                ),
                ("response-content-type", "application/octet-stream"),
            ]
        );
        assert_eq!(get.grant, Some(grant));
        assert_eq!(get.headers.iter().count(), 0);
    }

    #[test]
    fn sse_c_signs_the_algorithm_and_key_md5() {
        let profile = profile("server_side_encryption = \"SSE-C\"");
        let key = format!("{}a.txt", profile.namespace(&alice()).prefix());
        let decision = profile
            .decide_download(
                &alice(),
                &DownloadIntent {
                    key,
                    sse_customer_key_md5: Some(MD5.into()),
                    ..DownloadIntent::default()
                },
                None,
            )
            .unwrap();
        let get = get_request(&decision, Expiry::MAX, &GrantId::new()).unwrap();
        let headers: Vec<(&str, &str)> = get.headers.iter().collect();
        assert_eq!(
            headers,
            [
                ("x-amz-server-side-encryption-customer-algorithm", "AES256"),
                ("x-amz-server-side-encryption-customer-key-md5", MD5),
            ]
        );
    }
}
