//! Real Uppy clients against `s3-broker dev`, in headless Chromium: Uppy 5 (`@uppy/core`
//! 5.2.0, `@uppy/aws-s3` 5.1.0) through the Companion-compatible `/s3/...` routes, and Uppy 6
//! (6.3.1, 6.3.1) through `POST /s3/sign`, each configured exactly as in
//! `examples/uppy/uppy{5,6}.js`. Each uploads a 1 KiB text file (one POST-policy form) and a
//! file of about 12 MiB as a multipart upload of three 5 MiB-chunked parts; the test then
//! reads each object from the embedded store under the key Uppy reported and compares bytes
//! and content type. Uppy 5 then uploads a third file in parts, paused after its first part
//! and resumed: it lists the parts the store holds (ListParts with ETags) and sends the rest.
//!
//! The page is served by the test itself from another origin than the broker's, so the
//! broker's CORS (and the store's, which must expose `ETag`) is really exercised. The bundles
//! come from `tests/fixtures/uppy/build.sh` (pinned npm projects in `tests/fixtures/uppy/v5`
//! and `tests/fixtures/uppy/v6`, built into `target/uppy/`); without them, or with stale ones,
//! the test fails, it never skips. Needs Debian's `chromium` and `chromium-driver`, like the
//! other browser tests.

use crate::support::{
    ChromeDriver, Context, R, StaticFiles, Store, chromedriver_or_panic, in_session, serve_static,
    tail,
};
use fantoccini::Client;
use fantoccini::wd::{TimeoutConfiguration, WebDriverCompatibleCommand};
use s3_broker::dev::DevEnvironment;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

const BUILD_HINT: &str = "build them with `tests/fixtures/uppy/build.sh` (needs node and npm; \
     `scripts/testbed/install.sh uppy` and `scripts/test` run it too)";
/// The whole browser part; a healthy run takes a few seconds.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(100);
/// One Uppy version's uploads, measured in the page.
const UPLOAD_TIMEOUT: Duration = Duration::from_secs(40);
const MIB: usize = 1024 * 1024;
/// The chunk size of examples/uppy/uppy{5,6}.js.
const CHUNK: usize = 5 * MIB;

/// One pinned Uppy major version.
struct Version {
    /// Folder under tests/fixtures/uppy/ and target/uppy/.
    dir: &'static str,
    label: &'static str,
    core: &'static str,
    aws_s3: &'static str,
    example: &'static str,
    /// Seeds of the file bytes, so the two versions upload different data.
    seed: u32,
}

const VERSIONS: [Version; 2] = [
    Version {
        dir: "v5",
        label: "Uppy 5",
        core: "5.2.0",
        aws_s3: "5.1.0",
        example: "examples/uppy/uppy5.js",
        seed: 5,
    },
    Version {
        dir: "v6",
        label: "Uppy 6",
        core: "6.3.1",
        aws_s3: "6.3.1",
        example: "examples/uppy/uppy6.js",
        seed: 6,
    },
];

/// A file the page builds from deterministic bytes (tests/fixtures/uppy/harness.js, `testBytes`).
struct TestFile {
    name: String,
    content_type: &'static str,
    size: usize,
    seed: u32,
    text: bool,
}

impl TestFile {
    fn for_version(version: &Version) -> [TestFile; 2] {
        let major = &version.dir[1..];
        [
            TestFile {
                name: format!("uppy{major}-small.txt"),
                content_type: "text/plain",
                size: 1024,
                seed: version.seed * 1000 + 1,
                text: true,
            },
            // Three parts: 5 MiB, 5 MiB and the rest.
            TestFile {
                name: format!("uppy{major}-large.bin"),
                content_type: "application/octet-stream",
                size: 12 * MIB + 4321,
                seed: version.seed * 1000 + 2,
                text: false,
            },
        ]
    }

