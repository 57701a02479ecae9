//! SHA-256 resumed from a saved state: the HMAC of a string to sign whose key pads, and whose
//! first block within one second, are the same for every URL, so they are compressed once and
//! kept as eight words instead of being hashed again (or copied as a whole hasher) per URL.
//!
//! SHA-256 and its padding: FIPS 180-4, sections 5.1.1, 5.3.3 and 6.2,
//! <https://nvlpubs.nist.gov/nistpubs/FIPS/NIST.FIPS.180-4.pdf>; HMAC: RFC 2104,
//! <https://www.rfc-editor.org/rfc/rfc2104>. The compression itself is `sha2`'s (SHA-NI when
//! the CPU has it), given all the blocks at hand in one call: each call loads and stores the
//! state and checks the CPU's features again.

/// The SHA-256 block size in bytes.
pub(crate) const BLOCK: usize = 64;

/// The initial hash value H(0) of SHA-256 (FIPS 180-4, section 5.3.3).
const INITIAL: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// The longest tail [`Sha256State::finish`] takes: two blocks less the padding's nine bytes
/// would do for a string to sign; three blocks leave room for any region's scope.
pub(crate) const MAX_TAIL: usize = 3 * BLOCK - 9;

/// The state of a SHA-256 after a whole number of blocks.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sha256State {
    words: [u32; 8],
    /// Bytes absorbed so far (a multiple of [`BLOCK`]).
    len: u64,
}

impl Sha256State {
    /// The state before any input.
    pub(crate) const fn new() -> Self {
        Self {
            words: INITIAL,
            len: 0,
        }
    }

    /// The state after the blocks of `words` (as [`Sha256State::words`] gave them), `len`
    /// bytes in all.
    pub(crate) const fn from_words(words: [u32; 8], len: u64) -> Self {
        Self { words, len }
    }

    /// The eight state words (to keep the state elsewhere).
    pub(crate) const fn words(&self) -> [u32; 8] {
        self.words
    }

    /// Bytes absorbed so far.
    pub(crate) const fn len(&self) -> u64 {
        self.len
    }

    /// Absorbs one whole block.
    pub(crate) fn absorb(&mut self, block: &[u8; BLOCK]) {
        self.absorb_blocks(std::slice::from_ref(block));
    }

    /// Absorbs whole blocks, in one call of the compression function.
    pub(crate) fn absorb_blocks(&mut self, blocks: &[[u8; BLOCK]]) {
        sha2_blocks::block_api::compress256(&mut self.words, blocks);
        self.len += (blocks.len() * BLOCK) as u64;
    }

    /// The digest of everything absorbed followed by `tail`, padded as FIPS 180-4 (5.1.1)
    /// says: a 1 bit, zeros, and the message length in bits, big-endian. `None` when `tail`
    /// is longer than [`MAX_TAIL`].
    pub(crate) fn finish(self, tail: &[u8]) -> Option<[u8; 32]> {
        if tail.len() > MAX_TAIL {
            return None;
        }
        let mut blocks = [0u8; 3 * BLOCK];
        blocks[..tail.len()].copy_from_slice(tail);
        Some(self.finish_in_place(&mut blocks, tail.len()))
    }

    /// [`Sha256State::finish`] of a 32-byte tail after one absorbed block (the outer hash of
    /// an HMAC-SHA256): one block, built on the stack with its padding, nothing else zeroed.
    pub(crate) fn finish_digest(self, tail: &[u8; 32]) -> [u8; 32] {
        let mut block = [0u8; BLOCK];
        block[..32].copy_from_slice(tail);
        block[32] = 0x80;
        let bits = (self.len + 32) * 8;
        block[BLOCK - 8..].copy_from_slice(&bits.to_be_bytes());
        let mut state = self;
        state.absorb(&block);
        state.digest()
    }

    /// The digest: the eight state words, big-endian.
    fn digest(&self) -> [u8; 32] {
        let mut digest = [0u8; 32];
        for (out, word) in digest.chunks_exact_mut(4).zip(self.words) {
            out.copy_from_slice(&word.to_be_bytes());
        }
        digest
    }

