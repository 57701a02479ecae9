//! Starting the whole dev environment: persistent dev secrets, the embedded store, a generated
//! configuration, and the broker with the demo page.

use super::demo_page::{FAVICON_SVG, FormConfirmation, JS_CLIENT, render_demo_page};
use super::{EmbeddedStore, start_embedded_store};
use crate::app::{Application, Shutdown, StartupError, build_state};
use crate::config::{ConfigBuilder, ConfigError, Settings};
use crate::domain::{Principal, Scopes};
use crate::http::{ApiError, AppState, signed_form};
use crate::policy::FormIntent;
use actix_web::dev::Server;
use actix_web::http::header::CACHE_CONTROL;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use std::path::{Path, PathBuf};
use uuid::Uuid;

/// Where `dev` keeps its files unless told otherwise.
pub const DEFAULT_DIR: &str = ".s3-broker-dev";
/// The subject of the dev user.
pub const DEV_USER: &str = "dev";
/// The bucket of the embedded store.
pub const DEV_BUCKET: &str = "dev-uploads";
/// Lifetime of the printed dev token.
const DEV_TOKEN_TTL_SECS: u64 = 12 * 3600;
/// The default profile shipped with the project, used as the dev profile.
const DEFAULT_PROFILE: &str = include_str!("../../policies/default.toml");

/// Why `dev` could not start.
#[derive(Debug, thiserror::Error)]
pub enum DevError {
    /// A file of the dev directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The generated configuration is invalid (a bug).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The broker could not start.
    #[error(transparent)]
    Startup(#[from] StartupError),
    /// The dev token could not be minted.
    #[error("cannot mint the dev token: {0}")]
    Token(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DevError + '_ {
    move |source| DevError::Io {
        path: path.to_owned(),
        source,
    }
}

/// A running dev environment.
pub struct DevEnvironment {
    /// The embedded store (stops when dropped).
    pub store: EmbeddedStore,
    /// `http://127.0.0.1:PORT` of the broker and demo page.
    pub url: String,
    /// A token of the dev user with every scope.
    pub token: String,
    /// The generated configuration file.
    pub config_path: PathBuf,
    /// The broker; await it to serve until stopped.
    pub server: Server,
    /// What stops the broker: [`Shutdown::on_signals`] on Ctrl-C (no drain delay in dev).
    pub shutdown: Shutdown,
}

/// Random secrets kept in the dev directory, so tokens and files survive restarts.
struct DevSecrets {
    hs_secret: String,
    store_access_key: String,
    store_secret_key: String,
    ticket_secret: String,
}

fn random_hex(bytes_of_uuid: usize) -> String {
    (0..bytes_of_uuid)
        .map(|_| Uuid::new_v4().simple().to_string())
        .collect()
}

fn load_or_create_secrets(dir: &Path) -> Result<DevSecrets, DevError> {
    let path = dir.join("secrets");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let lines: Vec<&str> = text.lines().collect();
        // Directories from before multipart tickets have three lines: keep them, add a key.
        if let [hs, ak, sk, ref rest @ ..] = lines[..]
            && rest.len() <= 1
        {
            let secrets = DevSecrets {
                hs_secret: hs.to_owned(),
                store_access_key: ak.to_owned(),
                store_secret_key: sk.to_owned(),
                ticket_secret: rest
                    .first()
                    .map_or_else(|| random_hex(2), |t| (*t).to_owned()),
            };
            if rest.is_empty() {
                write_private(&path, &secrets_text(&secrets))?;
            }
            return Ok(secrets);
        }
    }
    let secrets = DevSecrets {
        hs_secret: random_hex(2),
        store_access_key: format!("DEV{}", &random_hex(1)[..17].to_ascii_uppercase()),
        store_secret_key: random_hex(1),
        ticket_secret: random_hex(2),
    };
    let text = secrets_text(&secrets);
    write_private(&path, &text)?;
    Ok(secrets)
}

/// The dev receipt key, in the dev directory so receipts verify across restarts.
const RECEIPT_KEY_FILE: &str = "receipt-key.pem";

/// Writes a new Ed25519 receipt key unless the directory holds one.
fn receipt_key_file(dir: &Path) -> Result<(), DevError> {
    let path = dir.join(RECEIPT_KEY_FILE);
    if path.is_file() {
        return Ok(());
    }
    write_private(&path, &crate::receipt::generate_private_key_pem())
}

fn secrets_text(s: &DevSecrets) -> String {
    format!(
        "{}\n{}\n{}\n{}\n",
        s.hs_secret, s.store_access_key, s.store_secret_key, s.ticket_secret
    )
}

/// Writes a file readable by its owner only.
fn write_private(path: &Path, text: &str) -> Result<(), DevError> {
    std::fs::write(path, text).map_err(io(path))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io(path))?;
    }
    Ok(())
}

