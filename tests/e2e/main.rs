//! End-to-end tests: what the signer produces, sent as real bytes by a plain HTTP client to
//! real S3 servers (s3s-fs and Ceph radosgw), which must accept the honest requests and
//! refuse every cheat with a 4xx while storing nothing.
//!
//! The servers are started by `scripts/testbed/start-*.sh`, once per test process, and
//! stopped by a watchdog when the process exits. Run with `cargo test --test e2e`; a server
//! that cannot start fails the tests that need it (install both with
//! `scripts/testbed/install.sh`).
//!
//! Each test is an `async fn(Ctx)` written once; [`on_both_servers!`] turns it into one
//! `#[test]` per server, named `<module>::<server>::<test>`.
//!
//! The `service_*` modules test the broker itself as a black box: `support::broker` starts
//! the application on 127.0.0.1 port 0 in front of the test's server and bucket, and the
//! tests ask it for grants over HTTP and send real bytes with them. Tests whose requests the
//! broker refuses before any grant reaches S3 share one broker ([`with_shared_broker!`]).
//! Authentication and input errors that need no S3 at all run in-process in `tests/api/`.

/// Declares, for each listed `async fn name(t: Ctx)` of the calling module, one test per
/// server: `s3s_fs::name` and `ceph::name`.
macro_rules! on_both_servers {
    ($($name:ident),* $(,)?) => {
        mod s3s_fs {
            $(
                #[test]
                fn $name() {
                    $crate::support::run($crate::support::Server::S3sFs, super::$name);
                }
            )*
        }
        mod ceph {
            $(
                #[test]
                fn $name() {
                    $crate::support::run($crate::support::Server::Ceph, super::$name);
                }
            )*
        }
    };
}

/// Declares, for each listed `async fn name(b: &'static Broker)` of the calling module, one
/// test against the broker shared by the whole process (it fronts s3s-fs): `shared::name`.
/// For tests whose requests the broker refuses or answers without S3 using the grant.
macro_rules! with_shared_broker {
    ($($name:ident),* $(,)?) => {
        mod shared {
            $(
                #[test]
                fn $name() {
                    $crate::support::broker::run_shared(super::$name);
                }
            )*
        }
    };
}

mod support;

mod cheats_post;
mod cheats_presign;
mod dev_store;
mod dev_store_uppy_ids;
mod doctor;
mod integrity;
mod post_upload;
mod presign_round_trip;
mod service_attribution;
mod service_audit;
mod service_authz;
mod service_backends;
mod service_cheats;
mod service_checksums;
mod service_credential_outage;
mod service_credentials;
mod service_drain;
mod service_errors;
mod service_flows;
mod service_forms;
mod service_inline;
mod service_limits;
mod service_limits_multipart;
mod service_logging;
mod service_multipart;
mod service_public_acls;
mod service_scan;
mod service_slow_body;
mod service_sse;
mod service_sse_c;
mod service_telemetry;
mod service_uppy;
mod service_uppy_ids;
mod service_verify;
mod service_verify_multipart;
