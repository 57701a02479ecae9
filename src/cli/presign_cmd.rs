//! `s3-broker presign (get|put|head|delete)`.

use super::CliError;
use super::args::{PresignArgs, PresignFormat, PresignOperation};
use super::aws_env::signing_setup;
use crate::domain::{Checksum, ChecksumAlgorithm, GrantId};
use crate::sigv4::{PresignRequest, PresignedRequest, S3Operation};

/// Builds the request from the arguments, signs it and renders it.
pub(super) fn run(args: PresignArgs) -> Result<String, CliError> {
    let request = build_request(&args)?;
    let setup = signing_setup(&args.target)?;
    let presigned = setup
        .signer
        .presign(&setup.credentials, &request, setup.at)?;
    if has_dot_segments(request.key.as_str()) {
        eprintln!(
            "warning: the key has '.' or '..' segments, which browsers and most HTTP libraries remove before sending; only clients that send the path as-is (curl --path-as-is) can use this URL"
        );
    }
    Ok(render(&presigned, request.grant.as_ref(), args.format))
}

/// Turns arguments into a typed request, refusing options that do not fit the operation.
pub(crate) fn build_request(args: &PresignArgs) -> Result<PresignRequest, CliError> {
    let operation = match args.operation {
        PresignOperation::Get => S3Operation::GetObject,
        PresignOperation::Put => S3Operation::PutObject,
        PresignOperation::Head => S3Operation::HeadObject,
        PresignOperation::Delete => S3Operation::DeleteObject,
    };
    let is_put = args.operation == PresignOperation::Put;
    let is_get = args.operation == PresignOperation::Get;
    let put_only = args.content_type.is_some()
        || args.content_length.is_some()
        || args.checksum_sha256.is_some()
        || args.no_overwrite;
    if put_only && !is_put {
        return Err(CliError::Usage(
            "--content-type, --content-length, --checksum-sha256 and --no-overwrite apply to 'presign put' only"
                .into(),
        ));
    }
    let overrides =
        args.response_content_disposition.is_some() || args.response_content_type.is_some();
    if overrides && !is_get {
        return Err(CliError::Usage(
            "--response-content-disposition and --response-content-type apply to 'presign get' only"
                .into(),
        ));
    }

    let mut request = PresignRequest::new(
        operation,
        args.target.bucket.clone(),
        args.key.clone(),
        args.target.expires,
    );
    for line in &args.headers {
        request.headers.insert_line(line)?;
    }
    if let Some(ct) = &args.content_type {
        request.headers = request.headers.content_type(ct);
    }
    if let Some(len) = args.content_length {
        request.headers = request.headers.content_length(len);
    }
    if let Some(sha) = &args.checksum_sha256 {
        let checksum = Checksum::new(ChecksumAlgorithm::Sha256, sha)?;
        request.headers = request.headers.checksum(&checksum);
    }
    if args.no_overwrite {
        request.headers = request.headers.if_none_match_any();
    }
    if let Some(value) = &args.response_content_disposition {
        request
            .query
            .insert("response-content-disposition", value)?;
    }
    if let Some(value) = &args.response_content_type {
        request.query.insert("response-content-type", value)?;
    }
    if args.target.grant_id {
        request.grant = Some(GrantId::new());
    }
    Ok(request)
}

fn render(presigned: &PresignedRequest, grant: Option<&GrantId>, format: PresignFormat) -> String {
    match format {
        PresignFormat::Url => format!("{}\n", presigned.url),
        PresignFormat::Json => {
            let headers: serde_json::Map<String, serde_json::Value> = presigned
                .headers
                .iter()
                .map(|(n, v)| (n.to_owned(), serde_json::Value::String(v.to_owned())))
                .collect();
            let mut json = serde_json::json!({
                "method": presigned.method.as_str(),
                "url": presigned.url,
                "headers": headers,
                "expires_at": presigned.expires_at,
            });
            if let Some(grant) = grant {
                json["grant_id"] = grant.as_str().into();
            }
            format!("{json:#}\n")
        }
        PresignFormat::Curl => {
            // --path-as-is: curl would otherwise remove `.`/`..` segments of the key.
            let mut words = vec![
                "curl".to_owned(),
                "--fail-with-body".into(),
                "--path-as-is".into(),
            ];
            match presigned.method.as_str() {
                "HEAD" => words.push("--head".into()),
                "GET" => {}
                method => words.extend(["-X".into(), method.into()]),
            }
            // curl derives Content-Length from the file; setting it by hand is redundant.
            for (name, value) in presigned
                .headers
                .iter()
                .filter(|(n, _)| *n != "content-length")
            {
                words.extend(["-H".into(), quote(&format!("{name}: {value}"))]);
            }
            if presigned.method.as_str() == "PUT" {
                words.extend(["--upload-file".into(), "FILE".into()]);
            }
            words.push(quote(&presigned.url));
            format!("{}\n", words.join(" "))
        }
    }
}

/// True when a `/`-separated segment of `key` is `.` or `..`.
fn has_dot_segments(key: &str) -> bool {
    key.split('/')
        .any(|segment| segment == "." || segment == "..")
}

/// Quotes a word for a POSIX shell.
pub(crate) fn quote(word: &str) -> String {
    shlex::try_quote(word)
        .map(|q| q.into_owned())
        .unwrap_or_else(|_| format!("'{}'", word.replace('\'', r"'\''")))
}
