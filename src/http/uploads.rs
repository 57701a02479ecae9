//! `POST /v1/uploads`: a PUT or POST grant for one file, with key, size, type, checksum,
//! encryption, metadata and no-overwrite bound into the signature. The body is the policy's
//! [`UploadIntent`] itself (unknown fields refused).

use super::extractors::JsonBody;
use super::grant::{
    JsonObject, granted, json_grant_response, requested_expiry, signing_now, signing_window,
};
use super::{ApiError, AppState, GrantAdmission, GrantAudit, Grantee};
use crate::domain::{GrantId, Principal};
use crate::grants::{GrantKind, post_request, put_request};
use crate::multipart::{UploadTokenFields, UploadTokenSeal, extension_of};
use crate::policy::{
    SSE_C_KEY_FIELD, SSE_C_KEY_HEADER, UploadDecision, UploadIntent, UploadMethod,
};
use crate::sigv4::{FormField, PostForm, PresignedRequest, SignedHeaders};
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use futures_util::future::{Either, Ready, ready};
use std::future::Future;
use uuid::Uuid;

/// A PUT or POST grant, borrowed from the decision and the signer's output and written
/// straight into the answer's buffer ([`UploadGrant::to_json`]). Its fields, in the order of
/// the JSON object:
struct UploadGrant<'a> {
    /// `PUT` or `POST`.
    method: UploadMethod,
    /// Where to send the bytes.
    url: &'a str,
    /// PUT: headers to send with exactly these values (sorted by name, as signed).
    headers: Option<&'a SignedHeaders>,
    /// POST: form fields to send in order, then the file as the last field `file`.
    fields: Option<&'a [FormField]>,
    /// PUT with SSE-C: headers the client adds with values only it knows (the
    /// `x-amz-server-side-encryption-customer-key`). Not in `headers`, which holds exactly
    /// the values to send; not signed, so the broker never needs them.
    client_headers: Option<&'a [&'static str]>,
    /// POST with SSE-C: fields the client adds (after `fields`, before the file) with values
    /// only it knows; the policy covers each with `starts-with ""`.
    client_fields: Option<&'a [&'static str]>,
    /// The object key.
    key: &'a str,
    /// The bucket.
    bucket: &'a str,
    /// When the grant stops working.
    expires_at: DateTime<Utc>,
    /// The server's clock, so clients can detect skew.
    server_time: DateTime<Utc>,
    /// The sealed upload token that `POST /v1/uploads/verify` takes once the bytes are sent,
    /// sealed straight into the answer.
    upload: &'a UploadTokenSeal<'a>,
}

impl<'a> UploadGrant<'a> {
    /// A PUT grant: the presigned URL and the headers to send with it.
    fn put(
        decision: &'a UploadDecision,
        presigned: &'a PresignedRequest,
        now: DateTime<Utc>,
        upload: &'a UploadTokenSeal<'a>,
    ) -> Self {
        Self {
            method: UploadMethod::Put,
            url: &presigned.url,
            headers: Some(&presigned.headers),
            fields: None,
            client_headers: decision
                .client_supplies_key()
                .then_some(&[SSE_C_KEY_HEADER][..]),
            client_fields: None,
            key: decision.key.as_str(),
            bucket: decision.bucket.as_str(),
            expires_at: presigned.expires_at,
            server_time: now,
            upload,
        }
    }

    /// A POST grant: the form's URL and fields, and the fields only the client knows.
    fn post(
        decision: &'a UploadDecision,
        form: &'a PostForm,
        client_fields: &'a [&'static str],
        now: DateTime<Utc>,
        upload: &'a UploadTokenSeal<'a>,
    ) -> Self {
        Self {
            method: UploadMethod::Post,
            url: &form.url,
            headers: None,
            fields: Some(&form.fields),
            client_headers: None,
            client_fields: (!client_fields.is_empty()).then_some(client_fields),
            key: decision.key.as_str(),
            bucket: decision.bucket.as_str(),
            expires_at: form.expires_at,
            server_time: now,
            upload,
        }
    }

    /// The JSON answer; fields that do not apply are left out.
    fn to_json(&self) -> Vec<u8> {
        // The URL and the token are most of it; 512 bytes hold the rest of a PUT's answer.
        let mut out = Vec::with_capacity(self.url.len() + self.upload.max_len() + 512);
        let mut object = JsonObject::open(&mut out);
        object
            .str("method", self.method.as_str())
            .str("url", self.url);
        if let Some(headers) = self.headers {
            object.token_map("headers", headers.iter());
        }
        if let Some(fields) = self.fields {
            object.str_map(
                "fields",
                fields.iter().map(|f| (f.name.as_str(), f.value.as_str())),
            );
        }
        if let Some(names) = self.client_headers {
            object.str_array("client_headers", names.iter().copied());
        }
        if let Some(names) = self.client_fields {
            object.str_array("client_fields", names.iter().copied());
        }
        object
            .str("key", self.key)
            .str("bucket", self.bucket)
            .time("expires_at", &self.expires_at)
            .time("server_time", &self.server_time)
            .plain_str_with("upload", |out| self.upload.write_to(out));
        object.finish();
        out
    }
}

