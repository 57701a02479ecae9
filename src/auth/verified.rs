//! A bounded cache of verified tokens (HS, RS, PS, ES, EdDSA), so that a token used again (a
//! browser session sends the same one for its whole life) costs a hash and a lookup instead of
//! a signature verification and the parsing and checks of its claims.
//!
//! Rules (see `doc/security.md`, "Verified-token cache"):
//! - the key is the SHA-256 of the whole compact JWS: a token that differs in any byte (a
//!   tampered payload or signature) has another digest and never hits;
//! - an entry is served only while `now < exp` (the leeway never extends a cached token) and
//!   `now + leeway >= nbf`;
//! - an entry verified with a key from the JWKS is tied to that key set: once the JWKS is
//!   replaced (a refresh or a rotation), the entry is dropped and the token verified again, so a
//!   key the issuer removed stops authenticating at once;
//! - at most `capacity` entries, evicted by the CLOCK algorithm (second chance: an entry hit
//!   since the hand last passed survives one more round).
//!
//! HMAC tokens are cached too: their secrets come from the configuration only (JWKS `oct` keys
//! are never used), so, like a configured public key, they change only with a restart. The
//! HMAC itself costs about what the token's SHA-256 costs; the lookup saves decoding and
//! parsing the payload and checking its claims (`benches/auth.rs`: `hs256` against
//! `hs256_uncached`).

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::domain::Principal;

use super::claims::Validity;
use super::keys::KeySet;

/// The SHA-256 of a token.
pub(crate) type TokenDigest = [u8; 32];

/// The digest a token is cached under.
pub(crate) fn digest(token: &str) -> TokenDigest {
    Sha256::digest(token.as_bytes()).into()
}

/// A verified token's outcome.
#[derive(Debug, Clone)]
pub(crate) struct Verified {
    /// Who the token names.
    pub principal: Principal,
    /// `exp` and `nbf`.
    pub validity: Validity,
    /// The JWKS key set the verifying key came from; `None` for a key from configuration
    /// (which only changes with a restart).
    pub key_set: Option<Weak<KeySet>>,
}

/// What [`VerifiedTokens::lookup`] found.
#[derive(Debug)]
pub(crate) enum Lookup {
    /// A usable entry: its principal.
    Hit(Principal),
    /// An entry verified with a JWKS key: usable only if that key set is still the current one.
    NeedsKeySet,
    /// No usable entry (a stale one is dropped).
    Miss,
}

/// Hashes a token digest by its first eight bytes: a SHA-256 output is uniform already, and
/// only tokens that verified are ever inserted, so no caller picks where an entry lands.
#[derive(Debug, Default, Clone, Copy)]
struct DigestHasher(u64);

impl std::hash::Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // A digest is hashed as its length (8 bytes), then its 32 bytes: the last write wins.
        let mut first = [0u8; 8];
        let n = bytes.len().min(8);
        first[..n].copy_from_slice(&bytes[..n]);
        self.0 = u64::from_le_bytes(first);
    }
}

/// A bounded map from token digest to [`Verified`].
#[derive(Debug)]
pub(crate) struct VerifiedTokens {
    capacity: usize,
    inner: Mutex<Clock>,
}

#[derive(Debug, Default)]
struct Clock {
    index: HashMap<TokenDigest, usize, BuildHasherDefault<DigestHasher>>,
    slots: Vec<Slot>,
    hand: usize,
}

#[derive(Debug)]
struct Slot {
    digest: TokenDigest,
    entry: Option<Verified>,
    referenced: bool,
}

impl VerifiedTokens {
    /// A cache of at most `capacity` tokens; `None` when `capacity` is 0 (disabled).
    pub(crate) fn new(capacity: usize) -> Option<Self> {
        (capacity > 0).then(|| Self {
            capacity,
            inner: Mutex::new(Clock::default()),
        })
    }

    /// The principal of a cached token that is still valid at `now` with `leeway_secs` for
    /// `nbf`, whose key set (if from the JWKS) is still `current`. A stale entry is dropped.
    pub(crate) fn get(
        &self,
        digest: &TokenDigest,
        now: DateTime<Utc>,
        leeway_secs: u64,
        current: Option<&Arc<KeySet>>,
    ) -> Option<Principal> {
        match self.serve(digest, now, leeway_secs, Some(current)) {
            Lookup::Hit(principal) => Some(principal),
            Lookup::NeedsKeySet | Lookup::Miss => None,
        }
    }

