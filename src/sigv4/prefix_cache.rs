//! The keyed HMAC state after the string to sign's first whole block, kept for the second it
//! belongs to.
//!
//! A string to sign starts with `AWS4-HMAC-SHA256 \n <X-Amz-Date> \n <scope> \n`
//! (<https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html#request-string>):
//! within one daily key (fixed key and scope) its first 64 bytes change only with the
//! `X-Amz-Date`, once a second. Every URL signed in the same second by the same key shares
//! them, so their SHA-256 block is compressed once and its state reused: a presign hashes
//! eleven blocks instead of twelve. A URL of another second just compresses the block itself
//! and stores its state for the next.
//!
//! The slot is a sequence lock over plain atomics: a reader copies the date and the eight
//! state words with relaxed loads between two reads of the sequence number, and uses them only
//! when the number was even and unchanged (no writer in between); a writer makes the number
//! odd, writes, and makes it even again, and gives up when another writer is at work. Readers
//! never write to shared memory, so signing threads do not contend for the slot.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering, fence};

/// One saved state: the `X-Amz-Date` (16 ASCII bytes, as two words) it was made for and
/// the eight SHA-256 words after the block.
pub(crate) struct PrefixCache {
    sequence: AtomicU32,
    amz_date: [AtomicU64; 2],
    words: [AtomicU32; 8],
}

/// The `X-Amz-Date` as the two words the slot compares.
fn date_words(amz_date: &[u8; 16]) -> [u64; 2] {
    let (high, low) = amz_date.split_at(8);
    [
        u64::from_le_bytes(high.try_into().unwrap_or_default()),
        u64::from_le_bytes(low.try_into().unwrap_or_default()),
    ]
}

impl PrefixCache {
    /// An empty slot (no `X-Amz-Date` is all zero bytes).
    pub(crate) fn new() -> Self {
        Self {
            sequence: AtomicU32::new(0),
            amz_date: Default::default(),
            words: Default::default(),
        }
    }

    /// The saved state words for `amz_date`, if this slot holds them.
    pub(crate) fn get(&self, amz_date: &[u8; 16]) -> Option<[u32; 8]> {
        let before = self.sequence.load(Ordering::Acquire);
        if before & 1 == 1 {
            return None;
        }
        let date = self.amz_date.each_ref().map(|w| w.load(Ordering::Relaxed));
        let words = self.words.each_ref().map(|w| w.load(Ordering::Relaxed));
        fence(Ordering::Acquire);
        let after = self.sequence.load(Ordering::Relaxed);
        (before == after && date == date_words(amz_date)).then_some(words)
    }

    /// Saves `words` as the state for `amz_date`, unless another thread is saving one.
    pub(crate) fn put(&self, amz_date: &[u8; 16], words: [u32; 8]) {
        let sequence = self.sequence.load(Ordering::Relaxed);
        if sequence & 1 == 1
            || self
                .sequence
                .compare_exchange(
                    sequence,
                    sequence.wrapping_add(1),
                    Ordering::Acquire,
                    Ordering::Relaxed,
                )
                .is_err()
        {
            return;
        }
        fence(Ordering::Release);
        for (slot, word) in self.amz_date.iter().zip(date_words(amz_date)) {
            slot.store(word, Ordering::Relaxed);
        }
        for (slot, word) in self.words.iter().zip(words) {
            slot.store(word, Ordering::Relaxed);
        }
        self.sequence
            .store(sequence.wrapping_add(2), Ordering::Release);
    }
}

impl std::fmt::Debug for PrefixCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PrefixCache(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn holds_one_date_at_a_time() {
        let cache = PrefixCache::new();
        let (noon, later) = (*b"20260501T120000Z", *b"20260501T120001Z");
        assert_eq!(cache.get(&noon), None);
        cache.put(&noon, [1; 8]);
        assert_eq!(cache.get(&noon), Some([1; 8]));
        assert_eq!(cache.get(&later), None);
        cache.put(&later, [2; 8]);
        assert_eq!(cache.get(&later), Some([2; 8]));
        assert_eq!(cache.get(&noon), None);
    }

    #[test]
    fn readers_never_see_a_torn_state() {
        // Each date's words are all equal to a number of that date: a reader that mixed two
        // writes would see unequal words or words of another date.
        let cache = Arc::new(PrefixCache::new());
        let date = |i: u32| {
            let mut d = *b"20260501T000000Z";
            d[9..15].copy_from_slice(format!("{:06}", i % 4).as_bytes());
            d
        };
        let writers: Vec<_> = (0..2)
            .map(|t| {
                let cache = Arc::clone(&cache);
                std::thread::spawn(move || {
                    for i in 0..20_000u32 {
                        let n = (i + t) % 4;
                        cache.put(&date(n), [n; 8]);
                    }
                })
            })
            .collect();
        for i in 0..40_000u32 {
            let n = i % 4;
            if let Some(words) = cache.get(&date(n)) {
                assert_eq!(words, [n; 8]);
            }
        }
        for writer in writers {
            writer.join().unwrap();
        }
    }
}
