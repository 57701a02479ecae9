//! File names: `Filename::parse` never panics; every accepted name is NFC, at most 255 bytes,
//! free of control and format characters, and its `Content-Disposition` is visible ASCII with
//! exactly one `filename` and one `filename*`.

use crate::keys::hostile_text;
use crate::support::fuzz;
use proptest::prelude::*;
use s3_broker::policy::{Disposition, Filename, content_disposition};
use unicode_normalization::UnicodeNormalization;

#[actix_web::test]
async fn file_names_and_their_headers() {
    let names = prop_oneof![hostile_text(), "\\PC{0,300}", any::<String>()];
    fuzz(
        "filenames",
        (names, any::<bool>()),
        |(raw, inline)| async move {
            let Ok(name) = Filename::parse(&raw) else {
                return Ok(());
            };
            let text = name.as_str();
            if text.len() > 255 || text.is_empty() {
                return Err(format!("accepted a name of {} bytes", text.len()));
            }
            if text.nfc().collect::<String>() != text {
                return Err("accepted a name that is not NFC".into());
            }
            if text.chars().any(|c| {
                c.is_control()
                    || ('\u{200B}'..='\u{200F}').contains(&c)
                    || ('\u{202A}'..='\u{202E}').contains(&c)
                    || ('\u{2066}'..='\u{2069}').contains(&c)
                    || c == '\u{FEFF}'
            }) {
                return Err("accepted a control or format character".into());
            }
            let kind = if inline {
                Disposition::Inline
            } else {
                Disposition::Attachment
            };
            let header = content_disposition(kind, &name);
            if !header.bytes().all(|b| b == b' ' || b.is_ascii_graphic()) {
                return Err(format!(
                    "a header with other than visible ASCII: {header:?}"
                ));
            }
            // `<kind>; filename="<fallback without quotes>"; filename*=UTF-8''<attr-chars and %XX>`
            let well_formed = (|| {
                let rest = header.strip_prefix(if inline { "inline" } else { "attachment" })?;
                let rest = rest.strip_prefix("; filename=\"")?;
                let (fallback, rest) = rest.split_once('"')?;
                let encoded = rest.strip_prefix("; filename*=UTF-8''")?;
                let attr = |b: u8| b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~%".contains(&b);
                (!fallback.contains('\\') && !encoded.is_empty() && encoded.bytes().all(attr))
                    .then_some(())
            })();
            if well_formed.is_none() {
                return Err(format!("a malformed header: {header:?}"));
            }
            Ok(())
        },
    )
    .await;
}
