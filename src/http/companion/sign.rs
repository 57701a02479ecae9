//! `POST /s3/sign`: Uppy 6's `signRequest` contract. Uppy names the S3 call it is about to
//! make with typed fields (`method`, `key`, `uploadId`, `partNumber`, `contentType`); the
//! broker checks it against the caller's namespace and profile and signs only a request it
//! builds itself from those fields.
//!
//! - `PUT` without `uploadId` (PutObject): answered with a POST policy for a key the broker
//!   chooses (Uppy posts a form when `fields` are returned), since a PUT without a declared
//!   size could not bind one; the policy binds the type and the profile's size range. A
//!   backend without POST Object (R2, GCS) gets `400 method_not_supported`: no grant could
//!   bound the size there.
//! - `POST` without `uploadId` (CreateMultipartUpload): the broker creates the upload itself
//!   under a key it chooses (returned as `key`) and answers with its own
//!   `/s3/initiated?upload=` URL, where Uppy reads a sealed upload id instead of S3's
//!   (`owned.rs`), so that later calls can only name this upload with this key.
//! - `PUT` with `uploadId` and `partNumber` (UploadPart), `GET` (ListParts), `POST`
//!   (CompleteMultipartUpload, with `If-None-Match: *` for no-overwrite profiles, after
//!   checking the size of the parts S3 holds) and `DELETE` (AbortMultipartUpload) with
//!   `uploadId`: the caller's own keys, and sealed upload ids of that very key, only.
//! - `DELETE` without `uploadId` (DeleteObject): needs the `delete` scope.

use super::complete::{COMPLETE_URL_SECS, bound_digest};
use super::multipart::create_counted;
use super::owned::{
    OwnedUpload, content_type_or_default, last_segment, new_upload, single_upload_needs_post_object,
};
use crate::domain::{ObjectKey, PartNumber, Principal, Scope};
use crate::grants::{GrantKind, attribute_url, operation_grant_id};
use crate::http::form_grant::{decided_form, form_upload_token};
use crate::http::grant::{form_fields_json, grant_response, granted, signing_now, signing_window};
use crate::http::{ApiError, AppState, Code, GrantAdmission, GrantAudit, Grantee};
use crate::multipart::{CompletionGrant, DeclaredFile, NamedUpload, PartRange};
use crate::policy::{FormIntent, MultipartIntent, PolicyError, Profile};
use crate::sigv4::{PresignRequest, S3Operation, SignedHeaders};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

/// The request Uppy 6 hands to `signRequest`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct SignRequest {
    /// `PUT`, `POST`, `GET` or `DELETE`.
    pub method: String,
    /// The key Uppy generated (first calls) or the broker returned (later calls).
    pub key: String,
    /// S3's upload id, for multipart calls after create.
    pub upload_id: Option<String>,
    /// The part, for UploadPart.
    pub part_number: Option<u64>,
    /// The file's type, for PutObject.
    pub content_type: Option<String>,
}

/// What Uppy 6 expects back.
#[derive(Debug, Default, Serialize)]
pub(super) struct SignedRequest {
    /// The presigned URL (or the bucket URL of a POST form).
    pub url: String,
    /// The key the broker chose, when it chose one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Headers to send with exactly these values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, String>>,
    /// POST form fields (PutObject answered with a POST policy).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<serde_json::Map<String, serde_json::Value>>,
    /// For PutObject and CreateMultipartUpload, the sealed token for
    /// `POST /v1/uploads/verify` (an s3-broker addition: Uppy ignores it, the application's
    /// `signRequest` function can keep it). For a multipart upload it is the sealed upload id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upload: Option<String>,
}

/// The operations `signRequest` selects with `(method, uploadId, partNumber)`.
enum Operation {
    PutObject,
    CreateMultipart,
    DeleteObject,
    /// A call on an existing multipart upload (`uploadId` given).
    OnUpload(UploadCall),
}

/// The calls on an existing multipart upload.
enum UploadCall {
    Part(PartNumber),
    List,
    Complete,
    Abort,
}

