//! The decision for a browser form upload, made before the file is chosen (so without a file
//! name or size): the page of a plain HTML form with no JavaScript.
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html>

use super::metadata::check_metadata;
use super::profile::{Lifetime, require_scope};
use super::template::RenderInput;
use super::upload::{
    check_content_type, check_method, checked_key, parse_content_type, parse_path,
};
use super::{
    Filename, MetadataKey, Placeholder, PolicyError, Profile, ServerSideEncryption, SizeRange,
    UploadMethod,
};
use crate::domain::{BucketName, ContentType, Expiry, ObjectKey, Principal, Scope};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use uuid::Uuid;

/// What a form page asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormIntent {
    /// The `Content-Type` the form will send; when absent, the profile must accept a single
    /// `type/*`, which is bound as a prefix.
    pub content_type: Option<String>,
    /// Client folders, for templates with `{path}`.
    pub path: Option<String>,
    /// `x-amz-meta-*` values, by key.
    pub metadata: BTreeMap<String, String>,
    /// The file's name when the client knows it before signing (Uppy's `/s3/params`): the
    /// key is then exact instead of a `${filename}` prefix.
    pub filename: Option<String>,
}

/// The key of a form upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormKey {
    /// Exactly this key (templates without `{filename}`).
    Exact(ObjectKey),
    /// This prefix followed by S3's `${filename}` (the browser's file name): the form's `key`
    /// field is `prefix${filename}` and the policy condition `["starts-with", "$key", prefix]`.
    /// The prefix holds a fresh `{uuid}` unless the profile allows overwriting, so a form can
    /// only write into a new folder of its own.
    Prefix(String),
}

/// The content type rule of a form upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormContentType {
    /// An exact `Content-Type` field.
    Exact(ContentType),
    /// `["starts-with", "$Content-Type", prefix]`, e.g. `image/`.
    Prefix(String),
}

/// An accepted form upload: every value must be a policy condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormUploadDecision {
    /// The profile that decided.
    pub profile: String,
    /// The bucket.
    pub bucket: BucketName,
    /// The key rule.
    pub key: FormKey,
    /// The content type rule.
    pub content_type: FormContentType,
    /// `content-length-range`: the profile's size range (the size is not known yet).
    pub size: SizeRange,
    /// What the grant's lifetime is cut from (`crate::grants::grant_lifetime`).
    pub lifetime: Lifetime,
    /// Exact `x-amz-meta-*` fields, sorted by key.
    pub metadata: Vec<(MetadataKey, String)>,
    /// Exact encryption fields.
    pub server_side_encryption: Option<ServerSideEncryption>,
}

impl Profile {
    /// Decides a form upload for `principal` (always [`UploadMethod::Post`]).
    ///
    /// Refused when the profile does not allow POST, requires a checksum (a form without
    /// JavaScript cannot compute one), or has `{filename}` anywhere but at the very end of
    /// its template (S3 can only append the browser's file name).
    pub fn decide_form_upload(
        &self,
        principal: &Principal,
        intent: &FormIntent,
        uuid: Uuid,
        now: DateTime<Utc>,
        requested_expiry: Option<Expiry>,
    ) -> Result<FormUploadDecision, PolicyError> {
        require_scope(principal, Scope::Upload)?;
        check_method(self, UploadMethod::Post)?;
        if self.require_checksum {
            return Err(PolicyError::ChecksumRequired(String::from(&*self.name)));
        }
        if self.uses_customer_key() {
            return Err(PolicyError::MethodNotAllowed(format!(
                "the profile {:?} encrypts with a key each client provides (SSE-C), which a \
                 browser form or Uppy cannot add: use POST /v1/uploads with \
                 sse_customer_key_md5",
                self.name
            )));
        }
        let uses_filename = self.key_template.uses(Placeholder::Filename);
        // A form's key can only end with S3's `${filename}`.
        if uses_filename && !self.key_template.ends_with_filename() {
            return Err(PolicyError::MethodNotAllowed(format!(
                "the profile {:?} cannot serve a browser form: its key template must end with \
                 {{filename}}",
                self.name
            )));
        }
        let path = parse_path(self, intent.path.as_deref())?;
        let content_type = match &intent.content_type {
            Some(value) => {
                let ct = parse_content_type(value)?;
                check_content_type(self, &ct)?;
                FormContentType::Exact(ct)
            }
            None => FormContentType::Prefix(self.content_types.single_type_prefix().ok_or_else(
                || {
                    PolicyError::ContentTypeRequired(format!(
                        "the profile {:?} accepts {}; name the type the form will send",
                        self.name, self.content_types
                    ))
                },
            )?),
        };
        let metadata = check_metadata(&self.metadata_keys, &intent.metadata)?;
        let filename = intent
            .filename
            .as_deref()
            .map(Filename::parse)
            .transpose()?;
        let rendered = self.key_template.render(&RenderInput {
            principal: &principal.segment,
            uuid,
            filename: filename.as_ref(),
            path: path.as_ref(),
            now,
        });
        let key = if uses_filename && filename.is_none() {
            // Check the prefix as a key with a one-character file name in place of S3's.
            checked_key(self, principal, format!("{rendered}x"))?;
            FormKey::Prefix(rendered)
        } else {
            FormKey::Exact(checked_key(self, principal, rendered)?)
        };
        Ok(FormUploadDecision {
            profile: String::from(&*self.name),
            bucket: self.bucket.clone(),
            key,
            content_type,
            size: self.single_upload_size(),
            lifetime: self.lifetime(requested_expiry),
            metadata,
            server_side_encryption: self.server_side_encryption.clone(),
        })
    }
}
