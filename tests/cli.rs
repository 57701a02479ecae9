//! Black-box tests of the `s3-broker` binary's offline commands.

use std::path::Path;
use std::process::{Command, Output};

const AKID: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const DOC_URL: &str = "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";

/// Runs the binary with a clean AWS environment: only what `env` gives, and a HOME without
/// profile files unless `home` has them.
fn run_in(home: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_s3-broker"));
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("HOME", home).envs(env.iter().copied()).args(args);
    cmd.output().expect("run s3-broker")
}

fn run(args: &[&str]) -> Output {
    let home = tempfile::tempdir().unwrap();
    run_in(
        home.path(),
        &[
            ("AWS_ACCESS_KEY_ID", AKID),
            ("AWS_SECRET_ACCESS_KEY", SECRET),
        ],
        args,
    )
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// Asserts a failure with exactly one line on stderr naming `needle`, and nothing on stdout.
fn assert_one_line_error(out: &Output, needle: &str) {
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "one line expected: {err}"
    );
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains(needle), "{needle:?} not in {err}");
    assert!(out.stdout.is_empty());
    assert!(!err.contains("panicked"));
}

#[test]
fn presign_get_reproduces_the_aws_example() {
    let out = run(&[
        "presign",
        "get",
        "--bucket",
        "examplebucket",
        "--key",
        "test.txt",
        "--endpoint",
        "https://s3.amazonaws.com",
        "--expires",
        "86400",
        "--at",
        "2013-05-24T00:00:00Z",
    ]);
    assert_eq!(stdout(&out), format!("{DOC_URL}\n"));
}

#[test]
fn presign_put_json_lists_the_headers_to_send() {
    let out = run(&[
        "presign",
        "put",
        "--bucket",
        "photos",
        "--key",
        "users/alice/a b.jpg",
        "--region",
        "eu-west-3",
        "--content-type",
        "image/jpeg",
        "--content-length",
        "10",
        "--no-overwrite",
        "--header",
        "x-amz-meta-owner: alice",
        "--format",
        "json",
        "--at",
        "2024-01-01T00:00:00Z",
    ]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["method"], "PUT");
    let url = json["url"].as_str().unwrap();
    assert!(url.starts_with("https://photos.s3.eu-west-3.amazonaws.com/users/alice/a%20b.jpg?"));
    assert!(url.contains(
        "X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost%3Bif-none-match%3Bx-amz-meta-owner"
    ));
    assert_eq!(json["headers"]["content-type"], "image/jpeg");
    assert_eq!(json["headers"]["content-length"], "10");
    assert_eq!(json["headers"]["if-none-match"], "*");
    assert_eq!(json["headers"]["x-amz-meta-owner"], "alice");
    assert_eq!(json["expires_at"], "2024-01-01T01:00:00Z");
}

#[test]
fn credentials_region_and_endpoint_come_from_profile_files() {
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join(".aws")).unwrap();
    std::fs::write(
        home.path().join(".aws/credentials"),
        format!("[work]\naws_access_key_id = {AKID}\naws_secret_access_key = {SECRET}\naws_session_token = tok3n\n"),
    )
    .unwrap();
    std::fs::write(
        home.path().join(".aws/config"),
        "[profile work]\nregion = ap-south-1\n",
    )
    .unwrap();
    let out = run_in(
        home.path(),
        &[
            ("AWS_PROFILE", "work"),
            ("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9000"),
        ],
        &[
            "presign",
            "head",
            "--bucket",
            "bkt",
            "--key",
            "k",
            "--at",
            "2024-01-01T00:00:00Z",
        ],
    );
    let url = stdout(&out);
    assert!(url.starts_with("http://127.0.0.1:9000/bkt/k?"), "{url}");
    assert!(url.contains("%2Fap-south-1%2Fs3%2F"), "{url}");
    assert!(url.contains("X-Amz-Security-Token=tok3n"), "{url}");
}

