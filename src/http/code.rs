//! The vocabulary of error codes: every error the broker answers carries one [`Code`], the
//! stable `code` member of its problem document ([RFC 9457 §3.2]) and the `code` of a
//! Companion-shaped error. The code decides the HTTP status, the `WWW-Authenticate` challenge
//! and the `Retry-After` of the answer; `doc/api.md` and `doc/openapi.json` list every code
//! (a test keeps the three in step).
//!
//! [RFC 9457 §3.2]: https://www.rfc-editor.org/rfc/rfc9457#section-3.2

use super::challenge;
use actix_web::http::StatusCode;
use std::fmt;

/// Seconds a client should wait before retrying a 503 (`Retry-After`, [RFC 9110 §10.2.3]).
///
/// [RFC 9110 §10.2.3]: https://www.rfc-editor.org/rfc/rfc9110#section-10.2.3
pub(super) const RETRY_AFTER_SECS: u32 = 5;

/// Seconds a client should wait before asking again for an object whose malware scan has not
/// finished (`Retry-After` of 409 `scan_pending`); a pending verdict is cached as long.
pub(super) const SCAN_RETRY_AFTER_SECS: u32 = 5;

/// Declares [`Code`] from one table: variant, wire string, status, title.
macro_rules! problem_codes {
    ($($(#[$doc:meta])* $variant:ident = $text:literal, $status:ident, $title:literal;)+) => {
        /// A stable, machine-readable error code. Its string never changes once published.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $($(#[$doc])* $variant,)+
        }

        impl Code {
            /// Every code, in the order of the table.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)+];

            /// The string sent as `code` (and in `type`, `urn:s3-broker:problem:<code>`).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $text,)+
                }
            }

            /// The HTTP status the code is answered with.
            pub const fn status(self) -> StatusCode {
                match self {
                    $(Code::$variant => StatusCode::$status,)+
                }
            }

            /// The problem type's `title`: a short summary that is the same for every
            /// occurrence of the code ([RFC 9457 §3.1.3]).
            ///
            /// [RFC 9457 §3.1.3]: https://www.rfc-editor.org/rfc/rfc9457#section-3.1.3
            pub const fn title(self) -> &'static str {
                match self {
                    $(Code::$variant => $title,)+
                }
            }
        }
    };
}

