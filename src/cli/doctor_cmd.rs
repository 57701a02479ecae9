//! `s3-broker doctor [--config FILE]`: checks a deployment before it serves, with the same
//! configuration as `serve`, and prints one line per check: `ok`, `warn` or `FAIL` and a
//! short explanation. It never prints a secret, a token or a signed URL. The exit status is
//! 1 when a check failed.
//!
//! The checks, in order (a check whose prerequisite failed is left out):
//!
//! 1. `config`: the file and `S3_BROKER__*` overrides load and validate, `[auth]` included.
//! 2. `profiles`: the profiles load and the configured backend can enforce them.
//! 3. `credentials`: the broker's credentials resolve, and how long they have left.
//! 4. `clock`: the local clock against the `Date` of S3's answer; SigV4 requests fail beyond
//!    15 minutes of skew, and grants are signed with this clock.
//! 5. `bucket NAME`: each bucket the profiles use exists and the credentials reach it.
//! 6. `cors NAME`: with `[server] cors_origins`, the bucket's CORS lets those origins send
//!    what the grants ask for, and exposes `ETag` for multipart uploads.
//! 7. `lifecycle NAME`: with multipart profiles, a rule aborts incomplete uploads.
//! 8. `ticket-keys` and `public-url`: the warnings `serve` logs at startup.
//!
//! Each judgement is a pure function of what was read (tested below); the S3 calls are in
//! [`crate::s3::S3Client::probe_bucket`] and its neighbours.

use super::CliError;
use super::args::DoctorArgs;
use crate::app::{StartupError, credential_source, load_profiles, s3_client};
use crate::auth::Authenticator;
use crate::backend::Backend;
use crate::config::{CredentialsSetting, Settings};
use crate::credentials::{CredentialSource, CredentialsUnavailable};
use crate::domain::BucketName;
use crate::policy::{ProfileRegistry, UploadMethod};
use crate::s3::{CorsRule, InspectError, LifecycleRule, S3Client, ServerTime};
use chrono::{DateTime, Duration, Utc};
use std::fmt;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

/// Skew above which a warning is given: presigned URLs then start or end a minute off.
pub const SKEW_WARN: Duration = Duration::minutes(1);

/// The skew beyond which S3 refuses SigV4 requests (`RequestTimeTooSkewed`).
///
/// See <https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-authenticating-requests.html>
pub const SKEW_FAIL: Duration = Duration::minutes(15);

/// How long before the margin the broker fetches new credentials (as
/// [`CredentialSource`] does): less than this left means grants are being shortened.
const REFRESH_AHEAD: Duration = Duration::minutes(15);

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Nothing to do.
    Ok,
    /// Works, but something should be fixed or looked at.
    Warn,
    /// Will not work: fix before deploying.
    Fail,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Warn => "warn",
            Self::Fail => "FAIL",
        }
    }
}

/// One printed line: a status, the check's name and an explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The outcome.
    pub status: Status,
    /// The check, e.g. `bucket uploads`.
    pub check: String,
    /// What was found and, unless `ok`, what to do.
    pub message: String,
}

impl Finding {
    fn new(status: Status, check: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            status,
            check: check.into(),
            message: message.into(),
        }
    }

    fn ok(check: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Status::Ok, check, message)
    }

    fn warn(check: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Status::Warn, check, message)
    }

    fn fail(check: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Status::Fail, check, message)
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:<4} {}: {}",
            self.status.label(),
            self.check,
            self.message
        )
    }
}

/// Why the doctor could not run its checks (a failed check is not an error).
#[derive(Debug, thiserror::Error)]
pub enum DoctorError {
    /// The async runtime could not start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    /// The report could not be written.
    #[error("cannot write the report: {0}")]
    Output(std::io::Error),
}

impl From<DoctorError> for CliError {
    fn from(err: DoctorError) -> Self {
        match err {
            DoctorError::Runtime(e) | DoctorError::Output(e) => CliError::Io(e),
        }
    }
}

/// Writes each finding as it is made, and counts them.
struct Reporter<'a> {
    out: &'a mut dyn Write,
    failed: usize,
    warned: usize,
    passed: usize,
}

impl Reporter<'_> {
    fn report(&mut self, finding: Finding) -> Result<(), DoctorError> {
        match finding.status {
            Status::Ok => self.passed += 1,
            Status::Warn => self.warned += 1,
            Status::Fail => self.failed += 1,
        }
        writeln!(self.out, "{finding}")
            .and_then(|()| self.out.flush())
            .map_err(DoctorError::Output)
    }

    fn summary(&self) -> String {
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        format!(
            "doctor: {} passed, {}, {}",
            self.passed,
            plural(self.warned, "warning"),
            if self.failed == 0 {
                "nothing failed".to_owned()
            } else {
                format!("{} failed", self.failed)
            }
        )
    }
}

/// `s3-broker doctor` from the process's main: the report on stdout, line by line, then a
/// summary; exit status 1 when a check failed.
pub fn main(args: DoctorArgs) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    match run_into(&args, &mut stdout) {
        Ok(0) => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(1),
        Err(err) => {
            eprintln!("error: {}", CliError::from(err));
            ExitCode::from(1)
        }
    }
}

/// The whole report as text (for [`super::execute`]); the exit status comes from [`main`].
pub fn run(args: DoctorArgs) -> Result<String, CliError> {
    let mut buffer = Vec::new();
    run_into(&args, &mut buffer)?;
    Ok(String::from_utf8_lossy(&buffer).into_owned())
}

