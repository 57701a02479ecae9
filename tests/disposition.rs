//! Safe downloads: the `Content-Disposition` builder against an independent RFC 6266 / RFC 8187
//! parser written here, display-name rules, and the attachment-only rule for active content
//! (inline only with a passive type, from the name or from the stored type).

use proptest::prelude::*;
use s3_broker::domain::{BucketName, Expiry, Principal, Scopes};
use s3_broker::http::Code;
use s3_broker::policy::{
    Disposition, DownloadIntent, Filename, Profile, content_disposition, is_active_content_type,
};
use unicode_normalization::UnicodeNormalization;

// ------------------------------------------------- an independent Content-Disposition parser

/// A parsed `Content-Disposition`: the type and every parameter in order, names lowercased,
/// quoted strings unescaped (RFC 6266 §4.1 grammar, RFC 9110 quoted-string).
#[derive(Debug)]
struct Parsed {
    kind: String,
    params: Vec<(String, String)>,
}

fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

fn token(s: &str) -> (String, &str) {
    let end = s.find(|c: char| !is_tchar(c)).unwrap_or(s.len());
    (s[..end].to_owned(), &s[end..])
}

/// `"..."` with `\` escapes; returns the content and the rest.
fn quoted(s: &str) -> Result<(String, &str), String> {
    let mut chars = s.char_indices();
    if chars.next().map(|(_, c)| c) != Some('"') {
        return Err(format!("expected a quoted string at {s:?}"));
    }
    let mut out = String::new();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((out, &s[i + 1..])),
            '\\' => out.push(chars.next().ok_or("a dangling backslash")?.1),
            c if c == '\t' || c == ' ' || (c.is_ascii_graphic() && c != '\x7f') => out.push(c),
            c => return Err(format!("U+{:04X} inside a quoted string", u32::from(c))),
        }
    }
    Err("an unterminated quoted string".into())
}

fn parse_header(value: &str) -> Result<Parsed, String> {
    let (kind, mut rest) = token(value);
    if kind.is_empty() {
        return Err(format!("no disposition type in {value:?}"));
    }
    let mut params = Vec::new();
    loop {
        rest = rest.trim_start_matches([' ', '\t']);
        if rest.is_empty() {
            break;
        }
        rest = rest
            .strip_prefix(';')
            .ok_or_else(|| format!("expected `;` at {rest:?}"))?
            .trim_start_matches([' ', '\t']);
        let (name, after) = token(rest);
        if name.is_empty() {
            return Err(format!("expected a parameter name at {rest:?}"));
        }
        let after = after
            .strip_prefix('=')
            .ok_or_else(|| format!("expected `=` after {name}"))?;
        let (val, after) = if after.starts_with('"') {
            quoted(after)?
        } else {
            let (t, after) = token(after);
            if t.is_empty() {
                return Err(format!("empty value of {name}"));
            }
            (t, after)
        };
        params.push((name.to_ascii_lowercase(), val));
        rest = after;
    }
    Ok(Parsed {
        kind: kind.to_ascii_lowercase(),
        params,
    })
}

fn is_attr_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b)
}

/// RFC 8187 §3.2: `charset "'" [ language ] "'" value-chars`, UTF-8 only here, strict:
/// anything but attr-char and `%XX` is an error.
fn decode_ext_value(ext: &str) -> Result<String, String> {
    let mut parts = ext.splitn(3, '\'');
    let (Some(charset), Some(language), Some(value)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(format!("not charset'lang'value: {ext:?}"));
    };
    if !charset.eq_ignore_ascii_case("UTF-8") {
        return Err(format!("charset {charset:?}"));
    }
    if !language.is_empty() {
        return Err(format!("unexpected language {language:?}"));
    }
    let bytes = value.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = value
                    .get(i + 1..i + 3)
                    .ok_or_else(|| format!("truncated escape at {i}"))?;
                if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(format!("bad escape %{hex}"));
                }
                out.push(u8::from_str_radix(hex, 16).map_err(|e| e.to_string())?);
                i += 3;
            }
            b if is_attr_char(b) => {
                out.push(b);
                i += 1;
            }
            b => return Err(format!("byte {b:#04x} is not an attr-char")),
        }
    }
    String::from_utf8(out).map_err(|e| format!("not UTF-8: {e}"))
}

