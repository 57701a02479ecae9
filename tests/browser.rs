//! Headless Chromium against the demo page of `s3-broker dev`: the plain HTML form uploads
//! with JavaScript switched off in the browser, the fetch upload with it on, both objects land
//! in the embedded store with the original bytes, and the page's listing shows both.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`scripts/testbed/install.sh chromium`);
//! without them the test fails, it never skips. The dev environment runs in-process on free
//! ports with a temporary directory; chromedriver runs on a free 127.0.0.1 port in its own
//! process group, which is killed at the end, whatever happens.

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use s3_broker::dev::{DEV_BUCKET, DevEnvironment};
use serde_json::{Value, json};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";
const INSTALL_HINT: &str = "install them with `scripts/testbed/install.sh chromium` \
     (apt-get install chromium chromium-driver)";
/// The whole browser part; a healthy run takes a few seconds.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(90);
/// One wait for the page or the store.
const WAIT: Duration = Duration::from_secs(15);

type R<T> = Result<T, String>;

/// Adds what was being done to an error.
trait Context<T> {
    fn ctx(self, what: &str) -> R<T>;
}

impl<T, E: std::fmt::Display> Context<T> for Result<T, E> {
    fn ctx(self, what: &str) -> R<T> {
        self.map_err(|e| format!("{what}: {e}"))
    }
}

/// Polls `probe` until it yields a value, failing after [`WAIT`] with the last observation.
async fn eventually<T>(what: &str, mut probe: impl AsyncFnMut() -> R<Result<T, String>>) -> R<T> {
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
fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    })
}

/// A chromedriver on 127.0.0.1, in its own process group with the browsers it starts; the
/// whole group is killed when this is dropped.
struct ChromeDriver {
    child: Child,
    url: String,
    log: PathBuf,
}

