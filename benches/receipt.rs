//! Signing one upload receipt (goal: at most 50 µs): claims to JSON, base64url, one Ed25519
//! signature with aws-lc-rs. `cargo bench --bench receipt`; figures in doc/benchmarks.md.

#![allow(missing_docs)]

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use s3_broker::receipt::{
    ReceiptClaims, ReceiptKeyId, ReceiptKeySpec, ReceiptKeys, ReceiptObject,
    generate_private_key_pem,
};

fn claims() -> ReceiptClaims {
    ReceiptClaims {
        iss: "https://uploads.example.com".into(),
        sub: "alice".into(),
        iat: 1_800_000_000,
        jti: "0b5c2b1e-6a0f-4f5e-9d43-3f1f0c9b8a11".into(),
        profile: "avatars".into(),
        object: ReceiptObject {
            bucket: "uploads".into(),
            key: "users/alice/0b5c2b1e-6a0f-4f5e-9d43-3f1f0c9b8a11/portrait.png".into(),
            size: 482_113,
            content_type: "image/png".into(),
            etag: "9b2cf535f27731c974343645a3985328".into(),
            version_id: None,
            checksum: Some("sha256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=".into()),
        },
    }
}

fn receipt(c: &mut Criterion) {
    let keys = ReceiptKeys::new(
        "https://uploads.example.com",
        vec![(
            ReceiptKeyId::new("2026-12").unwrap(),
            ReceiptKeySpec::Private(generate_private_key_pem()),
        )],
    )
    .unwrap();
    let claims = claims();
    c.bench_function("receipt/sign", |b| b.iter(|| keys.sign(black_box(&claims))));
}

criterion_group!(benches, receipt);
criterion_main!(benches);