impl Operation {
    /// The S3 operation the answer grants, for `s3_broker_grants_total`: PutObject is
    /// answered with a POST policy.
    fn granted(&self) -> GrantKind {
        match self {
            Operation::PutObject => GrantKind::PostObject,
            Operation::CreateMultipart => GrantKind::CreateMultipartUpload,
            Operation::DeleteObject => GrantKind::DeleteObject,
            Operation::OnUpload(UploadCall::Part(_)) => GrantKind::UploadPart,
            Operation::OnUpload(UploadCall::List) => GrantKind::ListParts,
            Operation::OnUpload(UploadCall::Complete) => GrantKind::CompleteMultipartUpload,
            Operation::OnUpload(UploadCall::Abort) => GrantKind::AbortMultipartUpload,
        }
    }
}

fn operation(request: &SignRequest) -> Result<Operation, ApiError> {
    let part = request
        .part_number
        .map(|n| PartRange::Any.part(n))
        .transpose()?;
    Ok(
        match (request.method.as_str(), request.upload_id.is_some(), part) {
            ("PUT", false, None) => Operation::PutObject,
            ("POST", false, None) => Operation::CreateMultipart,
            ("DELETE", false, None) => Operation::DeleteObject,
            ("PUT", true, Some(n)) => Operation::OnUpload(UploadCall::Part(n)),
            ("GET", true, None) => Operation::OnUpload(UploadCall::List),
            ("POST", true, None) => Operation::OnUpload(UploadCall::Complete),
            ("DELETE", true, None) => Operation::OnUpload(UploadCall::Abort),
            _ => {
                return Err(ApiError::new(
                    Code::UnsupportedOperation,
                    format!(
                        "no S3 operation is {} {}an upload id{}",
                        request.method,
                        if request.upload_id.is_some() {
                            "with "
                        } else {
                            "without "
                        },
                        if part.is_some() {
                            " and a part number"
                        } else {
                            ""
                        }
                    ),
                ));
            }
        },
    )
}

/// The handler. The request's admission (rate and revocation) is left to the grant of
/// PutObject and CreateMultipartUpload, which makes it together with the quotas in one round
/// trip to a shared store (see [`Grantee`]); the other operations, which debit no quota,
/// make it first.
pub(super) async fn sign(
    state: web::Data<AppState>,
    grantee: Grantee,
    req: HttpRequest,
    body: web::Json<SignRequest>,
) -> Result<HttpResponse, ApiError> {
    let request = body.into_inner();
    let operation = operation(&request)?;
    let Grantee(principal, admission) = &grantee;
    let answer = match &operation {
        Operation::PutObject => put_object(&state, &grantee, &request).await?,
        Operation::CreateMultipart => {
            let url = broker_url(&state, &req);
            create_multipart(&state, (principal, admission), &request, &url).await?
        }
        Operation::DeleteObject => {
            admission.make().await?;
            delete_object(&state, principal, &request).await?
        }
        Operation::OnUpload(call) => {
            admission.make().await?;
            upload_call(&state, principal, &request, call, || {
                broker_url(&state, &req)
            })
            .await?
        }
    };
    Ok(granted(grant_response(&answer), operation.granted(), 1))
}

/// A call on the caller's own multipart upload; `broker_url` is only needed (and computed)
/// for a completion.
async fn upload_call(
    state: &AppState,
    principal: &Principal,
    request: &SignRequest,
    call: &UploadCall,
    broker_url: impl FnOnce() -> String,
) -> Result<SignedRequest, ApiError> {
    let owned = OwnedUpload::check(
        state,
        principal,
        &request.key,
        request.upload_id.as_deref().unwrap_or_default(),
    )?;
    let upload_id = owned.upload_id.clone();
    let operation = match *call {
        UploadCall::Complete => {
            return completion_url(state, principal, owned, &broker_url()).await;
        }
        UploadCall::Part(part_number) => S3Operation::UploadPart {
            upload_id,
            part_number,
        },
        UploadCall::List => S3Operation::ListParts { upload_id },
        UploadCall::Abort => S3Operation::AbortMultipartUpload { upload_id },
    };
    presign(
        state,
        principal,
        operation,
        &owned.profile,
        &owned.key,
        SignedHeaders::new(),
    )
    .await
}

