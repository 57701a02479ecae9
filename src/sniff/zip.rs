//! ZIP archives and the Office Open XML packages inside them: the names of the local file
//! headers found in what was read
//! (<https://pkware.cachefly.net/webdocs/casestudies/APPNOTE.TXT>, 4.3.7; ECMA-376 Part 2).

use super::bytes::{has, le_u16, take};
use super::kind::Kind;

const LOCAL_HEADER: &[u8] = b"PK\x03\x04";

/// The kind of a ZIP archive from its entry names: an OOXML package names its main part's
/// folder (`word/`, `xl/`, `ppt/`); `[Content_Types].xml` without such a folder among the
/// entries read is an OOXML package of unknown type; anything else is a plain archive.
/// Local headers are found by their signature, so entries written with a data descriptor
/// (sizes unknown in the header) do not stop the walk.
pub(super) fn classify(data: &[u8]) -> Kind {
    let mut content_types = false;
    let mut at = 0;
    while let Some(found) = find(data, at) {
        at = found + LOCAL_HEADER.len();
        let Some(name) = entry_name(data, found) else {
            continue;
        };
        if name.starts_with(b"word/") {
            return Kind::Docx;
        }
        if name.starts_with(b"xl/") {
            return Kind::Xlsx;
        }
        if name.starts_with(b"ppt/") {
            return Kind::Pptx;
        }
        content_types |= name == b"[Content_Types].xml";
    }
    if content_types {
        Kind::Ooxml
    } else {
        Kind::Zip
    }
}

/// Whether `data` starts like a ZIP archive: a local file header, or the end of central
/// directory record of an empty archive.
pub(super) fn is_zip(data: &[u8]) -> bool {
    has(data, 0, LOCAL_HEADER) || has(data, 0, b"PK\x05\x06")
}

fn find(data: &[u8], from: usize) -> Option<usize> {
    data.get(from..)?
        .windows(LOCAL_HEADER.len())
        .position(|w| w == LOCAL_HEADER)
        .map(|p| from + p)
}

/// The file name of the local header at `at`: its length at offset 26, the name at 30.
fn entry_name(data: &[u8], at: usize) -> Option<&[u8]> {
    let len = usize::from(le_u16(data, at + 26)?);
    take(data, at + 30, len)
}
