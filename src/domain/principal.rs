//! Who is asking: the authenticated principal, its scopes and its namespace segment.

use sha2::{Digest, Sha256};
use std::fmt;
use std::sync::Arc;

/// What a principal may do. Scope names are the contract of tokens and API keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Obtain upload grants (PUT, POST, multipart).
    Upload,
    /// Obtain download grants (GET).
    Download,
    /// List own objects.
    List,
    /// Delete own objects.
    Delete,
}

impl Scope {
    /// Every scope.
    pub const ALL: [Scope; 4] = [Self::Upload, Self::Download, Self::List, Self::Delete];

    /// The scope's name in tokens and configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Upload => "upload",
            Self::Download => "download",
            Self::List => "list",
            Self::Delete => "delete",
        }
    }

    fn bit(self) -> u8 {
        match self {
            Self::Upload => 1,
            Self::Download => 2,
            Self::List => 4,
            Self::Delete => 8,
        }
    }
}

impl std::str::FromStr for Scope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|scope| scope.as_str() == s)
            .ok_or_else(|| {
                format!("unknown scope {s:?}: expected upload, download, list or delete")
            })
    }
}

/// A set of scopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Scopes(u8);

impl Scopes {
    /// No scope at all.
    pub const NONE: Scopes = Scopes(0);

    /// Every scope.
    pub fn all() -> Self {
        Scope::ALL.into_iter().collect()
    }

    /// Whether `scope` is in the set.
    pub fn contains(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    /// The set with `scope` added.
    pub fn with(self, scope: Scope) -> Self {
        Self(self.0 | scope.bit())
    }

    /// Scope names in a stable order.
    pub fn names(self) -> Vec<&'static str> {
        Scope::ALL
            .into_iter()
            .filter(|s| self.contains(*s))
            .map(Scope::as_str)
            .collect()
    }
}

impl FromIterator<Scope> for Scopes {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        iter.into_iter().fold(Scopes::NONE, Scopes::with)
    }
}

/// The path segment that holds a principal's objects (`users/{segment}/...`).
///
/// It is the subject itself when that is a safe segment (1 to 64 of `A-Z a-z 0-9 - _ .`, not
/// starting with `.`, `h-` or `k-`), otherwise `h-` and 32 hex digits of
/// SHA-256(issuer, NUL, subject), so that any subject, even `../bob` or `alice/x`, maps to one
/// segment that cannot collide with another principal's or climb out of the namespace. API
/// keys' principals live under `k-<name>` ([`NamespaceSegment::for_api_key`]).
///
/// Shared text (`Arc<str>`): a principal is cloned per request (out of the verified-token
/// cache, the API key's entry), and a clone is then a count, not an allocation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NamespaceSegment(Arc<str>);

impl NamespaceSegment {
    /// The segment for `subject` issued by `issuer` (`None` for API keys).
    pub fn for_subject(issuer: Option<&str>, subject: &str) -> Self {
        if is_safe_segment(subject) {
            return Self(subject.into());
        }
        Self::hashed(issuer, subject)
    }

    /// The segment of an API key's principal: `k-` and the name when that is safe, so that a
    /// service key named `backup` never shares files with a token subject `backup`.
    pub fn for_api_key(name: &str) -> Self {
        let candidate = format!("k-{name}");
        if candidate.len() <= 64 && is_safe_chars(name) {
            Self(candidate.into())
        } else {
            Self::hashed(Some("api-key"), name)
        }
    }

    fn hashed(issuer: Option<&str>, subject: &str) -> Self {
        let mut hash = Sha256::new();
        hash.update(issuer.unwrap_or_default().as_bytes());
        hash.update([0u8]);
        hash.update(subject.as_bytes());
        Self(format!("h-{}", &hex::encode(hash.finalize())[..32]).into())
    }

    /// A segment read back from a sealed (MAC-checked) record such as an upload ticket:
    /// `None` unless it has the shape every constructor produces.
    pub fn from_sealed(segment: String) -> Option<Self> {
        ((1..=64).contains(&segment.len()) && !segment.starts_with('.') && is_safe_chars(&segment))
            .then(|| Self(segment.into()))
    }

