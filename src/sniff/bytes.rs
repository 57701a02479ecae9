//! Bounded reads: every helper answers `None` instead of reading past the slice.

/// `len` bytes at `at`, if the slice holds them.
pub(super) fn take(data: &[u8], at: usize, len: usize) -> Option<&[u8]> {
    data.get(at..at.checked_add(len)?)
}

/// A big-endian `u16` at `at`.
pub(super) fn be_u16(data: &[u8], at: usize) -> Option<u16> {
    take(data, at, 2).map(|b| u16::from_be_bytes([b[0], b[1]]))
}

/// A big-endian `u32` at `at`.
pub(super) fn be_u32(data: &[u8], at: usize) -> Option<u32> {
    take(data, at, 4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// A big-endian `u64` at `at`.
pub(super) fn be_u64(data: &[u8], at: usize) -> Option<u64> {
    take(data, at, 8).map(|b| u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
}

/// A little-endian `u16` at `at`.
pub(super) fn le_u16(data: &[u8], at: usize) -> Option<u16> {
    take(data, at, 2).map(|b| u16::from_le_bytes([b[0], b[1]]))
}

/// A little-endian 24-bit number at `at`.
pub(super) fn le_u24(data: &[u8], at: usize) -> Option<u32> {
    take(data, at, 3).map(|b| u32::from_le_bytes([b[0], b[1], b[2], 0]))
}

/// A little-endian `u32` at `at`.
pub(super) fn le_u32(data: &[u8], at: usize) -> Option<u32> {
    take(data, at, 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Whether `data` holds `pattern` at `at`.
pub(super) fn has(data: &[u8], at: usize, pattern: &[u8]) -> bool {
    take(data, at, pattern.len()) == Some(pattern)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_stop_at_the_end() {
        let d = [1, 2, 3, 4];
        assert_eq!(be_u32(&d, 0), Some(0x0102_0304));
        assert_eq!(be_u32(&d, 1), None);
        assert_eq!(le_u16(&d, 3), None);
        assert_eq!(take(&d, usize::MAX, 2), None);
        assert!(has(&d, 2, &[3, 4]) && !has(&d, 3, &[4, 5]));
    }
}
