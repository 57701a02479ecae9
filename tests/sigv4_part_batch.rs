//! The batch signer of UploadPart URLs against the one-at-a-time signer: for any key, upload
//! id, endpoint, session token, time, part number, length and checksum, both make the same
//! URL and ask for the same headers (the one-at-a-time signer is itself property-tested
//! against `aws-sigv4` in `sigv4_properties.rs`).

use chrono::{DateTime, TimeZone, Utc};
use proptest::prelude::*;
use s3_broker::domain::{
    AddressingStyle, BucketName, Checksum, ChecksumAlgorithm, Credentials, Endpoint, Expiry,
    ObjectKey, PartNumber, Region, UploadId,
};
use s3_broker::sigv4::{
    PartHeaderShape, PresignRequest, QueryParams, S3Operation, SignedHeaders, Signer,
};

fn signer(path_style: bool, custom: bool) -> Signer {
    let endpoint = if custom {
        "http://127.0.0.1:9000".parse().unwrap()
    } else {
        Endpoint::AwsRegional
    };
    let style = if path_style {
        AddressingStyle::Path
    } else {
        AddressingStyle::VirtualHosted
    };
    Signer::new(Region::new("eu-west-3").unwrap(), endpoint, style)
}

fn credentials(token: bool) -> Credentials {
    Credentials::from_parts(
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        token.then_some("FwoGZXIvYXdzE+/token=="),
    )
    .unwrap()
}

fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + secs, 0).unwrap()
}

fn checksum_of(algorithm: ChecksumAlgorithm, seed: u8) -> Checksum {
    use base64::Engine;
    let bytes = vec![seed; algorithm.digest_len()];
    Checksum::new(
        algorithm,
        &base64::engine::general_purpose::STANDARD.encode(bytes),
    )
    .unwrap()
}

prop_compose! {
    fn key()(segments in proptest::collection::vec("[a-zA-Z0-9 _.~+=&%()é€-]{1,12}", 1..4)) -> String {
        format!("users/alice/{}", segments.join("/"))
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn batch_urls_equal_single_presigns(
        key in key(),
        upload_id in "[A-Za-z0-9._~+/=-]{1,80}",
        numbers in proptest::collection::vec(1u64..=10_000, 1..8),
        length in proptest::option::of(0u64..=5_368_709_120),
        algorithm in proptest::option::of(proptest::sample::select(ChecksumAlgorithm::ALL.to_vec())),
        path_style in any::<bool>(),
        custom in any::<bool>(),
        token in any::<bool>(),
        secs in 0i64..400_000_000,
        expires in 1u64..=604_800,
        grant in proptest::option::of("[a-f0-9-]{36}"),
    ) {
        let signer = signer(path_style, custom);
        let credentials = credentials(token);
        let bucket = BucketName::new("acme-uploads").unwrap();
        let key = ObjectKey::new(key).unwrap();
        let upload_id = UploadId::new(upload_id).unwrap();
        let expires = Expiry::from_secs(expires).unwrap();
        let shape = PartHeaderShape { content_length: length.is_some(), checksum: algorithm };
        // The grant id the broker adds to every URL (`x-broker-grant`), or nothing.
        let mut extra = QueryParams::new();
        if let Some(grant) = &grant {
            extra.insert("x-broker-grant", grant).unwrap();
        }
        let batch = signer
            .part_url_batch(&credentials, &bucket, &key, &upload_id, expires, at(secs), shape, &extra)
            .unwrap();
        for (i, n) in numbers.into_iter().enumerate() {
            let part_number = PartNumber::new(n).unwrap();
            let checksum = algorithm.map(|a| checksum_of(a, i as u8));
            let signed = batch.sign(part_number, length, checksum.as_ref()).unwrap();
            let mut request = PresignRequest::new(
                S3Operation::UploadPart { upload_id: upload_id.clone(), part_number },
                bucket.clone(),
                key.clone(),
                expires,
            );
            let mut headers = SignedHeaders::new();
            if let Some(length) = length {
                headers = headers.content_length(length);
            }
            if let Some(checksum) = &checksum {
                headers = headers.checksum(checksum);
            }
            request.headers = headers;
            request.query = extra.clone();
            let single = signer.presign(&credentials, &request, at(secs)).unwrap();
            prop_assert_eq!(&signed.url, &single.url);
            let batch_headers: Vec<(String, String)> = signed
                .headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), v.clone()))
                .collect();
            prop_assert_eq!(batch_headers, single.headers.to_vec());
            prop_assert_eq!(batch.expires_at(), single.expires_at);
        }
    }
}

#[test]
fn a_part_must_fit_the_batch_shape() {
    let signer = signer(false, false);
    let batch = signer
        .part_url_batch(
            &credentials(false),
            &BucketName::new("acme-uploads").unwrap(),
            &ObjectKey::new("k").unwrap(),
            &UploadId::new("u").unwrap(),
            Expiry::from_secs(60).unwrap(),
            at(0),
            PartHeaderShape {
                content_length: true,
                checksum: Some(ChecksumAlgorithm::Sha256),
            },
            &QueryParams::new(),
        )
        .unwrap();
    let one = PartNumber::new(1).unwrap();
    let sha = checksum_of(ChecksumAlgorithm::Sha256, 1);
    let crc = checksum_of(ChecksumAlgorithm::Crc32, 1);
    assert!(batch.sign(one, Some(1), Some(&sha)).is_ok());
    assert!(batch.sign(one, None, Some(&sha)).is_err());
    assert!(batch.sign(one, Some(1), None).is_err());
    assert!(batch.sign(one, Some(1), Some(&crc)).is_err());
}
