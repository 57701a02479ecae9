//! `[limits]` and `[revocation]` end to end: the built `s3-broker serve` (two processes when
//! the limit must be shared) over HTTP on 127.0.0.1, with a real `redis-server` as the shared
//! store (`support::redis`), stopped mid-test for the failure modes, and `s3-broker revoke`.
//! Grants are PUT grants signed without calling S3, so no S3 server is needed here; the
//! revocation of multipart tickets, which needs S3, is in `service_revocation`.

use crate::support::broker::{
    API_KEY, API_KEY_PRINCIPAL, AUDIENCE, HS_SECRET, ISSUER, PUT_PROFILE,
};
use crate::support::redis::{Redis, limiter};
use crate::support::runtime;
use s3_broker::config::ConfigBuilder;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// `{ requests = N, window_secs = W }`.
fn rate(requests: i64, window_secs: i64) -> toml::Value {
    let mut table = toml::Table::new();
    table.insert("requests".into(), requests.into());
    table.insert("window_secs".into(), window_secs.into());
    toml::Value::Table(table)
}

/// The configuration of a broker process: PUT grants signed locally, an HS256 secret, an API
/// key (issued an hour ago) and whatever `limits` adds.
fn write_config(dir: &Path, limits: impl FnOnce(ConfigBuilder) -> ConfigBuilder) -> PathBuf {
    write_config_with(dir, PUT_PROFILE, limits)
}