#[test]
fn post_policy_json_html_and_curl() {
    let base = [
        "post-policy",
        "--bucket",
        "photos",
        "--key-prefix",
        "users/alice/",
        "--content-type-prefix",
        "image/",
        "--max-size",
        "1048576",
        "--field",
        "x-amz-meta-owner=alice",
        "--at",
        "2024-01-01T00:00:00Z",
    ];
    let text = stdout(&run(&base));
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["url"], "https://photos.s3.us-east-1.amazonaws.com/");
    let fields = json["fields"].as_object().unwrap();
    // serde_json::Value sorts keys, so read the order from the text itself.
    let mut names: Vec<&str> = fields.keys().map(String::as_str).collect();
    names.sort_by_key(|n| text.find(&format!("\"{n}\": ")).unwrap());
    assert_eq!(names.len(), 8);
    assert_eq!(names.first(), Some(&"key"));
    assert_eq!(names.last(), Some(&"x-amz-signature"));
    assert_eq!(fields["key"], "users/alice/${filename}");

    let html = stdout(&run(&[&base[..], &["--format", "html"]].concat()));
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(!html.contains("<script"), "the form needs no JavaScript");
    assert!(html.contains("action=\"https://photos.s3.us-east-1.amazonaws.com/\""));
    assert!(html.contains("enctype=\"multipart/form-data\""));
    let file = html.find("name=\"file\"").unwrap();
    assert_eq!(
        html[file..].matches(" name=\"").count(),
        0,
        "file must be the last field"
    );
    for name in names {
        assert!(
            html[..file].contains(&format!("name=\"{name}\"")),
            "{name} missing"
        );
    }

    let curl = stdout(&run(&[&base[..], &["--format", "curl"]].concat()));
    assert!(curl.starts_with("curl "));
    assert!(curl.contains("--form-string 'key=users/alice/${filename}'"));
    assert!(
        curl.trim_end()
            .ends_with("-F 'file=@FILE' https://photos.s3.us-east-1.amazonaws.com/")
    );
}

#[test]
fn explain_decodes_a_url_without_repeating_secrets() {
    let out = run(&["explain", DOC_URL, "--at", "2013-05-24T12:00:00Z"]);
    let text = stdout(&out);
    assert!(text.contains("examplebucket"));
    assert!(text.contains("test.txt"));
    assert!(text.contains("2013-05-25T00:00:00+00:00"));
    assert!(text.contains("valid"));
    assert!(!text.contains("aeeed9bb"));
    assert_eq!(out.status.code(), Some(0), "a valid URL exits 0");
    // Expired (now): the explanation is printed, and the exit status says it.
    let expired = run(&["explain", DOC_URL, "--json"]);
    let json: serde_json::Value =
        serde_json::from_slice(&expired.stdout).expect("the JSON explanation");
    assert_eq!(json["expired"], true);
    assert_eq!(expired.status.code(), Some(1), "an expired URL exits 1");
    // Signed after the time of the check: not yet valid.
    let early = run(&["explain", DOC_URL, "--at", "2013-05-23T23:59:00Z"]);
    let early_text = String::from_utf8_lossy(&early.stdout);
    assert!(early_text.contains("NOT YET VALID"), "{early_text}");
    assert_eq!(early.status.code(), Some(1), "a URL not yet valid exits 1");
    let not_presigned = run(&["explain", "https://example.com/nothing"]);
    assert_eq!(
        not_presigned.status.code(),
        Some(2),
        "not a presigned URL exits 2"
    );
}

