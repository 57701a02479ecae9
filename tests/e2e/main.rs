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

mod support;

mod cheats_post;
mod cheats_presign;
mod integrity;
mod post_upload;
mod presign_round_trip;
