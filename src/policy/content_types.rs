//! Which media types a profile accepts: `type/subtype` or `type/*`.

use crate::domain::ContentType;
use std::fmt;

/// One accepted media type, matched against the lowercase essence (`type/subtype`, without
/// parameters) of the client's `Content-Type`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ContentTypePattern {
    /// Exactly this `type/subtype`.
    Exact(String),
    /// Any subtype of this type (written `type/*`).
    AnySubtype(String),
}

impl ContentTypePattern {
    /// Parses `type/subtype` or `type/*` (case-insensitive, no parameters). `*/*` is refused:
    /// a profile lists what it accepts.
    pub fn parse(pattern: &str) -> Result<Self, String> {
        let lower = pattern.to_ascii_lowercase();
        let explain = |why: &str| format!("{pattern:?}: {why}");
        if let Some(kind) = lower.strip_suffix("/*") {
            if kind == "*" {
                return Err(explain("`*/*` is not allowed; list the accepted types"));
            }
            ContentType::new(format!("{kind}/x"))
                .map_err(|_| explain("expected `type/*` with an HTTP token as type"))?;
            return Ok(Self::AnySubtype(kind.to_owned()));
        }
        let parsed = ContentType::new(lower.as_str())
            .map_err(|_| explain("expected `type/subtype` or `type/*`"))?;
        if parsed.essence() != lower || lower.contains('*') {
            return Err(explain(
                "expected `type/subtype` or `type/*`, without parameters or spaces",
            ));
        }
        Ok(Self::Exact(lower))
    }

    /// Whether the pattern accepts `content_type`.
    pub fn matches(&self, content_type: &ContentType) -> bool {
        let essence = content_type.essence();
        match self {
            Self::Exact(exact) => essence == exact,
            Self::AnySubtype(kind) => essence.split_once('/').is_some_and(|(k, _)| k == kind),
        }
    }
}

impl fmt::Display for ContentTypePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exact(exact) => f.write_str(exact),
            Self::AnySubtype(kind) => write!(f, "{kind}/*"),
        }
    }
}

/// The non-empty list of media types a profile accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentTypes(Vec<ContentTypePattern>);

impl ContentTypes {
    /// A list of patterns; `None` when empty.
    pub fn new(patterns: Vec<ContentTypePattern>) -> Option<Self> {
        (!patterns.is_empty()).then_some(Self(patterns))
    }

    /// Whether any pattern accepts `content_type`.
    pub fn allows(&self, content_type: &ContentType) -> bool {
        self.0.iter().any(|p| p.matches(content_type))
    }

    /// The patterns.
    pub fn patterns(&self) -> &[ContentTypePattern] {
        &self.0
    }

    /// When the list is a single `type/*`, the prefix `type/` a browser form may be bound to.
    pub fn single_type_prefix(&self) -> Option<String> {
        match self.0.as_slice() {
            [ContentTypePattern::AnySubtype(kind)] => Some(format!("{kind}/")),
            _ => None,
        }
    }
}

impl fmt::Display for ContentTypes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&names.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ct(s: &str) -> ContentType {
        ContentType::new(s).unwrap()
    }

    #[test]
    fn matches_on_the_lowercase_essence() {
        let png = ContentTypePattern::parse("Image/PNG").unwrap();
        assert_eq!(png, ContentTypePattern::Exact("image/png".into()));
        assert!(png.matches(&ct("image/png")));
        assert!(png.matches(&ct("IMAGE/Png; q=1")));
        assert!(!png.matches(&ct("image/pngx")));
        let images = ContentTypePattern::parse("image/*").unwrap();
        assert!(images.matches(&ct("image/webp")));
        assert!(!images.matches(&ct("imagex/webp")));
        assert!(!images.matches(&ct("text/image")));
    }

    #[test]
    fn refuses_bad_patterns() {
        for bad in [
            "*/*",
            "image",
            "image/",
            "/png",
            "image/p*",
            "text/plain; charset=utf-8",
            "a b/c",
            "*/png",
        ] {
            assert!(ContentTypePattern::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn single_prefix_only_for_one_wildcard() {
        let one = ContentTypes::new(vec![ContentTypePattern::parse("image/*").unwrap()]).unwrap();
        assert_eq!(one.single_type_prefix().as_deref(), Some("image/"));
        let two = ContentTypes::new(vec![
            ContentTypePattern::parse("image/*").unwrap(),
            ContentTypePattern::parse("application/pdf").unwrap(),
        ])
        .unwrap();
        assert_eq!(two.single_type_prefix(), None);
        assert_eq!(two.to_string(), "image/*, application/pdf");
        assert!(ContentTypes::new(vec![]).is_none());
    }
}
