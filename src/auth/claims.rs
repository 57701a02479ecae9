//! The registered claims of a verified token, checked strictly against the caller's clock, and
//! the scopes it grants.
//!
//! `jsonwebtoken` has already verified the signature, the presence of `exp`, `iss`, `aud` and
//! `sub` and the `iss`/`aud` values. This module checks the rest with exact JSON types, because
//! type confusion is an attack of its own ([RFC 8725 §2.8]): `exp` and `nbf` must be numbers
//! (NumericDate, [RFC 7519 §2]), `iss` and `sub` strings, `aud` a string or an array of strings.
//! It also checks `exp` and `nbf` against the `now` given by the caller (jsonwebtoken can only
//! read the system clock), so validation is deterministic.
//!
//! [RFC 8725 §2.8]: https://www.rfc-editor.org/rfc/rfc8725#section-2.8
//! [RFC 7519 §2]: https://www.rfc-editor.org/rfc/rfc7519#section-2

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

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
    /// The claim that carries scopes.
    pub scope_claim: &'a str,
}

/// The principal of a token whose signature has been verified.
pub(crate) fn principal(
    claims: &Map<String, Value>,
    rules: &ClaimRules<'_>,
    now: DateTime<Utc>,
) -> Result<Principal, TokenRejection> {
    check_times(claims, rules.leeway_secs, now)?;
    let issuer = match claims.get("iss") {
        None => return Err(TokenRejection::MissingClaim("iss")),
        Some(Value::String(iss)) if iss == rules.issuer => iss.clone(),
        Some(Value::String(_)) => return Err(TokenRejection::WrongIssuer),
        Some(_) => return Err(TokenRejection::InvalidClaim("iss")),
    };
    check_audience(claims.get("aud"), rules.audience)?;
    let subject = match claims.get("sub") {
        None => return Err(TokenRejection::MissingClaim("sub")),
        Some(Value::String(sub)) if !sub.is_empty() => sub.clone(),
        Some(_) => return Err(TokenRejection::InvalidClaim("sub")),
    };
    let scopes = scopes(claims.get(rules.scope_claim))?;
    Ok(Principal::new(subject, Some(issuer), scopes))
}

/// `exp` must be a number and not past (`now < exp + leeway`, [RFC 7519 §4.1.4]); `nbf`, when
/// present, a number and not future (`now + leeway >= nbf`, [RFC 7519 §4.1.5]).
///
/// [RFC 7519 §4.1.4]: https://www.rfc-editor.org/rfc/rfc7519#section-4.1.4
/// [RFC 7519 §4.1.5]: https://www.rfc-editor.org/rfc/rfc7519#section-4.1.5
pub(crate) fn check_times(
    claims: &Map<String, Value>,
    leeway_secs: u64,
    now: DateTime<Utc>,
) -> Result<(), TokenRejection> {
    let now = now.timestamp() as f64;
    let leeway = leeway_secs as f64;
    let exp = match claims.get("exp") {
        None => return Err(TokenRejection::MissingClaim("exp")),
        Some(value) => numeric_date(value).ok_or(TokenRejection::InvalidClaim("exp"))?,
    };
    if now >= exp + leeway {
        return Err(TokenRejection::Expired);
    }
    if let Some(value) = claims.get("nbf") {
        let nbf = numeric_date(value).ok_or(TokenRejection::InvalidClaim("nbf"))?;
        if now + leeway < nbf {
            return Err(TokenRejection::NotYetValid);
        }
    }
    Ok(())
}

/// A JSON number of seconds since the epoch; strings and other types are refused.
fn numeric_date(value: &Value) -> Option<f64> {
    let Value::Number(number) = value else {
        return None;
    };
    number.as_f64().filter(|n| n.is_finite() && *n >= 0.0)
}

/// `aud` must be a string or an array of strings, and name one of the accepted audiences
/// ([RFC 7519 §4.1.3]).
///
/// [RFC 7519 §4.1.3]: https://www.rfc-editor.org/rfc/rfc7519#section-4.1.3
fn check_audience(aud: Option<&Value>, accepted: &[String]) -> Result<(), TokenRejection> {
    let accepts = |value: &str| accepted.iter().any(|a| a == value);
    match aud {
        None => Err(TokenRejection::MissingClaim("aud")),
        Some(Value::String(one)) if accepts(one) => Ok(()),
        Some(Value::String(_)) => Err(TokenRejection::WrongAudience),
        Some(Value::Array(many)) => {
            let mut found = false;
            for item in many {
                let Value::String(item) = item else {
                    return Err(TokenRejection::InvalidClaim("aud"));
                };
                found |= accepts(item);
            }
            if found {
                Ok(())
            } else {
                Err(TokenRejection::WrongAudience)
            }
        }
        Some(_) => Err(TokenRejection::InvalidClaim("aud")),
    }
}

/// Scopes from the scope claim: a space-separated string ([RFC 8693 §4.2]) or an array of
/// strings. Unknown scope names are ignored; an absent claim grants no scope.
///
/// [RFC 8693 §4.2]: https://www.rfc-editor.org/rfc/rfc8693#section-4.2
pub(crate) fn scopes(claim: Option<&Value>) -> Result<Scopes, TokenRejection> {
    let known = |name: &str| name.parse::<Scope>().ok();
    match claim {
        None => Ok(Scopes::NONE),
        Some(Value::String(names)) => {
            Ok(names.split_ascii_whitespace().filter_map(known).collect())
        }
        Some(Value::Array(items)) => {
            let mut scopes = Scopes::NONE;
            for item in items {
                let Value::String(name) = item else {
                    return Err(TokenRejection::InvalidClaim("scope"));
                };
                if let Some(scope) = known(name) {
                    scopes = scopes.with(scope);
                }
            }
            Ok(scopes)
        }
        Some(_) => Err(TokenRejection::InvalidClaim("scope")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_700_000_000;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(NOW, 0).expect("valid time")
    }

    fn claims(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => panic!("test claims are an object"),
        }
    }

    fn check(value: Value) -> Result<Principal, TokenRejection> {
        let audience = ["broker".to_owned()];
        let rules = ClaimRules {
            issuer: "https://issuer",
            audience: &audience,
            leeway_secs: 30,
            scope_claim: "scope",
        };
        principal(&claims(value), &rules, now())
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
        assert_eq!(p.subject, "alice");
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
        assert_eq!(scopes(None), Ok(Scopes::NONE));
        let s = scopes(Some(&json!("  download\tdelete  nope "))).expect("string");
        assert_eq!(s.names(), ["download", "delete"]);
        let s = scopes(Some(&json!(["list", "nope", "upload"]))).expect("array");
        assert_eq!(s.names(), ["upload", "list"]);
        assert!(scopes(Some(&json!(["list", 1]))).is_err());
        assert!(scopes(Some(&json!({"upload": true}))).is_err());
        assert!(scopes(Some(&json!(true))).is_err());
    }
}
