//! The client examples in headless Chromium, served from another origin than the broker (so
//! CORS is exercised) against `s3-broker dev`: Dropzone 5 with PUT and with POST
//! (examples/dropzone/, the pinned Dropzone of tests/fixtures/dropzone/) and the plain HTML
//! form with a signed redirect back to its page (examples/form/). Every file lands with its
//! exact bytes (SHA-256 of the stored object), under the key the page reports.
//!
//! Needs Debian's `chromium` and `chromium-driver` and Dropzone installed by
//! `tests/fixtures/dropzone/build.sh` (`scripts/testbed/install.sh dropzone`); without them
//! the test fails, it never skips.

use crate::support::{
    ChromeDriver, Context, PagesSite, R, StaticFiles, Store, choose_and_submit, eventually,
    in_session, run_pages_against_dev, text_of,
};
use fantoccini::{Client, Locator};
use s3_broker::config::sha256_hex;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The whole browser part; a healthy run takes a few seconds.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(90);

fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// Dropzone's script, as `tests/fixtures/dropzone/build.sh` installed it.
fn dropzone_script() -> R<Vec<u8>> {
    let dir = std::env::var_os("DROPZONE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_path("target/dropzone"));
    let script = dir.join("node_modules/dropzone/dist/min/dropzone.min.js");
    std::fs::read(&script).map_err(|e| {
        format!(
            "{}: {e}: install it with `tests/fixtures/dropzone/build.sh` (needs node and npm; \
             `scripts/testbed/install.sh dropzone` runs it)",
            script.display()
        )
    })
}

/// examples/dropzone/ and examples/form/ as committed, and Dropzone.
fn example_files() -> R<StaticFiles> {
    let mut files = StaticFiles::new();
    for (path, file, content_type) in [
        (
            "/dropzone/index.html",
            "examples/dropzone/index.html",
            "text/html; charset=utf-8",
        ),
        (
            "/dropzone/s3-broker-dropzone.js",
            "examples/dropzone/s3-broker-dropzone.js",
            "text/javascript; charset=utf-8",
        ),
        (
            "/form/index.html",
            "examples/form/index.html",
            "text/html; charset=utf-8",
        ),
        (
            "/form/form.js",
            "examples/form/form.js",
            "text/javascript; charset=utf-8",
        ),
    ] {
        let body = std::fs::read(repo_path(file)).ctx(&format!("reading {file}"))?;
        files.insert(path.to_owned(), (content_type, body));
    }
    files.insert(
        "/dropzone/dropzone.min.js".to_owned(),
        ("text/javascript; charset=utf-8", dropzone_script()?),
    );
    Ok(files)
}

/// `size` bytes of every value.
fn pattern(size: usize, seed: usize) -> Vec<u8> {
    (0..size).map(|i| ((i * 13 + seed) % 256) as u8).collect()
}

/// The store holds exactly `bytes` at `key`.
async fn holds(store: &Store, key: &str, bytes: &[u8], what: &str) -> R<()> {
    let (stored, _) = store.get(key).await.map_err(|e| format!("{what}: {e}"))?;
    if sha256_hex(&stored) != sha256_hex(bytes) {
        return Err(format!(
            "{what}: {key} holds {} bytes with another SHA-256 than the {} sent",
            stored.len(),
            bytes.len()
        ));
    }
    Ok(())
}

/// Drops a file of `bytes` named `name` on the Dropzone `zone` (`put` or `post`), as a person
/// would with the file chooser, and returns the key the page reports.
async fn dropzone_upload(browser: &Client, zone: &str, name: &str, bytes: &[u8]) -> R<String> {
    browser
        .execute(
            "const [zone, name, bytes] = arguments; \
             window.dropzones[zone].addFile(new File([new Uint8Array(bytes)], name, { type: 'text/plain' }));",
            vec![json!(zone), json!(name), json!(bytes)],
        )
        .await
        .ctx("adding the file to Dropzone")?;
    let list = format!("#done-{zone} li");
    let line = eventually(&format!("Dropzone {zone} to finish"), async || {
        let line = match browser.find(Locator::Css(&list)).await {
            Ok(item) => item.text().await.ctx("reading the result")?,
            Err(e) => return Ok(Err(e.to_string())),
        };
        if line.starts_with("Failed") {
            return Err(format!("Dropzone {zone}: {line}"));
        }
        Ok(Ok(line))
    })
    .await?;
    line.strip_prefix("Uploaded ")
        .map(str::to_owned)
        .ok_or_else(|| format!("Dropzone {zone}: {line:?}"))
}

async fn form_upload(browser: &Client, page: &str, file: &Path) -> R<String> {
    browser.goto(page).await.ctx("opening the form")?;
    eventually("the form to be ready", async || {
        let status = text_of(browser, "#status").await?;
        if status.starts_with("Failed") {
            return Err(format!("the form page says {status:?}"));
        }
        Ok(if status.starts_with("Ready") {
            Ok(())
        } else {
            Err(status)
        })
    })
    .await?;
    choose_and_submit(browser, "file", file, "submit").await?;
    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let confirmation = eventually("the confirmation after S3's redirect", async || {
        // While the browser is still on the form page or loading the next one, the element
        // is not there yet: wait for it rather than failing at once.
        let text = match text_of(browser, "#confirmation").await {
            Ok(text) => text,
            Err(missing) => return Ok(Err(missing)),
        };
        Ok(if text.starts_with(&format!("Uploaded {name}")) {
            Ok(text)
        } else {
            Err(format!("#confirmation {text:?}"))
        })
    })
    .await?;
    let url = browser.current_url().await.ctx("the URL")?;
    if !confirmation.contains("ETag") || url.query().is_none_or(|q| q.contains("token=")) {
        return Err(format!("back at {url} with {confirmation:?}"));
    }
    url.query_pairs()
        .find(|(n, _)| n == "key")
        .map(|(_, key)| key.into_owned())
        .ok_or_else(|| format!("no key in {url}"))
}

async fn scenario(site: &PagesSite, driver: &ChromeDriver, dir: &Path) -> R<()> {
    let (origin, query, store) = (&site.origin, &site.query, &site.store);
    let put_bytes = pattern(40_000, 1);
    let post_bytes = pattern(30_000, 2);
    let form_bytes = pattern(20_000, 3);
    let form_file = dir.join("form upload.bin");
    std::fs::write(&form_file, &form_bytes).ctx("writing the form's file")?;

    let keys = in_session(driver, &dir.join("profile"), true, async |browser| {
        browser
            .goto(&format!("{origin}/dropzone/index.html?{query}"))
            .await
            .ctx("opening the Dropzone example")?;
        eventually("the Dropzone page", async || {
            let ready = browser
                .find(Locator::Css("body[data-ready=yes]"))
                .await
                .is_ok();
            Ok(if ready {
                Ok(())
            } else {
                Err("not ready".to_owned())
            })
        })
        .await?;
        let put = dropzone_upload(browser, "put", "dropped by put.txt", &put_bytes).await?;
        holds(store, &put, &put_bytes, "Dropzone PUT").await?;
        let post = dropzone_upload(browser, "post", "dropped by post.txt", &post_bytes).await?;
        holds(store, &post, &post_bytes, "Dropzone POST").await?;
        let form = form_upload(
            browser,
            &format!("{origin}/form/index.html?{query}"),
            &form_file,
        )
        .await?;
        holds(store, &form, &form_bytes, "plain form").await?;
        Ok(vec![put, post, form])
    })
    .await?;
    let names: Vec<&str> = keys.iter().filter_map(|k| k.rsplit('/').next()).collect();
    let ends = [
        "-dropped by put.txt",
        "-dropped by post.txt",
        "-form upload.bin",
    ];
    if names
        .iter()
        .zip(ends)
        .any(|(name, end)| !name.ends_with(end))
    {
        return Err(format!("unexpected keys {keys:?}"));
    }
    let mut stored = store.keys().await?;
    stored.sort();
    let mut expected = keys;
    expected.sort();
    if stored != expected {
        return Err(format!("the store holds {stored:?}, expected {expected:?}"));
    }
    Ok(())
}

#[test]
fn dropzone_put_and_post_and_the_plain_form_land_the_bytes() {
    let files = example_files().unwrap_or_else(|e| panic!("{e}"));
    run_pages_against_dev(files, SCENARIO_TIMEOUT, scenario);
}
