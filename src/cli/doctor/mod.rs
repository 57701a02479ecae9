//! `s3-broker doctor [--config FILE]`: checks a deployment before it serves, with the same
//! configuration as `serve`, and prints one line per check: `ok`, `warn` or `FAIL` and a
//! short explanation. It never prints a secret, a token or a signed URL. The exit status is
//! 0 when no check failed (warnings allowed), 1 when a check failed, and 2 when the doctor
//! itself could not run (the async runtime did not start, the report could not be written).
//!
//! The checks, in order (a check whose prerequisite failed is left out):
//!
//! 1. `config`: the file and `S3_BROKER__*` overrides load and validate, `[auth]` included.
//! 2. `profiles`: the profiles load and the configured backend can enforce them; `jwks`: with
//!    `[auth] jwks_url`, the issuer's key set answers and has a usable key.
//! 3. `credentials`: the broker's credentials resolve, and how long they have left.
//! 4. `clock`: the local clock against the `Date` of S3's answer; SigV4 requests fail beyond
//!    15 minutes of skew, and grants are signed with this clock.
//! 5. `bucket NAME`: each bucket the profiles use exists and the credentials reach it
//!    (HeadBucket; when that is refused, a listing under every prefix the profiles use).
//! 6. `cors NAME`: with `[server] cors_origins`, for each origin and each request the
//!    profiles' browser uploads send (method and every header their grants may sign or ask
//!    for), a rule matches origin, method and all those headers, as S3 requires to answer a
//!    preflight; with multipart profiles, the first rule matching origin and `PUT` (the one
//!    S3 answers the upload itself with) exposes `ETag`, and `GET` and `DELETE` (sent by
//!    Uppy 6 only) are allowed.
//! 7. `lifecycle NAME`: with multipart profiles, a rule aborts incomplete uploads under each
//!    multipart prefix, and the shortest of the overlapping rules (the one S3 applies) not
//!    before the tickets expire.
//! 8. `scan-policy NAME`: with profiles that set `scan`, the bucket policy denies a presigned
//!    GET of their objects until the scan tag says clean, before the scan and after a threat
//!    (GetBucketPolicy; `policies/bucket-policy-scan.json`).
//! 9. `public-access NAME`: S3 Block Public Access on each bucket ignores public ACLs (and, but
//!    on Ceph 16, whose uploads it breaks, blocks them), so no upload can make its object public
//!    (Ceph radosgw takes an `x-amz-acl` header a presigned PUT did not sign;
//!    GetPublicAccessBlock).
//! 10. `acl-grants NAME`: on `backend = "ceph"`, the bucket policy denies uploads that carry an
//!     `x-amz-grant-*` header, which radosgw would store as a grant to a named account of the
//!     same store (a warning; `policies/bucket-policy-acl-grants-ceph.json`).
//! 11. `ticket-keys` and `public-url`: the warnings `serve` logs at startup.
//!
//! Each judgement is a pure function of what was read (tested next to it); the S3 calls are in
//! [`crate::s3::S3Client::probe_bucket`] and its neighbours.

mod acl_grants;
mod bucket_policy;
mod buckets;
mod clock;
mod config;
mod cors;
mod credentials;
mod duration;
mod finding;
mod jwks;
mod lifecycle;
mod profiles;
mod public_access;
mod redact;
mod scan_policy;
mod startup;

use super::CliError;
use super::args::DoctorArgs;
use crate::app::{credential_source, s3_client};
use crate::backend::Backend;
use crate::config::Settings;
use crate::s3::{InspectError, S3Client};
use acl_grants::judge_acl_grants;
use buckets::{BucketUse, buckets_in_use, judge_bucket};
use chrono::Duration;
use clock::judge_clock;
use config::check_config;
use cors::judge_cors;
use credentials::check_credentials;
use finding::{Finding, Reporter, Status};
use jwks::check_jwks;
use lifecycle::judge_lifecycle;
use profiles::check_profiles;
use public_access::judge_public_access;
use scan_policy::judge_scan_policy;
use startup::{judge_public_url, judge_ticket_keys};
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

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

