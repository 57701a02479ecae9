# syntax=docker/dockerfile:1
#
# s3-broker: a small, non-root runtime image.
#
#   docker build -t s3-broker .
#   docker run --rm -p 8080:8080 -v "$PWD/config.toml:/etc/s3-broker/config.toml:ro" \
#     s3-broker --config /etc/s3-broker/config.toml
#
# The builder and the runtime are both Debian 12 (bookworm), so the binary's glibc (2.36)
# matches. Needs BuildKit (the default builder of Docker 23+) for the cache mounts.

ARG RUST_VERSION=1.95

# ---- build -------------------------------------------------------------------------------
FROM rust:${RUST_VERSION}-bookworm AS build
WORKDIR /src

# Only what the build needs: the manifest and lock file, the build script (link flags), the
# sources, the bench targets declared in Cargo.toml, and policies/ (compiled into
# `s3-broker dev`, and the profiles of the training run below). The binary embeds
# doc/openapi.json (served at GET /openapi.json) and the JS client (the demo page of
# `s3-broker dev`). scripts/build-pgo and the two examples it builds train the binary.
COPY Cargo.toml Cargo.lock build.rs ./
COPY src ./src
COPY benches ./benches
COPY policies ./policies
COPY doc/openapi.json ./doc/openapi.json
COPY clients/js/s3-broker.js ./clients/js/s3-broker.js
COPY examples/hello_world.rs examples/loadtest_setup.rs ./examples/
COPY scripts/build-pgo scripts/loadtest-common.sh ./scripts/

# A profile-guided (PGO) build, as benchmarked (doc/benchmarks.md): an instrumented build
# serves about 30 seconds of upload grants on 127.0.0.1 (wrk), then the release build uses
# that profile. llvm-profdata comes from rustup's llvm-tools, the LLVM of this rustc.
# --locked: exactly the dependency versions of Cargo.lock. Symbols are stripped (about 35 MB
# -> 25 MB) without touching Cargo.toml. The registry and target caches survive between
# builds; the binary is copied out of the cached target directory.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends wrk openssl curl \
    && rm -rf /var/lib/apt/lists/* \
    && rustup component add llvm-tools
ENV CARGO_PROFILE_RELEASE_STRIP=symbols
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    scripts/build-pgo \
    && install -D -m 0755 target/pgo/release/s3-broker /out/s3-broker

# ---- runtime -----------------------------------------------------------------------------
FROM debian:bookworm-slim AS runtime

# CA certificates for TLS to AWS (S3, STS) and to the JWKS URL. Unpinned on purpose: the
# security updates of the bookworm release are wanted.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 s3broker \
    && useradd --system --uid 10001 --gid 10001 --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin s3broker

COPY --from=build /out/s3-broker /usr/local/bin/s3-broker
# The shipped profiles, used when policies.dir is the relative default "policies" (the
# working directory is /etc/s3-broker). Mount your own over /etc/s3-broker/policies.
COPY --chmod=0644 policies/*.toml /etc/s3-broker/policies/

WORKDIR /etc/s3-broker
# A container must listen on all interfaces; the configuration file's default is 127.0.0.1.
# Environment variables override the file, so change the port here (or with -e), not in
# the file.
ENV S3_BROKER__SERVER__BIND=0.0.0.0:8080 \
    RUST_LOG=info,aws_config=warn,aws_smithy_runtime=warn

USER 10001:10001
EXPOSE 8080

# Liveness GET /healthz, readiness GET /readyz (no curl in the image: probe from the
# orchestrator). SIGTERM (Docker's default, stated here) drains: /readyz answers 503 and the
# listener keeps accepting for server.drain_secs (5 s), then in-flight requests finish (up to
# server.shutdown_timeout_secs, 30 s) and the process exits 0. `docker stop` sends SIGKILL
# after 10 s by default: give it more with `docker stop --time 40` or
# `docker run --stop-timeout 40` (Compose: stop_grace_period: 40s).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/s3-broker", "serve"]
