//! A rolling deploy as the process sees it: the built `s3-broker serve` under load from 32
//! keep-alive connections gets SIGTERM (sent with `kill`, as an orchestrator does) and must
//! drain (`src/app/shutdown.rs`): `/readyz` answers 503 `draining` at once while the listener
//! keeps accepting for `[server] drain_secs`; every answer from then on carries
//! `Connection: close`; then the listener closes, idle connections are closed cleanly and the
//! process exits 0 within a bound. No request that was sent may go unanswered.
//!
//! The clients speak HTTP/1.1 by hand over `TcpStream`, so that "sent but not answered" is
//! seen as it happens, with no client library retrying it away. A load balancer is played by
//! the readiness prober: three 503 answers in a row and the clients open no new connections.
//!
//! The broker needs no S3 here: PUT grants are signed with static credentials, and its
//! endpoint is a closed port.

use crate::support::broker::PUT_PROFILE;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

const ISSUER: &str = "https://issuer.drain.test/";
const AUDIENCE: &str = "s3-broker-drain";
const HS_SECRET: &str = "drain-hs256-secret-0123456789abcdef-0123456789";
/// Keep-alive connections of the load.
const CONNECTIONS: usize = 32;
/// `[server] drain_secs` of the test.
const DRAIN_SECS: u64 = 2;
/// `[server] shutdown_timeout_secs` of the test.
const SHUTDOWN_TIMEOUT_SECS: u64 = 5;
/// From the signal to the exit: the drain, the in-flight requests (milliseconds here), and
/// actix-web's one-second check that the workers' connections are gone, with a wide margin
/// for a machine busy with other builds. Well below drain + shutdown timeout + margin, which
/// is where a stop that waits for its timeout would land.
const EXIT_BOUND: Duration = Duration::from_secs(DRAIN_SECS + 4);
/// Any one answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);
/// Consecutive 503 answers after which the "load balancer" stops routing.
const LB_FAILURE_THRESHOLD: u32 = 3;
/// The prober's period.
const PROBE_PERIOD: Duration = Duration::from_millis(100);

#[test]
fn sigterm_under_load_answers_every_request_and_exits_zero() {
    bounded(Duration::from_secs(90), sigterm_under_load());
}

#[test]
fn a_second_sigint_ends_the_drain_early() {
    bounded(Duration::from_secs(60), second_signal_cuts_the_drain());
}

/// Runs `test` on a runtime of this module's own, away from the other tests' load.
fn bounded(limit: Duration, test: impl Future<Output = ()>) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        tokio::time::timeout(limit, test)
            .await
            .unwrap_or_else(|_| panic!("the test did not finish within {limit:?}"));
    });
}

