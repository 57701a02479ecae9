//! Verifying an upload: what S3 holds (HeadObject and the first bytes) against what the
//! grant declared (the sealed upload token) and the profile's content rules.

use crate::domain::{Checksum, ChecksumAlgorithm};
use crate::sniff::{ContentMismatch, Dimensions, check_declared, sniff};
use serde::{Deserialize, Serialize};
use std::fmt;

/// What the broker reads of an object: at most this many first bytes.
pub const VERIFY_HEAD_BYTES: u64 = 64 << 10;

/// What happens to an object that does not match (`on_mismatch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnMismatch {
    /// Delete it (the default).
    #[default]
    Delete,
    /// Tag it `s3-broker-verification=mismatch` and keep it for inspection.
    Quarantine,
}

/// A profile's verification rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerificationRules {
    /// Sniff the content against the declared type and extension, and read image dimensions
    /// (`content_checks`, default true). Size, type and checksum are compared regardless.
    pub content_checks: bool,
    /// What happens to a mismatching object.
    pub on_mismatch: OnMismatch,
    /// The widest image accepted, in pixels.
    pub max_width: Option<u32>,
    /// The tallest image accepted, in pixels.
    pub max_height: Option<u32>,
    /// The most pixels (width × height) accepted.
    pub max_pixels: Option<u64>,
}

impl Default for VerificationRules {
    fn default() -> Self {
        Self {
            content_checks: true,
            on_mismatch: OnMismatch::Delete,
            max_width: None,
            max_height: None,
            max_pixels: None,
        }
    }
}

impl VerificationRules {
    fn limits_dimensions(&self) -> bool {
        self.max_width.is_some() || self.max_height.is_some() || self.max_pixels.is_some()
    }
}

/// What the grant declared.
#[derive(Debug, Clone, Copy)]
pub struct Declared<'a> {
    /// The declared size.
    pub size: u64,
    /// The declared (and signed) `Content-Type`.
    pub content_type: &'a str,
    /// The declared checksum.
    pub checksum: Option<&'a Checksum>,
    /// The file name's extension.
    pub extension: Option<&'a str>,
}

/// What S3 holds.
#[derive(Debug, Clone, Copy)]
pub struct Stored<'a> {
    /// `Content-Length` of HeadObject.
    pub size: u64,
    /// The stored `Content-Type`.
    pub content_type: Option<&'a str>,
    /// The full-object checksum S3 reported (HeadObject with `x-amz-checksum-mode: ENABLED`).
    pub checksum: Option<(ChecksumAlgorithm, &'a str)>,
    /// The first bytes (at most [`VERIFY_HEAD_BYTES`]).
    pub head: &'a [u8],
}

/// One reason an object does not match its grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "check", rename_all = "snake_case")]
pub enum Mismatch {
    /// Another size.
    Size {
        /// Declared.
        declared: u64,
        /// Stored.
        stored: u64,
    },
    /// Another stored `Content-Type`.
    ContentType {
        /// Declared.
        declared: String,
        /// Stored (empty when S3 reports none).
        stored: String,
    },
    /// Another checksum of the declared algorithm.
    Checksum {
        /// The algorithm.
        algorithm: &'static str,
    },
    /// The content's signature disagrees with the declared type.
    Signature {
        /// Why, in words.
        detail: String,
    },
    /// The content's signature disagrees with the file name's extension.
    Extension {
        /// Why, in words.
        detail: String,
    },
    /// The image is larger than the profile allows.
    Dimensions {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },
    /// The profile limits dimensions and none could be read from the first bytes.
    DimensionsUnknown,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mismatch::Size { declared, stored } => {
                write!(f, "size {stored} bytes, declared {declared}")
            }
            Mismatch::ContentType { declared, stored } => {
                write!(f, "stored Content-Type {stored:?}, declared {declared:?}")
            }
            Mismatch::Checksum { algorithm } => write!(f, "{algorithm} checksum differs"),
            Mismatch::Signature { detail } | Mismatch::Extension { detail } => f.write_str(detail),
            Mismatch::Dimensions { width, height } => {
                write!(
                    f,
                    "image of {width} x {height} pixels exceeds the profile's limits"
                )
            }
            Mismatch::DimensionsUnknown => {
                f.write_str("no image dimensions in the first 64 KiB, and the profile limits them")
            }
        }
    }
}

