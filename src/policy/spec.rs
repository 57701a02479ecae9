//! The TOML form of a profile, exactly as written in a `policies/*.toml` file.

use super::{ByteSize, Disposition, UploadMethod};
use serde::Deserialize;

/// One profile file, before validation. Unknown keys are refused.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProfileSpec {
    pub name: Option<String>,
    pub description: Option<String>,
    pub bucket: Option<String>,
    pub key_template: String,
    pub content_types: Vec<String>,
    pub min_size: Option<ByteSize>,
    pub max_size: ByteSize,
    pub default_expiry_secs: Option<u64>,
    pub max_expiry_secs: Option<u64>,
    pub methods: Option<Vec<UploadMethod>>,
    pub default_method: Option<UploadMethod>,
    pub server_side_encryption: Option<String>,
    pub kms_key_id: Option<String>,
    #[serde(default)]
    pub metadata_keys: Vec<String>,
    #[serde(default)]
    pub allow_overwrite: bool,
    #[serde(default)]
    pub require_checksum: bool,
    pub download_disposition: Option<Disposition>,
    pub allow_inline: Option<bool>,
    pub download_existence_check: Option<bool>,
    pub multipart: Option<bool>,
    pub content_checks: Option<bool>,
    pub on_mismatch: Option<super::OnMismatch>,
    pub max_width: Option<u32>,
    pub max_height: Option<u32>,
    pub max_pixels: Option<u64>,
    pub scan: Option<super::scan::ScanSpec>,
}
