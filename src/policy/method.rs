//! How a client uploads: a presigned PUT or a browser POST form.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The upload method of a grant, named as in the API (`"PUT"`, `"POST"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum UploadMethod {
    /// A presigned `PutObject` URL with headers the client must send.
    #[serde(rename = "PUT")]
    Put,
    /// A SigV4 POST policy for an HTML form.
    /// See <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-UsingHTTPPOST.html>
    #[serde(rename = "POST")]
    Post,
}

impl UploadMethod {
    /// `"PUT"` or `"POST"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Put => "PUT",
            Self::Post => "POST",
        }
    }
}

impl fmt::Display for UploadMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for UploadMethod {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "PUT" => Ok(Self::Put),
            "POST" => Ok(Self::Post),
            other => Err(format!(
                "unknown upload method {other:?}: expected \"PUT\" or \"POST\""
            )),
        }
    }
}