    /// [`Sha256State::finish`] of a tail already written at the start of `blocks` (its
    /// first `len` bytes, at most [`MAX_TAIL`]; the bytes after it are zero): the padding is
    /// written around it in place, so a caller that builds the tail there copies it no more.
    pub(crate) fn finish_in_place(mut self, blocks: &mut [u8; 3 * BLOCK], len: usize) -> [u8; 32] {
        debug_assert!(len <= MAX_TAIL, "a tail of {len} bytes");
        let len = len.min(MAX_TAIL);
        blocks[len] = 0x80;
        let used = (len + 9).div_ceil(BLOCK) * BLOCK;
        let bits = (self.len + len as u64) * 8;
        blocks[used - 8..used].copy_from_slice(&bits.to_be_bytes());
        self.absorb_blocks(blocks[..used].as_chunks().0);
        self.digest()
    }
}

/// How many bytes [`Sha256Stream`] gathers before it compresses them: eight blocks, a whole
/// canonical request of a presigned URL without a session token (about 450 bytes).
const STREAM_BUFFER: usize = 8 * BLOCK;

/// A SHA-256 fed piece by piece (a canonical request), gathered on the stack and compressed
/// in place: appending a short piece is one bounds check and one copy, with no block
/// boundary to watch, and the blocks are compressed when the buffer is full or at the end.
/// A piece that does not fit fills the buffer, and its whole blocks after that are
/// compressed where they lie.
pub(crate) struct Sha256Stream {
    state: Sha256State,
    buffer: [u8; STREAM_BUFFER],
    filled: usize,
}

impl Sha256Stream {
    /// A hash of nothing yet.
    pub(crate) const fn new() -> Self {
        Self::resume(Sha256State::new())
    }

    /// A hash that goes on from `state` (the keyed inner state of an HMAC).
    pub(crate) const fn resume(state: Sha256State) -> Self {
        Self {
            state,
            buffer: [0; STREAM_BUFFER],
            filled: 0,
        }
    }

    /// Appends `data`. Inlined into each caller's sequence of pieces, where it is a bounds
    /// check and a copy.
    #[inline(always)]
    pub(crate) fn update(&mut self, data: &[u8]) {
        let end = self.filled + data.len();
        if let Some(slot) = self.buffer.get_mut(self.filled..end) {
            copy_piece(slot, data);
            self.filled = end;
            return;
        }
        self.update_past_buffer(data);
    }

    /// [`Sha256Stream::update`] of a piece that does not fit the buffer.
    fn update_past_buffer(&mut self, data: &[u8]) {
        let (head, rest) = data.split_at(STREAM_BUFFER - self.filled);
        self.buffer[self.filled..].copy_from_slice(head);
        self.state.absorb_blocks(self.buffer.as_chunks().0);
        let (blocks, tail) = rest.as_chunks();
        self.state.absorb_blocks(blocks);
        self.buffer[..tail.len()].copy_from_slice(tail);
        self.filled = tail.len();
    }

    /// The digest of everything appended. When the padding fits after what is gathered (a
    /// canonical request of up to 503 bytes), it is written there and every block goes to
    /// the compression function in one call.
    /// Called once: it pads the buffer in place.
    pub(crate) fn finish(&mut self) -> [u8; 32] {
        let len = self.filled;
        let used = (len + 9).div_ceil(BLOCK) * BLOCK;
        let Some(padded) = self.buffer.get_mut(..used) else {
            let (blocks, tail) = self.buffer[..len].as_chunks();
            self.state.absorb_blocks(blocks);
            // Less than a block is left, which always fits `finish`.
            return self.state.finish(tail).unwrap_or_default();
        };
        // Past `len` the buffer may hold bytes of a piece compressed before.
        padded[len] = 0x80;
        padded[len + 1..used - 8].fill(0);
        let bits = (self.state.len + len as u64) * 8;
        padded[used - 8..].copy_from_slice(&bits.to_be_bytes());
        self.state.absorb_blocks(padded.as_chunks().0);
        self.state.digest()
    }
}

