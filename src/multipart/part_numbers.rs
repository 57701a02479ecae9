//! Part numbers as clients name them: a JSON list (`POST /v1/multipart/parts`), a comma list
//! in a query (`partNumbers=1,2`), a path segment (`/s3/multipart/{uploadId}/2`) or a JSON
//! number (`partNumber` of `POST /s3/sign`). Every form goes through [`PartRange`].
//!
//! Limits: <https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html>

use crate::domain::PartNumber;
use std::collections::BTreeSet;

/// Why requested part numbers are refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PartNumberError {
    /// The list names no part.
    #[error("the list must name at least one part")]
    Empty,
    /// Not a decimal number from 1 to 10,000 (as the client wrote it).
    #[error("{0:?} is not a part number from 1 to 10000")]
    NotAPartNumber(String),
    /// A part outside the plan.
    #[error("part {number} is not in the plan (parts 1 to {count})")]
    NotInPlan {
        /// The requested part.
        number: u64,
        /// The plan's number of parts.
        count: u64,
    },
    /// A part named twice.
    #[error("part {0} is listed twice")]
    Twice(PartNumber),
}

/// Where requested parts must lie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartRange {
    /// The parts of a plan: 1 to its part count.
    Plan(u64),
    /// Any part S3 takes, 1 to 10,000 (Uppy declares no plan).
    Any,
}

impl PartRange {
    /// `number`, when it lies in this range.
    pub fn part(self, number: u64) -> Result<PartNumber, PartNumberError> {
        match self {
            PartRange::Plan(count) if number == 0 || number > count => {
                Err(PartNumberError::NotInPlan { number, count })
            }
            _ => PartNumber::new(number)
                .map_err(|_| PartNumberError::NotAPartNumber(number.to_string())),
        }
    }

    /// A part number in decimal (spaces around it allowed), in this range.
    pub fn parse(self, raw: &str) -> Result<PartNumber, PartNumberError> {
        let number = raw
            .trim()
            .parse::<u64>()
            .map_err(|_| PartNumberError::NotAPartNumber(raw.to_owned()))?;
        self.part(number)
    }

    /// A list of part numbers: at least one, each in this range, each once; in the order
    /// given.
    pub fn parts(
        self,
        numbers: impl IntoIterator<Item = u64>,
    ) -> Result<Vec<PartNumber>, PartNumberError> {
        distinct(numbers.into_iter().map(|n| self.part(n)))
    }

    /// A comma-separated list (`1,2,5`), as [`Self::parts`].
    pub fn parse_list(self, text: &str) -> Result<Vec<PartNumber>, PartNumberError> {
        distinct(text.split(',').map(|raw| self.parse(raw)))
    }
}

fn distinct(
    numbers: impl Iterator<Item = Result<PartNumber, PartNumberError>>,
) -> Result<Vec<PartNumber>, PartNumberError> {
    let mut seen = BTreeSet::new();
    let parts = numbers
        .map(|number| {
            let number = number?;
            if seen.insert(number) {
                Ok(number)
            } else {
                Err(PartNumberError::Twice(number))
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    if parts.is_empty() {
        return Err(PartNumberError::Empty);
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbers(parts: &[PartNumber]) -> Vec<u16> {
        parts.iter().map(|p| p.get()).collect()
    }

    fn n(number: u64) -> PartNumber {
        PartNumber::new(number).unwrap()
    }

    #[test]
    fn a_plan_takes_its_own_parts_in_the_order_given() {
        let parts = PartRange::Plan(3).parts([3, 1]).unwrap();
        assert_eq!(numbers(&parts), [3, 1]);
    }

    #[test]
    fn a_plan_refuses_parts_outside_it_twice_or_none() {
        let plan = PartRange::Plan(3);
        assert_eq!(
            plan.parts([1, 4]),
            Err(PartNumberError::NotInPlan {
                number: 4,
                count: 3
            })
        );
        assert_eq!(
            plan.parts([0]),
            Err(PartNumberError::NotInPlan {
                number: 0,
                count: 3
            })
        );
        assert_eq!(plan.parts([2, 2]), Err(PartNumberError::Twice(n(2))));
        assert_eq!(plan.parts([]), Err(PartNumberError::Empty));
    }

    #[test]
    fn any_part_is_1_to_10000() {
        assert_eq!(PartRange::Any.parse(" 7 "), Ok(n(7)));
        assert_eq!(PartRange::Any.part(10_000), Ok(n(10_000)));
        for raw in ["0", "10001", "x", "", "-1", "+1 1"] {
            assert!(
                matches!(
                    PartRange::Any.parse(raw),
                    Err(PartNumberError::NotAPartNumber(_))
                ),
                "{raw:?}"
            );
        }
        assert_eq!(
            PartRange::Any.parse("x").unwrap_err().to_string(),
            "\"x\" is not a part number from 1 to 10000"
        );
    }

    #[test]
    fn comma_lists_are_each_once() {
        assert_eq!(
            numbers(&PartRange::Any.parse_list("1, 2,10").unwrap()),
            [1, 2, 10]
        );
        assert_eq!(
            PartRange::Any.parse_list("1,2,1"),
            Err(PartNumberError::Twice(n(1)))
        );
        assert!(PartRange::Any.parse_list("").is_err());
        assert!(PartRange::Any.parse_list("1,,2").is_err());
    }
}