/// Runs every check, writing to `out`; returns how many failed.
fn run_into(args: &DoctorArgs, out: &mut dyn Write) -> Result<usize, DoctorError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(DoctorError::Runtime)?;
    let mut reporter = Reporter {
        out,
        failed: 0,
        warned: 0,
        passed: 0,
    };
    runtime.block_on(diagnose(args.config.as_deref(), &mut reporter))?;
    let summary = reporter.summary();
    writeln!(reporter.out, "{summary}").map_err(DoctorError::Output)?;
    Ok(reporter.failed)
}

async fn diagnose(config: Option<&Path>, reporter: &mut Reporter<'_>) -> Result<(), DoctorError> {
    let (finding, settings) = check_config(config);
    reporter.report(finding)?;
    let Some(settings) = settings else {
        return Ok(());
    };
    let (finding, profiles) = check_profiles(&settings);
    reporter.report(finding)?;

    let source = credential_source(&settings).await;
    let longest_grant = profiles
        .as_ref()
        .and_then(|p| p.profiles().map(|p| p.max_expiry().as_secs()).max())
        .map(|secs| Duration::seconds(i64::from(secs)));
    let (finding, resolved) = check_credentials(&settings, &source, longest_grant).await;
    reporter.report(finding)?;

    let buckets = buckets_in_use(&settings, profiles.as_ref());
    if !resolved {
        // Without credentials no S3 call can be signed; the credentials line says why.
    } else if buckets.is_empty() {
        reporter.report(Finding::warn(
            "buckets",
            "no bucket to check: set s3.bucket or give the profiles a bucket",
        ))?;
    } else {
        let s3 = s3_client(&settings, &source);
        check_buckets(&settings, &s3, &buckets, reporter).await?;
    }

    let multipart = profiles
        .as_ref()
        .is_some_and(|p| p.profiles().any(|p| p.allows_multipart()));
    reporter.report(judge_ticket_keys(
        settings.multipart.ticket_keys.is_some(),
        multipart,
    ))?;
    reporter.report(judge_public_url(settings.public_url.as_deref(), multipart))?;
    Ok(())
}

/// Check 1: the configuration loads and validates, `[auth]` included (as `serve` does before
/// it binds). A failure is one line, with quoted values and source excerpts left out.
fn check_config(path: Option<&Path>) -> (Finding, Option<Settings>) {
    let shown = path.map_or_else(
        || "the environment (S3_BROKER__*)".to_owned(),
        |p| p.display().to_string(),
    );
    let settings = match Settings::load(path) {
        Ok(settings) => settings,
        Err(err) => {
            let message = err.to_string();
            let message = message.strip_prefix("configuration: ").unwrap_or(&message);
            return (Finding::fail("config", one_line_redacted(message)), None);
        }
    };
    if let Err(err) = Authenticator::from_config(&settings.auth) {
        return (
            Finding::fail("config", one_line_redacted(&format!("auth: {err}"))),
            None,
        );
    }
    let finding = Finding::ok(
        "config",
        format!(
            "{shown} is valid (region {}, backend {})",
            settings.s3.region.as_str(),
            settings.s3.backend
        ),
    );
    (finding, Some(settings))
}

/// A configuration error on one line: source excerpts (the `N | text` lines of TOML parse
/// errors) dropped, and every quoted string value replaced by `"…"`, since a mistyped value
/// may be a secret.
fn one_line_redacted(message: &str) -> String {
    let excerpt = |line: &str| {
        let rest = line
            .trim_start()
            .trim_start_matches(|c: char| c.is_ascii_digit());
        rest.trim_start().starts_with('|')
    };
    let line = message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !excerpt(l))
        .collect::<Vec<_>>()
        .join(": ");
    redact_strings(&line)
}