/// Copies `src` into `dst` (of the same length). Most pieces of a canonical request are a
/// few bytes (a method, a header name or value, a separator): up to 32 bytes they are copied
/// as two overlapping fixed-size moves, which compile to a few loads and stores, instead of
/// a call to `memcpy` (through the PLT) per piece; longer ones go to `memcpy`.
#[inline]
fn copy_piece(dst: &mut [u8], src: &[u8]) {
    let n = src.len();
    debug_assert_eq!(
        n,
        dst.len(),
        "a piece copied into a slice of another length"
    );
    if n != dst.len() {
        return;
    }
    match n {
        0 => {}
        1..=3 => {
            dst[0] = src[0];
            dst[n / 2] = src[n / 2];
            dst[n - 1] = src[n - 1];
        }
        4..=7 => {
            dst[..4].copy_from_slice(&src[..4]);
            dst[n - 4..].copy_from_slice(&src[n - 4..]);
        }
        8..=16 => {
            dst[..8].copy_from_slice(&src[..8]);
            dst[n - 8..].copy_from_slice(&src[n - 8..]);
        }
        17..=32 => {
            dst[..16].copy_from_slice(&src[..16]);
            dst[n - 16..].copy_from_slice(&src[n - 16..]);
        }
        _ => dst.copy_from_slice(src),
    }
}

/// The first block a thread's last [`HmacStates::mac`] absorbed, with the state it started
/// from and the state after it. The first block of an upload token's MAC (its label, key id
/// and the start of its payload: the principal and profile) is the same for a principal's
/// grants in a row, so a thread that sees it again compares 64 bytes instead of compressing
/// them.
#[derive(Clone, Copy)]
struct FirstBlock {
    from: Sha256State,
    block: [u8; BLOCK],
    to: Sha256State,
}

thread_local! {
    static LAST_FIRST_BLOCK: std::cell::Cell<Option<FirstBlock>> =
        const { std::cell::Cell::new(None) };
}

impl FirstBlock {
    /// `from` after `block`: the remembered state when they are the last ones, else
    /// compressed (and remembered; compressed only, while the thread's storage is torn down).
    fn absorbed(from: Sha256State, block: &[u8; BLOCK]) -> Sha256State {
        LAST_FIRST_BLOCK
            .try_with(|last| {
                if let Some(seen) = last.get()
                    && seen.from == from
                    && seen.block == *block
                {
                    return seen.to;
                }
                let to = Self::compressed(from, block);
                last.set(Some(Self {
                    from,
                    block: *block,
                    to,
                }));
                to
            })
            .unwrap_or_else(|_| Self::compressed(from, block))
    }

    /// `from` after `block`, compressed, nothing remembered.
    fn compressed(from: Sha256State, block: &[u8; BLOCK]) -> Sha256State {
        let mut to = from;
        to.absorb(block);
        to
    }
}

/// The two keyed states of HMAC-SHA256 (RFC 2104): after `key XOR ipad` and after
/// `key XOR opad`, for a key of at most one block.
#[derive(Clone, Copy)]
pub(crate) struct HmacStates {
    /// The inner hash's state, one block absorbed.
    pub(crate) inner: Sha256State,
    /// The outer hash's state, one block absorbed.
    pub(crate) outer: Sha256State,
}

impl HmacStates {
    /// The states of `key` (32 bytes: a SigV4 signing key).
    pub(crate) fn new(key: &[u8; 32]) -> Self {
        Self::for_key(key)
    }

    /// The states of a key of any length: one longer than a block is hashed first, a shorter
    /// one padded with zeros (RFC 2104, section 2).
    pub(crate) fn for_key(key: &[u8]) -> Self {
        let hashed;
        let key = if key.len() > BLOCK {
            let mut long = Sha256Stream::new();
            long.update(key);
            hashed = long.finish();
            &hashed[..]
        } else {
            key
        };
        let pad = |byte: u8| {
            let mut block = [byte; BLOCK];
            for (out, k) in block.iter_mut().zip(key) {
                *out ^= k;
            }
            let mut state = Sha256State::new();
            state.absorb(&block);
            state
        };
        Self {
            inner: pad(0x36),
            outer: pad(0x5c),
        }
    }

