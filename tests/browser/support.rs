//! What the headless-browser tests (the demo page, the end-to-end encryption example and Uppy)
//! share: chromedriver and Debian's Chromium on 127.0.0.1, a static server for test pages,
//! polling with a deadline, and direct reads of the embedded store of `s3-broker dev`.

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use s3_broker::dev::DEV_BUCKET;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) const CHROMIUM: &str = "/usr/bin/chromium";
pub(crate) const INSTALL_HINT: &str = "install them with `scripts/testbed/install.sh chromium` \
     (apt-get install chromium chromium-driver)";
/// One wait for the page or the store.
pub(crate) const WAIT: Duration = Duration::from_secs(15);

pub(crate) type R<T> = Result<T, String>;

/// Adds what was being done to an error.
pub(crate) trait Context<T> {
    fn ctx(self, what: &str) -> R<T>;
}

impl<T, E: std::fmt::Display> Context<T> for Result<T, E> {
    fn ctx(self, what: &str) -> R<T> {
        self.map_err(|e| format!("{what}: {e}"))
    }
}

/// Polls `probe` until it yields a value, failing after [`WAIT`] with the last observation.
pub(crate) async fn eventually<T>(
    what: &str,
    mut probe: impl AsyncFnMut() -> R<Result<T, String>>,
) -> R<T> {
    let deadline = Instant::now() + WAIT;
    loop {
        match probe().await? {
            Ok(value) => return Ok(value),
            Err(last) if Instant::now() >= deadline => {
                return Err(format!("timed out waiting for {what}; last seen: {last}"));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Finds `name` on `PATH`.
pub(crate) fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    })
}

/// chromedriver's path; panics (the browser tests never skip) when it or [`CHROMIUM`] is
/// missing.
pub(crate) fn chromedriver_or_panic() -> PathBuf {
    match (Path::new(CHROMIUM).is_file(), on_path("chromedriver")) {
        (true, Some(chromedriver)) => chromedriver,
        _ => panic!("this test needs {CHROMIUM} and chromedriver on PATH: {INSTALL_HINT}"),
    }
}

/// What a test page server holds: URL path (`/v5/bundle.js`) → content type and bytes.
pub(crate) type StaticFiles = BTreeMap<String, (&'static str, Vec<u8>)>;

/// Serves `files` on 127.0.0.1:0 with one worker (any other path: 404); returns its origin
/// and the server, for the caller to spawn and stop.
pub(crate) fn serve_static(files: StaticFiles, what: &str) -> R<(String, actix_web::dev::Server)> {
    let listener = TcpListener::bind("127.0.0.1:0").ctx(&format!("binding {what}"))?;
    let origin = format!(
        "http://{}",
        listener
            .local_addr()
            .ctx(&format!("the address of {what}"))?
    );
    let files = web::Data::new(files);
    let server = HttpServer::new(move || {
        App::new().app_data(files.clone()).default_service(web::to(
            |req: HttpRequest, files: web::Data<StaticFiles>| async move {
                match files.get(req.path()) {
                    Some((content_type, body)) => HttpResponse::Ok()
                        .content_type(*content_type)
                        .body(body.clone()),
                    None => HttpResponse::NotFound().finish(),
                }
            },
        ))
    })
    .workers(1)
    .listen(listener)
    .ctx(&format!("serving {what}"))?
    .run();
    Ok((origin, server))
}

/// A chromedriver on 127.0.0.1, in its own process group with the browsers it starts; the
/// whole group is killed when this is dropped.
pub(crate) struct ChromeDriver {
    child: Child,
    url: String,
    /// chromedriver's log file.
    pub log: PathBuf,
}

impl ChromeDriver {
    pub(crate) async fn start(binary: &Path, dir: &Path) -> R<Self> {
        let log = dir.join("chromedriver.log");
        let mut last_error = String::new();
        // A free port can be taken between the probe and chromedriver's bind: retry.
        for _ in 0..3 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|listener| listener.local_addr())
                .ctx("finding a free port")?
                .port();
            let child = Command::new(binary)
                .arg(format!("--port={port}"))
                .arg(format!("--log-path={}", log.display()))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0)
                .spawn()
                .ctx(&format!("starting {}", binary.display()))?;
            let mut driver = Self {
                child,
                url: format!("http://127.0.0.1:{port}"),
                log: log.clone(),
            };
            let ready = eventually("chromedriver to listen", async || {
                if let Ok(Some(status)) = driver.child.try_wait() {
                    return Err(format!("chromedriver exited with {status}"));
                }
                Ok(tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .map(drop)
                    .map_err(|e| e.to_string()))
            })
            .await;
            match ready {
                Ok(()) => return Ok(driver),
                Err(e) => last_error = e,
            }
        }
        Err(format!("{last_error}\n{}", tail(&log)))
    }

    /// A new browser session: headless Chromium with a fresh profile in `profile`, with
    /// JavaScript allowed or blocked for every site, keeping the browser's log.
    pub(crate) async fn session(&self, profile: &Path, javascript: bool) -> R<Client> {
        std::fs::create_dir_all(profile).ctx("creating the browser profile")?;
        let mut options = json!({
            "binary": CHROMIUM,
            "args": [
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--disable-quic",
                "--disable-sync",
                format!("--user-data-dir={}", profile.display()),
            ],
        });
        if !javascript {
            options["prefs"] = json!({ "profile.managed_default_content_settings.javascript": 2 });
        }
        let capabilities = match json!({
            "browserName": "chrome",
            "goog:chromeOptions": options,
            // Keeps the browser's own log (CORS refusals, failed loads) for chromedriver's se/log.
            "goog:loggingPrefs": { "browser": "ALL" },
        }) {
            Value::Object(map) => map,
            _ => unreachable!("a JSON object literal"),
        };
        ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .map_err(|e| {
                format!(
                    "starting Chromium through chromedriver: {e}\n{}",
                    tail(&self.log)
                )
            })
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        // The group holds chromedriver and every Chromium process it started.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The end of chromedriver's log, for failure messages.
pub(crate) fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(30);
    format!(
        "last lines of {}:\n{}",
        log.display(),
        lines[start..].join("\n")
    )
}

