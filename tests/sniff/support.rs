//! The sample files of `tests/fixtures/sniff/` (provenance in its README.md).

use std::path::PathBuf;

/// The bytes of `tests/fixtures/sniff/<name>`.
pub(crate) fn sample(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/sniff")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