/// As [`write_config`], with `profile` as the default profile.
fn write_config_with(
    dir: &Path,
    profile: &str,
    limits: impl FnOnce(ConfigBuilder) -> ConfigBuilder,
) -> PathBuf {
    let policies = dir.join("policies");
    std::fs::create_dir_all(&policies).unwrap();
    std::fs::write(policies.join("default.toml"), profile).unwrap();
    let issued = (chrono::Utc::now() - chrono::Duration::hours(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut api_key = toml::Table::new();
    api_key.insert(
        "sha256".into(),
        s3_broker::config::sha256_hex(API_KEY).into(),
    );
    api_key.insert("principal".into(), API_KEY_PRINCIPAL.into());
    api_key.insert("scopes".into(), vec!["upload"].into());
    api_key.insert("issued_at".into(), issued.into());
    let config = limits(
        ConfigBuilder::new()
            .set("server", "bind", "127.0.0.1:0")
            .set("server", "workers", 2)
            .set("server", "drain_secs", 0)
            .store("us-east-1", "limits", "http://127.0.0.1:9")
            .static_credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
            .hs256(ISSUER, AUDIENCE, HS_SECRET)
            .push("auth", "api_keys", api_key)
            .set("policies", "dir", policies.to_string_lossy().as_ref()),
    );
    let path = dir.join(format!("config-{}.toml", uuid::Uuid::new_v4()));
    std::fs::write(&path, config.text()).unwrap();
    path
}

fn binary() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_s3-broker"));
    for name in crate::support::inherited_settings() {
        cmd.env_remove(name);
    }
    cmd.env("AWS_EC2_METADATA_DISABLED", "true");
    cmd
}

/// `s3-broker serve` as a child process.
struct Serve {
    child: Child,
    url: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl Serve {
    async fn start(config: &Path) -> Self {
        let mut child = binary()
            .env("RUST_LOG", "info")
            .args(["serve", "--config"])
            .arg(config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start s3-broker serve");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (addr_tx, addr_rx) = tokio::sync::oneshot::channel::<String>();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let kept = Arc::clone(&log);
        tokio::spawn(async move {
            let mut addr_tx = Some(addr_tx);
            while let Ok(Some(line)) = lines.next_line().await {
                let json: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
                let fields = json.get("fields").unwrap_or(&json);
                if fields["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("serving"))
                    && let (Some(addr), Some(tx)) = (fields["addr"].as_str(), addr_tx.take())
                {
                    let _ = tx.send(addr.to_owned());
                }
                kept.lock().unwrap().push(line);
            }
        });
        let addr = tokio::time::timeout(Duration::from_secs(30), addr_rx)
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_else(|| panic!("no address logged:\n{}", log.lock().unwrap().join("\n")));
        Self {
            child,
            url: format!("http://{addr}"),
            log,
        }
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// A reply: status, headers, body.
struct Reply {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or_default()
    }
}

async fn call(req: reqwest::RequestBuilder) -> Reply {
    let res = req.send().await.expect("the broker answers");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let text = res.text().await.unwrap_or_default();
    Reply {
        status,
        headers,
        body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// `POST /v1/uploads` of `size` bytes with `auth` (`Bearer ...` or an API key).
async fn upload(broker: &Serve, auth: &str, size: u64) -> Reply {
    let req = client()
        .post(format!("{}/v1/uploads", broker.url))
        .json(&json!({ "filename": "a.txt", "content_type": "text/plain", "size": size }));
    let req = match auth.strip_prefix("key:") {
        Some(key) => req.header("x-api-key", key),
        None => req.bearer_auth(auth),
    };
    call(req).await
}

async fn get(broker: &Serve, path: &str) -> Reply {
    call(client().get(format!("{}{path}", broker.url))).await
}

async fn metrics(broker: &Serve) -> String {
    let reply = get(broker, "/metrics").await;
    reply.body.as_str().unwrap_or_default().to_owned()
}

/// A token of `subject` issued at `iat` (Unix seconds), valid 10 minutes.
fn token_at(subject: &str, iat: i64) -> String {
    s3_broker::auth::mint_dev_token(
        HS_SECRET.as_bytes(),
        ISSUER,
        AUDIENCE,
        subject,
        s3_broker::domain::Scopes::all(),
        Duration::from_secs(600),
        chrono::DateTime::from_timestamp(iat, 0).unwrap(),
    )
    .unwrap()
}

fn token(subject: &str) -> String {
    token_at(subject, chrono::Utc::now().timestamp())
}

fn redis_limits(redis: &Redis) -> impl FnOnce(ConfigBuilder) -> ConfigBuilder + '_ {
    |c: ConfigBuilder| c.set("limits", "store", redis.url.as_str())
}

#[test]
fn two_processes_sharing_one_redis_enforce_one_rate() {
    runtime().block_on(async {
        let redis = Redis::start();
        let dir = tempfile::tempdir().unwrap();
        let config = write_config(dir.path(), |c| {
            redis_limits(&redis)(c).set("limits.rates", "grants", rate(4, 60))
        });
        let (a, b) = (Serve::start(&config).await, Serve::start(&config).await);
        let (alice, bob) = (token("alice"), token("bob"));
        for (broker, remaining) in [(&a, 3), (&b, 2), (&a, 1), (&b, 0)] {
            let reply = upload(broker, &alice, 1).await;
            assert_eq!(reply.status, 200, "{:?}", reply.body);
            assert_eq!(
                reply.header("ratelimit-policy"),
                Some("\"grants\";q=4;w=60")
            );
            let state = reply.header("ratelimit").unwrap();
            assert!(
                state.starts_with(&format!("\"grants\";r={remaining};t=")),
                "{state}"
            );
        }
        for broker in [&a, &b] {
            let refused = upload(broker, &alice, 1).await;
            assert_eq!((refused.status, refused.code()), (429, "rate_limited"));
            let retry: u64 = refused.header("retry-after").unwrap().parse().unwrap();
            assert!((1..=15).contains(&retry), "Retry-After {retry}");
            assert_eq!(
                refused.header("ratelimit-policy"),
                Some("\"grants\";q=4;w=60")
            );
            assert!(
                refused
                    .header("ratelimit")
                    .unwrap()
                    .starts_with("\"grants\";r=0;t=")
            );
            assert_eq!(
                refused.header("content-type"),
                Some("application/problem+json")
            );
        }
        let other = upload(&b, &bob, 1).await;
        assert_eq!(other.status, 200, "bob is unaffected: {:?}", other.body);
        let text = metrics(&a).await;
        assert!(
            text.contains("s3_broker_rate_limited_total{class=\"grants\"} 1"),
            "{text}"
        );
        assert!(text.contains("s3_broker_limits_store_up 1"), "{text}");
        let ready = get(&a, "/readyz").await;
        assert_eq!(
            (ready.status, ready.body["limits_store"].as_str()),
            (200, Some("up"))
        );
    });
}

#[test]
fn quotas_through_the_store_are_enforced_and_reset() {
    runtime().block_on(async {
        let redis = Redis::start();
        let dir = tempfile::tempdir().unwrap();
        let config = write_config(dir.path(), |c| {
            redis_limits(&redis)(c)
                .set("limits", "quota_window_secs", 3)
                .set("limits.quotas", "bytes_per_day", 100)
                .set("limits.quotas", "grants_per_day", 3)
        });
        let (a, b) = (Serve::start(&config).await, Serve::start(&config).await);
        let (alice, bob) = (token("alice"), token("bob"));
        // Start early in a window so the test does not straddle two.
        let now = chrono::Utc::now();
        let into = (now.timestamp() % 3) as u64 * 1000 + u64::from(now.timestamp_subsec_millis());
        tokio::time::sleep(Duration::from_millis(3050 - into)).await;
        let started = Instant::now();
        assert_eq!(upload(&a, &alice, 70).await.status, 200);
        let over = upload(&b, &alice, 31).await;
        assert_eq!(
            (over.status, over.code()),
            (429, "quota_exceeded"),
            "{:?}",
            over.body
        );
        let detail = over.body["detail"].as_str().unwrap();
        assert!(
            detail.contains("bytes_per_day") && detail.contains("resets at"),
            "{detail}"
        );
        assert!(over.header("retry-after").is_some());
        assert!(
            over.header("ratelimit-policy")
                .unwrap()
                .starts_with("\"bytes_per_day\";q=100;w=3")
        );
        assert_eq!(upload(&b, &alice, 30).await.status, 200, "100 of 100 bytes");
        assert_eq!(upload(&a, &alice, 0).await.status, 200, "the third grant");
        let over = upload(&b, &alice, 0).await;
        assert_eq!((over.status, over.code()), (429, "quota_exceeded"));
        assert!(
            over.body["detail"]
                .as_str()
                .unwrap()
                .contains("grants_per_day")
        );
        assert_eq!(upload(&a, &bob, 100).await.status, 200, "bob's own quota");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "all within one window"
        );
        tokio::time::sleep(
            Duration::from_secs(3).saturating_sub(started.elapsed()) + Duration::from_millis(200),
        )
        .await;
        assert_eq!(upload(&b, &alice, 100).await.status, 200, "the next window");
        let text = metrics(&b).await;
        assert!(
            text.contains("s3_broker_quota_exceeded_total{quota=\"bytes_per_day\"} 1"),
            "{text}"
        );
    });
}

/// A profile for forms (POST policies): Uppy's PutObject through `/s3/sign`.
const FORM_PROFILE: &str = r#"
key_template = "users/{principal}/{uuid}/{filename}"
content_types = ["text/plain"]
max_size = "1 MiB"
methods = ["POST"]
"#;

/// A broker on a fresh `redis-server` with a rate of `class` whose budget comes back once a
/// day (so `remaining` only moves with requests) and both daily quotas; its default profile is
/// `profile`.
async fn counted_broker(dir: &Path, profile: &str, class: &str) -> (Redis, Serve) {
    let redis = Redis::start();
    let config = write_config_with(dir, profile, |c| {
        redis_limits(&redis)(c)
            .set("limits.rates", class, rate(1000, 86_400))
            .set("limits.quotas", "bytes_per_day", 1_000_000_000)
            .set("limits.quotas", "grants_per_day", 1_000)
    });
    let broker = Serve::start(&config).await;
    (redis, broker)
}

/// Five grants of `class` made by `grant` are five script calls to the store and nothing
/// else, each debiting both quotas; a request `refused` (400) before its grant is still counted
/// against the class's rate, in one call made after the answer.
async fn one_script_call_per_grant(
    redis: &Redis,
    class: &str,
    grant: impl AsyncFn() -> Reply,
    refused: impl AsyncFnOnce() -> Reply,
) {
    // The first call may load the script (EVALSHA, NOSCRIPT, SCRIPT LOAD, EVALSHA).
    let first = grant().await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    let before = redis.command_calls().await;
    for remaining in (994..=998).rev() {
        let reply = grant().await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        let state = reply.header("ratelimit").unwrap();
        assert!(
            state.starts_with(&format!("\"{class}\";r={remaining};t=")),
            "{state}"
        );
    }
    let after = redis.command_calls().await;
    assert_eq!(
        after.scripts_since(&before),
        5,
        "one script per grant: {after:?}"
    );
    // Each script: one read of the revocation times and both counters, the class rate (its
    // state, the server's clock, its new state), both counters debited (they exist already).
    after.assert_calls_since(
        &before,
        &[
            ("evalsha", 5),
            ("mget", 5),
            ("get", 5),
            ("time", 5),
            ("set", 5),
            ("incrby", 10),
        ],
    );
    // The counters were given their expiry (the window's end) when the first grant made
    // them, and only then.
    let mut con = redis.connection().await;
    let counters: Vec<String> = redis::cmd("KEYS")
        .arg("*:quota:*")
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(counters.len(), 2, "{counters:?}");
    for counter in &counters {
        let ttl: i64 = redis::cmd("TTL")
            .arg(counter)
            .query_async(&mut con)
            .await
            .unwrap();
        assert!((1..=86_400).contains(&ttl), "{counter}: TTL {ttl}");
    }
    let refused = refused().await;
    assert_eq!(refused.status, 400, "{:?}", refused.body);
    let waited = Instant::now();
    while redis.command_calls().await.since(&before, "evalsha") < 6 {
        assert!(
            waited.elapsed() < Duration::from_secs(5),
            "the refused request was not counted"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let reply = grant().await;
    let state = reply.header("ratelimit").unwrap();
    assert!(
        state.starts_with(&format!("\"{class}\";r=992;t=")),
        "{state}"
    );
}

#[test]
fn a_grant_is_one_script_call_to_the_store() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let (redis, broker) = counted_broker(dir.path(), PUT_PROFILE, "grants").await;
        let alice = token("alice");
        one_script_call_per_grant(
            &redis,
            "grants",
            async || upload(&broker, &alice, 10).await,
            // Refused before its grant: no size.
            async || {
                let body = json!({ "filename": "a.txt", "content_type": "text/plain" });
                let url = format!("{}/v1/uploads", broker.url);
                call(client().post(url).bearer_auth(&alice).json(&body)).await
            },
        )
        .await;
    });
}

/// `POST /s3/sign` of `body` (Uppy 6's `signRequest`) with `token`.
async fn uppy_sign(broker: &Serve, token: &str, body: Value) -> Reply {
    let url = format!("{}/s3/sign", broker.url);
    call(client().post(url).bearer_auth(token).json(&body)).await
}

/// Uppy's PutObject through `/s3/sign` (answered with a POST policy) is one round trip too:
/// the `uppy` rate is checked by the grant's script, not before it.
#[test]
fn an_uppy_put_object_grant_is_one_script_call_to_the_store() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let (redis, broker) = counted_broker(dir.path(), FORM_PROFILE, "uppy").await;
        let alice = token("alice");
        one_script_call_per_grant(
            &redis,
            "uppy",
            async || {
                let body = json!({ "method": "PUT", "key": "a.txt", "contentType": "text/plain" });
                let reply = uppy_sign(&broker, &alice, body).await;
                assert!(
                    reply.body["fields"]["policy"].is_string(),
                    "{:?}",
                    reply.body
                );
                reply
            },
            // Refused before its grant: no S3 operation is a HEAD.
            async || uppy_sign(&broker, &alice, json!({ "method": "HEAD", "key": "a.txt" })).await,
        )
        .await;
    });
}

/// Grants of `subjects` made all at once on `broker`, each with its subject's own token.
async fn grants_at_once(broker: &Arc<Serve>, subjects: &[String]) -> Vec<Reply> {
    let calls: Vec<_> = subjects
        .iter()
        .map(|subject| {
            let (broker, token) = (Arc::clone(broker), token(subject));
            tokio::spawn(async move { upload(&broker, &token, 1).await })
        })
        .collect();
    let mut replies = Vec::new();
    for call in calls {
        replies.push(call.await.unwrap());
    }
    replies
}

#[test]
fn grants_made_at_once_each_get_their_own_answer() {
    runtime().block_on(async {
        let redis = Redis::start();
        let dir = tempfile::tempdir().unwrap();
        // A budget that comes back once a day: `remaining` moves only with requests.
        let config = write_config(dir.path(), |c| {
            redis_limits(&redis)(c).set("limits.rates", "grants", rate(100, 86_400))
        });
        let broker = Arc::new(Serve::start(&config).await);
        // Subject k has made k grants before: each answer of the burst below is its own.
        let subjects: Vec<String> = (0..24).map(|k| format!("subject-{k}")).collect();
        for (k, subject) in subjects.iter().enumerate() {
            for _ in 0..k {
                assert_eq!(upload(&broker, &token(subject), 1).await.status, 200);
            }
        }
        // Many calls of one worker thread wait while a batch is at the store and leave
        // together as the next: every answer must still reach its own request.
        for round in 0..3 {
            let replies = grants_at_once(&broker, &subjects).await;
            for (k, reply) in replies.iter().enumerate() {
                assert_eq!(reply.status, 200, "{:?}", reply.body);
                let state = reply.header("ratelimit").unwrap();
                let remaining = 100 - k - round - 1;
                assert!(
                    state.starts_with(&format!("\"grants\";r={remaining};t=")),
                    "subject {k}, round {round}: {state}"
                );
            }
        }
    });
}

#[test]
fn a_script_flushed_from_the_store_is_loaded_again() {
    runtime().block_on(async {
        let redis = Redis::start();
        let dir = tempfile::tempdir().unwrap();
        let config = write_config(dir.path(), |c| {
            redis_limits(&redis)(c)
                .set("limits", "on_store_failure", "fail_closed")
                .set("limits.rates", "grants", rate(100, 86_400))
        });
        let broker = Arc::new(Serve::start(&config).await);
        let alice = token("alice");
        assert_eq!(upload(&broker, &alice, 1).await.status, 200);
        let mut con = redis.connection().await;
        let () = redis::cmd("SCRIPT")
            .arg("FLUSH")
            .query_async(&mut con)
            .await
            .unwrap();
        // Calls made at once after the flush meet NOSCRIPT together, load the script and are
        // counted in the store (a failure would be a 503 here).
        let subjects: Vec<String> = (0..8).map(|k| format!("flushed-{k}")).collect();
        for reply in grants_at_once(&broker, &subjects).await {
            assert_eq!(reply.status, 200, "{:?}", reply.body);
            let state = reply.header("ratelimit").unwrap();
            assert!(state.starts_with("\"grants\";r=99;t="), "{state}");
        }
        let state = upload(&broker, &alice, 1).await;
        let state = state.header("ratelimit").unwrap();
        assert!(state.starts_with("\"grants\";r=98;t="), "{state}");
    });
}

#[test]
fn a_store_that_hangs_is_cut_at_the_timeout() {
    runtime().block_on(async {
        let redis = Redis::start();
        let dir = tempfile::tempdir().unwrap();
        let config = write_config(dir.path(), |c| {
            redis_limits(&redis)(c)
                .set("limits", "on_store_failure", "fail_closed")
                .set("limits", "store_timeout_ms", 200)
                .set("limits.rates", "grants", rate(1000, 60))
        });
        let broker = Arc::new(Serve::start(&config).await);
        assert_eq!(upload(&broker, &token("alice"), 1).await.status, 200);
        // The server stops answering (its clients' commands wait) for 5 seconds.
        let mut con = redis.connection().await;
        let paused = Instant::now();
        let () = redis::cmd("CLIENT")
            .arg("PAUSE")
            .arg(5000)
            .arg("ALL")
            .query_async(&mut con)
            .await
            .unwrap();
        // Two waves: the second comes while the first's calls are still at the server.
        let subjects: Vec<String> = (0..12).map(|k| format!("waiting-{k}")).collect();
        for _ in 0..2 {
            let started = Instant::now();
            for reply in grants_at_once(&broker, &subjects).await {
                assert_eq!(
                    (reply.status, reply.code()),
                    (503, "limits_unavailable"),
                    "{:?}",
                    reply.body
                );
            }
            let waited = started.elapsed();
            assert!(
                waited < Duration::from_millis(1200),
                "each call is bounded by the 200 ms store timeout: {waited:?}"
            );
        }
        assert!(paused.elapsed() < Duration::from_secs(4), "still paused");
        // The server answers again: so does the broker, on the same connection.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if upload(&broker, &token("alice"), 1).await.status == 200 {
                break;
            }
            assert!(Instant::now() < deadline, "the store did not come back");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert!(
            paused.elapsed() >= Duration::from_secs(5),
            "answered while paused"
        );
    });
}

