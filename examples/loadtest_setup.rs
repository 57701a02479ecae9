//! Writes the broker configurations and credentials of `scripts/loadtest-compare`: one
//! configuration per way of authenticating (HS256, RS256 and ES256 tokens, an API key), each
//! with one worker, static credentials, a store address on 127.0.0.1 that is never called
//! (granting signs locally) and the repository's profiles; plus one long-lived credential per
//! mode, reused by every request as a browser session reuses its token.
//!
//! `cargo run --release --example loadtest_setup -- OUT_DIR POLICIES_DIR`
//!
//! OUT_DIR must hold `rsa.key.pem`, `rsa.pub.pem`, `ec.key.pem` and `ec.pub.pem` (PKCS#8
//! private keys and SPKI public keys, as `openssl genpkey` / `openssl pkey -pubout` write
//! them; the script makes fresh ones for every run). Written: `hs256.toml`, `rs256.toml`,
//! `es256.toml`, `apikey.toml` and `credentials.env` (`HS256_TOKEN=...`, `RS256_TOKEN=...`,
//! `ES256_TOKEN=...`, `API_KEY=...`).

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use s3_broker::config::ConfigBuilder;
use std::path::{Path, PathBuf};
use toml::Table;

const ISSUER: &str = "https://loadtest.invalid/";
const AUDIENCE: &str = "s3-broker";
/// Test-only secrets, written into a temporary directory for one run.
const HS_SECRET: &str = "loadtest-secret-of-at-least-32-bytes-0123456789";
const API_KEY: &str = "loadtest-api-key-0123456789abcdef";

type Failure = Box<dyn std::error::Error>;

fn main() -> Result<(), Failure> {
    let mut args = std::env::args_os().skip(1).map(PathBuf::from);
    let (Some(out), Some(policies)) = (args.next(), args.next()) else {
        return Err("usage: loadtest_setup OUT_DIR POLICIES_DIR".into());
    };
    let policies = policies.canonicalize()?;
    let base = || {
        ConfigBuilder::new()
            .set("server", "bind", "127.0.0.1:0")
            .set("server", "workers", 1)
            .store("us-east-1", "loadtest", "http://127.0.0.1:9")
            .static_credentials(
                "AKIAIOSFODNN7EXAMPLE",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            )
            .set("policies", "dir", policies.to_string_lossy().as_ref())
    };
    let hs256 = base().hs256(ISSUER, AUDIENCE, HS_SECRET);
    let public = |alg: &str, kid: &str, pem: &Path| -> Result<ConfigBuilder, Failure> {
        let mut key = Table::new();
        key.insert("kid".into(), kid.into());
        key.insert("alg".into(), alg.into());
        key.insert("pem".into(), std::fs::read_to_string(pem)?.into());
        Ok(base()
            .set("auth", "issuer", ISSUER)
            .set("auth", "audience", AUDIENCE)
            .set("auth", "algorithms", vec![alg])
            .push("auth", "public_keys", key))
    };
    let rs256 = public("RS256", "rsa-loadtest", &out.join("rsa.pub.pem"))?;
    let es256 = public("ES256", "ec-loadtest", &out.join("ec.pub.pem"))?;
    let api_key = hs256
        .clone()
        .api_key(API_KEY, "loadtest", &["upload"], false);
    for (name, config) in [
        ("hs256", &hs256),
        ("rs256", &rs256),
        ("es256", &es256),
        ("apikey", &api_key),
    ] {
        config.settings()?;
        std::fs::write(out.join(format!("{name}.toml")), config.text())?;
    }

    let hs = token(
        Header::new(Algorithm::HS256),
        &EncodingKey::from_secret(HS_SECRET.as_bytes()),
    )?;
    let rs = token(
        kid(Algorithm::RS256, "rsa-loadtest"),
        &EncodingKey::from_rsa_pem(&std::fs::read(out.join("rsa.key.pem"))?)?,
    )?;
    let es = token(
        kid(Algorithm::ES256, "ec-loadtest"),
        &EncodingKey::from_ec_pem(&std::fs::read(out.join("ec.key.pem"))?)?,
    )?;
    std::fs::write(
        out.join("credentials.env"),
        format!("HS256_TOKEN={hs}\nRS256_TOKEN={rs}\nES256_TOKEN={es}\nAPI_KEY={API_KEY}\n"),
    )?;
    Ok(())
}

fn kid(algorithm: Algorithm, kid: &str) -> Header {
    let mut header = Header::new(algorithm);
    header.kid = Some(kid.to_owned());
    header
}

/// A token of the `loadtest` subject with the upload scope, valid for a day.
fn token(header: Header, key: &EncodingKey) -> Result<String, Failure> {
    let now = chrono::Utc::now().timestamp();
    let claims = serde_json::json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "loadtest",
        "scope": "upload",
        "iat": now,
        "exp": now + 86_400,
    });
    Ok(jsonwebtoken::encode(&header, &claims, key)?)
}
