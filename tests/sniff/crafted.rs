//! Truncated and crafted headers: every prefix of every sample sniffs without a panic, a
//! header cut short gives no dimensions rather than wrong ones, and hand-made headers of the
//! variants the samples do not cover (VP8, VP8L, SOF after APPn, progressive JPEG, big-size
//! boxes) read right.

use crate::support::sample;
use s3_broker::sniff::{Dimensions, Kind, sniff};

const ALL: &[&str] = &[
    "sample.png",
    "sample.jpg",
    "sample.gif",
    "sample.webp",
    "sample.avif",
    "sample.heic",
    "sample.pdf",
    "sample.zip",
    "sample.docx",
    "sample.xlsx",
    "sample.pptx",
    "sample.doc",
    "sample.mp4",
    "sample.mov",
    "sample.mp3",
    "sample.wav",
    "sample.gz",
    "sample.txt",
    "sample-as-png.html",
];

#[test]
fn every_prefix_sniffs_and_dimensions_are_never_wrong() {
    for name in ALL {
        let bytes = sample(name);
        let full = sniff(&bytes, true);
        for cut in 0..bytes.len().min(4096) {
            let head = sniff(&bytes[..cut], false);
            if let Some(d) = head.dimensions {
                assert_eq!(Some(d), full.dimensions, "{name} cut at {cut}");
            }
            let _ = sniff(&bytes[..cut], true);
        }
    }
}

#[test]
fn dimensions_need_the_whole_header() {
    let png = sample("sample.png");
    assert_eq!(sniff(&png[..23], false).dimensions, None);
    assert_eq!(sniff(&png[..24], false).kind, Kind::Png);
    assert!(sniff(&png[..24], false).dimensions.is_some());
    // A PNG whose first chunk is not IHDR has no dimensions.
    let mut bad = png.clone();
    bad[12..16].copy_from_slice(b"IDAT");
    assert_eq!(sniff(&bad, true).dimensions, None);
}

fn webp(chunk: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut out = b"RIFF\0\0\0\0WEBP".to_vec();
    out.extend_from_slice(chunk);
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(body);
    out
}

#[test]
fn webp_lossy_and_lossless_headers() {
    // VP8: frame tag, start code 9D 01 2A, 14-bit width and height (top 2 bits: scale).
    let mut vp8 = vec![0x30, 0x01, 0x00, 0x9D, 0x01, 0x2A];
    vp8.extend_from_slice(&(0xC000u16 | 800).to_le_bytes());
    vp8.extend_from_slice(&600u16.to_le_bytes());
    let found = sniff(&webp(b"VP8 ", &vp8), true);
    assert_eq!(found.kind, Kind::Webp);
    assert_eq!(
        found.dimensions,
        Some(Dimensions {
            width: 800,
            height: 600
        })
    );
    // VP8L: signature 0x2F, then width-1 and height-1 in 14 bits each.
    let bits: u32 = (1919) | (1079 << 14);
    let mut vp8l = vec![0x2F];
    vp8l.extend_from_slice(&bits.to_le_bytes());
    let found = sniff(&webp(b"VP8L", &vp8l), true);
    assert_eq!(
        found.dimensions,
        Some(Dimensions {
            width: 1920,
            height: 1080
        })
    );
    // A wrong start code or signature: a WebP without dimensions.
    vp8[3] = 0;
    assert_eq!(sniff(&webp(b"VP8 ", &vp8), true).dimensions, None);
    assert_eq!(
        sniff(&webp(b"VP8L", &[0x2E, 1, 2, 3, 4]), true).dimensions,
        None
    );
}