/// A thread that runs one tokio runtime after another (a test harness, a restarted worker)
/// gets the store on each: the script calls of the first runtime's connection are sent by a
/// task of that runtime, gone with it, and no later call waits for it.
#[test]
fn a_store_serves_one_runtime_after_another_on_a_thread() {
    let redis = Redis::start();
    let limiter = limiter(&format!(
        "store = \"{}\"\nstore_timeout_ms = 1000\n\
         [rates]\nlistings = {{ requests = 100, window_secs = 86400 }}",
        redis.url
    ));
    let who = s3_broker::domain::NamespaceSegment::for_subject(Some(ISSUER), "alice");
    for remaining in [99, 98, 97] {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let admitted = runtime.block_on(async {
            tokio::time::timeout(
                Duration::from_secs(5),
                limiter.admit(&who, None, s3_broker::limits::RouteClass::Listings),
            )
            .await
            .expect("an answer within the store timeout")
        });
        let outcome = admitted
            .unwrap_or_else(|refusal| panic!("refused: {refusal:?}"))
            .expect("the listings rate was checked");
        assert_eq!(outcome.remaining, remaining, "counted in the store");
        drop(runtime);
    }
}

/// A one-thread runtime, as an actix worker's (one connection to the store).
fn one_worker() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Multipart creates of alice's under the default profile, each ticket expiring in an hour.
struct Creates<'l> {
    limiter: &'l s3_broker::limits::Limiter,
    who: s3_broker::domain::NamespaceSegment,
    expires_at: chrono::DateTime<chrono::Utc>,
}