/// The token of `decision`'s grant: what verify compares S3's object with, valid as long
/// as a multipart ticket (`[multipart] ticket_ttl_secs`), so the upload can finish first.
/// Borrowed from the decision: sealing copies nothing.
fn upload_token<'a>(
    state: &AppState,
    principal: &'a Principal,
    decision: &'a UploadDecision,
    extension: Option<&'a str>,
    grant_id: &'a GrantId,
    now: DateTime<Utc>,
) -> UploadTokenFields<'a> {
    UploadTokenFields {
        principal: &principal.segment,
        profile: &decision.profile,
        bucket: &decision.bucket,
        key: &decision.key,
        size: Some(decision.size),
        content_type: &decision.content_type,
        checksum: decision.checksum.as_ref(),
        extension,
        grant_id: grant_id.as_str(),
        expires_at: now + state.ticket_ttl,
    }
}

/// The handler: intent → decide, at once; the rest, which may wait (the grant's admission with
/// a shared limits store, the credentials), is the future of [`grant_upload`]. That future
/// holds the decision but not the body it came from: actix-web moves a handler's future into
/// a box and again at each await, so every byte it holds is copied per request. For the same
/// reason the intent (about 300 bytes) comes boxed: actix moves an extractor's output through
/// several futures before the handler sees it.
pub(super) fn create_upload(
    state: web::Data<AppState>,
    Grantee(principal, admission): Grantee,
    JsonBody(mut intent): JsonBody<Box<UploadIntent>>,
) -> Either<
    Ready<Result<HttpResponse, ApiError>>,
    impl Future<Output = Result<HttpResponse, ApiError>>,
> {
    let now = signing_now();
    match decide(&state, &principal, &mut intent, now) {
        Ok(decision) => Either::Right(grant_upload(state, principal, admission, decision, now)),
        Err(refusal) => Either::Left(ready(Err(refusal))),
    }
}

/// What the policy decides for `intent` by `principal` at `now`; the decision takes the
/// intent's file name and content type rather than copying them (the intent is dropped next).
fn decide(
    state: &AppState,
    principal: &Principal,
    intent: &mut UploadIntent,
    now: DateTime<Utc>,
) -> Result<UploadDecision, ApiError> {
    let requested = requested_expiry(intent.expires_in)?;
    let profile = state.profiles.profile(intent.profile.as_deref())?;
    Ok(profile.decide_upload_taking(
        principal,
        intent,
        state.backend,
        Uuid::new_v4(),
        now,
        requested,
    )?)
}

