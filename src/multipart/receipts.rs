//! The parts a client names to complete a multipart upload: listed once each, in ascending
//! order, each with the ETag its upload returned (and its checksum, for uploads with a
//! checksum algorithm). S3 refuses other lists with `InvalidPartOrder` or `InvalidPart`; the
//! broker refuses them first, with the part at fault named.
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html>.

use super::{PartNumberError, PartRange};
use crate::domain::{Checksum, ChecksumAlgorithm, DomainError, ETag, PartNumber};

/// One part as the client says it uploaded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The part number.
    pub part_number: u64,
    /// The ETag the part's upload returned, quoted or not.
    pub etag: String,
    /// The part's checksum, for uploads with a checksum algorithm.
    pub checksum: Option<String>,
}

/// One part of a complete request, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartToComplete {
    /// Its number.
    pub part_number: PartNumber,
    /// The ETag its upload returned.
    pub etag: ETag,
    /// Its checksum (required when the upload has a checksum algorithm).
    pub checksum: Option<String>,
}

/// Which parts a completion must name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    /// Exactly the parts 1 to `count` of a plan, each with a checksum when the upload has an
    /// `algorithm`.
    Plan {
        /// The plan's number of parts.
        count: u64,
        /// The upload's checksum algorithm.
        algorithm: Option<ChecksumAlgorithm>,
    },
    /// At least one of any parts, without checksums (Uppy declares no plan).
    Unplanned,
}

/// Why a list of parts cannot complete the upload.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    /// An unplanned completion names no part.
    #[error("no parts to complete")]
    Empty,
    /// A part follows a part of the same or a higher number.
    #[error(
        "parts must be listed once each, in ascending order; part {number} follows part \
         {previous}"
    )]
    OutOfOrder {
        /// The part out of order.
        number: u64,
        /// The part before it.
        previous: u64,
    },
    /// Part 0 of an unplanned completion.
    #[error("parts must be listed once each, in ascending order, from part 1")]
    PartZero,
    /// A part number above 10,000 in an unplanned completion.
    #[error(transparent)]
    PartNumber(#[from] PartNumberError),
    /// A part outside the plan.
    #[error("part {number} is not in the plan (parts 1 to {count})")]
    NotInPlan {
        /// The part.
        number: u64,
        /// The plan's number of parts.
        count: u64,
    },
    /// A part of the plan that the list leaves out.
    #[error("part {number} is missing (the plan has {count} parts)")]
    Missing {
        /// The first part left out.
        number: u64,
        /// The plan's number of parts.
        count: u64,
    },
    /// An ETag that [`ETag::parse`] refuses.
    #[error("part {0} has an invalid ETag")]
    InvalidETag(PartNumber),
    /// No checksum for a part of an upload with a checksum algorithm.
    #[error("part {0} needs its checksum: the upload has a checksum algorithm")]
    ChecksumMissing(PartNumber),
    /// A checksum for a part of an upload without a checksum algorithm.
    #[error("part {0} has a checksum, but the upload has no checksum algorithm")]
    ChecksumUnexpected(PartNumber),
    /// A checksum that does not decode for the upload's algorithm.
    #[error("part {number}: {reason}")]
    InvalidChecksum {
        /// The part.
        number: PartNumber,
        /// Why it does not decode.
        reason: DomainError,
    },
}

impl Expected {
    fn part(self, number: u64) -> Result<PartNumber, ReceiptError> {
        match self {
            Expected::Plan { count, .. } if number == 0 || number > count => {
                Err(ReceiptError::NotInPlan { number, count })
            }
            Expected::Unplanned if number == 0 => Err(ReceiptError::PartZero),
            _ => Ok(PartRange::Any.part(number)?),
        }
    }
}