impl<'l> Creates<'l> {
    fn of_alice(limiter: &'l s3_broker::limits::Limiter) -> Self {
        Self {
            limiter,
            who: s3_broker::domain::NamespaceSegment::for_subject(Some(ISSUER), "alice"),
            expires_at: chrono::Utc::now() + chrono::Duration::hours(1),
        }
    }

    /// The grant of a create of `key`.
    async fn create(
        &self,
        key: &str,
    ) -> Result<Option<s3_broker::limits::RateOutcome>, s3_broker::limits::Refusal> {
        let opening = s3_broker::limits::Opening {
            key,
            expires_at: self.expires_at,
        };
        self.limiter
            .grant(&self.who, None, "default", None, Some(opening))
            .await
    }
}

/// Pauses every client of the store for a second (`CLIENT PAUSE`); answers when.
async fn pause_all(con: &mut redis::aio::MultiplexedConnection) -> Instant {
    let paused = Instant::now();
    let () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(1000)
        .arg("ALL")
        .query_async(con)
        .await
        .unwrap();
    paused
}

/// A create whose grant is cut at the store timeout (the server paused) may still be run by
/// the store once it answers again. Refused (`fail_closed`), the upload does not exist: the
/// broker releases its place, which would otherwise hold the quota of one open upload until
/// its ticket expires. Admitted (`fail_open`), the upload goes on and its place stays.
#[test]
fn a_create_cut_at_the_timeout_gives_its_place_back_if_refused() {
    let redis = Redis::start();
    for mode in ["fail_open", "fail_closed"] {
        let limiter = limiter(&format!(
            "store = \"{}\"\nstore_timeout_ms = 200\non_store_failure = \"{mode}\"\n\
             key_prefix = \"{mode}\"\n[quotas]\nconcurrent_multipart = 1",
            redis.url
        ));
        one_worker().block_on(async {
            let alice = Creates::of_alice(&limiter);
            let who = &alice.who;
            let create = async |key: &str| alice.create(key).await;
            // Loads the script (a paused server would cut its loading, not only its run).
            create("loaded.bin").await.expect("the first upload");
            limiter.close_upload(who, "default", "loaded.bin").await;
            let mut con = redis.connection().await;
            let paused = pause_all(&mut con).await;
            let cut = create("cut.bin").await;
            match mode {
                "fail_open" => assert_eq!(cut, Ok(None), "admitted by this instance"),
                _ => assert_eq!(cut, Err(s3_broker::limits::Refusal::StoreUnavailable)),
            }
            assert!(
                paused.elapsed() < Duration::from_millis(900),
                "cut at 200 ms"
            );
            tokio::time::sleep(Duration::from_millis(1300).saturating_sub(paused.elapsed())).await;
            // The store ran the cut create's script after the pause, then (refused) its
            // release.
            let next = create("next.bin").await;
            let held = match mode {
                "fail_open" => {
                    assert!(
                        matches!(next, Err(s3_broker::limits::Refusal::QuotaExceeded(_))),
                        "the admitted upload holds the one place: {next:?}"
                    );
                    "cut.bin"
                }
                _ => {
                    next.unwrap_or_else(|refusal| {
                        panic!("{mode}: the place is still held: {refusal:?}")
                    });
                    "next.bin"
                }
            };
            let open: Vec<String> = redis::cmd("ZRANGE")
                .arg(format!("{mode}:open:concurrent_multipart:*:{who}"))
                .arg(0)
                .arg(-1)
                .query_async(&mut con)
                .await
                .unwrap();
            assert_eq!(open, [held], "{mode}");
        });
    }
}

