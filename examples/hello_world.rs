//! The yardstick of `scripts/loadtest-compare`: a plain actix-web server answering
//! `GET /` with a small JSON object, on the broker's own actix-web version and release
//! profile, so the load test can express the broker's cost as a ratio of the framework's.
//!
//! `cargo run --release --example hello_world -- [PORT] [WORKERS]` (default: any free port,
//! one worker); prints `http://127.0.0.1:<port>` on stdout once listening. 127.0.0.1 only.

use actix_web::{App, HttpResponse, HttpServer, web};
use serde::Serialize;
use std::io::Write;

/// The answer, serialized by serde on every request (TechEmpower's "JSON" test).
#[derive(Serialize)]
struct Message {
    message: &'static str,
}

async fn hello() -> HttpResponse {
    HttpResponse::Ok().json(Message {
        message: "Hello, world!",
    })
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().and_then(|a| a.parse().ok()).unwrap_or(0);
    let workers: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1);
    let server = HttpServer::new(|| App::new().route("/", web::get().to(hello)))
        .workers(workers)
        .bind(("127.0.0.1", port))?;
    let address = server.addrs()[0];
    let mut out = std::io::stdout();
    writeln!(out, "http://{address}")?;
    out.flush()?;
    server.run().await
}
