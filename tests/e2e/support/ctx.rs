//! The context of one test: a server, a fresh bucket on it, and shortcuts to sign for it and
//! to look at what it stored.

use super::bed::TestBed;
use chrono::{DateTime, Utc};
use s3_broker::domain::{BucketName, Expiry, ObjectKey};
use s3_broker::sigv4::{
    KeyRule, PostForm, PostPolicyRequest, PresignRequest, PresignedRequest, S3Operation,
};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};

/// The lifetime of the grants the tests make unless they say otherwise.
pub(crate) const DEFAULT_EXPIRY_SECS: u64 = 600;

/// Creates a bucket named `name`, cut to 63 characters.
async fn create_bucket(bed: &TestBed, name: &str) -> BucketName {
    let name = &name[..name.len().min(63)];
    let name = name.trim_end_matches('-');
    let bucket = BucketName::new(name).expect("generated bucket names are valid");
    if let Err(e) = bed.s3.create_bucket().bucket(name).send().await {
        panic!(
            "{}: cannot create bucket {name}: {} (server logs in {})",
            bed.server.name(),
            aws_sdk_s3::error::DisplayErrorContext(&e),
            bed.data_dir.join("log").display()
        );
    }
    bucket
}

/// One test's server and bucket.
pub(crate) struct Ctx {
    /// The server.
    pub bed: &'static TestBed,
    /// A bucket created for this test alone.
    pub bucket: BucketName,
}

/// An object as the server stored it, read back through the SDK.
#[derive(Debug)]
pub(crate) struct Stored {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// The stored `Content-Type`.
    pub content_type: Option<String>,
    /// The user metadata (`x-amz-meta-*`, without the prefix).
    pub metadata: HashMap<String, String>,
}

impl Ctx {
    /// Creates a bucket with a unique name (it carries the test's name, for debugging).
    pub(crate) async fn new(bed: &'static TestBed) -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let thread = std::thread::current();
        let test: String = thread
            .name()
            .unwrap_or("test")
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        let bucket = create_bucket(bed, &format!("t{n:03}-{test}")).await;
        Self { bed, bucket }
    }

    /// Creates a second bucket for this test, named after the first one.
    pub(crate) async fn extra_bucket(&self, suffix: &str) -> BucketName {
        let base = self.bucket.as_str();
        let base = &base[..base.len().min(62 - suffix.len())];
        create_bucket(self.bed, &format!("{base}-{suffix}")).await
    }

    /// `key` as an [`ObjectKey`].
    pub(crate) fn key(&self, key: &str) -> ObjectKey {
        ObjectKey::new(key).expect("test keys are valid")
    }

    /// A presign request for `operation` on `key` in this test's bucket, valid 10 minutes.
    pub(crate) fn request(&self, operation: S3Operation, key: &str) -> PresignRequest {
        PresignRequest::new(
            operation,
            self.bucket.clone(),
            self.key(key),
            Expiry::from_secs(DEFAULT_EXPIRY_SECS).expect("valid expiry"),
        )
    }

    /// Presigns `request` now.
    pub(crate) fn presign(&self, request: &PresignRequest) -> PresignedRequest {
        self.presign_at(request, Utc::now())
    }

    /// Presigns `request` as if it were `at`.
    pub(crate) fn presign_at(
        &self,
        request: &PresignRequest,
        at: DateTime<Utc>,
    ) -> PresignedRequest {
        self.bed
            .signer
            .presign(&self.bed.credentials, request, at)
            .expect("the signer accepts the test's request")
    }

    /// A POST policy request for this test's bucket, valid 10 minutes, without conditions
    /// besides the key rule.
    pub(crate) fn policy(&self, key: KeyRule) -> PostPolicyRequest {
        PostPolicyRequest {
            bucket: self.bucket.clone(),
            key,
            content_type: None,
            size: None,
            fields: Vec::new(),
            expires: Expiry::from_secs(DEFAULT_EXPIRY_SECS).expect("valid expiry"),
        }
    }

    /// Signs a POST policy now.
    pub(crate) fn sign_policy(&self, request: &PostPolicyRequest) -> PostForm {
        self.sign_policy_at(request, Utc::now())
    }

    /// Signs a POST policy as if it were `at`.
    pub(crate) fn sign_policy_at(
        &self,
        request: &PostPolicyRequest,
        at: DateTime<Utc>,
    ) -> PostForm {
        self.bed
            .signer
            .post_policy(&self.bed.credentials, request, at)
            .expect("the signer accepts the test's policy")
    }

    /// Every key in the test's bucket, sorted.
    pub(crate) async fn keys(&self) -> Vec<String> {
        self.keys_of(self.bucket.as_str()).await
    }

    /// Every key in `bucket`, sorted.
    pub(crate) async fn keys_of(&self, bucket: &str) -> Vec<String> {
        let mut keys = Vec::new();
        let mut pages = self
            .bed
            .s3
            .list_objects_v2()
            .bucket(bucket)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.unwrap_or_else(|e| {
                panic!(
                    "{}: listing {bucket} failed: {}",
                    self.bed.server.name(),
                    aws_sdk_s3::error::DisplayErrorContext(&e)
                )
            });
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_owned)),
            );
        }
        keys.sort();
        keys
    }

    /// Asserts the bucket holds exactly `expected` (so a rejected request stored nothing).
    pub(crate) async fn assert_keys(&self, expected: &[&str], what: &str) {
        let mut expected: Vec<String> = expected.iter().map(|k| (*k).to_owned()).collect();
        expected.sort();
        let keys = self.keys().await;
        assert_eq!(
            keys,
            expected,
            "{}: {what}: the bucket holds other keys than expected",
            self.bed.server.name()
        );
    }

    /// The object at `key`, or `None` when there is none.
    pub(crate) async fn object(&self, key: &str) -> Option<Stored> {
        let result = self
            .bed
            .s3
            .get_object()
            .bucket(self.bucket.as_str())
            .key(key)
            .send()
            .await;
        let out = match result {
            Ok(out) => out,
            Err(e) if e.as_service_error().is_some_and(|e| e.is_no_such_key()) => return None,
            Err(e) => panic!(
                "{}: GetObject {key:?} failed: {}",
                self.bed.server.name(),
                aws_sdk_s3::error::DisplayErrorContext(&e)
            ),
        };
        let content_type = out.content_type().map(str::to_owned);
        let metadata = out.metadata().cloned().unwrap_or_default();
        let bytes = out
            .body
            .collect()
            .await
            .expect("object body")
            .into_bytes()
            .to_vec();
        Some(Stored {
            bytes,
            content_type,
            metadata,
        })
    }

    /// The object at `key`; panics when there is none.
    pub(crate) async fn stored(&self, key: &str) -> Stored {
        match self.object(key).await {
            Some(o) => o,
            None => panic!(
                "{}: no object {key:?}; the bucket holds {:?}",
                self.bed.server.name(),
                self.keys().await
            ),
        }
    }

    /// Stores an object through the SDK (to set up HEAD, GET and DELETE tests).
    pub(crate) async fn put(&self, key: &str, bytes: &[u8]) {
        if let Err(e) = self
            .bed
            .s3
            .put_object()
            .bucket(self.bucket.as_str())
            .key(key)
            .body(bytes.to_vec().into())
            .send()
            .await
        {
            panic!(
                "{}: PutObject {key:?} failed: {}",
                self.bed.server.name(),
                aws_sdk_s3::error::DisplayErrorContext(&e)
            );
        }
    }
}