/// Reads the embedded store directly, with the keys of the generated dev configuration.
pub(crate) struct Store {
    client: aws_sdk_s3::Client,
}

impl Store {
    pub(crate) fn new(endpoint: &str, config_path: &Path) -> R<Self> {
        let text = std::fs::read_to_string(config_path).ctx("reading the dev config")?;
        let config: toml::Table = text.parse().ctx("parsing the dev config")?;
        let key = |name: &str| -> R<String> {
            config["s3"]["credentials"][name]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| format!("no s3.credentials.{name} in the dev config"))
        };
        let credentials = aws_sdk_s3::config::Credentials::new(
            key("access_key_id")?,
            key("secret_access_key")?,
            None,
            None,
            "s3-broker-dev",
        );
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .endpoint_url(endpoint)
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            .credentials_provider(credentials)
            .force_path_style(true)
            .build();
        Ok(Self {
            client: aws_sdk_s3::Client::from_conf(config),
        })
    }

    /// Every key of the dev bucket.
    pub(crate) async fn keys(&self) -> R<Vec<String>> {
        let listed = self
            .client
            .list_objects_v2()
            .bucket(DEV_BUCKET)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "listing the store: {}",
                    aws_sdk_s3::error::DisplayErrorContext(e)
                )
            })?;
        Ok(listed
            .contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_owned))
            .collect())
    }

    /// The object's bytes and content type.
    pub(crate) async fn get(&self, key: &str) -> R<(Vec<u8>, Option<String>)> {
        let object = self
            .client
            .get_object()
            .bucket(DEV_BUCKET)
            .key(key)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "reading {key}: {}",
                    aws_sdk_s3::error::DisplayErrorContext(e)
                )
            })?;
        let content_type = object.content_type().map(str::to_owned);
        let bytes = object.body.collect().await.ctx("reading the body")?;
        Ok((bytes.into_bytes().to_vec(), content_type))
    }
}