    /// The segment.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A subject that can be its own segment: safe characters, not starting with `.`, and not
/// starting with the `h-` (hashed) or `k-` (API key) prefixes the broker reserves.
fn is_safe_segment(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && !s.starts_with('.')
        && !s.starts_with("h-")
        && !s.starts_with("k-")
        && is_safe_chars(s)
}

fn is_safe_chars(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

impl fmt::Display for NamespaceSegment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's `sub`, or the API key's configured principal name.
    pub subject: Arc<str>,
    /// The token's `iss`; `None` for API keys. Shared text, like the segment: cloning a
    /// principal allocates only its subject.
    pub issuer: Option<Arc<str>>,
    /// What the caller may do.
    pub scopes: Scopes,
    /// Where the caller's objects live.
    pub segment: NamespaceSegment,
    /// When the credential was issued (Unix seconds): the token's `iat`, the API key's
    /// configured `issued_at`; `None` when unknown. Revocations compare against it.
    pub issued_at: Option<i64>,
}

impl Principal {
    /// A principal with its namespace segment derived from issuer and subject.
    pub fn new(subject: impl Into<String>, issuer: Option<String>, scopes: Scopes) -> Self {
        let subject: String = subject.into();
        let segment = NamespaceSegment::for_subject(issuer.as_deref(), &subject);
        Self {
            subject: subject.into(),
            issuer: issuer.map(Arc::from),
            scopes,
            segment,
            issued_at: None,
        }
    }

    /// The principal of an API key named `name` in the configuration.
    pub fn api_key(name: impl Into<String>, scopes: Scopes) -> Self {
        let subject: String = name.into();
        Self {
            segment: NamespaceSegment::for_api_key(&subject),
            subject: subject.into(),
            issuer: None,
            scopes,
            issued_at: None,
        }
    }

    /// Whether the principal holds `scope`.
    pub fn may(&self, scope: Scope) -> bool {
        self.scopes.contains(scope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_subjects_are_their_own_segment() {
        assert_eq!(
            NamespaceSegment::for_subject(Some("iss"), "alice").as_str(),
            "alice"
        );
        assert_eq!(
            NamespaceSegment::for_subject(None, "user_42.x-y").as_str(),
            "user_42.x-y"
        );
    }

    #[test]
    fn unsafe_subjects_are_hashed_with_their_issuer() {
        for subject in [
            "..",
            ".",
            "../bob",
            "a/b",
            "",
            "a b",
            "ü",
            "h-0123",
            &"a".repeat(65),
        ] {
            let seg = NamespaceSegment::for_subject(Some("https://issuer"), subject);
            assert!(
                seg.as_str().starts_with("h-") && seg.as_str().len() == 34,
                "{subject:?}"
            );
        }
        let a = NamespaceSegment::for_subject(Some("https://a"), "x y");
        let b = NamespaceSegment::for_subject(Some("https://b"), "x y");
        assert_ne!(
            a, b,
            "the same subject from two issuers gets two namespaces"
        );
    }

    #[test]
    fn api_keys_never_share_a_token_subject_namespace() {
        assert_eq!(NamespaceSegment::for_api_key("backup").as_str(), "k-backup");
        assert_ne!(
            NamespaceSegment::for_api_key("backup"),
            NamespaceSegment::for_subject(Some("https://issuer"), "backup")
        );
        assert!(
            NamespaceSegment::for_api_key("a/b")
                .as_str()
                .starts_with("h-")
        );
        assert_ne!(
            NamespaceSegment::for_api_key("a/b"),
            NamespaceSegment::for_subject(None, "a/b")
        );
    }

    #[test]
    fn scopes_are_a_set() {
        let s: Scopes = [Scope::Upload, Scope::List].into_iter().collect();
        assert!(s.contains(Scope::Upload) && s.contains(Scope::List));
        assert!(!s.contains(Scope::Download));
        assert_eq!(s.names(), ["upload", "list"]);
        assert_eq!("delete".parse::<Scope>().unwrap(), Scope::Delete);
        assert!("admin".parse::<Scope>().is_err());
    }
}
