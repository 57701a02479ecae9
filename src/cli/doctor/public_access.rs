//! Check 9: S3 Block Public Access on each bucket, so that no upload can make its object
//! public. The broker never signs an ACL, but Ceph radosgw 16 takes the `x-amz-acl` and
//! `x-amz-grant-*` headers a presigned PUT did not sign (`tests/e2e/service_public_acls.rs`):
//! the holder of an upload grant who adds `x-amz-acl: public-read` or `x-amz-grant-read` for
//! `AllUsers` gets an object anyone reads without a grant.
//!
//! - `IgnorePublicAcls` makes every public grant (canned or explicit, set before or after)
//!   grant nothing: required on every store.
//! - `BlockPublicAcls` refuses a request that sets a public ACL: required on AWS (its default
//!   for new buckets), where it harms no honest request. Ceph radosgw 16 refuses every PutObject
//!   under it, the broker's honest uploads included (tested), so with `backend = "ceph"` it
//!   must be off, and `IgnorePublicAcls` alone keeps the objects private.
//! - `BlockPublicPolicy` and `RestrictPublicBuckets` guard against a public bucket policy,
//!   which only the operator can write: a warning when off.
//!
//! A required setting in the wrong state is a failure, not a warning: either every holder of
//! an upload grant can publish its object (on a store that takes unsigned headers, "the bucket
//! is never public" of doc/security.md no longer holds), or no upload works; the fix is one
//! command, which the finding names.
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html>
//! and <https://docs.ceph.com/en/pacific/radosgw/bucketpolicy/>

use super::finding::Finding;
use crate::backend::Backend;
use crate::s3::{InspectError, PublicAccessBlock};

/// Check 9 for one bucket: `block` is GetPublicAccessBlock's answer (`None`: no settings).
pub(super) fn judge_public_access(
    bucket: &str,
    block: &Result<Option<PublicAccessBlock>, InspectError>,
    backend: Backend,
) -> Finding {
    let check = format!("public-access {bucket}");
    let (block, none) = match block {
        Ok(Some(block)) => (*block, ""),
        Ok(None) => (PublicAccessBlock::default(), "no public access block: "),
        Err(InspectError::NotImplemented) => {
            return Finding::warn(
                check,
                "the store does not implement GetPublicAccessBlock: make sure it refuses \
                 `x-amz-acl` and `x-amz-grant-*` headers a presigned URL did not sign, or \
                 ignores public ACLs",
            );
        }
        Err(err) => {
            return super::unreadable(
                &check,
                "GetPublicAccessBlock",
                "the public access block",
                err,
            );
        }
    };
    let ceph = backend == Backend::Ceph;
    let mut off = Vec::new();
    if !block.block_public_acls && !ceph {
        off.push("BlockPublicAcls");
    }
    if !block.ignore_public_acls {
        off.push("IgnorePublicAcls");
    }
    if !off.is_empty() {
        return Finding::fail(
            check,
            format!(
                "{none}{} off, so an upload that adds `x-amz-acl: public-read` or an \
                 `x-amz-grant-read` for AllUsers to its presigned PUT (Ceph radosgw takes them \
                 unsigned) can make its object readable by anyone: {}",
                off.join(" and "),
                fix_hint(bucket, ceph)
            ),
        );
    }
    if ceph && block.block_public_acls {
        return Finding::fail(
            check,
            format!(
                "BlockPublicAcls on: Ceph radosgw 16 then refuses every upload, the broker's \
                 included (IgnorePublicAcls alone keeps public ACLs from granting anything): {}",
                fix_hint(bucket, ceph)
            ),
        );
    }
    let policy_off: Vec<&str> = [
        ("BlockPublicPolicy", block.block_public_policy),
        ("RestrictPublicBuckets", block.restrict_public_buckets),
    ]
    .into_iter()
    .filter_map(|(name, on)| (!on).then_some(name))
    .collect();
    let acls = if ceph {
        "public ACLs are ignored"
    } else {
        "public ACLs are blocked and ignored"
    };
    if policy_off.is_empty() {
        Finding::ok(check, format!("{acls}, and so are public bucket policies"))
    } else {
        Finding::warn(
            check,
            format!(
                "{acls}, but {} off: a bucket policy could still make objects public: {}",
                policy_off.join(" and "),
                fix_hint(bucket, ceph)
            ),
        )
    }
}

/// The command that sets the bucket's block as the backend needs it.
fn fix_hint(bucket: &str, ceph: bool) -> String {
    format!(
        "aws s3api put-public-access-block --bucket {bucket} --public-access-block-configuration \
         BlockPublicAcls={},IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true",
        !ceph
    )
}

#[cfg(test)]
mod tests {
    use super::super::finding::Status;
    use super::*;

