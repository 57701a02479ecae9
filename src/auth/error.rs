//! Why a credential was refused, in words that are safe to log: never the token or key itself.

use std::fmt;

/// Why a bearer token was refused. Every reason maps to the same answer on the wire
/// (401 with `WWW-Authenticate: Bearer error="invalid_token"`, [RFC 6750 §3.1]); the reason is
/// for logs and tests only, and never contains any part of the token.
///
/// [RFC 6750 §3.1]: https://www.rfc-editor.org/rfc/rfc6750#section-3.1
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRejection {
    /// Not three base64url parts with a JSON object header and payload ([RFC 7519 §7.2]).
    ///
    /// [RFC 7519 §7.2]: https://www.rfc-editor.org/rfc/rfc7519#section-7.2
    Malformed,
    /// Longer than the broker accepts.
    TooLong,
    /// The header's `alg` is not one of the configured algorithms (this includes `none`);
    /// [RFC 8725 §3.1].
    ///
    /// [RFC 8725 §3.1]: https://www.rfc-editor.org/rfc/rfc8725#section-3.1
    AlgorithmNotAllowed,
    /// The header names a key by reference or embeds one (`jku`, `x5u`, `jwk`, `x5c`); such keys
    /// are never fetched or trusted ([RFC 8725 §3.10]).
    ///
    /// [RFC 8725 §3.10]: https://www.rfc-editor.org/rfc/rfc8725#section-3.10
    UntrustedKeyHeader(&'static str),
    /// The header lists critical extensions, none of which the broker understands
    /// ([RFC 7515 §4.1.11]).
    ///
    /// [RFC 7515 §4.1.11]: https://www.rfc-editor.org/rfc/rfc7515#section-4.1.11
    CriticalHeader,
    /// No configured or published key has the token's `kid`, even after a JWKS refetch.
    UnknownKey,
    /// No verification key is available at all (for example the JWKS could never be fetched):
    /// the broker fails closed.
    NoKey,
    /// The signature does not verify with any candidate key.
    BadSignature,
    /// `exp` is in the past, beyond the configured leeway ([RFC 7519 §4.1.4]).
    ///
    /// [RFC 7519 §4.1.4]: https://www.rfc-editor.org/rfc/rfc7519#section-4.1.4
    Expired,
    /// `nbf` is in the future, beyond the configured leeway ([RFC 7519 §4.1.5]).
    ///
    /// [RFC 7519 §4.1.5]: https://www.rfc-editor.org/rfc/rfc7519#section-4.1.5
    NotYetValid,
    /// `iss` is not the configured issuer ([RFC 7519 §4.1.1]).
    ///
    /// [RFC 7519 §4.1.1]: https://www.rfc-editor.org/rfc/rfc7519#section-4.1.1
    WrongIssuer,
    /// `aud` does not contain a configured audience ([RFC 7519 §4.1.3]).
    ///
    /// [RFC 7519 §4.1.3]: https://www.rfc-editor.org/rfc/rfc7519#section-4.1.3
    WrongAudience,
    /// A required claim (`exp`, `iss`, `aud` or `sub`) is absent.
    MissingClaim(&'static str),
    /// A claim has the wrong JSON type or value (for example `exp` as a string, `iss` as an
    /// array, an empty `sub`, or a scope claim that is neither a string nor an array of strings).
    InvalidClaim(&'static str),
}

impl fmt::Display for TokenRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed => f.write_str("not a well-formed JWT"),
            Self::TooLong => f.write_str("token too long"),
            Self::AlgorithmNotAllowed => f.write_str("algorithm not allowed"),
            Self::UntrustedKeyHeader(name) => write!(f, "untrusted `{name}` header"),
            Self::CriticalHeader => f.write_str("unsupported critical header"),
            Self::UnknownKey => f.write_str("unknown key id"),
            Self::NoKey => f.write_str("no verification key available"),
            Self::BadSignature => f.write_str("bad signature"),
            Self::Expired => f.write_str("expired"),
            Self::NotYetValid => f.write_str("not yet valid"),
            Self::WrongIssuer => f.write_str("wrong issuer"),
            Self::WrongAudience => f.write_str("wrong audience"),
            Self::MissingClaim(name) => write!(f, "missing `{name}` claim"),
            Self::InvalidClaim(name) => write!(f, "invalid `{name}` claim"),
        }
    }
}

/// A refused or absent credential. The HTTP layer answers every variant with 401 and a
/// `WWW-Authenticate` challenge ([RFC 6750 §3]): without an error code when no credential was
/// sent, `error="invalid_request"` for one in an unsupported form, `error="invalid_token"` for
/// a refused one.
///
/// [RFC 6750 §3]: https://www.rfc-editor.org/rfc/rfc6750#section-3
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No credential was presented at all ([RFC 6750 §3.1]: answer without an error code).
    ///
    /// [RFC 6750 §3.1]: https://www.rfc-editor.org/rfc/rfc6750#section-3.1
    #[error("no credentials: send `Authorization: Bearer <token>` or `X-Api-Key: <key>`")]
    MissingCredentials,
    /// A credential was presented in a form the broker does not accept (for example an
    /// `Authorization` scheme other than `Bearer`).
    #[error("unsupported credentials: {0}")]
    UnsupportedCredentials(&'static str),
    /// The bearer token was refused.
    #[error("invalid bearer token: {0}")]
    InvalidToken(TokenRejection),
    /// The API key is unknown or revoked.
    #[error("invalid API key")]
    InvalidApiKey,
    /// More than one credential: `Authorization` or `X-Api-Key` twice (or a list of values),
    /// or both. Refused whichever is valid, so no proxy or client can make the broker pick
    /// another one than it means (answered 400, not 401).
    #[error(
        "ambiguous credentials: send exactly one `Authorization: Bearer <token>` or one `X-Api-Key: <key>` header"
    )]
    AmbiguousCredentials,
}

impl AuthError {
    /// The rejection reason, when this is a refused bearer token.
    pub fn token_rejection(&self) -> Option<TokenRejection> {
        match self {
            Self::InvalidToken(reason) => Some(*reason),
            _ => None,
        }
    }
}

impl From<TokenRejection> for AuthError {
    fn from(reason: TokenRejection) -> Self {
        Self::InvalidToken(reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_reason() {
        let err = AuthError::InvalidToken(TokenRejection::InvalidClaim("exp"));
        assert_eq!(err.to_string(), "invalid bearer token: invalid `exp` claim");
    }
}