    /// The HMAC of a message whose start is already in `inner` (resumed from
    /// [`HmacStates::inner`]) and whose rest is `tail`; `None` when `tail` is too long for
    /// [`Sha256State::finish`].
    pub(crate) fn finish(&self, inner: Sha256State, tail: &[u8]) -> Option<[u8; 32]> {
        let inner_digest = inner.finish(tail)?;
        Some(self.outer.finish_digest(&inner_digest))
    }

    /// The HMAC of `head` followed by `body`, for a head shorter than a block (a label and a
    /// key id): the first block gathered on the stack, the body's whole blocks after it
    /// compressed where they lie, its last bytes padded on the stack. Nothing is copied but
    /// the head, the first block's share of the body and the tail.
    pub(crate) fn mac(&self, head: &[&[u8]], body: &[u8]) -> [u8; 32] {
        self.mac_with(head, body, FirstBlock::compressed)
    }

    /// [`HmacStates::mac`] of a message the broker made itself (a record it seals), its first
    /// block taken from the thread's [`FirstBlock`] when it is the last one seen. Never for a
    /// message a caller sent (a record being opened): comparing a caller's bytes with the
    /// last sealed record's would tell, by its timing, whether they guessed that record's
    /// start (its principal and profile).
    pub(crate) fn mac_of_own(&self, head: &[&[u8]], body: &[u8]) -> [u8; 32] {
        self.mac_with(head, body, FirstBlock::absorbed)
    }

    /// [`HmacStates::mac`], the first block compressed by `absorb_first`.
    #[inline(always)]
    fn mac_with(
        &self,
        head: &[&[u8]],
        body: &[u8],
        absorb_first: fn(Sha256State, &[u8; BLOCK]) -> Sha256State,
    ) -> [u8; 32] {
        let mut first = [0u8; BLOCK];
        let mut filled = 0;
        for piece in head {
            let Some(slot) = first.get_mut(filled..filled + piece.len()) else {
                return self.mac_streamed(head, body);
            };
            slot.copy_from_slice(piece);
            filled += piece.len();
        }
        let mut inner = self.inner;
        if filled + body.len() < BLOCK {
            first[filled..filled + body.len()].copy_from_slice(body);
            let digest = inner.finish(&first[..filled + body.len()]);
            return self.outer.finish_digest(&digest.unwrap_or_default());
        }
        let (start, rest) = body.split_at(BLOCK - filled);
        first[filled..].copy_from_slice(start);
        inner = absorb_first(inner, &first);
        let (blocks, tail) = rest.as_chunks();
        inner.absorb_blocks(blocks);
        // Less than a block is left, which always fits `finish`.
        let digest = inner.finish(tail).unwrap_or_default();
        self.outer.finish_digest(&digest)
    }

    /// [`HmacStates::mac`] of a head of a block or more.
    #[cold]
    fn mac_streamed(&self, head: &[&[u8]], body: &[u8]) -> [u8; 32] {
        let mut inner = Sha256Stream::resume(self.inner);
        for piece in head {
            inner.update(piece);
        }
        inner.update(body);
        self.outer.finish_digest(&inner.finish())
    }

