//! `s3-broker post-policy`.

use super::CliError;
use super::args::{PostPolicyArgs, PostPolicyFormat};
use super::aws_env::signing_setup;
use super::html_form::render_html_form;
use super::presign_cmd::quote;
use super::to_pretty_json;
use crate::domain::{GrantId, MAX_SINGLE_UPLOAD_BYTES};
use crate::sigv4::{ContentTypeRule, KeyRule, PostForm, PostPolicyRequest};

/// Builds the policy request from the arguments, signs it and renders it.
pub(super) fn run(args: PostPolicyArgs) -> Result<String, CliError> {
    let request = build_request(&args)?;
    let setup = signing_setup(&args.target)?;
    let form = setup
        .signer
        .post_policy(&setup.credentials, &request, setup.at)?;
    Ok(match args.format {
        PostPolicyFormat::Json => to_pretty_json(&form),
        PostPolicyFormat::Html => render_html_form(
            &form,
            matches!(request.content_type, Some(ContentTypeRule::Prefix(_))),
            &format!("Upload to {}", request.bucket),
        ),
        PostPolicyFormat::Curl => render_curl(&form),
    })
}

/// Turns arguments into a typed policy request.
pub(crate) fn build_request(args: &PostPolicyArgs) -> Result<PostPolicyRequest, CliError> {
    let key = match (&args.key, &args.key_prefix) {
        (Some(key), None) => KeyRule::Exact(key.clone()),
        (None, Some(prefix)) => KeyRule::Prefix(prefix.clone()),
        _ => {
            return Err(CliError::Usage(
                "give exactly one of --key and --key-prefix".into(),
            ));
        }
    };
    let content_type = match (&args.content_type, &args.content_type_prefix) {
        (Some(ct), None) => Some(ContentTypeRule::Exact(ct.clone())),
        (None, Some(prefix)) => Some(ContentTypeRule::Prefix(prefix.clone())),
        (None, None) => None,
        _ => {
            return Err(CliError::Usage(
                "give at most one of --content-type and --content-type-prefix".into(),
            ));
        }
    };
    let size = match (args.min_size, args.max_size) {
        (None, None) => None,
        (min, max) => Some((min.unwrap_or(0), max.unwrap_or(MAX_SINGLE_UPLOAD_BYTES))),
    };
    let mut fields = args
        .fields
        .iter()
        .map(|f| {
            f.split_once('=')
                .map(|(n, v)| (n.trim().to_owned(), v.to_owned()))
                .ok_or_else(|| CliError::Usage(format!("--field {f:?}: expected name=value")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if args.target.grant_id {
        fields.push((
            GrantId::META_FIELD.to_owned(),
            GrantId::new().as_str().to_owned(),
        ));
    }
    Ok(PostPolicyRequest {
        bucket: args.target.bucket.clone(),
        key,
        content_type,
        size,
        fields,
        expires: args.target.expires,
    })
}

/// A curl command: every field as a literal string (`--form-string` never reads `@file`),
/// then the file last.
fn render_curl(form: &PostForm) -> String {
    let mut words = vec!["curl".to_owned(), "--fail-with-body".into()];
    for field in &form.fields {
        words.push("--form-string".into());
        words.push(quote(&format!("{}={}", field.name, field.value)));
    }
    words.extend(["-F".into(), quote("file=@FILE")]);
    words.push(quote(&form.url));
    format!("{}\n", words.join(" "))
}