    /// The file of the pause-and-resume run: three parts, other bytes.
    fn paused(version: &Version) -> TestFile {
        TestFile {
            name: format!("uppy{}-paused.bin", &version.dir[1..]),
            content_type: "application/octet-stream",
            size: 12 * MIB + 1234,
            seed: version.seed * 1000 + 3,
            text: false,
        }
    }

    /// The same bytes as `testBytes` in tests/fixtures/uppy/harness.js: a 32-bit LCG.
    fn bytes(&self) -> Vec<u8> {
        let mut x = self.seed;
        (0..self.size)
            .map(|i| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                let high = (x >> 24) as u8;
                match (self.text, i % 64 == 63) {
                    (false, _) => high,
                    (true, true) => b'\n',
                    (true, false) => 32 + high % 95,
                }
            })
            .collect()
    }

    /// How many parts the upload has (0: a single request).
    fn parts(&self) -> usize {
        if self.size > 10 * MIB {
            self.size.div_ceil(CHUNK)
        } else {
            0
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "type": self.content_type,
            "size": self.size,
            "seed": self.seed,
            "text": self.text,
        })
    }
}

fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// The bundle of `version`, failing when it is missing or older than its sources.
fn bundle(version: &Version) -> R<Vec<u8>> {
    let dir = std::env::var_os("UPPY_BUNDLE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_path("target/uppy"));
    let path = dir.join(version.dir).join("bundle.js");
    let modified = |path: &Path| -> R<SystemTime> {
        std::fs::metadata(path)
            .and_then(|m| m.modified())
            .ctx(&path.display().to_string())
    };
    let built = modified(&path).map_err(|e| {
        format!(
            "the {} bundle is missing ({e}): {BUILD_HINT}",
            version.label
        )
    })?;
    let sources = [
        version.example.to_owned(),
        "tests/fixtures/uppy/harness.js".to_owned(),
        format!("tests/fixtures/uppy/{}/entry.js", version.dir),
        format!("tests/fixtures/uppy/{}/package-lock.json", version.dir),
    ];
    for source in sources {
        if modified(&repo_path(&source))? > built {
            return Err(format!(
                "{} is older than {source}: {BUILD_HINT}",
                path.display()
            ));
        }
    }
    std::fs::read(&path).ctx(&format!("reading {}", path.display()))
}

/// The harness page: records the console and the bodies of error answers before the bundle
/// loads, so a failure can show them.
const PAGE: &str = r#"<!doctype html>
<meta charset="utf-8">
<title>s3-broker Uppy harness</title>
<link rel="icon" href="data:,">
<script>
{
  window.__console = [];
  const show = (a) => {
    if (a instanceof Error) return a.stack || String(a);
    if (typeof a === 'string') return a;
    try { return JSON.stringify(a); } catch { return String(a); }
  };
  for (const level of ['log', 'info', 'warn', 'error', 'debug']) {
    const original = console[level].bind(console);
    console[level] = (...args) => {
      window.__console.push(`${level}: ${args.map(show).join(' ')}`);
      original(...args);
    };
  }
  // Error answers, whose bodies neither Uppy 5's messages nor the browser log show.
  const originalFetch = window.fetch;
  window.fetch = async (...args) => {
    const response = await originalFetch(...args);
    if (!response.ok) {
      const body = await response.clone().text().catch(() => '');
      window.__console.push(`fetch: ${response.status} from ${response.url}: ${body.slice(0, 800)}`);
    }
    return response;
  };
  const originalOpen = XMLHttpRequest.prototype.open;
  XMLHttpRequest.prototype.open = function (method, url, ...rest) {
    this.addEventListener('loadend', () => {
      if (this.status >= 400) {
        const body = this.responseType === '' || this.responseType === 'text' ? this.responseText : '';
        window.__console.push(`xhr: ${this.status} from ${method} ${url}: ${body.slice(0, 800)}`);
      }
    });
    return originalOpen.call(this, method, url, ...rest);
  };
  addEventListener('error', (e) => window.__console.push(`uncaught: ${e.message}`));
  addEventListener('unhandledrejection', (e) =>
    window.__console.push(`unhandled rejection: ${show(e.reason)}`));
}
</script>
<script src="bundle.js"></script>
"#;

/// Serves `/<dir>/` (the page) and `/<dir>/bundle.js` for every version, on 127.0.0.1:0.
fn serve_harness(bundles: BTreeMap<&'static str, Vec<u8>>) -> R<(String, actix_web::dev::Server)> {
    let mut files = StaticFiles::new();
    for (dir, js) in bundles {
        files.insert(
            format!("/{dir}/"),
            ("text/html; charset=utf-8", PAGE.as_bytes().to_vec()),
        );
        files.insert(
            format!("/{dir}/bundle.js"),
            ("text/javascript; charset=utf-8", js),
        );
    }
    serve_static(files, "the harness")
}

/// chromedriver's `se/log`: the browser's log, which has what the page cannot see itself,
/// such as a request blocked by CORS.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!("session/{}/se/log", session_id.unwrap_or("")))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type":"browser"}"#.into()))
    }
}