problem_codes! {
    // Authentication (401).
    /// No `Authorization` and no `X-Api-Key` header, or an empty bearer token.
    MissingCredentials = "missing_credentials", UNAUTHORIZED, "Credentials required";
    /// An `Authorization` scheme other than `Bearer`.
    UnsupportedCredentials = "unsupported_credentials", UNAUTHORIZED, "Unsupported credentials";
    /// `Authorization` or `X-Api-Key` more than once, or both.
    AmbiguousCredentials = "ambiguous_credentials", BAD_REQUEST, "Ambiguous credentials";
    /// The bearer token was refused.
    InvalidToken = "invalid_token", UNAUTHORIZED, "Invalid token";
    /// A token or API key in the query string.
    CredentialsInUrl = "credentials_in_url", UNAUTHORIZED, "Credentials in the URL";
    /// The API key is unknown, revoked, empty or too long.
    InvalidApiKey = "invalid_api_key", UNAUTHORIZED, "Invalid API key";

    // Authorization and policy.
    /// The caller lacks the operation's scope.
    InsufficientScope = "insufficient_scope", FORBIDDEN, "Insufficient scope";
    /// A key, prefix or upload outside the caller's namespaces.
    NotOwner = "not_owner", FORBIDDEN, "Not your namespace";
    /// No profile has that name.
    UnknownProfile = "unknown_profile", NOT_FOUND, "Unknown profile";
    /// The file name breaks a rule.
    InvalidFilename = "invalid_filename", BAD_REQUEST, "Invalid file name";
    /// The client path breaks the path grammar.
    InvalidPath = "invalid_path", BAD_REQUEST, "Invalid path";
    /// A client path for a profile whose key template has no `{path}`.
    PathNotAllowed = "path_not_allowed", BAD_REQUEST, "Path not allowed";
    /// The content type does not parse.
    InvalidContentType = "invalid_content_type", BAD_REQUEST, "Invalid content type";
    /// The profile does not accept the content type.
    ContentTypeNotAllowed = "content_type_not_allowed", BAD_REQUEST, "Content type not allowed";
    /// A form needs a content type and none can be derived.
    ContentTypeRequired = "content_type_required", BAD_REQUEST, "Content type required";
    /// The size is outside the profile's range.
    SizeOutOfRange = "size_out_of_range", BAD_REQUEST, "Size out of range";
    /// The profile does not allow the upload method (PUT, POST form or multipart).
    UploadMethodNotAllowed = "upload_method_not_allowed", BAD_REQUEST, "Upload method not allowed";
    /// The storage backend cannot serve the upload method.
    MethodNotSupported = "method_not_supported", BAD_REQUEST, "Upload method not supported by the store";
    /// A metadata key the profile does not list.
    MetadataNotAllowed = "metadata_not_allowed", BAD_REQUEST, "Metadata not allowed";
    /// A metadata value, or the metadata as a whole, breaks a rule.
    InvalidMetadata = "invalid_metadata", BAD_REQUEST, "Invalid metadata";
    /// The profile or the upload requires a checksum and none was given.
    ChecksumRequired = "checksum_required", BAD_REQUEST, "Checksum required";
    /// A checksum does not decode, or is given where none may be.
    InvalidChecksum = "invalid_checksum", BAD_REQUEST, "Invalid checksum";
    /// The checksum cannot be enforced by the method or the backend.
    ChecksumNotSupported = "checksum_not_supported", BAD_REQUEST, "Checksum not supported";
    /// An SSE-C profile and no `sse_customer_key_md5`.
    SseCustomerKeyRequired = "sse_customer_key_required", BAD_REQUEST, "SSE-C key digest required";
    /// `sse_customer_key_md5` for a profile without SSE-C.
    SseCustomerKeyNotAllowed = "sse_customer_key_not_allowed", BAD_REQUEST, "SSE-C key digest not allowed";
    /// `sse_customer_key_md5` is not base64 of 16 bytes.
    InvalidSseCustomerKeyMd5 = "invalid_sse_customer_key_md5", BAD_REQUEST, "Invalid SSE-C key digest";
    /// A size a single PUT or POST cannot carry.
    MultipartRequired = "multipart_required", BAD_REQUEST, "Multipart upload required";
    /// A malformed or too long object key.
    InvalidKey = "invalid_key", BAD_REQUEST, "Invalid key";
    /// A malformed listing prefix.
    InvalidPrefix = "invalid_prefix", BAD_REQUEST, "Invalid prefix";
    /// `inline` asked of a profile that serves attachments only.
    DispositionNotAllowed = "disposition_not_allowed", BAD_REQUEST, "Disposition not allowed";
    /// `expires_in` out of range.
    InvalidExpiry = "invalid_expiry", BAD_REQUEST, "Invalid lifetime";
    /// A listing cursor that is too long.
    InvalidCursor = "invalid_cursor", BAD_REQUEST, "Invalid cursor";
    /// A form's `redirect` that is malformed or of an origin the broker does not serve.
    RedirectNotAllowed = "redirect_not_allowed", BAD_REQUEST, "Redirect not allowed";

    // Request format.
    /// The body is not JSON.
    MalformedJson = "malformed_json", BAD_REQUEST, "Malformed JSON";
    /// A body field the route does not define.
    UnknownField = "unknown_field", BAD_REQUEST, "Unknown field";
    /// A missing required field, or a field of the wrong type or value.
    InvalidField = "invalid_field", BAD_REQUEST, "Invalid field";
    /// The body could not be read.
    MalformedBody = "malformed_body", BAD_REQUEST, "Malformed body";
    /// A query parameter the route does not define.
    UnknownParameter = "unknown_parameter", BAD_REQUEST, "Unknown query parameter";
    /// A query string that cannot be parsed.
    InvalidQuery = "invalid_query", BAD_REQUEST, "Invalid query";
    /// A body over the route's limit.
    BodyTooLarge = "body_too_large", PAYLOAD_TOO_LARGE, "Body too large";
    /// A body not received within `[server] body_timeout_secs`.
    BodyTimeout = "body_timeout", REQUEST_TIMEOUT, "Body too slow";
    /// A body without `Content-Type: application/json`.
    UnsupportedMediaType = "unsupported_media_type", UNSUPPORTED_MEDIA_TYPE, "Unsupported media type";
    /// No such route.
    NotFound = "not_found", NOT_FOUND, "Not found";
    /// The route does not serve this HTTP method (`Allow` names those it serves).
    MethodNotAllowed = "method_not_allowed", METHOD_NOT_ALLOWED, "Method not allowed";

    // Multipart uploads and Uppy.
    /// A multipart ticket (or completion grant) that is not this broker's or was altered.
    InvalidTicket = "invalid_ticket", FORBIDDEN, "Invalid upload ticket";
    /// A multipart ticket (or completion grant) past its expiry.
    TicketExpired = "ticket_expired", FORBIDDEN, "Upload ticket expired";
    /// A part size or part count outside S3's limits.
    InvalidPartSize = "invalid_part_size", BAD_REQUEST, "Invalid part size";
    /// A checksum algorithm S3 cannot apply to parts.
    InvalidChecksumAlgorithm = "invalid_checksum_algorithm", BAD_REQUEST, "Invalid checksum algorithm";
    /// Part numbers that are empty, outside the plan, or listed twice.
    InvalidPartNumbers = "invalid_part_numbers", BAD_REQUEST, "Invalid part numbers";
    /// The parts to complete are not exactly those expected.
    PartsMismatch = "parts_mismatch", BAD_REQUEST, "Parts do not match";
    /// S3 refused the parts at completion.
    PartsRejected = "parts_rejected", BAD_REQUEST, "Parts rejected by S3";
    /// A malformed Uppy `uploadId`.
    InvalidUploadId = "invalid_upload_id", BAD_REQUEST, "Invalid upload id";
    /// A `POST /s3/sign` request that names no supported S3 operation.
    UnsupportedOperation = "unsupported_operation", BAD_REQUEST, "Unsupported operation";
    /// S3 has no such multipart upload.
    NoSuchUpload = "no_such_upload", NOT_FOUND, "No such upload";
    /// Another write to the key was in progress.
    WriteConflict = "write_conflict", CONFLICT, "Write conflict";
    /// The key holds an object and the profile forbids overwriting it.
    ObjectExists = "object_exists", PRECONDITION_FAILED, "Object exists";
    /// A download of a key that holds no object.
    ObjectNotFound = "object_not_found", NOT_FOUND, "Object not found";
    /// A verified upload differs from its grant (the problem's `reasons` say how).
    UploadMismatch = "upload_mismatch", UNPROCESSABLE_ENTITY, "Upload does not match its grant";
    /// Verify found no object at the grant's key.
    UploadNotFound = "upload_not_found", NOT_FOUND, "Upload not found";
    /// A download of an object the profile's malware scan has not tagged yet (`Retry-After`).
    ScanPending = "scan_pending", CONFLICT, "Scan pending";
    /// A download of an object whose scan tag is anything but clean (a threat, or a scan that
    /// could not complete).
    Quarantined = "quarantined", FORBIDDEN, "Quarantined";

    // Service.
    /// The broker has no credentials it may sign with right now.
    CredentialsUnavailable = "credentials_unavailable", SERVICE_UNAVAILABLE, "Credentials unavailable";
    /// The process is shutting down (`GET /readyz` during the drain).
    Draining = "draining", SERVICE_UNAVAILABLE, "Draining";
    /// S3 timed out or failed.
    S3Unavailable = "s3_unavailable", SERVICE_UNAVAILABLE, "S3 unavailable";
    /// S3 refused the broker's own request.
    S3Refused = "s3_refused", BAD_GATEWAY, "S3 refused the request";
    /// A bug; the details go to the log.
    Internal = "internal", INTERNAL_SERVER_ERROR, "Internal error";

    // Abuse limits and revocation.
    /// Over a rate of `[limits.rates]` (or a profile's): `Retry-After` and `RateLimit` say when.
    RateLimited = "rate_limited", TOO_MANY_REQUESTS, "Rate limited";
    /// A quota of `[limits.quotas]` (or a profile's) would be exceeded; the detail says when
    /// it resets.
    QuotaExceeded = "quota_exceeded", TOO_MANY_REQUESTS, "Quota exceeded";
    /// The credential, ticket or completion grant was issued before a revocation.
    Revoked = "revoked", UNAUTHORIZED, "Credentials revoked";
    /// The shared limits store is unreachable and `on_store_failure = "fail_closed"`.
    LimitsUnavailable = "limits_unavailable", SERVICE_UNAVAILABLE, "Limits store unavailable";

    // Generic codes of errors raised outside the handlers, by status.
    /// A 400 from outside the handlers (e.g. a refused CORS preflight).
    BadRequest = "bad_request", BAD_REQUEST, "Bad request";
    /// A 401 from outside the handlers.
    Unauthorized = "unauthorized", UNAUTHORIZED, "Unauthorized";
    /// A 403 from outside the handlers.
    Forbidden = "forbidden", FORBIDDEN, "Forbidden";
    /// A 408 from outside the handlers.
    RequestTimeout = "request_timeout", REQUEST_TIMEOUT, "Request timeout";
    /// A 414 from outside the handlers.
    UriTooLong = "uri_too_long", URI_TOO_LONG, "URI too long";
    /// A 431 from outside the handlers.
    HeadersTooLarge = "headers_too_large", REQUEST_HEADER_FIELDS_TOO_LARGE, "Headers too large";
    /// A 503 from outside the handlers.
    Unavailable = "unavailable", SERVICE_UNAVAILABLE, "Service unavailable";
    /// Any other 4xx from outside the handlers; it keeps its own status.
    ClientError = "client_error", BAD_REQUEST, "Client error";
}

