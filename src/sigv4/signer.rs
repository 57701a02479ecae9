//! The signer: ties addressing (`addressing.rs`), the query (`query.rs`), the canonical
//! request, the string to sign and the cached signing key together into presigned URLs, batches
//! of UploadPart URLs (`part_batch.rs`) and signed POST forms (`post_policy.rs`). It owns the
//! one thing every signature shares: the signing time, the daily key and the lifetime, cut to
//! the credentials' expiry.

use super::addressing::Host;
use super::canonical_request::HexDigest;
use super::post_policy::{SigV4Fields, conditions_and_fields, push_field};
use super::query::{SigV4Query, canonical_query, write_canonical_query};
use super::string_to_sign::string_to_sign;
use super::time::add_seconds;
use super::{
    CanonicalRequest, DailyKey, PartHeaderShape, PartUrlBatch, PolicyDocument, PostForm,
    PostPolicyRequest, PresignRequest, PresignedRequest, QueryParams, S3Operation, SigningError,
    SigningKeyCache, SigningTime, SigningTrace, UNSIGNED_PAYLOAD,
};
use crate::domain::{
    AddressingStyle, BucketName, ChecksumAlgorithm, Credentials, Endpoint, Expiry, GrantId,
    ObjectKey, PartNumber, Region, UploadId,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// Signs S3 requests for one region and endpoint. Cheap to share; the daily signing keys of
/// every credential it sees are cached inside.
pub struct Signer {
    region: Region,
    endpoint: Endpoint,
    /// The scheme and `host[:port]` of every URL, worked out once.
    host: Host,
    addressing: AddressingStyle,
    keys: SigningKeyCache,
}

/// Signed headers (with `host`) that a presign sorts on the stack; more go to the heap.
const INLINE_HEADERS: usize = 12;

/// What follows the canonical query in a presigned URL.
const SIGNATURE_PARAM: &str = "&X-Amz-Signature=";

/// True when a header name sorts after `host`: by its first byte alone unless that is `h`
/// (no string comparison call for the usual names).
fn sorts_after_host(name: &str) -> bool {
    match name.as_bytes().first() {
        Some(b'h') => name > "host",
        Some(&first) => first > b'h',
        None => false,
    }
}

/// What every signature of one request shares.
struct Context<'k> {
    time: SigningTime,
    /// Lent by the key cache for the duration of the signature.
    key: &'k Arc<DailyKey>,
    /// The real lifetime: the requested one, cut to the credentials' expiry.
    lifetime_secs: u32,
    /// Signing time plus the lifetime.
    expires_at: DateTime<Utc>,
}

impl Context<'_> {
    /// The SigV4 parameters of a presigned URL's query.
    fn query_params<'a>(&'a self, credentials: &'a Credentials) -> SigV4Query<'a> {
        SigV4Query {
            head: &self.key.query_head,
            amz_date: self.time.amz_date(),
            lifetime_secs: self.lifetime_secs,
            session_token: credentials.session_token.as_ref().map(|t| t.expose()),
        }
    }
}

