//! The access log's record: one line per request, target `s3_broker::access`, level INFO.
//!
//! The request thread (the middleware `crate::http::AccessLog`) only copies the few fields
//! into an [`AccessRecord`] and hands it to the log queue ([`super::log_queue`]); the writer
//! thread formats it. So the line costs the request well under a microsecond
//! (doc/benchmarks.md) and a stalled stderr never holds a request.
//!
//! Fields: `peer` (the TCP peer: the proxy's address behind one; `Forwarded` is not
//! trusted), `method`, `path` (never the query string: it could carry a misplaced
//! credential), `status`, `bytes` (of the body sent), `duration_ms` (request to last body
//! byte), `request_id`, and `problem`, the stable code of an error answer. No headers.
//! `RUST_LOG=s3_broker::access=off` turns it off.

use super::json::{needs_escape, write_json_str_contents};
use super::line_sink::{LineSink, millis_micros};
use super::log_queue::{Entry, LogFormat, Render, enqueue, installed};
use super::request_id::RequestId;
use actix_web::http::Method;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

/// The log target of access lines.
pub const ACCESS_TARGET: &str = "s3_broker::access";

/// One request, as the writer thread formats it.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessRecord {
    /// When the response ended.
    pub at: SystemTime,
    /// The TCP peer's address.
    pub peer: Option<IpAddr>,
    /// The request method.
    pub method: Method,
    /// The request path, without the query string.
    pub path: String,
    /// The response status.
    pub status: u16,
    /// Body bytes sent.
    pub bytes: u64,
    /// From the request to the last body byte.
    pub duration: Duration,
    /// The request id.
    pub request_id: Option<RequestId>,
    /// The problem code of an error answer.
    pub problem: Option<&'static str>,
}

/// Whether access lines are wanted: a log queue is installed and `RUST_LOG` lets
/// `s3_broker::access` through at INFO. Decided by [`decide_wanted`] when logging is set up
/// (the filter does not change while the process runs; asking it again looks the current
/// dispatcher up on every request).
pub fn wanted() -> bool {
    WANTED.load(Ordering::Relaxed)
}

/// What [`wanted`] answers.
static WANTED: AtomicBool = AtomicBool::new(false);

/// Asks the installed subscriber whether access lines pass its filter (logging's `init`
/// calls it once the queue and the subscriber are in place).
pub(crate) fn decide_wanted() {
    let wanted = installed() && tracing::enabled!(target: ACCESS_TARGET, tracing::Level::INFO);
    WANTED.store(wanted, Ordering::Relaxed);
}

impl AccessRecord {
    /// Hands the record, boxed when the request started, to the log queue (never blocks;
    /// dropped and counted when full): the box is the queue's entry.
    pub fn enqueue_boxed(self: Box<Self>) {
        enqueue(Entry::Record(self));
    }
}

