//! The content sniffers (`s3_broker::sniff`): real small files of every type, truncated and
//! crafted headers, and arbitrary bytes (never a panic, never a read past the slice).

mod crafted;
mod properties;
mod samples;
mod support;