/// Checks a header built for `name`: visible ASCII only, one `filename` and one `filename*`,
/// a faithful fallback and an exact round trip.
fn check_header(header: &str, kind: Disposition, name: &str) -> Result<(), TestCaseError> {
    prop_assert!(
        header.bytes().all(|b| b == b' ' || b.is_ascii_graphic()),
        "{header:?}"
    );
    prop_assert!(!header.contains(['\r', '\n', '\0']));
    let parsed = parse_header(header).map_err(TestCaseError::fail)?;
    prop_assert_eq!(parsed.kind.as_str(), kind.as_str());
    let plain: Vec<&String> = parsed
        .params
        .iter()
        .filter(|(n, _)| n == "filename")
        .map(|(_, v)| v)
        .collect();
    let extended: Vec<&String> = parsed
        .params
        .iter()
        .filter(|(n, _)| n == "filename*")
        .map(|(_, v)| v)
        .collect();
    prop_assert_eq!(parsed.params.len(), 2, "{:?}", parsed.params);
    prop_assert_eq!(plain.len(), 1);
    prop_assert_eq!(extended.len(), 1);
    let decoded = decode_ext_value(extended[0]).map_err(TestCaseError::fail)?;
    prop_assert_eq!(decoded.as_str(), name);
    let fallback = plain[0];
    prop_assert!(
        fallback
            .chars()
            .all(|c| c == ' ' || (c.is_ascii_graphic() && !"\"\\%".contains(c))),
        "{fallback:?}"
    );
    prop_assert_eq!(fallback.chars().count(), name.chars().count());
    for (f, n) in fallback.chars().zip(name.chars()) {
        prop_assert!(f == n || f == '_', "{fallback:?} for {name:?}");
    }
    Ok(())
}

#[test]
fn the_parser_and_decoder_work() {
    let parsed =
        parse_header("attachment; filename=\"a \\\"b\\\".txt\"; FILENAME*=utf-8''%E2%82%AC")
            .unwrap();
    assert_eq!(parsed.kind, "attachment");
    assert_eq!(
        parsed.params,
        [
            ("filename".to_owned(), "a \"b\".txt".to_owned()),
            ("filename*".to_owned(), "utf-8''%E2%82%AC".to_owned())
        ]
    );
    assert_eq!(decode_ext_value("UTF-8''%E2%82%AC").unwrap(), "€");
    for bad in [
        "UTF-8''a b",
        "UTF-8''%E2%82",
        "UTF-8''%zz",
        "ISO-8859-1''a",
        "UTF-8'en'a",
        "UTF-8''\"",
    ] {
        assert!(decode_ext_value(bad).is_err(), "{bad}");
    }
    assert!(parse_header("attachment; filename=\"a\rb\"").is_err());
    assert!(parse_header("attachment; filename=\"open").is_err());
}

#[test]
fn headers_for_hostile_but_valid_names() {
    for name in [
        "a.txt",
        "report 2024.pdf",
        "évé.pdf",
        "100%.txt",
        "a\"; filename=b.html",
        "日本語のファイル.docx",
        "emoji 😀.png",
        "tab-free ; = , .txt",
        "%41%42.txt",
        "UTF-8''x.txt",
    ] {
        let filename = Filename::parse(name).unwrap();
        for kind in [Disposition::Attachment, Disposition::Inline] {
            let header = content_disposition(kind, &filename);
            check_header(&header, kind, filename.as_str())
                .unwrap_or_else(|e| panic!("{name:?}: {e}: {header}"));
        }
    }
}

// ------------------------------------------------------------------ display-name rules

/// Every code point of general category Cf in Unicode 14 (Python's `unicodedata` 14.0.0), as
/// ranges: an independent list to check the broker's own against.
const FORMAT_CHARACTERS: &[(u32, u32)] = &[
    (0xAD, 0xAD),
    (0x600, 0x605),
    (0x61C, 0x61C),
    (0x6DD, 0x6DD),
    (0x70F, 0x70F),
    (0x890, 0x891),
    (0x8E2, 0x8E2),
    (0x180E, 0x180E),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x2064),
    (0x2066, 0x206F),
    (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x13438),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),
];