/// The release of a cut create's place removes the upload only where it holds the place that
/// create wrote (its expiry): places are known by object key, and another create of the same
/// key holds a live upload's place. Here the cut create's script writes nothing (over the
/// grant quota) while a live upload of that key, with its own expiry, holds a place: it stays.
#[test]
fn a_cut_create_releases_no_other_uploads_place() {
    let redis = Redis::start();
    let limiter = limiter(&format!(
        "store = \"{}\"\nstore_timeout_ms = 200\non_store_failure = \"fail_closed\"\n\
         [quotas]\nconcurrent_multipart = 2\ngrants_per_day = 1",
        redis.url
    ));
    // Its calls reach the store in order.
    one_worker().block_on(async {
        let alice = Creates::of_alice(&limiter);
        let create = async |key: &str| alice.create(key).await;
        // Loads the script and spends the one grant of the day.
        create("loaded.bin").await.expect("the first upload");
        let mut con = redis.connection().await;
        let set = format!("s3-broker:open:concurrent_multipart:*:{}", alice.who);
        let live = alice.expires_at.timestamp() + 60;
        let () = redis::cmd("ZADD")
            .arg(&set)
            .arg(live)
            .arg("same.bin")
            .query_async(&mut con)
            .await
            .unwrap();
        let paused = pause_all(&mut con).await;
        let cut = create("same.bin").await;
        assert_eq!(cut, Err(s3_broker::limits::Refusal::StoreUnavailable));
        tokio::time::sleep(Duration::from_millis(1300).saturating_sub(paused.elapsed())).await;
        // Answered on the same connection, after the cut script and its release.
        let after = create("after.bin").await;
        assert!(
            matches!(after, Err(s3_broker::limits::Refusal::QuotaExceeded(_))),
            "{after:?}"
        );
        let score: Option<i64> = redis::cmd("ZSCORE")
            .arg(&set)
            .arg("same.bin")
            .query_async(&mut con)
            .await
            .unwrap();
        assert_eq!(score, Some(live), "the live upload keeps its place");
    });
}