/// The configured public URL, else where this request reached the broker (behind a proxy:
/// its Forwarded / X-Forwarded-* headers). The URL goes back to this caller only.
fn broker_url(state: &AppState, req: &HttpRequest) -> String {
    state.public_url.clone().unwrap_or_else(|| {
        let info = req.connection_info();
        format!("{}://{}", info.scheme(), info.host())
    })
}

async fn put_object(
    state: &AppState,
    grantee: &Grantee,
    request: &SignRequest,
) -> Result<SignedRequest, ApiError> {
    let principal = &grantee.0;
    let now = signing_now();
    let intent = FormIntent {
        content_type: Some(content_type_or_default(request.content_type.as_deref())),
        filename: Some(last_segment(&request.key).to_owned()),
        ..FormIntent::default()
    };
    if !state.backend.supports_post_object() {
        return Err(single_upload_needs_post_object());
    }
    let profile = state.profiles.default_profile();
    let (decision, form) =
        decided_form(state, grantee, profile, &intent, now, None, Vec::new()).await?;
    let upload = form_upload_token(state, principal, (&decision, &form), now);
    let key = form
        .fields
        .iter()
        .find(|f| f.name == "key")
        .map(|f| f.value.clone());
    Ok(SignedRequest {
        url: form.url,
        key,
        fields: Some(form_fields_json(form.fields)),
        upload,
        ..SignedRequest::default()
    })
}

/// Presigns `operation` on `key` in `profile`'s bucket with `headers` and the operation's
/// grant id, for the profile's lifetime (capped by the credentials), and audits the grant.
async fn presign(
    state: &AppState,
    principal: &Principal,
    operation: S3Operation,
    profile: &Profile,
    key: &ObjectKey,
    headers: SignedHeaders,
) -> Result<SignedRequest, ApiError> {
    let now = signing_now();
    let (credentials, expires) = signing_window(state, profile.lifetime(None), None, now).await?;
    let grant_id = operation_grant_id(&operation);
    let kind = GrantKind::from(&operation);
    let mut presign =
        PresignRequest::new(operation, profile.bucket().clone(), key.clone(), expires);
    presign.headers = headers;
    attribute_url(&mut presign, &grant_id)?;
    let signed = state.signer.presign(&credentials, &presign, now)?;
    state.audit.grant(
        &principal.segment,
        &GrantAudit::one(
            kind,
            profile.name(),
            profile.bucket(),
            key.as_str(),
            &grant_id,
            signed.expires_at,
        ),
    );
    Ok(SignedRequest {
        url: signed.url,
        headers: (!signed.headers.is_empty()).then(|| signed.headers.into_iter().collect()),
        ..SignedRequest::default()
    })
}

/// CreateMultipartUpload: made by the broker itself, so that the client only ever holds the
/// sealed upload id; the answer points Uppy at `/s3/initiated`, which hands it over in S3's
/// XML.
async fn create_multipart(
    state: &AppState,
    (principal, admission): (&Principal, &GrantAdmission),
    request: &SignRequest,
    broker_url: &str,
) -> Result<SignedRequest, ApiError> {
    let profile = state.profiles.default_profile();
    let intent = MultipartIntent {
        filename: last_segment(&request.key).to_owned(),
        content_type: content_type_or_default(request.content_type.as_deref()),
        ..MultipartIntent::default()
    };
    let decision = profile.decide_multipart(
        principal,
        &intent,
        state.backend,
        Uuid::new_v4(),
        signing_now(),
    )?;
    let upload_id = create_counted(state, &principal.segment, admission, &decision).await?;
    let sealed = state.tickets.seal_uppy_upload(&new_upload(
        state,
        principal,
        profile,
        decision.key.clone(),
        upload_id,
        DeclaredFile::new(decision.content_type.clone(), &intent.filename),
    ));
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("upload", &sealed)
        .finish();
    Ok(SignedRequest {
        url: format!("{broker_url}/s3/initiated?{query}"),
        key: Some(decision.key.as_str().to_owned()),
        upload: Some(sealed),
        ..SignedRequest::default()
    })
}

