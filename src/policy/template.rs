//! Key templates such as `users/{principal}/{uuid}/{filename}`: parsed and checked once, at
//! load time, then rendered per request.

use super::{ClientPath, Filename};
use crate::domain::NamespaceSegment;
use chrono::{DateTime, Datelike, Utc};
use std::fmt;
use uuid::Uuid;

/// The longest template, in bytes.
const MAX_TEMPLATE_BYTES: usize = 512;

/// A placeholder of a key template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholder {
    /// `{principal}`: the caller's namespace segment. Required; a whole segment; only fixed
    /// text may precede it.
    Principal,
    /// `{uuid}`: a fresh random UUID (lowercase, hyphenated), making every key unique.
    Uuid,
    /// `{filename}`: the client's file name as one segment (or part of one).
    Filename,
    /// `{path}`: the client's folders, zero or more whole segments (omitted when not given).
    Path,
    /// `{date}`: the UTC date of the request as three segments `YYYY/MM/DD`.
    Date,
}

impl Placeholder {
    const ALL: [Placeholder; 5] = [
        Self::Principal,
        Self::Uuid,
        Self::Filename,
        Self::Path,
        Self::Date,
    ];

    /// The name between the braces.
    pub fn name(self) -> &'static str {
        match self {
            Self::Principal => "principal",
            Self::Uuid => "uuid",
            Self::Filename => "filename",
            Self::Path => "path",
            Self::Date => "date",
        }
    }

    fn must_be_whole_segment(self) -> bool {
        matches!(self, Self::Principal | Self::Path | Self::Date)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Slot(Placeholder),
}

/// Everything that fills a template's placeholders for one request.
#[derive(Debug, Clone, Copy)]
pub struct RenderInput<'a> {
    /// The caller's namespace segment (`{principal}`).
    pub principal: &'a NamespaceSegment,
    /// The value of `{uuid}`.
    pub uuid: Uuid,
    /// The value of `{filename}`; `None` renders the key only up to `{filename}` (the prefix
    /// of a browser form whose key ends with S3's `${filename}`).
    pub filename: Option<&'a Filename>,
    /// The value of `{path}`; `None` drops the `{path}` segment.
    pub path: Option<&'a ClientPath>,
    /// The time that gives `{date}`.
    pub now: DateTime<Utc>,
}

/// A validated key template.
///
/// Rules, checked by [`KeyTemplate::parse`]:
/// - segments are separated by `/`; no leading, trailing or doubled `/`; no `.` or `..`;
/// - fixed text uses only the characters AWS lists as safe in keys (letters, digits and
///   `! - _ . * ' ( )`, <https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html>);
/// - placeholders are `{principal}`, `{uuid}`, `{filename}`, `{path}`, `{date}`, each at most
///   once; `{principal}`, `{path}` and `{date}` fill whole segments, `{uuid}` and `{filename}`
///   may be combined with fixed text (`{uuid}-{filename}`);
/// - `{principal}` is required, and only fixed segments may precede it, so every key of a
///   principal lies under one fixed prefix (`users/alice/`) that no client input can reach;
/// - at least one segment follows `{principal}` (a key must name a file, not the folder), and
///   `{path}` is never last (it names folders; a file name must follow).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyTemplate {
    source: String,
    /// Fixed segments before `{principal}`.
    base: Vec<String>,
    /// Segments after `{principal}`.
    rest: Vec<Vec<Part>>,
}

fn is_safe_literal_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!-_.*'()".contains(c)
}

