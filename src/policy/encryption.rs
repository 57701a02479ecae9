//! Server-side encryption a profile requires on every upload.
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/userguide/serv-side-encryption.html>,
//! <https://docs.aws.amazon.com/AmazonS3/latest/userguide/specifying-kms-encryption.html> and,
//! for SSE-C, <https://docs.aws.amazon.com/AmazonS3/latest/userguide/ServerSideEncryptionCustomerKeys.html>.
//!
//! SSE-C with presigned requests: "When creating a presigned URL, you must specify the
//! algorithm using the `x-amz-server-side-encryption-customer-algorithm` in the signature
//! calculation. When using the presigned URL [...] you must provide all the encryption headers
//! in your client application" (the AWS page above, section "Presigned URLs and SSE-C"). S3
//! exempts the customer key headers from its rule that every `x-amz-*` header of a presigned
//! request be signed (aws/aws-sdk-js-v3#6978: a GET presigned with the algorithm only, sent
//! with the key and key-MD5 unsigned, is refused only for another, unrelated unsigned header).
//! So the broker signs the algorithm and the key's MD5, which binds the grant to one key
//! (S3 refuses a key whose MD5 differs from the signed one), and the client adds the key
//! itself: the broker never sees it.

use crate::domain::{ContentMd5, DomainError};

/// The encryption bound into every upload grant of a profile, as signed headers (PUT) or
/// exact policy conditions (POST), so S3 refuses an upload that omits or changes it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ServerSideEncryption {
    /// SSE-S3: `x-amz-server-side-encryption: AES256`.
    Aes256,
    /// SSE-KMS: `aws:kms`, with the bucket's or AWS-managed key when `key_id` is `None`.
    Kms {
        /// `x-amz-server-side-encryption-aws-kms-key-id`: a key id, alias or ARN.
        key_id: Option<String>,
    },
    /// DSSE-KMS (dual-layer): `aws:kms:dsse`.
    KmsDsse {
        /// As for [`ServerSideEncryption::Kms`].
        key_id: Option<String>,
    },
    /// SSE-C (profile value `"SSE-C"`): AES-256 with a key the client provides on every
    /// upload and download. Every grant signs
    /// `x-amz-server-side-encryption-customer-algorithm: AES256` and the key's MD5 (given by
    /// the client as `sse_customer_key_md5`); the client sends the key itself in
    /// [`SSE_C_KEY_HEADER`].
    CustomerKey,
}

/// The profile value of [`ServerSideEncryption::CustomerKey`].
pub const SSE_C: &str = "SSE-C";

/// `x-amz-server-side-encryption-customer-algorithm`.
pub const SSE_C_ALGORITHM_HEADER: &str = "x-amz-server-side-encryption-customer-algorithm";

/// `x-amz-server-side-encryption-customer-key-md5` (S3 spells it `...-key-MD5`; header names
/// are case-insensitive and SigV4 signs them lowercase).
pub const SSE_C_KEY_MD5_HEADER: &str = "x-amz-server-side-encryption-customer-key-md5";

/// `x-amz-server-side-encryption-customer-key`: the base64 key, sent by the client only,
/// never signed or seen by the broker.
pub const SSE_C_KEY_HEADER: &str = "x-amz-server-side-encryption-customer-key";

/// The POST form fields of SSE-C. Unlike headers, form field names are matched
/// case-sensitively against the policy conditions, so the names S3 documents are used.
pub const SSE_C_ALGORITHM_FIELD: &str = "x-amz-server-side-encryption-customer-algorithm";
/// See [`SSE_C_ALGORITHM_FIELD`].
pub const SSE_C_KEY_MD5_FIELD: &str = "x-amz-server-side-encryption-customer-key-MD5";
/// See [`SSE_C_ALGORITHM_FIELD`].
pub const SSE_C_KEY_FIELD: &str = "x-amz-server-side-encryption-customer-key";

/// The base64 MD5 of an SSE-C customer key (256 bits), as the client computes it
/// (`openssl rand 32 > key; openssl md5 -binary key | base64`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CustomerKeyMd5(ContentMd5);

impl CustomerKeyMd5 {
    /// Validates that `base64_value` is standard base64 of 16 bytes.
    pub fn new(base64_value: &str) -> Result<Self, DomainError> {
        ContentMd5::new(base64_value).map(Self)
    }

