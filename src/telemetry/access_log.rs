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

use super::json::{write_json_str, write_timestamp};
use super::log_queue::{Entry, LogFormat, Render, enqueue, installed};
use super::request_id::RequestId;
use actix_web::http::Method;
use std::fmt::Write as _;
use std::net::IpAddr;
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
/// `s3_broker::access` through at INFO.
pub fn wanted() -> bool {
    installed() && tracing::enabled!(target: ACCESS_TARGET, tracing::Level::INFO)
}

impl AccessRecord {
    /// Hands the record to the log queue (never blocks; dropped and counted when full).
    pub fn enqueue(self) {
        enqueue(Entry::Record(Box::new(self)));
    }
}

impl Render for AccessRecord {
    fn render(&self, format: LogFormat, out: &mut Vec<u8>) {
        let mut line = String::with_capacity(320);
        let peer = self.peer.map(|ip| ip.to_string()).unwrap_or_default();
        let id = self.request_id.as_ref().map_or("", RequestId::as_str);
        let millis = self.duration.as_secs_f64() * 1000.0;
        match format {
            LogFormat::Json => {
                line.push_str("{\"timestamp\":\"");
                write_timestamp(&mut line, self.at);
                line.push_str("\",\"level\":\"INFO\",\"fields\":{\"message\":");
                write_json_str(
                    &mut line,
                    &format!("{} {} {}", self.method, self.path, self.status),
                );
                line.push_str(",\"peer\":");
                write_json_str(&mut line, &peer);
                line.push_str(",\"method\":");
                write_json_str(&mut line, self.method.as_str());
                line.push_str(",\"path\":");
                write_json_str(&mut line, &self.path);
                let _ = write!(
                    line,
                    ",\"status\":{},\"bytes\":{},\"duration_ms\":{millis:.3},\"request_id\":",
                    self.status, self.bytes
                );
                write_json_str(&mut line, id);
                if let Some(code) = self.problem {
                    line.push_str(",\"problem\":");
                    write_json_str(&mut line, code);
                }
                line.push_str("},\"target\":");
                write_json_str(&mut line, ACCESS_TARGET);
                line.push_str("}\n");
            }
            LogFormat::Text => {
                write_timestamp(&mut line, self.at);
                let _ = write!(
                    line,
                    "  INFO {ACCESS_TARGET}: {} {} {} peer={peer} bytes={} duration_ms={millis:.3} \
                     request_id={id}",
                    self.method,
                    self.path.escape_debug(),
                    self.status,
                    self.bytes,
                );
                if let Some(code) = self.problem {
                    let _ = write!(line, " problem={code}");
                }
                line.push('\n');
            }
        }
        out.extend_from_slice(line.as_bytes());
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
}