impl Code {
    /// The generic code of an error status raised outside the handlers. `client_error` (other
    /// 4xx) and `internal` (other 5xx) then keep the status they were raised with.
    pub fn for_status(status: StatusCode) -> Self {
        match status.as_u16() {
            400 => Self::BadRequest,
            401 => Self::Unauthorized,
            403 => Self::Forbidden,
            404 => Self::NotFound,
            405 => Self::MethodNotAllowed,
            408 => Self::RequestTimeout,
            413 => Self::BodyTooLarge,
            414 => Self::UriTooLong,
            415 => Self::UnsupportedMediaType,
            431 => Self::HeadersTooLarge,
            503 => Self::Unavailable,
            s if s >= 500 => Self::Internal,
            _ => Self::ClientError,
        }
    }

    /// The `WWW-Authenticate` challenge sent with the code, if any.
    pub fn challenge(self) -> Option<&'static str> {
        match self {
            Self::MissingCredentials => Some(challenge::BEARER),
            Self::UnsupportedCredentials | Self::CredentialsInUrl => {
                Some(challenge::INVALID_REQUEST)
            }
            Self::InvalidToken | Self::InvalidApiKey | Self::Revoked => {
                Some(challenge::INVALID_TOKEN)
            }
            Self::InsufficientScope => Some(challenge::INSUFFICIENT_SCOPE),
            _ => None,
        }
    }

    /// The `Retry-After` seconds sent with the code, if any: the broker's own outages pass,
    /// and so does a malware scan.
    pub fn retry_after(self) -> Option<u32> {
        match self {
            Self::CredentialsUnavailable | Self::S3Unavailable | Self::LimitsUnavailable => {
                Some(RETRY_AFTER_SECS)
            }
            Self::ScanPending => Some(SCAN_RETRY_AFTER_SECS),
            _ => None,
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod docs;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn strings_are_unique_snake_case() {
        let mut seen = HashSet::new();
        for code in Code::ALL {
            let text = code.as_str();
            assert!(seen.insert(text), "{text} twice");
            assert!(
                text.bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_' || b.is_ascii_digit()),
                "{text}"
            );
            assert!(code.status().is_client_error() || code.status().is_server_error());
        }
    }

    #[test]
    fn generic_codes_follow_the_status() {
        assert_eq!(Code::for_status(StatusCode::NOT_FOUND), Code::NotFound);
        assert_eq!(
            Code::for_status(StatusCode::METHOD_NOT_ALLOWED),
            Code::MethodNotAllowed
        );
        assert_eq!(
            Code::for_status(StatusCode::GATEWAY_TIMEOUT),
            Code::Internal
        );
        assert_eq!(Code::for_status(StatusCode::IM_A_TEAPOT), Code::ClientError);
        for status in [400, 401, 403, 404, 405, 408, 413, 414, 415, 431, 500, 503] {
            let status = StatusCode::from_u16(status).unwrap();
            assert_eq!(Code::for_status(status).status(), status);
        }
    }
}