impl Render for AccessRecord {
    /// Written straight into the batch: no intermediate strings, the duration with integer
    /// arithmetic (this runs once per request, on the writer thread, which shares the
    /// request threads' cores).
    fn render(&self, format: LogFormat, out: &mut Vec<u8>) {
        let mut line = LineSink(out);
        match format {
            LogFormat::Json => {
                // The path is looked at for escapes once, for both places it is written in.
                let plain_path = !needs_escape(&self.path);
                line.push_str("{\"timestamp\":\"");
                line.push_timestamp(self.at);
                line.push_str("\",\"level\":\"INFO\",\"fields\":{\"message\":\"");
                // A method is a token (RFC 9110 §9.1): nothing in it needs an escape.
                line.push_str(self.method.as_str());
                line.push_str(" ");
                if plain_path {
                    line.push_str(&self.path);
                } else {
                    write_json_str_contents(&mut line, &self.path);
                }
                line.push_str(" ");
                line.push_u64(self.status.into());
                line.push_str("\",\"peer\":\"");
                match self.peer {
                    Some(IpAddr::V4(ip)) => {
                        for (i, octet) in ip.octets().into_iter().enumerate() {
                            if i > 0 {
                                line.push_str(".");
                            }
                            line.push_u64(octet.into());
                        }
                    }
                    Some(ip) => {
                        let _ = write!(line, "{ip}");
                    }
                    None => {}
                }
                line.push_str("\",\"method\":\"");
                line.push_str(self.method.as_str());
                line.push_str("\",\"path\":");
                if plain_path {
                    line.push_plain_json_str(&self.path);
                } else {
                    line.push_json_str(&self.path);
                }
                line.push_str(",\"status\":");
                line.push_u64(self.status.into());
                line.push_str(",\"bytes\":");
                line.push_u64(self.bytes);
                line.push_str(",\"duration_ms\":");
                line.push_millis(self.duration);
                line.push_str(",\"request_id\":");
                // A request id's characters never need an escape (`RequestId`).
                line.push_plain_json_bytes(
                    self.request_id.as_ref().map_or(&[], RequestId::as_bytes),
                );
                if let Some(code) = self.problem {
                    line.push_str(",\"problem\":");
                    line.push_json_str(code);
                }
                // The target is a fixed word: nothing in it needs an escape.
                line.push_str("},\"target\":\"");
                line.push_str(ACCESS_TARGET);
                line.push_str("\"}\n");
            }
            LogFormat::Text => {
                let id = self.request_id.as_ref().map_or("", RequestId::as_str);
                line.push_timestamp(self.at);
                let peer = self.peer.map(|ip| ip.to_string()).unwrap_or_default();
                let _ = write!(
                    line,
                    "  INFO {ACCESS_TARGET}: {} {} {} peer={peer} bytes={} duration_ms={} \
                     request_id={id}",
                    self.method,
                    self.path.escape_debug(),
                    self.status,
                    self.bytes,
                    Millis(self.duration),
                );
                if let Some(code) = self.problem {
                    let _ = write!(line, " problem={code}");
                }
                line.push_str("\n");
            }
        }
    }
}

/// A duration in milliseconds with three decimals (`0.519`), rounded to the microsecond.
struct Millis(Duration);

