//! The XML answers the broker gives in S3's place (`/s3/complete`, `/s3/initiated`): the
//! document after an XML declaration, `application/xml`, never cached.

use crate::http::ApiError;
use actix_web::HttpResponse;
use actix_web::http::header::{CACHE_CONTROL, ContentType};
use serde::Serialize;

/// `document` as S3 would send it; `what` names it in the log if it cannot be serialized.
pub(super) fn xml_answer(document: &impl Serialize, what: &str) -> Result<HttpResponse, ApiError> {
    let xml = quick_xml::se::to_string(document).map_err(|e| {
        tracing::error!(error = %e, "the {what} did not serialize");
        ApiError::internal()
    })?;
    Ok(HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, "no-store"))
        .content_type(ContentType::xml())
        .body(format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{xml}")))
}
