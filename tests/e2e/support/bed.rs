//! The real S3 servers of the test bed, each started once per test process.

use super::ports::{free_port, free_port_block};
use super::runtime;
use super::script::{Started, run_start_script, stop};
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{RequestChecksumCalculation, ResponseChecksumValidation};
use s3_broker::domain::{AddressingStyle, Credentials, Endpoint, Region};
use s3_broker::sigv4::Signer;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

/// A real S3 implementation the tests run against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Server {
    /// `s3s-fs`: s3s's strict SigV4 verification over a directory.
    S3sFs,
    /// Ceph radosgw 16 on a one-OSD in-memory cluster: an independent implementation.
    Ceph,
}

impl Server {
    /// A short name for messages.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::S3sFs => "s3s-fs",
            Self::Ceph => "ceph-rgw",
        }
    }

    fn script(self) -> &'static str {
        match self {
            Self::S3sFs => "start-s3s-fs.sh",
            Self::Ceph => "start-ceph-rgw.sh",
        }
    }

    /// The S3 port: Ceph also needs PORT+1, PORT+2 (mon) and PORT+10..=PORT+40 (daemons).
    fn pick_port(self) -> Result<u16, String> {
        match self {
            Self::S3sFs => free_port(),
            Self::Ceph => {
                let offsets: Vec<u16> = [0, 1, 2].into_iter().chain(10..=40).collect();
                free_port_block(&offsets)
            }
        }
    }

    fn cell(self) -> &'static OnceLock<Result<TestBed, String>> {
        static S3S_FS: OnceLock<Result<TestBed, String>> = OnceLock::new();
        static CEPH: OnceLock<Result<TestBed, String>> = OnceLock::new();
        match self {
            Self::S3sFs => &S3S_FS,
            Self::Ceph => &CEPH,
        }
    }
}

/// A running server and everything a test needs to talk to it.
pub(crate) struct TestBed {
    /// Which server this is.
    pub server: Server,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// The credentials the server accepts.
    pub credentials: Credentials,
    /// The region to sign for.
    pub region: Region,
    /// A signer for this endpoint (path-style: the host is an IP).
    pub signer: Signer,
    /// An SDK client (path-style, static credentials) to set up and inspect buckets.
    pub s3: aws_sdk_s3::Client,
    /// How long the first start took (the start script's wall time).
    pub startup: Duration,
    /// Where the server keeps its configuration, logs and data.
    pub data_dir: PathBuf,
}

/// How long a start script may run before it is considered stuck. The scripts have their
/// own, shorter, timeouts; this one leaves room for a first-time install.
const START_TIMEOUT: Duration = Duration::from_secs(900);

impl TestBed {
    /// The bed of `server`, started on first use; the two servers can start in parallel.
    ///
    /// Panics with the reason when the server cannot start: a test must fail, never skip,
    /// when its server is missing.
    pub(crate) fn get(server: Server) -> &'static TestBed {
        match server.cell().get_or_init(|| start(server)) {
            Ok(bed) => bed,
            Err(e) => panic!("the {} test bed could not start: {e}", server.name()),
        }
    }
}

fn start(server: Server) -> Result<TestBed, String> {
    let data_dir = tempfile::Builder::new()
        .prefix(&format!("s3-broker-e2e-{}-", server.name()))
        .tempdir()
        .map_err(|e| format!("cannot create a data directory: {e}"))?
        // The watchdog deletes it once this process is gone.
        .keep();
    let bed = server
        .pick_port()
        .and_then(|port| run_start_script(server.script(), port, &data_dir, START_TIMEOUT))
        .and_then(|started| connect(server, &started, data_dir.clone()));
    let bed = match bed {
        Ok(bed) => bed,
        Err(e) => {
            // Whatever did start is of no use to anyone now.
            stop(&data_dir);
            if std::env::var_os("E2E_KEEP_DATA").is_some() {
                return Err(format!("{e}\n(files kept in {})", data_dir.display()));
            }
            let _ = std::fs::remove_dir_all(&data_dir);
            return Err(format!("{e}\n(set E2E_KEEP_DATA=1 to keep its files)"));
        }
    };
    // Shown with --nocapture or when a test fails: the start-up cost of each server.
    eprintln!(
        "testbed: {} ready at {} ({}) in {} ms; data in {}",
        server.name(),
        bed.endpoint,
        bed.region.as_str(),
        bed.startup.as_millis(),
        bed.data_dir.display(),
    );
    Ok(bed)
}

fn connect(server: Server, started: &Started, data_dir: PathBuf) -> Result<TestBed, String> {
    let endpoint = started.get("ENDPOINT")?.to_owned();
    let access_key = started.get("ACCESS_KEY")?;
    let secret_key = started.get("SECRET_KEY")?;
    let region_name = started.get("REGION")?;
    let credentials =
        Credentials::from_parts(access_key, secret_key, None).map_err(|e| e.to_string())?;
    let region = Region::new(region_name).map_err(|e| e.to_string())?;
    let signer = Signer::new(
        region.clone(),
        Endpoint::parse(&endpoint).map_err(|e| e.to_string())?,
        AddressingStyle::Path,
    );
    let config = aws_sdk_s3::Config::builder()
        .behavior_version_latest()
        .endpoint_url(&endpoint)
        .region(aws_sdk_s3::config::Region::new(region_name.to_owned()))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            access_key, secret_key, None, None, "testbed",
        ))
        .force_path_style(true)
        // Ceph 16 predates the SDK's default CRC32 trailers.
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
        .timeout_config(
            TimeoutConfig::builder()
                .operation_timeout(Duration::from_secs(30))
                .build(),
        )
        .build();
    let s3 = aws_sdk_s3::Client::from_conf(config);
    // Prove the credentials work before any test relies on them.
    runtime().block_on(s3.list_buckets().send()).map_err(|e| {
        format!(
            "{} started at {endpoint} but ListBuckets failed: {}",
            server.name(),
            aws_sdk_s3::error::DisplayErrorContext(&e)
        )
    })?;
    Ok(TestBed {
        server,
        endpoint,
        credentials,
        region,
        signer,
        s3,
        startup: started.elapsed,
        data_dir,
    })
}
