//! JSON log lines, written directly: `{"timestamp", "level", "fields", "target", "spans"}`,
//! the shape of `tracing-subscriber`'s JSON format, without what that format adds to events
//! of the `log` crate (`log.file`, `log.line`: source paths of the build machine, and
//! `log.module_path`, `log.target`).

use std::cell::Cell;
use std::fmt;
use std::thread::LocalKey;
use std::time::SystemTime;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_log::NormalizeEvent;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// Writes `value` as a JSON string literal (RFC 8259 §7).
pub(crate) fn write_json_str(out: &mut impl fmt::Write, value: &str) {
    let _ = out.write_char('"');
    write_json_str_contents(out, value);
    let _ = out.write_char('"');
}

/// Writes `value` escaped for the inside of a JSON string literal, without the quotes.
pub(crate) fn write_json_str_contents(out: &mut impl fmt::Write, value: &str) {
    if !needs_escape(value) {
        // The common case (paths, ids, messages): one scan, one copy.
        let _ = out.write_str(value);
        return;
    }
    let mut start = 0;
    for (i, c) in value.char_indices() {
        let escape = match c {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            c if c < ' ' => "",
            _ => continue,
        };
        let _ = out.write_str(&value[start..i]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            let _ = out.write_str(escape);
        }
        start = i + c.len_utf8();
    }
    let _ = out.write_str(&value[start..]);
}

/// Whether a JSON string literal of `value` needs an escape: a `"`, a `\\` or a control
/// character below U+0020. Eight bytes at a time (the last word overlaps the one before it),
/// without an early exit; a string shorter than eight bytes byte by byte. What it answers is
/// what [`needs_escape_bytewise`] answers (the tests compare them).
pub(crate) fn needs_escape(value: &str) -> bool {
    bytes_need_escape(value.as_bytes())
}

/// `value` as a JSON string literal appended to `out`: copied as it is between quotes when
/// nothing needs an escape (the usual case), else escaped by `serde_json`. What a grant's
/// answer and a sealed token's payload write their strings with.
pub(crate) fn push_json_str(out: &mut Vec<u8>, value: &str) {
    if needs_escape(value) {
        // Writing into a `Vec` cannot fail, and a `&str` always serializes.
        let _ = serde_json::to_writer(&mut *out, value);
    } else {
        out.reserve(value.len() + 2);
        out.push(b'"');
        out.extend_from_slice(value.as_bytes());
        out.push(b'"');
    }
}

/// [`needs_escape`] of any bytes.
pub(crate) fn bytes_need_escape(bytes: &[u8]) -> bool {
    let Some(last) = bytes.len().checked_sub(8) else {
        return needs_escape_bytewise(bytes);
    };
    let mut found = word_needs_escape(word_at(bytes, last));
    let mut at = 0;
    while at < last {
        found |= word_needs_escape(word_at(bytes, at));
        at += 8;
    }
    found != 0
}

/// The byte-by-byte answer of [`needs_escape`].
fn needs_escape_bytewise(bytes: &[u8]) -> bool {
    bytes.iter().fold(false, |any, &b| {
        any | (b < 0x20) | (b == b'"') | (b == b'\\')
    })
}

/// The eight bytes of `bytes` from `at` as one word.
fn word_at(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(word)
}

/// Non-zero when a byte of `word` is below 0x20, a `"` or a `\\`. Each test is exact as to
/// whether such a byte exists (a borrow can only mark a byte above one that matched).
fn word_needs_escape(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let has_zero = |v: u64| v.wrapping_sub(ONES) & !v;
    let below_space = word.wrapping_sub(ONES * 0x20) & !word;
    (below_space
        | has_zero(word ^ (ONES * u64::from(b'"')))
        | has_zero(word ^ (ONES * u64::from(b'\\'))))
        & HIGHS
}

/// Writes `at` as RFC 3339 UTC with microseconds (`2026-12-06T22:17:34.145057Z`), as
/// chrono's `%Y-%m-%dT%H:%M:%S%.6fZ` does, without its format-string interpreter.
pub(crate) fn write_timestamp(out: &mut impl fmt::Write, at: SystemTime) {
    let Some(text) = timestamp_bytes(at) else {
        let at: chrono::DateTime<chrono::Utc> = at.into();
        let _ = write!(out, "{}", at.format("%Y-%m-%dT%H:%M:%S%.6fZ"));
        return;
    };
    // The text holds ASCII digits and punctuation only.
    let _ = out.write_str(std::str::from_utf8(&text).unwrap_or_default());
}