    /// As [`VerifiedTokens::get`], before the JWKS key set is known: an entry verified with a
    /// JWKS key is answered [`Lookup::NeedsKeySet`] (then ask [`VerifiedTokens::get`] with the
    /// current set). One lock and one hash for a token verified with a configured key.
    pub(crate) fn lookup(
        &self,
        digest: &TokenDigest,
        now: DateTime<Utc>,
        leeway_secs: u64,
    ) -> Lookup {
        self.serve(digest, now, leeway_secs, None)
    }

    /// `current`: `None` while the key set is not fetched.
    fn serve(
        &self,
        digest: &TokenDigest,
        now: DateTime<Utc>,
        leeway_secs: u64,
        current: Option<Option<&Arc<KeySet>>>,
    ) -> Lookup {
        let mut clock = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(&index) = clock.index.get(digest) else {
            return Lookup::Miss;
        };
        let slot = &mut clock.slots[index];
        let Some(entry) = slot.entry.as_ref() else {
            return Lookup::Miss;
        };
        let current = match current {
            Some(current) => current,
            None if entry.key_set.is_some() => return Lookup::NeedsKeySet,
            None => None,
        };
        if usable(entry, now, leeway_secs, current) {
            slot.referenced = true;
            return Lookup::Hit(entry.principal.clone());
        }
        slot.entry = None;
        slot.referenced = false;
        clock.index.remove(digest);
        Lookup::Miss
    }

    /// Remembers a verified token, evicting another one when full.
    pub(crate) fn insert(&self, digest: TokenDigest, verified: Verified) {
        let mut clock = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let clock = &mut *clock;
        if let Some(&index) = clock.index.get(&digest) {
            clock.slots[index].entry = Some(verified);
            return;
        }
        let slot = Slot {
            digest,
            entry: Some(verified),
            referenced: false,
        };
        if clock.slots.len() < self.capacity {
            clock.index.insert(digest, clock.slots.len());
            clock.slots.push(slot);
            return;
        }
        // Second chance: clear the referenced bits until an unreferenced slot comes up.
        while clock.slots[clock.hand].referenced {
            clock.slots[clock.hand].referenced = false;
            clock.hand = (clock.hand + 1) % self.capacity;
        }
        let victim = clock.hand;
        let old = std::mem::replace(&mut clock.slots[victim], slot);
        if old.entry.is_some() {
            clock.index.remove(&old.digest);
        }
        clock.index.insert(digest, victim);
        clock.hand = (victim + 1) % self.capacity;
    }

    /// How many tokens are cached.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .index
            .len()
    }
}