/// The dev configuration: static store keys, HS256 with the dev secret, the shipped profile,
/// and the browser origins allowed besides the broker's own (its demo page).
fn dev_config(
    dir: &Path,
    port: u16,
    store: &EmbeddedStore,
    secrets: &DevSecrets,
    cors_origins: &[String],
) -> String {
    let config = ConfigBuilder::new()
        .set("server", "bind", format!("127.0.0.1:{port}"))
        .set("server", "public_url", format!("http://127.0.0.1:{port}"))
        .set("server", "cors_origins", cors_origins.to_vec())
        // No load balancer to wait for: Ctrl-C stops at once (in-flight requests finish).
        .set("server", "drain_secs", 0)
        .store("us-east-1", DEV_BUCKET, &store.endpoint())
        .static_credentials(&secrets.store_access_key, &secrets.store_secret_key)
        .hs256("s3-broker-dev", "s3-broker", &secrets.hs_secret)
        .ticket_key("dev", &secrets.ticket_secret)
        .receipt_key_file("dev", &dir.join(RECEIPT_KEY_FILE))
        .set(
            "policies",
            "dir",
            dir.join("policies").to_string_lossy().as_ref(),
        )
        .set("policies", "default_profile", "default");
    format!(
        "# Generated by `s3-broker dev`; rewritten at every start.\n{}",
        config.text()
    )
}

/// What the demo page handler needs besides the app state.
struct DemoContext {
    principal: Principal,
    token: String,
    url: String,
}

/// Origins `s3-broker dev` opens its API to besides its own: `python3 -m http.server`'s
/// default port, where the static examples (e.g. `examples/browser/`) are served from.
pub const EXAMPLE_ORIGINS: [&str; 2] = ["http://127.0.0.1:8000", "http://localhost:8000"];

impl DevEnvironment {
    /// Starts the store and the broker on 127.0.0.1 (`port` 0: any free port), with the API
    /// open to pages of [`EXAMPLE_ORIGINS`].
    pub async fn start(dir: &Path, port: u16, store_port: u16) -> Result<Self, DevError> {
        let origins = EXAMPLE_ORIGINS.map(str::to_owned);
        Self::start_with_cors_origins(dir, port, store_port, &origins).await
    }

