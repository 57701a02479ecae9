//! A JSON object written straight into one buffer: the grant answers on the request path are
//! serialized from the decision and the signer's output as they are, without first copying
//! them into owned strings, maps or `serde_json::Value`s.
//!
//! Strings are escaped by `serde_json` itself and timestamps are written as chrono's `serde`
//! form (RFC 3339, UTC, `Z`), so the bytes equal what `#[derive(Serialize)]` of the same
//! fields gives; each user of this writer keeps a test that compares the two.

use crate::telemetry::{needs_escape, push_json_str, timestamp_secs_bytes};
use chrono::{DateTime, Utc};

/// One JSON object being written; [`JsonObject::finish`] closes it.
pub(crate) struct JsonObject<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> JsonObject<'a> {
    /// Opens an object at the end of `out`.
    pub(crate) fn open(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        Self { out, first: true }
    }

    /// The comma before every member but the first.
    fn separate(&mut self) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
    }

    /// `"name":` for a field name of the answer's own schema: one of this crate's `'static`
    /// literals, plain identifiers written as they are (checked in debug builds) rather than
    /// scanned for escapes on every answer.
    fn field(&mut self, name: &'static str) {
        debug_assert!(!needs_escape(name), "{name:?}");
        self.separate();
        self.out.push(b'"');
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(b"\":");
    }

    /// `"name":"value"`.
    pub(crate) fn str(&mut self, name: &'static str, value: &str) -> &mut Self {
        self.field(name);
        push_json_str(self.out, value);
        self
    }

    /// `"name":"value"` for a value that never needs an escape (a fixed word, a bucket name:
    /// checked in debug builds), copied without the scan.
    pub(crate) fn plain_str(&mut self, name: &'static str, value: &str) -> &mut Self {
        self.plain_str_with(name, |out| out.extend_from_slice(value.as_bytes()))
    }

    /// `"name":"<what write appends>"`, for a value that never needs an escape (a sealed
    /// token: base64url and dots), written by `write` straight into the buffer rather than
    /// first into a string of its own (checked in debug builds).
    pub(crate) fn plain_str_with(
        &mut self,
        name: &'static str,
        write: impl FnOnce(&mut Vec<u8>),
    ) -> &mut Self {
        self.field(name);
        self.out.push(b'"');
        let start = self.out.len();
        write(self.out);
        debug_assert!(
            std::str::from_utf8(&self.out[start..]).is_ok_and(|s| !needs_escape(s)),
            "{:?}",
            String::from_utf8_lossy(&self.out[start..])
        );
        self.out.push(b'"');
        self
    }

    /// `"name":"<RFC 3339 UTC>"`.
    pub(crate) fn time(&mut self, name: &'static str, value: &DateTime<Utc>) -> &mut Self {
        self.field(name);
        write_time(self.out, value);
        self
    }

    /// `"name":{"k":"v",...}`, the pairs in the given order; their names are data (header or
    /// form field names), escaped like values.
    pub(crate) fn str_map<'s>(
        &mut self,
        name: &'static str,
        pairs: impl IntoIterator<Item = (&'s str, &'s str)>,
    ) -> &mut Self {
        self.map(name, pairs, push_json_str)
    }

    /// As [`JsonObject::str_map`], for pairs whose names are header names (RFC 9110 tokens,
    /// which hold no character that needs an escape: checked in debug builds), written as
    /// they are rather than scanned for escapes.
    pub(crate) fn token_map<'s>(
        &mut self,
        name: &'static str,
        pairs: impl IntoIterator<Item = (&'s str, &'s str)>,
    ) -> &mut Self {
        self.map(name, pairs, |out, token| {
            debug_assert!(!needs_escape(token), "{token:?}");
            out.push(b'"');
            out.extend_from_slice(token.as_bytes());
            out.push(b'"');
        })
    }

    /// `"name":{"k":"v",...}`, each pair's name written by `write_name`.
    fn map<'s>(
        &mut self,
        name: &'static str,
        pairs: impl IntoIterator<Item = (&'s str, &'s str)>,
        write_name: impl Fn(&mut Vec<u8>, &str),
    ) -> &mut Self {
        self.field(name);
        let mut inner = JsonObject::open(self.out);
        for (k, v) in pairs {
            inner.separate();
            write_name(inner.out, k);
            inner.out.push(b':');
            push_json_str(inner.out, v);
        }
        inner.finish();
        self
    }

    /// `"name":["a","b",...]`.
    pub(crate) fn str_array<'s>(
        &mut self,
        name: &'static str,
        items: impl IntoIterator<Item = &'s str>,
    ) -> &mut Self {
        self.field(name);
        self.out.push(b'[');
        for (i, item) in items.into_iter().enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            push_json_str(self.out, item);
        }
        self.out.push(b']');
        self
    }

    /// Closes the object.
    pub(crate) fn finish(self) {
        self.out.push(b'}');
    }
}

/// `value` as chrono's `serde` form: `"2026-05-01T12:00:00Z"`; a time with a fraction of a
/// second or before 1970 (never a grant's) is written by chrono itself.
fn write_time(out: &mut Vec<u8>, value: &DateTime<Utc>) {
    // The text of a whole second from the thread's cache of the last two (a grant's answer
    // writes two times, each moving with the clock).
    let whole = (value.timestamp_subsec_nanos() == 0)
        .then(|| timestamp_secs_bytes(*value))
        .flatten();
    match whole {
        Some(second) => {
            out.push(b'"');
            out.extend_from_slice(&second);
            out.push(b'"');
        }
        // Writing into a `Vec` cannot fail, and a time always serializes.
        None => {
            let _ = serde_json::to_writer(&mut *out, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_as_chronos_serde_form() {
        for secs in [
            0,
            1,
            59,
            86_399,
            951_782_400, // 2000-02-29
            1_777_636_800,
            4_102_444_799,
            253_402_300_799, // 9999-12-31T23:59:59
            -1,
        ] {
            for nanos in [0, 1, 500_000_000, 999_999_999] {
                let t = DateTime::from_timestamp(secs, nanos).unwrap();
                // Twice, and after another second: from the thread's cache then.
                for at in [t, t, DateTime::UNIX_EPOCH, t] {
                    let mut ours = Vec::new();
                    write_time(&mut ours, &at);
                    assert_eq!(
                        String::from_utf8(ours).unwrap(),
                        serde_json::to_string(&at).unwrap()
                    );
                }
            }
        }
    }

    #[test]
    fn objects_match_serde_json() {
        let mut out = Vec::new();
        let mut object = JsonObject::open(&mut out);
        object
            .str("ab", "line\nbreak \u{1} é")
            .str_map("m", [("x\"", "1"), ("y", "\\")])
            .str_map("empty", [])
            .token_map("h", [("content-type", "a\"b"), ("if-none-match", "*")])
            .str_array("list", ["p", "q"])
            .plain_str("p", "uploads.example-1")
            .time("t", &DateTime::from_timestamp(1_777_636_800, 0).unwrap());
        object.finish();
        let expected = serde_json::json!({
            "ab": "line\nbreak \u{1} é",
            "m": {"x\"": "1", "y": "\\"},
            "empty": {},
            "h": {"content-type": "a\"b", "if-none-match": "*"},
            "list": ["p", "q"],
            "p": "uploads.example-1",
            "t": "2026-05-01T12:00:00Z",
        });
        assert_eq!(
            String::from_utf8(out).unwrap(),
            serde_json::to_string(&expected).unwrap()
        );
    }
}