/// The drain under load.
async fn sigterm_under_load() {
    let dir = tempfile::tempdir().unwrap();
    let mut broker = Serve::start(dir.path(), DRAIN_SECS).await;
    let shared = Arc::new(Shared::new(broker.addr));

    // The load, and a connection that answers once and then sits idle in the pool.
    let clients: Vec<_> = (0..CONNECTIONS)
        .map(|_| tokio::spawn(client(Arc::clone(&shared))))
        .collect();
    let prober = tokio::spawn(prober(Arc::clone(&shared)));
    wait_until(Duration::from_secs(20), || shared.answered() >= 2_000).await;
    // Just before the signal, so that its keep-alive timeout (5 s) is still running when the
    // drain ends.
    let mut idle = TcpStream::connect(broker.addr).await.unwrap();
    let answer = exchange(&mut idle, &shared.request).await.unwrap();
    assert_eq!(answer.status, 200, "the idle connection's first answer");
    assert!(!answer.closes, "keep-alive before the drain");

    // Stop the process as an orchestrator does.
    let before = shared.answered();
    let signalled = Instant::now();
    broker.signal("TERM");
    let status = tokio::time::timeout(EXIT_BOUND + Duration::from_secs(20), broker.child.wait())
        .await
        .unwrap_or_else(|_| panic!("no exit within {EXIT_BOUND:?} + 20 s of SIGTERM"))
        .unwrap();
    let exited_after = signalled.elapsed();
    shared.finished.store(true, Ordering::Release);

    let mut outcomes = Vec::new();
    for client in clients {
        outcomes.push(client.await.unwrap());
    }
    let probes = prober.await.unwrap();
    let idle_end = tokio::time::timeout(Duration::from_secs(1), read_to_end(&mut idle)).await;
    let log = broker.log();

    // Every request sent got its complete answer, 200, on every connection.
    let lost: Vec<&String> = outcomes.iter().flat_map(|o| &o.failures).collect();
    assert!(
        lost.is_empty(),
        "requests lost or misanswered: {lost:#?}\n{log}"
    );
    let answered: u64 = outcomes.iter().map(|o| o.answered).sum();
    assert_eq!(answered, shared.answered());
    assert!(
        answered > before,
        "no answer after SIGTERM ({answered} in all)"
    );

    // `/readyz`: 200 before, then 503 `draining` (never 200 again) while the listener kept
    // accepting for about the drain delay, then refused.
    let first_503 = probes.first_503.unwrap_or_else(|| {
        panic!("/readyz never answered 503 during the drain: {probes:?}\n{log}")
    });
    assert!(probes.ready_before > 0, "{probes:?}");
    assert!(probes.problems.is_empty(), "{:#?}\n{log}", probes.problems);
    let open_for = probes.last_503.unwrap() - first_503;
    assert!(
        open_for >= Duration::from_secs(DRAIN_SECS) / 2,
        "the listener accepted for only {open_for:?} of the {DRAIN_SECS} s drain: {probes:?}"
    );
    assert!(
        probes.refused_after_drain,
        "the listener never closed: {probes:?}"
    );

    // During the drain every answer closed its connection, and the clients reconnected to the
    // still-open listener until the load balancer stopped routing.
    let open_during: u64 = outcomes.iter().map(|o| o.answered_during_drain).sum();
    assert!(open_during > 0, "no answer sent during the drain");
    let kept_alive: Vec<&String> = outcomes.iter().flat_map(|o| &o.kept_alive).collect();
    assert!(
        kept_alive.is_empty(),
        "answers sent during the drain without `Connection: close`: {kept_alive:#?}"
    );
    let reconnected: u64 = outcomes.iter().map(|o| o.connected_during_drain).sum();
    assert!(reconnected > 0, "no connection accepted during the drain");

    // The idle connection was closed by the server, cleanly (FIN, not a reset).
    match idle_end {
        Ok(Ok(0)) => {}
        other => panic!("the idle keep-alive connection was not closed cleanly: {other:?}"),
    }

    eprintln!(
        "drain: {answered} answers ({before} before SIGTERM, {open_during} sent during the drain, \
         {reconnected} connections accepted during it), /readyz 503 for {open_for:?}, \
         exit after {exited_after:?}"
    );
    // Exit 0, within the bound.
    assert_eq!(status.code(), Some(0), "exit status {status}\n{log}");
    assert!(
        exited_after <= EXIT_BOUND,
        "exited {exited_after:?} after SIGTERM, bound {EXIT_BOUND:?}\n{log}"
    );
    assert!(log.contains("draining"), "the drain is logged:\n{log}");
}

/// SIGINT starts the drain like SIGTERM; a second one ends it at once.
async fn second_signal_cuts_the_drain() {
    let dir = tempfile::tempdir().unwrap();
    let mut broker = Serve::start(dir.path(), 60).await;
    assert_eq!(readyz(broker.addr).await, Some(200), "ready before");
    broker.signal("INT");
    wait_for_readyz(broker.addr, 503).await;
    let answer = {
        let shared = Shared::new(broker.addr);
        let mut conn = TcpStream::connect(broker.addr).await.unwrap();
        exchange(&mut conn, &shared.request).await.unwrap()
    };
    assert_eq!(answer.status, 200, "grants still answered while draining");
    assert!(answer.closes, "Connection: close while draining");
    let signalled = Instant::now();
    broker.signal("INT");
    let status = tokio::time::timeout(Duration::from_secs(20), broker.child.wait())
        .await
        .unwrap_or_else(|_| panic!("a second SIGINT did not end the 60 s drain"))
        .unwrap();
    assert_eq!(
        status.code(),
        Some(0),
        "exit status {status}\n{}",
        broker.log()
    );
    assert!(
        signalled.elapsed() < Duration::from_secs(10),
        "exited {:?} after the second SIGINT",
        signalled.elapsed()
    );
}

/// `s3-broker serve` running as a child process.
struct Serve {
    child: Child,
    addr: std::net::SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
}

