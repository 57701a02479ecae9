//! `POST /v1/uploads`: a PUT or POST grant for one file, with key, size, type, checksum,
//! encryption, metadata and no-overwrite bound into the signature. The body is the policy's
//! [`UploadIntent`] itself (unknown fields refused).

use super::extractors::JsonBody;
use super::grant::{
    JsonObject, granted, json_grant_response, requested_expiry, signing_now, signing_window,
    signing_window_now,
};
use super::{ApiError, AppState, GrantAdmission, GrantAudit, Grantee};
use crate::domain::{BucketName, Credentials, Expiry, GrantId, Principal};
use crate::grants::{GrantKind, post_request, put_request};
use crate::multipart::{UploadTokenFields, UploadTokenSeal, extension_of};
use crate::policy::{
    SSE_C_KEY_FIELD, SSE_C_KEY_HEADER, UploadDecision, UploadIntent, UploadMethod,
};
use crate::sigv4::{FormField, PostForm, PresignedRequest, SignedHeaders};
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use futures_util::future::{Either, LocalBoxFuture, Ready, ready};
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
    /// The bucket (a `BucketName`: written without an escape scan).
    bucket: &'a BucketName,
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
            bucket: &decision.bucket,
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
            bucket: &decision.bucket,
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
        // The method is a fixed word and a bucket name holds lowercase letters, digits, dots
        // and hyphens (`BucketName`): neither needs an escape.
        object
            .plain_str("method", self.method.as_str())
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
            .plain_str("bucket", self.bucket.as_str())
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

/// The handler's answer: ready, or a boxed future when it waits.
type Answer = Either<
    Ready<Result<HttpResponse, ApiError>>,
    LocalBoxFuture<'static, Result<HttpResponse, ApiError>>,
>;

/// The handler: intent → decide → admit → signing window → build → sign → render, at once
/// when nothing has to be waited for (the memory store or no limits, and cached
/// credentials; with a shared limits store every grant waits, and its future is boxed once
/// more). What may wait (the grant's admission with a shared limits store, a credential
/// fetch) is the boxed future of [`grant_upload`] or [`sign_upload`]. actix-web moves a
/// handler's future into a box and again at each await, so every byte it holds is copied per
/// request: the answer at once is a ready response, and the decision, the principal and the
/// store's calls are held only by a future that waits. For the same reason the intent (about
/// 300 bytes) comes boxed: actix moves an extractor's output through several futures before
/// the handler sees it.
pub(super) fn create_upload(
    state: web::Data<AppState>,
    grantee: Grantee,
    body: JsonBody<Box<UploadIntent>>,
) -> Answer {
    create_upload_at(state, grantee, body, signing_now())
}

/// [`create_upload`] signing at `now`.
fn create_upload_at(
    state: web::Data<AppState>,
    Grantee(principal, admission): Grantee,
    JsonBody(mut intent): JsonBody<Box<UploadIntent>>,
    now: DateTime<Utc>,
) -> Answer {
    let decision = match decide(&state, &principal, &mut intent, now) {
        Ok(decision) => decision,
        Err(refusal) => return Either::Left(ready(Err(refusal))),
    };
    drop(intent);
    let (who, size) = (&principal.segment, Some(decision.size));
    match admission.grant_now(&state.limits, who, &decision.profile, size) {
        Some(Ok(())) => {}
        Some(Err(refusal)) => return Either::Left(ready(Err(refusal))),
        None => {
            return Either::Right(Box::pin(grant_upload(
                state, principal, admission, decision, now,
            )));
        }
    }
    match signing_window_now(&state, decision.lifetime, None, now) {
        Some(window) => Either::Left(ready(window.and_then(|(credentials, expires)| {
            answer(&state, &principal, &decision, &credentials, expires, now)
        }))),
        None => Either::Right(Box::pin(sign_upload(state, principal, decision, now))),
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

/// The grant of `decision` when its admission waits for the store: admit → [`sign_upload`].
///
/// `async` blocks rather than `async fn`s: an `async fn` keeps its arguments twice in its
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
        sign_upload(state, principal, decision, now).await
    }
}

/// The grant of an admitted `decision`: signing window (which may wait for credentials) →
/// [`answer`].
#[allow(
    clippy::manual_async_fn,
    reason = "an async fn would hold its arguments twice"
)]
fn sign_upload(
    state: web::Data<AppState>,
    principal: Principal,
    decision: UploadDecision,
    now: DateTime<Utc>,
) -> impl Future<Output = Result<HttpResponse, ApiError>> {
    async move {
        let (credentials, expires) = signing_window(&state, decision.lifetime, None, now).await?;
        answer(&state, &principal, &decision, &credentials, expires, now)
    }
}

