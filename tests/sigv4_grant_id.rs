//! The grant id signed in place (`PresignRequest::grant`, merged into the canonical query by
//! the signer) against the same id as an ordinary extra query parameter (`QueryParams`, the
//! way it was signed before): for any operation, extra parameters (sorting before or after
//! it, needing encoding or not, or of the same name), endpoint and session token, both make
//! the same URL, headers and expiry.

use chrono::{DateTime, TimeZone, Utc};
use proptest::prelude::*;
use s3_broker::domain::{
    AddressingStyle, BucketName, Credentials, Endpoint, Expiry, GrantId, ObjectKey, PartNumber,
    Region, UploadId,
};
use s3_broker::sigv4::{PresignRequest, QueryParams, S3Operation, SignedHeaders, Signer};

fn operation(which: u8, upload_id: &str, part: u64) -> S3Operation {
    let upload_id = UploadId::new(upload_id).unwrap();
    match which % 6 {
        0 => S3Operation::PutObject,
        1 => S3Operation::GetObject,
        2 => S3Operation::CreateMultipartUpload,
        3 => S3Operation::UploadPart {
            upload_id,
            part_number: PartNumber::new(part).unwrap(),
        },
        4 => S3Operation::CompleteMultipartUpload { upload_id },
        _ => S3Operation::AbortMultipartUpload { upload_id },
    }
}

fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + secs, 0).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn a_grant_id_signed_in_place_equals_a_query_parameter(
        which in any::<u8>(),
        upload_id in "[A-Za-z0-9._~+/=-]{1,40}",
        part in 1u64..=10_000,
        extra in proptest::collection::vec(
            (
                prop_oneof![
                    Just("x-broker-grant".to_owned()),
                    Just("versionId".to_owned()),
                    Just("response-content-disposition".to_owned()),
                    "[a-zA-Z0-9 _.~/!-]{1,16}",
                    "x-[a-z~ /-]{0,16}",
                ],
                "[a-zA-Z0-9 _.~/;=\"é-]{0,24}",
            ),
            0..10,
        ),
        path_style in any::<bool>(),
        token in any::<bool>(),
        secs in 0i64..400_000_000,
        uuid in any::<u128>(),
    ) {
        let style = if path_style { AddressingStyle::Path } else { AddressingStyle::VirtualHosted };
        let signer = Signer::new(Region::new("eu-west-3").unwrap(), Endpoint::AwsRegional, style);
        let credentials = Credentials::from_parts(
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            token.then_some("FwoGZXIvYXdzE+/token=="),
        )
        .unwrap();
        let grant = GrantId::from_sealed(&uuid::Uuid::from_u128(uuid).to_string()).unwrap();
        let mut query = QueryParams::new();
        for (name, value) in &extra {
            // Names the signer reserves are refused, as before.
            let _ = query.insert(name, value);
        }
        let mut in_place = PresignRequest::new(
            operation(which, &upload_id, part),
            BucketName::new("acme-uploads").unwrap(),
            ObjectKey::new("users/alice/a b.txt").unwrap(),
            Expiry::from_secs(900).unwrap(),
        );
        in_place.headers = SignedHeaders::new().content_length(12);
        in_place.query = query.clone();
        in_place.grant = Some(grant.clone());
        let mut as_parameter = in_place.clone();
        as_parameter.grant = None;
        as_parameter.query = query.with(GrantId::QUERY_PARAM, grant.as_str()).unwrap();

        let ours = signer.presign(&credentials, &in_place, at(secs)).unwrap();
        let before = signer.presign(&credentials, &as_parameter, at(secs)).unwrap();
        prop_assert_eq!(&ours, &before);
        let grant_param = format!("x-broker-grant={}", grant.as_str());
        prop_assert!(ours.url.contains(&grant_param));
    }
}
