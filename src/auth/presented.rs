//! Where credentials come from: the `Authorization: Bearer` header ([RFC 6750 §2.1]) or the
//! `X-Api-Key` header, never the URL.
//!
//! These helpers take raw header bytes so that the HTTP layer, whatever its framework, only has
//! to look the two headers up.
//!
//! [RFC 6750 §2.1]: https://www.rfc-editor.org/rfc/rfc6750#section-2.1

use super::error::{AuthError, TokenRejection};

/// A presented credential, borrowed from the request.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum PresentedCredential<'a> {
    /// A bearer token (a JWT).
    Bearer(&'a str),
    /// An API key.
    ApiKey(&'a str),
}

impl std::fmt::Debug for PresentedCredential<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Bearer(_) => f.write_str("Bearer([redacted])"),
            Self::ApiKey(_) => f.write_str("ApiKey([redacted])"),
        }
    }
}

impl<'a> PresentedCredential<'a> {
    /// The credential of a request, from every value of its `Authorization` and `X-Api-Key`
    /// headers. Exactly one value of one of them must be present: two values of one header
    /// (sent twice, or joined by a proxy into a comma-separated list, [RFC 9110 §5.3]), or
    /// both headers, are [`AuthError::AmbiguousCredentials`], whichever would be valid.
    ///
    /// [RFC 9110 §5.3]: https://www.rfc-editor.org/rfc/rfc9110#section-5.3
    pub fn from_headers(
        authorization: impl IntoIterator<Item = &'a [u8]>,
        api_key: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<Self, AuthError> {
        match (single_value(authorization)?, single_value(api_key)?) {
            (None, None) => Err(AuthError::MissingCredentials),
            (Some(_), Some(_)) => Err(AuthError::AmbiguousCredentials),
            (Some(value), None) => {
                // The usual form, `Bearer <b64token>` with one space and nothing around it,
                // in one pass over the token; anything else takes every step below.
                if let Some(token) = plain_bearer_token(value) {
                    return Ok(PresentedCredential::Bearer(token));
                }
                let value = unlisted(value)?;
                let value = std::str::from_utf8(value)
                    .map_err(|_| AuthError::InvalidToken(TokenRejection::Malformed))?;
                bearer_token(value).map(PresentedCredential::Bearer)
            }
            (None, Some(value)) => std::str::from_utf8(unlisted(value)?)
                .ok()
                .map(str::trim)
                .filter(|key| !key.is_empty())
                .map(PresentedCredential::ApiKey)
                .ok_or(AuthError::InvalidApiKey),
        }
    }
}

/// The one value of a header, if any: a second value is ambiguous, and so is a comma in the
/// value ([`unlisted`]).
fn single_value<'a>(
    values: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Option<&'a [u8]>, AuthError> {
    let mut values = values.into_iter();
    let first = values.next();
    if values.next().is_some() {
        return Err(AuthError::AmbiguousCredentials);
    }
    Ok(first)
}

/// `value`, unless it holds a comma: a list of values joined by an intermediary ([RFC 9110
/// §5.3]); neither a `b64token` nor an API key has one, so it is ambiguous.
///
/// [RFC 9110 §5.3]: https://www.rfc-editor.org/rfc/rfc9110#section-5.3
fn unlisted(value: &[u8]) -> Result<&[u8], AuthError> {
    if value.contains(&b',') {
        return Err(AuthError::AmbiguousCredentials);
    }
    Ok(value)
}

/// The token of an `Authorization` value that is exactly `Bearer` (any case), one space and a
/// `b64token`: what [`bearer_token`] answers for it, found in one pass. `None` for any other
/// value, which may still be valid (more spaces, surrounding whitespace) or not: the caller
/// then checks it step by step. Such a value holds no comma and no byte outside ASCII, so
/// nothing checked before [`bearer_token`] refuses it.
fn plain_bearer_token(value: &[u8]) -> Option<&str> {
    let (scheme, token) = value.split_at_checked(7)?;
    if !scheme[..6].eq_ignore_ascii_case(b"bearer") || scheme[6] != b' ' {
        return None;
    }
    let padding = token.iter().rev().take_while(|&&b| b == b'=').count();
    let body = &token[..token.len() - padding];
    if body.is_empty() || !all_b64token_chars(body) {
        return None;
    }
    std::str::from_utf8(token).ok()
}