    /// [`HmacStates::finish`] of a tail already written at the start of `blocks` (see
    /// [`Sha256State::finish_in_place`]).
    pub(crate) fn finish_in_place(
        &self,
        inner: Sha256State,
        blocks: &mut [u8; 3 * BLOCK],
        len: usize,
    ) -> [u8; 32] {
        let inner_digest = inner.finish_in_place(blocks, len);
        self.outer.finish_digest(&inner_digest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::Mac;
    use sha2::{Digest, Sha256};

    #[test]
    fn finishes_as_sha256_at_every_length() {
        let message: Vec<u8> = (0..=255u8).cycle().take(400).collect();
        for len in 0..message.len() {
            let whole = len / BLOCK * BLOCK;
            let mut state = Sha256State::new();
            for block in message[..whole].chunks_exact(BLOCK) {
                state.absorb(block.try_into().unwrap());
            }
            let tail = &message[whole..len];
            let expected: [u8; 32] = Sha256::digest(&message[..len]).into();
            assert_eq!(state.finish(tail), Some(expected), "length {len}");
        }
        assert_eq!(Sha256State::new().finish(&[0; MAX_TAIL + 1]), None);
    }

    #[test]
    fn finishes_a_digest_after_a_block_as_sha256() {
        let message: Vec<u8> = (0..96u8).collect();
        let mut state = Sha256State::new();
        state.absorb(message[..BLOCK].try_into().unwrap());
        let expected: [u8; 32] = Sha256::digest(&message).into();
        assert_eq!(
            state.finish_digest(message[BLOCK..].try_into().unwrap()),
            expected
        );
    }

    #[test]
    fn copies_pieces_of_every_length() {
        let src: Vec<u8> = (1..=80u8).collect();
        for n in 0..=src.len() {
            let mut dst = vec![0u8; n];
            copy_piece(&mut dst, &src[..n]);
            assert_eq!(dst, &src[..n], "{n} bytes");
        }
    }

    #[test]
    fn streams_as_sha256_in_any_pieces() {
        let message: Vec<u8> = (0..=255u8).cycle().take(2000).collect();
        for piece in [1, 3, 63, 64, 65, 200, 511, 512, 513, 700, 2000] {
            let mut stream = Sha256Stream::new();
            for chunk in message.chunks(piece) {
                stream.update(chunk);
            }
            let expected: [u8; 32] = Sha256::digest(&message).into();
            assert_eq!(stream.finish(), expected, "pieces of {piece}");
        }
        // Pieces of mixed lengths, short ones around some that overflow the buffer.
        let mut stream = Sha256Stream::new();
        let mut at = 0;
        for len in [3, 70, 1, 600, 5, 0, 64, 900].into_iter().cycle() {
            let end = (at + len).min(message.len());
            stream.update(&message[at..end]);
            at = end;
            if at == message.len() {
                break;
            }
        }
        assert_eq!(stream.finish(), <[u8; 32]>::from(Sha256::digest(&message)));
        assert_eq!(
            Sha256Stream::new().finish(),
            <[u8; 32]>::from(Sha256::digest(b""))
        );
    }

    #[test]
    fn hmac_of_head_and_body_matches_the_hmac_crate_for_keys_of_any_length() {
        let message: Vec<u8> = (0..=255u8).cycle().take(900).collect();
        for key_len in [0, 1, 32, 63, 64, 65, 100, 200] {
            let key: Vec<u8> = (0..key_len).map(|i| (i * 7 + 3) as u8).collect();
            let states = HmacStates::for_key(&key);
            for len in [0, 1, 29, 55, 56, 63, 64, 65, 120, 311, 320, 512, 513, 900] {
                let mut mac = hmac::Hmac::<Sha256>::new_from_slice(&key).unwrap();
                mac.update(&message[..len]);
                let expected: [u8; 32] = mac.finalize().into_bytes().into();
                // Heads of one piece and of several, shorter than a block or not.
                for head_len in [0, 1, 29, 63, 64, 70] {
                    let (head, body) = message[..len].split_at(len.min(head_len));
                    let (a, b) = head.split_at(head.len() / 3);
                    let case = format!("key {key_len}, {len} bytes, head {head_len}");
                    assert_eq!(states.mac(&[head], body), expected, "{case}");
                    assert_eq!(states.mac(&[a, b], body), expected, "{case}");
                    // Twice: the second finds its first block remembered.
                    for _ in 0..2 {
                        assert_eq!(states.mac_of_own(&[a, b], body), expected, "{case}");
                    }
                }
            }
        }
    }

    #[test]
    fn hmac_matches_the_hmac_crate() {
        let key = [0x0bu8; 32];
        let states = HmacStates::new(&key);
        for len in [0, 1, 55, 56, 63, 64, 65, 136, MAX_TAIL] {
            let message = vec![b'a'; len];
            let mut mac = hmac::Hmac::<Sha256>::new_from_slice(&key).unwrap();
            mac.update(&message);
            let expected: [u8; 32] = mac.finalize().into_bytes().into();
            assert_eq!(
                states.finish(states.inner, &message),
                Some(expected),
                "{len}"
            );
        }
    }
}
