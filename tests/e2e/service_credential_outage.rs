//! A credential provider that hangs, as an operator meets it: `s3-broker serve` (the built
//! binary) on the default credential chain, with every source empty but instance metadata,
//! which points at an endpoint started by the test that accepts connections and never answers.
//!
//! Requests must not queue behind the provider: concurrent grant requests share one provider
//! call and all answer 503 `credentials_unavailable` when it times out; during the backoff
//! that follows, requests fail at once without a new call; and a route that calls S3 answers
//! `credentials_unavailable` without calling S3.

use crate::support::broker::{AUDIENCE, HS_SECRET, ISSUER, TICKET_SECRET, text_upload, token};
use crate::support::ports::free_port;
use s3_broker::config::ConfigBuilder;
use s3_broker::domain::Scopes;
use s3_broker::s3::PROVIDER_TIMEOUT;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

const PROFILE: &str = r#"
key_template = "users/{principal}/{uuid}/{filename}"
content_types = ["text/plain"]
max_size = "1 MiB"
methods = ["PUT", "POST"]
"#;

/// A TCP endpoint on 127.0.0.1 that accepts connections, counts them and never answers
/// (it holds every socket until the test ends).
struct Silent {
    url: String,
    connections: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Silent {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let url = format!("http://{}", listener.local_addr().expect("an address"));
        let connections = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&connections);
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                held.push(socket);
            }
        });
        Self {
            url,
            connections,
            task,
        }
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for Silent {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// `s3-broker serve` with the default chain: no AWS variable but the instance-metadata
/// endpoint, an empty HOME and no profile files. Killed when dropped.
struct Serve {
    url: String,
    _child: tokio::process::Child,
    log: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Serve {
    async fn start(imds: &str, s3: &str) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let policies = dir.path().join("policies");
        std::fs::create_dir_all(&policies).unwrap();
        std::fs::write(policies.join("default.toml"), PROFILE).unwrap();
        let port = free_port().expect("a free port");
        let config = ConfigBuilder::new()
            .set("server", "bind", format!("127.0.0.1:{port}"))
            .set("server", "workers", 2)
            .store("us-east-1", "outage-bucket", s3)
            .hs256(ISSUER, AUDIENCE, HS_SECRET)
            .ticket_key("e2e", TICKET_SECRET)
            .set("policies", "dir", policies.to_string_lossy().as_ref());
        let config_path = dir.path().join("config.toml");
        std::fs::write(&config_path, config.text()).unwrap();
        let log = dir.path().join("serve.log");
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_s3-broker"));
        for name in crate::support::inherited_settings() {
            cmd.env_remove(name);
        }
        let home = dir.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        cmd.env("HOME", &home)
            .env("AWS_CONFIG_FILE", home.join("no-config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", home.join("no-credentials"))
            .env("AWS_EC2_METADATA_DISABLED", "false")
            .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds)
            .args(["serve", "--config"])
            .arg(&config_path)
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .kill_on_drop(true);
        let child = cmd.spawn().expect("run s3-broker serve");
        let serve = Self {
            url: format!("http://127.0.0.1:{port}"),
            _child: child,
            log,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let up = reqwest::get(format!("{}/healthz", serve.url))
                .await
                .is_ok_and(|r| r.status() == 200);
            if up {
                return serve;
            }
            assert!(
                Instant::now() < deadline,
                "serve did not start: {}",
                serve.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// Sends `count` grant requests at once; returns each one's status, problem code and the
/// time it took, in completion order.
async fn burst(client: &reqwest::Client, url: &str, count: usize) -> Vec<(u16, String, Duration)> {
    let bearer = token("alice", Scopes::all());
    let mut requests = tokio::task::JoinSet::new();
    let started = Instant::now();
    for _ in 0..count {
        let request = client
            .post(format!("{url}/v1/uploads"))
            .bearer_auth(&bearer)
            .json(&text_upload("a.txt", 4, json!({})));
        requests.spawn(async move {
            let reply = request.send().await.expect("an answer");
            let status = reply.status().as_u16();
            let body: Value = reply.json().await.unwrap_or(Value::Null);
            (
                status,
                body["code"].as_str().unwrap_or("").to_owned(),
                started.elapsed(),
            )
        });
    }
    requests.join_all().await
}

fn assert_all_unavailable(replies: &[(u16, String, Duration)], what: &str) {
    for (status, code, _) in replies {
        assert_eq!(
            (*status, code.as_str()),
            (503, "credentials_unavailable"),
            "{what}"
        );
    }
}

fn slowest(replies: &[(u16, String, Duration)]) -> Duration {
    replies.iter().map(|r| r.2).max().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_metadata_endpoint_costs_one_provider_call_per_backoff() {
    let imds = Silent::start().await;
    let s3 = Silent::start().await;
    let serve = Serve::start(&imds.url, &s3.url).await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();

    // Ten at once: they share one provider call and answer together when it gives up.
    let first = burst(&client, &serve.url, 10).await;
    assert_all_unavailable(&first, "while the provider hangs");
    let fastest = first.iter().map(|r| r.2).min().unwrap_or_default();
    let slowest_first = slowest(&first);
    eprintln!(
        "first burst: {fastest:?}..{slowest_first:?}, metadata connections {}",
        imds.connections()
    );
    assert!(
        slowest_first < PROVIDER_TIMEOUT + Duration::from_secs(2),
        "{slowest_first:?}: longer than one provider call"
    );
    assert!(
        slowest_first - fastest < Duration::from_millis(800),
        "answered one after another: {fastest:?}..{slowest_first:?}"
    );
    let one_call = imds.connections();
    assert!(
        one_call >= 1,
        "the chain never reached the metadata endpoint"
    );
    assert!(
        one_call < 10,
        "{one_call} connections for one provider call"
    );

    // Within the backoff (2 s after the failure): refused at once, the provider left alone.
    let during = burst(&client, &serve.url, 10).await;
    assert_all_unavailable(&during, "during the backoff");
    assert!(
        slowest(&during) < Duration::from_millis(800),
        "{:?}: requests waited during the backoff",
        slowest(&during)
    );
    assert_eq!(imds.connections(), one_call, "a call during the backoff");

    // A route that calls S3: refused for the credentials, and S3 is never called.
    let listing = client
        .get(format!("{}/v1/objects", serve.url))
        .bearer_auth(token("alice", Scopes::all()))
        .send()
        .await
        .expect("an answer");
    let status = listing.status().as_u16();
    let body: Value = listing.json().await.unwrap_or(Value::Null);
    assert_eq!(
        (status, body["code"].as_str()),
        (503, Some("credentials_unavailable")),
        "GET /v1/objects: {body}"
    );
    assert_eq!(s3.connections(), 0, "S3 was called without credentials");

    // After the backoff: one new provider call for the next burst, not one per request.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let after = burst(&client, &serve.url, 10).await;
    assert_all_unavailable(&after, "after the backoff");
    let two_calls = imds.connections();
    eprintln!(
        "after the backoff: slowest {:?}, metadata connections {two_calls}",
        slowest(&after)
    );
    assert!(
        two_calls <= 2 * one_call,
        "{one_call} then {two_calls} connections"
    );
    assert_eq!(s3.connections(), 0);
    let log = serve.log();
    assert!(!log.contains("panicked"), "{log}");
    drop(serve);
}
