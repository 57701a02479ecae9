//! The broker itself, started in-process on 127.0.0.1 port 0 in front of a test bed server,
//! and a small HTTP client for its JSON API.
//!
//! [`Broker::start`] writes a temporary policies directory (the shipped `default.toml` and
//! `avatars.toml`, plus test profiles: `brief`, whose grants live 2 seconds, and `vault`, with
//! SSE-C), builds the settings with a [`ConfigBuilder`] (static credentials of the bed, an HS256
//! secret, an RS256 public key and two API keys) and serves the application on the
//! process-wide runtime. The server stops when the [`Broker`] is dropped.
//!
//! Tests that never reach S3 through the broker's grants (authentication, input errors) share
//! one broker for the whole process: see [`run_shared`].

use super::bed::{Server, TestBed};
use super::http::{FilePart, Reply, post_fields, send_raw};
pub(crate) use super::reply::{ApiReply, Grant};
use super::{Ctx, runtime};
use actix_web::dev::ServerHandle;
use chrono::{DateTime, Utc};
use s3_broker::app::{Application, build_state};
use s3_broker::config::ConfigBuilder;
use s3_broker::domain::{Scope, Scopes};
use s3_broker::s3::CredentialSource;
use serde_json::{Value, json};
use std::future::Future;
use std::sync::{LazyLock, OnceLock};
use std::time::Duration;

/// The only accepted `iss`.
pub(crate) const ISSUER: &str = "https://issuer.e2e.test/";
/// The only accepted `aud`.
pub(crate) const AUDIENCE: &str = "s3-broker-e2e";
/// The HS256 secret of the broker.
pub(crate) const HS_SECRET: &str = "e2e-hs256-secret-0123456789abcdef-0123456789";
/// The kid of the configured RS256 public key.
pub(crate) const RSA_KID: &str = "rsa-1";
/// The public half of the RS256 key pair `tests/fixtures/auth/rsa1`, trusted by the broker.
pub(crate) const RSA_PUBLIC_PEM: &str = include_str!("../../fixtures/auth/rsa1.pub.pem");
/// An API key with the `upload` and `list` scopes, for the principal [`API_KEY_PRINCIPAL`].
pub(crate) const API_KEY: &str = "e2e-api-key-7f0c1a9d4b2e48c6a1f3d5b7e9c0a2b4";
/// The principal of [`API_KEY`].
pub(crate) const API_KEY_PRINCIPAL: &str = "svc-backup";
/// A revoked API key.
pub(crate) const REVOKED_API_KEY: &str = "e2e-revoked-key-0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e";
/// The secret of the test brokers' multipart ticket key `e2e`.
pub(crate) const TICKET_SECRET: &str = "e2e-ticket-key-0123456789abcdef-0123456789abcdef";
/// The `max_expiry_secs` of the `brief` profile.
pub(crate) const BRIEF_MAX_EXPIRY_SECS: i64 = 2;
/// The `max_expiry_secs` of the shipped default profile.
pub(crate) const DEFAULT_MAX_EXPIRY_SECS: i64 = 3600;
/// The `default_expiry_secs` of the shipped default profile.
pub(crate) const DEFAULT_EXPIRY_SECS: i64 = 900;

const SHIPPED_DEFAULT: &str = include_str!("../../../policies/default.toml");
const SHIPPED_AVATARS: &str = include_str!("../../../policies/avatars.toml");

/// The one profile of the tests that run the built binary on a configuration file: PUT
/// grants of small text files, signed without calling S3.
pub(crate) const PUT_PROFILE: &str = r#"
key_template = "users/{principal}/{uuid}/{filename}"
content_types = ["text/plain"]
max_size = "1 MiB"
methods = ["PUT"]
"#;

const BRIEF_PROFILE: &str = r#"
description = "Grants that live 2 seconds, to watch them expire"
key_template = "brief/{principal}/{uuid}/{filename}"
content_types = ["text/plain"]
max_size = "1 MiB"
default_expiry_secs = 2
max_expiry_secs = 2
methods = ["PUT", "POST"]
multipart = true
"#;