/// The grant of `decision`: admit → signing window → build → sign → render.
///
/// An `async` block rather than an `async fn`: an `async fn` keeps its arguments twice in its
/// future (as captured and as local variables), about 500 bytes more to copy here.
#[allow(
    clippy::manual_async_fn,
    reason = "an async fn would hold its arguments twice"
)]
fn grant_upload(
    state: web::Data<AppState>,
    principal: Principal,
    admission: GrantAdmission,
    decision: UploadDecision,
    now: DateTime<Utc>,
) -> impl Future<Output = Result<HttpResponse, ApiError>> {
    async move {
        let (who, size) = (&principal.segment, Some(decision.size));
        admission
            .grant(&state.limits, who, &decision.profile, size)
            .await?;
        let (credentials, expires) = signing_window(&state, decision.lifetime, None, now).await?;
        // One id for the URL (or form), the token, the receipt and the audit event.
        let grant_id = GrantId::new();
        let extension = extension_of(decision.filename.as_str());
        let upload = state.tickets.upload_seal(&upload_token(
            &state,
            &principal,
            &decision,
            extension.as_deref(),
            &grant_id,
            now,
        ));
        let (body, kind, expires_at) = match decision.method {
            UploadMethod::Put => {
                let put = put_request(&decision, expires, &grant_id)?;
                let presigned = state.signer.presign(&credentials, &put, now)?;
                (
                    UploadGrant::put(&decision, &presigned, now, &upload).to_json(),
                    GrantKind::PutObject,
                    presigned.expires_at,
                )
            }
            UploadMethod::Post => {
                let client_fields: &[&'static str] = if decision.client_supplies_key() {
                    &[SSE_C_KEY_FIELD]
                } else {
                    &[]
                };
                let post = post_request(&decision, expires, &grant_id);
                let form = state.signer.post_policy_with_client_fields(
                    &credentials,
                    &post,
                    client_fields,
                    now,
                )?;
                (
                    UploadGrant::post(&decision, &form, client_fields, now, &upload).to_json(),
                    GrantKind::PostObject,
                    form.expires_at,
                )
            }
        };
        state.audit.grant(
            &principal.segment,
            &GrantAudit::one(
                kind,
                &decision.profile,
                &decision.bucket,
                decision.key.as_str(),
                &grant_id,
                expires_at,
            ),
        );
        Ok(granted(json_grant_response(body), kind, 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;
    use std::collections::BTreeMap;

    /// The answer as it was serialized before `to_json`: the reference for its bytes.
    #[derive(Serialize)]
    struct SerdeGrant {
        method: UploadMethod,
        url: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        headers: Option<BTreeMap<String, String>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        fields: Option<serde_json::Map<String, serde_json::Value>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        client_headers: Option<Vec<&'static str>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        client_fields: Option<Vec<&'static str>>,
        key: String,
        bucket: String,
        expires_at: DateTime<Utc>,
        server_time: DateTime<Utc>,
        upload: String,
    }

    fn serde_form(grant: &UploadGrant<'_>) -> String {
        serde_json::to_string(&SerdeGrant {
            method: grant.method,
            url: grant.url.to_owned(),
            headers: grant.headers.map(|h| h.clone().into_iter().collect()),
            fields: grant.fields.map(|f| {
                f.iter()
                    .map(|f| (f.name.clone(), serde_json::Value::String(f.value.clone())))
                    .collect()
            }),
            client_headers: grant.client_headers.map(<[_]>::to_vec),
            client_fields: grant.client_fields.map(<[_]>::to_vec),
            key: grant.key.to_owned(),
            bucket: grant.bucket.to_owned(),
            expires_at: grant.expires_at,
            server_time: grant.server_time,
            upload: {
                let mut token = Vec::new();
                grant.upload.write_to(&mut token);
                String::from_utf8(token).unwrap()
            },
        })
        .unwrap()
    }

    /// The size of the future `handler` returns, without calling it.
    fn future_size<A, B, C, F: Fn(A, B, C) -> Fut, Fut>(_handler: F) -> usize {
        std::mem::size_of::<Fut>()
    }

    #[test]
    fn the_handler_future_holds_neither_the_body_nor_the_store_calls() {
        // actix-web copies a handler's future into a box and moves it at its awaits. Holding
        // the request body, the limits store's and token verification's futures and its
        // arguments twice (an `async fn`), it was 2,536 bytes; without them, 840.
        let size = future_size(create_upload);
        assert!(size <= 1_000, "create_upload's future is {size} bytes");
    }

    #[test]
    fn the_answer_is_byte_for_byte_the_serde_form() {
        let now = DateTime::from_timestamp(1_777_636_800, 0).unwrap();
        let headers = SignedHeaders::new()
            .with("content-length", "1024")
            .and_then(|h| h.with("content-type", "text/plain; charset=\"utf-8\""))
            .and_then(|h| h.with("if-none-match", "*"))
            .unwrap();
        let fields = vec![
            FormField {
                name: "key".into(),
                value: "users/al\u{e9}/x y.txt".into(),
            },
            FormField {
                name: "policy".into(),
                value: "eyJ=".into(),
            },
        ];
        let keys = crate::multipart::TicketKeys::new(vec![(
            crate::multipart::TicketKeyId::new("k").unwrap(),
            vec![7; 32],
        )])
        .unwrap();
        let (segment, bucket) = (
            crate::domain::NamespaceSegment::for_subject(None, "alice"),
            crate::domain::BucketName::new("uploads").unwrap(),
        );
        let (key, content_type) = (
            crate::domain::ObjectKey::new("users/a/x y.txt").unwrap(),
            crate::domain::ContentType::new("text/plain").unwrap(),
        );
        let upload = keys.upload_seal(&UploadTokenFields {
            principal: &segment,
            profile: "p",
            bucket: &bucket,
            key: &key,
            size: Some(1024),
            content_type: &content_type,
            checksum: None,
            extension: Some("txt"),
            grant_id: "0b5c2b1e-6a0f-4f5e-9d43-3f1f0c9b8a11",
            expires_at: now,
        });
        let put = UploadGrant {
            method: UploadMethod::Put,
            url: "https://b.s3.us-east-1.amazonaws.com/users/a/x%20y.txt?X-Amz-Date=1&b=%2F",
            headers: Some(&headers),
            fields: None,
            client_headers: None,
            client_fields: None,
            key: "users/a/x y.txt",
            bucket: "b",
            expires_at: now + chrono::Duration::seconds(900),
            server_time: now,
            upload: &upload,
        };
        let sse_c = UploadGrant {
            client_headers: Some(&[SSE_C_KEY_HEADER]),
            ..put
        };
        let post = UploadGrant {
            method: UploadMethod::Post,
            url: "https://b.s3.us-east-1.amazonaws.com/",
            headers: None,
            fields: Some(&fields),
            client_fields: Some(&[SSE_C_KEY_FIELD]),
            key: "users/al\u{e9}/\"q\"\\.txt",
            ..put
        };
        for grant in [put, sse_c, post] {
            assert_eq!(
                String::from_utf8(grant.to_json()).unwrap(),
                serde_form(&grant)
            );
        }
    }
}
