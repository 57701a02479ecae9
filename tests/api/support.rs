//! The broker in-process: the application of `s3_broker::app::app` run by
//! `actix_web::test::init_service`, with state built from a test configuration (static
//! credentials, an HS256 secret, an RS256 public key, two API keys) and no S3 server behind it.
//! Requests never cross a socket; each test builds its own broker in milliseconds.
//!
//! The store's endpoint is a closed local port: a test whose request reached S3 would fail, so
//! only what the broker answers by itself belongs here (authentication, input errors, refusals,
//! grants, which are signed without calling S3). The exception, [`Broker::against_s3`], points
//! the broker at the S3 stub of `s3_stub.rs`, for the faults a real server cannot be made to
//! show.

use actix_web::body::to_bytes;
use actix_web::dev::Service;
use actix_web::http::ConnectionType;
use actix_web::test::{TestRequest, init_service};
use actix_web::{HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use futures_util::future::LocalBoxFuture;
use hmac::{Hmac, Mac};
use s3_broker::app::{app, build_state};
use s3_broker::config::ConfigBuilder;
use s3_broker::domain::{Scope, Scopes};
use s3_broker::http::Drain;
use serde_json::{Value, json};
use sha2::Sha256;
use std::rc::Rc;
use std::time::Duration;

/// The only accepted `iss`.
pub(crate) const ISSUER: &str = "https://issuer.api.test/";
/// The only accepted `aud`.
pub(crate) const AUDIENCE: &str = "s3-broker-api";
/// The HS256 secret of the broker.
pub(crate) const HS_SECRET: &str = "api-hs256-secret-0123456789abcdef-0123456789";
/// The kid of the configured RS256 public key.
pub(crate) const RSA_KID: &str = "rsa-1";
/// The RS256 key pair whose public half the broker trusts.
pub(crate) const RSA_PRIVATE_PEM: &str = include_str!("../fixtures/auth/rsa1.key.pem");
/// The public half, as configured.
pub(crate) const RSA_PUBLIC_PEM: &str = include_str!("../fixtures/auth/rsa1.pub.pem");
/// An API key with the `upload` and `list` scopes, for the principal [`API_KEY_PRINCIPAL`].
pub(crate) const API_KEY: &str = "api-test-key-7f0c1a9d4b2e48c6a1f3d5b7e9c0a2b4";
/// The principal of [`API_KEY`].
pub(crate) const API_KEY_PRINCIPAL: &str = "svc-backup";
/// A revoked API key.
pub(crate) const REVOKED_API_KEY: &str = "api-revoked-key-0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e";
/// The `max_expiry_secs` of the shipped default profile.
pub(crate) const DEFAULT_MAX_EXPIRY_SECS: i64 = 3600;

const SHIPPED_DEFAULT: &str = include_str!("../../policies/default.toml");
const SHIPPED_AVATARS: &str = include_str!("../../policies/avatars.toml");
/// Grants that live 2 seconds, under `brief/`.
const BRIEF_PROFILE: &str = r#"
key_template = "brief/{principal}/{uuid}/{filename}"
content_types = ["text/plain"]
max_size = "1 MiB"
default_expiry_secs = 2
max_expiry_secs = 2
methods = ["PUT", "POST"]
multipart = true
"#;

/// Downloads gated on a GuardDuty-style scan tag, under `scanned/`.
pub(crate) const SCANNED_PROFILE: &str = include_str!("../fixtures/scan/scanned.toml");

/// Sends one request through the application and collects the answer.
type Send = dyn Fn(TestRequest, String) -> LocalBoxFuture<'static, ApiReply>;

/// A broker running in this test's actix system.
pub(crate) struct Broker {
    send: Rc<Send>,
    /// The state's drain flag: what SIGTERM starts in a real process.
    pub drain: Drain,
    _policies: tempfile::TempDir,
}

impl Broker {
    /// A broker with the shipped `default` and `avatars` profiles and `brief`, without S3: its
    /// profiles give download grants without asking S3 whether the object exists
    /// (`download_existence_check = false`).
    pub(crate) async fn start() -> Self {
        // Nothing listens there: a request that reaches S3 fails.
        Self::start_with(|config| config, false).await
    }

    /// A broker whose S3 is `endpoint` (a stub on 127.0.0.1), with
    /// `s3.operation_timeout_secs = budget_secs` and the shipped profiles as they are.
    pub(crate) async fn against_s3(endpoint: &str, budget_secs: i64) -> Self {
        Self::start_with(
            |config| {
                config.store("us-east-1", "api-tests", endpoint).set(
                    "s3",
                    "operation_timeout_secs",
                    budget_secs,
                )
            },
            true,
        )
        .await
    }

    /// A broker with the test configuration changed by `adjust`; `downloads_check_s3` keeps
    /// the profiles' `download_existence_check` (on by default).
    pub(crate) async fn start_with(
        adjust: impl FnOnce(ConfigBuilder) -> ConfigBuilder,
        downloads_check_s3: bool,
    ) -> Self {
        let policies = tempfile::Builder::new()
            .prefix("s3-broker-api-policies-")
            .tempdir()
            .expect("a temporary policies directory");
        for (name, text) in [
            ("default.toml", SHIPPED_DEFAULT),
            ("avatars.toml", SHIPPED_AVATARS),
            ("brief.toml", BRIEF_PROFILE),
            ("scanned.toml", SCANNED_PROFILE),
        ] {
            let text = if downloads_check_s3 {
                text.to_owned()
            } else {
                // The last key wins nowhere in TOML: drop the shipped line, then set it.
                let kept: Vec<&str> = text
                    .lines()
                    .filter(|line| !line.starts_with("download_existence_check"))
                    .collect();
                format!("{}\ndownload_existence_check = false\n", kept.join("\n"))
            };
            std::fs::write(policies.path().join(name), text).expect("a profile file");
        }
        let settings = adjust(config(policies.path()))
            .settings()
            .unwrap_or_else(|e| panic!("the test configuration is refused: {e}"));
        let state = build_state(&settings)
            .await
            .unwrap_or_else(|e| panic!("the broker state cannot be built: {e}"));
        let drain = state.drain.clone();
        let service = Rc::new(init_service(app(web::Data::new(state), Vec::new(), |_| {})).await);
        let send = move |request: TestRequest, described: String| {
            let service = Rc::clone(&service);
            Box::pin(async move {
                let response: HttpResponse = match service.call(request.to_request()).await {
                    Ok(response) => response.into_parts().1.map_into_boxed_body(),
                    Err(error) => error.as_response_error().error_response(),
                };
                ApiReply::read(described, response).await
            }) as LocalBoxFuture<'static, ApiReply>
        };
        Self {
            send: Rc::new(send),
            drain,
            _policies: policies,
        }
    }

    /// A token of `subject` with every scope, valid 10 minutes.
    pub(crate) fn token(&self, subject: &str) -> String {
        token(subject, Scopes::all())
    }

    /// A token of `subject` with exactly `scopes`.
    pub(crate) fn token_with(&self, subject: &str, scopes: &[Scope]) -> String {
        token(subject, scopes.iter().copied().collect())
    }

    /// A request to `path` (starting with `/`).
    pub(crate) fn call(&self, method: &str, path: &str) -> Call {
        let method =
            actix_web::http::Method::from_bytes(method.as_bytes()).expect("an HTTP method");
        Call {
            described: format!("{method} {path}"),
            request: TestRequest::default().method(method).uri(path),
            send: Rc::clone(&self.send),
        }
    }

    /// `POST /v1/uploads` with `body`, as `token`.
    pub(crate) async fn upload(&self, token: &str, body: Value) -> ApiReply {
        self.call("POST", "/v1/uploads")
            .bearer(token)
            .json(&body)
            .send()
            .await
    }

    /// `POST /v1/downloads` of `key`, as `token`.
    pub(crate) async fn download(&self, token: &str, key: &str) -> ApiReply {
        self.call("POST", "/v1/downloads")
            .bearer(token)
            .json(&json!({ "key": key }))
            .send()
            .await
    }

    /// `GET /v1/objects` as `token` (only for refusals: an honest listing calls S3).
    pub(crate) async fn list(&self, token: &str) -> ApiReply {
        self.call("GET", "/v1/objects").bearer(token).send().await
    }
}

/// The test configuration, with profiles in `policies`.
fn config(policies: &std::path::Path) -> ConfigBuilder {
    let rsa_key: toml::Table = [("kid", RSA_KID), ("alg", "RS256"), ("pem", RSA_PUBLIC_PEM)]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value.into()))
        .collect();
    ConfigBuilder::new()
        // Nothing listens there: a request that reaches S3 fails.
        .store("us-east-1", "api-tests", "http://127.0.0.1:9")
        .static_credentials(
            "AKIAAPITESTS0000000",
            "api-tests-secret-access-key-0123456789",
        )
        .hs256(ISSUER, AUDIENCE, HS_SECRET)
        .set("auth", "algorithms", vec!["HS256", "RS256"])
        .set("auth", "leeway_secs", 30)
        .push("auth", "public_keys", rsa_key)
        .api_key(API_KEY, API_KEY_PRINCIPAL, &["upload", "list"], false)
        .api_key(
            REVOKED_API_KEY,
            "svc-old",
            &["upload", "download", "list"],
            true,
        )
        .ticket_key("api", "api-ticket-key-0123456789abcdef-0123456789abcdef")
        .set("policies", "dir", policies.to_string_lossy().as_ref())
        .set("policies", "default_profile", "default")
}

