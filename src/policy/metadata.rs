//! User-defined metadata (`x-amz-meta-*`): which keys a profile allows and what values may be.
//!
//! S3 limits user-defined metadata to 2 KB, "the sum of the number of bytes in the UTF-8
//! encoding of each key and value":
//! <https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingMetadata.html>

use super::PolicyError;
use crate::domain::GrantId;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// The most user-defined metadata S3 accepts on an object, in bytes of keys and values.
pub const MAX_METADATA_BYTES: usize = 2048;

const MAX_KEY_BYTES: usize = 128;

/// A metadata key as it follows `x-amz-meta-`: 1 to 128 of lowercase ASCII letters, digits
/// and `-`, starting with a letter or digit. (Underscores are refused because common proxies
/// drop headers that contain them.)
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MetadataKey(String);

impl MetadataKey {
    /// Validates a key.
    pub fn new(key: &str) -> Result<Self, String> {
        let ok = (1..=MAX_KEY_BYTES).contains(&key.len())
            && key
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !key.starts_with('-')
            && key != GrantId::META_KEY;
        if ok {
            Ok(Self(key.to_owned()))
        } else {
            Err(format!(
                "{key:?} must be 1 to {MAX_KEY_BYTES} lowercase letters, digits or `-`, \
                 starting with a letter or digit, and not `{}` (the broker's grant id)",
                GrantId::META_KEY
            ))
        }
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The header (and POST form field) name: `x-amz-meta-<key>`.
    pub fn header_name(&self) -> String {
        format!("x-amz-meta-{}", self.0)
    }
}

impl fmt::Display for MetadataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn check_value(key: &str, value: &str) -> Result<(), PolicyError> {
    let fail = |why: &str| {
        Err(PolicyError::InvalidMetadata(format!(
            "the value of {key:?} {why}"
        )))
    };
    if !value.bytes().all(|b| b == b' ' || b.is_ascii_graphic()) {
        return fail("must be printable ASCII (no control characters, line breaks or non-ASCII)");
    }
    if value.starts_with(' ') || value.ends_with(' ') || value.contains("  ") {
        // A signed header value is trimmed and its spaces collapsed; refusing these keeps the
        // stored value equal to the value that was asked for.
        return fail("must not start or end with a space or contain two spaces in a row");
    }
    Ok(())
}

/// Checks client metadata against the allowed keys: every key allowed, every value printable
/// ASCII, at most [`MAX_METADATA_BYTES`] in total. Returns the pairs sorted by key.
pub(crate) fn check_metadata(
    allowed: &BTreeSet<MetadataKey>,
    given: &BTreeMap<String, String>,
) -> Result<Vec<(MetadataKey, String)>, PolicyError> {
    let mut total = 0;
    let mut out = Vec::with_capacity(given.len());
    for (key, value) in given {
        let Some(allowed_key) = allowed.iter().find(|k| k.as_str() == key) else {
            let names: Vec<&str> = allowed.iter().map(MetadataKey::as_str).collect();
            return Err(PolicyError::MetadataNotAllowed {
                key: key.clone(),
                allowed: if names.is_empty() {
                    "none".into()
                } else {
                    names.join(", ")
                },
            });
        };
        check_value(key, value)?;
        total += key.len() + value.len();
        out.push((allowed_key.clone(), value.clone()));
    }
    if total > MAX_METADATA_BYTES {
        return Err(PolicyError::InvalidMetadata(format!(
            "keys and values total {total} bytes; S3 allows at most {MAX_METADATA_BYTES}"
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed() -> BTreeSet<MetadataKey> {
        ["title", "camera-model"]
            .into_iter()
            .map(|k| MetadataKey::new(k).unwrap())
            .collect()
    }

    fn given(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn keys_are_lowercase_tokens() {
        assert!(MetadataKey::new("camera-model").is_ok());
        for bad in [
            "",
            "Title",
            "a_b",
            "-a",
            "a b",
            "ä",
            &"a".repeat(129),
            "broker-grant",
        ] {
            assert!(MetadataKey::new(bad).is_err(), "{bad}");
        }
        assert_eq!(MetadataKey::new("t").unwrap().header_name(), "x-amz-meta-t");
    }

    #[test]
    fn only_allowed_keys_with_printable_values() {
        let ok = check_metadata(&allowed(), &given(&[("title", "Hello world")])).unwrap();
        assert_eq!(ok[0].0.as_str(), "title");
        let err = check_metadata(&allowed(), &given(&[("owner", "bob")])).unwrap_err();
        assert!(
            matches!(err, PolicyError::MetadataNotAllowed { .. }),
            "{err}"
        );
        let err = check_metadata(&allowed(), &given(&[("Title", "x")])).unwrap_err();
        assert!(
            matches!(err, PolicyError::MetadataNotAllowed { .. }),
            "{err}"
        );
        for bad in [
            "a\r\nx-amz-acl: public-read",
            "é",
            " lead",
            "trail ",
            "two  spaces",
            "tab\t",
        ] {
            let err = check_metadata(&allowed(), &given(&[("title", bad)])).unwrap_err();
            assert!(matches!(err, PolicyError::InvalidMetadata(_)), "{bad:?}");
        }
    }

    #[test]
    fn total_size_is_limited() {
        let long = "x".repeat(MAX_METADATA_BYTES);
        let err = check_metadata(&allowed(), &given(&[("title", &long)])).unwrap_err();
        assert!(matches!(err, PolicyError::InvalidMetadata(_)), "{err}");
        let fits = "x".repeat(MAX_METADATA_BYTES - "title".len());
        assert!(check_metadata(&allowed(), &given(&[("title", &fits)])).is_ok());
    }
}