impl Serve {
    /// Writes a configuration (port 0, two workers, the given drain) and starts the binary;
    /// returns once it logged its address.
    async fn start(dir: &Path, drain_secs: u64) -> Self {
        let config = write_config(dir, drain_secs);
        let home = dir.join("home");
        std::fs::create_dir_all(&home).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_s3-broker"));
        for name in crate::support::inherited_settings() {
            cmd.env_remove(name);
        }
        cmd.env("HOME", &home)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("RUST_LOG", "info")
            .args(["serve", "--config"])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().expect("start s3-broker serve");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (addr_tx, addr_rx) = tokio::sync::oneshot::channel();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let kept = Arc::clone(&log);
        // Reads stderr to its end (a full pipe would stall the server), keeping all but the
        // access log.
        tokio::spawn(async move {
            let mut addr_tx = Some(addr_tx);
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(addr) = serving_addr(&line)
                    && let Some(tx) = addr_tx.take()
                {
                    let _ = tx.send(addr);
                }
                if !line.contains("POST /v1/uploads") && !line.contains("GET /readyz") {
                    kept.lock().unwrap().push(line);
                }
            }
        });
        let addr = tokio::time::timeout(Duration::from_secs(30), addr_rx)
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_else(|| {
                panic!(
                    "s3-broker serve did not log its address:\n{}",
                    log.lock().unwrap().join("\n")
                )
            });
        Self { child, addr, log }
    }

    /// Sends `SIG<name>` with `kill`, as an orchestrator does.
    fn signal(&self, name: &str) {
        let pid = self.child.id().expect("the process is running");
        let status = std::process::Command::new("kill")
            .arg(format!("-{name}"))
            .arg(pid.to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} {pid}: {status}");
    }

    /// What the process logged besides the access log.
    fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }
}

/// The address in the "s3-broker is serving" line of the JSON log.
fn serving_addr(line: &str) -> Option<std::net::SocketAddr> {
    let json: Value = serde_json::from_str(line).ok()?;
    let fields = json.get("fields").unwrap_or(&json);
    let message = fields.get("message")?.as_str()?;
    if !message.contains("serving") {
        return None;
    }
    fields.get("addr")?.as_str()?.parse().ok()
}

fn write_config(dir: &Path, drain_secs: u64) -> PathBuf {
    let policies = dir.join("policies");
    std::fs::create_dir_all(&policies).unwrap();
    std::fs::write(policies.join("default.toml"), PUT_PROFILE).unwrap();
    let config = s3_broker::config::ConfigBuilder::new()
        .set("server", "bind", "127.0.0.1:0")
        .set("server", "workers", 2)
        .set("server", "drain_secs", drain_secs as i64)
        .set(
            "server",
            "shutdown_timeout_secs",
            SHUTDOWN_TIMEOUT_SECS as i64,
        )
        // Nothing listens there: PUT grants never call S3.
        .store("us-east-1", "drain-tests", "http://127.0.0.1:9")
        .static_credentials(
            "AKIADRAINTESTS00000",
            "drain-tests-secret-access-key-0123456789",
        )
        .hs256(ISSUER, AUDIENCE, HS_SECRET)
        .set("policies", "dir", policies.to_string_lossy().as_ref());
    let path = dir.join("config.toml");
    std::fs::write(&path, config.text()).unwrap();
    path
}

/// What the clients and the prober share.
struct Shared {
    addr: std::net::SocketAddr,
    /// The bytes of one `POST /v1/uploads` (a PUT grant).
    request: Vec<u8>,
    start: Instant,
    /// When `/readyz` first answered 503, in nanoseconds since `start` (0: not yet). The flag
    /// it reports was set before, so every request sent after must close its connection.
    drain_seen: AtomicU64,
    /// The load balancer still routes new connections here.
    routing: AtomicBool,
    /// The test is over.
    finished: AtomicBool,
    answered: AtomicU64,
}

impl Shared {
    fn new(addr: std::net::SocketAddr) -> Self {
        let token = s3_broker::auth::mint_dev_token(
            HS_SECRET.as_bytes(),
            ISSUER,
            AUDIENCE,
            "alice",
            s3_broker::domain::Scopes::all(),
            Duration::from_secs(600),
            chrono::Utc::now(),
        )
        .unwrap();
        let body = r#"{"filename":"a.txt","content_type":"text/plain","size":6}"#;
        let request = format!(
            "POST /v1/uploads HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        Self {
            addr,
            request: request.into_bytes(),
            start: Instant::now(),
            drain_seen: AtomicU64::new(0),
            routing: AtomicBool::new(true),
            finished: AtomicBool::new(false),
            answered: AtomicU64::new(0),
        }
    }