/// An HS256 token of `subject` with `scopes`, valid 10 minutes.
pub(crate) fn token(subject: &str, scopes: Scopes) -> String {
    s3_broker::auth::mint_dev_token(
        HS_SECRET.as_bytes(),
        ISSUER,
        AUDIENCE,
        subject,
        scopes,
        Duration::from_secs(600),
        Utc::now(),
    )
    .expect("a dev token")
}

/// Claims the broker accepts for `subject`: right `iss` and `aud`, valid 10 minutes, every
/// scope. Tests change them to build the attacks.
pub(crate) fn claims(subject: &str) -> Value {
    let now = Utc::now().timestamp();
    json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": subject,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "scope": "upload download list",
    })
}

/// A compact JWS of `header` and `claims` signed with HMAC-SHA256 under `secret`, built by
/// hand so that any header or claim, however wrong, can be sent.
pub(crate) fn sign_hs256(header: &Value, claims: &Value, secret: &[u8]) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key");
    mac.update(input.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{input}.{signature}")
}

/// `claims` as an RS256 token signed with the trusted private key, with `kid`.
pub(crate) fn sign_rs256(claims: &Value, kid: Option<&str>) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = kid.map(str::to_owned);
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(RSA_PRIVATE_PEM.as_bytes())
        .expect("the fixture RSA key");
    jsonwebtoken::encode(&header, claims, &key).expect("an RS256 token")
}