#[test]
fn bad_arguments_get_one_line_errors_and_non_zero_exit() {
    let get = |extra: &[&'static str]| -> Vec<&'static str> {
        [
            &["presign", "get", "--bucket", "bkt", "--key", "k"][..],
            extra,
        ]
        .concat()
    };
    let put = |extra: &[&'static str]| -> Vec<&'static str> {
        [
            &["presign", "put", "--bucket", "bkt", "--key", "k"][..],
            extra,
        ]
        .concat()
    };
    let policy = |extra: &[&'static str]| -> Vec<&'static str> {
        [&["post-policy", "--bucket", "bkt", "--key", "k"][..], extra].concat()
    };
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["presign", "get", "--key", "k"], "--bucket"),
        (
            vec!["presign", "get", "--bucket", "Bad_Bucket", "--key", "k"],
            "bucket",
        ),
        (
            vec!["presign", "get", "--bucket", "bkt", "--key", ""],
            "key",
        ),
        (
            vec!["presign", "get", "--bucket", "bkt", "--key", "a\nb"],
            "control",
        ),
        (get(&["--expires", "604801"]), "604800"),
        (get(&["--expires", "0"]), "604800"),
        (get(&["--at", "yesterday"]), "RFC 3339"),
        (get(&["--endpoint", "ftp://x"]), "http"),
        (get(&["--region", "EU"]), "region"),
        (get(&["--content-type", "text/plain"]), "put"),
        (put(&["--header", "Host: evil"]), "Host"),
        (put(&["--header", "nocolon"]), "Name: value"),
        (put(&["--content-type", "nope"]), "content type"),
        (put(&["--checksum-sha256", "xx"]), "SHA256"),
        (
            vec!["presign", "frobnicate", "--bucket", "bkt", "--key", "k"],
            "frobnicate",
        ),
        (vec!["post-policy", "--bucket", "bkt"], "--key"),
        (policy(&["--key-prefix", "p"]), "--key-prefix"),
        (policy(&["--field", "policy=x"]), "policy"),
        (policy(&["--field", "novalue"]), "name=value"),
        (policy(&["--min-size", "9", "--max-size", "1"]), "size"),
        (
            vec!["explain", "https://example.com/nothing"],
            "X-Amz-Algorithm",
        ),
    ];
    for (args, needle) in cases {
        let out = run(&args);
        assert_one_line_error(&out, needle);
    }
}

#[test]
fn missing_credentials_are_reported_clearly() {
    let home = tempfile::tempdir().unwrap();
    let out = run_in(
        home.path(),
        &[],
        &["presign", "get", "--bucket", "bkt", "--key", "k"],
    );
    assert_one_line_error(&out, "AWS_ACCESS_KEY_ID");
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn receipt_verify_checks_a_receipt_against_a_jwks_file() {
    use s3_broker::receipt::{
        ReceiptClaims, ReceiptKeyId, ReceiptKeySpec, ReceiptKeys, generate_private_key_pem,
    };
    let keys = ReceiptKeys::new(
        "https://uploads.example.com",
        vec![(
            ReceiptKeyId::new("2026-12").unwrap(),
            ReceiptKeySpec::Private(generate_private_key_pem()),
        )],
    )
    .unwrap();
    let receipt = keys.sign(&ReceiptClaims::example());
    let dir = tempfile::tempdir().unwrap();
    let jwks = dir.path().join("jwks.json");
    std::fs::write(&jwks, keys.jwks().to_string()).unwrap();
    let jwks = jwks.to_str().unwrap();
    let out = run(&["receipt", "verify", &receipt, "--jwks", jwks]);
    let claims: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["object"]["size"], 482_113);
    let issuer = ["--issuer", "https://uploads.example.com"];
    stdout(&run(&[
        &["receipt", "verify", &receipt, "--jwks", jwks][..],
        &issuer[..],
    ]
    .concat()));
    // Another issuer, an altered signature, an unknown file: one line, exit 1.
    let out = run(&[
        "receipt",
        "verify",
        &receipt,
        "--jwks",
        jwks,
        "--issuer",
        "https://x",
    ]);
    assert_one_line_error(&out, "does not verify");
    assert_eq!(out.status.code(), Some(1));
    let mut altered = receipt.clone();
    altered.replace_range(altered.len() - 4.., "AAAA");
    assert_one_line_error(
        &run(&["receipt", "verify", &altered, "--jwks", jwks]),
        "does not verify",
    );
    assert_one_line_error(
        &run(&[
            "receipt",
            "verify",
            &receipt,
            "--jwks",
            "/nonexistent/jwks.json",
        ]),
        "No such file",
    );
}

#[test]
fn grant_ids_are_opt_in_signed_and_fresh() {
    let put = |extra: &[&str]| {
        let out = run(&[
            &[
                "presign",
                "put",
                "--bucket",
                "photos",
                "--key",
                "users/alice/a.jpg",
                "--format",
                "json",
                "--at",
                "2024-01-01T00:00:00Z",
            ][..],
            extra,
        ]
        .concat());
        serde_json::from_str::<serde_json::Value>(&stdout(&out)).unwrap()
    };
    let signature = |url: &str| url.rsplit_once("X-Amz-Signature=").unwrap().1.to_owned();
    let plain = put(&[]);
    let plain_url = plain["url"].as_str().unwrap();
    assert!(!plain_url.contains("x-broker-grant"), "{plain_url}");
    assert!(plain.get("grant_id").is_none(), "{plain}");

    let (one, two) = (put(&["--grant-id"]), put(&["--grant-id"]));
    let id = one["grant_id"].as_str().unwrap();
    assert!(uuid::Uuid::try_parse(id).is_ok(), "{id}");
    assert_ne!(id, two["grant_id"].as_str().unwrap(), "a fresh id per URL");
    let url = one["url"].as_str().unwrap();
    assert!(
        url.contains(&format!("&x-broker-grant={id}&X-Amz-Signature=")),
        "{url}"
    );
    // Signed: the same request at the same time with and without it signs differently.
    assert_ne!(signature(url), signature(plain_url));

    let form = run(&[
        "post-policy",
        "--bucket",
        "photos",
        "--key",
        "users/alice/a.jpg",
        "--grant-id",
        "--at",
        "2024-01-01T00:00:00Z",
    ]);
    let form: serde_json::Value = serde_json::from_str(&stdout(&form)).unwrap();
    let id = form["fields"]["x-amz-meta-broker-grant"].as_str().unwrap();
    assert!(uuid::Uuid::try_parse(id).is_ok(), "{id}");
    use base64::Engine as _;
    let policy = base64::engine::general_purpose::STANDARD
        .decode(form["fields"]["policy"].as_str().unwrap())
        .unwrap();
    let policy = String::from_utf8(policy).unwrap();
    assert!(
        policy.contains(&format!(r#"{{"x-amz-meta-broker-grant":"{id}"}}"#)),
        "the id is an exact condition of the policy: {policy}"
    );
}
