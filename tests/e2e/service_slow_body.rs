//! Slow bodies: the broker on 127.0.0.1 with `body_timeout_secs = 1`, over real sockets.
//! Ten clients trickle a JSON body one byte every 200 ms; each gets `408 body_timeout`
//! (problem+json, `Connection: close`) about a second after its headers, the connection is
//! then closed, and `GET /healthz` answers fast throughout. A body that arrives in time, even
//! in pieces, gets its grant, and one sent a moment after its head is answered at once. No S3 server is needed: a PUT grant is signed without one.

use super::support::runtime;
use s3_broker::app::Application;
use s3_broker::config::ConfigBuilder;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const API_KEY: &str = "slow-body-api-key-0123456789abcdef0123456789";
const BODY: &str = r#"{"filename":"a.txt","content_type":"text/plain","size":1}"#;
const TRICKLERS: usize = 10;

#[test]
fn a_trickling_body_gets_408_within_the_deadline_while_healthz_stays_fast() {
    runtime().block_on(async {
        tokio::time::timeout(Duration::from_secs(30), slow_bodies())
            .await
            .expect("the test is bounded to 30 s");
    });
}

async fn slow_bodies() {
    let policies = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    let settings = ConfigBuilder::new()
        .set("server", "bind", "127.0.0.1:0")
        .set("server", "workers", 1)
        .set("server", "body_timeout_secs", 1)
        .store("us-east-1", "uploads", "http://127.0.0.1:9")
        .static_credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
        .hs256(
            "https://issuer.example/",
            "s3-broker",
            "a-secret-of-32-bytes-or-more-0123456789",
        )
        .api_key(API_KEY, "svc-slow", &["upload"], false)
        .set("policies", "dir", policies.to_string_lossy().as_ref())
        .settings()
        .expect("a valid configuration");
    let app = Application::build(settings)
        .await
        .expect("the broker starts");
    let addr = app.addr();
    let server = app.into_server();
    let handle = server.handle();
    runtime().spawn(server);

    // An honest body, whole or in pieces within the deadline, gets its grant.
    let (status, _) = exchange(addr, &[BODY.as_bytes()], Duration::ZERO).await;
    assert_eq!(status, 200, "a prompt body");
    let pieces: Vec<&[u8]> = BODY.as_bytes().chunks(12).collect();
    let (status, _) = exchange(addr, &pieces, Duration::from_millis(100)).await;
    assert_eq!(status, 200, "a body in pieces within the deadline");
    // A body that comes after its head is read when it comes, not when the deadline's timer
    // fires. The broker's first look at the body does not ask to be woken by it, relying on
    // actix-http's dispatcher to poll the answer again when it feeds bytes
    // (src/http/body_deadline.rs); this guards that reliance across actix-http upgrades.
    let asked = Instant::now();
    let (status, _) = exchange(addr, &[BODY.as_bytes()], Duration::from_millis(100)).await;
    let answered = asked.elapsed();
    assert_eq!(status, 200, "a body sent 100 ms after its head");
    assert!(
        answered < Duration::from_millis(700),
        "answered {answered:?} after the head, a body sent 100 ms after it: not read when it came"
    );

    let started = Instant::now();
    let tricklers: Vec<_> = (0..TRICKLERS)
        .map(|_| tokio::spawn(trickle(addr)))
        .collect();
    let mut slowest_healthz = Duration::ZERO;
    while started.elapsed() < Duration::from_millis(1800) {
        let asked = Instant::now();
        let (status, _) = get(addr, "/healthz").await;
        assert_eq!(status, 200);
        slowest_healthz = slowest_healthz.max(asked.elapsed());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for trickler in tricklers {
        let cut = trickler.await.expect("a trickler");
        assert!(
            cut.answered_after >= Duration::from_millis(900)
                && cut.answered_after <= Duration::from_millis(2500),
            "408 after {:?}, not about the 1 s deadline",
            cut.answered_after
        );
        assert!(
            cut.closed_after <= cut.answered_after + Duration::from_secs(1),
            "the connection stayed open {:?} after the 408",
            cut.closed_after - cut.answered_after
        );
    }
    assert!(
        slowest_healthz < Duration::from_millis(500),
        "/healthz took {slowest_healthz:?} while bodies trickled"
    );
    handle.stop(false).await;
}

/// What happened to one trickling client.
struct Cut {
    /// From the end of its headers to its answer.
    answered_after: Duration,
    /// From the end of its headers to the server closing the connection.
    closed_after: Duration,
}

/// Sends the headers of a grant request with a 400-byte body, then one byte every 200 ms
/// until the server answers; asserts the answer is `408 body_timeout` with `Connection: close`.
async fn trickle(addr: std::net::SocketAddr) -> Cut {
    let mut conn = TcpStream::connect(addr).await.expect("a connection");
    let head = format!(
        "POST /v1/uploads HTTP/1.1\r\nHost: {addr}\r\nX-Api-Key: {API_KEY}\r\n\
         Content-Type: application/json\r\nContent-Length: 400\r\n\r\n{{"
    );
    conn.write_all(head.as_bytes()).await.expect("headers sent");
    let sent = Instant::now();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        tokio::select! {
            read = conn.read(&mut buf) => {
                let n = read.expect("reading the answer");
                assert!(n > 0, "closed without an answer after {:?}", sent.elapsed());
                answer.extend_from_slice(&buf[..n]);
                if answer.windows(4).any(|w| w == b"\r\n\r\n") {
                    break;
                }
            }
            () = tokio::time::sleep(Duration::from_millis(200)) => {
                // The server may already have closed its side: a failed write is fine.
                let _ = conn.write_all(b" ").await;
            }
        }
    }
    let answered_after = sent.elapsed();
    // The rest of the answer, then end of stream: the server closes the connection.
    loop {
        match tokio::time::timeout(Duration::from_secs(3), conn.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => answer.extend_from_slice(&buf[..n]),
            Err(_) => panic!("the connection is still open 3 s after the 408"),
        }
    }
    let closed_after = sent.elapsed();
    let text = String::from_utf8_lossy(&answer).to_ascii_lowercase();
    assert!(text.starts_with("http/1.1 408"), "{text}");
    assert!(text.contains("connection: close"), "{text}");
    assert!(text.contains("application/problem+json"), "{text}");
    assert!(text.contains(r#""code":"body_timeout""#), "{text}");
    Cut {
        answered_after,
        closed_after,
    }
}

/// `POST /v1/uploads` with the body in `pieces`, `pause` apart; the status and the answer.
async fn exchange(addr: std::net::SocketAddr, pieces: &[&[u8]], pause: Duration) -> (u16, String) {
    let mut conn = TcpStream::connect(addr).await.expect("a connection");
    let head = format!(
        "POST /v1/uploads HTTP/1.1\r\nHost: {addr}\r\nX-Api-Key: {API_KEY}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        BODY.len()
    );
    conn.write_all(head.as_bytes()).await.expect("headers sent");
    for piece in pieces {
        tokio::time::sleep(pause).await;
        conn.write_all(piece).await.expect("a piece sent");
    }
    read_to_end(conn).await
}

/// `GET path` on a new connection; the status and the answer.
async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    let mut conn = TcpStream::connect(addr).await.expect("a connection");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    conn.write_all(request.as_bytes()).await.expect("sent");
    read_to_end(conn).await
}

async fn read_to_end(mut conn: TcpStream) -> (u16, String) {
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), conn.read_to_end(&mut answer))
        .await
        .expect("an answer within 5 s")
        .expect("reading the answer");
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    (status, text)
}
