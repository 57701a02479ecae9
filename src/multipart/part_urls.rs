//! Presigned UploadPart URLs, one or a whole batch, for the native multipart API and the Uppy
//! routes.
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPart.html>.

use super::PartPlan;
use crate::domain::{
    BucketName, Checksum, Credentials, Expiry, GrantId, ObjectKey, PartNumber, UploadId,
};
use crate::sigv4::{
    PartBatchError, PartHeaderShape, PartUrlBatch, QueryParams, Signer, SigningError,
};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// The upload a batch of part URLs is for, and their shared lifetime.
pub struct PartSigning<'a> {
    /// The broker's signer.
    pub signer: &'a Signer,
    /// Signing credentials.
    pub credentials: &'a Credentials,
    /// Bucket.
    pub bucket: &'a BucketName,
    /// Key.
    pub key: &'a ObjectKey,
    /// S3's upload id.
    pub upload_id: &'a UploadId,
    /// Lifetime of every URL.
    pub expires: Expiry,
    /// Signing time.
    pub now: DateTime<Utc>,
}

/// One presigned part of a planned upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartGrant {
    /// The part number.
    pub part_number: u16,
    /// Where to PUT the part's bytes.
    pub url: String,
    /// Headers to send with exactly these values (`content-length` is the exact part size;
    /// HTTP clients set it from the body).
    pub headers: BTreeMap<String, String>,
    /// The part's exact size in bytes.
    pub size: u64,
}

/// Why a batch cannot be signed.
#[derive(Debug, thiserror::Error)]
pub enum PartSigningError {
    /// The part is not in the plan.
    #[error("part {0} is not in the plan")]
    NotInPlan(PartNumber),
    /// The signer refused.
    #[error(transparent)]
    Signing(#[from] SigningError),
    /// A part's length or checksum does not fit the batch.
    #[error(transparent)]
    Shape(#[from] PartBatchError),
}

impl PartSigning<'_> {
    /// The grant id every URL of this upload carries ([`GrantId::of_upload`]).
    pub fn grant_id(&self) -> GrantId {
        GrantId::of_upload(self.upload_id)
    }

    /// The batch signer of this upload for URLs signing `shape`'s headers and the upload's
    /// grant id.
    fn batch(&self, shape: PartHeaderShape) -> Result<PartUrlBatch, SigningError> {
        let grant = QueryParams::new().with(GrantId::QUERY_PARAM, self.grant_id().as_str())?;
        self.signer.part_url_batch(
            self.credentials,
            self.bucket,
            self.key,
            self.upload_id,
            self.expires,
            self.now,
            shape,
            &grant,
        )
    }

    /// URLs for `numbers` that sign no length (Uppy's parts: their sizes are unknown), each
    /// signed when it is read.
    pub fn unsized_parts(
        &self,
        numbers: Vec<PartNumber>,
    ) -> Result<UnsizedParts, PartSigningError> {
        let batch = self.batch(PartHeaderShape {
            content_length: false,
            checksum: None,
        })?;
        Ok(UnsizedParts {
            batch,
            numbers: numbers.into_iter(),
        })
    }

    /// Grants for `numbers` of `plan`, each URL signing the part's exact length, and its
    /// checksum from `checksums` (by part number) when the batch has checksums: then every
    /// part needs one, of one algorithm. Every part is checked here, so that reading the
    /// grants cannot fail; each is signed when it is read, so that a response can send the
    /// first ones before the last ones are signed.
    pub fn planned(
        &self,
        plan: PartPlan,
        numbers: Vec<PartNumber>,
        checksums: BTreeMap<u16, Checksum>,
    ) -> Result<PlannedParts, PartSigningError> {
        let shape = PartHeaderShape {
            content_length: true,
            checksum: checksums.values().next().map(Checksum::algorithm),
        };
        for &number in &numbers {
            plan.part_length(number)
                .ok_or(PartSigningError::NotInPlan(number))?;
            let fits = match (shape.checksum, checksums.get(&number.get())) {
                (Some(algorithm), Some(checksum)) => checksum.algorithm() == algorithm,
                (None, None) => true,
                _ => false,
            };
            if !fits {
                return Err(PartBatchError::ShapeMismatch(number).into());
            }
        }
        Ok(PlannedParts {
            batch: self.batch(shape)?,
            plan,
            numbers: numbers.into_iter(),
            checksums,
        })
    }
}

/// The URLs of [`PartSigning::unsized_parts`], in the order asked, with their part numbers.
pub struct UnsizedParts {
    batch: PartUrlBatch,
    numbers: std::vec::IntoIter<PartNumber>,
}

impl Iterator for UnsizedParts {
    type Item = Result<(PartNumber, String), PartSigningError>;

    fn next(&mut self) -> Option<Self::Item> {
        let number = self.numbers.next()?;
        Some(
            self.batch
                .sign(number, None, None)
                .map(|signed| (number, signed.url))
                .map_err(PartSigningError::from),
        )
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.numbers.size_hint()
    }
}

impl ExactSizeIterator for UnsizedParts {}

/// The grants of [`PartSigning::planned`], in the order asked.
pub struct PlannedParts {
    batch: PartUrlBatch,
    plan: PartPlan,
    numbers: std::vec::IntoIter<PartNumber>,
    checksums: BTreeMap<u16, Checksum>,
}

impl Iterator for PlannedParts {
    type Item = Result<PartGrant, PartSigningError>;

    fn next(&mut self) -> Option<Self::Item> {
        let number = self.numbers.next()?;
        Some(sign_planned_part(
            &self.batch,
            &self.plan,
            number,
            &self.checksums,
        ))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.numbers.size_hint()
    }
}

impl ExactSizeIterator for PlannedParts {}

fn sign_planned_part(
    batch: &PartUrlBatch,
    plan: &PartPlan,
    number: PartNumber,
    checksums: &BTreeMap<u16, Checksum>,
) -> Result<PartGrant, PartSigningError> {
    let size = plan
        .part_length(number)
        .ok_or(PartSigningError::NotInPlan(number))?;
    let signed = batch.sign(number, Some(size), checksums.get(&number.get()))?;
    Ok(PartGrant {
        part_number: number.get(),
        url: signed.url,
        headers: signed
            .headers
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value))
            .collect(),
        size,
    })
}

/// A signer for `region` at AWS and the example credentials of the AWS documentation: the
/// fixture of the tests that sign part URLs.
#[cfg(test)]
pub(crate) fn example_signer(region: &str) -> (Signer, Credentials) {
    use crate::domain::{AddressingStyle, Endpoint, Region};
    let signer = Signer::new(
        Region::new(region).unwrap(),
        Endpoint::AwsRegional,
        AddressingStyle::VirtualHosted,
    );
    let credentials = Credentials::from_parts(
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        None,
    )
    .unwrap();
    (signer, credentials)
}
