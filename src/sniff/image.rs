//! Pixel dimensions from image headers, without decoding a pixel.

use super::bytes::{be_u16, be_u32, has, le_u16, le_u24, le_u32, take};
use super::kind::Dimensions;

/// PNG: the IHDR chunk, which must come first
/// (<https://www.w3.org/TR/png-3/#11IHDR>): width and height as big-endian `u32` at 16 and 20.
pub(super) fn png(data: &[u8]) -> Option<Dimensions> {
    if !has(data, 12, b"IHDR") {
        return None;
    }
    nonzero(be_u32(data, 16)?, be_u32(data, 20)?)
}

/// GIF: the Logical Screen Descriptor right after the 6-byte signature
/// (<https://www.w3.org/Graphics/GIF/spec-gif89a.txt>, section 18): little-endian `u16`s.
pub(super) fn gif(data: &[u8]) -> Option<Dimensions> {
    nonzero(u32::from(le_u16(data, 6)?), u32::from(le_u16(data, 8)?))
}

/// JPEG: walks the marker segments from SOI to the first SOFn frame header
/// (ITU-T T.81, B.2.2: length, precision, height, width), stopping at SOS or at the end of
/// what was read.
pub(super) fn jpeg(data: &[u8]) -> Option<Dimensions> {
    let mut at = 2; // after SOI
    loop {
        // Any number of 0xFF fill bytes precede a marker.
        if *data.get(at)? != 0xFF {
            return None;
        }
        while *data.get(at)? == 0xFF {
            at += 1;
        }
        let marker = *data.get(at)?;
        at += 1;
        match marker {
            // TEM and RST0-7 stand alone.
            0x01 | 0xD0..=0xD7 => continue,
            // SOS (compressed data follows) or EOI: no frame header before it.
            0xDA | 0xD9 => return None,
            _ => {}
        }
        let length = usize::from(be_u16(data, at)?);
        if length < 2 {
            return None;
        }
        // SOF0-15, except DHT (C4), JPG (C8) and DAC (CC).
        if (0xC0..=0xCF).contains(&marker) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) {
            let height = u32::from(be_u16(data, at + 3)?);
            let width = u32::from(be_u16(data, at + 5)?);
            return nonzero(width, height);
        }
        at = at.checked_add(length)?;
    }
}

/// WebP: the first chunk after `RIFF....WEBP`
/// (<https://developers.google.com/speed/webp/docs/riff_container>): `VP8 ` (lossy key frame
/// header), `VP8L` (lossless: 14-bit width − 1 and height − 1) or `VP8X` (24-bit canvas
/// width − 1 and height − 1).
pub(super) fn webp(data: &[u8]) -> Option<Dimensions> {
    let chunk = take(data, 12, 4)?;
    match chunk {
        b"VP8 " => {
            // Frame tag (3 bytes), then the start code 9D 01 2A (RFC 6386, 9.1).
            if !has(data, 23, &[0x9D, 0x01, 0x2A]) {
                return None;
            }
            let width = u32::from(le_u16(data, 26)? & 0x3FFF);
            let height = u32::from(le_u16(data, 28)? & 0x3FFF);
            nonzero(width, height)
        }
        b"VP8L" => {
            if *data.get(20)? != 0x2F {
                return None;
            }
            let bits = le_u32(data, 21)?;
            Some(Dimensions {
                width: (bits & 0x3FFF) + 1,
                height: ((bits >> 14) & 0x3FFF) + 1,
            })
        }
        b"VP8X" => Some(Dimensions {
            width: le_u24(data, 24)? + 1,
            height: le_u24(data, 27)? + 1,
        }),
        _ => None,
    }
}

/// Dimensions unless one is zero (a header that says zero is not read as an image).
pub(super) fn nonzero(width: u32, height: u32) -> Option<Dimensions> {
    (width > 0 && height > 0).then_some(Dimensions { width, height })
}
