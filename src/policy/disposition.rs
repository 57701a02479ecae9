//! How download grants are served: `Content-Disposition` (`response-content-disposition`) and,
//! for active content, `Content-Type` (`response-content-type`).
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html> (response
//! overrides), RFC 6266 (`Content-Disposition` in HTTP) and RFC 8187 (`filename*`).
//!
//! **Active content** is anything a browser runs scripts in when it renders it: HTML, XHTML,
//! SVG, XML (`text/xml`, `application/xml`, every `+xml` type) and JavaScript. Shown inline
//! from the bucket's origin, such a file is stored cross-site scripting. The broker does not
//! read objects (no HEAD request), so it recognises active content by what it knows when it
//! signs: the file name's extension and the content types the profile lets clients upload.

use super::Filename;
use serde::{Deserialize, Serialize};
use std::fmt::{self, Write};

/// Whether a browser saves the download or shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Disposition {
    /// Save as a file (safe for any content type).
    Attachment,
    /// Display in the browser (only for profiles that allow it, and never for active
    /// content: an HTML or SVG file shown inline runs in the bucket's origin).
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

/// The `Content-Type` active content is served with: browsers save it, never render it.
pub const NEUTRAL_CONTENT_TYPE: &str = "application/octet-stream";

/// The JavaScript MIME types of the WHATWG MIME Sniffing Standard ("JavaScript MIME type").
const JAVASCRIPT_TYPES: &[&str] = &[
    "application/ecmascript",
    "application/javascript",
    "application/x-ecmascript",
    "application/x-javascript",
    "text/ecmascript",
    "text/javascript",
    "text/javascript1.0",
    "text/javascript1.1",
    "text/javascript1.2",
    "text/javascript1.3",
    "text/javascript1.4",
    "text/javascript1.5",
    "text/jscript",
    "text/livescript",
    "text/x-ecmascript",
    "text/x-javascript",
];

/// Other types a browser renders as a document that can run scripts (`*+xml` is matched on
/// its suffix).
const DOCUMENT_TYPES: &[&str] = &[
    "text/html",
    "application/xhtml+xml",
    "image/svg+xml",
    "text/xml",
    "application/xml",
    "text/xsl",
    "multipart/x-mixed-replace",
];

/// Whether a media type's essence (`type/subtype`, any case, parameters ignored) is active
/// content: HTML, XHTML, SVG, XML (including every `+xml` type) or JavaScript.
pub fn is_active_content_type(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    DOCUMENT_TYPES.contains(&essence.as_str())
        || JAVASCRIPT_TYPES.contains(&essence.as_str())
        || essence.ends_with("+xml")
}

/// Extensions of active content (compared in ASCII lowercase).
const ACTIVE_EXTENSIONS: &[&str] = &[
    "htm", "html", "shtml", "xht", "xhtm", "xhtml", "mht", "mhtml", "svg", "svgz", "xml", "xsl",
    "xslt", "rss", "atom", "rdf", "xul", "js", "mjs", "cjs", "jsm", "es",
];

/// Passive types a browser may show inline, by extension: images, audio, video, PDF, plain
/// text. Used to pin the `Content-Type` of an inline download when the stored one is unknown.
const PASSIVE_TYPES: &[(&str, &str)] = &[
    ("apng", "image/apng"),
    ("avif", "image/avif"),
    ("bmp", "image/bmp"),
    ("gif", "image/gif"),
    ("ico", "image/x-icon"),
    ("jpe", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("jpg", "image/jpeg"),
    ("png", "image/png"),
    ("webp", "image/webp"),
    ("pdf", "application/pdf"),
    ("txt", "text/plain"),
    ("text", "text/plain"),
    ("log", "text/plain"),
    ("csv", "text/csv"),
    ("mp3", "audio/mpeg"),
    ("m4a", "audio/mp4"),
    ("oga", "audio/ogg"),
    ("opus", "audio/ogg"),
    ("wav", "audio/wav"),
    ("flac", "audio/flac"),
    ("mp4", "video/mp4"),
    ("m4v", "video/mp4"),
    ("ogv", "video/ogg"),
    ("webm", "video/webm"),
];

/// The ASCII-lowercase extension of a file name, ignoring trailing dots and whitespace (which
/// Windows drops when it saves the file); `None` without one. `.html` counts as an HTML file,
/// as it does on Windows.
fn extension(name: &str) -> Option<String> {
    let name = name.trim_end_matches(|c: char| c == '.' || c.is_whitespace());
    let (_, ext) = name.rsplit_once('.')?;
    (!ext.is_empty()).then(|| ext.to_ascii_lowercase())
}

/// Whether a file name's extension is one of active content (`.html`, `.svg`, `.xml`,
/// `.js`...), in any case.
pub fn is_active_name(name: &str) -> bool {
    extension(name).is_some_and(|ext| ACTIVE_EXTENSIONS.contains(&ext.as_str()))
}

/// The passive media type a file name's extension stands for (`photo.PNG` → `image/png`), if
/// it is one of the few types a browser may safely show inline.
pub fn passive_type_of_name(name: &str) -> Option<&'static str> {
    let ext = extension(name)?;
    PASSIVE_TYPES
        .iter()
        .find(|(known, _)| *known == ext)
        .map(|&(_, content_type)| content_type)
}

/// The known passive type a stored `Content-Type` is (essence compared in ASCII lowercase,
/// parameters ignored: `IMAGE/PNG; x=y` is `image/png`), if it is one of the few types a
/// browser may safely show inline.
pub(crate) fn passive_type(content_type: &str) -> Option<&'static str> {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    PASSIVE_TYPES
        .iter()
        .map(|&(_, passive)| passive)
        .find(|passive| passive.eq_ignore_ascii_case(essence))
}