/// A rate above a million requests per second has an emission interval under a microsecond:
/// the store still keeps it (the broker never falls back to its own count).
#[test]
fn a_rate_above_a_million_per_second_is_kept_in_the_store() {
    runtime().block_on(async {
        let redis = Redis::start();
        let dir = tempfile::tempdir().unwrap();
        let config = write_config(dir.path(), |c| {
            redis_limits(&redis)(c).set("limits.rates", "grants", rate(1_000_000_000, 1))
        });
        let broker = Serve::start(&config).await;
        let alice = token("alice");
        for _ in 0..3 {
            let reply = upload(&broker, &alice, 1).await;
            assert_eq!(reply.status, 200, "{:?}", reply.body);
            let state = reply.header("ratelimit").unwrap();
            assert!(state.starts_with("\"grants\";r=999999999;"), "{state}");
        }
        let text = metrics(&broker).await;
        for counter in ["errors", "fallbacks"] {
            assert!(
                text.contains(&format!("s3_broker_limits_store_{counter}_total 0\n")),
                "{text}"
            );
        }
        assert!(text.contains("s3_broker_limits_store_up 1"), "{text}");
    });
}

/// The GCRA script keeps the fraction of a microsecond: at one fixed instant, a rate of
/// `burst` per `window` admits exactly `burst` requests, whether its interval is a fraction of
/// a microsecond (0.5) or a whole one and a half (truncated, the stored time would grow by
/// one a request and admit 30 of 20; dropped, it would never grow and admit them all).
#[test]
fn the_rate_script_keeps_fractions_of_a_microsecond() {
    runtime().block_on(async {
        let redis = Redis::start();
        let mut con = redis.connection().await;
        let script = redis::Script::new(&format!(
            "{}\n{}",
            include_str!("../../src/limits/lua/gcra.lua"),
            "local admitted = 0
             for _ = 1, tonumber(ARGV[3]) do
               if gcra(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), 1, 1765000000000000) == 1 then
                 admitted = admitted + 1
               end
             end
             return admitted"
        ));
        for (key, window, burst) in [("half", 100, 200), ("one-and-a-half", 30, 20)] {
            let admitted: u64 = script
                .key(key)
                .arg(window)
                .arg(burst)
                .arg(burst * 3)
                .invoke_async(&mut con)
                .await
                .unwrap();
            assert_eq!(admitted, burst, "{key}: {burst} per {window} us");
        }
    });
}