/// The outcome of a comparison: the reasons (none: a match) and the checksum a receipt names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Every disagreement found.
    pub mismatches: Vec<Mismatch>,
    /// The full-object checksum as `algorithm:base64`: S3's, else the declared one when the
    /// broker recomputed it over the whole object.
    pub checksum: Option<String>,
    /// The image's dimensions, when read.
    pub dimensions: Option<Dimensions>,
}

/// Compares what S3 holds with what was declared, under `rules`.
pub fn verify_object(
    declared: &Declared<'_>,
    stored: &Stored<'_>,
    rules: &VerificationRules,
) -> Verdict {
    let mut mismatches = Vec::new();
    if stored.size != declared.size {
        mismatches.push(Mismatch::Size {
            declared: declared.size,
            stored: stored.size,
        });
    }
    let stored_type = stored.content_type.unwrap_or_default();
    if !same_type(stored_type, declared.content_type) {
        mismatches.push(Mismatch::ContentType {
            declared: declared.content_type.to_owned(),
            stored: stored_type.to_owned(),
        });
    }
    let whole = stored.head.len() as u64 == stored.size;
    let mut checksum = stored
        .checksum
        .map(|(algorithm, value)| named(algorithm, value));
    if let Some(want) = declared.checksum {
        let reported = stored
            .checksum
            .filter(|(algorithm, _)| *algorithm == want.algorithm())
            .map(|(_, value)| value.to_owned());
        // Without S3's value, SHA-256 of an object read whole is recomputed here.
        let computed =
            (reported.is_none() && whole && want.algorithm() == ChecksumAlgorithm::Sha256)
                .then(|| Checksum::sha256_of(stored.head).value().to_owned());
        match reported.or(computed) {
            Some(value) if value != want.value() => mismatches.push(Mismatch::Checksum {
                algorithm: want.algorithm().as_str(),
            }),
            Some(value) => {
                checksum = Some(named(want.algorithm(), &value));
            }
            None => {}
        }
    }
    let mut dimensions = None;
    if rules.content_checks {
        let sniffed = sniff(stored.head, whole);
        dimensions = sniffed.dimensions;
        for found in check_declared(&sniffed, declared.content_type, declared.extension) {
            let detail = found.to_string();
            mismatches.push(match found {
                ContentMismatch::Type { .. } => Mismatch::Signature { detail },
                ContentMismatch::Extension { .. } => Mismatch::Extension { detail },
            });
        }
        if sniffed.kind.is_image() && rules.limits_dimensions() {
            match sniffed.dimensions {
                Some(d) if exceeds(d, rules) => mismatches.push(Mismatch::Dimensions {
                    width: d.width,
                    height: d.height,
                }),
                Some(_) => {}
                None => mismatches.push(Mismatch::DimensionsUnknown),
            }
        }
    }
    Verdict {
        mismatches,
        checksum,
        dimensions,
    }
}

/// `algorithm:base64` with the algorithm in lower case (`sha256:...`).
fn named(algorithm: ChecksumAlgorithm, value: &str) -> String {
    format!("{}:{value}", algorithm.as_str().to_ascii_lowercase())
}

fn exceeds(d: Dimensions, rules: &VerificationRules) -> bool {
    rules.max_width.is_some_and(|w| d.width > w)
        || rules.max_height.is_some_and(|h| d.height > h)
        || rules.max_pixels.is_some_and(|p| d.pixels() > p)
}