/// The token of an `Authorization: Bearer <token>` value. The scheme is case-insensitive
/// ([RFC 9110 §11.1](https://www.rfc-editor.org/rfc/rfc9110#section-11.1)); the token must be
/// a `b64token` ([RFC 6750 §2.1]).
///
/// [RFC 6750 §2.1]: https://www.rfc-editor.org/rfc/rfc6750#section-2.1
pub fn bearer_token(authorization: &str) -> Result<&str, AuthError> {
    let value = authorization.trim();
    if value.is_empty() {
        return Err(AuthError::MissingCredentials);
    }
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::UnsupportedCredentials(
            "only the Bearer authorization scheme is accepted",
        ));
    }
    let token = rest.trim_start_matches(' ');
    if token.is_empty() {
        return Err(AuthError::MissingCredentials);
    }
    if !is_b64token(token) {
        return Err(AuthError::InvalidToken(TokenRejection::Malformed));
    }
    Ok(token)
}

fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty() && all_b64token_chars(body.as_bytes())
}

/// Whether every byte is one of RFC 6750's `b64token` characters (besides the trailing `=`).
/// Every byte is tested (no early exit) by comparisons only (no table lookup), so the loop
/// runs on vector registers, 16 or more bytes a step.
fn all_b64token_chars(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .fold(0u8, |outside, &b| outside | u8::from(!is_b64token_char(b)))
        == 0
}

/// ALPHA, DIGIT or one of `-._~+/`, by range comparisons that compile without branches.
#[inline(always)]
fn is_b64token_char(b: u8) -> bool {
    let letter = (b | 0x20).wrapping_sub(b'a') < 26;
    let digit = b.wrapping_sub(b'0') < 10;
    // `-`, `.` and `/` are 0x2D to 0x2F.
    let dash_dot_slash = b.wrapping_sub(b'-') < 3;
    letter | digit | dash_dot_slash | (b == b'_') | (b == b'~') | (b == b'+')
}

/// Query parameters that would carry a credential in the URL. The broker refuses them: URLs end
/// up in logs, proxies and browser history ([RFC 6750 §2.3 and §5.3]).
///
/// [RFC 6750 §2.3 and §5.3]: https://www.rfc-editor.org/rfc/rfc6750#section-5.3
pub const CREDENTIAL_QUERY_PARAMS: [&str; 6] = [
    "access_token",
    "api_key",
    "apikey",
    "api-key",
    "x-api-key",
    "x_api_key",
];

