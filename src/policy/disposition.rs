//! `Content-Disposition` of download grants (`response-content-disposition`).
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html> (response
//! overrides), RFC 6266 and RFC 8187 (`filename*`).

use super::Filename;
use serde::{Deserialize, Serialize};
use std::fmt::{self, Write};

/// Whether a browser saves the download or shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Disposition {
    /// Save as a file (safe for any content type).
    Attachment,
    /// Display in the browser (only for profiles that allow it: an HTML or SVG file shown
    /// inline runs in the bucket's origin).
    Inline,
}

impl Disposition {
    /// `"attachment"` or `"inline"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Attachment => "attachment",
            Self::Inline => "inline",
        }
    }
}

impl fmt::Display for Disposition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn is_attr_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b)
}

/// The header value, e.g. `attachment; filename="a.pdf"` or, for names that are not plain
/// ASCII, `attachment; filename="_.pdf"; filename*=UTF-8''%E2%82%AC.pdf`: an ASCII fallback
/// (non-ASCII, `"`, `\` and `%` replaced by `_`) plus the exact name percent-encoded.
pub fn content_disposition(disposition: Disposition, filename: &Filename) -> String {
    let name = filename.as_str();
    let fallback: String = name
        .chars()
        .map(|c| match c {
            '"' | '\\' | '%' => '_',
            c if c == ' ' || c.is_ascii_graphic() => c,
            _ => '_',
        })
        .collect();
    let mut value = format!("{disposition}; filename=\"{fallback}\"");
    if fallback != name {
        value.push_str("; filename*=UTF-8''");
        for b in name.bytes() {
            if is_attr_char(b) {
                value.push(char::from(b));
            } else {
                let _ = write!(value, "%{b:02X}");
            }
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> Filename {
        Filename::parse(s).unwrap()
    }

    #[test]
    fn plain_ascii_names() {
        assert_eq!(
            content_disposition(Disposition::Attachment, &name("report 1.pdf")),
            "attachment; filename=\"report 1.pdf\""
        );
    }

    #[test]
    fn other_names_get_a_fallback_and_an_encoded_form() {
        assert_eq!(
            content_disposition(Disposition::Inline, &name("€ \"q\".pdf")),
            "inline; filename=\"_ _q_.pdf\"; filename*=UTF-8''%E2%82%AC%20%22q%22.pdf"
        );
        let v = content_disposition(Disposition::Attachment, &name("100%;x=y.txt"));
        assert_eq!(
            v,
            "attachment; filename=\"100_;x=y.txt\"; filename*=UTF-8''100%25%3Bx%3Dy.txt"
        );
        assert!(v.bytes().all(|b| b.is_ascii_graphic() || b == b' '));
    }
}
