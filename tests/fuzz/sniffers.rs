//! The content sniffers: arbitrary bytes, and bytes behind each signature the sniffers know
//! (PNG, JPEG, GIF, WebP, WAV, ISO-BMFF boxes, PDF, ZIP, MP3 frames), whole or cut anywhere.
//! `sniff` and `check_declared` never panic, whatever the bytes, and a head cut short never
//! reports dimensions the whole object does not have.

use crate::keys::hostile_text;
use crate::support::fuzz;
use proptest::prelude::*;
use s3_broker::sniff::{check_declared, sniff};

const SIGNATURES: &[&[u8]] = &[
    b"",
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR",
    b"\xFF\xD8\xFF",
    b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00",
    b"GIF87a",
    b"GIF89a",
    b"RIFF\x00\x00\x00\x00WEBPVP8 ",
    b"RIFF\x00\x00\x00\x00WEBPVP8L",
    b"RIFF\x00\x00\x00\x00WEBPVP8X",
    b"RIFF\x00\x00\x00\x00WAVE",
    b"\x00\x00\x00\x18ftypavif",
    b"\x00\x00\x00\x18ftypheic",
    b"\x00\x00\x00\x18ftypisom",
    b"\x00\x00\x00\x01ftyp",
    b"%PDF-1.7",
    b"PK\x03\x04",
    b"ID3\x04\x00",
    b"\xFF\xFB\x90\x00",
    b"\xEF\xBB\xBF",
    b"<svg",
];

fn heads() -> impl Strategy<Value = (Vec<u8>, usize, bool)> {
    (
        prop::sample::select(SIGNATURES),
        prop::collection::vec(any::<u8>(), 0..600),
        any::<usize>(),
        any::<bool>(),
    )
        .prop_map(|(signature, tail, cut, whole)| {
            let mut head = signature.to_vec();
            head.extend(tail);
            (head, cut, whole)
        })
}

#[actix_web::test]
async fn sniffers_take_any_bytes() {
    let cases = (
        heads(),
        hostile_text(),
        prop::option::of("[a-zA-Z0-9]{0,6}"),
    );
    fuzz(
        "sniffers",
        cases,
        |((head, cut, whole), content_type, ext)| async move {
            let sniffed = sniff(&head, whole);
            if let Some(dimensions) = sniffed.dimensions {
                let _ = dimensions.pixels();
            }
            let _ = check_declared(&sniffed, &content_type, ext.as_deref());
            let _ = sniffed.kind.name();
            let short = &head[..cut % (head.len() + 1)];
            let cut_short = sniff(short, false);
            if let Some(dimensions) = cut_short.dimensions
                && sniffed.dimensions != Some(dimensions)
            {
                return Err(format!(
                    "a head of {} bytes gives {dimensions:?}, the whole {:?}",
                    short.len(),
                    sniffed.dimensions
                ));
            }
            Ok(())
        },
    )
    .await;
}
