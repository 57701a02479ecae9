//! Error messages made safe to print: one line, no source excerpts, no quoted values.

/// A configuration error on one line: source excerpts (the `N | text` lines of TOML parse
/// errors) dropped, and every quoted string value replaced by `"…"`, since a mistyped value
/// may be a secret.
pub(super) fn one_line_redacted(message: &str) -> String {
    let excerpt = |line: &str| {
        let rest = line
            .trim_start()
            .trim_start_matches(|c: char| c.is_ascii_digit());
        rest.trim_start().starts_with('|')
    };
    let line = message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !excerpt(l))
        .collect::<Vec<_>>()
        .join(": ");
    redact_strings(&line)
}

/// Replaces the contents of every `string "..."` (serde's rendering of an unexpected string
/// value) by `…`.
fn redact_strings(text: &str) -> String {
    const MARK: &str = "string \"";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(MARK) {
        out.push_str(&rest[..at + MARK.len()]);
        let value = &rest[at + MARK.len()..];
        let mut escaped = false;
        let end = value.char_indices().find_map(|(i, c)| match c {
            _ if escaped => {
                escaped = false;
                None
            }
            '\\' => {
                escaped = true;
                None
            }
            '"' => Some(i),
            _ => None,
        });
        out.push('…');
        match end {
            Some(end) => rest = &value[end..],
            None => {
                out.push('"');
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_errors_leave_values_and_excerpts_out() {
        let figment = "invalid type: found string \"hunter2-\\\"quoted\\\"\", expected a sequence \
                       for key \"default.auth.hs_secrets\" in config.toml TOML file";
        let redacted = one_line_redacted(figment);
        assert!(!redacted.contains("hunter2"), "{redacted}");
        assert!(redacted.contains("found string \"…\""), "{redacted}");
        assert!(redacted.contains("default.auth.hs_secrets"), "{redacted}");
        let toml = "TOML parse error at line 3, column 10\n  |\n3 | secret = \"hunter2\n  |          ^\nunterminated string\n";
        assert_eq!(
            one_line_redacted(toml),
            "TOML parse error at line 3, column 10: unterminated string"
        );
        assert_eq!(redact_strings("a string \"open"), "a string \"…\"");
    }
}
