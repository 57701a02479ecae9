//! Command-line arguments (clap derive). Values are parsed straight into domain types, so a
//! bad bucket, key, region, expiry or time is refused before anything runs.

use crate::domain::{BucketName, ContentType, Endpoint, Expiry, ObjectKey, Region};
use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};

/// s3-broker: SigV4 grants for direct-to-S3 uploads and downloads.
#[derive(Debug, Parser)]
#[command(name = "s3-broker", version, about, propagate_version = true)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service.
    Serve(ServeArgs),
    /// Local S3 store + broker + demo page in one command: no AWS account needed.
    Dev(DevArgs),
    /// Mint a development token signed with the configuration's first HS secret.
    Token(TokenArgs),
    /// Print one presigned URL (credentials from the standard AWS environment and profiles).
    Presign(PresignArgs),
    /// Print a signed POST policy for a browser form: JSON, a ready HTML form, or a curl command.
    PostPolicy(PostPolicyArgs),
    /// Decode a presigned URL: operation, bucket, key, headers to send, issue time, expiry.
    #[command(
        after_help = "Exit status: 0 when the URL is valid at the time of the check, 1 when it \
                            has expired or is not yet valid (the explanation is printed \
                            either way), 2 when it is not a SigV4 presigned URL."
    )]
    Explain(ExplainArgs),
    /// Check a deployment before serving: configuration, profiles, credentials, clock, buckets.
    #[command(
        after_help = "Exit status: 0 when no check failed (warnings allowed), 1 when a \
                            check failed, 2 when doctor itself could not run (the runtime did \
                            not start, the report could not be written)."
    )]
    Doctor(DoctorArgs),
    /// Refuse the credentials of a principal (or all) issued until now: writes a "not before"
    /// time to the shared limits store, or to the revocation file.
    Revoke(RevokeArgs),
    /// Upload receipts: `receipt verify JWS --jwks URL|FILE` checks one offline.
    #[command(subcommand)]
    Receipt(ReceiptCommand),
}

/// `receipt ...`.
#[derive(Debug, Subcommand)]
pub enum ReceiptCommand {
    /// Check a receipt's signature against a JWK Set and print its claims (exit 1 if it does
    /// not verify).
    Verify(ReceiptVerifyArgs),
}

/// `receipt verify`.
#[derive(Debug, Args)]
pub struct ReceiptVerifyArgs {
    /// The receipt (a compact JWS), or `-` to read it from stdin.
    pub receipt: String,
    /// The broker's JWK Set: an http(s) URL (its `/.well-known/jwks.json`) or a file.
    #[arg(long, value_name = "URL|FILE")]
    pub jwks: String,
    /// Also require this `iss`.
    #[arg(long)]
    pub issuer: Option<String>,
}

/// Where and how to sign: shared by `presign` and `post-policy`.
#[derive(Debug, Clone, Args)]
pub struct TargetArgs {
    /// The bucket.
    #[arg(long)]
    pub bucket: BucketName,
    /// Region of the credential scope [default: AWS_REGION, AWS_DEFAULT_REGION, the profile's
    /// region, else us-east-1].
    #[arg(long)]
    pub region: Option<Region>,
    /// Custom S3-compatible endpoint such as http://127.0.0.1:9000 [default:
    /// AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, else the regional AWS endpoint].
    #[arg(long)]
    pub endpoint: Option<Endpoint>,
    /// Path-style addressing (https://host/bucket/key) instead of virtual-hosted.
    #[arg(long)]
    pub path_style: bool,
    /// Lifetime in seconds, 1 to 604800 (7 days).
    #[arg(long, default_value = "3600")]
    pub expires: Expiry,
    /// Sign as of this RFC 3339 time instead of now, for reproducible output.
    #[arg(long, value_name = "RFC3339", value_parser = parse_rfc3339)]
    pub at: Option<DateTime<Utc>>,
    /// Carry a fresh grant id, as the broker's own grants do: the signed query parameter
    /// `x-broker-grant` of a URL (S3 server access logs keep it), or the signed form field
    /// `x-amz-meta-broker-grant` (stored with the object).
    #[arg(long)]
    pub grant_id: bool,
}

/// Parses `--at`, with an error that says what is expected.
fn parse_rfc3339(value: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| "expected an RFC 3339 time such as 2024-05-01T12:00:00Z".to_owned())
}

/// `presign (get|put|head|delete)`.
#[derive(Debug, Args)]
pub struct PresignArgs {
    /// The operation.
    #[arg(value_enum)]
    pub operation: PresignOperation,
    /// Bucket, region, endpoint, lifetime, time.
    #[command(flatten)]
    pub target: TargetArgs,
    /// The object key.
    #[arg(long)]
    pub key: ObjectKey,
    /// Content-Type the client must send (put).
    #[arg(long)]
    pub content_type: Option<ContentType>,
    /// Exact body size the client must send (put).
    #[arg(long)]
    pub content_length: Option<u64>,
    /// Base64 SHA-256 of the body; S3 rejects other bytes (put).
    #[arg(long, value_name = "BASE64")]
    pub checksum_sha256: Option<String>,
    /// Sign `If-None-Match: *` so the upload fails if the key exists (put).
    #[arg(long)]
    pub no_overwrite: bool,
    /// Extra signed header, 'Name: value' (repeatable).
    #[arg(long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// Signed `response-content-disposition` override (get).
    #[arg(long, value_name = "VALUE")]
    pub response_content_disposition: Option<String>,
    /// Signed `response-content-type` override (get).
    #[arg(long, value_name = "TYPE")]
    pub response_content_type: Option<String>,
    /// Output: the bare URL, JSON with the headers to send, or a curl command.
    #[arg(long, value_enum, default_value_t = PresignFormat::Url)]
    pub format: PresignFormat,
}