fn parse_segment(segment: &str) -> Result<Vec<Part>, String> {
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut chars = segment.chars();
    while let Some(c) = chars.next() {
        match c {
            '{' => {
                let mut name = String::new();
                let mut closed = false;
                for c in chars.by_ref() {
                    if c == '}' {
                        closed = true;
                        break;
                    }
                    name.push(c);
                }
                if !closed {
                    return Err("`{` without a matching `}`".into());
                }
                let slot = Placeholder::ALL
                    .into_iter()
                    .find(|p| p.name() == name)
                    .ok_or_else(|| {
                        format!(
                            "unknown placeholder {{{name}}}; expected \
                             {{principal}}, {{uuid}}, {{filename}}, {{path}} or {{date}}"
                        )
                    })?;
                if !literal.is_empty() {
                    parts.push(Part::Literal(std::mem::take(&mut literal)));
                }
                parts.push(Part::Slot(slot));
            }
            '}' => return Err("`}` without a matching `{`".into()),
            c if is_safe_literal_char(c) => literal.push(c),
            c => {
                return Err(format!(
                    "character {c:?} is not allowed in fixed text; use letters, digits and \
                     ! - _ . * ' ( ) (the characters AWS lists as safe in keys)"
                ));
            }
        }
    }
    if !literal.is_empty() {
        parts.push(Part::Literal(literal));
    }
    Ok(parts)
}

fn whole(parts: &[Part]) -> Option<Placeholder> {
    match parts {
        [Part::Slot(p)] => Some(*p),
        _ => None,
    }
}

