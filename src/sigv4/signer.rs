//! The signer: ties addressing, the canonical request, the string to sign and the cached
//! signing key together into presigned URLs and signed POST forms.

use super::canonical_request::sha256_hex;
use super::post_policy::{MAX_SINGLE_UPLOAD_BYTES, validate_field, validate_prefix};
use super::string_to_sign::string_to_sign;
use super::time::within_four_digit_years;
use super::{
    ALGORITHM, CanonicalRequest, ContentTypeRule, CredentialScope, FormField, KeyRule,
    PolicyCondition, PolicyDocument, PostForm, PostPolicyRequest, PresignRequest, PresignedRequest,
    SigningError, SigningKey, SigningKeyCache, SigningTime, SigningTrace, UNSIGNED_PAYLOAD,
    encode_query_component, resolve_bucket, resolve_object,
};
use crate::domain::{AddressingStyle, Credentials, Endpoint, Expiry, Region};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Duration, Utc};
use std::sync::Arc;

/// Signs S3 requests for one region and endpoint. Cheap to share; the daily signing keys of
/// every credential it sees are cached inside.
pub struct Signer {
    region: Region,
    endpoint: Endpoint,
    addressing: AddressingStyle,
    keys: SigningKeyCache,
}

/// What every signature of one request shares.
struct Context {
    time: SigningTime,
    scope: CredentialScope,
    key: Arc<SigningKey>,
    /// The real lifetime: the requested one, cut to the credentials' expiry.
    lifetime_secs: u32,
    /// Signing time plus the lifetime.
    expires_at: DateTime<Utc>,
}

impl Signer {
    /// A signer for `region` at `endpoint`, preferring `addressing`.
    pub fn new(region: Region, endpoint: Endpoint, addressing: AddressingStyle) -> Self {
        Self {
            region,
            endpoint,
            addressing,
            keys: SigningKeyCache::new(),
        }
    }

    /// The region in the credential scope.
    pub fn region(&self) -> &Region {
        &self.region
    }