/// Operations `presign` signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PresignOperation {
    /// GetObject.
    Get,
    /// PutObject.
    Put,
    /// HeadObject.
    Head,
    /// DeleteObject.
    Delete,
}

/// Output formats of `presign`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PresignFormat {
    /// Only the URL.
    Url,
    /// `{method, url, headers, expires_at}`.
    Json,
    /// A curl command.
    Curl,
}

/// `post-policy`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("key-rule").required(true).args(["key", "key_prefix"])))]
#[command(group(clap::ArgGroup::new("type-rule").args(["content_type", "content_type_prefix"])))]
pub struct PostPolicyArgs {
    /// Bucket, region, endpoint, lifetime, time.
    #[command(flatten)]
    pub target: TargetArgs,
    /// The exact key to upload to.
    #[arg(long)]
    pub key: Option<ObjectKey>,
    /// Allow any key under this prefix; the form uploads to `prefix${filename}`.
    #[arg(long, value_name = "PREFIX")]
    pub key_prefix: Option<String>,
    /// The exact Content-Type the form must declare.
    #[arg(long)]
    pub content_type: Option<ContentType>,
    /// A prefix the declared Content-Type must start with, e.g. image/.
    #[arg(long, value_name = "PREFIX")]
    pub content_type_prefix: Option<String>,
    /// Smallest accepted file, in bytes.
    #[arg(long, value_name = "BYTES")]
    pub min_size: Option<u64>,
    /// Largest accepted file, in bytes (at most 5 GiB).
    #[arg(long, value_name = "BYTES")]
    pub max_size: Option<u64>,
    /// Extra field with an exact-match condition, 'name=value' (repeatable).
    #[arg(long = "field", value_name = "NAME=VALUE")]
    pub fields: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PostPolicyFormat::Json)]
    pub format: PostPolicyFormat,
}

/// Output formats of `post-policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PostPolicyFormat {
    /// `{"url": .., "fields": {..}, "expires_at": ..}`.
    Json,
    /// A complete HTML page with a no-JavaScript upload form.
    Html,
    /// A curl command uploading FILE.
    Curl,
}

/// `explain URL`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The presigned URL.
    pub url: String,
    /// Judge expiry as of this RFC 3339 time instead of now.
    #[arg(long, value_name = "RFC3339", value_parser = parse_rfc3339)]
    pub at: Option<DateTime<Utc>>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Configuration file (TOML); `S3_BROKER__SECTION__KEY` variables override it.
    #[arg(long, short, env = "S3_BROKER_CONFIG")]
    pub config: Option<std::path::PathBuf>,
}

/// `revoke`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("whom").required(true).multiple(true).args(["sub", "all"])))]
pub struct RevokeArgs {
    /// Configuration file (TOML), as given to `serve`.
    #[arg(long, short, env = "S3_BROKER_CONFIG")]
    pub config: Option<std::path::PathBuf>,
    /// A token subject, which is also an API key principal name (repeatable).
    #[arg(long)]
    pub sub: Vec<String>,
    /// Everything: every token, API key and ticket issued until now.
    #[arg(long)]
    pub all: bool,
}

/// `doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Configuration file (TOML), as given to `serve`; `S3_BROKER__SECTION__KEY` variables
    /// override it.
    #[arg(long, short, env = "S3_BROKER_CONFIG")]
    pub config: Option<std::path::PathBuf>,
}

/// `dev`.
#[derive(Debug, Args)]
pub struct DevArgs {
    /// Where the store keeps its files and the dev configuration (kept between runs).
    #[arg(long, default_value = ".s3-broker-dev")]
    pub dir: std::path::PathBuf,
    /// Port of the broker and its demo page, on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Port of the embedded S3 store, on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 0)]
    pub store_port: u16,
    /// Another origin whose pages may call the API and the store from a browser (repeatable),
    /// e.g. http://127.0.0.1:5173; also read from S3_BROKER__SERVER__CORS_ORIGINS.
    #[arg(long = "cors-origin", value_name = "ORIGIN")]
    pub cors_origins: Vec<String>,
}

/// `token`.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// The subject (`sub`) of the token.
    #[arg(long)]
    pub sub: String,
    /// Scopes to grant (repeatable): upload, download, list, delete [default: all].
    #[arg(long = "scope", value_name = "SCOPE")]
    pub scopes: Vec<crate::domain::Scope>,
    /// Lifetime in seconds (1 to 604800).
    #[arg(long, default_value = "3600")]
    pub ttl: Expiry,
    /// Configuration whose HS secret signs the token [default: the dev configuration in
    /// .s3-broker-dev/config.toml].
    #[arg(long, short)]
    pub config: Option<std::path::PathBuf>,
}