/// A profile whose objects are encrypted with a key each client provides (SSE-C): uploads
/// and downloads name the key's MD5 (`sse_customer_key_md5`) and send the key themselves.
const SSE_C_PROFILE: &str = r#"
description = "SSE-C: objects only readable with the key the uploader chose"
key_template = "vault/{principal}/{uuid}/{filename}"
content_types = ["text/plain"]
max_size = "1 MiB"
methods = ["PUT", "POST"]
server_side_encryption = "SSE-C"
"#;

/// How to start a broker beyond the defaults.
#[derive(Default)]
pub(crate) struct Options {
    /// Signing credentials with an expiry, instead of the bed's static ones (same keys).
    pub expiring_credentials: Option<DateTime<Utc>>,
    /// Send the broker's own S3 calls (listing, multipart) to this endpoint instead of the
    /// bed's, with a 1 s operation timeout (grants are still signed for the bed).
    pub s3_calls_to: Option<String>,
    /// `[s3] backend` (default: none, so `aws`); addressing stays path-style.
    pub backend: Option<&'static str>,
    /// More profile files: (file stem, TOML text).
    pub extra_profiles: Vec<(&'static str, &'static str)>,
    /// `[server] metrics = false`: no `GET /metrics`.
    pub metrics_disabled: bool,
    /// Any other change to the configuration (`[limits]`, `[revocation]`...).
    pub adjust: Option<Box<dyn FnOnce(ConfigBuilder) -> ConfigBuilder>>,
}

/// A running broker.
pub(crate) struct Broker {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    handle: ServerHandle,
    _policies: tempfile::TempDir,
}

impl Drop for Broker {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        runtime().spawn(async move { handle.stop(false).await });
    }
}

/// The page origin the test broker serves (`server.cors_origins`): form grants may redirect
/// there.
pub(crate) const PAGE_ORIGIN: &str = "https://app.example";

/// The configuration of a test broker for `bucket` on `bed`: static credentials of the bed, an
/// HS256 secret, an RS256 public key, two API keys and a ticket key.
pub(crate) fn config(bed: &TestBed, bucket: &str, policies: &std::path::Path) -> ConfigBuilder {
    ConfigBuilder::new()
        .set("server", "bind", "127.0.0.1:0")
        .set("server", "cors_origins", vec![PAGE_ORIGIN])
        .set("server", "workers", 1)
        .store(bed.region.as_str(), bucket, &bed.endpoint)
        .set("s3", "credential_margin_secs", 300)
        .static_credentials(
            bed.credentials.access_key_id.as_str(),
            bed.credentials.secret_access_key.expose(),
        )
        .hs256(ISSUER, AUDIENCE, HS_SECRET)
        .set("auth", "algorithms", vec!["HS256", "RS256"])
        .set("auth", "leeway_secs", 30)
        .push("auth", "public_keys", rsa_public_key())
        .api_key(API_KEY, API_KEY_PRINCIPAL, &["upload", "list"], false)
        .api_key(
            REVOKED_API_KEY,
            "svc-old",
            &["upload", "download", "list"],
            true,
        )
        .ticket_key("e2e", TICKET_SECRET)
        .set("policies", "dir", policies.to_string_lossy().as_ref())
        .set("policies", "default_profile", "default")
}

/// `[[auth.public_keys]]`: the trusted RS256 key.
fn rsa_public_key() -> toml::Table {
    [("kid", RSA_KID), ("alg", "RS256"), ("pem", RSA_PUBLIC_PEM)]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value.into()))
        .collect()
}

impl Broker {
    /// A broker for the test's bucket on the test's server.
    pub(crate) async fn start(t: &Ctx) -> Self {
        Self::start_with(t.bed, t.bucket.as_str(), Options::default()).await
    }