/// Runs `part` in a new session and always ends the session (and so its browser).
pub(crate) async fn in_session<T>(
    driver: &ChromeDriver,
    profile: &Path,
    javascript: bool,
    part: impl AsyncFnOnce(&Client) -> R<T>,
) -> R<T> {
    let browser = driver.session(profile, javascript).await?;
    let outcome = part(&browser).await;
    let closed = browser.close().await.ctx("closing the browser");
    let value = outcome?;
    closed?;
    Ok(value)
}

/// Static test pages served on their own origin and an `s3-broker dev` that accepts them.
pub(crate) struct PagesSite {
    /// `http://127.0.0.1:PORT` of the pages.
    pub origin: String,
    /// `?broker=...&token=...` for a page: the dev broker's URL and token.
    pub query: String,
    /// The dev environment's store.
    pub store: Store,
}

/// Serves `files` on their own origin, starts `s3-broker dev` open to it (CORS), chromedriver
/// and `scenario`, bounded by `limit`; stops everything and panics with the failure (and the
/// end of chromedriver's log).
pub(crate) fn run_pages_against_dev(
    files: StaticFiles,
    limit: Duration,
    scenario: impl AsyncFnOnce(&PagesSite, &ChromeDriver, &Path) -> R<()>,
) {
    let chromedriver = chromedriver_or_panic();
    let temp = tempfile::tempdir().expect("a temporary directory");
    let dir = temp.path().to_owned();
    let outcome: R<()> = actix_web::rt::System::new().block_on(async move {
        let (origin, pages) = serve_static(files, "the test pages")?;
        let pages_handle = pages.handle();
        actix_web::rt::spawn(pages);
        let env = s3_broker::dev::DevEnvironment::start_with_cors_origins(
            &dir.join("dev"),
            0,
            0,
            std::slice::from_ref(&origin),
        )
        .await
        .ctx("starting the dev environment")?;
        let server = env.server.handle();
        actix_web::rt::spawn(env.server);
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("broker", &env.url)
            .append_pair("token", &env.token)
            .finish();
        let site = PagesSite {
            origin,
            query,
            store: Store::new(&env.store.endpoint(), &env.config_path)?,
        };
        let driver = ChromeDriver::start(&chromedriver, &dir).await?;
        let outcome = tokio::time::timeout(limit, scenario(&site, &driver, &dir))
            .await
            .unwrap_or_else(|_| Err(format!("no result within {limit:?}")))
            .map_err(|e| format!("{e}\n{}", tail(&driver.log)));
        drop(driver);
        server.stop(false).await;
        pages_handle.stop(false).await;
        env.store.stop();
        outcome
    });
    if let Err(e) = outcome {
        panic!("{e}");
    }
}

/// Chooses `file` in the file input `#input` and clicks `#submit`, as a person would.
pub(crate) async fn choose_and_submit(
    browser: &Client,
    input: &str,
    file: &Path,
    submit: &str,
) -> R<()> {
    let path = file.to_str().ok_or("a non-UTF-8 path")?;
    browser
        .find(fantoccini::Locator::Id(input))
        .await
        .ctx(&format!("finding #{input}"))?
        .send_keys(path)
        .await
        .ctx("choosing the file")?;
    browser
        .find(fantoccini::Locator::Id(submit))
        .await
        .ctx(&format!("finding #{submit}"))?
        .click()
        .await
        .ctx(&format!("clicking #{submit}"))
}

/// The text of the element `css` selects.
pub(crate) async fn text_of(browser: &Client, css: &str) -> R<String> {
    browser
        .find(fantoccini::Locator::Css(css))
        .await
        .ctx(&format!("finding {css}"))?
        .text()
        .await
        .ctx(&format!("reading {css}"))
}
