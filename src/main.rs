//! The `s3-broker` binary: see [`s3_broker::cli`].

/// mimalloc instead of glibc's malloc: each request allocates and frees its header map, body,
/// decision, URL and answer, and mimalloc's thread-local free lists make that several times
/// cheaper (doc/benchmarks.md, "The grant path, step by step"), for about 1 MiB more resident
/// memory than glibc's heap (doc/benchmarks.md, "Resident memory").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    s3_broker::cli::run()
}