    /// A broker for `bucket` on `bed`, with `options`.
    pub(crate) async fn start_with(bed: &'static TestBed, bucket: &str, options: Options) -> Self {
        let policies = tempfile::Builder::new()
            .prefix("s3-broker-e2e-policies-")
            .tempdir()
            .expect("a temporary policies directory");
        for (name, text) in [
            ("default.toml", SHIPPED_DEFAULT),
            ("avatars.toml", SHIPPED_AVATARS),
            ("brief.toml", BRIEF_PROFILE),
            ("vault.toml", SSE_C_PROFILE),
        ] {
            std::fs::write(policies.path().join(name), text).expect("a profile file");
        }
        for (stem, text) in &options.extra_profiles {
            std::fs::write(policies.path().join(format!("{stem}.toml")), text)
                .expect("a profile file");
        }
        let mut config = config(bed, bucket, policies.path());
        if let Some(backend) = options.backend {
            config = config.set("s3", "backend", backend);
        }
        if let Some(adjust) = options.adjust {
            config = adjust(config);
        }
        let mut settings = config
            .settings()
            .unwrap_or_else(|e| panic!("the test configuration is refused: {e}"));
        settings.metrics = !options.metrics_disabled;
        let signing_endpoint = settings.s3.endpoint.clone();
        if let Some(endpoint) = &options.s3_calls_to {
            settings.s3.endpoint = endpoint.parse().expect("an endpoint URL");
            settings.s3.operation_timeout = std::time::Duration::from_secs(1);
        }
        let mut state = build_state(&settings)
            .await
            .unwrap_or_else(|e| panic!("the broker state cannot be built: {e}"));
        if options.s3_calls_to.is_some() {
            state.signer = s3_broker::sigv4::Signer::new(
                settings.s3.region.clone(),
                signing_endpoint,
                s3_broker::domain::AddressingStyle::Path,
            );
        }
        if let Some(expiry) = options.expiring_credentials {
            let credentials = aws_credential_types::Credentials::new(
                bed.credentials.access_key_id.as_str(),
                bed.credentials.secret_access_key.expose(),
                None,
                Some(expiry.into()),
                "e2e-expiring",
            );
            state.credentials = CredentialSource::from_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(credentials),
                chrono::Duration::from_std(settings.s3.credential_margin).expect("a margin"),
            );
            // The S3 calls draw from the same source as grants.
            state.s3 = s3_broker::app::s3_client(&settings, &state.credentials)
                .with_metrics(state.metrics.s3_calls());
        }
        let app = Application::serve(settings, state)
            .unwrap_or_else(|e| panic!("the broker cannot start: {e}"));
        let url = format!("http://{}", app.addr());
        let server = app.into_server();
        let handle = server.handle();
        runtime().spawn(server);
        Self {
            url,
            handle,
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
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("an HTTP method");
        let url = format!("{}{path}", self.url);
        Call {
            described: format!("{method} {path}"),
            builder: CLIENT.request(method, url),
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

    /// `POST /v1/uploads` of `body` as `token`, expecting a grant (the failure names the
    /// request).
    pub(crate) async fn upload_grant(&self, token: &str, body: Value) -> Grant {
        let what = format!("grant for {body}");
        self.upload(token, body).await.grant(&what)
    }

    /// `POST /v1/forms` with `body`, as `token`.
    pub(crate) async fn form(&self, token: &str, body: Value) -> ApiReply {
        self.call("POST", "/v1/forms")
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

    /// `GET /v1/objects` with `prefix` (and `cursor`), as `token`.
    pub(crate) async fn list(
        &self,
        token: &str,
        prefix: Option<&str>,
        cursor: Option<&str>,
    ) -> ApiReply {
        let mut query: Vec<(&str, &str)> = Vec::new();
        if let Some(prefix) = prefix {
            query.push(("prefix", prefix));
        }
        if let Some(cursor) = cursor {
            query.push(("cursor", cursor));
        }
        let path = if query.is_empty() {
            "/v1/objects".to_owned()
        } else {
            let encoded = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(query)
                .finish();
            format!("/v1/objects?{encoded}")
        };
        self.call("GET", &path).bearer(token).send().await
    }
}

/// A `POST /v1/uploads` body for a `text/plain` file of `size` bytes named `filename`, with
/// the fields of `extra` (a JSON object) added or replaced.
pub(crate) fn text_upload(filename: &str, size: usize, extra: Value) -> Value {
    let mut request = json!({ "filename": filename, "content_type": "text/plain", "size": size });
    for (name, value) in extra.as_object().expect("extra is a JSON object") {
        request[name] = value.clone();
    }
    request
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

static CLIENT: LazyLock<reqwest::Client> = LazyLock::new(|| {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client")
});

/// A request being built.
pub(crate) struct Call {
    described: String,
    builder: reqwest::RequestBuilder,
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
        self.builder = self.builder.header(name, value);
        self
    }

    /// A JSON body with `Content-Type: application/json`.
    pub(crate) fn json(mut self, body: &Value) -> Self {
        self.described.push_str(&format!(" {body}"));
        self.builder = self.builder.json(body);
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
            self.builder = self.builder.header("content-type", content_type);
        }
        self.builder = self.builder.body(body);
        self
    }

    /// Sends it.
    pub(crate) async fn send(self) -> ApiReply {
        let response = self
            .builder
            .send()
            .await
            .unwrap_or_else(|e| panic!("{}: no answer from the broker: {e}", self.described));
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                (name.as_str().to_owned(), value)
            })
            .collect();
        let body = response
            .bytes()
            .await
            .unwrap_or_else(|e| panic!("{}: reading the body failed: {e}", self.described))
            .to_vec();
        ApiReply {
            request: self.described,
            status,
            headers,
            body,
        }
    }
}

