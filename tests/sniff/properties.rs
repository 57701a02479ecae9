//! Fuzz-style properties: arbitrary bytes, and arbitrary bytes behind every known signature,
//! never make a sniffer panic, and a head never reports dimensions its whole object does not.
//! Deeper runs: `PROPTEST_CASES=100000 cargo test --release --test sniff`.

use proptest::prelude::*;
use s3_broker::sniff::{check_declared, sniff};

/// The first bytes of every signature the sniffers know, so the fuzzer reaches each parser.
const PREFIXES: &[&[u8]] = &[
    b"",
    b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR",
    b"\xFF\xD8\xFF",
    b"GIF89a",
    b"RIFF\0\0\0\0WEBPVP8 ",
    b"RIFF\0\0\0\0WEBPVP8L",
    b"RIFF\0\0\0\0WEBPVP8X",
    b"RIFF\0\0\0\0WAVE",
    b"\0\0\0\x18ftypavif\0\0\0\0mif1avif",
    b"\0\0\0\x14ftypheic\0\0\0\0mif1",
    b"\0\0\0\x10ftypisom\0\0\0\0",
    b"%PDF-",
    b"PK\x03\x04",
    b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1",
    b"\x1F\x8B\x08",
    b"ID3",
];

/// Box types of the HEIF property path, and one that is not on it.
const BOXES: &[[u8; 4]] = &[*b"meta", *b"iprp", *b"ipco", *b"ispe", *b"mdat"];

proptest! {
    #[test]
    fn sniffers_never_panic(
        prefix in prop::sample::select(PREFIXES),
        tail in prop::collection::vec(any::<u8>(), 0..2048),
        whole in any::<bool>(),
        ext in prop::option::of("[a-zA-Z0-9]{0,5}"),
        declared in "[a-z]{1,12}/[a-z0-9.+-]{1,20}",
    ) {
        let mut data = prefix.to_vec();
        data.extend_from_slice(&tail);
        let found = sniff(&data, whole);
        let _ = check_declared(&found, &declared, ext.as_deref());
        for cut in [0, 1, data.len() / 2, data.len().saturating_sub(1)].map(|c| c.min(data.len())) {
            let head = sniff(&data[..cut], false);
            if head.kind == found.kind && head.dimensions.is_some() {
                prop_assert_eq!(head.dimensions, found.dimensions);
            }
        }
    }

    #[test]
    fn iso_boxes_of_any_size_never_panic(
        sizes in prop::collection::vec(any::<u32>(), 1..6),
        kinds in prop::collection::vec(prop::sample::select(BOXES), 6),
        filler in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut data = b"\0\0\0\x14ftypheic\0\0\0\0mif1".to_vec();
        for (size, kind) in sizes.iter().zip(&kinds) {
            data.extend_from_slice(&size.to_be_bytes());
            data.extend_from_slice(kind);
            data.extend_from_slice(&[0, 0, 0, 0]);
            data.extend_from_slice(&filler);
        }
        let _ = sniff(&data, true);
    }
}
