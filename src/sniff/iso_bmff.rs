//! ISO base media files (ISO/IEC 14496-12): the `ftyp` brands that tell AVIF, HEIC, MP4 and
//! QuickTime apart, and the `ispe` property that holds a HEIF image's size
//! (ISO/IEC 23008-12 6.5.3).

use super::bytes::{be_u32, be_u64, has, take};
use super::image::nonzero;
use super::kind::{Dimensions, Kind};

/// The kind an ISO BMFF file declares by its `ftyp` box, or `None` if `data` does not start
/// with one. QuickTime files from before `ftyp` start with a `moov`, `mdat`, `wide` or `pnot`
/// atom instead.
pub(super) fn classify(data: &[u8]) -> Option<Kind> {
    if !has(data, 4, b"ftyp") {
        let classic = [b"moov", b"mdat", b"wide", b"pnot"];
        let first = take(data, 4, 4)?;
        let sized = be_u32(data, 0).is_some_and(|s| s >= 8);
        return (sized && classic.iter().any(|c| first == *c)).then_some(Kind::QuickTime);
    }
    let size = usize::try_from(be_u32(data, 0)?).ok()?;
    if size < 16 {
        return None;
    }
    let major = take(data, 8, 4)?;
    let end = size.min(data.len());
    let compatible = (16..end.saturating_sub(3))
        .step_by(4)
        .filter_map(|at| take(data, at, 4));
    let brands: Vec<&[u8]> = std::iter::once(major).chain(compatible).collect();
    let any = |test: fn(&[u8]) -> bool| brands.iter().any(|b| test(b));
    Some(if any(|b| b == b"avif" || b == b"avis") {
        Kind::Avif
    } else if any(is_heif_brand) {
        Kind::Heic
    } else if major == b"qt  " {
        Kind::QuickTime
    } else if any(is_mp4_brand) {
        Kind::Mp4
    } else if any(|b| b == b"qt  ") {
        Kind::QuickTime
    } else {
        Kind::Unknown
    })
}

fn is_heif_brand(brand: &[u8]) -> bool {
    const HEIF: [&[u8]; 9] = [
        b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"mif2",
    ];
    HEIF.contains(&brand)
}

fn is_mp4_brand(brand: &[u8]) -> bool {
    const MP4: [&[u8]; 16] = [
        b"mp41", b"mp42", b"mp71", b"avc1", b"dash", b"M4V ", b"M4A ", b"M4P ", b"M4B ", b"f4v ",
        b"f4a ", b"mmp4", b"msnv", b"MSNV", b"ndas", b"XAVC",
    ];
    MP4.contains(&brand)
        || brand.starts_with(b"iso")
        || brand.starts_with(b"3gp")
        || brand.starts_with(b"3g2")
        || brand.starts_with(b"3ge")
        || brand.starts_with(b"3gg")
}

/// One box: its type and the bounds of its payload (the end clamped to what was read).
struct BoxAt<'a> {
    kind: &'a [u8],
    body: usize,
    end: usize,
}

/// The boxes laid out one after another in `data[from..to]`.
fn boxes(data: &[u8], from: usize, to: usize) -> impl Iterator<Item = BoxAt<'_>> {
    let mut at = from;
    std::iter::from_fn(move || {
        if at >= to {
            return None;
        }
        let size32 = be_u32(data, at)?;
        let kind = take(data, at + 4, 4)?;
        let (header, size) = match size32 {
            0 => (8, (to - at) as u64),
            1 => (16, be_u64(data, at + 8)?),
            n => (8, u64::from(n)),
        };
        if size < header {
            return None;
        }
        let end = at.checked_add(usize::try_from(size).ok()?)?;
        let item = BoxAt {
            kind,
            body: at + header as usize,
            end: end.min(to),
        };
        at = end;
        Some(item)
    })
}

/// The largest `ispe` (image spatial extents) among the properties of `meta > iprp > ipco`:
/// a grid image lists its tiles too, and the largest is the whole image.
pub(super) fn ispe(data: &[u8]) -> Option<Dimensions> {
    let child = |parent: &BoxAt<'_>, skip: usize, kind: &[u8]| {
        boxes(data, parent.body + skip, parent.end).find(|b| b.kind == kind)
    };
    let meta = boxes(data, 0, data.len()).find(|b| b.kind == b"meta")?;
    let iprp = child(&meta, 4, b"iprp")?; // meta is a FullBox: 4 bytes of version and flags
    let ipco = child(&iprp, 0, b"ipco")?;
    boxes(data, ipco.body, ipco.end)
        .filter(|b| b.kind == b"ispe")
        .filter_map(|b| nonzero(be_u32(data, b.body + 4)?, be_u32(data, b.body + 8)?))
        .max_by_key(|d| d.pixels())
}