fn forbidden_chars() -> Vec<char> {
    let controls = (0..=0x1F).chain(0x7F..=0x9F);
    let formats = FORMAT_CHARACTERS.iter().flat_map(|&(lo, hi)| lo..=hi);
    controls
        .chain(formats)
        .map(|cp| char::from_u32(cp).unwrap())
        .collect()
}

#[test]
fn every_control_and_format_character_is_refused() {
    let all = forbidden_chars();
    assert!(all.len() > 200);
    for c in all {
        for name in [
            format!("{c}a.txt"),
            format!("a{c}b.txt"),
            format!("a.txt{c}"),
        ] {
            let err =
                Filename::parse(&name).expect_err(&format!("U+{:04X} accepted", u32::from(c)));
            assert_eq!(Code::from(&err).as_str(), "invalid_filename");
            assert!(
                err.to_string().contains(&format!("U+{:04X}", u32::from(c))),
                "{err}"
            );
        }
    }
}

#[test]
fn bidi_overrides_zero_width_and_bom_by_name() {
    for c in [
        '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}',
        '\u{2068}', '\u{2069}', '\u{200B}', '\u{200C}', '\u{200D}', '\u{FEFF}', '\0', '\r', '\n',
    ] {
        let err = Filename::parse(&format!("invoice{c}fdp.exe")).unwrap_err();
        assert_eq!(
            Code::from(&err).as_str(),
            "invalid_filename",
            "U+{:04X}",
            u32::from(c)
        );
    }
}

#[test]
fn names_are_nfc_and_at_most_255_bytes() {
    let decomposed = "e\u{301}".repeat(10) + ".txt";
    let name = Filename::parse(&decomposed).unwrap();
    assert_eq!(name.as_str(), "\u{e9}".repeat(10) + ".txt");
    assert!(Filename::parse(&"é".repeat(127)).is_ok()); // 254 bytes
    assert!(Filename::parse(&("é".repeat(127) + "a")).is_ok()); // 255 bytes
    let err = Filename::parse(&"é".repeat(128)).unwrap_err(); // 256 bytes
    assert_eq!(Code::from(&err).as_str(), "invalid_filename");
    // 255 bytes decomposed, fewer composed: measured after normalization.
    assert!(Filename::parse(&("e\u{301}".repeat(85))).is_ok());
}

// --------------------------------------------------------------------------- downloads

fn alice() -> Principal {
    Principal::new(
        "alice",
        Some("https://issuer.example".into()),
        Scopes::all(),
    )
}

fn profile(text: &str) -> Profile {
    Profile::from_toml("test", text, Some(&BucketName::new("uploads").unwrap())).unwrap()
}

/// Inline allowed, raster images only: nothing active can be stored.
fn pictures() -> Profile {
    profile(
        "key_template = \"users/{principal}/{uuid}/{filename}\"\n\
         content_types = [\"image/png\", \"image/jpeg\"]\nmax_size = 10\n\
         download_disposition = \"inline\"\n",
    )
}

/// Inline allowed, but `image/*` and `text/html` could be stored.
fn anything() -> Profile {
    profile(
        "key_template = \"users/{principal}/{uuid}/{filename}\"\n\
         content_types = [\"image/*\", \"text/html\", \"text/plain\"]\nmax_size = 10\n\
         allow_inline = true\n",
    )
}

/// Attachments only.
fn attachments() -> Profile {
    profile(
        "key_template = \"users/{principal}/{uuid}/{filename}\"\n\
         content_types = [\"text/plain\"]\nmax_size = 10\n",
    )
}

const KEY_DIR: &str = "users/alice/0123/";

fn download(
    p: &Profile,
    last: &str,
    disposition: Option<Disposition>,
    filename: Option<&str>,
) -> Result<s3_broker::policy::DownloadDecision, String> {
    p.decide_download(
        &alice(),
        &DownloadIntent {
            key: format!("{KEY_DIR}{last}"),
            disposition,
            filename: filename.map(str::to_owned),
            ..DownloadIntent::default()
        },
        Some(Expiry::from_secs(60).unwrap()),
    )
    .map_err(|e| Code::from(&e).as_str().to_owned())
}

fn served(d: &s3_broker::policy::DownloadDecision) -> (Disposition, Option<&str>) {
    (d.disposition, d.response_content_type.as_deref())
}

const NEUTRAL: Option<&str> = Some("application/octet-stream");

