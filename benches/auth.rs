//! Cost of one authentication: `Authenticator::authenticate` on a fixed credential, against
//! `jsonwebtoken`'s own `decode` of the same HS256 token (the library's floor).
//!
//! Run with `cargo bench --bench auth`; `cargo test --benches` runs each bench once. Method and
//! results are in `doc/benchmarks.md`.
//!
//! For instruction counts (robust on a busy machine), run one case N times without criterion:
//!
//! ```sh
//! cargo bench --bench auth --no-run
//! BENCH_CASE=hs256 BENCH_ITERS=10000 valgrind --tool=callgrind target/release/deps/auth-<hash>
//! ```
//!
//! and divide the difference of two runs (e.g. 10,000 and 20,000 iterations) by 10,000.

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use criterion::Criterion;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use s3_broker::auth::{AuthConfig, Authenticator, PresentedCredential};
use serde_json::json;

const ISSUER: &str = "https://id.example.com/";
const AUDIENCE: &str = "s3-broker";
const SECRET: &str = "bench-hs256-secret-0123456789abcdef-0123456789";
const API_KEY: &str = "bench-api-key-7f0c1a9d4b2e48c6a1f3d5b7e9c0a2b4";
const RSA_KEY: &str = include_str!("../tests/fixtures/auth/rsa1.key.pem");
const RSA_PUB: &str = include_str!("../tests/fixtures/auth/rsa1.pub.pem");
const EC_KEY: &str = include_str!("../tests/fixtures/auth/ec1.key.pem");
const EC_PUB: &str = include_str!("../tests/fixtures/auth/ec1.pub.pem");
/// 2026-05-01T12:00:00Z: every check runs at this instant; tokens expire an hour later.
const NOW_UNIX: i64 = 1_777_636_800;

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(NOW_UNIX, 0).expect("valid timestamp")
}

/// HS256, RS256 (kid `rsa-1`) and ES256 (kid `ec-1`) keys from configuration, one API key,
/// plus `extra` lines of the `[auth]` section.
fn authenticator(extra: &str) -> Authenticator {
    let text = format!(
        r#"
issuer = "{ISSUER}"
audience = "{AUDIENCE}"
algorithms = ["HS256", "RS256", "ES256"]
{extra}

[[hs_secrets]]
secret = "{SECRET}"

[[public_keys]]
kid = "rsa-1"
alg = "RS256"
pem = """{RSA_PUB}"""

[[public_keys]]
kid = "ec-1"
alg = "ES256"
pem = """{EC_PUB}"""

[[api_keys]]
sha256 = "{digest}"
principal = "backup-job"
scopes = ["upload", "list"]
"#,
        digest = s3_broker::config::sha256_hex(API_KEY),
    );
    let config: AuthConfig = toml::from_str(&text).expect("bench config parses");
    Authenticator::from_config(&config).expect("bench config is valid")
}

/// A token as a typical identity provider issues it: `iss`, `aud`, `sub`, `iat`, `exp`, `scope`.
fn token(alg: Algorithm, kid: Option<&str>, key: &EncodingKey) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    let claims = json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "alice@example.com",
        "iat": NOW_UNIX,
        "exp": NOW_UNIX + 3600,
        "scope": "upload download list",
    });
    jsonwebtoken::encode(&header, &claims, key).expect("bench token signs")
}

/// The claims `jsonwebtoken` decodes into for the floor measurement.
#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Claims {
    sub: String,
    exp: u64,
    scope: String,
}

/// Runs a case `iters` times and returns the time taken.
type Runner = Box<dyn Fn(&tokio::runtime::Runtime, u64) -> Duration>;

/// One named case.
struct Case {
    name: &'static str,
    run: Runner,
}

fn cases() -> Vec<Case> {
    let hs = token(
        Algorithm::HS256,
        None,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    );
    let rs = token(
        Algorithm::RS256,
        Some("rsa-1"),
        &EncodingKey::from_rsa_pem(RSA_KEY.as_bytes()).expect("RSA key"),
    );
    let es = token(
        Algorithm::ES256,
        Some("ec-1"),
        &EncodingKey::from_ec_pem(EC_KEY.as_bytes()).expect("EC key"),
    );
    let auth = std::rc::Rc::new(authenticator(""));
    let uncached = std::rc::Rc::new(authenticator("verified_token_cache = 0"));
    let bearer = |name: &'static str, token: String, auth: &std::rc::Rc<Authenticator>| {
        let auth = auth.clone();
        Case {
            name,
            run: Box::new(move |rt, iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        let credential = PresentedCredential::Bearer(black_box(&token));
                        let principal = auth.authenticate(credential, now()).await;
                        black_box(principal.expect("bench token is accepted"));
                    }
                    start.elapsed()
                })
            }),
        }
    };
    // The same token every time: HS256, RS256 and ES256 are verified once, then found in the
    // verified-token cache (a browser session's pattern); `_uncached` verifies every time
    // (a first-seen token's cost).
    let mut cases = vec![
        bearer("hs256", hs.clone(), &auth),
        bearer("hs256_uncached", hs.clone(), &uncached),
        bearer("rs256", rs.clone(), &auth),
        bearer("es256", es.clone(), &auth),
        bearer("rs256_uncached", rs, &uncached),
        bearer("es256_uncached", es, &uncached),
    ];
    let api = auth.clone();
    cases.push(Case {
        name: "api_key",
        run: Box::new(move |rt, iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    let credential = PresentedCredential::ApiKey(black_box(API_KEY));
                    black_box(api.authenticate(credential, now()).await.expect("accepted"));
                }
                start.elapsed()
            })
        }),
    });
    let key = DecodingKey::from_secret(SECRET.as_bytes());
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    validation.validate_exp = false;
    cases.push(Case {
        name: "jsonwebtoken_decode_hs256",
        run: Box::new(move |_, iters| {
            let start = Instant::now();
            for _ in 0..iters {
                let data = jsonwebtoken::decode::<Claims>(black_box(&hs), &key, &validation);
                black_box(data.expect("bench token decodes"));
            }
            start.elapsed()
        }),
    });
    cases
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let cases = cases();
    // Instruction-count mode: one case, a fixed number of iterations, no criterion.
    if let (Ok(name), Ok(iters)) = (std::env::var("BENCH_CASE"), std::env::var("BENCH_ITERS")) {
        let iters: u64 = iters.parse().expect("BENCH_ITERS is a number");
        let case = cases
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no bench case {name:?}"));
        (case.run)(&rt, iters);
        return;
    }
    let mut criterion = Criterion::default().configure_from_args();
    for case in &cases {
        criterion.bench_function(&format!("auth_{}", case.name), |b| {
            b.iter_custom(|iters| (case.run)(&rt, iters));
        });
    }
    criterion.final_summary();
}