    fn answered(&self) -> u64 {
        self.answered.load(Ordering::Acquire)
    }

    fn now(&self) -> u64 {
        self.start.elapsed().as_nanos().max(1) as u64
    }

    /// Whether `/readyz` had answered 503 by `at` (from [`Shared::now`]).
    fn draining_at(&self, at: u64) -> bool {
        let seen = self.drain_seen.load(Ordering::Acquire);
        seen != 0 && seen <= at
    }
}

/// What one load client saw.
#[derive(Debug, Default)]
struct Outcome {
    answered: u64,
    answered_during_drain: u64,
    connected_during_drain: u64,
    /// Requests sent and not completely answered with a 200, and unclean closes.
    failures: Vec<String>,
    /// Requests sent after `/readyz` answered 503 whose answer kept the connection open.
    kept_alive: Vec<String>,
}

/// One keep-alive client: sends grants back to back, reconnecting when an answer closes the
/// connection, while the load balancer routes here.
async fn client(shared: Arc<Shared>) -> Outcome {
    let mut outcome = Outcome::default();
    while shared.routing.load(Ordering::Acquire) && !shared.finished.load(Ordering::Acquire) {
        let connected_at = shared.now();
        let mut conn = match TcpStream::connect(shared.addr).await {
            Ok(conn) => conn,
            Err(err) => {
                outcome
                    .failures
                    .push(format!("connect while routed here: {err}"));
                break;
            }
        };
        if shared.draining_at(connected_at) {
            outcome.connected_during_drain += 1;
        }
        loop {
            let sent_at = shared.now();
            let answer = match exchange(&mut conn, &shared.request).await {
                Ok(answer) => answer,
                Err(err) => {
                    outcome.failures.push(format!("sent, not answered: {err}"));
                    return outcome;
                }
            };
            shared.answered.fetch_add(1, Ordering::AcqRel);
            outcome.answered += 1;
            if answer.status != 200 {
                outcome
                    .failures
                    .push(format!("answered {}: {}", answer.status, answer.head));
            }
            if shared.draining_at(sent_at) {
                outcome.answered_during_drain += 1;
                if !answer.closes {
                    outcome.kept_alive.push(answer.head.clone());
                }
            }
            if answer.closes {
                // The server closes after the answer: cleanly, with nothing left to read.
                match tokio::time::timeout(ANSWER_TIMEOUT, read_to_end(&mut conn)).await {
                    Ok(Ok(0)) => {}
                    other => outcome.failures.push(format!(
                        "unclean close after `Connection: close`: {other:?}"
                    )),
                }
                break;
            }
            if shared.finished.load(Ordering::Acquire) {
                return outcome;
            }
        }
    }
    outcome
}

/// What the readiness prober saw.
#[derive(Debug, Default)]
struct Probes {
    ready_before: u32,
    first_503: Option<Instant>,
    last_503: Option<Instant>,
    /// Connections refused after a 503 (the listener closed after the drain).
    refused_after_drain: bool,
    /// The last probe was accepted as the listener closed, and reset.
    closing: Option<String>,
    problems: Vec<String>,
}

