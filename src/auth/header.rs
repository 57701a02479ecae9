//! The JOSE header of a compact JWS ([RFC 7515 §4]), inspected before any key is chosen.
//!
//! The header is attacker-controlled. It may only *select* among configured keys (through `kid`)
//! and name an algorithm that configuration already pins; it can never introduce a key (`jwk`,
//! `x5c`) or a place to fetch one from (`jku`, `x5u`), see [RFC 8725 §3.1 and §3.10].
//!
//! [RFC 7515 §4]: https://www.rfc-editor.org/rfc/rfc7515#section-4
//! [RFC 8725 §3.1 and §3.10]: https://www.rfc-editor.org/rfc/rfc8725#section-3.10

use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde_json::{Map, Value};

use super::error::TokenRejection;

/// The longest token accepted, in bytes.
pub const MAX_TOKEN_LEN: usize = 16 * 1024;

/// The longest `kid` accepted, in bytes.
const MAX_KID_LEN: usize = 256;

/// Header parameters that carry or locate a key: never used, and refused.
const KEY_HEADERS: [&str; 4] = ["jku", "x5u", "jwk", "x5c"];

/// What the header may decide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TokenHeader {
    /// The signature algorithm, one of the pinned ones.
    pub alg: Algorithm,
    /// The key id, if any.
    pub kid: Option<String>,
}

/// Checks the token's shape and header: three base64url parts, a JSON object header whose `alg`
/// is pinned, no key-carrying parameters, no critical extensions.
pub(crate) fn inspect(token: &str, pinned: &[Algorithm]) -> Result<TokenHeader, TokenRejection> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(TokenRejection::TooLong);
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenRejection::Malformed);
    };
    if [header, payload, signature]
        .iter()
        .any(|p| !is_base64url(p))
        || header.is_empty()
    {
        return Err(TokenRejection::Malformed);
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| TokenRejection::Malformed)?;
    let fields: Map<String, Value> =
        serde_json::from_slice(&bytes).map_err(|_| TokenRejection::Malformed)?;

    let alg = match fields.get("alg") {
        Some(Value::String(name)) => Algorithm::from_str(name).ok(),
        Some(_) => return Err(TokenRejection::Malformed),
        None => None,
    };
    let alg = alg
        .filter(|a| pinned.contains(a))
        .ok_or(TokenRejection::AlgorithmNotAllowed)?;
    if let Some(name) = KEY_HEADERS.iter().find(|h| fields.contains_key(**h)) {
        return Err(TokenRejection::UntrustedKeyHeader(name));
    }
    if fields.contains_key("crit") {
        return Err(TokenRejection::CriticalHeader);
    }
    let kid = match fields.get("kid") {
        None => None,
        Some(Value::String(kid)) if !kid.is_empty() && kid.len() <= MAX_KID_LEN => {
            Some(kid.clone())
        }
        Some(_) => return Err(TokenRejection::Malformed),
    };
    Ok(TokenHeader { alg, kid })
}

fn is_base64url(part: &str) -> bool {
    part.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(header: &str) -> String {
        format!("{}.e30.c2ln", URL_SAFE_NO_PAD.encode(header))
    }

    const PINNED: [Algorithm; 2] = [Algorithm::HS256, Algorithm::RS256];

    #[test]
    fn pinned_algorithms_and_kids_pass() {
        let h = inspect(&token(r#"{"alg":"RS256","kid":"k1","typ":"JWT"}"#), &PINNED).expect("ok");
        assert_eq!(
            h,
            TokenHeader {
                alg: Algorithm::RS256,
                kid: Some("k1".into())
            }
        );
    }

    #[test]
    fn other_algorithms_are_refused() {
        for header in [
            r#"{"alg":"none"}"#,
            r#"{"alg":"None"}"#,
            r#"{"alg":"ES256"}"#,
            r#"{"alg":"HS257"}"#,
            r#"{"typ":"JWT"}"#,
        ] {
            assert_eq!(
                inspect(&token(header), &PINNED),
                Err(TokenRejection::AlgorithmNotAllowed),
                "{header}"
            );
        }
    }

    #[test]
    fn key_headers_are_refused() {
        for name in KEY_HEADERS {
            let header = format!(r#"{{"alg":"RS256","{name}":"https://evil.example/k"}}"#);
            assert_eq!(
                inspect(&token(&header), &PINNED),
                Err(TokenRejection::UntrustedKeyHeader(name))
            );
        }
        let crit = r#"{"alg":"RS256","crit":["exp"],"exp":1}"#;
        assert_eq!(
            inspect(&token(crit), &PINNED),
            Err(TokenRejection::CriticalHeader)
        );
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let long = "a".repeat(MAX_TOKEN_LEN + 1);
        assert_eq!(inspect(&long, &PINNED), Err(TokenRejection::TooLong));
        for bad in [
            "",
            "abc",
            "a.b",
            "a.b.c.d",
            "a.b.c.d.e",
            "!!.e30.c2ln",
            "e30=.e30.c2ln",
            ".e30.c2ln",
            &token("[]"),
            &token("not json"),
            &token(r#"{"alg":1}"#),
            &token(r#"{"alg":"RS256","kid":7}"#),
            &token(r#"{"alg":"RS256","kid":""}"#),
        ] {
            assert_eq!(
                inspect(bad, &PINNED),
                Err(TokenRejection::Malformed),
                "{bad}"
            );
        }
    }
}
