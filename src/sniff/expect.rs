//! What the sniffed content must agree with: the declared media type and the file name's
//! extension, whenever the broker knows a signature for them.

use super::detect::Sniffed;
use super::kind::Kind;
use std::fmt;

/// One way the content disagrees with what was declared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContentMismatch {
    /// The declared type has a known signature and the content does not carry it.
    Type {
        /// The declared media type (lower case, without parameters).
        declared: String,
        /// What the content is.
        found: Kind,
    },
    /// The file name's extension has a known signature and the content does not carry it.
    Extension {
        /// The extension (lower case, without the dot).
        extension: String,
        /// What the content is.
        found: Kind,
    },
}

impl fmt::Display for ContentMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ContentMismatch::Type { declared, found } => {
                write!(f, "declared as {declared} but the content is {found}")
            }
            ContentMismatch::Extension { extension, found } => {
                write!(f, "named .{extension} but the content is {found}")
            }
        }
    }
}

/// The disagreements between `sniffed` and the declared `content_type` (parameters and case
/// ignored) and the file name's `extension`. A type or extension the broker has no signature
/// for (`application/octet-stream`, `.bin`) is not checked.
pub fn check_declared(
    sniffed: &Sniffed,
    content_type: &str,
    extension: Option<&str>,
) -> Vec<ContentMismatch> {
    let mut out = Vec::new();
    let declared = essence(content_type);
    if Kind::type_is_known(&declared) && !sniffed.kind.fits_type(&declared) {
        out.push(ContentMismatch::Type {
            declared,
            found: sniffed.kind,
        });
    }
    if let Some(ext) = extension.map(str::to_ascii_lowercase)
        && Kind::extension_is_known(&ext)
        && !sniffed.kind.extensions().contains(&ext.as_str())
    {
        out.push(ContentMismatch::Extension {
            extension: ext,
            found: sniffed.kind,
        });
    }
    out
}

/// `type/subtype` in lower case, without parameters (RFC 9110 8.3.1).
fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sniffed(kind: Kind) -> Sniffed {
        Sniffed {
            kind,
            dimensions: None,
        }
    }

    #[test]
    fn agreeing_content_passes() {
        assert!(check_declared(&sniffed(Kind::Png), "image/png", Some("png")).is_empty());
        assert!(
            check_declared(&sniffed(Kind::Text), "text/csv; charset=utf-8", Some("CSV")).is_empty()
        );
        assert!(check_declared(&sniffed(Kind::Docx), "application/zip", Some("docx")).is_empty());
        assert!(check_declared(&sniffed(Kind::Ooxml), OOXML_SHEET, Some("xlsx")).is_empty());
    }

    const OOXML_SHEET: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

    #[test]
    fn html_declared_as_png_is_refused_on_both_counts() {
        let found = check_declared(&sniffed(Kind::Text), "Image/PNG", Some("png"));
        assert_eq!(
            found,
            vec![
                ContentMismatch::Type {
                    declared: "image/png".into(),
                    found: Kind::Text
                },
                ContentMismatch::Extension {
                    extension: "png".into(),
                    found: Kind::Text
                }
            ]
        );
        assert_eq!(
            found[0].to_string(),
            "declared as image/png but the content is text"
        );
    }

    #[test]
    fn office_types_are_told_apart() {
        assert_eq!(
            check_declared(
                &sniffed(Kind::Xlsx),
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                None
            )
            .len(),
            1
        );
        assert_eq!(
            check_declared(&sniffed(Kind::Zip), OOXML_SHEET, None).len(),
            1
        );
        assert_eq!(
            check_declared(
                &sniffed(Kind::Pptx),
                "application/octet-stream",
                Some("docx")
            )
            .len(),
            1
        );
    }

    #[test]
    fn unknown_types_and_extensions_are_not_checked() {
        assert!(
            check_declared(
                &sniffed(Kind::Unknown),
                "application/octet-stream",
                Some("bin")
            )
            .is_empty()
        );
        assert!(check_declared(&sniffed(Kind::Png), "application/x-custom", None).is_empty());
    }
}
