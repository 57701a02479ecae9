//! Server-side encryption a profile requires on every upload.
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/userguide/serv-side-encryption.html> and
//! <https://docs.aws.amazon.com/AmazonS3/latest/userguide/specifying-kms-encryption.html>.

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
            (other, _) => Err(format!(
                "{other:?} is not an encryption; expected \"AES256\", \"aws:kms\" or \"aws:kms:dsse\""
            )),
        }
    }

    /// The value of `x-amz-server-side-encryption`.
    pub fn algorithm(&self) -> &'static str {
        match self {
            Self::Aes256 => "AES256",
            Self::Kms { .. } => "aws:kms",
            Self::KmsDsse { .. } => "aws:kms:dsse",
        }
    }

    /// The KMS key, if one is named.
    pub fn kms_key_id(&self) -> Option<&str> {
        match self {
            Self::Aes256 => None,
            Self::Kms { key_id } | Self::KmsDsse { key_id } => key_id.as_deref(),
        }
    }

    /// The lowercase headers (and POST form fields) to bind, with their values.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let mut headers = vec![("x-amz-server-side-encryption", self.algorithm().to_owned())];
        if let Some(id) = self.kms_key_id() {
            headers.push(("x-amz-server-side-encryption-aws-kms-key-id", id.to_owned()));
        }
        headers
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
}
