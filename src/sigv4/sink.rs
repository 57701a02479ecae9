//! Where SigV4 texts go: into a `String` (to show them) or straight into a hash (to sign
//! them without building the text). One writer per text serves both, so they cannot differ.

use super::sha256_state::Sha256Stream;
use hmac::Mac;
use sha2::Sha256;

/// Something text can be appended to.
pub(crate) trait Sink {
    /// Appends `text`.
    fn put(&mut self, text: &str);
}

impl Sink for String {
    fn put(&mut self, text: &str) {
        self.push_str(text);
    }
}

impl Sink for Sha256Stream {
    #[inline(always)]
    fn put(&mut self, text: &str) {
        self.update(text.as_bytes());
    }
}

impl Sink for hmac::Hmac<Sha256> {
    fn put(&mut self, text: &str) {
        Mac::update(self, text.as_bytes());
    }
}
