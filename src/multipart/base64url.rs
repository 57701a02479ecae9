//! base64url without padding (RFC 4648, section 5, <https://www.rfc-editor.org/rfc/rfc4648#section-5>),
//! the encoding of a sealed record's payload and MAC: written twelve bits at a time from a
//! table of character pairs, each six input bytes stored as one eight-byte word, twelve bytes
//! read as two overlapping eight-byte words.
//!
//! The `base64` crate's general-purpose engine looks up and stores one character at a time;
//! for the few hundred bytes of an upload token that was a fifth of its sealing time
//! (`doc/benchmarks.md`). Decoding stays with the crate: it runs only when a record is opened.

/// The 64 characters, in the order of their values.
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// The two characters of every 12-bit value, the first in the low byte (so a word of four
/// pairs is the characters in order when stored little-endian): 8 KiB.
static PAIRS: [u16; 4096] = {
    let mut pairs = [0u16; 4096];
    let mut value = 0;
    while value < 4096 {
        pairs[value] = ALPHABET[value >> 6] as u16 | (ALPHABET[value & 63] as u16) << 8;
        value += 1;
    }
    pairs
};

/// The length of the encoding of `len` bytes: four characters per three bytes, and two or
/// three for a last group of one or two bytes.
pub(super) const fn encoded_len(len: usize) -> usize {
    len / 3 * 4 + [0, 2, 3][len % 3]
}

/// Appends the encoding of `bytes` to `out`.
pub(super) fn push(out: &mut Vec<u8>, bytes: &[u8]) {
    let at = out.len();
    out.resize(at + encoded_len(bytes.len()), 0);
    encode(bytes, &mut out[at..]);
}

/// The pair of the 12-bit value at `shift` in `bits`.
#[inline(always)]
fn pair(bits: u64, shift: u32) -> u64 {
    u64::from(PAIRS[(bits >> shift) as usize & 0xfff])
}

/// The eight characters of the low 48 bits of `bits`, in order when stored little-endian.
#[inline(always)]
fn chars_of(bits: u64) -> u64 {
    pair(bits, 36) | pair(bits, 24) << 16 | pair(bits, 12) << 32 | pair(bits, 0) << 48
}

/// Writes the encoding of `bytes` into `out`, exactly [`encoded_len`] long.
fn encode(bytes: &[u8], out: &mut [u8]) {
    debug_assert_eq!(out.len(), encoded_len(bytes.len()));
    // Twelve bytes at a time: two eight-byte loads (bytes 0 to 7 and 4 to 11, each giving six)
    // and two eight-byte stores.
    let mut pairs_of_groups = bytes.chunks_exact(12);
    let mut pairs_of_words = out.chunks_exact_mut(16);
    for (group, words) in (&mut pairs_of_groups).zip(&mut pairs_of_words) {
        let (first, second) = words.split_at_mut(8);
        // `chars_of` reads the low 48 bits: bytes 6 to 11 of `low`, all of `high`.
        let high = u64::from_be_bytes(group[..8].try_into().unwrap_or_default()) >> 16;
        let low = u64::from_be_bytes(group[4..].try_into().unwrap_or_default());
        first.copy_from_slice(&chars_of(high).to_le_bytes());
        second.copy_from_slice(&chars_of(low).to_le_bytes());
    }
    let done = bytes.len() / 12 * 12;
    let (bytes, out) = (&bytes[done..], &mut out[done / 3 * 4..]);
    let mut groups = bytes.chunks_exact(6);
    let mut words = out.chunks_exact_mut(8);
    for (group, word) in (&mut groups).zip(&mut words) {
        let bits = u64::from_be_bytes([
            0, 0, group[0], group[1], group[2], group[3], group[4], group[5],
        ]);
        word.copy_from_slice(&chars_of(bits).to_le_bytes());
    }
    let rest = groups.remainder();
    let out = &mut out[bytes.len() / 6 * 8..];
    let (three, last) = rest.split_at(rest.len() / 3 * 3);
    let out = if let [a, b, c] = *three {
        let bits = u64::from(a) << 16 | u64::from(b) << 8 | u64::from(c);
        let chars = (pair(bits, 12) | pair(bits, 0) << 16) as u32;
        out[..4].copy_from_slice(&chars.to_le_bytes());
        &mut out[4..]
    } else {
        out
    };
    match *last {
        [a] => out.copy_from_slice(&(pair(u64::from(a) << 4, 0) as u16).to_le_bytes()),
        [a, b] => {
            let bits = u64::from(a) << 8 | u64::from(b);
            out[..2].copy_from_slice(&(pair(bits, 4) as u16).to_le_bytes());
            out[2] = ALPHABET[(bits as usize & 0xf) << 2];
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use proptest::prelude::*;

    #[test]
    fn encodes_as_the_base64_crate_at_every_length() {
        let bytes: Vec<u8> = (0..=255u8)
            .chain((0..=255u8).rev())
            .cycle()
            .take(700)
            .collect();
        for len in 0..bytes.len() {
            for start in [0, 1, 255] {
                let input = &bytes[start..start + len.min(bytes.len() - start)];
                let mut out = b"v1.".to_vec();
                push(&mut out, input);
                assert_eq!(out[..3], *b"v1.");
                assert_eq!(
                    std::str::from_utf8(&out[3..]).unwrap(),
                    URL_SAFE_NO_PAD.encode(input),
                    "{} bytes from {start}",
                    input.len()
                );
            }
        }
    }

    #[test]
    fn every_pair_of_characters_in_every_place() {
        // Each 12-bit value (a pair of characters) in each of the four places of a six-byte
        // word and the two of a three-byte group, then after them a last byte or two; and
        // the same again after it, for the twelve-byte steps.
        for value in 0..4096u64 {
            let bits = value << 36 | value << 24 | value << 12 | value;
            let mut input = bits.to_be_bytes()[2..].to_vec();
            input.extend_from_slice(&(value << 12 | value).to_be_bytes()[5..]);
            input.extend_from_slice(&(value << 4).to_be_bytes()[6..]);
            // Twice over: twelve bytes and more take the loop of two words a step.
            input.extend_from_slice(&input.clone());
            for len in [6, 9, 10, 11, 12, 18, 20, 22] {
                let mut out = Vec::new();
                push(&mut out, &input[..len]);
                assert_eq!(
                    out,
                    URL_SAFE_NO_PAD.encode(&input[..len]).as_bytes(),
                    "{value:#05x}, {len} bytes"
                );
            }
        }
    }

    proptest! {
        #[test]
        fn any_bytes_encode_as_the_base64_crate(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let mut out = Vec::new();
            push(&mut out, &bytes);
            prop_assert_eq!(out.len(), encoded_len(bytes.len()));
            prop_assert_eq!(String::from_utf8(out).unwrap(), URL_SAFE_NO_PAD.encode(&bytes));
        }
    }
}