impl KeyTemplate {
    /// Parses and checks a template; the error explains the broken rule.
    pub fn parse(source: &str) -> Result<Self, String> {
        if source.is_empty() {
            return Err("must not be empty".into());
        }
        if source.len() > MAX_TEMPLATE_BYTES {
            return Err(format!("must be at most {MAX_TEMPLATE_BYTES} bytes"));
        }
        let mut segments = Vec::new();
        let mut seen = Vec::new();
        for segment in source.split('/') {
            if segment.is_empty() {
                return Err("must not start or end with `/` or contain `//`".into());
            }
            if segment == "." || segment == ".." {
                return Err("must not contain `.` or `..` segments".into());
            }
            let parts = parse_segment(segment)?;
            for part in &parts {
                if let Part::Slot(p) = part {
                    if seen.contains(p) {
                        return Err(format!("{{{}}} appears more than once", p.name()));
                    }
                    seen.push(*p);
                    if p.must_be_whole_segment() && parts.len() > 1 {
                        return Err(format!(
                            "{{{}}} must be a whole segment (between two `/`), as in \
                             `users/{{principal}}/{{path}}/{{filename}}`",
                            p.name()
                        ));
                    }
                }
            }
            segments.push(parts);
        }
        let at = segments
            .iter()
            .position(|parts| whole(parts) == Some(Placeholder::Principal))
            .ok_or("must contain {principal} as a whole segment, e.g. `users/{principal}/{uuid}/{filename}`")?;
        let mut base = Vec::new();
        for parts in &segments[..at] {
            match parts.as_slice() {
                [Part::Literal(text)] => base.push(text.clone()),
                _ => {
                    return Err(
                        "{principal} must come first: only fixed text may precede it, so no \
                         client-controlled or variable part can change whose namespace a key is in"
                            .into(),
                    );
                }
            }
        }
        let rest = segments.split_off(at + 1);
        match rest.last().and_then(|parts| whole(parts)) {
            _ if rest.is_empty() => Err(
                "needs a segment after {principal}: a key must name a file inside the \
                 principal's folder, e.g. `users/{principal}/{uuid}/{filename}`"
                    .into(),
            ),
            Some(Placeholder::Path) => Err(
                "{path} names folders and must be followed by the file's segment, e.g. \
                 `users/{principal}/{path}/{filename}`"
                    .into(),
            ),
            _ => Ok(Self {
                source: source.to_owned(),
                base,
                rest,
            }),
        }
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The fixed segments before `{principal}` (e.g. `["users"]`).
    pub fn base(&self) -> &[String] {
        &self.base
    }

    /// Whether the template uses `placeholder`.
    pub fn uses(&self, placeholder: Placeholder) -> bool {
        placeholder == Placeholder::Principal
            || self
                .rest
                .iter()
                .flatten()
                .any(|part| *part == Part::Slot(placeholder))
    }

    /// Whether `{filename}` is the very end of the template, so that a browser form can let
    /// S3 fill it in with `${filename}`.
    pub fn ends_with_filename(&self) -> bool {
        self.rest.last().and_then(|parts| parts.last()) == Some(&Part::Slot(Placeholder::Filename))
    }

    /// The name a client gave the file whose key is `key`: what `{filename}` filled in the
    /// key's last segment, e.g. `a b.txt` for `users/alice/0123…-a b.txt` under
    /// `users/{principal}/{uuid}-{filename}`. The whole last segment when the template's last
    /// segment has no `{filename}`, or when `key` does not follow the template (an object
    /// written by other means).
    pub fn display_name<'k>(&self, key: &'k str) -> &'k str {
        let segment = key.rsplit('/').next().unwrap_or(key);
        let Some(parts) = self.rest.last() else {
            return segment;
        };
        let Some(at) = parts
            .iter()
            .position(|part| *part == Part::Slot(Placeholder::Filename))
        else {
            return segment;
        };
        let mut name = Some(segment);
        for part in &parts[..at] {
            name = name.and_then(|rest| match part {
                Part::Literal(text) => rest.strip_prefix(text.as_str()),
                Part::Slot(Placeholder::Uuid) => rest
                    .get(..UUID_LEN)
                    .filter(|uuid| is_rendered_uuid(uuid))
                    .map(|_| &rest[UUID_LEN..]),
                Part::Slot(_) => None,
            });
        }
        for part in parts[at + 1..].iter().rev() {
            name = name.and_then(|rest| match part {
                Part::Literal(text) => rest.strip_suffix(text.as_str()),
                Part::Slot(Placeholder::Uuid) => rest
                    .len()
                    .checked_sub(UUID_LEN)
                    .filter(|&start| rest.get(start..).is_some_and(is_rendered_uuid))
                    .map(|start| &rest[..start]),
                Part::Slot(_) => None,
            });
        }
        name.filter(|name| !name.is_empty()).unwrap_or(segment)
    }

    /// The folder that holds every key of `principal`: the fixed segments, the principal's
    /// segment and a trailing `/` (e.g. `users/alice/`).
    pub fn namespace_prefix(&self, principal: &NamespaceSegment) -> String {
        self.namespace_prefix_with(principal, 0)
    }

    /// [`KeyTemplate::namespace_prefix`] in a string with room for `more` bytes after it.
    fn namespace_prefix_with(&self, principal: &NamespaceSegment, more: usize) -> String {
        let len = self.base.iter().map(|s| s.len() + 1).sum::<usize>() + principal.as_str().len();
        let mut prefix = String::with_capacity(len + 1 + more);
        for segment in &self.base {
            prefix.push_str(segment);
            prefix.push('/');
        }
        prefix.push_str(principal.as_str());
        prefix.push('/');
        prefix
    }

    /// The rest of `key` after [`KeyTemplate::namespace_prefix`] of `principal`, if `key`
    /// starts with it: the prefix is matched segment by segment, without being written.
    pub fn strip_namespace<'k>(
        &self,
        principal: &NamespaceSegment,
        key: &'k str,
    ) -> Option<&'k str> {
        let mut rest = key;
        for segment in &self.base {
            rest = rest.strip_prefix(segment.as_str())?.strip_prefix('/')?;
        }
        rest.strip_prefix(principal.as_str())?.strip_prefix('/')
    }

    /// Fills the placeholders. The result starts with [`KeyTemplate::namespace_prefix`].
    ///
    /// With `input.filename == None` the text stops just before `{filename}`.
    pub fn render(&self, input: &RenderInput<'_>) -> String {
        // Room for every placeholder's longest text: one allocation for the whole key.
        let more = self.source.len()
            + input.principal.as_str().len()
            + UUID_LEN
            + input.filename.map_or(0, |f| f.as_str().len())
            + input.path.map_or(0, |p| p.as_str().len());
        let mut key = self.namespace_prefix_with(input.principal, more);
        let mut first = true;
        for parts in &self.rest {
            if whole(parts) == Some(Placeholder::Path) && input.path.is_none() {
                continue;
            }
            if !first {
                key.push('/');
            }
            first = false;
            for part in parts {
                match part {
                    Part::Literal(text) => key.push_str(text),
                    Part::Slot(Placeholder::Principal) => key.push_str(input.principal.as_str()),
                    Part::Slot(Placeholder::Uuid) => key.push_str(
                        input
                            .uuid
                            .hyphenated()
                            .encode_lower(&mut uuid::Uuid::encode_buffer()),
                    ),
                    Part::Slot(Placeholder::Filename) => match input.filename {
                        Some(name) => key.push_str(name.as_str()),
                        None => return key,
                    },
                    Part::Slot(Placeholder::Path) => {
                        key.push_str(input.path.map(ClientPath::as_str).unwrap_or_default())
                    }
                    Part::Slot(Placeholder::Date) => key.push_str(&format!(
                        "{:04}/{:02}/{:02}",
                        input.now.year(),
                        input.now.month(),
                        input.now.day()
                    )),
                }
            }
        }
        key
    }
}

