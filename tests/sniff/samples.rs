//! Every sample file sniffs as its kind, with its real dimensions, and passes the check
//! against its own type and extension.

use crate::support::sample;
use s3_broker::sniff::{Dimensions, Kind, check_declared, sniff};

/// A sample file, its kind, the type it is declared as, and its width and height.
type Sample = (&'static str, Kind, &'static str, Option<(u32, u32)>);

const SAMPLES: &[Sample] = &[
    ("sample.png", Kind::Png, "image/png", Some((16, 16))),
    ("sample.jpg", Kind::Jpeg, "image/jpeg", Some((16, 16))),
    ("sample.gif", Kind::Gif, "image/gif", Some((16, 16))),
    ("sample.webp", Kind::Webp, "image/webp", Some((16, 16))),
    ("sample.avif", Kind::Avif, "image/avif", Some((640, 480))),
    ("sample.heic", Kind::Heic, "image/heic", Some((4032, 3024))),
    ("sample.pdf", Kind::Pdf, "application/pdf", None),
    ("sample.zip", Kind::Zip, "application/zip", None),
    (
        "sample.docx",
        Kind::Docx,
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        None,
    ),
    (
        "sample.xlsx",
        Kind::Xlsx,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        None,
    ),
    (
        "sample.pptx",
        Kind::Pptx,
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        None,
    ),
    ("sample.doc", Kind::Ole2, "application/msword", None),
    ("sample.mp4", Kind::Mp4, "video/mp4", None),
    ("sample.mov", Kind::QuickTime, "video/quicktime", None),
    ("sample.mp3", Kind::Mp3, "audio/mpeg", None),
    ("sample.wav", Kind::Wav, "audio/wav", None),
    ("sample.gz", Kind::Gzip, "application/gzip", None),
    ("sample.txt", Kind::Text, "text/plain; charset=utf-8", None),
];

#[test]
fn every_sample_is_its_kind_with_its_dimensions() {
    for (name, kind, declared, dims) in SAMPLES {
        let bytes = sample(name);
        let found = sniff(&bytes, true);
        assert_eq!(found.kind, *kind, "{name}");
        let dims = dims.map(|(width, height)| Dimensions { width, height });
        assert_eq!(found.dimensions, dims, "{name}");
        let ext = name.rsplit('.').next();
        assert_eq!(check_declared(&found, declared, ext), vec![], "{name}");
        // The broker reads at most 64 KiB: a sample's head sniffs the same.
        let head = &bytes[..bytes.len().min(64 << 10)];
        assert_eq!(sniff(head, head.len() == bytes.len()), found, "{name}");
    }
}

#[test]
fn every_sample_is_refused_under_every_other_kinds_first_type() {
    for (name, kind, _, _) in SAMPLES {
        let found = sniff(&sample(name), true);
        for other in Kind::KNOWN {
            let Some(declared) = other.media_types().first() else {
                continue;
            };
            if kind.fits_type(declared) {
                continue;
            }
            assert!(
                !check_declared(&found, declared, None).is_empty(),
                "{name} declared {declared}"
            );
        }
    }
}

#[test]
fn html_of_a_png_size_declared_as_png_is_text() {
    let html = sample("sample-as-png.html");
    assert_eq!(html.len(), sample("sample.png").len());
    let found = sniff(&html, true);
    assert_eq!(found.kind, Kind::Text);
    assert_eq!(check_declared(&found, "image/png", Some("png")).len(), 2);
    assert!(check_declared(&found, "text/html", Some("html")).is_empty());
}
