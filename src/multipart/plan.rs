//! The part plan of a multipart upload: how a declared size is cut into parts.
//!
//! Limits: parts of 5 MiB to 5 GiB (the last may be smaller), at most 10,000 parts.
//! See <https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html>.

use crate::domain::{MAX_SINGLE_UPLOAD_BYTES, PartNumber};
use serde::{Deserialize, Serialize};

/// 1 MiB.
const MIB: u64 = 1024 * 1024;
/// The smallest part S3 accepts (except the last one).
pub const MIN_PART_SIZE: u64 = 5 * MIB;
/// The largest part S3 accepts.
pub const MAX_PART_SIZE: u64 = MAX_SINGLE_UPLOAD_BYTES;
/// The most parts an upload may have.
pub const MAX_PARTS: u64 = PartNumber::MAX as u64;
/// The largest object a multipart upload can build here: 10,000 parts of 5 GiB would exceed
/// S3's object limit, so the object limit (5 TiB) applies.
pub const MAX_OBJECT_SIZE: u64 = 5 * 1024 * 1024 * MIB;
/// The part size chosen when the client names none (at least this; larger when the file
/// would otherwise need more than 10,000 parts).
pub const DEFAULT_PART_SIZE: u64 = 8 * MIB;

/// Why a plan cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// The declared size is above what a multipart upload can store.
    #[error("size {0} is above the multipart limit of {MAX_OBJECT_SIZE} bytes (5 TiB)")]
    TooLarge(u64),
    /// The requested part size is outside 5 MiB..=5 GiB.
    #[error("part_size must be between {MIN_PART_SIZE} (5 MiB) and {MAX_PART_SIZE} (5 GiB) bytes")]
    PartSizeOutOfRange,
    /// The requested part size needs more than 10,000 parts.
    #[error("part_size {part_size} would need {parts} parts; at most {MAX_PARTS} are allowed")]
    TooManyParts {
        /// The requested part size.
        part_size: u64,
        /// The parts it would need.
        parts: u64,
    },
}

/// How a declared size is cut: every part is `part_size` bytes except the last, which holds
/// the rest. A size of 0 is one empty part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartPlan {
    size: u64,
    part_size: u64,
}

impl PartPlan {
    /// Plans `size` bytes with the client's `part_size`, or the default one.
    pub fn new(size: u64, part_size: Option<u64>) -> Result<Self, PlanError> {
        if size > MAX_OBJECT_SIZE {
            return Err(PlanError::TooLarge(size));
        }
        let part_size = match part_size {
            Some(p) if !(MIN_PART_SIZE..=MAX_PART_SIZE).contains(&p) => {
                return Err(PlanError::PartSizeOutOfRange);
            }
            Some(p) => p,
            None => DEFAULT_PART_SIZE.max(size.div_ceil(MAX_PARTS).next_multiple_of(MIB)),
        };
        let plan = Self { size, part_size };
        if plan.part_count() > MAX_PARTS {
            return Err(PlanError::TooManyParts {
                part_size,
                parts: plan.part_count(),
            });
        }
        Ok(plan)
    }

    /// The declared object size.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The size of every part but the last.
    pub fn part_size(&self) -> u64 {
        self.part_size
    }

    /// The number of parts (at least 1).
    pub fn part_count(&self) -> u64 {
        self.size.div_ceil(self.part_size).max(1)
    }

    /// The exact length of part `n`, or `None` when the plan has no such part.
    pub fn part_length(&self, n: PartNumber) -> Option<u64> {
        let n = u64::from(n.get());
        if n > self.part_count() {
            return None;
        }
        let start = (n - 1) * self.part_size;
        Some((self.size - start).min(self.part_size))
    }

    /// Every part number of the plan, in order.
    pub fn part_numbers(&self) -> impl Iterator<Item = PartNumber> + use<> {
        (1..=self.part_count()).filter_map(|n| PartNumber::new(n).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn part(n: u64) -> PartNumber {
        PartNumber::new(n).unwrap()
    }

    #[test]
    fn cuts_a_size_into_equal_parts_and_a_rest() {
        let plan = PartPlan::new(12 * MIB + 5, Some(5 * MIB)).unwrap();
        assert_eq!(plan.part_count(), 3);
        assert_eq!(plan.part_length(part(1)), Some(5 * MIB));
        assert_eq!(plan.part_length(part(3)), Some(2 * MIB + 5));
        assert_eq!(plan.part_length(part(4)), None);
    }

    #[test]
    fn empty_and_exact_sizes() {
        let empty = PartPlan::new(0, None).unwrap();
        assert_eq!(empty.part_count(), 1);
        assert_eq!(empty.part_length(part(1)), Some(0));
        let exact = PartPlan::new(10 * MIB, Some(5 * MIB)).unwrap();
        assert_eq!(exact.part_count(), 2);
        assert_eq!(exact.part_length(part(2)), Some(5 * MIB));
    }

    #[test]
    fn default_part_size_grows_to_stay_within_10000_parts() {
        assert_eq!(
            PartPlan::new(1, None).unwrap().part_size(),
            DEFAULT_PART_SIZE
        );
        let huge = PartPlan::new(MAX_OBJECT_SIZE, None).unwrap();
        assert!(huge.part_count() <= MAX_PARTS);
        assert_eq!(huge.part_size() % MIB, 0);
    }

    #[test]
    fn refuses_what_s3_would_refuse() {
        assert_eq!(
            PartPlan::new(1, Some(MIN_PART_SIZE - 1)),
            Err(PlanError::PartSizeOutOfRange)
        );
        assert_eq!(
            PartPlan::new(1, Some(MAX_PART_SIZE + 1)),
            Err(PlanError::PartSizeOutOfRange)
        );
        assert!(matches!(
            PartPlan::new(MAX_PARTS * MIN_PART_SIZE + 1, Some(MIN_PART_SIZE)),
            Err(PlanError::TooManyParts { parts: 10_001, .. })
        ));
        assert_eq!(
            PartPlan::new(MAX_OBJECT_SIZE + 1, None),
            Err(PlanError::TooLarge(MAX_OBJECT_SIZE + 1))
        );
    }

    proptest! {
        #[test]
        fn parts_cover_the_size_exactly(size in 0..=MAX_OBJECT_SIZE, custom in proptest::option::of(MIN_PART_SIZE..=MAX_PART_SIZE)) {
            if let Ok(plan) = PartPlan::new(size, custom) {
                let lengths: Vec<u64> = plan.part_numbers().map(|n| plan.part_length(n).unwrap()).collect();
                prop_assert_eq!(lengths.len() as u64, plan.part_count());
                prop_assert!(plan.part_count() <= MAX_PARTS);
                prop_assert_eq!(lengths.iter().sum::<u64>(), size);
                let (last, rest) = lengths.split_last().unwrap();
                prop_assert!(rest.iter().all(|&l| l == plan.part_size() && (MIN_PART_SIZE..=MAX_PART_SIZE).contains(&l)));
                prop_assert!(*last <= plan.part_size());
            } else {
                prop_assert!(custom.is_some());
            }
        }
    }
}