/// What only the end-to-end tests do with a grant: send bytes with it.
impl Grant {
    /// The URL.
    pub(crate) fn url(&self) -> &str {
        self.str("url")
    }

    /// The PUT headers to send (without `content-length`, which the client derives from the
    /// body, like a browser).
    pub(crate) fn put_headers(&self) -> Vec<(String, String)> {
        self.json["headers"]
            .as_object()
            .unwrap_or_else(|| panic!("a PUT grant has headers: {}", self.json))
            .iter()
            .filter(|(name, _)| !name.eq_ignore_ascii_case("content-length"))
            .map(|(name, value)| {
                let value = value.as_str().expect("header values are strings");
                (name.clone(), value.to_owned())
            })
            .collect()
    }

    /// The POST form fields, in the order the broker gave them.
    pub(crate) fn fields(&self) -> Vec<(String, String)> {
        self.json["fields"]
            .as_object()
            .unwrap_or_else(|| panic!("a POST grant has fields: {}", self.json))
            .iter()
            .map(|(name, value)| {
                let value = value.as_str().expect("field values are strings");
                (name.clone(), value.to_owned())
            })
            .collect()
    }

    /// Sends `body` as this PUT grant says.
    pub(crate) async fn put(&self, body: &[u8]) -> Reply {
        assert_eq!(self.str("method"), "PUT", "not a PUT grant: {}", self.json);
        send_raw("PUT", self.url(), &self.put_headers(), Some(body.to_vec())).await
    }

    /// Posts `file` with this POST grant's fields in order, the file last.
    pub(crate) async fn post(&self, file: &FilePart) -> Reply {
        assert_eq!(
            self.str("method"),
            "POST",
            "not a POST grant: {}",
            self.json
        );
        post_fields(self.url(), &self.fields(), file).await
    }

    /// Sends this GET grant.
    pub(crate) async fn get(&self) -> Reply {
        assert_eq!(self.str("method"), "GET", "not a GET grant: {}", self.json);
        send_raw("GET", self.url(), &[], None).await
    }
}

/// The broker shared by the tests that never use a grant against S3 (authentication,
/// authorization refusals, input errors). It fronts s3s-fs and a bucket of its own, so its
/// honest listings work.
pub(crate) fn shared() -> &'static Broker {
    static SHARED: OnceLock<Broker> = OnceLock::new();
    SHARED.get_or_init(|| {
        let bed = TestBed::get(Server::S3sFs);
        runtime().block_on(async {
            let bucket = Ctx::new(bed).await.bucket;
            Broker::start_with(bed, bucket.as_str(), Options::default()).await
        })
    })
}

/// Runs a test against the [`shared`] broker.
pub(crate) fn run_shared<F, Fut>(test: F)
where
    F: FnOnce(&'static Broker) -> Fut,
    Fut: Future<Output = ()>,
{
    let broker = shared();
    runtime().block_on(test(broker));
}