#[test]
fn active_content_is_always_a_neutral_attachment() {
    use Disposition::{Attachment, Inline};
    for p in [pictures(), anything()] {
        for (last, name) in [
            ("page.html", None),
            ("page.HTM", None),
            ("drawing.svg", None),
            ("x.xhtml", None),
            ("feed.xml", None),
            ("app.js", None),
            ("module.mjs", None),
            ("photo.png", Some("photo.svg")),
            ("page.html", Some("page.png")),
            ("page.html.", Some("page.png")),
        ] {
            for asked in [None, Some(Inline), Some(Attachment)] {
                let d = download(&p, last, asked, name).unwrap();
                assert_eq!(
                    served(&d),
                    (Attachment, NEUTRAL),
                    "{last} {name:?} {asked:?}"
                );
                assert!(d.content_disposition.starts_with("attachment; "));
            }
        }
    }
    // Attachment-only profiles still refuse an explicit inline, and neutralise active names.
    assert_eq!(
        download(&attachments(), "a.html", Some(Inline), None).unwrap_err(),
        "disposition_not_allowed"
    );
    let d = download(&attachments(), "a.html", None, None).unwrap();
    assert_eq!(served(&d), (Attachment, NEUTRAL));
}

#[test]
fn inline_needs_a_passive_name_or_a_passive_stored_type() {
    use Disposition::{Attachment, Inline};
    // A name without a passive extension: the stored type decides, whatever the profile
    // allows to upload (an object may be written around the broker).
    for p in [pictures(), anything()] {
        for last in ["avatar", "archive.zip", "x.png.exe"] {
            let d = download(&p, last, Some(Inline), None).unwrap();
            assert_eq!(served(&d), (Inline, None), "{last}");
            assert!(d.needs_stored_type, "{last}");
            for stored in [
                None,
                Some("text/html"),
                Some("text/html; charset=utf-8"),
                Some("image/svg+xml"),
                Some("application/zip"),
                Some("application/octet-stream"),
            ] {
                let settled = d.clone().with_stored_type(stored);
                assert_eq!(served(&settled), (Attachment, NEUTRAL), "{last} {stored:?}");
                assert!(settled.content_disposition.starts_with("attachment; "));
                assert!(!settled.needs_stored_type);
            }
            for (stored, passive) in [
                ("image/png", "image/png"),
                ("IMAGE/JPEG; q=1", "image/jpeg"),
                ("text/plain; charset=utf-8", "text/plain"),
            ] {
                let settled = d.clone().with_stored_type(Some(stored));
                assert_eq!(served(&settled), (Inline, Some(passive)), "{last} {stored}");
                assert!(settled.content_disposition.starts_with("inline; "));
            }
        }
    }
    // A passive name pins its type: no stored type is needed, and none changes it.
    let d = download(&anything(), "photo.PNG", Some(Inline), None).unwrap();
    assert_eq!(served(&d), (Inline, Some("image/png")));
    assert!(!d.needs_stored_type);
    assert_eq!(
        served(&d.clone().with_stored_type(Some("text/html"))),
        (Inline, Some("image/png"))
    );
    let d = download(&anything(), "blob", Some(Inline), Some("notes.txt")).unwrap();
    assert_eq!(served(&d), (Inline, Some("text/plain")));
    // An attachment keeps the stored type: the browser saves it, never renders it.
    let d = download(&anything(), "photo.png", Some(Attachment), None).unwrap();
    assert_eq!(served(&d), (Attachment, None));
    assert!(!d.needs_stored_type);
}

#[test]
fn a_name_is_always_suggested() {
    let long = "a".repeat(300);
    let d = download(&attachments(), &long, None, None).unwrap();
    assert_eq!(
        d.content_disposition,
        "attachment; filename=\"download\"; filename*=UTF-8''download"
    );
    assert_eq!(
        download(&attachments(), "a.txt", None, Some("a\u{202E}txt.exe")).unwrap_err(),
        "invalid_filename"
    );
}

// -------------------------------------------------------------------------- properties

/// Names: plausible ones, arbitrary Unicode, and hostile characters.
fn any_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-zA-Z0-9 ._~%#\"\\\\;=,'*()\u{e9}\u{301}\u{20ac}\u{1F600}\u{65e5}-]{1,40}",
        2 => "\\PC{1,60}",
        1 => ".{0,40}",
        1 => "[a-z .\"\\\\%\r\n\0\u{202E}\u{2066}\u{200B}\u{FEFF}\u{85}]{1,20}",
    ]
}