impl Signer {
    /// A signer for `region` at `endpoint`, preferring `addressing`.
    pub fn new(region: Region, endpoint: Endpoint, addressing: AddressingStyle) -> Self {
        Self {
            host: Host::new(&endpoint, &region),
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

    /// The unsigned URL of an object (what S3 reports as an upload's `Location`).
    pub fn object_url(&self, bucket: &BucketName, key: &ObjectKey) -> String {
        let mut url = String::with_capacity(self.host.url_len_bound(bucket, Some(key)));
        self.host
            .write_url(&mut url, self.addressing, bucket, Some(key));
        url
    }

    /// Calls `sign` with the context of a signature at `at` lasting `expires`: the signing
    /// time, the daily key (lent by the cache, see [`SigningKeyCache::with`]) and the real
    /// lifetime.
    fn with_context<R>(
        &self,
        credentials: &Credentials,
        at: DateTime<Utc>,
        expires: Expiry,
        sign: impl FnOnce(&Context<'_>) -> Result<R, SigningError>,
    ) -> Result<R, SigningError> {
        // The errors are made only on failure (`let ... else`, not `ok_or`): building and
        // dropping them on every signature is work the usual signature does not need.
        let Some(time) = SigningTime::new(at) else {
            return Err(SigningError::TimeOutOfRange(at));
        };
        let mut lifetime_secs = expires.as_secs();
        if let Some(end) = credentials.expires_at {
            let left = (end - time.instant()).num_seconds();
            if left < 1 {
                return Err(SigningError::CredentialsExpired(end));
            }
            lifetime_secs = lifetime_secs.min(u32::try_from(left).unwrap_or(u32::MAX));
        }
        let Some(expires_at) = add_seconds(time.instant(), lifetime_secs) else {
            return Err(SigningError::TimeOutOfRange(at));
        };
        self.keys.with(
            &credentials.access_key_id,
            &credentials.secret_access_key,
            &time,
            &self.region,
            |key| {
                sign(&Context {
                    time,
                    key,
                    lifetime_secs,
                    expires_at,
                })
            },
        )
    }

    /// Presigns a request. The URL's lifetime is the requested one, shortened when the
    /// credentials expire sooner; credentials already expired at `at` are refused.
    pub fn presign(
        &self,
        credentials: &Credentials,
        request: &PresignRequest,
        at: DateTime<Utc>,
    ) -> Result<PresignedRequest, SigningError> {
        self.sign_request(credentials, request, at, None)
    }

    /// A batch signer for UploadPart URLs of one upload: each URL it makes equals
    /// [`Signer::presign`] of the same UploadPart with the headers `shape` names and the
    /// `extra` query parameters, at about half the cost (see [`PartUrlBatch`]). Extra names
    /// must sort before `partNumber` or after `uploadId` (e.g. `x-...`).
    #[allow(clippy::too_many_arguments)]
    pub fn part_url_batch(
        &self,
        credentials: &Credentials,
        bucket: &BucketName,
        key: &ObjectKey,
        upload_id: &UploadId,
        expires: Expiry,
        at: DateTime<Utc>,
        shape: PartHeaderShape,
        extra: &QueryParams,
    ) -> Result<PartUrlBatch, SigningError> {
        self.with_context(credentials, at, expires, |ctx| {
            self.part_url_batch_in(ctx, credentials, bucket, key, upload_id, shape, extra)
        })
    }

    /// [`Signer::part_url_batch`] in its signing context.
    #[allow(clippy::too_many_arguments)]
    fn part_url_batch_in(
        &self,
        ctx: &Context<'_>,
        credentials: &Credentials,
        bucket: &BucketName,
        key: &ObjectKey,
        upload_id: &UploadId,
        shape: PartHeaderShape,
        extra: &QueryParams,
    ) -> Result<PartUrlBatch, SigningError> {
        let address = self.host.resolve(self.addressing, bucket, Some(key));
        let mut names: Vec<&str> = Vec::with_capacity(4);
        if shape.content_length {
            names.push("content-length");
        }
        names.push("host");
        if let Some(algorithm) = shape.checksum {
            names.push(algorithm.header_name());
            names.push(ChecksumAlgorithm::ALGORITHM_HEADER);
        }
        let headers: Vec<(&str, &str)> = names.iter().map(|n| (*n, "")).collect();
        // The query of part 1, cut around its part number: `...&partNumber=` | `1` | `&uploadId=...`.
        let operation = S3Operation::UploadPart {
            upload_id: upload_id.clone(),
            part_number: PartNumber::new(1)?,
        };
        let query = canonical_query(&operation, extra, &ctx.query_params(credentials), &headers);
        PartUrlBatch::from_first_part_query(
            shape,
            &address,
            &query,
            names.join(";"),
            ctx.key,
            &ctx.time,
            ctx.expires_at,
        )
    }

    /// As [`Signer::presign`], also returning the intermediate texts.
    pub fn presign_traced(
        &self,
        credentials: &Credentials,
        request: &PresignRequest,
        at: DateTime<Utc>,
    ) -> Result<(PresignedRequest, SigningTrace), SigningError> {
        let mut trace = SigningTrace {
            canonical_request: String::new(),
            string_to_sign: String::new(),
            signature: String::new(),
        };
        let presigned = self.sign_request(credentials, request, at, Some(&mut trace))?;
        Ok((presigned, trace))
    }

    /// Signs `request`; with a `trace` the canonical request, string to sign and signature
    /// are also written there as text, otherwise they are only hashed, piece by piece (and
    /// what a presign returns through its layers is the presigned request alone).
    ///
    /// The URL is written once, front to back: its authority, path and query are also the
    /// `host` header, path and query of the canonical request, which are hashed from the URL
    /// itself rather than from copies.
    fn sign_request(
        &self,
        credentials: &Credentials,
        request: &PresignRequest,
        at: DateTime<Utc>,
        trace: Option<&mut SigningTrace>,
    ) -> Result<PresignedRequest, SigningError> {
        self.with_context(credentials, at, request.expires, |ctx| {
            self.sign_request_in(ctx, credentials, request, trace)
        })
    }

    /// [`Signer::sign_request`] in its signing context.
    fn sign_request_in(
        &self,
        ctx: &Context<'_>,
        credentials: &Credentials,
        request: &PresignRequest,
        trace: Option<&mut SigningTrace>,
    ) -> Result<PresignedRequest, SigningError> {
        let sigv4 = ctx.query_params(credentials);

        // The signed headers with `host` in its sorted place (names are lowercase, and
        // `SignedHeaders` never holds `host`), on the stack unless there are many; the
        // length of their names is counted on the way (one walk of the headers).
        let count = request.headers.len() + 1;
        let mut inline = [("", ""); INLINE_HEADERS];
        let mut spilled = Vec::new();
        let headers: &mut [(&str, &str)] = if count <= INLINE_HEADERS {
            &mut inline[..count]
        } else {
            spilled.resize(count, ("", ""));
            &mut spilled
        };
        let mut host_at = request.headers.len();
        let mut names_len = 0;
        for (i, (name, value)) in request.headers.iter().enumerate() {
            if host_at == request.headers.len() && sorts_after_host(name) {
                host_at = i;
            }
            headers[i + usize::from(i >= host_at)] = (name, value);
            names_len += name.len() + 1;
        }
        headers[host_at].0 = "host";

        // Room for the whole URL, so it is never copied while it grows: every byte of a
        // parameter may be percent-encoded, but not the grant id's (unreserved characters
        // only, counted once so that it does not move the URL to a larger allocation
        // class); the SigV4 block after its head (whose 62 fixed bytes the 384 of earlier
        // versions held) and an upload id fit in 322 bytes, so the capacity is as before.
        let grant_len = request
            .grant
            .as_ref()
            .map_or(0, |_| GrantId::QUERY_PARAM.len() + GrantId::LEN + 2);
        let escaped: usize =
            sigv4.session_token.map_or(0, str::len) + request.query.text_len() + names_len;
        let mut url = String::with_capacity(
            self.host.url_len_bound(&request.bucket, Some(&request.key))
                + sigv4.head.len()
                + 3 * escaped
                + grant_len
                + 322
                + SIGNATURE_PARAM.len()
                + 64,
        );
        let parts = self.host.write_url(
            &mut url,
            self.addressing,
            &request.bucket,
            Some(&request.key),
        );
        url.push('?');
        let query_start = url.len();
        write_canonical_query(
            &mut url,
            &request.operation,
            &request.query,
            request.grant.as_ref(),
            &sigv4,
            headers,
        );
        headers[host_at].1 = &url[parts.authority];

        let method = request.operation.method();
        let canonical_request = CanonicalRequest {
            method: method.as_str(),
            path: &url[parts.path],
            query: &url[query_start..],
            headers,
            payload_hash: UNSIGNED_PAYLOAD,
        };
        let canonical_digest = canonical_request.digest();
        let signature = ctx.key.sign_canonical_digest(&ctx.time, &canonical_digest);
        if let Some(trace) = trace {
            trace.canonical_request = canonical_request.to_text();
            trace.string_to_sign = string_to_sign(
                &ctx.time,
                &ctx.key.scope,
                HexDigest::of(canonical_digest).as_str(),
            );
            trace.signature = signature.as_str().to_owned();
        }
        url.push_str(SIGNATURE_PARAM);
        url.push_str(signature.as_str());
        Ok(PresignedRequest {
            method,
            url,
            headers: request.headers.clone(),
            signed_at: ctx.time.instant(),
            expires_at: ctx.expires_at,
        })
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
        self.post_policy_with_client_fields(credentials, request, &[], at)
    }

    /// As [`Signer::post_policy`], with fields the client fills in itself, each covered by
    /// `["starts-with", "$name", ""]` (S3 refuses a form field no condition covers) and left
    /// out of the returned fields: a secret only the client holds, such as an SSE-C key.
    pub fn post_policy_with_client_fields(
        &self,
        credentials: &Credentials,
        request: &PostPolicyRequest,
        client_fields: &[&str],
        at: DateTime<Utc>,
    ) -> Result<PostForm, SigningError> {
        self.with_context(credentials, at, request.expires, |ctx| {
            self.post_policy_in(ctx, credentials, request, client_fields)
        })
    }

    /// [`Signer::post_policy_with_client_fields`] in its signing context.
    fn post_policy_in(
        &self,
        ctx: &Context<'_>,
        credentials: &Credentials,
        request: &PostPolicyRequest,
        client_fields: &[&str],
    ) -> Result<PostForm, SigningError> {
        let sigv4 = SigV4Fields {
            credential: &ctx.key.credential,
            amz_date: ctx.time.amz_date(),
            session_token: credentials.session_token.as_ref().map(|t| t.expose()),
        };
        let (conditions, mut fields) = conditions_and_fields(request, client_fields, &sigv4)?;

        let expires_at = ctx.expires_at;
        let document = PolicyDocument {
            expiration: expires_at,
            conditions,
        };
        let policy = STANDARD.encode(document.to_json());
        let signature = ctx.key.key.sign(&policy);
        push_field(&mut fields, "policy", &policy);
        push_field(&mut fields, "x-amz-signature", &signature);

        let address = self.host.resolve(self.addressing, &request.bucket, None);
        Ok(PostForm {
            url: address.url(),
            fields,
            expires_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::sorts_after_host;

    #[test]
    fn sorts_names_around_host_as_strings_do() {
        for name in [
            "",
            "a",
            "content-type",
            "h",
            "ho",
            "hos",
            "host-x",
            "hosu",
            "hz",
            "i",
            "x-amz-meta-a",
        ] {
            assert_eq!(sorts_after_host(name), name > "host", "{name:?}");
        }
    }
}