/// A request being built.
pub(crate) struct Call {
    described: String,
    request: TestRequest,
    send: Rc<Send>,
}

impl Call {
    /// Adds `Authorization: Bearer <token>`.
    pub(crate) fn bearer(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    /// Adds `X-Api-Key`.
    pub(crate) fn api_key(self, key: &str) -> Self {
        self.header("x-api-key", key)
    }

    /// Adds any header.
    pub(crate) fn header(mut self, name: &str, value: &str) -> Self {
        self.request = self.request.append_header((name, value));
        self
    }

    /// A JSON body with `Content-Type: application/json`.
    pub(crate) fn json(mut self, body: &Value) -> Self {
        self.described.push_str(&format!(" {body}"));
        self.request = self
            .request
            .insert_header(("content-type", "application/json"))
            .set_payload(body.to_string());
        self
    }

    /// Any body, with `content_type` if given.
    pub(crate) fn body(mut self, content_type: Option<&str>, body: Vec<u8>) -> Self {
        self.described.push_str(&format!(
            " ({content_type:?}, {} bytes: {:?})",
            body.len(),
            String::from_utf8_lossy(&body[..body.len().min(80)])
        ));
        if let Some(content_type) = content_type {
            self.request = self.request.insert_header(("content-type", content_type));
        }
        self.request = self.request.set_payload(body);
        self
    }

    /// Sends it.
    pub(crate) async fn send(self) -> ApiReply {
        (self.send)(self.request, self.described).await
    }
}

#[path = "../common/reply.rs"]
mod reply;
pub(crate) use reply::ApiReply;

impl ApiReply {
    async fn read(request: String, response: HttpResponse) -> Self {
        let status = response.status().as_u16();
        let mut headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .map(|(name, value)| {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                (name.as_str().to_owned(), value)
            })
            .collect();
        // actix-web keeps the connection type beside the headers and writes it only on the
        // wire; add it as the wire carries it.
        if response.head().connection_type() == ConnectionType::Close {
            headers.push(("connection".to_owned(), "close".to_owned()));
        }
        let body = to_bytes(response.into_body())
            .await
            .unwrap_or_else(|_| panic!("{request}: reading the body failed"))
            .to_vec();
        Self {
            request,
            status,
            headers,
            body,
        }
    }
}
