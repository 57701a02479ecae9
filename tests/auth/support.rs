//! Shared helpers: fixed test keys, configurations, token signing, and a counting HTTP server.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

// What every test module needs, in one glob import.
pub(crate) use std::sync::Arc;
pub(crate) use std::time::Duration;

pub(crate) use base64::Engine;
pub(crate) use base64::engine::general_purpose::URL_SAFE_NO_PAD;
pub(crate) use chrono::{DateTime, Utc};
pub(crate) use jsonwebtoken::{Algorithm, EncodingKey, Header};
pub(crate) use s3_broker::auth::{
    AuthConfig, AuthError, Authenticator, PresentedCredential, TokenRejection, mint_dev_token,
    query_has_credentials,
};
pub(crate) use s3_broker::config::sha256_hex;
pub(crate) use s3_broker::domain::{Principal, Scope, Scopes};
pub(crate) use s3_broker::http::Code;
pub(crate) use serde_json::{Value, json};

pub(crate) const ISSUER: &str = "https://issuer.test/";
pub(crate) const AUDIENCE: &str = "s3-broker";
pub(crate) const SECRET: &str = "test-secret-0123456789abcdef-0123456789abcdef";

pub(crate) const RSA1_KEY: &str = include_str!("../fixtures/auth/rsa1.key.pem");
pub(crate) const RSA1_PUB: &str = include_str!("../fixtures/auth/rsa1.pub.pem");
pub(crate) const RSA2_KEY: &str = include_str!("../fixtures/auth/rsa2.key.pem");
pub(crate) const EC1_KEY: &str = include_str!("../fixtures/auth/ec1.key.pem");
pub(crate) const EC1_PUB: &str = include_str!("../fixtures/auth/ec1.pub.pem");
pub(crate) const EC1_JWK: &str = include_str!("../fixtures/auth/ec1.jwk.json");
pub(crate) const EC2_KEY: &str = include_str!("../fixtures/auth/ec2.key.pem");
pub(crate) const EC2_JWK: &str = include_str!("../fixtures/auth/ec2.jwk.json");
pub(crate) const ED1_KEY: &str = include_str!("../fixtures/auth/ed1.key.pem");
pub(crate) const ED1_PUB: &str = include_str!("../fixtures/auth/ed1.pub.pem");

pub(crate) fn authenticator(toml_text: &str) -> Authenticator {
    let config: AuthConfig = toml::from_str(toml_text).expect("test config parses");
    Authenticator::from_config(&config).expect("test config is valid")
}

/// HS256 with [`SECRET`], RS256 with rsa1 (kid `rsa-1`), EdDSA with ed1, and two API keys.
pub(crate) fn static_config() -> String {
    format!(
        r#"
issuer = "{ISSUER}"
audience = ["other-service", "{AUDIENCE}"]
algorithms = ["HS256", "RS256", "EdDSA"]

[[hs_secrets]]
secret = "{SECRET}"

[[public_keys]]
kid = "rsa-1"
alg = "RS256"
pem = """{RSA1_PUB}"""

[[public_keys]]
alg = "EdDSA"
pem = """{ED1_PUB}"""

[[api_keys]]
sha256 = "{good}"
principal = "backup-job"
scopes = ["upload", "list"]

[[api_keys]]
sha256 = "{revoked}"
principal = "old-job"
scopes = ["upload"]
revoked = true
"#,
        good = sha256_hex("good-api-key"),
        revoked = sha256_hex("revoked-api-key"),
    )
}

/// ES256 keys from a JWKS at `url`, refetched at most once a second.
pub(crate) fn jwks_config(url: &str) -> String {
    format!(
        r#"
issuer = "{ISSUER}"
audience = "{AUDIENCE}"
algorithms = ["ES256"]
jwks_url = "{url}"
jwks_refresh_secs = 60
jwks_min_refetch_secs = 1
jwks_timeout_secs = 2
"#
    )
}

pub(crate) fn claims(now: DateTime<Utc>) -> Value {
    json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "alice",
        "iat": now.timestamp(),
        "exp": now.timestamp() + 600,
        "scope": "upload download",
    })
}

pub(crate) fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

pub(crate) fn without(mut claims: Value, key: &str) -> Value {
    if let Some(map) = claims.as_object_mut() {
        map.remove(key);
    }
    claims
}

pub(crate) fn sign(header: &Header, claims: &Value, key: &EncodingKey) -> String {
    jsonwebtoken::encode(header, claims, key).expect("test token signs")
}

pub(crate) fn header(alg: Algorithm, kid: Option<&str>) -> Header {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    header
}

pub(crate) fn hs256(claims: &Value) -> String {
    sign(
        &header(Algorithm::HS256, None),
        claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
}

pub(crate) fn rs256(kid: Option<&str>, claims: &Value) -> String {
    let key = EncodingKey::from_rsa_pem(RSA1_KEY.as_bytes()).expect("rsa1 key");
    sign(&header(Algorithm::RS256, kid), claims, &key)
}

pub(crate) fn es256(pem: &str, kid: &str, claims: &Value) -> String {
    let key = EncodingKey::from_ec_pem(pem.as_bytes()).expect("EC key");
    sign(&header(Algorithm::ES256, Some(kid)), claims, &key)
}

/// A compact JWS assembled by hand, for headers `jsonwebtoken` would not produce.
pub(crate) fn raw_token(header: &Value, claims: &Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        URL_SAFE_NO_PAD.encode(signature)
    )
}