impl std::fmt::Display for Millis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let micros = millis_micros(self.0);
        write!(f, "{}.{:03}", micros / 1000, micros % 1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> AccessRecord {
        AccessRecord {
            at: SystemTime::UNIX_EPOCH + Duration::from_micros(1_800_000_000_123_456),
            peer: Some("127.0.0.1".parse().unwrap()),
            method: Method::POST,
            path: "/v1/uploads\"x".into(),
            status: 401,
            bytes: 161,
            duration: Duration::from_micros(653),
            request_id: RequestId::parse(b"2944b1e2"),
            problem: Some("invalid_token"),
        }
    }

    #[test]
    fn json_lines_keep_every_field() {
        let mut out = Vec::new();
        record().render(LogFormat::Json, &mut out);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), 1);
        let line: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(line["timestamp"], "2027-01-15T08:00:00.123456Z");
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["target"], ACCESS_TARGET);
        let fields = &line["fields"];
        assert_eq!(fields["message"], "POST /v1/uploads\"x 401");
        assert_eq!(fields["peer"], "127.0.0.1");
        assert_eq!(fields["method"], "POST");
        assert_eq!(fields["path"], "/v1/uploads\"x");
        assert_eq!(fields["status"], 401);
        assert_eq!(fields["bytes"], 161);
        assert_eq!(fields["duration_ms"], 0.653);
        assert_eq!(fields["request_id"], "2944b1e2");
        assert_eq!(fields["problem"], "invalid_token");
    }

    /// Every byte of both formats, pinned (a faster writer must write exactly these).
    #[test]
    fn lines_are_exactly_these_bytes() {
        let [json, text] = [LogFormat::Json, LogFormat::Text].map(|format| {
            let mut out = Vec::new();
            record().render(format, &mut out);
            String::from_utf8(out).unwrap()
        });
        assert_eq!(
            json,
            "{\"timestamp\":\"2027-01-15T08:00:00.123456Z\",\"level\":\"INFO\",\"fields\":{\"message\":\"POST /v1/uploads\\\"x 401\",\"peer\":\"127.0.0.1\",\"method\":\"POST\",\"path\":\"/v1/uploads\\\"x\",\"status\":401,\"bytes\":161,\"duration_ms\":0.653,\"request_id\":\"2944b1e2\",\"problem\":\"invalid_token\"},\"target\":\"s3_broker::access\"}\n"
        );
        assert_eq!(
            text,
            "2027-01-15T08:00:00.123456Z  INFO s3_broker::access: POST /v1/uploads\\\"x 401 peer=127.0.0.1 bytes=161 duration_ms=0.653 request_id=2944b1e2 problem=invalid_token\n"
        );
        let mut bare = record();
        bare.peer = Some("2001:db8::7".parse().unwrap());
        bare.request_id = None;
        bare.problem = None;
        bare.path = "/healthz".into();
        bare.status = 200;
        bare.method = Method::GET;
        let mut out = Vec::new();
        bare.render(LogFormat::Json, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"timestamp\":\"2027-01-15T08:00:00.123456Z\",\"level\":\"INFO\",\"fields\":{\"message\":\"GET /healthz 200\",\"peer\":\"2001:db8::7\",\"method\":\"GET\",\"path\":\"/healthz\",\"status\":200,\"bytes\":161,\"duration_ms\":0.653,\"request_id\":\"\"},\"target\":\"s3_broker::access\"}\n"
        );
    }

    #[test]
    fn text_lines_are_one_line() {
        let mut out = Vec::new();
        let mut quiet = record();
        quiet.problem = None;
        quiet.path = "/a\nb".into();
        quiet.render(LogFormat::Text, &mut out);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.contains("INFO s3_broker::access: POST /a\\nb 401 peer=127.0.0.1 bytes=161"));
        assert!(!text.contains("problem="));
    }

    #[test]
    fn durations_are_milliseconds_with_three_decimals() {
        for (nanos, text) in [
            (0, "0.000"),
            (499, "0.000"),
            (500, "0.001"),
            (519_000, "0.519"),
            (653_499, "0.653"),
            (1_000_000, "1.000"),
            (12_345_678_901, "12345.679"),
        ] {
            assert_eq!(Millis(Duration::from_nanos(nanos)).to_string(), text);
            let mut out = Vec::new();
            LineSink(&mut out).push_millis(Duration::from_nanos(nanos));
            assert_eq!(out, text.as_bytes());
        }
    }

    #[test]
    fn numbers_and_peers_are_written_in_full() {
        for n in [0, 7, 10, 404, 65_535, u64::MAX] {
            let mut out = Vec::new();
            LineSink(&mut out).push_u64(n);
            assert_eq!(out, n.to_string().as_bytes());
        }
        for peer in ["0.0.0.0", "10.200.3.255", "::1", "2001:db8::7"] {
            let mut out = Vec::new();
            let mut with_peer = record();
            with_peer.peer = Some(peer.parse().unwrap());
            with_peer.render(LogFormat::Json, &mut out);
            let line: serde_json::Value = serde_json::from_slice(&out).unwrap();
            assert_eq!(line["fields"]["peer"], peer);
        }
    }

    #[test]
    fn a_record_without_peer_or_id_is_still_json() {
        let mut out = Vec::new();
        let mut bare = record();
        bare.peer = None;
        bare.request_id = None;
        bare.method = Method::from_bytes(b"PROPFIND").unwrap();
        bare.render(LogFormat::Json, &mut out);
        let line: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(line["fields"]["peer"], "");
        assert_eq!(line["fields"]["request_id"], "");
        assert_eq!(line["fields"]["message"], "PROPFIND /v1/uploads\"x 401");
    }
}