const ACTIVE_EXTENSIONS: &[&str] = &["html", "HTM", "svg", "xhtml", "xml", "js", "mjs", "Svg"];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// For every accepted name: NFC, at most 255 bytes, no control or format character, and a
    /// header with exactly one `filename` and one `filename*` that decodes back to the name.
    #[test]
    fn every_accepted_name_gives_a_well_formed_header(raw in any_name(), inline in any::<bool>()) {
        let Ok(name) = Filename::parse(&raw) else { return Ok(()); };
        let text = name.as_str();
        prop_assert!(text.len() <= 255);
        prop_assert_eq!(text.nfc().collect::<String>(), text);
        let forbidden = forbidden_chars();
        prop_assert!(!text.chars().any(|c| forbidden.contains(&c)), "{text:?}");
        let kind = if inline { Disposition::Inline } else { Disposition::Attachment };
        check_header(&content_disposition(kind, &name), kind, text)?;
    }

    /// A control or format character anywhere makes the name invalid, never cleaned.
    #[test]
    fn hostile_characters_are_refused(
        prefix in "[a-zA-Z0-9 .\u{e9}-]{0,20}",
        suffix in "[a-zA-Z0-9 .\u{e9}-]{0,20}",
        pick in any::<prop::sample::Index>(),
    ) {
        let forbidden = forbidden_chars();
        let c = forbidden[pick.index(forbidden.len())];
        let err = Filename::parse(&format!("{prefix}{c}{suffix}")).unwrap_err();
        prop_assert_eq!(Code::from(&err).as_str(), "invalid_filename");
    }

    /// Whatever is asked, a download of an active name is a neutral attachment, every header
    /// is well formed, and inline is only granted when nothing active can be rendered.
    #[test]
    fn downloads_are_never_active_inline(
        stem in "[a-zA-Z0-9é_-]([a-zA-Z0-9 é_-]{0,18}[a-zA-Z0-9é_-])?",
        key_active in any::<bool>(),
        name_active in any::<bool>(),
        ext in prop::sample::select(ACTIVE_EXTENSIONS),
        other in prop::sample::select(&["png", "txt", "zip", "", "pdf"][..]),
        asked in prop::option::of(prop_oneof![Just(Disposition::Inline), Just(Disposition::Attachment)]),
        named in any::<bool>(),
        which in 0..3usize,
    ) {
        let with = |active: bool| {
            let ext = if active { ext } else { other };
            if ext.is_empty() { stem.clone() } else { format!("{stem}.{ext}") }
        };
        let last = with(key_active);
        let name = with(name_active);
        let p = [pictures(), anything(), attachments()][which].clone();
        let Ok(d) = download(&p, &last, asked, named.then_some(name.as_str())) else {
            // Only an explicit inline from an attachment-only profile is refused.
            prop_assert!(which == 2 && asked == Some(Disposition::Inline));
            return Ok(());
        };
        let shown = if named { name.as_str() } else { last.as_str() };
        let shown = Filename::parse(shown).unwrap();
        check_header(&d.content_disposition, d.disposition, shown.as_str())?;
        if key_active || (named && name_active) {
            prop_assert_eq!(served(&d), (Disposition::Attachment, NEUTRAL));
        }
        if d.disposition == Disposition::Inline {
            match d.response_content_type.as_deref() {
                None => prop_assert!(d.needs_stored_type),
                Some(pinned) => prop_assert!(!is_active_content_type(pinned), "{pinned}"),
            }
        }
        // Whatever S3 holds, the settled download shows nothing active inline.
        for stored in [None, Some("text/html"), Some("image/svg+xml"), Some("text/javascript"), Some("image/png"), Some("text/plain")] {
            let settled = d.clone().with_stored_type(stored);
            prop_assert!(!settled.needs_stored_type);
            check_header(&settled.content_disposition, settled.disposition, shown.as_str())?;
            if settled.disposition == Disposition::Inline {
                let pinned = settled.response_content_type.as_deref();
                prop_assert!(pinned.is_some_and(|t| !is_active_content_type(t)), "{pinned:?}");
            }
        }
    }
}
