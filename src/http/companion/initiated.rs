//! `POST /s3/initiated?upload=`: where Uppy 6 sends its CreateMultipartUpload request when
//! `POST /s3/sign` answered it with the broker's own URL. The broker has already created the
//! upload itself (so S3's upload id never reaches the client); this route answers S3's
//! `InitiateMultipartUploadResult` XML with the sealed upload id in `UploadId`, which Uppy
//! reads and names in every later `signRequest`. No `Authorization` header, like
//! `/s3/complete`: the route makes no S3 call and tells the holder of the sealed id nothing it
//! does not already hold.
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateMultipartUpload.html>.

use super::xml_answer::xml_answer;
use crate::http::grant::signing_now;
use crate::http::{ApiError, AppState};
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

/// The query: the sealed upload id.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct InitiatedQuery {
    /// From `POST /s3/sign`.
    pub upload: String,
}

/// S3's answer to CreateMultipartUpload, which Uppy reads `UploadId` from.
#[derive(Debug, Serialize)]
#[serde(rename = "InitiateMultipartUploadResult", rename_all = "PascalCase")]
struct InitiateResultXml<'a> {
    bucket: &'a str,
    key: &'a str,
    upload_id: &'a str,
}

/// The handler: the sealed id must be genuine and unexpired (else 403 `invalid_ticket` or
/// `ticket_expired`).
pub(super) async fn initiated(
    state: web::Data<AppState>,
    query: web::Query<InitiatedQuery>,
) -> Result<HttpResponse, ApiError> {
    let upload = state
        .tickets
        .open_uppy_upload(&query.upload, signing_now())?;
    xml_answer(
        &InitiateResultXml {
            bucket: upload.bucket.as_str(),
            key: upload.key.as_str(),
            upload_id: &query.upload,
        },
        "initiate result",
    )
}