/// Whether a raw query string (without `?`) carries a credential parameter, compared
/// case-insensitively after percent-decoding. The HTTP layer answers such requests with 401.
pub fn query_has_credentials(query: &str) -> bool {
    url::form_urlencoded::parse(query.as_bytes()).any(|(name, _)| {
        CREDENTIAL_QUERY_PARAMS
            .iter()
            .any(|p| p.eq_ignore_ascii_case(&name))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_b64token_characters_are_rfc_6750s_alphabet() {
        for b in 0..=255u8 {
            let expected =
                b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/');
            assert_eq!(is_b64token_char(b), expected, "{b:#04x}");
            assert_eq!(all_b64token_chars(&[b'a', b, b'Z']), expected, "{b:#04x}");
        }
        assert!(all_b64token_chars(b""));
    }

    #[test]
    fn the_plain_form_answers_as_every_step_does() {
        let token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl-_~+/==";
        let mut values: Vec<String> = vec![
            format!("Bearer {token}"),
            format!("bearer {token}"),
            format!("BEARER {token}"),
            format!("Bearer  {token}"),
            format!(" Bearer {token}"),
            format!("Bearer {token} "),
            format!("Bearer {token}\t"),
            format!("Bearer ={token}"),
            format!("Bearer {token}=x"),
            format!("Bearer {token},"),
            format!("Bearer {token}, Bearer {token}"),
            format!("Bearer {token}\u{a0}"),
            format!("Bearer\t{token}"),
            format!("Bearerx{token}"),
            format!("Basic {token}"),
            "Bearer ==".to_owned(),
            "Bearer =".to_owned(),
            "Bearer a".to_owned(),
            "Bearer ".to_owned(),
            "Bearer".to_owned(),
            String::new(),
        ];
        for b in 0..=127u8 {
            values.push(format!("Bearer ab{}cd", char::from(b)));
        }
        for value in &values {
            let bytes = value.as_bytes();
            let stepwise = unlisted(bytes).and_then(|v| {
                let v = std::str::from_utf8(v)
                    .map_err(|_| AuthError::InvalidToken(TokenRejection::Malformed))?;
                bearer_token(v)
            });
            if let Some(fast) = plain_bearer_token(bytes) {
                assert_eq!(Ok(fast), stepwise, "{value:?}");
            }
            assert_eq!(
                PresentedCredential::from_headers(Some(bytes), None),
                stepwise.map(PresentedCredential::Bearer),
                "{value:?}"
            );
        }
        assert_eq!(
            plain_bearer_token(format!("Bearer {token}").as_bytes()),
            Some(token)
        );
    }

    #[test]
    fn bearer_tokens_are_parsed() {
        assert_eq!(bearer_token("Bearer abc.def.ghi"), Ok("abc.def.ghi"));
        assert_eq!(bearer_token("bearer   abc.def.ghi "), Ok("abc.def.ghi"));
        assert_eq!(bearer_token(""), Err(AuthError::MissingCredentials));
        assert_eq!(bearer_token("Bearer"), Err(AuthError::MissingCredentials));
        assert_eq!(bearer_token("Bearer "), Err(AuthError::MissingCredentials));
        assert!(matches!(
            bearer_token("Basic dXNlcjpwdw=="),
            Err(AuthError::UnsupportedCredentials(_))
        ));
        assert_eq!(
            bearer_token("Bearer a b"),
            Err(AuthError::InvalidToken(TokenRejection::Malformed))
        );
        assert_eq!(
            bearer_token("Bearer a\"b"),
            Err(AuthError::InvalidToken(TokenRejection::Malformed))
        );
    }

    #[test]
    fn exactly_one_credential_is_accepted() {
        assert_eq!(
            PresentedCredential::from_headers(None, None::<&[u8]>),
            Err(AuthError::MissingCredentials)
        );
        assert_eq!(
            PresentedCredential::from_headers(Some(&b"Bearer t.t.t"[..]), None),
            Ok(PresentedCredential::Bearer("t.t.t"))
        );
        assert_eq!(
            PresentedCredential::from_headers(None, Some(&b" key "[..])),
            Ok(PresentedCredential::ApiKey("key"))
        );
        assert_eq!(
            PresentedCredential::from_headers(None, Some(&b""[..])),
            Err(AuthError::InvalidApiKey)
        );
        assert_eq!(
            PresentedCredential::from_headers(None, Some(&b"\xff"[..])),
            Err(AuthError::InvalidApiKey)
        );
        assert_eq!(
            PresentedCredential::from_headers(Some(&b"Bearer t"[..]), Some(&b"k"[..])),
            Err(AuthError::AmbiguousCredentials)
        );
        assert_eq!(
            format!("{:?}", PresentedCredential::ApiKey("secret")),
            "ApiKey([redacted])"
        );
    }

    #[test]
    fn repeated_or_listed_credentials_are_ambiguous() {
        let (token, key) = (&b"Bearer t.t.t"[..], &b"k"[..]);
        for (authorization, api_key) in [
            (vec![token, token], vec![]),
            (vec![], vec![key, key]),
            (vec![token, &b"Bearer u.u.u"[..]], vec![]),
            (vec![&b"Bearer t.t.t, Bearer u.u.u"[..]], vec![]),
            (vec![], vec![&b"k1, k2"[..]]),
            (vec![token], vec![key]),
            (vec![token, token], vec![key, key]),
        ] {
            assert_eq!(
                PresentedCredential::from_headers(authorization.clone(), api_key.clone()),
                Err(AuthError::AmbiguousCredentials),
                "{authorization:?} {api_key:?}"
            );
        }
    }

    #[test]
    fn credentials_in_query_strings_are_detected() {
        assert!(query_has_credentials("api_key=abc"));
        assert!(query_has_credentials("prefix=a&X-Api-Key=abc"));
        assert!(query_has_credentials("access%5Ftoken=abc"));
        assert!(!query_has_credentials(
            "prefix=a&cursor=b&key=users/alice/x"
        ));
        assert!(!query_has_credentials(""));
    }
}