    const ALL: PublicAccessBlock = PublicAccessBlock {
        block_public_acls: true,
        ignore_public_acls: true,
        block_public_policy: true,
        restrict_public_buckets: true,
    };

    /// What Ceph radosgw 16 needs: everything but `BlockPublicAcls`.
    const CEPH: PublicAccessBlock = PublicAccessBlock {
        block_public_acls: false,
        ..ALL
    };

    const AWS_FIX: &str = "aws s3api put-public-access-block --bucket uploads \
        --public-access-block-configuration BlockPublicAcls=true,IgnorePublicAcls=true,\
        BlockPublicPolicy=true,RestrictPublicBuckets=true";
    const CEPH_FIX: &str = "aws s3api put-public-access-block --bucket uploads \
        --public-access-block-configuration BlockPublicAcls=false,IgnorePublicAcls=true,\
        BlockPublicPolicy=true,RestrictPublicBuckets=true";

    #[test]
    fn every_setting_on_passes_and_on_ceph_all_but_block_public_acls() {
        let finding = judge_public_access("b", &Ok(Some(ALL)), Backend::Aws);
        assert_eq!(finding.status, Status::Ok, "{finding}");
        assert_eq!(finding.check, "public-access b");
        assert!(finding.message.contains("blocked and ignored"), "{finding}");
        let finding = judge_public_access("b", &Ok(Some(CEPH)), Backend::Ceph);
        assert_eq!(finding.status, Status::Ok, "{finding}");
        assert!(
            finding.message.contains("public ACLs are ignored"),
            "{finding}"
        );
    }

    #[test]
    fn an_acl_setting_off_fails_with_the_command() {
        let acls = |block_public_acls, ignore_public_acls| PublicAccessBlock {
            block_public_acls,
            ignore_public_acls,
            ..ALL
        };
        for (backend, block, named, fix) in [
            (
                Backend::Aws,
                None,
                "no public access block: BlockPublicAcls and IgnorePublicAcls off",
                AWS_FIX,
            ),
            (
                Backend::Aws,
                Some(PublicAccessBlock::default()),
                "BlockPublicAcls and IgnorePublicAcls off",
                AWS_FIX,
            ),
            (
                Backend::Aws,
                Some(acls(true, false)),
                "IgnorePublicAcls off",
                AWS_FIX,
            ),
            (
                Backend::Aws,
                Some(acls(false, true)),
                "BlockPublicAcls off",
                AWS_FIX,
            ),
            (
                Backend::Minio,
                Some(acls(false, true)),
                "BlockPublicAcls off",
                AWS_FIX,
            ),
            (
                Backend::Ceph,
                None,
                "no public access block: IgnorePublicAcls off",
                CEPH_FIX,
            ),
            (
                Backend::Ceph,
                Some(PublicAccessBlock::default()),
                "IgnorePublicAcls off",
                CEPH_FIX,
            ),
            (
                Backend::Ceph,
                Some(acls(true, false)),
                "IgnorePublicAcls off",
                CEPH_FIX,
            ),
            // Ceph 16 refuses every upload under BlockPublicAcls.
            (Backend::Ceph, Some(ALL), "refuses every upload", CEPH_FIX),
        ] {
            let finding = judge_public_access("uploads", &Ok(block), backend);
            assert_eq!(
                finding.status,
                Status::Fail,
                "{backend:?} {block:?}: {finding}"
            );
            assert!(finding.message.contains(named), "{finding}");
            assert!(finding.message.contains(fix), "{finding}");
        }
    }

    #[test]
    fn policy_settings_off_only_warn() {
        for (backend, acls) in [(Backend::Aws, ALL), (Backend::Ceph, CEPH)] {
            let block = PublicAccessBlock {
                restrict_public_buckets: false,
                ..acls
            };
            let finding = judge_public_access("b", &Ok(Some(block)), backend);
            assert_eq!(finding.status, Status::Warn, "{finding}");
            assert!(
                finding.message.contains("RestrictPublicBuckets off"),
                "{finding}"
            );
            assert!(
                !finding.message.contains("BlockPublicPolicy off"),
                "{finding}"
            );
        }
    }

    #[test]
    fn an_unreadable_block_warns() {
        let finding = judge_public_access("b", &Err(InspectError::NotImplemented), Backend::Aws);
        assert_eq!(finding.status, Status::Warn, "{finding}");
        assert!(
            finding
                .message
                .contains("does not implement GetPublicAccessBlock"),
            "{finding}"
        );
        let denied = InspectError::Refused {
            status: 403,
            code: Some("AccessDenied".into()),
        };
        let finding = judge_public_access("b", &Err(denied), Backend::Ceph);
        assert_eq!(finding.status, Status::Warn, "{finding}");
        assert!(
            finding.message.contains("AccessDenied (HTTP 403)"),
            "{finding}"
        );
    }
}