/// The exit status when a check failed.
pub(super) const EXIT_CHECK_FAILED: u8 = 1;
/// The exit status when the doctor itself could not run (no runtime, no way to write).
pub(super) const EXIT_CANNOT_RUN: u8 = 2;

/// `s3-broker doctor` from the process's main: the report on stdout, line by line, then a
/// summary; exit status 1 when a check failed, 2 when the doctor could not run.
pub(super) fn main(args: DoctorArgs) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    ExitCode::from(exit_status(run_into(&args, &mut stdout)))
}

/// The exit status of a run: 0, [`EXIT_CHECK_FAILED`] or [`EXIT_CANNOT_RUN`] (whose reason
/// goes to stderr).
fn exit_status(outcome: Result<usize, DoctorError>) -> u8 {
    match outcome {
        Ok(0) => 0,
        Ok(_) => EXIT_CHECK_FAILED,
        Err(err) => {
            eprintln!("error: {err}");
            EXIT_CANNOT_RUN
        }
    }
}

/// The whole report as text (for [`super::execute`]); the exit status comes from [`main`].
pub(super) fn run(args: DoctorArgs) -> Result<String, CliError> {
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
    if let Some(finding) = check_jwks(&settings).await {
        reporter.report(finding)?;
    }

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

/// Checks 4 to 9: clock, then each bucket, its CORS, its lifecycle, its scan policy and its
/// public access block.
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
        let mut listings = Vec::new();
        if let Err(InspectError::Refused { .. }) = &probe.result {
            // HEAD error answers have no body: list where the broker lists, under every
            // prefix of the bucket's profiles (a role may reach one and not another), to
            // learn S3's code.
            for prefix in &bucket.prefixes {
                let listing = s3.probe_listing(&bucket.bucket, prefix).await;
                listings.push((prefix.clone(), listing));
            }
        }
        let finding = judge_bucket(name, &probe.result, &listings);
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
        let ceph = settings.s3.backend == Backend::Ceph;
        let policy = if ceph || !bucket.scans.is_empty() {
            Some(s3.bucket_policy(&bucket.bucket).await)
        } else {
            None
        };
        if let Some(policy) = policy.as_ref().filter(|_| !bucket.scans.is_empty()) {
            let finding = judge_scan_policy(name, policy, &bucket.scans, settings.s3.backend);
            reporter.report(finding)?;
        }
        let block = s3.public_access_block(&bucket.bucket).await;
        reporter.report(judge_public_access(name, &block, settings.s3.backend))?;
        if let Some(policy) = policy.as_ref().filter(|_| ceph) {
            reporter.report(judge_acl_grants(name, policy, &bucket.prefixes))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A report nobody can read: stdout closed or full.
    struct Broken;

    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::from(std::io::ErrorKind::BrokenPipe))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_doctor_that_cannot_run_exits_2_and_a_failed_check_1() {
        let dir = tempfile::tempdir().unwrap();
        let args = DoctorArgs {
            config: Some(dir.path().join("nowhere.toml")),
        };
        let mut report = Vec::new();
        let failed = run_into(&args, &mut report);
        assert!(matches!(failed, Ok(1)), "{failed:?}");
        assert_eq!(exit_status(failed), EXIT_CHECK_FAILED);
        let broken = run_into(&args, &mut Broken);
        assert!(matches!(broken, Err(DoctorError::Output(_))), "{broken:?}");
        assert_eq!(exit_status(broken), EXIT_CANNOT_RUN);
        assert_eq!(exit_status(Ok(0)), 0);
    }

    #[test]
    fn the_help_documents_the_exit_statuses() {
        use clap::CommandFactory;
        let mut cli = super::super::args::Cli::command();
        let doctor = cli.find_subcommand_mut("doctor").unwrap();
        let help = doctor.render_help().to_string();
        assert!(help.contains("1 when a check failed"), "{help}");
        assert!(
            help.contains("2 when doctor itself could not run"),
            "{help}"
        );
    }
}
