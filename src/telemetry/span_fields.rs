//! How span fields are kept for JSON log lines: written straight into a JSON object
//! (`{"request_id":"0f8f..."}`), which the JSON event formatter copies into each line's `spans`.
//!
//! `tracing-subscriber`'s `JsonFields` builds a map of `serde_json::Value`s and serializes it
//! through an `io::Write` adapter for every new span; the broker opens one span per request, so
//! that cost was a third of what the request middleware added to `GET /healthz`
//! (doc/benchmarks.md). The output is the same JSON object.

use std::fmt;

use tracing::span::Record;
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FormatFields, FormattedFields};

use super::json::JsonFieldsVisitor;

/// The span-field formatter of JSON logging (`fmt().fmt_fields(JsonSpanFields)`), with the
/// field rules of the event formatter ([`super::json::JsonLines`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonSpanFields;

impl<'writer> FormatFields<'writer> for JsonSpanFields {
    fn format_fields<R: RecordFields>(
        &self,
        mut writer: Writer<'writer>,
        fields: R,
    ) -> fmt::Result {
        writer.write_char('{')?;
        fields.record(&mut JsonFieldsVisitor {
            out: &mut writer,
            first: true,
        });
        writer.write_char('}')
    }

    /// Fields recorded after the span was created join its object.
    fn add_fields(
        &self,
        current: &'writer mut FormattedFields<Self>,
        fields: &Record<'_>,
    ) -> fmt::Result {
        let mut added = String::new();
        self.format_fields(Writer::new(&mut added), fields)?;
        let current = &mut current.fields;
        if current.len() <= 2 {
            *current = added;
        } else if added.len() > 2 {
            current.pop();
            current.push(',');
            current.push_str(&added[1..]);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::captured::{captured, json_lines};

    /// The JSON lines a subscriber with these span fields writes while `f` runs.
    fn lines(f: impl FnOnce()) -> Vec<serde_json::Value> {
        let text = captured(
            |sink| {
                tracing_subscriber::fmt()
                    .fmt_fields(JsonSpanFields)
                    .event_format(super::super::json::JsonLines)
                    .with_writer(move || sink.clone())
                    .finish()
            },
            f,
        );
        json_lines(&text)
    }

    #[test]
    fn spans_carry_their_fields_as_json() {
        let lines = lines(|| {
            let span = tracing::info_span!(
                "request",
                request_id = "abc",
                odd = "quote\" back\\ nl\n ctl\u{1} é",
                n = 7u64,
                neg = -3i64,
                yes = true,
                ratio = 0.5f64,
                debug = ?Some(1),
            );
            let _entered = span.enter();
            tracing::info!("inside");
        });
        let span = &lines[0]["spans"][0];
        assert_eq!(span["name"], "request");
        assert_eq!(span["request_id"], "abc");
        assert_eq!(span["odd"], "quote\" back\\ nl\n ctl\u{1} é");
        assert_eq!(span["n"], 7);
        assert_eq!(span["neg"], -3);
        assert_eq!(span["yes"], true);
        assert_eq!(span["ratio"], 0.5);
        assert_eq!(span["debug"], "Some(1)");
    }

    #[test]
    fn fields_recorded_later_join_the_object() {
        let lines = lines(|| {
            let span = tracing::info_span!(
                "request",
                request_id = "abc",
                late = tracing::field::Empty,
                later = tracing::field::Empty
            );
            span.record("late", 1u64);
            span.record("later", "x");
            let _entered = span.enter();
            tracing::info!("inside");
        });
        let span = &lines[0]["spans"][0];
        assert_eq!(span["request_id"], "abc");
        assert_eq!(span["late"], 1);
        assert_eq!(span["later"], "x");
    }

    #[test]
    fn a_span_without_fields_is_an_empty_object() {
        let lines = lines(|| {
            let span = tracing::info_span!("quiet");
            let _entered = span.enter();
            tracing::info!("inside");
        });
        assert_eq!(lines[0]["spans"][0]["name"], "quiet");
    }
}
