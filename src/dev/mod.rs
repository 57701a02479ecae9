//! `s3-broker dev`: an embedded S3-compatible store, the broker with a dev configuration and
//! a demo page, in one command.

mod body_checks;
mod bucket_cors;
mod demo_page;
mod environment;
mod part_etags;
mod presigned_expiry;
mod s3_error;
mod signed_headers;
mod store;

pub use demo_page::{FAVICON_SVG, FormConfirmation, JS_CLIENT, render_demo_page};
pub use environment::{
    DEFAULT_DIR, DEV_BUCKET, DEV_USER, DevEnvironment, DevError, EXAMPLE_ORIGINS,
};
pub use store::{EmbeddedStore, MAX_CHECKED_BODY, start_embedded_store};

use crate::config::Settings;
use crate::telemetry::{DEFAULT_QUEUE_LINES, LogFormat, init};
use std::io::Write;
use std::path::PathBuf;

/// Runs the dev environment until Ctrl-C: friendly instructions on stderr, and exactly two
/// `export` lines on stdout for scripts. Pages of [`EXAMPLE_ORIGINS`], of `S3_BROKER__SERVER__CORS_ORIGINS`
/// and of `cors_origins` may call the API and the store.
pub fn run(
    dir: PathBuf,
    port: u16,
    store_port: u16,
    cors_origins: Vec<String>,
) -> Result<(), DevError> {
    let _logs = init(LogFormat::Text, DEFAULT_QUEUE_LINES);
    let mut origins: Vec<String> = EXAMPLE_ORIGINS.map(str::to_owned).to_vec();
    for origin in Settings::cors_origins_from_env()?
        .into_iter()
        .chain(cors_origins)
    {
        if !origins.contains(&origin) {
            origins.push(origin);
        }
    }
    actix_web::rt::System::new().block_on(async move {
        let env =
            DevEnvironment::start_with_cors_origins(&dir, port, store_port, &origins).await?;
        // Not eprintln!: a closed or full stderr must not panic the dev server.
        let _ = writeln!(
            std::io::stderr(),
            "\ns3-broker dev is running (Ctrl-C to stop).\n\n  \
             Demo page:  {url}/\n  \
             Other pages: {examples} may call the API and the store (CORS)\n  \
             Local S3:   {store} (bucket {DEV_BUCKET}, files in {data})\n  \
             Config:     {config}\n\n\
             Try it from a shell after the two export lines below:\n  \
             curl -s -X POST \"$S3_BROKER_URL/v1/uploads\" -H \"Authorization: Bearer $S3_BROKER_TOKEN\" \\\n    \
             -H 'Content-Type: application/json' -d '{{\"filename\":\"hello.txt\",\"content_type\":\"text/plain\",\"size\":6}}'\n  \
             s3-broker token --sub alice    # another user's token\n",
            url = env.url,
            examples = origins.join(", "),
            store = env.store.endpoint(),
            data = dir.join("data").display(),
            config = env.config_path.display(),
        );
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "export S3_BROKER_URL={}", env.url);
        let _ = writeln!(stdout, "export S3_BROKER_TOKEN={}", env.token);
        let _ = stdout.flush();
        drop(stdout);
        let stopper = actix_web::rt::spawn(env.shutdown.on_signals());
        let served = env.server.await;
        stopper.abort();
        env.store.stop();
        served.map_err(|source| DevError::Io {
            path: dir.clone(),
            source,
        })
    })
}
