//! Content sniffers: what the first bytes of an object say it is, and, for images, its pixel
//! dimensions read from the header without decoding.
//!
//! Pure and bounded: every reader works on the slice it is given (the broker reads at most the
//! first 64 KiB of an object), never reads past it and never panics, whatever the bytes; a
//! header cut short is "unknown", never a guess. Signatures follow the WHATWG MIME Sniffing
//! standard (<https://mimesniff.spec.whatwg.org/#matching-a-mime-type-pattern>) and each
//! format's own specification, linked where it is read.

mod audio;
mod bytes;
mod detect;
mod expect;
mod image;
mod iso_bmff;
mod kind;
mod zip;

pub use detect::{Sniffed, sniff};
pub use expect::{ContentMismatch, check_declared};
pub use kind::{Dimensions, Kind};