/// An RFC 8187 `attr-char`: sent as is in `filename*`; every other byte is `%XX`.
fn is_attr_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b)
}

/// The RFC 6266 ASCII fallback of a name: visible ASCII and spaces kept, everything else
/// (non-ASCII, `"`, `\`, `%`, controls) one `_` per character.
fn ascii_fallback(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            '"' | '\\' | '%' => '_',
            ' ' => ' ',
            c if c.is_ascii_graphic() => c,
            _ => '_',
        })
        .collect()
}

/// The header value, always with both parameters, e.g.
/// `attachment; filename="_.pdf"; filename*=UTF-8''%E2%82%AC.pdf`: an ASCII fallback for old
/// clients in a quoted string, then the exact name percent-encoded as UTF-8 (RFC 8187), which
/// RFC 6266 clients prefer. Only visible ASCII and spaces: never CR, LF or NUL.
pub fn content_disposition(disposition: Disposition, filename: &Filename) -> String {
    let name = filename.as_str();
    let mut value = format!(
        "{disposition}; filename=\"{}\"; filename*=UTF-8''",
        ascii_fallback(name)
    );
    for b in name.bytes() {
        if is_attr_char(b) {
            value.push(char::from(b));
        } else {
            let _ = write!(value, "%{b:02X}");
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
    fn plain_ascii_names_get_both_forms() {
        assert_eq!(
            content_disposition(Disposition::Attachment, &name("report-1.pdf")),
            "attachment; filename=\"report-1.pdf\"; filename*=UTF-8''report-1.pdf"
        );
        assert_eq!(
            content_disposition(Disposition::Attachment, &name("report 1.pdf")),
            "attachment; filename=\"report 1.pdf\"; filename*=UTF-8''report%201.pdf"
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

    #[test]
    fn active_content_types() {
        for active in [
            "text/html",
            "TEXT/HTML; charset=utf-8",
            "image/svg+xml",
            "application/xhtml+xml",
            "text/javascript",
            "application/javascript",
            "application/ecmascript",
            "text/xml",
            "application/xml",
            "application/rss+xml",
            "application/vnd.example+XML",
        ] {
            assert!(is_active_content_type(active), "{active}");
        }
        for passive in [
            "text/plain",
            "image/png",
            "application/pdf",
            "application/octet-stream",
            "application/json",
            "application/xmlx",
            "text/csv",
        ] {
            assert!(!is_active_content_type(passive), "{passive}");
        }
    }

    #[test]
    fn names_by_extension() {
        for active in [
            "a.html",
            "A.HTM",
            "x.svg",
            "x.SvG",
            "feed.xml",
            "app.js",
            "m.mjs",
            "a.html.",
            "a.xhtml ",
            "x.tar.html",
            ".html",
        ] {
            assert!(is_active_name(active), "{active}");
        }
        for passive in ["a.txt", "html", "a.html.txt", "a.jsx", "a", "a.", "..."] {
            assert!(!is_active_name(passive), "{passive}");
        }
        assert_eq!(passive_type_of_name("Me.PNG"), Some("image/png"));
        assert_eq!(passive_type_of_name("a.jpeg"), Some("image/jpeg"));
        assert_eq!(passive_type_of_name("notes.txt"), Some("text/plain"));
        assert_eq!(passive_type_of_name("a.html"), None);
        assert_eq!(passive_type_of_name("avatar"), None);
    }

    #[test]
    fn stored_types_are_passive_only_when_known() {
        for (stored, passive) in [
            ("image/png", Some("image/png")),
            ("IMAGE/PNG; charset=x", Some("image/png")),
            (" text/plain ;charset=utf-8", Some("text/plain")),
            ("application/pdf", Some("application/pdf")),
            ("text/html", None),
            ("image/svg+xml", None),
            ("application/xml", None),
            ("text/javascript", None),
            ("application/octet-stream", None),
            ("image/x-unknown", None),
            ("", None),
        ] {
            assert_eq!(passive_type(stored), passive, "{stored:?}");
        }
    }
}