async fn delete_object(
    state: &AppState,
    principal: &Principal,
    request: &SignRequest,
) -> Result<SignedRequest, ApiError> {
    if !principal.may(Scope::Delete) {
        return Err(PolicyError::InsufficientScope(Scope::Delete).into());
    }
    let key = ObjectKey::new(request.key.as_str())
        .map_err(|e| ApiError::new(Code::InvalidKey, format!("invalid key: {e}")))?;
    let profile = state.profiles.profile_for_key(principal, key.as_str())?;
    presign(
        state,
        principal,
        S3Operation::DeleteObject,
        profile,
        &key,
        SignedHeaders::new(),
    )
    .await
}

/// CompleteMultipartUpload: not a presigned S3 URL, with which any parts list could be
/// completed, but the broker's own `/s3/complete` URL, where it checks the parts before
/// completing. Uppy asks once every part is up; the grant binds exactly the parts S3 holds
/// now.
async fn completion_url(
    state: &AppState,
    principal: &Principal,
    owned: OwnedUpload,
    broker_url: &str,
) -> Result<SignedRequest, ApiError> {
    let held = state.s3.list_parts(owned.upload()).await?;
    let etags_bound = !held.is_empty() && held.iter().all(|p| p.etag.is_some());
    let quoted: Vec<(u16, String)> = held
        .iter()
        .map(|p| {
            let etag = p.etag().map(|e| e.as_str().to_owned()).unwrap_or_default();
            (p.part_number, etag)
        })
        .collect();
    let OwnedUpload {
        profile,
        key,
        upload_id,
        file,
        ..
    } = owned;
    let grant = CompletionGrant {
        parts_digest: bound_digest(quoted.iter().map(|(n, e)| (*n, e.as_str())), etags_bound),
        etags_bound,
        subject: Some(principal.subject.to_string()),
        upload: NamedUpload {
            principal: principal.segment.clone(),
            profile: profile.name().to_owned(),
            bucket: profile.bucket().clone(),
            key,
            upload_id,
            expires_at: signing_now() + chrono::Duration::seconds(COMPLETE_URL_SECS),
            file,
        },
    };
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant", &state.tickets.seal_completion(&grant))
        .finish();
    Ok(SignedRequest {
        url: format!("{broker_url}/s3/complete?{query}"),
        ..SignedRequest::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, upload_id: Option<&str>, part_number: Option<u64>) -> SignRequest {
        SignRequest {
            method: method.to_owned(),
            key: "k".to_owned(),
            upload_id: upload_id.map(str::to_owned),
            part_number,
            content_type: None,
        }
    }

    fn granted(method: &str, upload_id: Option<&str>, part: Option<u64>) -> &'static str {
        operation(&request(method, upload_id, part)).map_or("refused", |op| op.granted().name())
    }

    #[test]
    fn method_upload_id_and_part_select_the_operation() {
        assert_eq!(granted("PUT", None, None), "PostObject");
        assert_eq!(granted("POST", None, None), "CreateMultipartUpload");
        assert_eq!(granted("DELETE", None, None), "DeleteObject");
        assert_eq!(granted("PUT", Some("u"), Some(2)), "UploadPart");
        assert_eq!(granted("GET", Some("u"), None), "ListParts");
        assert_eq!(granted("POST", Some("u"), None), "CompleteMultipartUpload");
        assert_eq!(granted("DELETE", Some("u"), None), "AbortMultipartUpload");
    }

    #[test]
    fn other_combinations_are_refused_with_a_code() {
        for (method, upload_id, part, code) in [
            ("GET", None, None, Code::UnsupportedOperation),
            ("PUT", Some("u"), None, Code::UnsupportedOperation),
            ("PUT", None, Some(1), Code::UnsupportedOperation),
            ("HEAD", Some("u"), None, Code::UnsupportedOperation),
            ("PUT", Some("u"), Some(0), Code::InvalidPartNumbers),
            ("PUT", Some("u"), Some(10_001), Code::InvalidPartNumbers),
        ] {
            let err = operation(&request(method, upload_id, part)).err();
            assert_eq!(
                err.as_ref().map(ApiError::code),
                Some(code),
                "{method} {upload_id:?} {part:?}"
            );
        }
    }
}