/// Checks `receipts` against what the completion must name: ascending, once each, valid
/// numbers and ETags; for a plan, exactly its parts with the checksums its algorithm needs.
pub fn check_receipts(
    receipts: Vec<Receipt>,
    expected: Expected,
) -> Result<Vec<PartToComplete>, ReceiptError> {
    if receipts.is_empty() && expected == Expected::Unplanned {
        return Err(ReceiptError::Empty);
    }
    if let Some(pair) = receipts
        .windows(2)
        .find(|pair| pair[0].part_number >= pair[1].part_number)
    {
        return Err(ReceiptError::OutOfOrder {
            number: pair[1].part_number,
            previous: pair[0].part_number,
        });
    }
    let numbers = receipts
        .iter()
        .map(|r| expected.part(r.part_number))
        .collect::<Result<Vec<_>, _>>()?;
    let (count, algorithm) = match expected {
        Expected::Plan { count, algorithm } => (Some(count), algorithm),
        Expected::Unplanned => (None, None),
    };
    let mut parts = Vec::with_capacity(receipts.len());
    for ((position, number), receipt) in (1u64..).zip(numbers).zip(receipts) {
        if let Some(count) = count
            && receipt.part_number != position
        {
            return Err(ReceiptError::Missing {
                number: position,
                count,
            });
        }
        let etag = ETag::parse(&receipt.etag).map_err(|_| ReceiptError::InvalidETag(number))?;
        let checksum = match (algorithm, receipt.checksum) {
            (Some(algorithm), Some(value)) => Some(
                Checksum::new(algorithm, &value)
                    .map_err(|reason| ReceiptError::InvalidChecksum { number, reason })?
                    .value()
                    .to_owned(),
            ),
            (Some(_), None) => return Err(ReceiptError::ChecksumMissing(number)),
            (None, Some(_)) => return Err(ReceiptError::ChecksumUnexpected(number)),
            (None, None) => None,
        };
        parts.push(PartToComplete {
            part_number: number,
            etag,
            checksum,
        });
    }
    if let Some(count) = count
        && (parts.len() as u64) < count
    {
        return Err(ReceiptError::Missing {
            number: parts.len() as u64 + 1,
            count,
        });
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receipt(part_number: u64) -> Receipt {
        Receipt {
            part_number,
            etag: format!("etag{part_number}"),
            checksum: None,
        }
    }

    fn receipts(numbers: &[u64]) -> Vec<Receipt> {
        numbers.iter().map(|&n| receipt(n)).collect()
    }

    fn plan(count: u64) -> Expected {
        Expected::Plan {
            count,
            algorithm: None,
        }
    }

    fn refusal(numbers: &[u64], expected: Expected) -> ReceiptError {
        check_receipts(receipts(numbers), expected).unwrap_err()
    }

    #[test]
    fn a_plan_takes_exactly_its_parts_with_quoted_etags() {
        let parts = check_receipts(receipts(&[1, 2]), plan(2)).unwrap();
        assert_eq!(parts[1].etag.as_str(), "\"etag2\"");
        assert_eq!(parts[1].part_number.get(), 2);
    }

    #[test]
    fn a_plan_names_the_part_at_fault() {
        let missing = |number| ReceiptError::Missing { number, count: 3 };
        assert_eq!(refusal(&[1, 3], plan(3)), missing(2));
        assert_eq!(refusal(&[1, 2], plan(3)), missing(3));
        assert_eq!(refusal(&[], plan(3)), missing(1));
        assert_eq!(
            refusal(&[2, 1], plan(2)),
            ReceiptError::OutOfOrder {
                number: 1,
                previous: 2
            }
        );
        assert!(matches!(
            refusal(&[1, 1], plan(2)),
            ReceiptError::OutOfOrder { .. }
        ));
        assert_eq!(
            refusal(&[1, 2, 3], plan(2)),
            ReceiptError::NotInPlan {
                number: 3,
                count: 2
            }
        );
        assert_eq!(
            refusal(&[0, 1], plan(2)),
            ReceiptError::NotInPlan {
                number: 0,
                count: 2
            }
        );
    }

    #[test]
    fn unplanned_parts_may_skip_numbers() {
        let parts = check_receipts(receipts(&[1, 3, 10_000]), Expected::Unplanned).unwrap();
        let numbers: Vec<u16> = parts.iter().map(|p| p.part_number.get()).collect();
        assert_eq!(numbers, [1, 3, 10_000]);
    }

    #[test]
    fn unplanned_parts_are_ascending_from_1_to_10000() {
        assert_eq!(refusal(&[], Expected::Unplanned), ReceiptError::Empty);
        assert_eq!(refusal(&[0], Expected::Unplanned), ReceiptError::PartZero);
        assert!(matches!(
            refusal(&[10_001], Expected::Unplanned),
            ReceiptError::PartNumber(PartNumberError::NotAPartNumber(_))
        ));
        assert_eq!(
            refusal(&[3, 2], Expected::Unplanned).to_string(),
            "parts must be listed once each, in ascending order; part 2 follows part 3"
        );
    }

    #[test]
    fn etags_must_parse() {
        let bad = Receipt {
            etag: String::new(),
            ..receipt(1)
        };
        assert_eq!(
            check_receipts(vec![bad], Expected::Unplanned),
            Err(ReceiptError::InvalidETag(PartNumber::new(1).unwrap()))
        );
    }

    #[test]
    fn checksums_follow_the_algorithm() {
        let sha = Checksum::sha256_of(b"x").value().to_owned();
        let with = |c: Option<&str>| Receipt {
            checksum: c.map(str::to_owned),
            ..receipt(1)
        };
        let sha256 = Expected::Plan {
            count: 1,
            algorithm: Some(ChecksumAlgorithm::Sha256),
        };
        let one = PartNumber::new(1).unwrap();
        let parts = check_receipts(vec![with(Some(&sha))], sha256).unwrap();
        assert_eq!(parts[0].checksum.as_deref(), Some(sha.as_str()));
        assert_eq!(
            check_receipts(vec![with(None)], sha256),
            Err(ReceiptError::ChecksumMissing(one))
        );
        assert!(matches!(
            check_receipts(vec![with(Some("bad"))], sha256),
            Err(ReceiptError::InvalidChecksum { .. })
        ));
        assert_eq!(
            check_receipts(vec![with(Some(&sha))], plan(1)),
            Err(ReceiptError::ChecksumUnexpected(one))
        );
        assert_eq!(
            check_receipts(vec![with(Some(&sha))], Expected::Unplanned),
            Err(ReceiptError::ChecksumUnexpected(one))
        );
    }
}