/// The answer granting an admitted `decision`, signed with `credentials`: build → sign →
/// render, and the audit event.
fn answer(
    state: &AppState,
    principal: &Principal,
    decision: &UploadDecision,
    credentials: &Credentials,
    expires: Expiry,
    now: DateTime<Utc>,
) -> Result<HttpResponse, ApiError> {
    // One id for the URL (or form), the token, the receipt and the audit event.
    let grant_id = GrantId::new();
    let extension = extension_of(decision.filename.as_str());
    let upload = state.tickets.upload_seal(&upload_token(
        state,
        principal,
        decision,
        extension.as_deref(),
        &grant_id,
        now,
    ));
    let (body, kind, expires_at) = match decision.method {
        UploadMethod::Put => {
            let put = put_request(decision, expires, &grant_id)?;
            let presigned = state.signer.presign(credentials, &put, now)?;
            (
                UploadGrant::put(decision, &presigned, now, &upload).to_json(),
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
            let post = post_request(decision, expires, &grant_id);
            let form = state.signer.post_policy_with_client_fields(
                credentials,
                &post,
                client_fields,
                now,
            )?;
            (
                UploadGrant::post(decision, &form, client_fields, now, &upload).to_json(),
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
            bucket: grant.bucket.as_str().to_owned(),
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
        // arguments twice (an `async fn`), it was 2,536 bytes; without them, 840; a ready
        // answer or a boxed future that waits, about 150.
        let size = future_size(create_upload);
        assert!(size <= 256, "create_upload's future is {size} bytes");
    }

    /// The answer without what differs between two grants of one intent: the key's unique
    /// part (in the key and the URL's path), the signature and the grant id in the URL's
    /// query, and the sealed token. Kept: the URL's host and the rest of its query, the
    /// headers, the times, the method and the bucket.
    fn comparable(response: &[u8]) -> serde_json::Value {
        let mut answer: serde_json::Value = serde_json::from_slice(response).unwrap();
        let url = answer["url"].as_str().unwrap();
        let host = url.split('/').take(3).collect::<Vec<_>>().join("/");
        let (_, query) = url.split_once('?').unwrap();
        let query: Vec<&str> = query
            .split('&')
            .filter(|pair| {
                !pair.starts_with("X-Amz-Signature=")
                    && !pair.starts_with(&format!("{}=", GrantId::QUERY_PARAM))
            })
            .collect();
        assert!(query.iter().any(|p| p.starts_with("X-Amz-Credential=")));
        answer["url"] = format!("{host}?{}", query.join("&")).into();
        answer["key"] = answer["key"].as_str().map(|k| k.ends_with(".txt")).into();
        answer["upload"] = answer["upload"].as_str().map(|t| !t.is_empty()).into();
        answer
    }

    #[actix_web::test]
    async fn the_answer_at_once_is_the_waiting_paths() {
        let policies = tempfile::tempdir().unwrap();
        std::fs::write(
            policies.path().join("default.toml"),
            include_str!("../../policies/default.toml"),
        )
        .unwrap();
        let settings = crate::config::ConfigBuilder::new()
            .store("us-east-1", "bench", "http://127.0.0.1:9")
            .static_credentials("AKIATEST000000000000", "test-secret-access-key-0123456789")
            .hs256(
                "https://issuer.test/",
                "s3-broker",
                "test-hs256-secret-0123456789abcdef",
            )
            .set(
                "policies",
                "dir",
                policies.path().to_string_lossy().as_ref(),
            )
            .set("policies", "default_profile", "default")
            .settings()
            .unwrap();
        let state = web::Data::new(crate::app::build_state(&settings).await.unwrap());
        let principal = Principal::new(
            "alice",
            Some("https://issuer.test/".into()),
            crate::domain::Scopes::all(),
        );
        let now = signing_now();
        let intent: UploadIntent = serde_json::from_str(
            r#"{"filename":"load.txt","content_type":"text/plain","size":1024}"#,
        )
        .unwrap();
        let decision = decide(&state, &principal, &mut intent.clone(), now).unwrap();
        // At the test's `now`, as the waiting path below: a second that ticks over between
        // two readings of the clock would change the answer's times.
        let at_once = create_upload_at(
            state.clone(),
            Grantee(principal.clone(), GrantAdmission::made()),
            JsonBody(Box::new(intent)),
            now,
        );
        assert!(
            matches!(at_once, Either::Left(_)),
            "no limits and fixed credentials need no wait"
        );
        let at_once = at_once.await.unwrap();
        // The futures that wait hold the decision and the principal, not the body or the
        // store's calls (boxed when they wait). With them, the handler's future was 2,536
        // bytes; these are about 1,200 and 900 in a test build.
        let signing = sign_upload(state.clone(), principal.clone(), decision.clone(), now);
        let size = std::mem::size_of_val(&signing);
        assert!(size <= 1024, "sign_upload's future is {size} bytes");
        let signed = signing.await.unwrap();
        let waiting = grant_upload(state, principal, GrantAdmission::made(), decision, now);
        let size = std::mem::size_of_val(&waiting);
        assert!(size <= 1536, "grant_upload's future is {size} bytes");
        let waited = waiting.await.unwrap();
        assert_eq!(signed.status(), waited.status());
        assert_eq!(at_once.status(), waited.status());
        assert_eq!(at_once.headers().len(), waited.headers().len());
        for (name, value) in waited.headers() {
            assert_eq!(at_once.headers().get(name), Some(value), "{name}");
        }
        let (at_once, waited) = (
            actix_web::body::to_bytes(at_once.into_body())
                .await
                .unwrap(),
            actix_web::body::to_bytes(waited.into_body()).await.unwrap(),
        );
        assert_eq!(comparable(&at_once), comparable(&waited));
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
            bucket: &bucket,
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
