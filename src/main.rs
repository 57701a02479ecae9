//! The `s3-broker` binary: see [`s3_broker::cli`].

fn main() -> std::process::ExitCode {
    s3_broker::cli::run()
}
