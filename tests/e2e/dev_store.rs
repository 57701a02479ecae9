//! The embedded store of `s3-broker dev` refuses what S3 refuses, with real bytes through the
//! dev broker's own grants: bytes that do not match their signed checksum or Content-MD5 are
//! refused and not stored (the right bytes are then accepted); a presigned request with an
//! unsigned `x-amz-meta-*` header is refused; ListParts names each part's ETag; CORS follows
//! `policies/bucket-cors.json` plus the dev origins; a profile with `scan` never gets a download
//! grant (the store keeps no object tags). The dev environment runs in-process on free
//! ports with a temporary directory; no test bed server is needed.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use s3_broker::dev::{DEV_BUCKET, DEV_USER, DevEnvironment};
use serde_json::{Value, json};
use sha2::Digest as _;
use std::path::{Path, PathBuf};

/// The origin of a page the tests' dev environment opens its API and store to.
const PAGE: &str = "http://127.0.0.1:5173";

/// A running dev environment and a client.
pub(crate) struct Dev {
    url: String,
    /// The dev user's token.
    pub(crate) token: String,
    store: String,
    data: PathBuf,
    /// The generated configuration (its HS256 secret mints other users' tokens).
    config: PathBuf,
    pub(crate) http: reqwest::Client,
}

/// An answer.
pub(crate) struct Answer {
    pub(crate) status: u16,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("JSON expected ({e}): {}", self.text()))
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl Dev {
    /// The broker's answer to `method path` with a JSON `body`.
    async fn api(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Answer {
        self.api_as(&self.token, method, path, body).await
    }

    /// As [`Dev::api`], with `token`.
    pub(crate) async fn api_as(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Answer {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        answer(request).await
    }

    /// A token of another user, `subject`, with every scope (as `s3-broker token --sub`).
    pub(crate) fn token_of(&self, subject: &str) -> String {
        let text = std::fs::read_to_string(&self.config).expect("the dev configuration");
        let config: toml::Table = text.parse().expect("TOML");
        let auth = &config["auth"];
        s3_broker::auth::mint_dev_token(
            auth["hs_secrets"][0]["secret"]
                .as_str()
                .expect("an HS256 secret")
                .as_bytes(),
            auth["issuer"].as_str().expect("an issuer"),
            auth["audience"].as_str().expect("an audience"),
            subject,
            s3_broker::domain::Scopes::all(),
            std::time::Duration::from_secs(600),
            chrono::Utc::now(),
        )
        .expect("a token")
    }

    /// A grant the broker must give.
    async fn grant(&self, path: &str, body: Value) -> Value {
        let reply = self
            .api(reqwest::Method::POST, path, Some(body.clone()))
            .await;
        assert_eq!(reply.status, 200, "{path} {body}: {}", reply.text());
        reply.json()
    }

    /// Sends `bytes` with a PUT grant's URL and headers, plus `extra` headers.
    async fn put(&self, grant: &Value, bytes: &[u8], extra: &[(&str, &str)]) -> Answer {
        let mut request = self
            .http
            .put(grant["url"].as_str().expect("a URL"))
            .body(bytes.to_vec());
        for (name, value) in grant["headers"].as_object().into_iter().flatten() {
            if name != "content-length" {
                request = request.header(name.as_str(), value.as_str().expect("a value"));
            }
        }
        for (name, value) in extra {
            request = request.header(*name, *value);
        }
        answer(request).await
    }

    /// Where the store would keep `key`.
    fn stored_path(&self, key: &str) -> PathBuf {
        self.data.join(DEV_BUCKET).join(key)
    }

    /// Asserts `key` holds nothing: no file in the store, and 404 `object_not_found` from the
    /// broker.
    async fn assert_absent(&self, key: &str, what: &str) {
        assert!(!self.stored_path(key).exists(), "{what}: {key} was stored");
        let reply = self
            .api(
                reqwest::Method::POST,
                "/v1/downloads",
                Some(json!({ "key": key })),
            )
            .await;
        assert_eq!(reply.status, 404, "{what}: {}", reply.text());
        assert_eq!(reply.json()["code"], "object_not_found", "{what}");
    }

    /// The bytes a download grant of `key` gets.
    pub(crate) async fn download(&self, key: &str) -> Vec<u8> {
        let grant = self.grant("/v1/downloads", json!({ "key": key })).await;
        let reply = answer(self.http.get(grant["url"].as_str().expect("a URL"))).await;
        assert_eq!(reply.status, 200, "GET {key}: {}", reply.text());
        reply.body
    }
}

pub(crate) async fn answer(request: reqwest::RequestBuilder) -> Answer {
    let reply = request.send().await.expect("an HTTP answer");
    Answer {
        status: reply.status().as_u16(),
        headers: reply.headers().clone(),
        body: reply.bytes().await.expect("a body").to_vec(),
    }
}

/// Runs `scenario` against a fresh dev environment whose pages may come from [`PAGE`].
pub(crate) fn with_dev(scenario: impl AsyncFnOnce(&Dev)) {
    with_dev_profiles(&[], scenario);
}

/// As [`with_dev`], with more profiles (file name, text) beside the shipped default.
fn with_dev_profiles(profiles: &[(&str, &str)], scenario: impl AsyncFnOnce(&Dev)) {
    let temp = tempfile::tempdir().expect("a temporary directory");
    let dir = temp.path().join("dev");
    std::fs::create_dir_all(dir.join("policies")).expect("the policies directory");
    for (name, text) in profiles {
        std::fs::write(dir.join("policies").join(name), text).expect("a profile");
    }
    actix_web::rt::System::new().block_on(async move {
        let env = DevEnvironment::start_with_cors_origins(&dir, 0, 0, &[PAGE.to_owned()])
            .await
            .expect("the dev environment starts");
        let server = env.server.handle();
        actix_web::rt::spawn(env.server);
        let dev = Dev {
            url: env.url.clone(),
            token: env.token.clone(),
            store: env.store.endpoint(),
            data: data_dir(&dir),
            config: env.config_path.clone(),
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .expect("a client"),
        };
        tokio::time::timeout(std::time::Duration::from_secs(120), scenario(&dev))
            .await
            .expect("the scenario ends within 2 minutes");
        server.stop(false).await;
    });
}

fn data_dir(dir: &Path) -> PathBuf {
    dir.canonicalize().expect("the dev directory").join("data")
}

fn sha256_b64(bytes: &[u8]) -> String {
    BASE64.encode(sha2::Sha256::digest(bytes))
}

#[test]
fn bytes_refused_under_a_signed_digest_are_not_stored() {
    with_dev(async |dev| {
        let right = b"the right bytes".to_vec();
        let wrong = b"the wrong bytes".to_vec();
        assert_eq!(right.len(), wrong.len());
        for digest in ["checksum_sha256", "content_md5"] {
            let value = match digest {
                "checksum_sha256" => sha256_b64(&right),
                _ => BASE64.encode(md5(&right)),
            };
            let grant = dev
                .grant(
                    "/v1/uploads",
                    json!({ "filename": "a.txt", "content_type": "text/plain",
                            "size": right.len(), digest: value }),
                )
                .await;
            let key = grant["key"].as_str().expect("a key").to_owned();
            let refused = dev.put(&grant, &wrong, &[]).await;
            assert_eq!(refused.status, 400, "{digest}: {}", refused.text());
            assert!(
                refused.text().contains("<Code>BadDigest</Code>"),
                "{}",
                refused.text()
            );
            dev.assert_absent(&key, &format!("wrong bytes under {digest}"))
                .await;
            let accepted = dev.put(&grant, &right, &[]).await;
            assert_eq!(
                accepted.status,
                200,
                "{digest}, right bytes: {}",
                accepted.text()
            );
            assert_eq!(dev.download(&key).await, right, "{digest}");
        }

        // A POST form with a checksum field: the same.
        let form = dev
            .grant(
                "/v1/uploads",
                json!({ "filename": "f.txt", "content_type": "text/plain", "size": right.len(),
                        "method": "POST", "checksum_sha256": sha256_b64(&right) }),
            )
            .await;
        let key = form["key"].as_str().expect("a key").to_owned();
        let post = |bytes: Vec<u8>| {
            let mut multipart = reqwest::multipart::Form::new();
            for (name, value) in form["fields"].as_object().expect("fields") {
                multipart = multipart.text(name.clone(), value.as_str().expect("text").to_owned());
            }
            let file = reqwest::multipart::Part::bytes(bytes).file_name("f.txt");
            dev.http
                .post(form["url"].as_str().expect("a URL"))
                .multipart(multipart.part("file", file))
        };
        let refused = answer(post(wrong.clone())).await;
        assert_eq!(refused.status, 400, "form, wrong bytes: {}", refused.text());
        dev.assert_absent(&key, "a form's wrong bytes").await;
        let accepted = answer(post(right.clone())).await;
        assert!(
            (200..300).contains(&accepted.status),
            "form, right bytes: {}",
            accepted.text()
        );
        assert_eq!(dev.download(&key).await, right);
    });
}

#[test]
fn unsigned_amz_headers_of_a_presigned_request_are_refused() {
    with_dev(async |dev| {
        let grant = dev
            .grant(
                "/v1/uploads",
                json!({ "filename": "m.txt", "content_type": "text/plain", "size": 2,
                        "metadata": { "title": "signed" } }),
            )
            .await;
        let key = grant["key"].as_str().expect("a key").to_owned();
        let refused = dev.put(&grant, b"hi", &[("x-amz-meta-evil", "1")]).await;
        assert_eq!(refused.status, 403, "{}", refused.text());
        assert!(
            refused
                .text()
                .contains("<HeadersNotSigned>x-amz-meta-evil</HeadersNotSigned>"),
            "{}",
            refused.text()
        );
        dev.assert_absent(&key, "a PUT with unsigned metadata")
            .await;
        let refused = dev
            .put(&grant, b"hi", &[("x-amz-acl", "public-read")])
            .await;
        assert_eq!(refused.status, 403, "{}", refused.text());
        // The signed metadata alone is the honest request.
        let accepted = dev.put(&grant, b"hi", &[]).await;
        assert_eq!(accepted.status, 200, "{}", accepted.text());
        assert_eq!(dev.download(&key).await, b"hi");
    });
}

#[test]
fn parts_are_listed_with_their_etags() {
    const PART: usize = 5 * 1024 * 1024;
    with_dev(async |dev| {
        let created = dev
            .grant(
                "/v1/multipart",
                json!({ "filename": "big.bin", "content_type": "application/octet-stream",
                        "size": PART + 3, "part_size": PART }),
            )
            .await;
        let parts = dev
            .grant(
                "/v1/multipart/parts",
                json!({ "upload": created["upload"], "part_numbers": [1, 2] }),
            )
            .await;
        let bodies = [vec![7u8; PART], b"end".to_vec()];
        let mut etags = Vec::new();
        for (part, body) in parts["parts"]
            .as_array()
            .expect("parts")
            .iter()
            .zip(&bodies)
        {
            let sent = dev.put(part, body, &[]).await;
            assert_eq!(sent.status, 200, "UploadPart: {}", sent.text());
            etags.push(sent.header("etag").expect("an ETag").to_owned());
        }
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("upload", created["upload"].as_str().expect("a ticket"))
            .finish();
        let listed = dev
            .api(
                reqwest::Method::GET,
                &format!("/v1/multipart/parts?{query}"),
                None,
            )
            .await;
        assert_eq!(listed.status, 200, "{}", listed.text());
        let listed = listed.json();
        let listed: Vec<(u64, String)> = listed["parts"]
            .as_array()
            .expect("parts")
            .iter()
            .map(|p| {
                let etag = p["etag"]
                    .as_str()
                    .unwrap_or_else(|| panic!("an etag in {p}"));
                (
                    p["part_number"].as_u64().expect("a number"),
                    etag.to_owned(),
                )
            })
            .collect();
        assert_eq!(
            listed,
            vec![(1, etags[0].clone()), (2, etags[1].clone())],
            "ListParts names the ETags UploadPart answered"
        );
        let etag = |bytes: &[u8]| format!("\"{}\"", hex::encode(md5(bytes)));
        assert_eq!(etags, [etag(&bodies[0]), etag(&bodies[1])]);
        // Completing with the listed parts (what a resumed client does) stores the file.
        let completed = dev
            .grant(
                "/v1/multipart/complete",
                json!({ "upload": created["upload"], "parts": [
                    { "part_number": 1, "etag": listed[0].1 },
                    { "part_number": 2, "etag": listed[1].1 },
                ] }),
            )
            .await;
        let key = completed["key"].as_str().expect("a key").to_owned();
        assert_eq!(
            dev.download(&key).await,
            [bodies[0].clone(), bodies[1].clone()].concat()
        );
    });
}

#[test]
fn cors_follows_the_bucket_rules() {
    with_dev(async |dev| {
        let preflight = |origin: &str, method: &str, headers: &str| {
            let mut request = dev
                .http
                .request(
                    reqwest::Method::OPTIONS,
                    format!("{}/{DEV_BUCKET}/users/dev/x", dev.store),
                )
                .header("origin", origin)
                .header("access-control-request-method", method);
            if !headers.is_empty() {
                request = request.header("access-control-request-headers", headers);
            }
            answer(request)
        };
        let allowed = preflight(
            PAGE,
            "PUT",
            "content-type,if-none-match,x-amz-checksum-sha256",
        )
        .await;
        assert_eq!(allowed.status, 200, "{}", allowed.text());
        assert_eq!(allowed.header("access-control-allow-origin"), Some(PAGE));
        let own = format!(
            "http://localhost:{}",
            dev.url.rsplit(':').next().unwrap_or_default()
        );
        let demo = preflight(&own, "PUT", "content-type").await;
        assert_eq!(
            demo.status,
            200,
            "the demo page's own origin: {}",
            demo.text()
        );
        for (origin, method, headers, what) in [
            (
                "http://evil.example",
                "PUT",
                "content-type",
                "an origin not listed",
            ),
            (PAGE, "PATCH", "", "a method not listed"),
            (PAGE, "PUT", "x-requested-with", "a header not listed"),
        ] {
            let refused = preflight(origin, method, headers).await;
            assert_eq!(refused.status, 403, "{what}: {}", refused.text());
            assert!(
                refused.header("access-control-allow-origin").is_none(),
                "{what}"
            );
        }
        // An actual request from an origin not listed gets no CORS headers: the browser keeps
        // the answer from the page.
        let get = |origin: &str| {
            answer(
                dev.http
                    .get(format!("{}/{DEV_BUCKET}/users/dev/x", dev.store))
                    .header("origin", origin),
            )
        };
        assert!(
            get("http://evil.example")
                .await
                .header("access-control-allow-origin")
                .is_none()
        );
        let listed = get(PAGE).await;
        assert_eq!(listed.header("access-control-allow-origin"), Some(PAGE));
        assert_eq!(
            listed.header("access-control-expose-headers"),
            Some("ETag, Location")
        );
    });
}

/// MD5, as S3 computes `Content-MD5` and part ETags.
fn md5(bytes: &[u8]) -> [u8; 16] {
    <s3s::crypto::Md5 as s3s::crypto::Checksum>::checksum(bytes)
}

/// `s3-broker dev --cors-origin ORIGIN` and `S3_BROKER__SERVER__CORS_ORIGINS` open the API and
/// the store to those pages, and to no other.
#[test]
fn dev_opens_the_api_and_the_store_to_the_origins_it_is_given() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let (flag, env, other) = (
        "http://127.0.0.1:5173",
        "http://127.0.0.1:5174",
        "http://127.0.0.1:5175",
    );
    let temp = tempfile::tempdir().expect("a temporary directory");
    let mut child = Command::new(env!("CARGO_BIN_EXE_s3-broker"))
        .args([
            "dev",
            "--port",
            "0",
            "--store-port",
            "0",
            "--cors-origin",
            flag,
        ])
        .arg("--dir")
        .arg(temp.path().join("dev"))
        .env("S3_BROKER__SERVER__CORS_ORIGINS", format!("[\"{env}\"]"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("s3-broker dev starts");
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let stderr = child.stderr.take().expect("stderr");
    let stdout = child.stdout.take().expect("stdout");
    let _child = Kill(child);
    let (tx, rx) = std::sync::mpsc::channel();
    for lines in [
        Box::new(BufReader::new(stderr).lines()) as Box<dyn Iterator<Item = _> + Send>,
        Box::new(BufReader::new(stdout).lines()),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
    }
    let (mut store, mut broker) = (None, None);
    while store.is_none() || broker.is_none() {
        let line = rx
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("dev prints its store and its URL within 30 s");
        if let Some(rest) = line.trim().strip_prefix("Local S3:") {
            store = rest.split_whitespace().next().map(str::to_owned);
        }
        if let Some(url) = line.strip_prefix("export S3_BROKER_URL=") {
            broker = Some(url.to_owned());
        }
    }
    let (store, broker) = (store.expect("a store"), broker.expect("a URL"));
    crate::support::runtime().block_on(async {
        let http = reqwest::Client::new();
        let preflight = |url: String, origin: &str, method: &str| {
            answer(
                http.request(reqwest::Method::OPTIONS, url)
                    .header("origin", origin)
                    .header("access-control-request-method", method)
                    .header("access-control-request-headers", "content-type"),
            )
        };
        for origin in [flag, env] {
            let to_store = preflight(format!("{store}/{DEV_BUCKET}/k"), origin, "PUT").await;
            assert_eq!(
                to_store.status,
                200,
                "{origin} to the store: {}",
                to_store.text()
            );
            let to_api = preflight(format!("{broker}/v1/uploads"), origin, "POST").await;
            assert_eq!(
                to_api.header("access-control-allow-origin"),
                Some(origin),
                "{origin} to the API"
            );
        }
        let to_store = preflight(format!("{store}/{DEV_BUCKET}/k"), other, "PUT").await;
        assert_eq!(to_store.status, 403, "another origin to the store");
        let to_api = preflight(format!("{broker}/v1/uploads"), other, "POST").await;
        assert!(to_api.header("access-control-allow-origin").is_none());
    });
}

/// The dev store keeps no object tags: a profile with `scan` gets 502 `s3_refused` saying so,
/// never a grant, even for an object that is there.
#[test]
fn a_scanned_profile_gets_no_download_from_the_dev_store() {
    const SCANNED: &str = include_str!("../fixtures/scan/scanned.toml");
    with_dev_profiles(&[("scanned.toml", SCANNED)], async |dev| {
        let grant = dev
            .grant(
                "/v1/uploads",
                json!({"profile": "scanned", "filename": "a.txt", "content_type": "text/plain",
                       "size": 5}),
            )
            .await;
        let put = dev.put(&grant, b"hello", &[]).await;
        assert_eq!(put.status, 200, "{}", put.text());
        let key = grant["key"].as_str().unwrap();
        assert!(key.starts_with(&format!("scanned/{DEV_USER}/")), "{key}");
        let reply = dev
            .api(
                reqwest::Method::POST,
                "/v1/downloads",
                Some(json!({ "key": key })),
            )
            .await;
        assert_eq!(reply.status, 502, "{}", reply.text());
        let problem = reply.json();
        assert_eq!(problem["code"], "s3_refused");
        let detail = problem["detail"].as_str().unwrap();
        assert!(
            detail.contains("does not implement object tags"),
            "{detail}"
        );
    });
}
