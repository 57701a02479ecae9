//! The claims of a verified token, read once into a typed summary and checked strictly
//! against the caller's clock, and the scopes they grant.
//!
//! Type confusion is an attack of its own ([RFC 8725 §2.8]): `exp` and `nbf` must be numbers
//! (NumericDate, [RFC 7519 §2]), `iss` and `sub` strings, `aud` a string or an array of strings.
//! `exp` and `nbf` are checked against the `now` given by the caller, so validation is
//! deterministic.
//!
//! The payload is parsed once, borrowing its strings, and only the claims the broker reads are
//! kept ([`TokenClaims`]). The order of the checks, and so the reason given for a token with
//! several faults, is the one of `jsonwebtoken`'s validation followed by the strict checks
//! (see [`check`]).
//!
//! [RFC 8725 §2.8]: https://www.rfc-editor.org/rfc/rfc8725#section-2.8
//! [RFC 7519 §2]: https://www.rfc-editor.org/rfc/rfc7519#section-2

use std::borrow::Cow;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::domain::{Principal, Scope, Scopes};

use super::error::TokenRejection;

/// What the claims are checked against.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClaimRules<'a> {
    /// The only accepted `iss`.
    pub issuer: &'a str,
    /// Accepted `aud` values.
    pub audience: &'a [String],
    /// Clock-skew allowance for `exp` and `nbf`.
    pub leeway_secs: u64,
}

/// One claim's (or header parameter's) value, reduced to what the checks need.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) enum Claim<'a> {
    /// Not in the payload.
    #[default]
    Absent,
    /// `null`, a boolean or an object: never the right type.
    Other,
    /// A number, and whether it is a non-negative integer-like value below 2^64 (what a
    /// NumericDate may be).
    Number(f64, bool),
    /// A string.
    Str(Cow<'a, str>),
    /// An array of strings.
    Strings(Vec<Cow<'a, str>>),
    /// An array with an item that is not a string.
    MixedArray,
}

/// The claims the broker reads, borrowed from the decoded payload.
#[derive(Debug, Default)]
pub(crate) struct TokenClaims<'a> {
    pub exp: Claim<'a>,
    pub nbf: Claim<'a>,
    pub iss: Claim<'a>,
    pub aud: Claim<'a>,
    pub sub: Claim<'a>,
    pub scope: Claim<'a>,
    /// When the token was issued: compared with revocations ([RFC 7519 §4.1.6]).
    ///
    /// [RFC 7519 §4.1.6]: https://www.rfc-editor.org/rfc/rfc7519#section-4.1.6
    pub iat: Claim<'a>,
}

/// The registered claims that may appear only once (a repeated one is refused as malformed,
/// as `jsonwebtoken` does).
const REGISTERED: [&str; 6] = ["exp", "nbf", "iss", "aud", "sub", "iat"];

/// Reads the claims from a decoded payload: a JSON object, or [`TokenRejection::Malformed`].
pub(crate) fn parse<'a>(
    payload: &'a [u8],
    scope_claim: &str,
) -> Result<TokenClaims<'a>, TokenRejection> {
    let mut de = serde_json::Deserializer::from_slice(payload);
    let claims = ClaimsSeed { scope_claim }
        .deserialize(&mut de)
        .map_err(|_| TokenRejection::Malformed)?;
    de.end().map_err(|_| TokenRejection::Malformed)?;
    Ok(claims)
}

/// Times a verified token is valid between, for the verified-token cache.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Validity {
    /// `exp`, seconds since the epoch.
    pub exp: f64,
    /// `nbf`, if present.
    pub nbf: Option<f64>,
}