/// Whether a cached entry may be served: before `exp` (no leeway), not before `nbf` (with the
/// leeway, as when it was verified), and its JWKS key set still the current one.
fn usable(
    entry: &Verified,
    now: DateTime<Utc>,
    leeway_secs: u64,
    current: Option<&Arc<KeySet>>,
) -> bool {
    let now = now.timestamp() as f64;
    let in_time = now < entry.validity.exp
        && entry
            .validity
            .nbf
            .is_none_or(|nbf| now + leeway_secs as f64 >= nbf);
    let key_present = match (&entry.key_set, current) {
        (None, _) => true,
        (Some(set), Some(current)) => std::ptr::eq(set.as_ptr(), Arc::as_ptr(current)),
        (Some(_), None) => false,
    };
    in_time && key_present
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Scopes;

    const NOW: i64 = 1_700_000_000;

    fn at(offset: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(NOW + offset, 0).expect("valid time")
    }

    fn verified(subject: &str, exp_in: i64, key_set: Option<&Arc<KeySet>>) -> Verified {
        Verified {
            principal: Principal::new(subject, Some("https://issuer".into()), Scopes::NONE),
            validity: Validity {
                exp: (NOW + exp_in) as f64,
                nbf: None,
            },
            key_set: key_set.map(Arc::downgrade),
        }
    }

    #[test]
    fn a_reused_token_hits() {
        let cache = VerifiedTokens::new(4).expect("enabled");
        let d = digest("a.b.c");
        assert!(cache.get(&d, at(0), 30, None).is_none(), "cold");
        cache.insert(d, verified("alice", 60, None));
        let hit = cache.get(&d, at(1), 30, None).expect("hit");
        assert_eq!(&*hit.subject, "alice");
    }

    #[test]
    fn a_tampered_token_never_hits() {
        let cache = VerifiedTokens::new(4).expect("enabled");
        cache.insert(digest("a.b.c"), verified("alice", 60, None));
        for other in ["a.b.d", "a.b.c ", "A.b.c", "a.b.c.", "a.bx.c"] {
            assert!(
                cache.get(&digest(other), at(0), 30, None).is_none(),
                "{other}"
            );
        }
    }

    #[test]
    fn entries_expire_at_exp_without_leeway() {
        let cache = VerifiedTokens::new(4).expect("enabled");
        let d = digest("a.b.c");
        cache.insert(d, verified("alice", 60, None));
        assert!(cache.get(&d, at(59), 30, None).is_some());
        assert!(
            cache.get(&d, at(60), 30, None).is_none(),
            "the leeway does not extend a cached token"
        );
        assert_eq!(cache.len(), 0, "the expired entry is dropped");
        assert!(cache.get(&d, at(0), 30, None).is_none(), "and stays gone");
    }

    #[test]
    fn not_before_still_applies() {
        let cache = VerifiedTokens::new(4).expect("enabled");
        let d = digest("a.b.c");
        let mut entry = verified("alice", 600, None);
        entry.validity.nbf = Some((NOW + 100) as f64);
        cache.insert(d, entry);
        assert!(
            cache.get(&d, at(60), 30, None).is_none(),
            "a clock stepped back"
        );
    }

    #[test]
    fn a_rotated_key_set_drops_its_entries() {
        let cache = VerifiedTokens::new(4).expect("enabled");
        let old = Arc::new(KeySet::default());
        let d = digest("a.b.c");
        cache.insert(d, verified("alice", 600, Some(&old)));
        assert!(cache.get(&d, at(0), 30, Some(&old)).is_some());
        let new = Arc::new(KeySet::default());
        assert!(cache.get(&d, at(0), 30, Some(&new)).is_none(), "rotated");
        assert!(cache.get(&d, at(0), 30, Some(&old)).is_none(), "dropped");
        let static_key = digest("s.t.u");
        cache.insert(static_key, verified("bob", 600, None));
        assert!(
            cache.get(&static_key, at(0), 30, Some(&new)).is_some(),
            "keys from configuration do not rotate"
        );
    }

    #[test]
    fn a_lookup_asks_for_the_key_set_only_when_an_entry_needs_it() {
        let cache = VerifiedTokens::new(8).expect("enabled");
        let set = Arc::new(KeySet::default());
        let (tied, plain) = (digest("a.b.c"), digest("d.e.f"));
        cache.insert(tied, verified("alice", 600, Some(&set)));
        cache.insert(plain, verified("bob", 60, None));
        assert!(matches!(
            cache.lookup(&tied, at(0), 30),
            Lookup::NeedsKeySet
        ));
        assert!(matches!(cache.lookup(&plain, at(0), 30), Lookup::Hit(p) if &*p.subject == "bob"));
        assert!(matches!(
            cache.lookup(&digest("x.y.z"), at(0), 30),
            Lookup::Miss
        ));
        assert!(
            matches!(cache.lookup(&plain, at(60), 30), Lookup::Miss),
            "expired"
        );
        assert!(
            matches!(cache.lookup(&plain, at(0), 30), Lookup::Miss),
            "and dropped"
        );
        assert!(cache.get(&tied, at(0), 30, Some(&set)).is_some());
    }

    #[test]
    fn the_bound_holds_and_recently_used_entries_survive() {
        let cache = VerifiedTokens::new(3).expect("enabled");
        let tokens: Vec<String> = (0..10).map(|i| format!("t.{i}.s")).collect();
        for token in &tokens[..3] {
            cache.insert(digest(token), verified(token, 600, None));
        }
        // Use the first token: it gets a second chance when the fourth one arrives.
        assert!(cache.get(&digest(&tokens[0]), at(0), 30, None).is_some());
        cache.insert(digest(&tokens[3]), verified(&tokens[3], 600, None));
        assert_eq!(cache.len(), 3);
        assert!(cache.get(&digest(&tokens[0]), at(0), 30, None).is_some());
        assert!(
            cache.get(&digest(&tokens[1]), at(0), 30, None).is_none(),
            "the oldest unused entry went"
        );
        for token in &tokens[4..] {
            cache.insert(digest(token), verified(token, 600, None));
            assert!(cache.len() <= 3);
        }
        assert!(cache.get(&digest(&tokens[9]), at(0), 30, None).is_some());
    }

    #[test]
    fn zero_disables() {
        assert!(VerifiedTokens::new(0).is_none());
    }
}