/// Stops redis under a broker configured with `mode`; returns the broker, the stopped store
/// and the token used.
async fn outage(mode: &str, dir: &Path) -> (Serve, Redis) {
    let redis = Redis::start();
    let config = write_config(dir, |c| {
        c.set("limits", "store", redis.url.as_str())
            .set("limits", "on_store_failure", mode)
            .set("limits", "replicas", 2)
            .set("limits", "store_timeout_ms", 200)
            .set("limits.rates", "grants", rate(4, 60))
    });
    let broker = Serve::start(&config).await;
    assert_eq!(upload(&broker, &token("alice"), 1).await.status, 200);
    redis.stop();
    (broker, redis)
}

#[test]
fn a_stopped_store_with_fail_open_limits_each_instance_alone() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let (broker, redis) = outage("fail_open", dir.path()).await;
        let alice = token("alice");
        // 4 per minute shared by 2 replicas: 2 per instance while the store is away.
        let mut statuses = Vec::new();
        for _ in 0..4 {
            let reply = upload(&broker, &alice, 1).await;
            assert_ne!(reply.status, 500, "{:?}", reply.body);
            statuses.push(reply.status);
        }
        assert_eq!(statuses, [200, 200, 429, 429], "{}", broker.log());
        let ready = get(&broker, "/readyz").await;
        assert_eq!(
            (ready.status, ready.body["limits_store"].as_str()),
            (200, Some("down_fail_open")),
            "{:?}",
            ready.body
        );
        let text = metrics(&broker).await;
        assert!(text.contains("s3_broker_limits_store_up 0"), "{text}");
        assert!(
            !text.contains("s3_broker_limits_store_errors_total 0\n"),
            "{text}"
        );
        assert!(
            !text.contains("s3_broker_limits_store_fallbacks_total 0\n"),
            "{text}"
        );
        // The store comes back: the broker finds it again.
        redis.start_again();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let ready = get(&broker, "/readyz").await;
            if ready.body["limits_store"] == "up" {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the store did not come back: {:?}",
                ready.body
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert!(
            metrics(&broker)
                .await
                .contains("s3_broker_limits_store_up 1")
        );
    });
}

