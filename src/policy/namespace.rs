//! A principal's namespace: the bucket and key prefix that hold everything it owns, and the
//! whole-segment ownership test for keys and listing prefixes.

use super::chars;
use crate::domain::BucketName;

/// The longest key S3 accepts, in bytes of UTF-8.
const MAX_KEY_BYTES: usize = 1024;

/// Where one principal's objects of one profile live: a bucket and a folder prefix ending in
/// `/` (e.g. `users/alice/`).
///
/// Ownership is decided on whole segments: the prefix ends with `/`, so `users/alice/` never
/// matches `users/alice2/x`, and `users/alice` (the folder's name, not a file in it) is not
/// owned. S3 compares keys as plain strings and never resolves `.` or `..`
/// (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html>), but other tools
/// and S3-compatible stores may; keys under the prefix that the broker would never create
/// (empty, `.` or `..` segments, backslashes, control or invisible characters) are therefore
/// refused as malformed instead of being treated as owned.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Namespace {
    bucket: BucketName,
    prefix: String,
}

/// The answer of [`Namespace::check_key`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyOwnership {
    /// The key is a file inside the namespace.
    Owned,
    /// The key is not inside the namespace.
    Outside,
    /// The key starts with the namespace prefix but is not a well-formed file key.
    Malformed(String),
}

fn check_segment(segment: &str) -> Result<(), String> {
    if segment.is_empty() {
        return Err("contains an empty segment (`//` or a trailing `/`)".into());
    }
    if segment == "." || segment == ".." {
        return Err("contains a `.` or `..` segment".into());
    }
    match chars::first_forbidden(segment) {
        Some(reason) => Err(reason),
        None => Ok(()),
    }
}

/// [`Namespace::check_key`] of `key` once its namespace prefix is known to be there: `rest`
/// is what follows it.
pub(crate) fn check_key_rest(key: &str, rest: &str) -> KeyOwnership {
    if rest.is_empty() {
        return KeyOwnership::Malformed("names a folder, not a file".into());
    }
    if key.len() > MAX_KEY_BYTES {
        return KeyOwnership::Malformed(format!("must be at most {MAX_KEY_BYTES} bytes"));
    }
    match rest.split('/').try_for_each(check_segment) {
        Ok(()) => KeyOwnership::Owned,
        Err(reason) => KeyOwnership::Malformed(reason),
    }
}

impl Namespace {
    /// The namespace `prefix` (which must end with `/`) in `bucket`.
    pub(crate) fn new(bucket: BucketName, prefix: String) -> Self {
        debug_assert!(prefix.ends_with('/'));
        Self { bucket, prefix }
    }

    /// The bucket.
    pub fn bucket(&self) -> &BucketName {
        &self.bucket
    }

    /// The key prefix, ending in `/`.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Whether `key` is a file inside this namespace (see the type's rules).
    pub fn check_key(&self, key: &str) -> KeyOwnership {
        match key.strip_prefix(self.prefix.as_str()) {
            Some(rest) => check_key_rest(key, rest),
            None => KeyOwnership::Outside,
        }
    }

    /// Shorthand for `check_key(key) == KeyOwnership::Owned`.
    pub fn owns(&self, key: &str) -> bool {
        self.check_key(key) == KeyOwnership::Owned
    }

    /// Checks a listing prefix (for `ListObjectsV2` with delimiter `/`): it must start with
    /// the namespace prefix; the folders after it must be well formed; the last part may be
    /// empty (a folder listing, `users/alice/docs/`) or the start of a name
    /// (`users/alice/rep`). Same answers as [`Namespace::check_key`].
    pub fn check_prefix(&self, prefix: &str) -> KeyOwnership {
        let Some(rest) = prefix.strip_prefix(self.prefix.as_str()) else {
            return KeyOwnership::Outside;
        };
        if prefix.len() > MAX_KEY_BYTES {
            return KeyOwnership::Malformed(format!("must be at most {MAX_KEY_BYTES} bytes"));
        }
        let mut parts: Vec<&str> = rest.split('/').collect();
        let partial = parts.pop().unwrap_or_default();
        let checked = parts
            .into_iter()
            .try_for_each(check_segment)
            .and_then(|()| {
                if partial.is_empty() {
                    Ok(())
                } else {
                    check_segment(partial)
                }
            });
        match checked {
            Ok(()) => KeyOwnership::Owned,
            Err(reason) => KeyOwnership::Malformed(reason),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> Namespace {
        Namespace::new(BucketName::new("uploads").unwrap(), "users/alice/".into())
    }

    #[test]
    fn ownership_is_decided_on_whole_segments() {
        let ns = alice();
        assert_eq!(ns.check_key("users/alice/x.txt"), KeyOwnership::Owned);
        assert_eq!(ns.check_key("users/alice/a/b/c"), KeyOwnership::Owned);
        for outside in [
            "users/alice2/x",
            "users/alice",
            "users/bob/x",
            "users/alic/x",
            "x",
        ] {
            assert_eq!(ns.check_key(outside), KeyOwnership::Outside, "{outside}");
        }
        for malformed in [
            "users/alice/",
            "users/alice//x",
            "users/alice/../bob/x",
            "users/alice/./x",
            "users/alice/x/",
            "users/alice/a\\b",
            "users/alice/\u{202E}x",
        ] {
            assert!(
                matches!(ns.check_key(malformed), KeyOwnership::Malformed(_)),
                "{malformed}"
            );
        }
    }

    #[test]
    fn listing_prefixes_stay_inside() {
        let ns = alice();
        for ok in [
            "users/alice/",
            "users/alice/docs/",
            "users/alice/rep",
            "users/alice/a/b/c",
        ] {
            assert_eq!(ns.check_prefix(ok), KeyOwnership::Owned, "{ok}");
        }
        for outside in ["users/alice", "users/", "", "users/alice2/", "users/bob/"] {
            assert_eq!(ns.check_prefix(outside), KeyOwnership::Outside, "{outside}");
        }
        for malformed in [
            "users/alice//",
            "users/alice/../",
            "users/alice/a/..",
            "users/alice/..",
        ] {
            assert!(
                matches!(ns.check_prefix(malformed), KeyOwnership::Malformed(_)),
                "{malformed}"
            );
        }
    }
}
