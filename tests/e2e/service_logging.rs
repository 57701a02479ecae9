//! `s3-broker serve` as an operator runs it, with the stderr that production sometimes gives
//! it: a pipe nobody reads (a wedged log shipper, Docker's blocking log driver), a pipe whose
//! reader went away, a closed descriptor, a full disk (`/dev/full`). The service must start,
//! answer every request, keep `/healthz` fast, count the lines it could not write
//! (`s3_broker_log_lines_dropped_total`) and exit 0 on SIGTERM, never 101 (a panic). No
//! S3 server is needed: upload grants are signed without calling S3.

use crate::support::broker::{API_KEY, API_KEY_PRINCIPAL, PUT_PROFILE};
use crate::support::ports::free_port;
use crate::support::runtime;
use s3_broker::config::ConfigBuilder;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStderr, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The log queue of these tests: small, so that it fills after a few requests.
const QUEUE_LINES: i64 = 64;

/// A running `s3-broker serve`.
struct Serve {
    child: Child,
    base: String,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Serve {
    /// Starts the built binary with `stderr`, through `sh -c 'exec ... <redirect>'` when
    /// `shell_redirect` is given (`2>&-` closes the descriptor), and waits until `/healthz`
    /// answers (at most 20 s).
    fn start(stderr: Stdio, shell_redirect: Option<&str>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port().unwrap();
        let config = write_config(dir.path(), port);
        let binary = env!("CARGO_BIN_EXE_s3-broker");
        let mut cmd = match shell_redirect {
            Some(redirect) => {
                let mut sh = Command::new("/bin/sh");
                sh.arg("-c")
                    .arg(format!("exec \"$0\" serve --config \"$1\" {redirect}"))
                    .arg(binary)
                    .arg(&config);
                sh
            }
            None => {
                let mut direct = Command::new(binary);
                direct.args(["serve", "--config"]).arg(&config);
                direct
            }
        };
        for name in crate::support::inherited_settings() {
            cmd.env_remove(name);
        }
        let child = cmd
            .env("HOME", dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("start s3-broker serve");
        let serve = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let up = runtime().block_on(async {
                serve
                    .client
                    .get(format!("{}/healthz", serve.base))
                    .timeout(Duration::from_millis(500))
                    .send()
                    .await
                    .is_ok_and(|r| r.status() == 200)
            });
            if up {
                return serve;
            }
            assert!(
                Instant::now() < deadline,
                "serve did not answer within 20 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends `count` upload-grant requests, `concurrency` at a time; each must be answered
    /// 200 within the client's 10 s. Every 50th request a `/healthz` must answer within 2 s
    /// (a debug build on a shared machine: the point is that it answers, not how fast).
    async fn grants(&self, count: usize, concurrency: usize) {
        let per_task = count.div_ceil(concurrency);
        let tasks = (0..concurrency).map(|_| async move {
            for i in 0..per_task {
                let reply = self
                    .client
                    .post(format!("{}/v1/uploads", self.base))
                    .header("x-api-key", API_KEY)
                    .json(&serde_json::json!({
                        "filename": "a.txt", "content_type": "text/plain", "size": 5
                    }))
                    .send()
                    .await
                    .expect("a grant request is answered");
                assert_eq!(reply.status(), 200, "{:?}", reply.text().await);
                if i % 50 == 0 {
                    let started = Instant::now();
                    let health = self
                        .client
                        .get(format!("{}/healthz", self.base))
                        .timeout(Duration::from_secs(2))
                        .send()
                        .await
                        .expect("/healthz answers within 2 s");
                    assert_eq!(health.status(), 200);
                    assert!(started.elapsed() < Duration::from_secs(2));
                }
            }
        });
        futures_util::future::join_all(tasks).await;
    }

    /// `s3_broker_log_lines_dropped_total{reason}` from `/metrics`.
    async fn dropped(&self, reason: &str) -> u64 {
        let text = self
            .client
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let series = format!("s3_broker_log_lines_dropped_total{{reason=\"{reason}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&series))
            .unwrap_or_else(|| panic!("no {series} in {text}"))
            .parse()
            .unwrap()
    }

    /// Sends SIGTERM and waits (at most 15 s) for the exit.
    fn stop(mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success());
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("serve did not exit within 15 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        // A failed test leaves no process behind.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn write_config(dir: &Path, port: u16) -> std::path::PathBuf {
    let policies = dir.join("policies");
    std::fs::create_dir_all(&policies).unwrap();
    std::fs::write(policies.join("default.toml"), PUT_PROFILE).unwrap();
    let config = ConfigBuilder::new()
        .set("server", "bind", format!("127.0.0.1:{port}"))
        .set("server", "workers", 2)
        .set("server", "log_queue_lines", QUEUE_LINES)
        // SIGTERM stops at once: the drain has tests of its own (service_drain).
        .set("server", "drain_secs", 0)
        // Grants are signed locally; nothing listens here and nothing needs to.
        .store("us-east-1", "uploads", "http://127.0.0.1:9")
        .static_credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
        .hs256(
            "https://issuer.e2e.test/",
            "s3-broker-e2e",
            "e2e-hs256-secret-0123456789abcdef-0123456789",
        )
        .api_key(API_KEY, API_KEY_PRINCIPAL, &["upload"], false)
        .set("policies", "dir", policies.to_string_lossy().as_ref());
    let path = dir.join("config.toml");
    std::fs::write(&path, config.text()).unwrap();
    path
}

/// Reads `stderr` on a thread of its own; lines arrive on the returned channel.
fn read_lines(stderr: ChildStderr) -> std::sync::mpsc::Receiver<String> {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    receiver
}

/// Lines from `lines` until one satisfies `done`, at most `within`; all of them.
fn lines_until(
    lines: &std::sync::mpsc::Receiver<String>,
    within: Duration,
    done: impl Fn(&str) -> bool,
) -> Vec<String> {
    let deadline = Instant::now() + within;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                let last = done(&line);
                seen.push(line);
                if last {
                    return seen;
                }
            }
            Err(_) => panic!("no awaited line within {within:?}; got {seen:#?}"),
        }
    }
}

/// Every line is one JSON object and none names a source file of the build machine.
fn assert_clean(lines: &[String]) {
    let manifest = env!("CARGO_MANIFEST_DIR");
    for line in lines {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        assert!(value["level"].is_string(), "{line}");
        assert!(!line.contains(manifest), "a source path: {line}");
        assert!(!line.contains(".cargo/registry"), "a source path: {line}");
        assert!(
            !line.contains("log.file") && !line.contains(".rs\""),
            "{line}"
        );
    }
}

/// A pipe nobody reads: before the queue, about 140 requests succeeded (64 KiB of log) and
/// then every request hung. Now 6,000 grants (about 2.5 MB of access log, 4 MB with their
/// audit lines, against a pipe the broker grows to 1 MiB and a queue of 64 lines) all succeed,
/// `/healthz` stays fast, the lost lines are counted, and once the pipe is read again one
/// line says how many were dropped.
#[test]
fn a_stalled_stderr_drops_lines_and_holds_no_request() {
    let mut serve = Serve::start(Stdio::piped(), None);
    let stderr = serve.child.stderr.take().unwrap();
    runtime().block_on(serve.grants(6000, 4));
    let dropped = runtime().block_on(serve.dropped("queue_full"));
    assert!(dropped > 1000, "{dropped} lines dropped");

    let lines = read_lines(stderr);
    let seen = lines_until(&lines, Duration::from_secs(20), |line| {
        line.contains("log lines dropped")
    });
    let notice: serde_json::Value = serde_json::from_str(seen.last().unwrap()).unwrap();
    assert_eq!(notice["level"], "WARN");
    assert!(
        notice["fields"]["dropped"].as_u64().unwrap() > 1000,
        "{notice}"
    );
    // Once read again, lines flow: this request's access line arrives.
    runtime().block_on(serve.grants(1, 1));
    let mut all = seen;
    all.extend(lines_until(&lines, Duration::from_secs(10), |line| {
        line.contains("\"POST /v1/uploads 200\"")
    }));
    let access: serde_json::Value = serde_json::from_str(all.last().unwrap()).unwrap();
    assert_eq!(access["target"], "s3_broker::access");
    assert_eq!(access["fields"]["status"], 200);
    assert_eq!(access["fields"]["path"], "/v1/uploads");
    assert!(access["fields"]["request_id"].is_string());
    assert_clean(&all);
    let status = serve.stop();
    assert_eq!(status.code(), Some(0), "{status:?}");
}

/// The reader of the pipe goes away (EPIPE): before, the process panicked (exit 101). Now
/// requests are answered, the failed writes are counted, and SIGTERM exits 0.
#[test]
fn a_vanished_log_reader_neither_panics_nor_fails_requests() {
    let mut serve = Serve::start(Stdio::piped(), None);
    let lines = read_lines(serve.child.stderr.take().unwrap());
    let startup = lines_until(&lines, Duration::from_secs(10), |line| {
        line.contains("s3-broker is serving")
    });
    assert_clean(&startup);
    drop(lines); // the reading thread stops at its next line, closing the pipe
    runtime().block_on(serve.grants(300, 2));
    runtime().block_on(serve.grants(300, 2));
    assert!(runtime().block_on(serve.dropped("write_failed")) > 0);
    let status = serve.stop();
    assert_eq!(status.code(), Some(0), "{status:?}");
}

/// stderr closed before the start (`2>&-`): the service starts, serves and exits 0.
#[test]
fn a_closed_stderr_neither_panics_nor_fails_requests() {
    let serve = Serve::start(Stdio::null(), Some("2>&-"));
    runtime().block_on(serve.grants(300, 2));
    let status = serve.stop();
    assert_eq!(status.code(), Some(0), "{status:?}");
}

/// stderr on a full disk (`/dev/full`, ENOSPC on every write): before, `serve` exited 101 at
/// startup without a word. Now it starts, serves, counts what it could not write, exits 0.
#[test]
fn stderr_on_a_full_disk_still_serves() {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    let serve = Serve::start(Stdio::from(full), None);
    runtime().block_on(serve.grants(300, 2));
    assert!(runtime().block_on(serve.dropped("write_failed")) > 300);
    let status = serve.stop();
    assert_eq!(status.code(), Some(0), "{status:?}");
}