/// `at` as [`write_timestamp`] writes it, for times from 1970 to the end of the year 9999
/// (`None` otherwise). The date and time of day come from the thread's cached text of the
/// last second written ([`LINE_SECOND`]): the lines of one second share it.
pub(crate) fn timestamp_bytes(at: SystemTime) -> Option<[u8; 27]> {
    let since = at.duration_since(SystemTime::UNIX_EPOCH).ok()?;
    let secs = since.as_secs();
    if secs > LAST_SECOND_OF_YEAR_9999 {
        return None;
    }
    let mut text = *b"0000-00-00T00:00:00.000000Z";
    text[..19].copy_from_slice(&second_text(&LINE_SECOND, secs));
    let mut micros = since.subsec_micros();
    for digit in text[20..26].iter_mut().rev() {
        *digit = b'0' + (micros % 10) as u8;
        micros /= 10;
    }
    Some(text)
}

/// `at` in RFC 3339 with whole seconds and `Z` (`2027-01-15T08:15:00Z`), as chrono's
/// `to_rfc3339_opts(SecondsFormat::Secs, true)` writes it, without its formatter.
pub(crate) fn write_timestamp_secs(out: &mut impl fmt::Write, at: chrono::DateTime<chrono::Utc>) {
    match timestamp_secs_bytes(at) {
        // The text holds ASCII digits and punctuation only.
        Some(text) => {
            let _ = out.write_str(std::str::from_utf8(&text).unwrap_or_default());
        }
        None => {
            let _ = out.write_str(&at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        }
    }
}

/// `at` as [`write_timestamp_secs`] writes it, for times from 1970 to the end of the year
/// 9999 (`None` otherwise), from the thread's cached text of the last such second
/// ([`WHOLE_SECOND`]).
pub(crate) fn timestamp_secs_bytes(at: chrono::DateTime<chrono::Utc>) -> Option<[u8; 20]> {
    let secs = u64::try_from(at.timestamp())
        .ok()
        .filter(|secs| *secs <= LAST_SECOND_OF_YEAR_9999)?;
    let mut text = [b'Z'; 20];
    text[..19].copy_from_slice(&second_text(&WHOLE_SECOND, secs));
    Some(text)
}

/// A second since the Unix epoch and its text, `YYYY-MM-DDTHH:MM:SS`.
type SecondText = (u64, [u8; 19]);

/// The last two seconds a cache was asked for, the latest first (`u64::MAX`, never a second
/// written: none yet). Two, because a writer alternates between two times that each move with
/// the clock: a grant's answer writes its `expires_at` and its `server_time`.
type SecondTexts = [SecondText; 2];

thread_local! {
    /// The last seconds whose line timestamps this thread wrote: the civil arithmetic runs
    /// once a second, not once a line.
    static LINE_SECOND: Cell<SecondTexts> = const { Cell::new([(u64::MAX, [0; 19]); 2]) };
    /// The same for whole-second times ([`write_timestamp_secs`], [`timestamp_secs_bytes`]:
    /// an audit event's `expires_at`, a grant answer's times).
    static WHOLE_SECOND: Cell<SecondTexts> = const { Cell::new([(u64::MAX, [0; 19]); 2]) };
}

/// The text of `secs` (at most [`LAST_SECOND_OF_YEAR_9999`]), from `cache` when it holds
/// that second, else computed and kept there (or only computed, should the thread's storage
/// be gone: a line written while the thread exits never panics).
fn second_text(cache: &'static LocalKey<Cell<SecondTexts>>, secs: u64) -> [u8; 19] {
    cache
        .try_with(|last| {
            let [latest, before] = last.get();
            for (cached, text) in [latest, before] {
                if cached == secs {
                    return text;
                }
            }
            let text = civil_second(secs);
            last.set([(secs, text), latest]);
            text
        })
        .unwrap_or_else(|_| civil_second(secs))
}

/// `YYYY-MM-DDTHH:MM:SS` of `secs` since the Unix epoch (at most the last second of the year
/// 9999).
pub(crate) fn civil_second(secs: u64) -> [u8; 19] {
    let (year, month, day) = civil_from_days(secs / 86_400);
    let of_day = secs % 86_400;
    let mut text = *b"0000-00-00T00:00:00";
    let mut digits = |at: usize, width: usize, value: u64| {
        let mut value = value;
        for i in (at..at + width).rev() {
            text[i] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    digits(0, 4, year);
    digits(5, 2, month);
    digits(8, 2, day);
    digits(11, 2, of_day / 3600);
    digits(14, 2, of_day / 60 % 60);
    digits(17, 2, of_day % 60);
    text
}

/// `9999-12-31T23:59:59Z` as a Unix timestamp: four-digit years end there.
pub(crate) const LAST_SECOND_OF_YEAR_9999: u64 = 253_402_300_799;

/// The proleptic Gregorian (year, month, day) of a day count since 1970-01-01, for days on or
/// after it (H. Hinnant's `civil_from_days`,
/// <https://howardhinnant.github.io/date_algorithms.html#civil_from_days>).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// The event formatter of `serve` (`tracing_subscriber::fmt().event_format(JsonLines)`, with
/// `JsonFields` for the span fields).
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonLines;

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let normalized = event.normalized_metadata();
        let meta = normalized.as_ref().unwrap_or_else(|| event.metadata());
        let mut fields = String::with_capacity(160);
        event.record(&mut JsonFieldsVisitor {
            out: &mut fields,
            first: true,
        });
        w.write_str("{\"timestamp\":\"")?;
        write_timestamp(&mut w, SystemTime::now());
        let level = caller_level(meta.target(), &fields).unwrap_or(*meta.level());
        write!(
            w,
            "\",\"level\":\"{level}\",\"fields\":{{{fields}}},\"target\":"
        )?;
        write_json_str(&mut w, meta.target());
        let request = super::request_scope::current();
        let scope = ctx.event_scope();
        if request.is_some() || scope.is_some() {
            w.write_str(",\"spans\":[")?;
            // The request being served comes first, as the outermost span it once was.
            if let Some(id) = request {
                w.write_str("{\"name\":\"request\",\"request_id\":")?;
                write_json_str(&mut w, id.as_str());
                w.write_char('}')?;
            }
            let spans = scope.into_iter().flat_map(|scope| scope.from_root());
            for (i, span) in spans.enumerate() {
                if i > 0 || request.is_some() {
                    w.write_char(',')?;
                }
                w.write_str("{\"name\":")?;
                write_json_str(&mut w, span.name());
                let extensions = span.extensions();
                let inner = extensions
                    .get::<FormattedFields<N>>()
                    .map(|f| f.fields.as_str())
                    .and_then(|f| f.strip_prefix('{')?.strip_suffix('}'))
                    .unwrap_or("");
                if !inner.is_empty() {
                    w.write_char(',')?;
                    w.write_str(inner)?;
                }
                w.write_char('}')?;
            }
            w.write_char(']')?;
        }
        w.write_str("}\n")
    }
}

/// The level of a dependency's event that reports a caller's mistake at ERROR: actix-http
/// logs a request it cannot parse (and answers 400 without reaching the application) as
/// `ERROR stream error: request parse error: ...`; it is the caller's doing, so INFO.
fn caller_level(target: &str, fields: &str) -> Option<tracing::Level> {
    (target == "actix_http::h1::dispatcher"
        && fields.starts_with("\"message\":\"stream error: request parse error"))
    .then_some(tracing::Level::INFO)
}

/// Writes an event's fields as JSON members, leaving out the `log.*` metadata fields.
pub(super) struct JsonFieldsVisitor<'w, W: fmt::Write> {
    pub(super) out: &'w mut W,
    pub(super) first: bool,
}

