//! JWT headers and claims: arbitrary JOSE headers and claim sets (any JSON type where a string
//! or number belongs, huge and negative times, repeated and unknown members, `jku`, `crit`...),
//! signed with the broker's own HS256 secret so that the claims are really read, and raw
//! token text. Authentication never panics, and accepts only a token whose `iss`, `aud`, `sub`
//! and times are right.

use crate::support::{AUDIENCE, HS_SECRET, ISSUER, fuzz, settings};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use proptest::prelude::*;
use s3_broker::auth::Authenticator;
use serde_json::{Value, json};
use sha2::Sha256;

/// Any JSON value, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "\\PC{0,20}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-z]{1,4}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A member that is usually right and sometimes anything.
fn member(right: Value) -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        4 => Just(Some(right)),
        1 => Just(None),
        2 => any_json().prop_map(Some),
    ]
}

fn header() -> impl Strategy<Value = Value> {
    (
        member(json!("HS256")),
        member(json!("JWT")),
        prop::option::of(any_json()),
        prop::option::of(prop::sample::select(vec![
            "jku", "x5u", "jwk", "x5c", "crit", "b64", "zip",
        ])),
    )
        .prop_map(|(alg, typ, kid, extra)| {
            let mut h = serde_json::Map::new();
            for (name, value) in [("alg", alg), ("typ", typ), ("kid", kid)] {
                if let Some(value) = value {
                    h.insert(name.into(), value);
                }
            }
            if let Some(extra) = extra {
                h.insert(extra.into(), json!(["exp"]));
            }
            Value::Object(h)
        })
}

fn claims() -> impl Strategy<Value = Value> {
    let now = chrono::Utc::now().timestamp();
    (
        member(json!(ISSUER)),
        member(json!(AUDIENCE)),
        member(json!("alice")),
        member(json!(now + 600)),
        member(json!(now - 5)),
        member(json!("upload download")),
        prop::collection::btree_map("[a-z_]{1,6}", any_json(), 0..3),
    )
        .prop_map(|(iss, aud, sub, exp, nbf, scope, extra)| {
            let mut c: serde_json::Map<String, Value> = extra.into_iter().collect();
            for (name, value) in [
                ("iss", iss),
                ("aud", aud),
                ("sub", sub),
                ("exp", exp),
                ("nbf", nbf),
                ("scope", scope),
            ] {
                if let Some(value) = value {
                    c.insert(name.into(), value);
                }
            }
            Value::Object(c)
        })
}

#[derive(Debug, Clone)]
enum Token {
    Signed(Value, Value),
    Raw(String),
}

fn sign(header: &Value, claims: &Value) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(HS_SECRET.as_bytes()).expect("a key");
    mac.update(input.as_bytes());
    format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

#[actix_web::test]
async fn jose_headers_and_claims() {
    let policies = tempfile::tempdir().expect("a directory");
    let auth = Authenticator::from_config(&settings(policies.path()).auth).expect("auth");
    let tokens = prop_oneof![
        4 => (header(), claims()).prop_map(|(h, c)| Token::Signed(h, c)),
        1 => prop_oneof!["[A-Za-z0-9_.-]{0,200}", "\\PC{0,100}"].prop_map(Token::Raw),
    ];
    fuzz("jwt", tokens, |token| {
        let auth = &auth;
        async move {
            let text = match &token {
                Token::Signed(h, c) => sign(h, c),
                Token::Raw(raw) => raw.clone(),
            };
            let outcome = auth.authenticate_bearer(&text, chrono::Utc::now()).await;
            if let (Ok(principal), Token::Signed(header, claims)) = (&outcome, &token) {
                let right = header["alg"] == "HS256"
                    && claims["iss"] == ISSUER
                    && (claims["aud"] == AUDIENCE
                        || claims["aud"]
                            .as_array()
                            .is_some_and(|a| a.contains(&json!(AUDIENCE))))
                    && claims["sub"].as_str() == Some(&*principal.subject)
                    && claims["exp"].is_number();
                if !right {
                    return Err(format!("accepted {header} {claims}"));
                }
            }
            if let (Ok(_), Token::Raw(raw)) = (&outcome, &token) {
                return Err(format!("accepted a raw token {raw:?}"));
            }
            Ok(())
        }
    })
    .await;
}