/// The length of a hyphenated UUID, as `{uuid}` renders it.
const UUID_LEN: usize = 36;

/// Whether `text` is a UUID as `{uuid}` renders it: lowercase, hyphenated.
fn is_rendered_uuid(text: &str) -> bool {
    text.len() == UUID_LEN
        && text.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_digit() || (b'a'..=b'f').contains(&b),
        })
}

impl fmt::Display for KeyTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn input<'a>(
        seg: &'a NamespaceSegment,
        filename: Option<&'a Filename>,
        path: Option<&'a ClientPath>,
    ) -> RenderInput<'a> {
        RenderInput {
            principal: seg,
            uuid: Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef),
            filename,
            path,
            now: Utc.with_ymd_and_hms(2024, 3, 7, 12, 0, 0).unwrap(),
        }
    }

    #[test]
    fn renders_every_placeholder() {
        let seg = NamespaceSegment::for_subject(None, "alice");
        let name = Filename::parse("a b.txt").unwrap();
        let path = ClientPath::parse("x/y").unwrap();
        let t = KeyTemplate::parse("users/{principal}/{date}/{path}/{uuid}-{filename}").unwrap();
        assert_eq!(t.base(), ["users"]);
        assert_eq!(
            t.render(&input(&seg, Some(&name), Some(&path))),
            "users/alice/2024/03/07/x/y/01234567-89ab-cdef-0123-456789abcdef-a b.txt"
        );
        assert_eq!(
            t.render(&input(&seg, Some(&name), None)),
            "users/alice/2024/03/07/01234567-89ab-cdef-0123-456789abcdef-a b.txt"
        );
        assert_eq!(
            t.render(&input(&seg, None, None)),
            "users/alice/2024/03/07/01234567-89ab-cdef-0123-456789abcdef-"
        );
        assert!(t.ends_with_filename() && t.uses(Placeholder::Uuid) && t.uses(Placeholder::Path));
    }

    #[test]
    fn display_name_is_what_filename_filled() {
        let seg = NamespaceSegment::for_subject(None, "alice");
        let name = Filename::parse("a b-c.txt").unwrap();
        for source in [
            "users/{principal}/{path}/{uuid}-{filename}",
            "users/{principal}/{uuid}/{filename}",
            "users/{principal}/{filename}",
            "users/{principal}/f_{filename}.{uuid}",
            "users/{principal}/{uuid}{filename}",
        ] {
            let t = KeyTemplate::parse(source).unwrap();
            let key = t.render(&input(&seg, Some(&name), None));
            assert_eq!(t.display_name(&key), "a b-c.txt", "{source}: {key}");
        }
        let t = KeyTemplate::parse("users/{principal}/{uuid}-{filename}").unwrap();
        // Objects written by other means keep their whole last segment.
        assert_eq!(t.display_name("users/alice/x/report.pdf"), "report.pdf");
        assert_eq!(
            t.display_name("users/alice/01234567-89AB-cdef-0123-456789abcdef-a.txt"),
            "01234567-89AB-cdef-0123-456789abcdef-a.txt",
            "not as {{uuid}} renders it"
        );
        assert_eq!(
            t.display_name("users/alice/01234567-89ab-cdef-0123-456789abcdef-"),
            "01234567-89ab-cdef-0123-456789abcdef-",
            "never an empty name"
        );
        let fixed = KeyTemplate::parse("avatars/{principal}/avatar").unwrap();
        assert_eq!(fixed.display_name("avatars/alice/avatar"), "avatar");
    }

    #[test]
    fn strip_namespace_is_strip_prefix_of_the_namespace_prefix() {
        let (alice, al) = (
            NamespaceSegment::for_subject(None, "alice"),
            NamespaceSegment::for_subject(None, "al"),
        );
        for source in [
            "users/{principal}/{uuid}-{filename}",
            "a/b/{principal}/{filename}",
            "{principal}/{filename}",
        ] {
            let t = KeyTemplate::parse(source).unwrap();
            for key in [
                "users/alice/x.txt",
                "users/alice/",
                "users/alice",
                "users/alice2/x",
                "users/al/x",
                "a/b/alice/x",
                "a/b/alice",
                "a/balice/x",
                "alice/x",
                "alice",
                "",
                "users//alice/x",
            ] {
                for seg in [&alice, &al] {
                    assert_eq!(
                        t.strip_namespace(seg, key),
                        key.strip_prefix(t.namespace_prefix(seg).as_str()),
                        "{source} {key} {seg:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn principal_may_be_first() {
        let seg = NamespaceSegment::for_subject(None, "bob");
        let t = KeyTemplate::parse("{principal}/avatar").unwrap();
        assert_eq!(t.namespace_prefix(&seg), "bob/");
        assert_eq!(t.render(&input(&seg, None, None)), "bob/avatar");
        assert!(!t.ends_with_filename() && !t.uses(Placeholder::Uuid));
    }

    #[test]
    fn refuses_unsafe_templates() {
        for (bad, why) in [
            ("", "empty"),
            ("/users/{principal}/{filename}", "leading slash"),
            ("users/{principal}/{filename}/", "trailing slash"),
            ("users//{principal}/{filename}", "empty segment"),
            ("users/../{principal}/{filename}", "dot-dot"),
            ("users/{uuid}/{filename}", "no principal"),
            (
                "users/{filename}/{principal}/x",
                "client part before principal",
            ),
            (
                "users/{path}/{principal}/{filename}",
                "client path before principal",
            ),
            (
                "{date}/{principal}/{filename}",
                "variable part before principal",
            ),
            (
                "users/{uuid}-x/{principal}/{filename}",
                "uuid before principal",
            ),
            ("users/u-{principal}/{filename}", "principal not whole"),
            ("users/{principal}x/{filename}", "principal not whole"),
            ("users/{principal}", "nothing after principal"),
            ("users/{principal}/{path}", "path last"),
            ("users/{principal}/a{path}/{filename}", "path not whole"),
            ("users/{principal}/{filename}/{filename}", "duplicate"),
            ("users/{principal}/{name}", "unknown placeholder"),
            ("users/{principal}/{filename", "unclosed brace"),
            ("users/{principal}/x}", "stray brace"),
            ("users/{principal}/a b", "space in fixed text"),
            ("users\\x/{principal}/{filename}", "backslash"),
        ] {
            assert!(KeyTemplate::parse(bad).is_err(), "{why}: {bad}");
        }
    }

    #[test]
    fn explains_the_principal_rule() {
        let err = KeyTemplate::parse("files/{filename}/{principal}/x").unwrap_err();
        assert!(err.contains("only fixed text may precede it"), "{err}");
        let err = KeyTemplate::parse("users/x{principal}/f").unwrap_err();
        assert!(err.contains("whole segment"), "{err}");
    }
}