    /// The base64 value.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl ServerSideEncryption {
    /// Builds the setting from a profile's `server_side_encryption` and `kms_key_id` keys.
    pub fn from_profile(algorithm: &str, kms_key_id: Option<&str>) -> Result<Self, String> {
        let key_id = kms_key_id
            .map(|id| {
                let ok = (1..=2048).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_graphic());
                ok.then(|| id.to_owned()).ok_or_else(|| {
                    "kms_key_id must be 1 to 2048 visible ASCII characters".to_owned()
                })
            })
            .transpose()?;
        match (algorithm, key_id) {
            ("AES256", None) => Ok(Self::Aes256),
            ("AES256", Some(_)) => {
                Err("kms_key_id is only valid with aws:kms or aws:kms:dsse".into())
            }
            ("aws:kms", key_id) => Ok(Self::Kms { key_id }),
            ("aws:kms:dsse", key_id) => Ok(Self::KmsDsse { key_id }),
            (SSE_C, None) => Ok(Self::CustomerKey),
            (SSE_C, Some(_)) => Err("kms_key_id is only valid with aws:kms or aws:kms:dsse \
                 (SSE-C keys come from the client)"
                .into()),
            (other, _) => Err(format!(
                "{other:?} is not an encryption; expected \"AES256\", \"aws:kms\", \
                 \"aws:kms:dsse\" or \"SSE-C\""
            )),
        }
    }

    /// The value of `x-amz-server-side-encryption`, or for SSE-C of
    /// `x-amz-server-side-encryption-customer-algorithm` (`AES256` as well).
    pub fn algorithm(&self) -> &'static str {
        match self {
            Self::Aes256 | Self::CustomerKey => "AES256",
            Self::Kms { .. } => "aws:kms",
            Self::KmsDsse { .. } => "aws:kms:dsse",
        }
    }

    /// Whether this is SSE-C: the client holds the key, which the broker never sees.
    pub fn is_customer_key(&self) -> bool {
        matches!(self, Self::CustomerKey)
    }

    /// The KMS key, if one is named.
    pub fn kms_key_id(&self) -> Option<&str> {
        match self {
            Self::Aes256 | Self::CustomerKey => None,
            Self::Kms { key_id } | Self::KmsDsse { key_id } => key_id.as_deref(),
        }
    }

    /// The lowercase headers to bind, with their values. For SSE-C only the algorithm: the
    /// key's MD5 differs per upload (see [`ServerSideEncryption::bound_headers`]).
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        if self.is_customer_key() {
            return vec![(SSE_C_ALGORITHM_HEADER, self.algorithm().to_owned())];
        }
        let mut headers = vec![("x-amz-server-side-encryption", self.algorithm().to_owned())];
        if let Some(id) = self.kms_key_id() {
            headers.push(("x-amz-server-side-encryption-aws-kms-key-id", id.to_owned()));
        }
        headers
    }

    /// The headers a grant signs (lowercase names): [`ServerSideEncryption::headers`], plus
    /// for SSE-C the customer key's MD5.
    pub fn bound_headers(&self, key_md5: Option<&CustomerKeyMd5>) -> Vec<(&'static str, String)> {
        let mut headers = self.headers();
        if let (true, Some(md5)) = (self.is_customer_key(), key_md5) {
            headers.push((SSE_C_KEY_MD5_HEADER, md5.as_str().to_owned()));
        }
        headers
    }

    /// The POST form fields a policy binds exactly: the same as
    /// [`ServerSideEncryption::bound_headers`], with the names S3 documents for forms.
    pub fn bound_fields(&self, key_md5: Option<&CustomerKeyMd5>) -> Vec<(&'static str, String)> {
        self.bound_headers(key_md5)
            .into_iter()
            .map(|(name, value)| match name {
                SSE_C_KEY_MD5_HEADER => (SSE_C_KEY_MD5_FIELD, value),
                other => (other, value),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_profile_settings() {
        assert_eq!(
            ServerSideEncryption::from_profile("AES256", None)
                .unwrap()
                .headers(),
            [("x-amz-server-side-encryption", "AES256".to_owned())]
        );
        let kms = ServerSideEncryption::from_profile("aws:kms", Some("alias/uploads")).unwrap();
        assert_eq!(kms.headers().len(), 2);
        assert_eq!(kms.kms_key_id(), Some("alias/uploads"));
        assert!(ServerSideEncryption::from_profile("aws:kms", None).is_ok());
        assert!(ServerSideEncryption::from_profile("AES256", Some("k")).is_err());
        assert!(ServerSideEncryption::from_profile("aes256", None).is_err());
        assert!(ServerSideEncryption::from_profile("aws:kms", Some("a b")).is_err());
    }

    #[test]
    fn sse_c_signs_the_algorithm_and_the_key_md5_never_the_key() {
        let sse_c = ServerSideEncryption::from_profile("SSE-C", None).unwrap();
        assert!(sse_c.is_customer_key());
        assert!(ServerSideEncryption::from_profile("SSE-C", Some("k")).is_err());
        assert!(ServerSideEncryption::from_profile("sse-c", None).is_err());
        let md5 = CustomerKeyMd5::new("XUFAKrxLKna5cZ2REBfFkg==").unwrap();
        assert_eq!(
            sse_c.bound_headers(Some(&md5)),
            [
                (SSE_C_ALGORITHM_HEADER, "AES256".to_owned()),
                (SSE_C_KEY_MD5_HEADER, md5.as_str().to_owned())
            ]
        );
        assert_eq!(
            sse_c.bound_fields(Some(&md5))[1],
            (
                "x-amz-server-side-encryption-customer-key-MD5",
                md5.as_str().to_owned()
            )
        );
        assert!(
            sse_c
                .bound_headers(Some(&md5))
                .iter()
                .all(|(name, _)| *name != SSE_C_KEY_HEADER)
        );
        assert_eq!(
            ServerSideEncryption::Aes256.bound_headers(Some(&md5)),
            ServerSideEncryption::Aes256.headers(),
            "only SSE-C binds a key MD5"
        );
        assert!(CustomerKeyMd5::new("AAAA").is_err());
        assert!(CustomerKeyMd5::new("XUFAKrxLKna5cZ2REBfFkg").is_err());
    }
}
