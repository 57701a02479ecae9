//! The JOSE header of a compact JWS ([RFC 7515 §4]), inspected before any key is chosen.
//!
//! The header is attacker-controlled. It may only *select* among configured keys (through `kid`)
//! and name an algorithm that configuration already pins; it can never introduce a key (`jwk`,
//! `x5c`) or a place to fetch one from (`jku`, `x5u`), see [RFC 8725 §3.1 and §3.10].
//!
//! [RFC 7515 §4]: https://www.rfc-editor.org/rfc/rfc7515#section-4
//! [RFC 8725 §3.1 and §3.10]: https://www.rfc-editor.org/rfc/rfc8725#section-3.10

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde::de::{IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::claims::Claim;
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
    /// The header has parameters beyond `alg`, `typ` and `kid` (or repeats one, or `typ` is not
    /// a string): it must also pass `jsonwebtoken`'s header parsing (see [`check_full`]).
    pub unusual: bool,
}

/// The three parts of a compact JWS.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Parts<'a> {
    /// `header.payload`, the signed message.
    pub message: &'a str,
    /// The base64url payload.
    pub payload: &'a str,
    /// The base64url signature.
    pub signature: &'a str,
}

/// Splits a token into its parts: three base64url parts, the header not empty.
fn split(token: &str) -> Result<(&str, Parts<'_>), TokenRejection> {
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
    let message = &token[..header.len() + 1 + payload.len()];
    Ok((
        header,
        Parts {
            message,
            payload,
            signature,
        },
    ))
}

/// The header alone, for tests.
#[cfg(test)]
pub(crate) fn inspect(token: &str, pinned: &[Algorithm]) -> Result<TokenHeader, TokenRejection> {
    inspect_parts(token, pinned).map(|(header, _)| header)
}

/// Checks the token's shape and header: three base64url parts, a JSON object header whose `alg`
/// is pinned, no key-carrying parameters, no critical extensions. Returns the header and the
/// token's [`Parts`].
pub(crate) fn inspect_parts<'t>(
    token: &'t str,
    pinned: &[Algorithm],
) -> Result<(TokenHeader, Parts<'t>), TokenRejection> {
    let (header, parts) = split(token)?;
    let bytes = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| TokenRejection::Malformed)?;
    let fields: HeaderFields<'_> =
        serde_json::from_slice(&bytes).map_err(|_| TokenRejection::Malformed)?;

    let alg = match &fields.alg {
        Some(Claim::Str(name)) => Algorithm::from_str(name).ok(),
        Some(_) => return Err(TokenRejection::Malformed),
        None => None,
    };
    let alg = alg
        .filter(|a| pinned.contains(a))
        .ok_or(TokenRejection::AlgorithmNotAllowed)?;
    if let Some(name) = KEY_HEADERS
        .iter()
        .zip(fields.key_headers)
        .find_map(|(name, present)| present.then_some(*name))
    {
        return Err(TokenRejection::UntrustedKeyHeader(name));
    }
    if fields.crit {
        return Err(TokenRejection::CriticalHeader);
    }
    let kid = match fields.kid {
        None => None,
        Some(Claim::Str(kid)) if !kid.is_empty() && kid.len() <= MAX_KID_LEN => {
            Some(kid.into_owned())
        }
        Some(_) => return Err(TokenRejection::Malformed),
    };
    let unusual = fields.unusual || !matches!(fields.typ, None | Some(Claim::Str(_)));
    Ok((TokenHeader { alg, kid, unusual }, parts))
}

/// For an [unusual](TokenHeader::unusual) header: the header must also parse as
/// `jsonwebtoken`'s `Header` (typed registered parameters, none repeated), as it always had to.
pub(crate) fn check_full(token: &str) -> Result<(), TokenRejection> {
    jsonwebtoken::decode_header(token)
        .map(|_| ())
        .map_err(|_| TokenRejection::Malformed)
}

/// The header parameters the checks read; the others only mark the header unusual.
#[derive(Debug, Default)]
struct HeaderFields<'a> {
    alg: Option<Claim<'a>>,
    typ: Option<Claim<'a>>,
    kid: Option<Claim<'a>>,
    /// Which of [`KEY_HEADERS`] are present.
    key_headers: [bool; 4],
    crit: bool,
    unusual: bool,
}

impl<'de> Deserialize<'de> for HeaderFields<'de> {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        de.deserialize_map(HeaderVisitor)
    }
}

struct HeaderVisitor;

impl<'de> Visitor<'de> for HeaderVisitor {
    type Value = HeaderFields<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JOSE header object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = HeaderFields::default();
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            let slot = match key.as_ref() {
                "alg" => &mut fields.alg,
                "typ" => &mut fields.typ,
                "kid" => &mut fields.kid,
                other => {
                    if let Some(i) = KEY_HEADERS.iter().position(|h| *h == other) {
                        fields.key_headers[i] = true;
                    }
                    fields.crit |= other == "crit";
                    fields.unusual = true;
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            // A repeated parameter: the last one counts here, and `jsonwebtoken` refuses it.
            fields.unusual |= slot.is_some();
            *slot = Some(map.next_value::<Claim<'de>>()?);
        }
        Ok(fields)
    }
}

/// The base64url alphabet ([RFC 4648 §5](https://www.rfc-editor.org/rfc/rfc4648#section-5)),
/// as a table: one load per byte of the token.
const BASE64URL: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || c == b'-' || c == b'_';
        b += 1;
    }
    table
};

fn is_base64url(part: &str) -> bool {
    part.bytes().all(|b| BASE64URL[usize::from(b)])
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
                kid: Some("k1".into()),
                unusual: false,
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
    fn the_alphabet_is_base64url() {
        let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        assert!(is_base64url(alphabet));
        let accepted = (0..=255u8).filter(|b| BASE64URL[usize::from(*b)]).count();
        assert_eq!(accepted, 64);
        for bad in ["+", "/", "=", " ", ".", "\u{e9}"] {
            assert!(!is_base64url(bad), "{bad}");
        }
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