/// Media types compare case-insensitively; parameters compare as written.
fn same_type(stored: &str, declared: &str) -> bool {
    stored.trim().eq_ignore_ascii_case(declared.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG_1X1: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\x03\x20\0\0\x02\x58\x08\x02\0\0\0";

    fn declared(checksum: Option<&Checksum>) -> Declared<'_> {
        Declared {
            size: PNG_1X1.len() as u64,
            content_type: "image/png",
            checksum,
            extension: Some("png"),
        }
    }

    fn stored(head: &[u8]) -> Stored<'_> {
        Stored {
            size: head.len() as u64,
            content_type: Some("image/png"),
            checksum: None,
            head,
        }
    }

    #[test]
    fn a_faithful_upload_matches_and_names_its_checksum() {
        let sum = Checksum::sha256_of(PNG_1X1);
        let v = verify_object(
            &declared(Some(&sum)),
            &stored(PNG_1X1),
            &VerificationRules::default(),
        );
        assert_eq!(v.mismatches, vec![]);
        assert_eq!(v.checksum, Some(format!("sha256:{}", sum.value())));
        assert_eq!(
            v.dimensions,
            Some(Dimensions {
                width: 800,
                height: 600
            })
        );
    }

    #[test]
    fn html_bytes_declared_png_fail_signature_and_extension() {
        let html = b"<!doctype html><script>alert(1)</script>";
        let mut d = declared(None);
        d.size = html.len() as u64;
        let v = verify_object(&d, &stored(html), &VerificationRules::default());
        assert!(matches!(
            v.mismatches[..],
            [Mismatch::Signature { .. }, Mismatch::Extension { .. }]
        ));
        // Content checks off: the same bytes pass (size and type still compared).
        let off = VerificationRules {
            content_checks: false,
            ..Default::default()
        };
        assert_eq!(verify_object(&d, &stored(html), &off).mismatches, vec![]);
    }

    #[test]
    fn size_type_checksum_and_dimensions() {
        let other = Checksum::sha256_of(b"other");
        let mut s = stored(PNG_1X1);
        s.size += 1;
        s.content_type = Some("text/html");
        let rules = VerificationRules {
            max_width: Some(640),
            ..Default::default()
        };
        let v = verify_object(&declared(Some(&other)), &s, &rules);
        let checks: Vec<&str> = v
            .mismatches
            .iter()
            .map(|m| match m {
                Mismatch::Size { .. } => "size",
                Mismatch::ContentType { .. } => "type",
                Mismatch::Checksum { .. } => "checksum",
                Mismatch::Dimensions { .. } => "dimensions",
                _ => "other",
            })
            .collect();
        // Not whole (size differs from what was read): the checksum is not recomputed.
        assert_eq!(checks, ["size", "type", "dimensions"]);
        let reported = Stored {
            checksum: Some((ChecksumAlgorithm::Sha256, "AAAA")),
            ..stored(PNG_1X1)
        };
        assert_eq!(
            verify_object(
                &declared(Some(&other)),
                &reported,
                &VerificationRules::default()
            )
            .mismatches,
            vec![Mismatch::Checksum {
                algorithm: "SHA256"
            }]
        );
        let pixels = VerificationRules {
            max_pixels: Some(800 * 600),
            ..Default::default()
        };
        assert_eq!(
            verify_object(&declared(None), &stored(PNG_1X1), &pixels).mismatches,
            vec![]
        );
        let cut = &PNG_1X1[..20];
        let mut d = declared(None);
        d.size = 20;
        assert_eq!(
            verify_object(&d, &stored(cut), &pixels).mismatches,
            vec![Mismatch::DimensionsUnknown]
        );
    }

    #[test]
    fn reasons_serialize_with_their_check() {
        let json = serde_json::to_value(Mismatch::Size {
            declared: 1,
            stored: 2,
        })
        .unwrap();
        assert_eq!(
            json,
            serde_json::json!({"check": "size", "declared": 1, "stored": 2})
        );
    }
}