    /// The endpoint requests go to.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    fn context(
        &self,
        credentials: &Credentials,
        at: DateTime<Utc>,
        expires: Expiry,
    ) -> Result<Context, SigningError> {
        let time = SigningTime::new(at).ok_or(SigningError::TimeOutOfRange(at))?;
        let mut lifetime_secs = expires.as_secs();
        if let Some(end) = credentials.expires_at {
            let left = (end - time.instant()).num_seconds();
            if left < 1 {
                return Err(SigningError::CredentialsExpired(end));
            }
            lifetime_secs = lifetime_secs.min(u32::try_from(left).unwrap_or(u32::MAX));
        }
        let end = time
            .instant()
            .checked_add_signed(Duration::seconds(i64::from(lifetime_secs)))
            .filter(|end| within_four_digit_years(*end))
            .ok_or(SigningError::TimeOutOfRange(at))?;
        let key = self.keys.get(
            &credentials.access_key_id,
            &credentials.secret_access_key,
            time.date(),
            time.date_stamp(),
            &self.region,
        );
        Ok(Context {
            scope: CredentialScope::new(&time, &self.region, "s3"),
            time,
            key,
            lifetime_secs,
            expires_at: end,
        })
    }

    /// Presigns a request. The URL's lifetime is the requested one, shortened when the
    /// credentials expire sooner; credentials already expired at `at` are refused.
    pub fn presign(
        &self,
        credentials: &Credentials,
        request: &PresignRequest,
        at: DateTime<Utc>,
    ) -> Result<PresignedRequest, SigningError> {
        self.presign_traced(credentials, request, at)
            .map(|(p, _)| p)
    }

    /// As [`Signer::presign`], also returning the intermediate texts.
    pub fn presign_traced(
        &self,
        credentials: &Credentials,
        request: &PresignRequest,
        at: DateTime<Utc>,
    ) -> Result<(PresignedRequest, SigningTrace), SigningError> {
        let ctx = self.context(credentials, at, request.expires)?;
        let address = resolve_object(
            &self.endpoint,
            &self.region,
            self.addressing,
            &request.bucket,
            &request.key,
        );

        let mut headers: Vec<(&str, &str)> = Vec::with_capacity(request.headers.len() + 1);
        headers.push(("host", &address.authority));
        headers.extend(request.headers.iter());
        headers.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let canonical_headers = CanonicalRequest {
            method: "",
            path: "",
            query: "",
            headers: &headers,
            payload_hash: "",
        };
        let signed_headers = canonical_headers.signed_headers();

        let mut query: Vec<(String, String)> = Vec::with_capacity(8);
        let mut push = |k: &str, v: &str| {
            query.push((encode_query_component(k), encode_query_component(v)));
        };
        push("X-Amz-Algorithm", ALGORITHM);
        push(
            "X-Amz-Credential",
            &ctx.scope.credential(&credentials.access_key_id),
        );
        push("X-Amz-Date", ctx.time.amz_date());
        push("X-Amz-Expires", &ctx.lifetime_secs.to_string());
        push("X-Amz-SignedHeaders", &signed_headers);
        if let Some(token) = &credentials.session_token {
            push("X-Amz-Security-Token", token.expose());
        }
        for (k, v) in request.operation.query() {
            push(k, &v);
        }
        for (k, v) in request.query.iter() {
            push(k, v);
        }
        query.sort_unstable();
        let mut canonical_query =
            String::with_capacity(query.iter().map(|(k, v)| k.len() + v.len() + 2).sum());
        for (i, (k, v)) in query.iter().enumerate() {
            if i > 0 {
                canonical_query.push('&');
            }
            canonical_query.push_str(k);
            canonical_query.push('=');
            canonical_query.push_str(v);
        }

        let method = request.operation.method();
        let canonical_request = CanonicalRequest {
            method: method.as_str(),
            path: &address.path,
            query: &canonical_query,
            headers: &headers,
            payload_hash: UNSIGNED_PAYLOAD,
        }
        .to_text();
        let string_to_sign = string_to_sign(&ctx.time, &ctx.scope, &sha256_hex(&canonical_request));
        let signature = ctx.key.sign(&string_to_sign);

        let url = format!(
            "{}://{}{}?{}&X-Amz-Signature={}",
            address.scheme.as_str(),
            address.authority,
            address.path,
            canonical_query,
            signature
        );
        let presigned = PresignedRequest {
            method,
            url,
            headers: request
                .headers
                .iter()
                .map(|(n, v)| (n.to_owned(), v.to_owned()))
                .collect(),
            signed_at: ctx.time.instant(),
            expires_at: ctx.expires_at,
        };
        let trace = SigningTrace {
            canonical_request,
            string_to_sign,
            signature,
        };
        Ok((presigned, trace))
    }

    /// Builds, encodes once and signs a POST policy, returning the form to send.
    ///
    /// Every returned field (except `policy` and `x-amz-signature`) is covered by a condition,
    /// and every condition except `bucket` (matched against the URL) and
    /// `content-length-range` (matched against the file) by a field.
    pub fn post_policy(
        &self,
        credentials: &Credentials,
        request: &PostPolicyRequest,
        at: DateTime<Utc>,
    ) -> Result<PostForm, SigningError> {
        let ctx = self.context(credentials, at, request.expires)?;
        let mut conditions = vec![PolicyCondition::Bucket(request.bucket.as_str().to_owned())];
        let mut fields: Vec<FormField> = Vec::with_capacity(request.fields.len() + 8);

        match &request.key {
            KeyRule::Exact(key) => {
                conditions.push(PolicyCondition::Exact {
                    field: "key".into(),
                    value: key.as_str().to_owned(),
                });
                push_field(&mut fields, "key", key.as_str());
            }
            KeyRule::Prefix(prefix) => {
                validate_prefix("key", prefix)?;
                conditions.push(PolicyCondition::StartsWith {
                    field: "key".into(),
                    prefix: prefix.clone(),
                });
                push_field(&mut fields, "key", &format!("{prefix}${{filename}}"));
            }
        }
        match &request.content_type {
            Some(ContentTypeRule::Exact(ct)) => {
                conditions.push(PolicyCondition::Exact {
                    field: "Content-Type".into(),
                    value: ct.as_str().to_owned(),
                });
                push_field(&mut fields, "Content-Type", ct.as_str());
            }
            Some(ContentTypeRule::Prefix(prefix)) => {
                validate_prefix("Content-Type", prefix)?;
                conditions.push(PolicyCondition::StartsWith {
                    field: "Content-Type".into(),
                    prefix: prefix.clone(),
                });
                push_field(&mut fields, "Content-Type", prefix);
            }
            None => {}
        }
        if let Some((min, max)) = request.size {
            if min > max || max > MAX_SINGLE_UPLOAD_BYTES {
                return Err(SigningError::SizeRange { min, max });
            }
            conditions.push(PolicyCondition::ContentLengthRange { min, max });
        }
        for (i, (name, value)) in request.fields.iter().enumerate() {
            validate_field(name, value, request.content_type.is_some())?;
            if request.fields[..i]
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(name))
            {
                return Err(SigningError::FormField {
                    name: name.clone(),
                    reason: "given twice",
                });
            }
            conditions.push(PolicyCondition::Exact {
                field: name.clone(),
                value: value.clone(),
            });
            push_field(&mut fields, name, value);
        }
        let credential = ctx.scope.credential(&credentials.access_key_id);
        let mut sigv4_fields = vec![
            ("x-amz-algorithm", ALGORITHM),
            ("x-amz-credential", credential.as_str()),
            ("x-amz-date", ctx.time.amz_date()),
        ];
        if let Some(token) = &credentials.session_token {
            sigv4_fields.push(("x-amz-security-token", token.expose()));
        }
        for (name, value) in sigv4_fields {
            conditions.push(PolicyCondition::Exact {
                field: name.into(),
                value: value.into(),
            });
            push_field(&mut fields, name, value);
        }

        let expires_at = ctx.expires_at;
        let document = PolicyDocument {
            expiration: expires_at,
            conditions,
        };
        let policy = STANDARD.encode(document.to_json());
        let signature = ctx.key.sign(&policy);
        push_field(&mut fields, "policy", &policy);
        push_field(&mut fields, "x-amz-signature", &signature);

        let address = resolve_bucket(
            &self.endpoint,
            &self.region,
            self.addressing,
            &request.bucket,
        );
        Ok(PostForm {
            url: format!(
                "{}://{}{}",
                address.scheme.as_str(),
                address.authority,
                address.path
            ),
            fields,
            expires_at,
        })
    }
}

fn push_field(fields: &mut Vec<FormField>, name: &str, value: &str) {
    fields.push(FormField {
        name: name.to_owned(),
        value: value.to_owned(),
    });
}
