//! MP3 without an ID3 tag: the header of an MPEG audio frame
//! (ISO/IEC 11172-3 2.4.1.3; <http://www.mp3-tech.org/programmer/frame_header.html>).

/// Whether `data` starts with a plausible MPEG-1/2/2.5 layer III frame header: 11 sync bits,
/// a version other than the reserved one, layer III, and neither the "bad" bitrate index nor
/// the reserved sampling rate. AAC's ADTS header (layer bits 00) is not taken for MP3.
pub(super) fn mp3_frame(data: &[u8]) -> bool {
    let [a, b, c, ..] = data else {
        return false;
    };
    let sync = *a == 0xFF && b & 0xE0 == 0xE0;
    let version = (b >> 3) & 0b11;
    let layer = (b >> 1) & 0b11;
    let bitrate = c >> 4;
    let rate = (c >> 2) & 0b11;
    sync && version != 0b01 && layer == 0b01 && bitrate != 0xF && rate != 0b11
}
