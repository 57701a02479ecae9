//! The one entry point: the kind of a head of bytes and, for images, the dimensions.

use super::audio::mp3_frame;
use super::bytes::has;
use super::kind::{Dimensions, Kind};
use super::{image, iso_bmff, zip};

/// What a head of bytes is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sniffed {
    /// The kind its signature names.
    pub kind: Kind,
    /// For images whose header was read in full: the pixel dimensions.
    pub dimensions: Option<Dimensions>,
}

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n";
const OLE2: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";

/// The kind of `head`, the first bytes of an object (all of it when `whole`), and the pixel
/// dimensions of an image. `whole` matters only for text: a head cut inside a UTF-8 sequence
/// is still text, a whole object that ends inside one is not.
pub fn sniff(head: &[u8], whole: bool) -> Sniffed {
    let (kind, dimensions) = if has(head, 0, PNG) {
        (Kind::Png, image::png(head))
    } else if has(head, 0, &[0xFF, 0xD8, 0xFF]) {
        (Kind::Jpeg, image::jpeg(head))
    } else if has(head, 0, b"GIF87a") || has(head, 0, b"GIF89a") {
        (Kind::Gif, image::gif(head))
    } else if has(head, 0, b"RIFF") && has(head, 8, b"WEBP") {
        (Kind::Webp, image::webp(head))
    } else if has(head, 0, b"RIFF") && has(head, 8, b"WAVE") {
        (Kind::Wav, None)
    } else if let Some(kind) = iso_bmff::classify(head) {
        let dimensions = matches!(kind, Kind::Avif | Kind::Heic)
            .then(|| iso_bmff::ispe(head))
            .flatten();
        (kind, dimensions)
    } else if has(head, 0, b"%PDF-") {
        (Kind::Pdf, None)
    } else if zip::is_zip(head) {
        (zip::classify(head), None)
    } else if has(head, 0, OLE2) {
        (Kind::Ole2, None)
    } else if has(head, 0, &[0x1F, 0x8B, 0x08]) {
        (Kind::Gzip, None)
    } else if has(head, 0, b"ID3") || mp3_frame(head) {
        (Kind::Mp3, None)
    } else if is_text(head, whole) {
        (Kind::Text, None)
    } else {
        (Kind::Unknown, None)
    };
    Sniffed { kind, dimensions }
}

/// Valid UTF-8 without NUL (a NUL never occurs in text the broker should call text). A head
/// that is not the whole object may end inside a sequence.
fn is_text(head: &[u8], whole: bool) -> bool {
    if head.contains(&0) {
        return false;
    }
    match std::str::from_utf8(head) {
        Ok(_) => true,
        // `error_len() == None`: the input ended inside a sequence that could still be valid.
        Err(e) => !whole && e.error_len().is_none(),
    }
}