fn segment(marker: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![0xFF, marker];
    out.extend_from_slice(&((body.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(body);
    out
}

#[test]
fn jpeg_frame_header_after_other_segments() {
    let sof = [8, 0x04, 0x38, 0x07, 0x80, 3]; // precision, height 1080, width 1920, components
    for marker in [0xC0, 0xC1, 0xC2, 0xC3, 0xC9, 0xCF] {
        let mut jpeg = vec![0xFF, 0xD8];
        jpeg.extend(segment(0xE1, &[0x45; 300])); // a big APP1 (Exif)
        jpeg.extend([0xFF, 0xFF]); // fill bytes
        jpeg.extend(segment(0xC4, &[0; 20])); // DHT is not a frame
        jpeg.extend(segment(marker, &sof));
        let found = sniff(&jpeg, true);
        assert_eq!(found.kind, Kind::Jpeg);
        assert_eq!(
            found.dimensions,
            Some(Dimensions {
                width: 1920,
                height: 1080
            }),
            "SOF {marker:#x}"
        );
    }
    // Scan data before any frame header, or a length below 2: no dimensions, no loop.
    let mut sos = vec![0xFF, 0xD8];
    sos.extend(segment(0xDA, &[0; 8]));
    assert_eq!(sniff(&sos, true).dimensions, None);
    assert_eq!(
        sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0], true).dimensions,
        None
    );
    assert_eq!(
        sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0xFF, 0xFF], true).dimensions,
        None
    );
}

#[test]
fn iso_boxes_with_crafted_sizes() {
    let heic = sample("sample.heic");
    // The meta box claims to reach far beyond the data: read what is there, nothing more.
    let mut long = heic.clone();
    long[24..28].copy_from_slice(&u32::MAX.to_be_bytes());
    assert_eq!(sniff(&long, false).kind, Kind::Heic);
    // A box size below its header ends the walk.
    let mut tiny = heic.clone();
    tiny[24..28].copy_from_slice(&4u32.to_be_bytes());
    assert_eq!(sniff(&tiny, true).dimensions, None);
    // A 64-bit size of u64::MAX cannot overflow.
    let mut big = heic[..24].to_vec();
    big.extend_from_slice(&1u32.to_be_bytes());
    big.extend_from_slice(b"meta");
    big.extend_from_slice(&u64::MAX.to_be_bytes());
    assert_eq!(sniff(&big, true).kind, Kind::Heic);
    // An ftyp shorter than its fixed fields is no ISO file.
    assert_eq!(sniff(b"\0\0\0\x08ftypisom", true).kind, Kind::Unknown);
    // Classic QuickTime without ftyp.
    assert_eq!(sniff(b"\0\0\0\x08moov", true).kind, Kind::QuickTime);
}

#[test]
fn zip_entries_past_the_head_leave_an_unknown_package() {
    let docx = sample("sample.docx");
    // Cut before the `word/` entry: [Content_Types].xml was seen, the part was not.
    let at = docx.windows(5).position(|w| w == b"word/").unwrap();
    assert_eq!(sniff(&docx[..at], false).kind, Kind::Ooxml);
    // A local header whose name length runs past the end.
    assert_eq!(
        sniff(
            b"PK\x03\x04\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\xff\xff\0\0",
            true
        )
        .kind,
        Kind::Zip
    );
    assert_eq!(sniff(b"PK\x05\x06", true).kind, Kind::Zip);
}

#[test]
fn mp3_frames_and_text_edges() {
    assert_eq!(sniff(&[0xFF, 0xFB, 0x90, 0x64], true).kind, Kind::Mp3); // MPEG-1 layer III
    assert_eq!(sniff(&[0xFF, 0xF1, 0x50, 0x80], true).kind, Kind::Unknown); // AAC ADTS
    assert_eq!(sniff(&[0xFF, 0xFB, 0xF0, 0x64], true).kind, Kind::Unknown); // bad bitrate
    // Text: a UTF-8 sequence cut by the 64 KiB head is still text; in a whole object, not.
    let text = "ü".repeat(10);
    let cut = &text.as_bytes()[..7];
    assert_eq!(sniff(cut, false).kind, Kind::Text);
    assert_eq!(sniff(cut, true).kind, Kind::Unknown);
    assert_eq!(sniff(b"text\0with a NUL", true).kind, Kind::Unknown);
    assert_eq!(sniff(b"\xC0\x80", false).kind, Kind::Unknown); // overlong NUL
    assert_eq!(sniff(b"", true).kind, Kind::Text);
}