/// The principal of a token whose signature has been verified, and its validity times.
///
/// Checks, in this order: `exp`, `iss`, `aud`, `sub` present with a usable type; `iss` and
/// `aud` values; `exp` and `nbf` against `now` with the leeway; then the exact types (`iss` a
/// string, `sub` a non-empty string, the scope claim a string or an array of strings).
pub(crate) fn check(
    claims: &TokenClaims<'_>,
    rules: &ClaimRules<'_>,
    now: DateTime<Utc>,
) -> Result<(Principal, Validity), TokenRejection> {
    required(&claims.exp, "exp", |c| matches!(c, Claim::Number(_, true)))?;
    let string_or_list = |c: &Claim<'_>| matches!(c, Claim::Str(_) | Claim::Strings(_));
    required(&claims.iss, "iss", string_or_list)?;
    required(&claims.aud, "aud", string_or_list)?;
    required(&claims.sub, "sub", |c| matches!(c, Claim::Str(_)))?;
    if !names_one(&claims.iss, |iss| iss == rules.issuer) {
        return Err(TokenRejection::WrongIssuer);
    }
    if !names_one(&claims.aud, |aud| rules.audience.iter().any(|a| a == aud)) {
        return Err(TokenRejection::WrongAudience);
    }
    let validity = check_times(claims, rules.leeway_secs, now)?;
    let Claim::Str(issuer) = &claims.iss else {
        return Err(TokenRejection::InvalidClaim("iss"));
    };
    let subject = match &claims.sub {
        Claim::Str(sub) if !sub.is_empty() => sub,
        _ => return Err(TokenRejection::InvalidClaim("sub")),
    };
    let scopes = scopes(&claims.scope)?;
    let issued_at = match &claims.iat {
        Claim::Absent => None,
        value => Some(numeric_date(value).ok_or(TokenRejection::InvalidClaim("iat"))? as i64),
    };
    let mut principal = Principal::new(subject.as_ref(), Some(issuer.as_ref().to_owned()), scopes);
    principal.issued_at = issued_at;
    Ok((principal, validity))
}

/// A required claim: absent is [`TokenRejection::MissingClaim`], present with a type `usable`
/// refuses is [`TokenRejection::InvalidClaim`].
fn required(
    claim: &Claim<'_>,
    name: &'static str,
    usable: impl Fn(&Claim<'_>) -> bool,
) -> Result<(), TokenRejection> {
    match claim {
        Claim::Absent => Err(TokenRejection::MissingClaim(name)),
        c if usable(c) => Ok(()),
        _ => Err(TokenRejection::InvalidClaim(name)),
    }
}

/// Whether a string, or one string of an array, is accepted.
fn names_one(claim: &Claim<'_>, accepts: impl Fn(&str) -> bool) -> bool {
    match claim {
        Claim::Str(one) => accepts(one),
        Claim::Strings(many) => many.iter().any(|s| accepts(s)),
        _ => false,
    }
}

/// `exp` must be a number and not past (`now < exp + leeway`, [RFC 7519 §4.1.4]); `nbf`, when
/// present, a number and not future (`now + leeway >= nbf`, [RFC 7519 §4.1.5]).
///
/// [RFC 7519 §4.1.4]: https://www.rfc-editor.org/rfc/rfc7519#section-4.1.4
/// [RFC 7519 §4.1.5]: https://www.rfc-editor.org/rfc/rfc7519#section-4.1.5
pub(crate) fn check_times(
    claims: &TokenClaims<'_>,
    leeway_secs: u64,
    now: DateTime<Utc>,
) -> Result<Validity, TokenRejection> {
    let now = now.timestamp() as f64;
    let leeway = leeway_secs as f64;
    let exp = match &claims.exp {
        Claim::Absent => return Err(TokenRejection::MissingClaim("exp")),
        value => numeric_date(value).ok_or(TokenRejection::InvalidClaim("exp"))?,
    };
    if now >= exp + leeway {
        return Err(TokenRejection::Expired);
    }
    let nbf = match &claims.nbf {
        Claim::Absent => None,
        value => Some(numeric_date(value).ok_or(TokenRejection::InvalidClaim("nbf"))?),
    };
    if nbf.is_some_and(|nbf| now + leeway < nbf) {
        return Err(TokenRejection::NotYetValid);
    }
    Ok(Validity { exp, nbf })
}

/// A JSON number of seconds since the epoch; strings and other types are refused.
fn numeric_date(value: &Claim<'_>) -> Option<f64> {
    match value {
        Claim::Number(n, _) if n.is_finite() && *n >= 0.0 => Some(*n),
        _ => None,
    }
}

/// Scopes from the scope claim: a space-separated string ([RFC 8693 §4.2]) or an array of
/// strings. Unknown scope names are ignored; an absent claim grants no scope.
///
/// [RFC 8693 §4.2]: https://www.rfc-editor.org/rfc/rfc8693#section-4.2
pub(crate) fn scopes(claim: &Claim<'_>) -> Result<Scopes, TokenRejection> {
    let known = |name: &str| name.parse::<Scope>().ok();
    match claim {
        Claim::Absent => Ok(Scopes::NONE),
        Claim::Str(names) => Ok(names.split_ascii_whitespace().filter_map(known).collect()),
        Claim::Strings(items) => Ok(items.iter().filter_map(|n| known(n)).collect()),
        _ => Err(TokenRejection::InvalidClaim("scope")),
    }
}

/// Reads a JSON object into [`TokenClaims`], skipping the claims the broker does not read.
struct ClaimsSeed<'s> {
    scope_claim: &'s str,
}