#[test]
fn a_stopped_store_with_fail_closed_refuses_with_503() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let (broker, _redis) = outage("fail_closed", dir.path()).await;
        let started = Instant::now();
        for _ in 0..3 {
            let reply = upload(&broker, &token("alice"), 1).await;
            assert_eq!(
                (reply.status, reply.code()),
                (503, "limits_unavailable"),
                "{:?}",
                reply.body
            );
            assert_eq!(reply.header("retry-after"), Some("5"));
        }
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "bounded by the store timeout"
        );
        let ready = get(&broker, "/readyz").await;
        assert_eq!((ready.status, ready.code()), (503, "limits_unavailable"));
        let text = metrics(&broker).await;
        assert!(text.contains("s3_broker_limits_store_up 0"), "{text}");
        assert!(
            text.contains("s3_broker_problems_total{code=\"limits_unavailable\"}"),
            "{text}"
        );
        assert!(
            get(&broker, "/healthz").await.status == 200,
            "alive, just not ready"
        );
    });
}

/// Runs `s3-broker revoke --config CONFIG ARGS...`; returns its output.
async fn revoke(config: &Path, args: &[&str]) -> String {
    let out = binary()
        .args(["revoke", "--config"])
        .arg(config)
        .args(args)
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// After `revoke --sub alice --sub svc-backup`: alice's earlier token and the API key are
/// refused, bob is not, a token of alice issued after the revocation is accepted.
async fn revocation_refuses_the_subjects_credentials(config: &Path, wait: Duration) {
    let broker = Serve::start(config).await;
    let now = chrono::Utc::now().timestamp();
    let (alice, bob, key) = (
        token_at("alice", now - 5),
        token_at("bob", now - 5),
        format!("key:{API_KEY}"),
    );
    for auth in [&alice, &bob, &key] {
        assert_eq!(upload(&broker, auth, 1).await.status, 200);
    }
    let said = revoke(config, &["--sub", "alice", "--sub", API_KEY_PRINCIPAL]).await;
    assert!(said.contains("revoked alice, svc-backup"), "{said}");
    tokio::time::sleep(wait).await;
    for auth in [&alice, &key] {
        let reply = upload(&broker, auth, 1).await;
        assert_eq!(
            (reply.status, reply.code()),
            (401, "revoked"),
            "{:?}",
            reply.body
        );
        assert!(
            reply
                .header("www-authenticate")
                .unwrap()
                .contains("invalid_token")
        );
    }
    assert_eq!(
        upload(&broker, &bob, 1).await.status,
        200,
        "bob is unaffected"
    );
    let later = token_at("alice", chrono::Utc::now().timestamp() + 2);
    assert_eq!(
        upload(&broker, &later, 1).await.status,
        200,
        "a token issued after"
    );
}

/// The revocation times of a route that grants nothing (a listing: the check script, not the
/// grant's) are whole seconds as `revoke` writes them; anything else found under the key (a
/// hand-written value) is no time, and never a store error.
#[test]
fn the_check_script_reads_whole_seconds_only() {
    runtime().block_on(async {
        let redis = Redis::start();
        let dir = tempfile::tempdir().unwrap();
        let config = write_config(dir.path(), |c| {
            redis_limits(&redis)(c).set("limits", "on_store_failure", "fail_closed")
        });
        let broker = Serve::start(&config).await;
        let alice = token_at("alice", chrono::Utc::now().timestamp() - 5);
        let mut con = redis.connection().await;
        let later = chrono::Utc::now().timestamp() + 600;
        for (value, revoked) in [
            (later.to_string(), true),
            (format!("{later}.5"), false),
            (format!("{later:#x}"), false),
            ("9".repeat(19), false),
            ("not a time".to_owned(), false),
        ] {
            redis::cmd("SET")
                .arg("s3-broker:revoked:alice")
                .arg(&value)
                .query_async::<()>(&mut con)
                .await
                .unwrap();
            let listing = client().get(format!("{}/v1/objects", broker.url));
            let reply = call(listing.bearer_auth(&alice)).await;
            let seen = (reply.status, reply.code().to_owned());
            if revoked {
                assert_eq!(seen, (401, "revoked".to_owned()), "{value}");
            } else {
                assert_ne!(reply.status, 401, "{value}: {:?}", reply.body);
                assert_ne!(reply.code(), "limits_unavailable", "{value}");
            }
        }
    });
}

#[test]
fn revocation_through_the_store() {
    runtime().block_on(async {
        let redis = Redis::start();
        let dir = tempfile::tempdir().unwrap();
        let config = write_config(dir.path(), redis_limits(&redis));
        revocation_refuses_the_subjects_credentials(&config, Duration::ZERO).await;
    });
}

#[test]
fn revocation_through_the_file() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("revoked.json");
        let config = write_config(dir.path(), |c| {
            c.set("revocation", "file", file.to_string_lossy().as_ref())
                .set("revocation", "poll_secs", 1)
        });
        revocation_refuses_the_subjects_credentials(&config, Duration::from_millis(2500)).await;
        let written: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        assert!(written["principals"]["alice"].is_string(), "{written}");
        assert!(
            written["principals"]["k-svc-backup"].is_string(),
            "{written}"
        );
    });
}