/// Replaces the contents of every `string "..."` (serde's rendering of an unexpected string
/// value) by `…`.
fn redact_strings(text: &str) -> String {
    const MARK: &str = "string \"";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(MARK) {
        out.push_str(&rest[..at + MARK.len()]);
        let value = &rest[at + MARK.len()..];
        let mut escaped = false;
        let end = value.char_indices().find_map(|(i, c)| match c {
            _ if escaped => {
                escaped = false;
                None
            }
            '\\' => {
                escaped = true;
                None
            }
            '"' => Some(i),
            _ => None,
        });
        out.push('…');
        match end {
            Some(end) => rest = &value[end..],
            None => {
                out.push('"');
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Check 2: the profiles load (with the options `serve` uses) and the backend can enforce
/// each of them ([`Backend::check_profile`]).
fn check_profiles(settings: &Settings) -> (Finding, Option<ProfileRegistry>) {
    let profiles = match load_profiles(settings) {
        Ok(profiles) => profiles,
        Err(err @ StartupError::Backend(_)) => {
            return (Finding::fail("profiles", err.to_string()), None);
        }
        Err(err) => {
            return (
                Finding::fail("profiles", one_line_redacted(&err.to_string())),
                None,
            );
        }
    };
    let names: Vec<&str> = profiles.profiles().map(|p| p.name()).collect();
    let finding = Finding::ok(
        "profiles",
        format!(
            "{} loaded from {} ({}); backend {} can enforce them",
            names.len(),
            settings.policies_dir.display(),
            names.join(", "),
            settings.s3.backend
        ),
    );
    (finding, Some(profiles))
}

/// Check 3: the credentials resolve. Returns whether S3 calls can be signed at all.
async fn check_credentials(
    settings: &Settings,
    source: &CredentialSource,
    longest_grant: Option<Duration>,
) -> (Finding, bool) {
    let origin = match settings.s3.credentials {
        CredentialsSetting::Static(_) => "static keys from the configuration",
        CredentialsSetting::DefaultChain => "the default credential chain",
    };
    let now = Utc::now();
    match source.current(now).await {
        Ok(credentials) => (
            judge_credentials(
                origin,
                credentials.expires_at,
                now,
                source.margin(),
                longest_grant,
            ),
            true,
        ),
        Err(CredentialsUnavailable::Expiring(end)) => (
            judge_credentials(origin, Some(end), now, source.margin(), longest_grant),
            true,
        ),
        Err(CredentialsUnavailable::Provider(why)) => (
            Finding::fail(
                "credentials",
                format!(
                    "{origin} gave no credentials ({why}): set AWS_* variables, a profile or a \
                     role, or [s3.credentials] source = \"static\""
                ),
            ),
            false,
        ),
    }
}

/// Judges credentials expiring at `expires_at` (if ever): FAIL inside the margin (the broker
/// refuses to sign), warn when less than the refresh lead remains beyond it (grants are being
/// shortened, and credentials that cannot be refreshed stop soon).
pub fn judge_credentials(
    origin: &str,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    margin: Duration,
    longest_grant: Option<Duration>,
) -> Finding {
    let Some(end) = expires_at else {
        return Finding::ok("credentials", format!("{origin}: resolved, no expiry"));
    };
    let left = end - now;
    if left <= margin {
        return Finding::fail(
            "credentials",
            format!(
                "{origin} expire in {}, within s3.credential_margin_secs ({}): the broker \
                 refuses to sign with them; renew them",
                human(left),
                human(margin)
            ),
        );
    }
    let usable = left - margin;
    let text = format!(
        "{origin}: temporary, expire in {} (margin {})",
        human(left),
        human(margin)
    );
    if usable < REFRESH_AHEAD {
        Finding::warn(
            "credentials",
            format!(
                "{text}: grants are cut to {} now; unless the source renews them, the broker \
                 stops signing then",
                human(usable)
            ),
        )
    } else if let Some(grant) = longest_grant.filter(|g| usable < *g) {
        Finding::ok(
            "credentials",
            format!(
                "{text}; grants up to {} are shortened until they are refreshed",
                human(grant)
            ),
        )
    } else {
        Finding::ok("credentials", text)
    }
}

/// A short human duration: `45 s`, `12 min`, `3 h 5 min`, `2 d 4 h`.
fn human(d: Duration) -> String {
    let secs = d.num_seconds();
    let (sign, secs) = if secs < 0 { ("-", -secs) } else { ("", secs) };
    let text = match secs {
        s if s < 120 => format!("{s} s"),
        s if s < 3600 => format!("{} min", s / 60),
        s if s < 86_400 => match (s / 3600, (s % 3600) / 60) {
            (h, 0) => format!("{h} h"),
            (h, m) => format!("{h} h {m} min"),
        },
        s => match (s / 86_400, (s % 86_400) / 3600) {
            (d, 0) => format!("{d} d"),
            (d, h) => format!("{d} d {h} h"),
        },
    };
    format!("{sign}{text}")
}

/// One bucket and the profiles that use it.
struct BucketUse {
    bucket: BucketName,
    /// The fixed key prefixes of its profiles (e.g. `users/`), for the listing probe.
    prefixes: Vec<String>,
    /// The prefixes of its profiles that allow multipart uploads.
    multipart_prefixes: Vec<String>,
    /// What browsers send to it with the grants.
    needs: BrowserNeeds,
}

/// The buckets the profiles use (or `s3.bucket` when the profiles did not load).
fn buckets_in_use(settings: &Settings, profiles: Option<&ProfileRegistry>) -> Vec<BucketUse> {
    let mut buckets: Vec<BucketUse> = Vec::new();
    let Some(profiles) = profiles else {
        return settings
            .s3
            .bucket
            .iter()
            .map(|bucket| BucketUse {
                bucket: bucket.clone(),
                prefixes: vec![String::new()],
                multipart_prefixes: Vec::new(),
                needs: BrowserNeeds::default(),
            })
            .collect();
    };
    for profile in profiles.profiles() {
        let prefix: String = profile
            .key_template()
            .base()
            .iter()
            .map(|segment| format!("{segment}/"))
            .collect();
        let index = match buckets.iter().position(|b| &b.bucket == profile.bucket()) {
            Some(i) => i,
            None => {
                buckets.push(BucketUse {
                    bucket: profile.bucket().clone(),
                    prefixes: Vec::new(),
                    multipart_prefixes: Vec::new(),
                    needs: BrowserNeeds::default(),
                });
                buckets.len() - 1
            }
        };
        let entry = &mut buckets[index];
        if !entry.prefixes.contains(&prefix) {
            entry.prefixes.push(prefix.clone());
        }
        entry.needs.add_profile(
            profile.methods(),
            profile.allows_multipart(),
            settings.s3.backend,
        );
        if profile.allows_multipart() && !entry.multipart_prefixes.contains(&prefix) {
            entry.multipart_prefixes.push(prefix);
        }
    }
    buckets
}

/// Checks 4 to 7: clock, then each bucket, its CORS and its lifecycle.
async fn check_buckets(
    settings: &Settings,
    s3: &S3Client,
    buckets: &[BucketUse],
    reporter: &mut Reporter<'_>,
) -> Result<(), DoctorError> {
    let mut probes = Vec::with_capacity(buckets.len());
    for bucket in buckets {
        probes.push(s3.probe_bucket(&bucket.bucket).await);
    }
    reporter.report(judge_clock(probes.iter().find_map(|p| p.time)))?;
    for (bucket, probe) in buckets.iter().zip(probes) {
        let name = bucket.bucket.as_str();
        let listing = match &probe.result {
            // HEAD error answers have no body: list where the broker lists to learn S3's code.
            Err(InspectError::Refused { .. }) => {
                let prefix = bucket.prefixes.first().map_or("", String::as_str);
                Some((prefix, s3.probe_listing(&bucket.bucket, prefix).await))
            }
            _ => None,
        };
        let finding = judge_bucket(name, &probe.result, listing.as_ref().map(|(p, r)| (*p, r)));
        let reachable = finding.status != Status::Fail;
        reporter.report(finding)?;
        if !reachable {
            continue;
        }
        if !settings.cors_origins.is_empty() {
            let finding = match s3.bucket_cors(&bucket.bucket).await {
                Ok(rules) => judge_cors(name, &rules, &settings.cors_origins, &bucket.needs),
                Err(err) => unreadable(&format!("cors {name}"), "GetBucketCors", "CORS", &err),
            };
            reporter.report(finding)?;
        }
        if !bucket.multipart_prefixes.is_empty() {
            let finding = match s3.bucket_lifecycle(&bucket.bucket).await {
                Ok(rules) => judge_lifecycle(
                    name,
                    &rules,
                    &bucket.multipart_prefixes,
                    settings.multipart.ticket_ttl,
                ),
                Err(err) => unreadable(
                    &format!("lifecycle {name}"),
                    "GetBucketLifecycleConfiguration",
                    "the lifecycle rules",
                    &err,
                ),
            };
            reporter.report(finding)?;
        }
    }
    Ok(())
}

/// An inspection call that gave no answer: a warning (the store may not implement it, or
/// the broker's least-privilege role may not read bucket settings), never a failure.
fn unreadable(check: &str, call: &str, what: &str, err: &InspectError) -> Finding {
    match err {
        InspectError::NotImplemented => Finding::warn(
            check,
            format!("the store does not implement {call}: check {what} with its own tools"),
        ),
        err => Finding::warn(
            check,
            format!(
                "{call} answered {err}: not checked (the broker's role need not read bucket \
                 settings; run doctor with credentials that may, or check {what} by hand)"
            ),
        ),
    }
}

/// Check 4: classifies a clock skew: `ok` up to [`SKEW_WARN`], `warn` up to [`SKEW_FAIL`],
/// then `FAIL` (S3 refuses SigV4 requests and grants beyond it).
pub fn classify_skew(skew: Duration) -> Status {
    let skew = skew.abs();
    if skew > SKEW_FAIL {
        Status::Fail
    } else if skew > SKEW_WARN {
        Status::Warn
    } else {
        Status::Ok
    }
}

/// Check 4: the local clock against S3's.
pub fn judge_clock(time: Option<ServerTime>) -> Finding {
    let Some(time) = time else {
        return Finding::warn("clock", "not checked: S3 sent no answer with a Date header");
    };
    let skew = time.skew();
    let direction = if skew < Duration::zero() {
        "behind"
    } else {
        "ahead of"
    };
    // The Date header has whole seconds: within 2 s, the clocks agree.
    let text = if skew.abs() < Duration::seconds(2) {
        "S3's clock agrees with this host's (within 2 s)".to_owned()
    } else {
        format!(
            "S3's clock is {} {direction} this host's",
            human(skew.abs())
        )
    };
    match classify_skew(skew) {
        Status::Ok => Finding::ok("clock", text),
        Status::Warn => Finding::warn(
            "clock",
            format!("{text}: grants start and end that much off; synchronise with NTP"),
        ),
        Status::Fail => Finding::fail(
            "clock",
            format!(
                "{text}: beyond 15 min S3 refuses SigV4 requests and grants \
                 (RequestTimeTooSkewed); synchronise with NTP"
            ),
        ),
    }
}

/// Check 5: what HeadBucket (and, after a refusal, the listing under `prefix`) said.
fn judge_bucket(
    name: &str,
    head: &Result<(), InspectError>,
    listing: Option<(&str, &Result<(), InspectError>)>,
) -> Finding {
    let check = format!("bucket {name}");
    match (head, listing) {
        (Ok(()), _) => Finding::ok(check, "exists and the credentials reach it (HeadBucket)"),
        (Err(InspectError::NotImplemented), _) => Finding::warn(
            check,
            "the store does not implement HeadBucket: the bucket was not checked",
        ),
        (Err(_), Some((prefix, Ok(())))) => Finding::ok(
            check,
            format!(
                "reachable: listing under {prefix:?} works (HeadBucket is denied, as with the \
                 least-privilege policies/iam-policy.json)"
            ),
        ),
        (Err(_), Some((prefix, Err(err @ InspectError::Refused { .. })))) => {
            Finding::fail(check, bucket_refusal(name, prefix, err))
        }
        (Err(err), _) => Finding::fail(check, bucket_refusal(name, "", err)),
    }
}

/// What a refusal on a bucket means, by S3 error code (or status, for HEAD answers).
fn bucket_refusal(name: &str, prefix: &str, err: &InspectError) -> String {
    let hint = match (err.code(), err.status()) {
        (Some("NoSuchBucket"), _) | (None, Some(404)) => format!(
            "bucket {name} does not exist: create it, or fix s3.bucket / the profiles' bucket"
        ),
        (Some("InvalidAccessKeyId"), _) => {
            "the store does not know the access key id: fix the broker's credentials".to_owned()
        }
        (Some("SignatureDoesNotMatch"), _) => {
            "the secret key does not match the access key id: fix the broker's credentials"
                .to_owned()
        }
        (Some("AccessDenied" | "AllAccessDisabled"), _) | (None, Some(403)) => format!(
            "the credentials may not list {prefix:?} in {name}: grant s3:ListBucket \
             (see policies/iam-policy.json) or fix the credentials"
        ),
        (Some("RequestTimeTooSkewed"), _) => {
            "the local clock is too far off: synchronise it with NTP".to_owned()
        }
        (
            Some(
                "PermanentRedirect"
                | "AuthorizationHeaderMalformed"
                | "IllegalLocationConstraintException",
            ),
            _,
        )
        | (None, Some(301)) => {
            format!("bucket {name} is in another region than s3.region: fix s3.region")
        }
        _ => format!("fix access to bucket {name}"),
    };
    format!("{err}: {hint}")
}

/// What browsers send to a bucket with the grants of its profiles.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BrowserNeeds {
    /// Methods (`PUT`, `POST`).
    pub methods: Vec<&'static str>,
    /// Whether multipart uploads need `ETag` exposed (browsers read each part's ETag).
    pub expose_etag: bool,
}

impl BrowserNeeds {
    /// Adds a profile: `PUT` for PUT grants and parts, `POST` for form grants (where the
    /// backend has POST Object) and for Uppy 6's create and complete requests.
    pub fn add_profile(&mut self, methods: &[UploadMethod], multipart: bool, backend: Backend) {
        let mut add = |method| {
            if !self.methods.contains(&method) {
                self.methods.push(method);
            }
        };
        if methods.contains(&UploadMethod::Put) || multipart {
            add("PUT");
        }
        if (methods.contains(&UploadMethod::Post) && backend.supports_post_object()) || multipart {
            add("POST");
        }
        self.methods.sort_unstable_by_key(|m| (*m != "PUT", *m));
        self.expose_etag |= multipart;
    }
}

/// The header every upload grant signs, so every preflight asks for it.
const PREFLIGHT_HEADER: &str = "content-type";

/// Check 6: whether `rules` let each of `origins` send `needs` (method and `content-type`,
/// S3 using the first rule that matches origin, method and headers) and, for multipart,
/// expose `ETag` on PUT answers.
///
/// See <https://docs.aws.amazon.com/AmazonS3/latest/userguide/cors.html>
pub fn judge_cors(
    bucket: &str,
    rules: &[CorsRule],
    origins: &[String],
    needs: &BrowserNeeds,
) -> Finding {
    let check = format!("cors {bucket}");
    let fix = "apply policies/bucket-cors.json with your origins (aws s3api put-bucket-cors)";
    if rules.is_empty() {
        return Finding::warn(
            check,
            format!(
                "the bucket has no CORS rules, so browsers at {} cannot send uploads to it: {fix}",
                origins.join(", ")
            ),
        );
    }
    let mut problems: Vec<String> = Vec::new();
    for origin in origins {
        for method in &needs.methods {
            let for_origin = |rule: &&CorsRule| {
                rule.allowed_origins.iter().any(|o| wildcard(o, origin))
                    && rule
                        .allowed_methods
                        .iter()
                        .any(|m| m.eq_ignore_ascii_case(method))
            };
            let matched = rules.iter().filter(for_origin).find(|rule| {
                rule.allowed_headers
                    .iter()
                    .any(|h| wildcard(&h.to_ascii_lowercase(), PREFLIGHT_HEADER))
            });
            match matched {
                None if rules.iter().any(|r| for_origin(&r)) => problems.push(format!(
                    "the rule for {method} from {origin} does not allow the {PREFLIGHT_HEADER} header"
                )),
                None => problems.push(format!("no rule allows {method} from {origin}")),
                Some(rule)
                    if *method == "PUT"
                        && needs.expose_etag
                        && !rule
                            .expose_headers
                            .iter()
                            .any(|h| h.eq_ignore_ascii_case("etag")) =>
                {
                    problems.push(format!(
                        "the rule for PUT from {origin} does not expose ETag, which multipart \
                         uploads (Uppy) must read"
                    ));
                }
                Some(_) => {}
            }
        }
    }
    if problems.is_empty() {
        Finding::ok(
            check,
            format!(
                "{} allowed from {}{}",
                needs.methods.join(" and "),
                origins.join(", "),
                if needs.expose_etag {
                    ", ETag exposed"
                } else {
                    ""
                }
            ),
        )
    } else {
        Finding::warn(check, format!("{}: {fix}", problems.join("; ")))
    }
}

/// Matches `value` against a CORS pattern with `*` wildcards (S3 allows one per pattern).
fn wildcard(pattern: &str, value: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = value.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// Check 7: whether an enabled rule aborts incomplete multipart uploads under every prefix
/// of `prefixes`, no sooner than the tickets of those uploads expire.
///
/// See <https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpu-abort-incomplete-mpu-lifecycle-config.html>
pub fn judge_lifecycle(
    bucket: &str,
    rules: &[LifecycleRule],
    prefixes: &[String],
    ticket_ttl: std::time::Duration,
) -> Finding {
    let check = format!("lifecycle {bucket}");
    let covering = |prefix: &str| {
        rules.iter().find_map(|rule| {
            let days = rule.abort_incomplete_after_days?;
            let covers = rule.enabled
                && rule
                    .prefix
                    .as_deref()
                    .is_some_and(|p| prefix.starts_with(p));
            covers.then_some((rule, days))
        })
    };
    let uncovered: Vec<String> = prefixes
        .iter()
        .filter(|p| covering(p).is_none())
        .map(|p| format!("{p:?}"))
        .collect();
    if !uncovered.is_empty() {
        return Finding::warn(
            check,
            format!(
                "no enabled rule aborts incomplete multipart uploads under {}, so abandoned \
                 parts stay billed: apply policies/bucket-lifecycle.json \
                 (aws s3api put-bucket-lifecycle-configuration)",
                uncovered.join(", ")
            ),
        );
    }
    let ttl_days = ticket_ttl.as_secs().div_ceil(86_400);
    let shortest = prefixes
        .iter()
        .filter_map(|p| covering(p))
        .min_by_key(|(_, d)| *d);
    match shortest {
        Some((rule, days)) if u64::try_from(days).unwrap_or(0) < ttl_days => Finding::warn(
            check,
            format!(
                "{} aborts uploads after {days} d, before their tickets expire \
                 (multipart.ticket_ttl_secs = {}): set DaysAfterInitiation to at least {ttl_days}",
                rule_name(rule),
                ticket_ttl.as_secs()
            ),
        ),
        Some((rule, days)) => Finding::ok(
            check,
            format!(
                "{} aborts incomplete multipart uploads after {days} d",
                rule_name(rule)
            ),
        ),
        // No multipart prefixes: nothing to cover.
        None => Finding::ok(check, "no profile of this bucket allows multipart uploads"),
    }
}

fn rule_name(rule: &LifecycleRule) -> String {
    rule.id
        .as_deref()
        .map_or_else(|| "a rule".to_owned(), |id| format!("rule {id:?}"))
}

/// Check 8: `[multipart] ticket_keys`, which every replica must share (the startup warning
/// of `serve`).
pub fn judge_ticket_keys(configured: bool, multipart: bool) -> Finding {
    match (configured, multipart) {
        (true, _) => Finding::ok("ticket-keys", "configured"),
        (false, false) => Finding::ok(
            "ticket-keys",
            "not configured, and no profile allows multipart uploads",
        ),
        (false, true) => Finding::warn(
            "ticket-keys",
            "no [multipart] ticket_keys: each process draws a random key, so multipart uploads \
             cannot be continued after a restart or on another replica; configure shared keys",
        ),
    }
}

/// Check 8: `[server] public_url`, the base of Uppy 6's completion URLs (the startup warning
/// of `serve`).
pub fn judge_public_url(public_url: Option<&str>, multipart: bool) -> Finding {
    match (public_url, multipart) {
        (Some(url), _) => Finding::ok("public-url", url.to_owned()),
        (None, false) => Finding::ok(
            "public-url",
            "not set, and no profile allows multipart uploads (Uppy 6 completion URLs)",
        ),
        (None, true) => Finding::warn(
            "public-url",
            "no [server] public_url: Uppy 6 completion URLs follow each request's Host and \
             X-Forwarded-* headers; set it to the URL browsers use for the broker",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(origins: &[&str], methods: &[&str], headers: &[&str], expose: &[&str]) -> CorsRule {
        let owned = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect();
        CorsRule {
            allowed_origins: owned(origins),
            allowed_methods: owned(methods),
            allowed_headers: owned(headers),
            expose_headers: owned(expose),
        }
    }

    fn needs(multipart: bool) -> BrowserNeeds {
        let mut needs = BrowserNeeds::default();
        needs.add_profile(
            &[UploadMethod::Put, UploadMethod::Post],
            multipart,
            Backend::Aws,
        );
        needs
    }

    const APP: &str = "https://app.example.com";

    /// The rule of policies/bucket-cors.json, read from the file.
    fn recommended() -> CorsRule {
        let json: serde_json::Value =
            serde_json::from_str(include_str!("../../policies/bucket-cors.json")).unwrap();
        let list = |field: &str| -> Vec<String> {
            json["CORSRules"][0][field]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_owned())
                .collect()
        };
        CorsRule {
            allowed_origins: list("AllowedOrigins"),
            allowed_methods: list("AllowedMethods"),
            allowed_headers: list("AllowedHeaders"),
            expose_headers: list("ExposeHeaders"),
        }
    }

    #[test]
    fn the_recommended_cors_rule_passes() {
        let finding = judge_cors("b", &[recommended()], &[APP.to_owned()], &needs(true));
        assert_eq!(finding.status, Status::Ok, "{finding}");
        assert_eq!(
            finding.to_string(),
            "ok   cors b: PUT and POST allowed from https://app.example.com, ETag exposed"
        );
        // ...but not for another origin.
        let other = judge_cors(
            "b",
            &[recommended()],
            &["https://other.example.com".to_owned()],
            &needs(true),
        );
        assert_eq!(other.status, Status::Warn);
        assert!(
            other
                .message
                .contains("no rule allows PUT from https://other.example.com"),
            "{other}"
        );
    }

    #[test]
    fn cors_problems_are_named() {
        let origins = [APP.to_owned()];
        let none = judge_cors("b", &[], &origins, &needs(false));
        assert_eq!(none.status, Status::Warn);
        assert!(none.message.contains("no CORS rules"), "{none}");
        assert!(none.message.contains("policies/bucket-cors.json"), "{none}");

        let put_only = rule(&[APP], &["PUT"], &["*"], &["ETag"]);
        let finding = judge_cors("b", &[put_only], &origins, &needs(true));
        assert_eq!(finding.status, Status::Warn);
        assert!(
            finding.message.contains("no rule allows POST from"),
            "{finding}"
        );
        assert!(!finding.message.contains("PUT from"), "{finding}");

        let no_etag = rule(&["*"], &["PUT", "POST"], &["*"], &["Location"]);
        let finding = judge_cors("b", std::slice::from_ref(&no_etag), &origins, &needs(true));
        assert!(
            finding.message.contains("does not expose ETag"),
            "{finding}"
        );
        // Without multipart, ETag is not needed.
        let finding = judge_cors("b", &[no_etag], &origins, &needs(false));
        assert_eq!(finding.status, Status::Ok, "{finding}");

        let no_headers = rule(&[APP], &["PUT", "POST"], &[], &["ETag"]);
        let finding = judge_cors("b", &[no_headers], &origins, &needs(true));
        assert!(
            finding
                .message
                .contains("does not allow the content-type header"),
            "{finding}"
        );
    }

    #[test]
    fn cors_uses_the_first_matching_rule_and_wildcards() {
        let origins = ["https://a.example.com".to_owned()];
        // The first rule matching origin, method and headers wins: its missing ETag counts,
        // even if a later rule would expose it.
        let first = rule(&["https://*.example.com"], &["PUT", "POST"], &["*"], &[]);
        let second = rule(&["*"], &["PUT", "POST"], &["*"], &["ETag"]);
        let finding = judge_cors(
            "b",
            &[first.clone(), second.clone()],
            &origins,
            &needs(true),
        );
        assert!(
            finding.message.contains("does not expose ETag"),
            "{finding}"
        );
        let finding = judge_cors("b", &[second, first], &origins, &needs(true));
        assert_eq!(finding.status, Status::Ok, "{finding}");
        // Methods and header names are case-insensitive; an origin wildcard is one pattern.
        let lower = rule(
            &["https://*.example.com"],
            &["put", "post"],
            &["Content-*"],
            &["etag"],
        );
        assert_eq!(
            judge_cors("b", &[lower], &origins, &needs(true)).status,
            Status::Ok
        );
        assert!(wildcard("https://*.example.com", "https://a.example.com"));
        assert!(!wildcard(
            "https://*.example.com",
            "https://example.com.evil"
        ));
        assert!(!wildcard(
            "https://app.example.com",
            "https://app.example.com.evil"
        ));
        assert!(wildcard("*", "anything"));
        assert!(wildcard("x-amz-*", "x-amz-meta-a"));
    }

    #[test]
    fn browser_needs_follow_the_profiles_and_backend() {
        let mut needs = BrowserNeeds::default();
        needs.add_profile(&[UploadMethod::Put, UploadMethod::Post], false, Backend::R2);
        assert_eq!(needs.methods, ["PUT"], "R2 has no POST Object");
        needs.add_profile(&[UploadMethod::Post], false, Backend::Aws);
        assert_eq!(needs.methods, ["PUT", "POST"]);
        assert!(!needs.expose_etag);
        let mut multipart = BrowserNeeds::default();
        multipart.add_profile(&[UploadMethod::Put], true, Backend::Gcs);
        assert_eq!(
            multipart.methods,
            ["PUT", "POST"],
            "Uppy 6 POSTs create/complete"
        );
        assert!(multipart.expose_etag);
    }

    fn lifecycle(prefix: Option<&str>, enabled: bool, days: Option<i32>) -> LifecycleRule {
        LifecycleRule {
            id: Some("abort".into()),
            enabled,
            prefix: prefix.map(str::to_owned),
            abort_incomplete_after_days: days,
        }
    }

    const DAY: std::time::Duration = std::time::Duration::from_secs(86_400);

    #[test]
    fn lifecycle_rules_must_abort_incomplete_uploads_under_every_multipart_prefix() {
        let users = ["users/".to_owned()];
        let ok = judge_lifecycle("b", &[lifecycle(Some(""), true, Some(7))], &users, DAY);
        assert_eq!(ok.status, Status::Ok, "{ok}");
        assert!(ok.message.contains("after 7 d"), "{ok}");
        let narrower = judge_lifecycle(
            "b",
            &[lifecycle(Some("users/"), true, Some(1))],
            &users,
            DAY,
        );
        assert_eq!(narrower.status, Status::Ok, "{narrower}");

        for (rules, why) in [
            (vec![], "no rules"),
            (vec![lifecycle(Some(""), false, Some(7))], "disabled"),
            (vec![lifecycle(Some(""), true, None)], "no abort action"),
            (
                vec![lifecycle(Some("avatars/"), true, Some(7))],
                "other prefix",
            ),
            (vec![lifecycle(None, true, Some(7))], "tag filter"),
        ] {
            let finding = judge_lifecycle("b", &rules, &users, DAY);
            assert_eq!(finding.status, Status::Warn, "{why}: {finding}");
            assert!(finding.message.contains("\"users/\""), "{why}: {finding}");
            assert!(
                finding.message.contains("policies/bucket-lifecycle.json"),
                "{why}: {finding}"
            );
        }
        // A rule that aborts before the tickets expire.
        let early = judge_lifecycle("b", &[lifecycle(Some(""), true, Some(1))], &users, 7 * DAY);
        assert_eq!(early.status, Status::Warn, "{early}");
        assert!(early.message.contains("at least 7"), "{early}");
    }

    #[test]
    fn the_recommended_lifecycle_rule_passes() {
        let json: serde_json::Value =
            serde_json::from_str(include_str!("../../policies/bucket-lifecycle.json")).unwrap();
        let rule = &json["Rules"][0];
        let recommended = LifecycleRule {
            id: rule["ID"].as_str().map(str::to_owned),
            enabled: rule["Status"] == "Enabled",
            prefix: rule["Filter"]["Prefix"].as_str().map(str::to_owned),
            abort_incomplete_after_days:
                rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"]
                    .as_i64()
                    .and_then(|d| i32::try_from(d).ok()),
        };
        let longest_ticket = 7 * DAY;
        let finding = judge_lifecycle(
            "b",
            &[recommended],
            &["users/".to_owned(), "avatars/".to_owned()],
            longest_ticket,
        );
        assert_eq!(finding.status, Status::Ok, "{finding}");
    }

    #[test]
    fn skew_is_ok_to_a_minute_and_fails_beyond_fifteen() {
        for (secs, status) in [
            (0, Status::Ok),
            (60, Status::Ok),
            (-60, Status::Ok),
            (61, Status::Warn),
            (-300, Status::Warn),
            (900, Status::Warn),
            (901, Status::Fail),
            (-3600, Status::Fail),
        ] {
            assert_eq!(classify_skew(Duration::seconds(secs)), status, "{secs} s");
        }
        let sent: DateTime<Utc> = "2030-01-01T00:00:00Z".parse().unwrap();
        let behind = judge_clock(Some(ServerTime {
            server: sent - Duration::minutes(20),
            sent,
            received: sent,
        }));
        assert_eq!(behind.status, Status::Fail);
        assert!(behind.message.contains("20 min behind"), "{behind}");
        assert_eq!(judge_clock(None).status, Status::Warn);
    }

    #[test]
    fn credentials_are_judged_against_the_margin() {
        let now: DateTime<Utc> = "2030-01-01T00:00:00Z".parse().unwrap();
        let margin = Duration::minutes(5);
        let judge = |left: Duration| judge_credentials("x", Some(now + left), now, margin, None);
        assert_eq!(
            judge_credentials("x", None, now, margin, None).status,
            Status::Ok
        );
        assert_eq!(judge(Duration::minutes(4)).status, Status::Fail);
        assert_eq!(judge(Duration::minutes(5)).status, Status::Fail);
        assert_eq!(judge(Duration::minutes(10)).status, Status::Warn);
        let fine = judge(Duration::minutes(60));
        assert_eq!(fine.status, Status::Ok);
        assert!(
            fine.message.contains("expire in 1 h (margin 5 min)"),
            "{fine}"
        );
        let cut = judge_credentials(
            "x",
            Some(now + Duration::minutes(60)),
            now,
            margin,
            Some(Duration::hours(1)),
        );
        assert!(cut.message.contains("shortened"), "{cut}");
    }

    #[test]
    fn configuration_errors_leave_values_and_excerpts_out() {
        let figment = "invalid type: found string \"hunter2-\\\"quoted\\\"\", expected a sequence \
                       for key \"default.auth.hs_secrets\" in config.toml TOML file";
        let redacted = one_line_redacted(figment);
        assert!(!redacted.contains("hunter2"), "{redacted}");
        assert!(redacted.contains("found string \"…\""), "{redacted}");
        assert!(redacted.contains("default.auth.hs_secrets"), "{redacted}");
        let toml = "TOML parse error at line 3, column 10\n  |\n3 | secret = \"hunter2\n  |          ^\nunterminated string\n";
        assert_eq!(
            one_line_redacted(toml),
            "TOML parse error at line 3, column 10: unterminated string"
        );
        assert_eq!(redact_strings("a string \"open"), "a string \"…\"");
    }

    #[test]
    fn startup_warnings_are_mirrored() {
        assert_eq!(judge_ticket_keys(false, true).status, Status::Warn);
        assert_eq!(judge_ticket_keys(false, false).status, Status::Ok);
        assert_eq!(judge_ticket_keys(true, true).status, Status::Ok);
        assert_eq!(judge_public_url(None, true).status, Status::Warn);
        assert_eq!(judge_public_url(None, false).status, Status::Ok);
        assert_eq!(
            judge_public_url(Some("https://u.example.com"), true).status,
            Status::Ok
        );
    }

    #[test]
    fn bucket_refusals_name_the_bucket_and_the_fix() {
        let missing = judge_bucket(
            "photos",
            &Err(InspectError::Refused {
                status: 404,
                code: None,
            }),
            Some((
                "users/",
                &Err(InspectError::Refused {
                    status: 404,
                    code: Some("NoSuchBucket".into()),
                }),
            )),
        );
        assert_eq!(missing.status, Status::Fail);
        assert_eq!(
            missing.to_string(),
            "FAIL bucket photos: NoSuchBucket (HTTP 404): bucket photos does not exist: create \
             it, or fix s3.bucket / the profiles' bucket"
        );
        let denied_head = Err(InspectError::Refused {
            status: 403,
            code: None,
        });
        let listed = judge_bucket("photos", &denied_head, Some(("users/", &Ok(()))));
        assert_eq!(listed.status, Status::Ok, "{listed}");
        let bad_key = judge_bucket(
            "photos",
            &denied_head,
            Some((
                "users/",
                &Err(InspectError::Refused {
                    status: 403,
                    code: Some("InvalidAccessKeyId".into()),
                }),
            )),
        );
        assert!(bad_key.message.contains("access key id"), "{bad_key}");
        assert_eq!(
            judge_bucket("photos", &Err(InspectError::NotImplemented), None).status,
            Status::Warn
        );
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(human(Duration::seconds(45)), "45 s");
        assert_eq!(human(Duration::minutes(12)), "12 min");
        assert_eq!(human(Duration::minutes(185)), "3 h 5 min");
        assert_eq!(human(Duration::hours(52)), "2 d 4 h");
        assert_eq!(human(Duration::seconds(-30)), "-30 s");
    }
}
