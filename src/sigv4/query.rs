//! Extra signed query parameters (`response-content-disposition`, `versionId`, `max-parts`...).

use super::SigningError;
use std::collections::BTreeMap;

/// Query parameters added to a presigned URL and covered by its signature.
///
/// Names that SigV4 itself uses (`X-Amz-*`, case-insensitive) and the parameters that select
/// an operation (`uploads`, `uploadId`, `partNumber`) cannot be set here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryParams(BTreeMap<String, String>);

const OPERATION_PARAMS: [&str; 3] = ["uploads", "uploadId", "partNumber"];

impl QueryParams {
    /// No extra parameters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one parameter, replacing an earlier value of the same name.
    pub fn insert(&mut self, name: &str, value: &str) -> Result<(), SigningError> {
        let reserved = name.is_empty()
            || name.len() > 256
            || name.to_ascii_lowercase().starts_with("x-amz-")
            || OPERATION_PARAMS.contains(&name)
            || name.chars().any(char::is_control);
        if reserved {
            return Err(SigningError::ReservedQueryParam(name.to_owned()));
        }
        if value.chars().any(char::is_control) || value.len() > 4096 {
            return Err(SigningError::QueryValue(name.to_owned()));
        }
        self.0.insert(name.to_owned(), value.to_owned());
        Ok(())
    }

    /// Builder form of [`QueryParams::insert`].
    pub fn with(mut self, name: &str, value: &str) -> Result<Self, SigningError> {
        self.insert(name, value)?;
        Ok(self)
    }

    /// The parameters, unencoded.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_reserved_names_and_control_characters() {
        let mut q = QueryParams::new();
        assert!(
            q.insert(
                "response-content-disposition",
                "attachment; filename=\"a b\""
            )
            .is_ok()
        );
        assert!(q.insert("versionId", "3").is_ok());
        for bad in [
            "X-Amz-Signature",
            "x-amz-expires",
            "uploadId",
            "partNumber",
            "uploads",
            "",
        ] {
            assert!(q.insert(bad, "1").is_err(), "{bad}");
        }
        assert!(
            q.insert("response-content-type", "text/plain\r\nx")
                .is_err()
        );
    }
}