/// A load balancer's health check: `GET /readyz` on a fresh connection every period until
/// refused; after [`LB_FAILURE_THRESHOLD`] 503s in a row it stops routing new connections here.
async fn prober(shared: Arc<Shared>) -> Probes {
    let mut probes = Probes::default();
    let mut failures_in_a_row = 0;
    // Until refused (the listener closed); the test's own timeout bounds it.
    loop {
        let conn = TcpStream::connect(shared.addr).await;
        let status = match conn {
            Err(err) => {
                if probes.first_503.is_some() {
                    probes.refused_after_drain = true;
                } else {
                    probes
                        .problems
                        .push(format!("/readyz refused before any 503: {err}"));
                }
                break;
            }
            Ok(mut conn) => match exchange(&mut conn, READYZ).await {
                Ok(answer) => (answer.status, answer),
                // A probe that lands in the accept queue as the listener closes is reset:
                // inherent to closing a listening socket, and why the load balancer must have
                // stopped routing by then. Only a health check may meet it here.
                Err(err) if probes.first_503.is_some() => {
                    probes.refused_after_drain = true;
                    probes.closing = Some(err);
                    break;
                }
                Err(err) => {
                    probes.problems.push(format!("/readyz not answered: {err}"));
                    break;
                }
            },
        };
        match status {
            (200, _) if probes.first_503.is_none() => probes.ready_before += 1,
            (503, answer) => {
                if !answer.body.contains("\"draining\"") {
                    probes
                        .problems
                        .push(format!("503 without `draining`: {}", answer.body));
                }
                let now = Instant::now();
                if probes.first_503.is_none() {
                    probes.first_503 = Some(now);
                    shared.drain_seen.store(shared.now(), Ordering::Release);
                }
                probes.last_503 = Some(now);
                failures_in_a_row += 1;
                if failures_in_a_row >= LB_FAILURE_THRESHOLD {
                    shared.routing.store(false, Ordering::Release);
                }
            }
            (status, answer) => probes
                .problems
                .push(format!("/readyz answered {status}: {}", answer.head)),
        }
        tokio::time::sleep(PROBE_PERIOD).await;
    }
    probes
}

const READYZ: &[u8] = b"GET /readyz HTTP/1.1\r\nHost: broker\r\n\r\n";

/// The status of `GET /readyz` on a fresh connection; `None` if refused or unanswered.
async fn readyz(addr: std::net::SocketAddr) -> Option<u16> {
    let mut conn = TcpStream::connect(addr).await.ok()?;
    exchange(&mut conn, READYZ).await.ok().map(|a| a.status)
}

async fn wait_for_readyz(addr: std::net::SocketAddr, status: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while readyz(addr).await != Some(status) {
        assert!(Instant::now() < deadline, "/readyz never answered {status}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn wait_until(bound: Duration, done: impl Fn() -> bool) {
    let deadline = Instant::now() + bound;
    while !done() {
        assert!(Instant::now() < deadline, "not reached within {bound:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One answer, as read off the wire.
#[derive(Debug)]
struct Answer {
    status: u16,
    /// `Connection: close`.
    closes: bool,
    /// The status line and headers, for messages.
    head: String,
    body: String,
}

/// Writes `request` and reads one complete answer (its `Content-Length` body included).
async fn exchange(conn: &mut TcpStream, request: &[u8]) -> Result<Answer, String> {
    conn.write_all(request)
        .await
        .map_err(|e| format!("write: {e}"))?;
    tokio::time::timeout(ANSWER_TIMEOUT, read_answer(conn))
        .await
        .map_err(|_| format!("no answer within {ANSWER_TIMEOUT:?}"))?
}

async fn read_answer(conn: &mut TcpStream) -> Result<Answer, String> {
    let mut buf = Vec::with_capacity(2048);
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        read_more(conn, &mut buf, "the head").await?;
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status in {head:?}"))?;
    let header = |name: &str| {
        head.lines().find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    };
    let length: usize = header("content-length")
        .ok_or_else(|| format!("no Content-Length in {head:?}"))?
        .parse()
        .map_err(|e| format!("Content-Length: {e}"))?;
    while buf.len() < head_end + length {
        read_more(conn, &mut buf, "the body").await?;
    }
    let closes = header("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
    let body = String::from_utf8_lossy(&buf[head_end..head_end + length]).into_owned();
    Ok(Answer {
        status,
        closes,
        head,
        body,
    })
}

async fn read_more(conn: &mut TcpStream, buf: &mut Vec<u8>, what: &str) -> Result<(), String> {
    let mut chunk = [0u8; 4096];
    match conn.read(&mut chunk).await {
        Ok(0) => Err(format!(
            "connection closed in {what} after {} bytes",
            buf.len()
        )),
        Ok(n) => {
            buf.extend_from_slice(&chunk[..n]);
            Ok(())
        }
        Err(e) => Err(format!("read of {what}: {e}")),
    }
}

/// Reads until the peer closes; the number of bytes read before it did.
async fn read_to_end(conn: &mut TcpStream) -> std::io::Result<usize> {
    let mut rest = Vec::new();
    conn.read_to_end(&mut rest).await
}
