//! Before the broker completes a multipart upload it checks the parts the client names
//! against the parts S3 holds (ListParts): a part must exist, with the ETag the client was
//! given, and its real size is what the size rules see. Part URLs of other routes (the Uppy
//! routes sign no length) cannot then slip a larger part into an upload.
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListParts.html>.

use super::{PartPlan, PartToComplete};
use crate::domain::{ETag, PartNumber};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// One part S3 holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedPart {
    /// Its number.
    pub part_number: u16,
    /// Its ETag, as S3 returned it (quoted); `None` from stores that list none (s3s-fs 0.14
    /// on its own; the dev store fills them in).
    pub etag: Option<String>,
    /// Its size in bytes.
    pub size: u64,
    /// When it was uploaded.
    pub last_modified: Option<DateTime<Utc>>,
    /// Its checksum, when the upload has a checksum algorithm.
    pub checksum: Option<String>,
}

impl ListedPart {
    /// Its ETag, when S3 listed a valid one.
    pub fn etag(&self) -> Option<ETag> {
        self.etag.as_deref().and_then(|e| ETag::parse(e).ok())
    }
}

/// A named part with the size S3 reports for it.
#[derive(Debug, Clone, Copy)]
pub struct HeldPart<'a> {
    /// The part as the client named it.
    pub part: &'a PartToComplete,
    /// Its size in S3.
    pub size: u64,
}

/// A named part that S3 does not hold as named.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeldPartError {
    /// S3 holds no part of that number.
    #[error("S3 holds no part {0}")]
    NotHeld(PartNumber),
    /// S3 holds the part with another ETag.
    #[error("part {0}: S3 holds it with another ETag (it was uploaded again)")]
    OtherETag(PartNumber),
    /// S3 holds the part with another size than its plan.
    #[error(
        "part {number} holds {size} bytes where the plan has {planned}: upload it again with \
         its part URL"
    )]
    OtherSize {
        /// The part.
        number: PartNumber,
        /// Its size in S3.
        size: u64,
        /// Its size in the plan.
        planned: u64,
    },
}

/// Matches each of `parts` with the part S3 holds under its number and ETag. A store that
/// lists no ETag at all (s3s-fs 0.14 on its own) is matched by number; S3 and the dev store
/// always list ETags.
pub fn match_held<'a>(
    parts: &'a [PartToComplete],
    held: &[ListedPart],
) -> Result<Vec<HeldPart<'a>>, HeldPartError> {
    let by_number: BTreeMap<u16, &ListedPart> = held.iter().map(|p| (p.part_number, p)).collect();
    let etags_listed = held.iter().any(|p| p.etag.is_some());
    parts
        .iter()
        .map(|part| {
            let number = part.part_number;
            let found = by_number
                .get(&number.get())
                .ok_or(HeldPartError::NotHeld(number))?;
            let etag_matches = match &found.etag {
                Some(_) => found.etag().as_ref() == Some(&part.etag),
                None => !etags_listed,
            };
            if !etag_matches {
                return Err(HeldPartError::OtherETag(number));
            }
            Ok(HeldPart {
                part,
                size: found.size,
            })
        })
        .collect()
}

/// Checks that each of `held` has the length `plan` gives its number: only the native part
/// URLs sign that length, so a part uploaded through another route is caught here.
pub fn check_planned(held: &[HeldPart<'_>], plan: &PartPlan) -> Result<(), HeldPartError> {
    for &HeldPart { part, size } in held {
        let planned = plan.part_length(part.part_number).unwrap_or_default();
        if size != planned {
            return Err(HeldPartError::OtherSize {
                number: part.part_number,
                size,
                planned,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(number: u64, etag: &str) -> PartToComplete {
        PartToComplete {
            part_number: PartNumber::new(number).unwrap(),
            etag: ETag::parse(etag).unwrap(),
            checksum: None,
        }
    }

    fn listed(number: u16, etag: Option<&str>, size: u64) -> ListedPart {
        ListedPart {
            part_number: number,
            etag: etag.map(str::to_owned),
            size,
            last_modified: None,
            checksum: None,
        }
    }

    fn n(number: u64) -> PartNumber {
        PartNumber::new(number).unwrap()
    }

    #[test]
    fn parts_match_by_number_and_etag_quoted_or_not() {
        let parts = [named(1, "a"), named(3, "\"c\"")];
        let held = [
            listed(1, Some("\"a\""), 10),
            listed(2, Some("\"b\""), 20),
            listed(3, Some("\"c\""), 30),
        ];
        let sizes: Vec<u64> = match_held(&parts, &held)
            .unwrap()
            .iter()
            .map(|h| h.size)
            .collect();
        assert_eq!(sizes, [10, 30]);
    }

    #[test]
    fn a_missing_part_or_another_etag_is_refused() {
        let held = [listed(1, Some("\"a\""), 10)];
        assert_eq!(
            match_held(&[named(2, "a")], &held).unwrap_err(),
            HeldPartError::NotHeld(n(2))
        );
        assert_eq!(
            match_held(&[named(1, "b")], &held).unwrap_err(),
            HeldPartError::OtherETag(n(1))
        );
    }

    #[test]
    fn stores_without_etags_match_by_number_only() {
        let held = [listed(1, None, 10)];
        assert!(match_held(&[named(1, "anything")], &held).is_ok());
        // A store that lists ETags for some parts must list the named part's too.
        let mixed = [listed(1, None, 10), listed(2, Some("\"b\""), 20)];
        assert_eq!(
            match_held(&[named(1, "a")], &mixed).unwrap_err(),
            HeldPartError::OtherETag(n(1))
        );
    }

    #[test]
    fn held_sizes_must_be_the_planned_ones() {
        const MIB: u64 = 1024 * 1024;
        // Parts 1 and 2 of 5 MiB, part 3 of 1 MiB.
        let plan = PartPlan::new(11 * MIB, Some(5 * MIB)).unwrap();
        let parts = [named(1, "a"), named(3, "c")];
        let held = [
            listed(1, Some("\"a\""), 5 * MIB),
            listed(3, Some("\"c\""), MIB),
        ];
        let matched = match_held(&parts, &held).unwrap();
        assert_eq!(check_planned(&matched, &plan), Ok(()));
        let larger = [
            listed(1, Some("\"a\""), 5 * MIB),
            listed(3, Some("\"c\""), 2 * MIB),
        ];
        let matched = match_held(&parts, &larger).unwrap();
        assert_eq!(
            check_planned(&matched, &plan),
            Err(HeldPartError::OtherSize {
                number: n(3),
                size: 2 * MIB,
                planned: MIB
            })
        );
    }
}
