//! The `WWW-Authenticate` challenges of the broker's 401 and 403 answers: the Bearer scheme of
//! [RFC 6750 §3], with the error codes of [RFC 6750 §3.1].
//!
//! [RFC 6750 §3]: https://www.rfc-editor.org/rfc/rfc6750#section-3
//! [RFC 6750 §3.1]: https://www.rfc-editor.org/rfc/rfc6750#section-3.1

/// No credential was presented: the challenge carries no error code.
pub(super) const BEARER: &str = r#"Bearer realm="s3-broker""#;

/// A credential in a form the broker does not accept (another scheme, two credentials, or one
/// in the URL).
pub(super) const INVALID_REQUEST: &str = r#"Bearer realm="s3-broker", error="invalid_request""#;

/// A refused token or API key: the client needs a new one.
pub(super) const INVALID_TOKEN: &str = r#"Bearer realm="s3-broker", error="invalid_token""#;

/// A valid credential without the scope the operation needs.
pub(super) const INSUFFICIENT_SCOPE: &str =
    r#"Bearer realm="s3-broker", error="insufficient_scope""#;