impl<W: fmt::Write> JsonFieldsVisitor<'_, W> {
    /// Writes `"name":` (and the comma before it), or `false` for a field left out.
    fn key(&mut self, field: &Field) -> bool {
        let name = field.name();
        if name.starts_with("log.") {
            return false;
        }
        let name = name.strip_prefix("r#").unwrap_or(name);
        if !self.first {
            let _ = self.out.write_char(',');
        }
        self.first = false;
        write_json_str(self.out, name);
        let _ = self.out.write_char(':');
        true
    }

    fn raw(&mut self, field: &Field, value: impl fmt::Display) {
        if self.key(field) {
            let _ = write!(self.out, "{value}");
        }
    }
}

impl<W: fmt::Write> Visit for JsonFieldsVisitor<'_, W> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        if value.is_finite() {
            self.raw(field, value);
        } else {
            self.record_str(field, &value.to_string());
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.raw(field, value);
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.raw(field, value);
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.raw(field, value);
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if self.key(field) {
            write_json_str(self.out, value);
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.record_str(field, &value.to_string());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if self.key(field) {
            write_json_str(self.out, &format!("{value:?}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::captured::{Sink, captured, in_request, json_lines};

    /// The word-wise scan answers what the byte-wise one does: every length up to 40, each
    /// byte value that matters (and its neighbours) at each position, alone and after another.
    #[test]
    fn the_word_scan_is_the_byte_scan() {
        let probes: Vec<u8> = (0u8..=255).collect();
        for len in 0..=40 {
            let plain = vec![b'a'; len];
            assert_eq!(bytes_need_escape(&plain), needs_escape_bytewise(&plain));
            for at in 0..len {
                for &probe in &probes {
                    let mut bytes = plain.clone();
                    bytes[at] = probe;
                    assert_eq!(
                        bytes_need_escape(&bytes),
                        needs_escape_bytewise(&bytes),
                        "{len} {at} {probe:#x}"
                    );
                    // A borrow from a lower byte must not mark a harmless byte above it.
                    if at + 1 < len {
                        bytes[at + 1] = b'#';
                        assert_eq!(
                            bytes_need_escape(&bytes),
                            needs_escape_bytewise(&bytes),
                            "{len} {at} {probe:#x} then #"
                        );
                        bytes[at + 1] = b']';
                        assert_eq!(
                            bytes_need_escape(&bytes),
                            needs_escape_bytewise(&bytes),
                            "{len} {at} {probe:#x} then ]"
                        );
                    }
                }
            }
        }
    }

    /// The subscriber of `serve`'s lines, writing to `sink`.
    fn json_subscriber(sink: Sink) -> impl Subscriber + Send + Sync {
        tracing_subscriber::fmt()
            .fmt_fields(crate::telemetry::span_fields::JsonSpanFields)
            .event_format(JsonLines)
            .with_writer(move || sink.clone())
            .finish()
    }

    #[test]
    fn strings_are_escaped_as_json() {
        let nasty = "a\"b\\c\nd\re\tf\u{1}g\u{7f}h é \u{2028}";
        let mut out = String::new();
        write_json_str(&mut out, nasty);
        let back: String = serde_json::from_str(&out).unwrap();
        assert_eq!(back, nasty);
        assert!(!out.contains('\n'));
    }

    proptest::proptest! {
        /// Each of the three writers of a JSON string literal (the log lines', the grant
        /// answers' and the access log's) writes one that an independent parser
        /// (`serde_json`) reads back as the same text, on one line, for any text: escapes,
        /// controls, non-ASCII and the eight-byte words of the escape scan included.
        #[test]
        fn every_json_string_writer_reads_back_as_its_text(
            value in proptest::string::string_regex("(?s)[\\x00-\\x7f\"\\\\ é\u{2028}\u{10348}]{0,40}").unwrap()
        ) {
            let mut written = String::new();
            write_json_str(&mut written, &value);
            let mut pushed = Vec::new();
            push_json_str(&mut pushed, &value);
            let mut sunk = Vec::new();
            crate::telemetry::line_sink::LineSink(&mut sunk).push_json_str(&value);
            for out in [written.as_bytes(), &pushed, &sunk] {
                let back: String = serde_json::from_slice(out).unwrap();
                proptest::prop_assert_eq!(&back, &value);
                proptest::prop_assert!(!out.contains(&b'\n'));
            }
        }
    }

    #[test]
    fn timestamps_are_rfc3339_with_microseconds() {
        let at = SystemTime::UNIX_EPOCH + std::time::Duration::from_micros(1_800_000_000_123_456);
        let mut out = String::new();
        write_timestamp(&mut out, at);
        assert_eq!(out, "2027-01-15T08:00:00.123456Z");
    }

    #[test]
    fn timestamps_are_chronos_format_everywhere() {
        let mut secs: u64 = 0;
        while secs < 253_402_300_800 + 86_400 * 3 {
            for nanos in [0, 999, 1_000, 123_456_789, 999_999_999] {
                let at = SystemTime::UNIX_EPOCH + std::time::Duration::new(secs, nanos);
                let mut ours = String::new();
                write_timestamp(&mut ours, at);
                let chrono: chrono::DateTime<chrono::Utc> = at.into();
                assert_eq!(ours, chrono.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string());
            }
            secs += 86_399 * 97 + 3_607;
        }
    }

    #[test]
    fn second_timestamps_are_chronos_rfc3339() {
        let mut secs: i64 = -86_400 * 400;
        while secs < 253_402_300_800 + 86_400 * 3 {
            let at = chrono::DateTime::from_timestamp(secs, 0).unwrap();
            let mut ours = String::new();
            write_timestamp_secs(&mut ours, at);
            assert_eq!(ours, at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
            secs += 86_399 * 97 + 3_607;
        }
    }

    #[test]
    fn only_quotes_backslashes_and_controls_need_escapes() {
        assert!(!needs_escape("/v1/uploads?x=1 é \u{7f} \u{2028}"));
        for nasty in ["\"", "\\", "\n", "\u{0}", "\u{1f}", "ok\tok"] {
            assert!(needs_escape(nasty), "{nasty:?}");
        }
    }

    /// Events of the `log` crate (actix-server, actix-http) carry their source file and line
    /// as `log.*` fields; none of them reaches the line.
    #[test]
    fn lines_are_json_without_source_paths() {
        let text = captured(json_subscriber, || {
            let span = tracing::info_span!("request", request_id = "abc");
            let _entered = span.enter();
            tracing::warn!(
                code = "invalid_token",
                n = 3_u64,
                ok = true,
                "refused \"x\""
            );
            let record = tracing_log::log::Record::builder()
                .args(format_args!("starting 2 workers"))
                .level(tracing_log::log::Level::Info)
                .target("actix_server::builder")
                .file(Some(
                    "/root/.cargo/registry/src/x/actix-server/src/builder.rs",
                ))
                .line(Some(42))
                .module_path(Some("actix_server::builder"))
                .build();
            tracing_log::format_trace(&record).unwrap();
            tracing::error!(
                target: "actix_http::h1::dispatcher",
                "stream error: {}",
                "request parse error: invalid Header provided"
            );
        });
        let lines = json_lines(&text);
        assert_eq!(lines.len(), 3, "{text}");
        assert_eq!(lines[0]["level"], "WARN");
        assert_eq!(lines[0]["fields"]["message"], "refused \"x\"");
        assert_eq!(lines[0]["fields"]["code"], "invalid_token");
        assert_eq!(lines[0]["fields"]["n"], 3);
        assert_eq!(lines[0]["fields"]["ok"], true);
        assert_eq!(lines[0]["spans"][0]["name"], "request");
        assert_eq!(lines[0]["spans"][0]["request_id"], "abc");
        assert_eq!(lines[1]["target"], "actix_server::builder");
        assert_eq!(lines[1]["fields"]["message"], "starting 2 workers");
        assert_eq!(
            lines[2]["level"], "INFO",
            "a caller's malformed request: {text}"
        );
        assert!(!text.contains("log."), "{text}");
        assert!(!text.contains(".rs"), "{text}");
    }

    /// A line logged while a request is served names its id, as the request span did, before
    /// the spans of the event itself.
    #[test]
    fn lines_of_a_request_carry_its_id() {
        let text = captured(json_subscriber, || {
            tracing::info!("before");
            in_request("req-42", || {
                tracing::warn!(code = "invalid_token", "refused");
                let span = tracing::info_span!("s3", operation = "ListParts");
                let _entered = span.enter();
                tracing::info!("inside");
            });
            tracing::info!("after");
        });
        let lines = json_lines(&text);
        assert_eq!(lines.len(), 4, "{text}");
        assert!(lines[0].get("spans").is_none(), "{text}");
        assert_eq!(
            lines[1]["spans"],
            serde_json::json!([{"name": "request", "request_id": "req-42"}])
        );
        assert_eq!(
            lines[2]["spans"],
            serde_json::json!([
                {"name": "request", "request_id": "req-42"},
                {"name": "s3", "operation": "ListParts"}
            ])
        );
        assert!(lines[3].get("spans").is_none(), "{text}");
    }
}