pub(crate) async fn accepted(auth: &Authenticator, token: &str, now: DateTime<Utc>) -> Principal {
    match auth.authenticate_bearer(token, now).await {
        Ok(principal) => principal,
        Err(error) => panic!("token refused: {error}"),
    }
}

/// The reason a token is refused; also checks that the error never echoes the token.
pub(crate) async fn refused(
    auth: &Authenticator,
    token: &str,
    now: DateTime<Utc>,
) -> TokenRejection {
    let error = auth
        .authenticate_bearer(token, now)
        .await
        .expect_err("token must be refused");
    let text = format!("{error} {error:?}");
    assert!(
        !token.is_empty() && !text.contains(token),
        "the error echoes the token: {text}"
    );
    let code = Code::from(&error);
    assert_eq!(code, Code::InvalidToken);
    assert!(
        code.challenge()
            .unwrap()
            .contains(r#"error="invalid_token""#)
    );
    error.token_rejection().expect("a token rejection")
}

pub(crate) fn jwk(json_text: &str, kid: &str, extra: Value) -> Value {
    let mut jwk: Value = serde_json::from_str(json_text).expect("fixture JWK");
    jwk["kid"] = json!(kid);
    if let (Some(target), Value::Object(extra)) = (jwk.as_object_mut(), extra) {
        target.extend(extra);
    }
    jwk
}

pub(crate) fn jwk_set(keys: &[Value]) -> String {
    json!({ "keys": keys }).to_string()
}

/// A minimal HTTP server on 127.0.0.1 that answers every request with a settable status and
/// body and counts the connections it accepts.
pub(crate) struct TestServer {
    pub url: String,
    connections: Arc<AtomicUsize>,
    response: Arc<Mutex<(u16, String)>>,
    /// When each connection was accepted.
    arrivals: Arc<Mutex<Vec<std::time::Instant>>>,
    /// How long each answer waits.
    delay: Arc<Mutex<Duration>>,
    task: JoinHandle<()>,
}

impl TestServer {
    pub(crate) async fn start(body: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!(
            "http://{}/jwks.json",
            listener.local_addr().expect("address")
        );
        let connections = Arc::new(AtomicUsize::new(0));
        let response = Arc::new(Mutex::new((200, body)));
        let arrivals = Arc::new(Mutex::new(Vec::new()));
        let delay = Arc::new(Mutex::new(Duration::ZERO));
        let task = tokio::spawn({
            let connections = connections.clone();
            let response = response.clone();
            let arrivals = arrivals.clone();
            let delay = delay.clone();
            async move {
                while let Ok((mut stream, _)) = listener.accept().await {
                    connections.fetch_add(1, Ordering::SeqCst);
                    arrivals
                        .lock()
                        .expect("arrivals")
                        .push(std::time::Instant::now());
                    let (status, body) = response.lock().expect("response").clone();
                    let delay = *delay.lock().expect("delay");
                    tokio::spawn(async move {
                        tokio::time::sleep(delay).await;
                        let mut request = Vec::new();
                        let mut buf = [0u8; 1024];
                        while !request.windows(4).any(|w| w == b"\r\n\r\n")
                            && request.len() < 16_384
                        {
                            match stream.read(&mut buf).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => request.extend_from_slice(&buf[..n]),
                            }
                        }
                        let head = format!(
                            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n\
                             content-length: {}\r\nconnection: close\r\n\r\n",
                            body.len()
                        );
                        let _ = stream.write_all(head.as_bytes()).await;
                        let _ = stream.write_all(body.as_bytes()).await;
                        let _ = stream.shutdown().await;
                    });
                }
            }
        });
        Self {
            url,
            connections,
            response,
            arrivals,
            delay,
            task,
        }
    }

    /// Every later answer waits `delay` first (a slow issuer).
    pub(crate) fn set_delay(&self, delay: Duration) {
        *self.delay.lock().expect("delay") = delay;
    }

    /// When each connection was accepted, in order.
    pub(crate) fn arrivals(&self) -> Vec<std::time::Instant> {
        self.arrivals.lock().expect("arrivals").clone()
    }

    pub(crate) fn set(&self, status: u16, body: String) {
        *self.response.lock().expect("response") = (status, body);
    }

    pub(crate) fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// Stops listening: further connections are refused, like an issuer that is down.
    pub(crate) async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

/// A loopback URL on which nothing listens.
pub(crate) async fn dead_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    drop(listener);
    format!("http://{addr}/jwks.json")
}

pub(crate) fn fetches(auth: &Authenticator) -> u64 {
    auth.jwks_stats().expect("a JWKS is configured").fetches
}

pub(crate) fn secs(n: i64) -> chrono::Duration {
    chrono::Duration::seconds(n)
}
