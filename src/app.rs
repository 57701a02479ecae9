//! Application startup: settings into state, state into an actix-web [`app`], the app into a
//! server. Tests build the server with port 0 and read the bound port, or run [`app`]
//! in-process without a server. How it stops: [`shutdown`].

pub mod shutdown;

pub use shutdown::Shutdown;

use crate::auth::{AuthConfigError, Authenticator};
use crate::config::{CredentialsSetting, Settings};
use crate::domain::AddressingStyle;
use crate::http::{
    ApiCors, AppState, BodyDeadline, Drain, Observe, ProblemErrors, TrimPath, configure, not_found,
};
use crate::limits::Limiter;
use crate::multipart::TicketKeys;
use crate::policy::{LoadError, ProfileRegistry, RegistryOptions};
use crate::revocation::RevocationFile;
use crate::s3::CredentialSource;
use crate::s3::{S3Client, S3Settings};
use crate::sigv4::Signer;
use crate::telemetry::{Metrics, PrincipalDigestKey};
use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{App, HttpServer, web};
use aws_config::default_provider::credentials::DefaultCredentialsChain;
use aws_credential_types::provider::SharedCredentialsProvider;
use std::net::{SocketAddr, TcpListener};

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The `[auth]` section is invalid.
    #[error(transparent)]
    Auth(#[from] AuthConfigError),
    /// A profile file is invalid.
    #[error(transparent)]
    Profiles(#[from] LoadError),
    /// A profile needs what the configured storage backend cannot enforce.
    #[error("s3.backend: {0}")]
    Backend(String),
    /// `[limits]` or `[revocation]` cannot be put in place.
    #[error("{0}")]
    Limits(String),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// A bound, not yet running server.
pub struct Application {
    server: Server,
    addr: SocketAddr,
    shutdown: Shutdown,
}

impl Application {
    /// Validates the settings into state and binds the listener (port 0: any free port).
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let state = build_state(&settings).await?;
        Self::serve(settings, state)
    }

    /// Binds a server for already-built state (used by `dev`, which adds the demo page).
    pub fn serve(settings: Settings, state: AppState) -> Result<Self, StartupError> {
        Self::serve_with(settings, state, |_| {})
    }

    /// As [`Application::serve`], with extra routes registered before the API's.
    pub fn serve_with(
        settings: Settings,
        state: AppState,
        extra: impl Fn(&mut web::ServiceConfig) + Clone + Send + 'static,
    ) -> Result<Self, StartupError> {
        let listener = TcpListener::bind(settings.bind).map_err(|source| StartupError::Bind {
            addr: settings.bind,
            source,
        })?;
        Self::serve_on(listener, settings, state, extra)
    }

    /// As [`Application::serve_with`], on a listener the caller has already bound (so it
    /// knows the port before the state is built, without a second bind).
    pub fn serve_on(
        listener: TcpListener,
        settings: Settings,
        state: AppState,
        extra: impl Fn(&mut web::ServiceConfig) + Clone + Send + 'static,
    ) -> Result<Self, StartupError> {
        let addr = listener.local_addr().map_err(|source| StartupError::Bind {
            addr: settings.bind,
            source,
        })?;
        let drain = state.drain.clone();
        let state = web::Data::new(state);
        let origins = settings.cors_origins.clone();
        // Signals are [`Shutdown`]'s: actix-web's own handling stops at once on SIGINT and
        // closes idle keep-alive connections on SIGTERM without a drain, which loses requests.
        let mut server =
            HttpServer::new(move || app(state.clone(), origins.clone(), extra.clone()))
                .disable_signals()
                .shutdown_timeout(settings.shutdown_timeout.as_secs())
                .listen(listener)
                .map_err(|source| StartupError::Bind {
                    addr: settings.bind,
                    source,
                })?;
        if let Some(workers) = settings.workers {
            server = server.workers(workers);
        }
        let server = server.run();
        let shutdown = Shutdown {
            handle: server.handle(),
            drain,
            delay: settings.drain,
        };
        Ok(Self {
            server,
            addr,
            shutdown,
        })
    }

    /// Serves until SIGTERM or SIGINT, then drains and stops ([`shutdown`]). `Ok` once
    /// stopped, so the process exits 0.
    pub async fn run_until_signalled(self) -> std::io::Result<()> {
        let stopper = actix_web::rt::spawn(self.shutdown.on_signals());
        let served = self.server.await;
        stopper.abort();
        tracing::info!("stopped");
        served
    }

    /// What stops this server: [`Shutdown::on_signals`], or [`Shutdown::drain_then_stop`]
    /// without a signal.
    pub fn shutdown(&self) -> Shutdown {
        self.shutdown.clone()
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The server future (await it, or spawn it).
    pub fn into_server(self) -> Server {
        self.server
    }
}

/// The application of `state`, as every worker of [`Application`] runs it: CORS for
/// `cors_origins`, problem+json errors, path normalization, then `Observe` (request ids,
/// metrics, `Connection: close` while draining, the access log), the `extra` routes, then the
/// API's.
///
/// It binds nothing, so tests can run it in-process with `actix_web::test::init_service`
/// (state from [`build_state`], no port, no server).
pub fn app(
    state: web::Data<AppState>,
    cors_origins: Vec<String>,
    extra: impl FnOnce(&mut web::ServiceConfig),
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let body_deadline = BodyDeadline::new(state.body_timeout);
    App::new()
        .app_data(state)
        .wrap(body_deadline)
        .wrap(ApiCors::new(cors_origins))
        .wrap(ProblemErrors)
        .wrap(TrimPath)
        .wrap(Observe)
        .configure(extra)
        .configure(configure)
        .default_service(web::to(not_found))
}

/// Builds the shared state: authenticator, profiles, credentials, signer and S3 client.
pub async fn build_state(settings: &Settings) -> Result<AppState, StartupError> {
    let authenticator = Authenticator::from_config(&settings.auth)?;
    if let Err(err) = authenticator.warm_up(chrono::Utc::now()).await {
        tracing::warn!(error = %err, "JWKS warm-up failed; will retry on demand");
    }
    let profiles = load_profiles(settings)?;
    let credentials = credential_source(settings).await;
    let addressing = if settings.s3.path_style {
        AddressingStyle::Path
    } else {
        AddressingStyle::VirtualHosted
    };
    let signer = Signer::new(
        settings.s3.region.clone(),
        settings.s3.endpoint.clone(),
        addressing,
    );
    let metrics = std::sync::Arc::new(Metrics::new());
    let s3 = s3_client(settings, &credentials).with_metrics(metrics.s3_calls());
    let multipart: Vec<&str> = profiles
        .profiles()
        .filter(|p| p.allows_multipart())
        .map(|p| p.name())
        .collect();
    tracing::info!(profiles = ?multipart, "profiles that allow multipart uploads (multipart = true)");
    for warning in [NO_PUBLIC_URL, NO_TICKET_KEYS, NO_RECEIPT_KEYS, NO_AUDIT_KEY] {
        if warning.applies(settings, !multipart.is_empty()) {
            tracing::warn!("{}", warning.text);
        }
    }
    let tickets = settings
        .multipart
        .ticket_keys
        .clone()
        .unwrap_or_else(|| std::sync::Arc::new(TicketKeys::ephemeral()));
    let receipts = settings.receipts.keys.clone().unwrap_or_else(|| {
        std::sync::Arc::new(crate::receipt::ReceiptKeys::ephemeral(
            &settings.receipts.issuer,
        ))
    });
    let audit = crate::http::Audit::new(
        settings
            .audit
            .principal_key
            .clone()
            .unwrap_or_else(|| std::sync::Arc::new(PrincipalDigestKey::ephemeral())),
    );
    let limits = build_limiter(settings, &profiles, &metrics)?;
    Ok(AppState {
        audit,
        receipts,
        limits,
        backend: settings.s3.backend,
        signer,
        credentials,
        s3,
        authenticator,
        profiles,
        tickets,
        ticket_ttl: chrono::Duration::from_std(settings.multipart.ticket_ttl)
            .unwrap_or_else(|_| chrono::Duration::days(1)),
        public_url: settings.public_url.clone(),
        redirect_origins: redirect_origins(settings),
        metrics,
        serve_metrics: settings.metrics,
        drain: Drain::new(),
        body_timeout: settings.body_timeout,
        scan_tags: crate::http::ScanTags::default(),
    })
}

/// The limiter of `[limits]` and `[revocation]`: every profile it names must exist; the
/// revocation file is polled and idle rate state forgotten in the background.
fn build_limiter(
    settings: &Settings,
    profiles: &ProfileRegistry,
    metrics: &Metrics,
) -> Result<std::sync::Arc<Limiter>, StartupError> {
    let revocation_file = match &settings.revocation.file {
        None => None,
        Some(path) => {
            let file = RevocationFile::open(path.clone())
                .map_err(|e| StartupError::Limits(format!("revocation.file: {e}")))?;
            let file = std::sync::Arc::new(file);
            file.spawn_polling(settings.revocation.poll);
            Some(file)
        }
    };
    let limiter = Limiter::new(&settings.limits, revocation_file, metrics.limits())
        .map_err(StartupError::Limits)?;
    if let Some(unknown) = limiter.profile_names().find(|n| profiles.get(n).is_err()) {
        return Err(StartupError::Limits(format!(
            "limits.profiles.{unknown}: no such profile"
        )));
    }
    let limiter = std::sync::Arc::new(limiter);
    limiter.spawn_housekeeping();
    Ok(limiter)
}

/// The origins a form grant may redirect to: `server.cors_origins` and the origin of
/// `server.public_url` (pages that may call the API, and the broker's own).
fn redirect_origins(settings: &Settings) -> Vec<String> {
    let own = settings
        .public_url
        .as_deref()
        .and_then(|url| url::Url::parse(url).ok())
        .map(|url| url.origin().ascii_serialization());
    settings.cors_origins.iter().cloned().chain(own).collect()
}

/// The upload profiles of `settings`, each checked against what the storage backend can
/// enforce ([`crate::policy::Profile::check_backend`]).
pub fn load_profiles(settings: &Settings) -> Result<ProfileRegistry, StartupError> {
    let profiles = ProfileRegistry::load_dir_with(
        &settings.policies_dir,
        &RegistryOptions {
            default_profile: Some(settings.default_profile.clone()),
            default_bucket: settings.s3.bucket.clone(),
        },
    )?;
    for profile in profiles.profiles() {
        profile
            .check_backend(settings.s3.backend)
            .map_err(StartupError::Backend)?;
    }
    Ok(profiles)
}

/// The broker's own credentials as configured: static keys, or the default chain
/// (environment, profile, web identity/IRSA, ECS, IMDS) with refresh.
pub async fn credential_source(settings: &Settings) -> CredentialSource {
    let margin = chrono::Duration::from_std(settings.s3.credential_margin).unwrap_or_default();
    match &settings.s3.credentials {
        CredentialsSetting::Static(c) => CredentialSource::fixed(c.clone(), margin),
        CredentialsSetting::DefaultChain => {
            let chain = DefaultCredentialsChain::builder()
                .region(aws_config::Region::new(
                    settings.s3.region.as_str().to_owned(),
                ))
                .build()
                .await;
            CredentialSource::from_provider(SharedCredentialsProvider::new(chain), margin)
        }
    }
}

/// The aws-sdk-s3 client of `settings`, drawing credentials from `credentials`.
pub fn s3_client(settings: &Settings, credentials: &CredentialSource) -> S3Client {
    S3Client::new(
        &S3Settings {
            region: settings.s3.region.clone(),
            endpoint: settings.s3.endpoint.clone(),
            path_style: settings.s3.path_style,
            operation_timeout: settings.s3.operation_timeout,
        },
        credentials,
    )
}

/// A configuration that works but weakens the service: `serve` logs it at startup and
/// `s3-broker doctor` reports it as a warning.
#[derive(Debug, Clone, Copy)]
pub struct StartupWarning {
    /// The doctor's name for the check.
    pub check: &'static str,
    /// What is wrong and what to do.
    pub text: &'static str,
    applies: fn(&Settings, bool) -> bool,
}

impl StartupWarning {
    /// Whether it applies to `settings`, given whether any profile allows multipart uploads.
    pub fn applies(&self, settings: &Settings, multipart: bool) -> bool {
        (self.applies)(settings, multipart)
    }
}

/// Without shared ticket keys each process seals with its own random key.
pub const NO_TICKET_KEYS: StartupWarning = StartupWarning {
    check: "ticket-keys",
    text: "no [multipart] ticket_keys: each process draws a random key, so multipart uploads \
           cannot be continued after a restart or on another replica; configure shared keys",
    applies: |settings, multipart| multipart && settings.multipart.ticket_keys.is_none(),
};

/// Without configured receipt keys each process signs receipts with its own random key.
pub const NO_RECEIPT_KEYS: StartupWarning = StartupWarning {
    check: "receipt-keys",
    text: "no [receipts] keys: each process signs upload receipts with a random key that \
           /.well-known/jwks.json publishes only while it runs; configure keys",
    applies: |settings, _| settings.receipts.keys.is_none(),
};

/// Without `[audit] principal_key`, audit digests of one principal differ between processes.
pub const NO_AUDIT_KEY: StartupWarning = StartupWarning {
    check: "audit-principal-key",
    text: "no [audit] principal_key: each process digests principals in audit events with a \
           random key, so digests differ between replicas and restarts; configure a key",
    applies: |settings, _| settings.audit.principal_key.is_none(),
};

/// Without `public_url`, Uppy 6 completion URLs follow each request's headers.
pub const NO_PUBLIC_URL: StartupWarning = StartupWarning {
    check: "public-url",
    text: "no [server] public_url: Uppy 6 completion URLs follow each request's Host and \
           X-Forwarded-* headers; set it to the URL browsers use for the broker",
    applies: |settings, multipart| multipart && settings.public_url.is_none(),
};
