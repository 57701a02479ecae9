//! Before the broker completes a multipart upload it checks the parts the client names
//! against the parts S3 holds (ListParts): a part must exist, with the ETag the client was
//! given, and its real size is what the size rules see. Part URLs of other routes (the Uppy
//! routes sign no length) cannot then slip a larger part into an upload.

use super::ApiError;
use super::multipart::mismatch;
use crate::domain::ETag;
use crate::s3::{ListedPart, PartToComplete};
use std::collections::BTreeMap;

/// A named part with the size S3 reports for it.
#[derive(Debug, Clone, Copy)]
pub struct HeldPart<'a> {
    /// The part as the client named it.
    pub part: &'a PartToComplete,
    /// Its size in S3.
    pub size: u64,
}

/// Matches each of `parts` with the part S3 holds under its number and ETag. A store that
/// lists no ETag at all (the embedded dev store, s3s-fs 0.14) is matched by number; S3 always
/// lists ETags.
pub fn match_held<'a>(
    parts: &'a [PartToComplete],
    held: &[ListedPart],
) -> Result<Vec<HeldPart<'a>>, ApiError> {
    let by_number: BTreeMap<u16, &ListedPart> = held.iter().map(|p| (p.part_number, p)).collect();
    let etags_listed = held.iter().any(|p| p.etag.is_some());
    parts
        .iter()
        .map(|part| {
            let number = part.part_number.get();
            let found = by_number
                .get(&number)
                .ok_or_else(|| mismatch(format!("S3 holds no part {number}")))?;
            let etag_matches = match &found.etag {
                Some(etag) => ETag::parse(etag).ok().as_ref() == Some(&part.etag),
                None => !etags_listed,
            };
            if !etag_matches {
                return Err(mismatch(format!(
                    "part {number}: S3 holds it with another ETag (it was uploaded again)"
                )));
            }
            Ok(HeldPart {
                part,
                size: found.size,
            })
        })
        .collect()
}