impl ChromeDriver {
    async fn start(binary: &Path, dir: &Path) -> R<Self> {
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
    /// JavaScript allowed or blocked for every site.
    async fn session(&self, profile: &Path, javascript: bool) -> R<Client> {
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
fn tail(log: &Path) -> String {
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
struct Store {
    client: aws_sdk_s3::Client,
}

impl Store {
    fn new(endpoint: &str, config_path: &Path) -> R<Self> {
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

    async fn keys(&self) -> R<Vec<String>> {
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
    async fn get(&self, key: &str) -> R<(Vec<u8>, Option<String>)> {
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

    /// Checks that exactly one stored key ends with `/name`, with the expected shape, bytes
    /// and type. The page reports success only after the store answered, so no waiting.
    async fn expect(&self, name: &str, bytes: &[u8], content_type: &str) -> R<String> {
        let suffix = format!("/{name}");
        let keys = self.keys().await?;
        let found: Vec<&String> = keys.iter().filter(|k| k.ends_with(&suffix)).collect();
        let [key] = found[..] else {
            let hint = if keys.iter().any(|k| k.ends_with("${filename}")) {
                " (the store kept the form's key template: it did not replace ${filename} \
                 with the name of the uploaded file)"
            } else {
                ""
            };
            return Err(format!(
                "expected one key users/dev/<uuid>/{name} in the store, found {keys:?}{hint}"
            ));
        };
        let key = key.clone();
        let uuid = uuid_of(&key)?;
        if key != format!("users/dev/{uuid}/{name}") {
            return Err(format!("unexpected key {key}"));
        }
        let (stored, stored_type) = self.get(&key).await?;
        if stored != bytes {
            return Err(format!(
                "{key}: stored {} bytes differ from the {} uploaded",
                stored.len(),
                bytes.len()
            ));
        }
        if stored_type.as_deref() != Some(content_type) {
            return Err(format!(
                "{key}: stored content type {stored_type:?}, expected {content_type}"
            ));
        }
        Ok(key)
    }
}

/// The `<uuid>` of `users/dev/<uuid>/<file>`.
fn uuid_of(key: &str) -> R<String> {
    key.split('/')
        .nth(2)
        .filter(|segment| uuid::Uuid::parse_str(segment).is_ok())
        .map(str::to_owned)
        .ok_or_else(|| format!("no uuid folder in {key}"))
}

async fn text_of(browser: &Client, css: &str) -> R<String> {
    browser
        .find(Locator::Css(css))
        .await
        .ctx(&format!("finding {css}"))?
        .text()
        .await
        .ctx(&format!("reading {css}"))
}

struct Upload {
    name: &'static str,
    path: PathBuf,
    bytes: Vec<u8>,
}

impl Upload {
    fn write(dir: &Path, name: &'static str, bytes: Vec<u8>) -> R<Self> {
        let path = dir.join(name);
        std::fs::write(&path, &bytes).ctx("writing a file to upload")?;
        Ok(Self { name, path, bytes })
    }

    fn path(&self) -> R<&str> {
        self.path
            .to_str()
            .ok_or_else(|| "non-UTF-8 temp path".into())
    }
}

/// Whether the browser runs scripts: an inline script renames a page while it is parsed, so
/// the title tells, with no waiting.
async fn runs_javascript(browser: &Client) -> R<bool> {
    browser
        .goto("data:text/html,<title>off</title><script>document.title='on'</script>")
        .await
        .ctx("opening the script probe")?;
    match browser
        .title()
        .await
        .ctx("reading the probe's title")?
        .as_str()
    {
        "on" => Ok(true),
        "off" => Ok(false),
        other => Err(format!("the script probe is titled {other:?}")),
    }
}

/// Part (a): the POST-policy form, in a browser that runs no JavaScript at all. Returns the
/// key the store reports in its redirect back to the page.
async fn form_upload_without_javascript(browser: &Client, page: &str, file: &Upload) -> R<String> {
    if runs_javascript(browser).await? {
        return Err("the browser runs JavaScript although it is disabled".into());
    }
    browser.goto(page).await.ctx("opening the demo page")?;
    // The page's script would fill #list-status once its first listing arrives.
    let status = text_of(browser, "#list-status").await?;
    if !status.is_empty() {
        return Err(format!(
            "JavaScript ran although it is disabled (#list-status: {status:?})"
        ));
    }
    browser
        .find(Locator::Id("post-file"))
        .await
        .ctx("finding #post-file")?
        .send_keys(file.path()?)
        .await
        .ctx("choosing the file")?;
    browser
        .find(Locator::Id("post-submit"))
        .await
        .ctx("finding #post-submit")?
        .click()
        .await
        .ctx("submitting the form")?;
    // The store answers with the form's success_action_redirect, back to the page.
    let back = format!("{page}?uploaded=1");
    let url = eventually("the redirect back to the demo page", async || {
        let url = browser.current_url().await.ctx("reading the URL")?;
        Ok(if url.as_str().starts_with(&back) {
            Ok(url)
        } else {
            Err(url.to_string())
        })
    })
    .await?;
    url.query_pairs()
        .find(|(name, _)| name == "key")
        .map(|(_, key)| key.into_owned())
        .ok_or_else(|| format!("no key in the redirect {url}"))
}

/// Part (b): the fetch upload with a PUT grant. Returns the key the page reports.
async fn fetch_upload(browser: &Client, page: &str, file: &Upload) -> R<String> {
    if !runs_javascript(browser).await? {
        return Err("the browser runs no JavaScript although it is enabled".into());
    }
    browser.goto(page).await.ctx("opening the demo page")?;
    eventually("the first listing", async || {
        let status = text_of(browser, "#list-status").await?;
        Ok(if status.contains("file(s)") {
            Ok(())
        } else {
            Err(format!("#list-status {status:?}"))
        })
    })
    .await?;
    browser
        .find(Locator::Id("put-file"))
        .await
        .ctx("finding #put-file")?
        .send_keys(file.path()?)
        .await
        .ctx("choosing the file")?;
    browser
        .find(Locator::Id("put-submit"))
        .await
        .ctx("finding #put-submit")?
        .click()
        .await
        .ctx("submitting the fetch form")?;
    let status = eventually("#put-status to say Uploaded", async || {
        let status = text_of(browser, "#put-status").await?;
        if status.starts_with("Upload failed") {
            return Err(format!("the page says {status:?}"));
        }
        Ok(if status.starts_with("Uploaded ") {
            Ok(status)
        } else {
            Err(format!("#put-status {status:?}"))
        })
    })
    .await?;
    Ok(status["Uploaded ".len()..].trim().to_owned())
}

/// The folder names the listing shows, sorted.
async fn folder_names(browser: &Client) -> R<Vec<String>> {
    let mut names = Vec::new();
    for link in browser
        .find_all(Locator::Css("#listing a.folder"))
        .await
        .ctx("finding folders")?
    {
        names.push(link.text().await.ctx("reading a folder")?);
    }
    names.sort();
    Ok(names)
}

/// Waits until the listing shows exactly `expected` folders. The page replaces the rows when a
/// listing arrives, so a failed read is one more observation, not an error.
async fn wait_for_folders(browser: &Client, expected: &[String], what: &str) -> R<()> {
    eventually(what, async || {
        Ok(match folder_names(browser).await {
            Ok(names) if names == expected => Ok(()),
            Ok(names) => Err(format!("folders {names:?}, expected {expected:?}")),
            Err(e) => Err(e),
        })
    })
    .await
}

async fn click(browser: &Client, locator: Locator<'_>, what: &str) -> R<()> {
    browser
        .find(locator)
        .await
        .ctx(&format!("finding {what}"))?
        .click()
        .await
        .ctx(&format!("clicking {what}"))
}

/// Part (c): the listing shows one folder per upload, still after a click on Refresh, and
/// each folder the file with its name and size.
async fn listing_shows(browser: &Client, uploads: &[(&str, &Upload)]) -> R<()> {
    let mut expected: Vec<String> = uploads
        .iter()
        .map(|(key, _)| uuid_of(key).map(|uuid| format!("{uuid}/")))
        .collect::<R<_>>()?;
    expected.sort();
    // The listing the page loads by itself after the fetch upload.
    wait_for_folders(browser, &expected, "both folders after the upload").await?;

    // Refresh: the rows shown now must be replaced by new ones.
    let old_row = browser
        .find(Locator::Css("#listing tr"))
        .await
        .ctx("finding a row")?;
    click(browser, Locator::Id("refresh"), "#refresh").await?;
    eventually("the listing to be refreshed", async || {
        Ok(match old_row.text().await {
            Err(e) if e.to_string().contains("stale") => Ok(()),
            other => Err(format!("the old row is still there: {other:?}")),
        })
    })
    .await?;
    wait_for_folders(browser, &expected, "both folders after Refresh").await?;

    for (key, upload) in uploads {
        let folder = format!("{}/", uuid_of(key)?);
        click(browser, Locator::LinkText(&folder), &folder).await?;
        let size = upload.bytes.len().to_string();
        let row = format!("#listing tr.file[data-key=\"{key}\"] td");
        eventually(
            &format!("the row of {key} in folder {folder}"),
            async || {
                let mut cells = Vec::new();
                match browser.find_all(Locator::Css(&row)).await {
                    Ok(found) => {
                        for cell in found {
                            match cell.text().await {
                                Ok(text) => cells.push(text),
                                Err(e) => return Ok(Err(e.to_string())),
                            }
                        }
                    }
                    Err(e) => return Ok(Err(e.to_string())),
                }
                Ok(
                    if cells.first().map(String::as_str) == Some(upload.name)
                        && cells.get(1) == Some(&size)
                    {
                        Ok(())
                    } else {
                        Err(format!(
                            "cells {cells:?}, expected name {} and size {size}",
                            upload.name
                        ))
                    },
                )
            },
        )
        .await?;
        click(browser, Locator::Id("up"), "#up").await?;
        wait_for_folders(browser, &expected, "both folders again after Up").await?;
    }
    Ok(())
}

/// Runs `part` in a new session and always ends the session (and so its browser).
async fn in_session<T>(
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

/// Where the dev environment under test lives.
struct Site {
    /// `http://127.0.0.1:PORT/`, the demo page.
    page: String,
    store_endpoint: String,
    config_path: PathBuf,
}

async fn scenario(site: &Site, driver: &ChromeDriver, dir: &Path) -> R<()> {
    let store = Store::new(&site.store_endpoint, &site.config_path)?;
    let page = site.page.clone();
    let files = dir.join("files");
    std::fs::create_dir_all(&files).ctx("creating the files directory")?;
    // Every byte value, so no text transformation can go unnoticed.
    let form_file = Upload::write(
        &files,
        "form-upload.bin",
        (0..3000u32).map(|i| (i * 7 % 256) as u8).collect(),
    )?;
    let fetch_file = Upload::write(
        &files,
        "fetch-upload.txt",
        "uploaded by fetch with a PUT grant: é ü ✓\n"
            .repeat(40)
            .into_bytes(),
    )?;

    let redirect_key = in_session(driver, &dir.join("profile-no-js"), false, async |browser| {
        form_upload_without_javascript(browser, &page, &form_file).await
    })
    .await
    .map_err(|e| format!("form upload without JavaScript: {e}"))?;
    // The form declares application/octet-stream, whatever the file.
    let form_key = store
        .expect(form_file.name, &form_file.bytes, "application/octet-stream")
        .await
        .map_err(|e| format!("form upload without JavaScript: {e}"))?;
    if redirect_key != form_key {
        return Err(format!(
            "the store redirected with key {redirect_key}, but holds {form_key}"
        ));
    }

    in_session(driver, &dir.join("profile-js"), true, async |browser| {
        let fetch_key = fetch_upload(browser, &page, &fetch_file).await?;
        let stored_key = store
            .expect(fetch_file.name, &fetch_file.bytes, "text/plain")
            .await
            .map_err(|e| format!("after the fetch upload: {e}"))?;
        if fetch_key != stored_key {
            return Err(format!(
                "the page reports {fetch_key}, the store holds {stored_key}"
            ));
        }
        listing_shows(
            browser,
            &[(&form_key, &form_file), (&fetch_key, &fetch_file)],
        )
        .await
    })
    .await
    .map_err(|e| format!("fetch upload and listing: {e}"))?;

    let keys = store.keys().await?;
    if keys.len() != 2 {
        return Err(format!(
            "expected exactly the two uploads, the store holds {keys:?}"
        ));
    }
    Ok(())
}

#[test]
fn demo_page_uploads_with_and_without_javascript_and_lists_both() {
    let chromedriver = on_path("chromedriver");
    let (true, Some(chromedriver)) = (Path::new(CHROMIUM).is_file(), chromedriver) else {
        panic!("this test needs {CHROMIUM} and chromedriver on PATH: {INSTALL_HINT}");
    };
    let temp = tempfile::tempdir().expect("a temporary directory");
    let dir = temp.path().to_owned();
    let outcome: R<()> = actix_web::rt::System::new().block_on(async move {
        let env = DevEnvironment::start(&dir.join("dev"), 0, 0)
            .await
            .ctx("starting the dev environment")?;
        let server = env.server.handle();
        actix_web::rt::spawn(env.server);
        let site = Site {
            page: format!("{}/", env.url),
            store_endpoint: env.store.endpoint(),
            config_path: env.config_path,
        };
        let driver = ChromeDriver::start(&chromedriver, &dir).await?;
        let outcome = tokio::time::timeout(SCENARIO_TIMEOUT, scenario(&site, &driver, &dir))
            .await
            .unwrap_or_else(|_| Err(format!("no result within {SCENARIO_TIMEOUT:?}")))
            .map_err(|e| format!("{e}\n{}", tail(&driver.log)));
        drop(driver);
        server.stop(false).await;
        env.store.stop();
        outcome
    });
    if let Err(e) = outcome {
        panic!("{e}");
    }
}