/// The page's recorded console and the browser's log, for failure messages.
async fn diagnostics(browser: &Client) -> String {
    let console = match browser
        .execute("return window.__console || []", vec![])
        .await
    {
        Ok(Value::Array(lines)) => lines
            .iter()
            .map(|l| format!("  {}", l.as_str().unwrap_or_default()))
            .collect::<Vec<_>>()
            .join("\n"),
        other => format!("  (unreadable: {other:?})"),
    };
    let log = match browser.issue_cmd(BrowserLog).await {
        Ok(Value::Array(entries)) => entries
            .iter()
            .map(|e| {
                format!(
                    "  {} {}",
                    e["level"].as_str().unwrap_or_default(),
                    e["message"].as_str().unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join("\n"),
        other => format!("  (unreadable: {other:?})"),
    };
    format!("page console:\n{console}\nbrowser log:\n{log}")
}

/// What the page reports for one file.
#[derive(Debug)]
struct Uploaded {
    name: String,
    key: String,
}

/// Runs the uploads of `version` in the page and checks what Uppy reports.
async fn upload_in_browser(
    browser: &Client,
    site: &Site,
    version: &Version,
    files: &[TestFile],
    pause_after_first_part: bool,
) -> R<Vec<Uploaded>> {
    browser
        .goto(&format!("{}/{}/", site.harness, version.dir))
        .await
        .ctx("opening the harness page")?;
    let loaded = browser
        .execute("return typeof window.uppyHarness === 'function'", vec![])
        .await
        .ctx("probing the bundle")?;
    if loaded != Value::Bool(true) {
        return Err(format!(
            "the bundle did not define window.uppyHarness\n{}",
            diagnostics(browser).await
        ));
    }
    browser
        .update_timeouts(TimeoutConfiguration::new(
            Some(UPLOAD_TIMEOUT + Duration::from_secs(10)),
            None,
            None,
        ))
        .await
        .ctx("setting the script timeout")?;
    let options = json!({
        "brokerUrl": site.broker,
        "token": site.token,
        "files": files.iter().map(TestFile::to_json).collect::<Vec<_>>(),
        "timeoutMs": UPLOAD_TIMEOUT.as_millis() as u64,
        "pauseAfterFirstPart": pause_after_first_part,
    });
    let outcome = browser
        .execute_async(
            "const [options, done] = arguments;
             window.uppyHarness(options).then(done, (e) => done({ errors: [`harness: ${e}`] }));",
            vec![options],
        )
        .await;
    let report = match outcome {
        Ok(report) => report,
        Err(e) => {
            return Err(format!(
                "running the uploads: {e}\n{}",
                diagnostics(browser).await
            ));
        }
    };
    let versions = (
        report["versions"]["core"].as_str().unwrap_or_default(),
        report["versions"]["awsS3"].as_str().unwrap_or_default(),
    );
    if versions != (version.core, version.aws_s3) {
        return Err(format!(
            "the bundle holds @uppy/core {} and @uppy/aws-s3 {}, expected {} and {}",
            versions.0, versions.1, version.core, version.aws_s3
        ));
    }
    let errors = report["errors"].as_array().cloned().unwrap_or_default();
    let results = report["results"].as_array().cloned().unwrap_or_default();
    let failure = |what: String| {
        format!(
            "{what}\nUppy errors: {}\nprogress: {}\n",
            serde_json::to_string_pretty(&errors).unwrap_or_default(),
            serde_json::to_string_pretty(&report["progress"]).unwrap_or_default(),
        )
    };
    if !errors.is_empty() || results.len() != files.len() {
        return Err(format!(
            "{}{}",
            failure(format!(
                "{} of {} uploads succeeded: {results:?}",
                results.len(),
                files.len()
            )),
            diagnostics(browser).await
        ));
    }
    let mut uploaded = Vec::new();
    for file in files {
        let Some(result) = results.iter().find(|r| r["name"] == file.name.as_str()) else {
            return Err(failure(format!("no upload-success for {}", file.name)));
        };
        let Some(key) = result["key"].as_str().filter(|k| !k.is_empty()) else {
            return Err(failure(format!(
                "upload-success for {} carries no key: {result}",
                file.name
            )));
        };
        // Uppy 5 hands the body of the broker's completion to upload-success: its receipt.
        let receipt = result["receipt"].as_str().unwrap_or_default();
        if version.core.starts_with('5') && file.parts() > 0 && receipt.split('.').count() != 3 {
            return Err(failure(format!(
                "Uppy 5's upload-success for {} carries no receipt: {result}",
                file.name
            )));
        }
        // Uppy reports each finished part: the large file must have gone up as its parts.
        // (Uppy 5 also reports a single-request upload as part 1, so small files are not
        // counted.)
        let parts = report["progress"]
            .as_object()
            .map(|p| {
                p.keys()
                    .filter(|k| k.starts_with(&format!("{} part ", file.name)))
                    .count()
            })
            .unwrap_or_default();
        // A resumed upload sends only the parts the store does not list (a part in flight at
        // the pause may have landed), so it may report fewer.
        let sent_all = parts == file.parts() || (pause_after_first_part && parts >= 1);
        if file.parts() > 0 && !sent_all {
            return Err(failure(format!(
                "{} went up in {parts} part(s), expected {}",
                file.name,
                file.parts()
            )));
        }
        if pause_after_first_part && file.parts() > 0 {
            for step in ["paused", "resumed"] {
                if report["progress"][format!("{} {step}", file.name)].is_null() {
                    return Err(failure(format!("{} was never {step}", file.name)));
                }
            }
        }
        uploaded.push(Uploaded {
            name: file.name.clone(),
            key: key.to_owned(),
        });
    }
    Ok(uploaded)
}

/// Checks every object Uppy reported against the bytes it was given.
async fn check_store(store: &Store, files: &[TestFile], uploaded: &[Uploaded]) -> R<()> {
    for (file, upload) in files.iter().zip(uploaded) {
        let key = &upload.key;
        if !key.starts_with("users/dev/") {
            return Err(format!(
                "{}: key {key} is outside the dev user's namespace users/dev/",
                upload.name
            ));
        }
        let (stored, content_type) = store.get(key).await?;
        let expected = file.bytes();
        if stored != expected {
            let first_difference = stored
                .iter()
                .zip(&expected)
                .position(|(a, b)| a != b)
                .unwrap_or(stored.len().min(expected.len()));
            return Err(format!(
                "{key}: the store holds {} bytes, {} were uploaded; first difference at byte {first_difference}",
                stored.len(),
                expected.len()
            ));
        }
        if content_type.as_deref() != Some(file.content_type) {
            return Err(format!(
                "{key}: stored content type {content_type:?}, expected {}",
                file.content_type
            ));
        }
    }
    Ok(())
}

/// Where the pieces under test live.
struct Site {
    /// `http://127.0.0.1:PORT`, the harness's origin.
    harness: String,
    /// `http://127.0.0.1:PORT`, the broker.
    broker: String,
    token: String,
    store_endpoint: String,
    config_path: PathBuf,
}

async fn scenario(driver: &ChromeDriver, dir: &Path, site: &Site) -> R<()> {
    let store = Store::new(&site.store_endpoint, &site.config_path)?;
    let mut all_keys = Vec::new();
    // Both versions run even when the first fails, and the failures are reported together.
    let mut failures = Vec::new();
    // Each version's two files, then Uppy 5 pausing a multipart upload after its first part
    // and resuming it: it lists the parts the store holds (with their ETags) and sends the rest.
    let runs = VERSIONS
        .iter()
        .map(|v| {
            (
                v,
                Vec::from(TestFile::for_version(v)),
                false,
                v.label.to_owned(),
            )
        })
        .chain(std::iter::once((
            &VERSIONS[0],
            vec![TestFile::paused(&VERSIONS[0])],
            true,
            format!("{} pause and resume", VERSIONS[0].label),
        )));
    in_session(driver, &dir.join("profile"), true, async |browser| {
        for (version, files, pause, label) in runs {
            let checked = match upload_in_browser(browser, site, version, &files, pause).await {
                Ok(uploaded) => check_store(&store, &files, &uploaded)
                    .await
                    .map(|()| uploaded),
                Err(e) => Err(e),
            };
            match checked {
                Ok(uploaded) => all_keys.extend(uploaded.into_iter().map(|u| u.key)),
                Err(e) => failures.push(format!("{label}: {e}")),
            }
        }
        Ok(())
    })
    .await?;
    if !failures.is_empty() {
        return Err(failures.join("\n\n"));
    }
    let mut stored = store.keys().await?;
    stored.sort();
    all_keys.sort();
    if stored != all_keys {
        return Err(format!(
            "the store holds {stored:?}, Uppy reported {all_keys:?}"
        ));
    }
    Ok(())
}

#[test]
fn uppy_5_and_6_upload_small_and_multipart_files_through_the_broker() {
    let chromedriver = chromedriver_or_panic();
    let bundles: BTreeMap<&'static str, Vec<u8>> = VERSIONS
        .iter()
        .map(|v| bundle(v).map(|js| (v.dir, js)))
        .collect::<R<_>>()
        .unwrap_or_else(|e| panic!("{e}"));
    let temp = tempfile::tempdir().expect("a temporary directory");
    let dir = temp.path().to_owned();
    let outcome: R<()> = actix_web::rt::System::new().block_on(async move {
        let (origin, harness) = serve_harness(bundles)?;
        let harness_handle = harness.handle();
        actix_web::rt::spawn(harness);
        let env = DevEnvironment::start_with_cors_origins(
            &dir.join("dev"),
            0,
            0,
            std::slice::from_ref(&origin),
        )
        .await
        .ctx("starting the dev environment")?;
        let DevEnvironment {
            store,
            url,
            token,
            config_path,
            server,
            ..
        } = env;
        let server_handle = server.handle();
        actix_web::rt::spawn(server);
        let site = Site {
            harness: origin,
            broker: url,
            token,
            store_endpoint: store.endpoint(),
            config_path,
        };
        let driver = ChromeDriver::start(&chromedriver, &dir).await?;
        let outcome = tokio::time::timeout(SCENARIO_TIMEOUT, scenario(&driver, &dir, &site))
            .await
            .unwrap_or_else(|_| Err(format!("no result within {SCENARIO_TIMEOUT:?}")))
            .map_err(|e| format!("{e}\n{}", tail(&driver.log)));
        drop(driver);
        server_handle.stop(false).await;
        harness_handle.stop(false).await;
        store.stop();
        outcome
    });
    if let Err(e) = outcome {
        panic!("{e}");
    }
}