    /// As [`DevEnvironment::start`], with the broker's API also open to pages of the given
    /// origins (`server.cors_origins`, e.g. `http://127.0.0.1:5173`), as for an app served
    /// elsewhere that uploads with Uppy. An invalid origin is a [`DevError::Config`].
    pub async fn start_with_cors_origins(
        dir: &Path,
        port: u16,
        store_port: u16,
        cors_origins: &[String],
    ) -> Result<Self, DevError> {
        std::fs::create_dir_all(dir.join("policies")).map_err(io(dir))?;
        let dir = dir.canonicalize().map_err(io(dir))?;
        let secrets = load_or_create_secrets(&dir)?;
        receipt_key_file(&dir)?;
        let profile_path = dir.join("policies").join("default.toml");
        std::fs::write(&profile_path, DEFAULT_PROFILE).map_err(io(&profile_path))?;

        // Bind first, so the configuration file, the page and the store's CORS name the real
        // port.
        let wanted = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let bind_error = |source| StartupError::Bind {
            addr: wanted,
            source,
        };
        let listener = std::net::TcpListener::bind(wanted).map_err(bind_error)?;
        let bound = listener.local_addr().map_err(bind_error)?;
        // The demo page's own origin, by IP and by name, then the other pages'.
        let page_origins: Vec<String> = [
            format!("http://{bound}"),
            format!("http://localhost:{}", bound.port()),
        ]
        .into_iter()
        .chain(cors_origins.iter().cloned())
        .collect();
        let store = start_embedded_store(
            &dir.join("data"),
            store_port,
            DEV_BUCKET,
            &secrets.store_access_key,
            &secrets.store_secret_key,
            &page_origins,
        )
        .await
        .map_err(io(&dir))?;
        let config = dev_config(&dir, bound.port(), &store, &secrets, cors_origins);
        let settings = Settings::from_toml(&config)?;
        let config_path = dir.join("config.toml");
        write_private(&config_path, &config)?;
        let state = build_state(&settings).await?;
        let token = state
            .authenticator
            .mint_dev_token(
                DEV_USER,
                Scopes::all(),
                std::time::Duration::from_secs(DEV_TOKEN_TTL_SECS),
                Utc::now(),
            )
            .map_err(|e| DevError::Token(e.to_string()))?;

        let url = format!("http://{bound}");
        let context = web::Data::new(DemoContext {
            principal: Principal::new(DEV_USER, Some("s3-broker-dev".into()), Scopes::all()),
            token: token.clone(),
            url: url.clone(),
        });
        let app = Application::serve_on(listener, settings, state, move |cfg| {
            cfg.app_data(context.clone())
                .route("/", web::get().to(demo_page))
                .route("/s3-broker.js", web::get().to(js_client))
                .route("/favicon.ico", web::get().to(favicon));
        })?;
        Ok(Self {
            store,
            url,
            token,
            config_path,
            shutdown: app.shutdown(),
            server: app.into_server(),
        })
    }
}

/// `GET /`: the demo page with a fresh POST policy for the dev user; after a form upload, S3
/// redirects here with `bucket`, `key` and `etag`, and the page confirms the upload.
async fn demo_page(
    state: web::Data<AppState>,
    context: web::Data<DemoContext>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let now = Utc::now();
    let profile = state.profiles.default_profile();
    // A browser form cannot set the type from the file, so the form declares a fixed one.
    let intent = FormIntent {
        content_type: Some("application/octet-stream".into()),
        ..FormIntent::default()
    };
    // S3 comes back to the page with `?bucket=...&key=...&etag=...`: the page confirms.
    let redirect = vec![(
        "success_action_redirect".to_owned(),
        format!("{}/", context.url),
    )];
    let form = signed_form(&state, &context.principal, profile, &intent, now, redirect).await?;
    let query: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(request.query_string().as_bytes())
            .into_owned()
            .collect();
    let confirmation = query.get("key").zip(query.get("etag"));
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((CACHE_CONTROL, "no-store"))
        .body(render_demo_page(
            &form,
            &context.token,
            DEV_USER,
            confirmation.as_ref().map(|(key, etag)| FormConfirmation {
                name: profile.key_template().display_name(key),
                etag,
            }),
        )))
}

/// `GET /s3-broker.js`: the JS client the demo page imports.
async fn js_client() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((CACHE_CONTROL, "no-cache"))
        .body(JS_CLIENT)
}

/// `GET /favicon.ico`: the page's icon (an SVG, which browsers accept under that name).
async fn favicon() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("image/svg+xml")
        .insert_header((CACHE_CONTROL, "max-age=86400"))
        .body(FAVICON_SVG)
}
