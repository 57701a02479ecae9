//! Signing one upload receipt (goal: at most 50 µs): claims to JSON, base64url, one Ed25519
//! signature with aws-lc-rs. `cargo bench --bench receipt`; figures in doc/benchmarks.md.

#![allow(missing_docs)]

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use s3_broker::receipt::{
    ReceiptClaims, ReceiptKeyId, ReceiptKeySpec, ReceiptKeys, generate_private_key_pem,
};

fn receipt(c: &mut Criterion) {
    let keys = ReceiptKeys::new(
        "https://uploads.example.com",
        vec![(
            ReceiptKeyId::new("2026-12").unwrap(),
            ReceiptKeySpec::Private(generate_private_key_pem()),
        )],
    )
    .unwrap();
    let claims = ReceiptClaims::example();
    c.bench_function("receipt/sign", |b| b.iter(|| keys.sign(black_box(&claims))));
}

criterion_group!(benches, receipt);
criterion_main!(benches);