impl<'de> DeserializeSeed<'de> for ClaimsSeed<'_> {
    type Value = TokenClaims<'de>;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        de.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ClaimsSeed<'_> {
    type Value = TokenClaims<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object of claims")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut claims = TokenClaims::default();
        let mut seen = [false; REGISTERED.len()];
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            let registered = REGISTERED.iter().position(|r| *r == key);
            let is_scope = key == self.scope_claim;
            if registered.is_none() && !is_scope {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            let value = map.next_value::<Claim<'de>>()?;
            if is_scope {
                claims.scope = value.clone();
            }
            let Some(index) = registered else {
                continue;
            };
            if std::mem::replace(&mut seen[index], true) {
                return Err(de::Error::custom("repeated registered claim"));
            }
            let slot = match index {
                0 => &mut claims.exp,
                1 => &mut claims.nbf,
                2 => &mut claims.iss,
                3 => &mut claims.aud,
                4 => &mut claims.sub,
                _ => &mut claims.iat,
            };
            *slot = value;
        }
        Ok(claims)
    }
}

impl<'de> Deserialize<'de> for Claim<'de> {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        de.deserialize_any(ClaimVisitor)
    }
}

/// Reduces any JSON value to a [`Claim`].
struct ClaimVisitor;

impl<'de> Visitor<'de> for ClaimVisitor {
    type Value = Claim<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Claim::Number(v as f64, true))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Claim::Number(v as f64, v >= 0))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        let date_like = v.is_finite() && v >= 0.0 && v < u64::MAX as f64;
        Ok(Claim::Number(v, date_like))
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Claim::Str(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Claim::Str(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Claim::Str(Cow::Owned(v)))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Claim::Other)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Claim::Other)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Claim::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Claim::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut strings = Vec::new();
        while let Some(item) = seq.next_element::<Claim<'de>>()? {
            match item {
                Claim::Str(s) => strings.push(s),
                _ => {
                    while seq.next_element::<IgnoredAny>()?.is_some() {}
                    return Ok(Claim::MixedArray);
                }
            }
        }
        Ok(Claim::Strings(strings))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    const NOW: i64 = 1_700_000_000;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(NOW, 0).expect("valid time")
    }

    fn check(value: Value) -> Result<Principal, TokenRejection> {
        let audience = ["broker".to_owned()];
        let rules = ClaimRules {
            issuer: "https://issuer",
            audience: &audience,
            leeway_secs: 30,
        };
        let payload = value.to_string();
        let claims = parse(payload.as_bytes(), "scope")?;
        super::check(&claims, &rules, now()).map(|(principal, _)| principal)
    }

    fn scopes_of(value: Value) -> Result<Scopes, TokenRejection> {
        let payload = json!({ "scope": value }).to_string();
        scopes(&parse(payload.as_bytes(), "scope")?.scope)
    }

    fn base() -> Value {
        json!({"iss": "https://issuer", "aud": "broker", "sub": "alice", "exp": NOW + 60})
    }

    fn with(key: &str, value: Value) -> Value {
        let mut v = base();
        v[key] = value;
        v
    }

    fn without(key: &str) -> Value {
        let mut v = base();
        v.as_object_mut().map(|m| m.remove(key));
        v
    }

    #[test]
    fn a_good_token_names_its_principal() {
        let p = check(with("scope", json!("upload list admin"))).expect("valid");
        assert_eq!(&*p.subject, "alice");
        assert_eq!(p.issuer.as_deref(), Some("https://issuer"));
        assert_eq!(p.scopes.names(), ["upload", "list"]);
    }

    #[test]
    fn expiry_honours_the_leeway() {
        assert!(check(with("exp", json!(NOW - 29))).is_ok());
        assert_eq!(
            check(with("exp", json!(NOW - 30))),
            Err(TokenRejection::Expired)
        );
        assert_eq!(
            check(with("exp", json!(NOW - 3600))),
            Err(TokenRejection::Expired)
        );
        assert!(check(with("exp", json!((NOW + 60) as f64 + 0.5))).is_ok());
    }

    #[test]
    fn not_before_honours_the_leeway() {
        assert!(check(with("nbf", json!(NOW + 30))).is_ok());
        assert_eq!(
            check(with("nbf", json!(NOW + 31))),
            Err(TokenRejection::NotYetValid)
        );
    }

    #[test]
    fn numeric_dates_must_be_numbers() {
        let exp = (NOW + 60).to_string();
        assert_eq!(
            check(with("exp", json!(exp))),
            Err(TokenRejection::InvalidClaim("exp"))
        );
        assert_eq!(
            check(with("exp", json!(-1))),
            Err(TokenRejection::InvalidClaim("exp"))
        );
        assert_eq!(
            check(with("nbf", json!("0"))),
            Err(TokenRejection::InvalidClaim("nbf"))
        );
        assert_eq!(
            check(without("exp")),
            Err(TokenRejection::MissingClaim("exp"))
        );
    }

    #[test]
    fn issuer_audience_and_subject_have_exact_types() {
        assert_eq!(
            check(with("iss", json!(["https://issuer"]))),
            Err(TokenRejection::InvalidClaim("iss"))
        );
        assert_eq!(
            check(with("iss", json!("https://other"))),
            Err(TokenRejection::WrongIssuer)
        );
        assert_eq!(
            check(without("iss")),
            Err(TokenRejection::MissingClaim("iss"))
        );
        assert!(check(with("aud", json!(["x", "broker"]))).is_ok());
        assert_eq!(
            check(with("aud", json!(["x"]))),
            Err(TokenRejection::WrongAudience)
        );
        assert_eq!(
            check(with("aud", json!([]))),
            Err(TokenRejection::WrongAudience)
        );
        assert_eq!(
            check(with("aud", json!(7))),
            Err(TokenRejection::InvalidClaim("aud"))
        );
        assert_eq!(
            check(with("aud", json!(["broker", 7]))),
            Err(TokenRejection::InvalidClaim("aud"))
        );
        assert_eq!(
            check(without("aud")),
            Err(TokenRejection::MissingClaim("aud"))
        );
        assert_eq!(
            check(with("sub", json!(""))),
            Err(TokenRejection::InvalidClaim("sub"))
        );
        assert_eq!(
            check(with("sub", json!(42))),
            Err(TokenRejection::InvalidClaim("sub"))
        );
        assert_eq!(
            check(without("sub")),
            Err(TokenRejection::MissingClaim("sub"))
        );
    }

    #[test]
    fn scopes_come_from_a_string_or_an_array() {
        assert_eq!(scopes(&Claim::Absent), Ok(Scopes::NONE));
        let s = scopes_of(json!("  download\tdelete  nope ")).expect("string");
        assert_eq!(s.names(), ["download", "delete"]);
        let s = scopes_of(json!(["list", "nope", "upload"])).expect("array");
        assert_eq!(s.names(), ["upload", "list"]);
        assert!(scopes_of(json!(["list", 1])).is_err());
        assert!(scopes_of(json!({"upload": true})).is_err());
        assert!(scopes_of(json!(true)).is_err());
        assert!(scopes_of(json!(null)).is_err());
    }

    #[test]
    fn payloads_must_be_objects_without_repeated_registered_claims() {
        for bad in ["[]", "7", "\"x\"", "{", "{} {}", r#"{"sub":"a","sub":"b"}"#] {
            assert_eq!(
                parse(bad.as_bytes(), "scope").map(|_| ()),
                Err(TokenRejection::Malformed),
                "{bad}"
            );
        }
        let repeated_scope = r#"{"scope":7,"scope":"upload"}"#;
        let claims = parse(repeated_scope.as_bytes(), "scope").expect("last one wins");
        assert_eq!(claims.scope, Claim::Str("upload".into()));
    }

    #[test]
    fn escaped_strings_are_read() {
        let payload = r#"{"sub":"al\u0069ce","iss":"https:\/\/issuer"}"#;
        let claims = parse(payload.as_bytes(), "scope").expect("parses");
        assert_eq!(claims.sub, Claim::Str("alice".into()));
        assert_eq!(claims.iss, Claim::Str("https://issuer".into()));
    }
}
