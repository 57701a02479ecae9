//! Text log lines (`dev`): `tracing-subscriber`'s compact format, with the id of the request
//! being served ([`super::request_scope`]) at the end of the line, where the compact format
//! puts span fields (`... refused code=invalid_token request_id=0f8f...`).

use std::fmt;
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{Compact, Format, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// The event formatter of `dev`: `F` (the compact format), plus `request_id=...` inside a
/// request.
#[derive(Debug, Clone, Default)]
pub(super) struct TextLines<F>(F);

impl TextLines<Format<Compact>> {
    /// The compact format without colours, with request ids.
    pub(super) fn compact() -> Self {
        Self(tracing_subscriber::fmt::format().compact().with_ansi(false))
    }
}

impl<S, N, F> FormatEvent<S, N> for TextLines<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let Some(id) = super::request_scope::current() else {
            return self.0.format_event(ctx, w, event);
        };
        let mut line = String::with_capacity(160);
        self.0.format_event(ctx, Writer::new(&mut line), event)?;
        let line = line.strip_suffix('\n').unwrap_or(&line);
        w.write_str(line)?;
        writeln!(w, " request_id={id}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::captured::{captured, in_request};

    #[test]
    fn lines_of_a_request_end_with_its_id() {
        let text = captured(
            |sink| {
                tracing_subscriber::fmt()
                    .with_writer(move || sink.clone())
                    .with_ansi(false)
                    .event_format(TextLines::compact())
                    .finish()
            },
            || {
                tracing::info!("before");
                in_request("req-42", || {
                    tracing::warn!(code = "invalid_token", "refused")
                });
            },
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(!lines[0].contains("request_id"), "{text}");
        assert!(
            lines[1].ends_with("refused code=\"invalid_token\" request_id=req-42"),
            "{text}"
        );
        assert!(lines[1].contains(" WARN "), "{text}");
    }
}
