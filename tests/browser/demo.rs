//! Headless Chromium against the demo page of `s3-broker dev`: the plain HTML form uploads
//! with JavaScript switched off in the browser and the page confirms it after S3's signed
//! redirect, the JS client's upload with it on, the objects land in the embedded store with
//! the original bytes, the page's listing shows them by name, size and date, "Up" stops at
//! the namespace root, and `/favicon.ico` answers.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`scripts/testbed/install.sh chromium`);
//! without them the test fails, it never skips. The dev environment runs in-process on free
//! ports with a temporary directory; chromedriver runs on a free 127.0.0.1 port in its own
//! process group, which is killed at the end, whatever happens.

use crate::support::{
    ChromeDriver, Context, R, Store, choose_and_submit, chromedriver_or_panic, eventually,
    in_session, tail, text_of,
};
use fantoccini::{Client, Locator};
use s3_broker::dev::DevEnvironment;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The whole browser part; a healthy run takes a few seconds.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(90);

impl Store {
    /// Checks that exactly one stored key ends with `-name`, with the expected shape, bytes
    /// and type. The page reports success only after the store answered, so no waiting.
    async fn expect(&self, name: &str, bytes: &[u8], content_type: &str) -> R<String> {
        let suffix = format!("-{name}");
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
                "expected one key users/dev/<uuid>-{name} in the store, found {keys:?}{hint}"
            ));
        };
        let key = key.clone();
        let uuid = uuid_of(&key)?;
        if key != format!("users/dev/{uuid}-{name}") {
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

/// The `<uuid>` of `users/dev/<uuid>-<file>`.
fn uuid_of(key: &str) -> R<String> {
    key.split('/')
        .nth(2)
        .and_then(|segment| segment.get(..36))
        .filter(|uuid| uuid::Uuid::parse_str(uuid).is_ok())
        .map(str::to_owned)
        .ok_or_else(|| format!("no uuid in {key}"))
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
    choose_and_submit(browser, "post-file", &file.path, "post-submit").await?;
    // The store answers with the form's success_action_redirect, back to the page, which
    // confirms the upload (rendered by the server: no JavaScript here).
    let back = format!("{page}?");
    let url = eventually("the redirect back to the demo page", async || {
        let url = browser.current_url().await.ctx("reading the URL")?;
        Ok(if url.as_str().starts_with(&back) {
            Ok(url)
        } else {
            Err(url.to_string())
        })
    })
    .await?;
    let confirmation = text_of(browser, "#form-confirmation").await?;
    if !confirmation.starts_with(&format!("Uploaded {}: the store confirmed it", file.name)) {
        return Err(format!("the page confirms {confirmation:?}"));
    }
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
    choose_and_submit(browser, "put-file", &file.path, "put-submit").await?;
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

async fn click(browser: &Client, locator: Locator<'_>, what: &str) -> R<()> {
    browser
        .find(locator)
        .await
        .ctx(&format!("finding {what}"))?
        .click()
        .await
        .ctx(&format!("clicking {what}"))
}

/// Part (c): the listing shows both files at the namespace root by their names, with their
/// sizes and no folder (the page made none), still after a click on Refresh.
async fn listing_shows(browser: &Client, uploads: &[(&str, &Upload)]) -> R<()> {
    // The listing the page loads by itself after the fetch upload.
    wait_for_files(browser, uploads, "both files after the upload").await?;

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
    wait_for_files(browser, uploads, "both files after Refresh").await?;
    let folders = folder_names(browser).await?;
    if !folders.is_empty() {
        return Err(format!("folders {folders:?}, expected none"));
    }
    Ok(())
}

/// `#current-prefix` and whether `#up` is enabled.
async fn where_am_i(browser: &Client) -> R<(String, bool)> {
    let prefix = text_of(browser, "#current-prefix").await?;
    let enabled = browser
        .find(Locator::Id("up"))
        .await
        .ctx("finding #up")?
        .is_enabled()
        .await
        .ctx("#up enabled")?;
    Ok((prefix, enabled))
}

/// Uploads `file` into the folder `notes`, opens it, goes Up: back at the namespace root,
/// where Up is disabled and stays there.
async fn up_stops_at_the_root(browser: &Client, file: &Upload) -> R<()> {
    if where_am_i(browser).await? != ("/".to_owned(), false) {
        return Err(format!("at the root: {:?}", where_am_i(browser).await?));
    }
    let path = browser
        .find(Locator::Id("put-path"))
        .await
        .ctx("finding #put-path")?;
    path.send_keys("notes").await.ctx("typing the folder")?;
    choose_and_submit(browser, "put-file", &file.path, "put-submit").await?;
    eventually("the folder notes/ in the listing", async || {
        let folders = folder_names(browser).await?;
        Ok(if folders == ["notes/"] {
            Ok(())
        } else {
            Err(format!("folders {folders:?}"))
        })
    })
    .await?;
    click(browser, Locator::Css("#listing a.folder"), "the folder").await?;
    eventually("the folder to open", async || {
        let here = where_am_i(browser).await?;
        let names = browser
            .find_all(Locator::Css("#listing tr.file td.name"))
            .await
            .ctx("finding names")?;
        let mut shown = Vec::new();
        for name in names {
            shown.push(name.text().await.unwrap_or_default());
        }
        Ok(
            if here == ("/notes/".to_owned(), true) && shown == [file.name] {
                Ok(())
            } else {
                Err(format!("{here:?} showing {shown:?}"))
            },
        )
    })
    .await?;
    click(browser, Locator::Id("up"), "#up").await?;
    eventually("Up to stop at the root", async || {
        let here = where_am_i(browser).await?;
        let status = text_of(browser, "#list-status").await?;
        Ok(
            if here == ("/".to_owned(), false) && status.contains("file(s)") {
                Ok(())
            } else {
                Err(format!("{here:?}, #list-status {status:?}"))
            },
        )
    })
    .await?;
    Ok(())
}

/// Waits until the listing shows each upload's row (by key) with its name and size.
async fn wait_for_files(browser: &Client, uploads: &[(&str, &Upload)], what: &str) -> R<()> {
    for (key, upload) in uploads {
        let size = upload.bytes.len().to_string();
        let row = format!("#listing tr.file[data-key=\"{key}\"] td");
        eventually(&format!("{what}: the row of {key}"), async || {
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
            let shown_size = match browser
                .find(Locator::Css(&format!(
                    "#listing tr.file[data-key=\"{key}\"]"
                )))
                .await
            {
                Ok(row) => row.attr("data-size").await.ctx("data-size")?,
                Err(e) => return Ok(Err(e.to_string())),
            };
            // Name, a human size ("3.0 KB") and a date.
            Ok(
                if cells.first().map(String::as_str) == Some(upload.name)
                    && shown_size.as_ref() == Some(&size)
                    && cells
                        .get(1)
                        .is_some_and(|c| c.ends_with("bytes") || c.ends_with("KB"))
                    && cells
                        .get(2)
                        .is_some_and(|c| c.chars().any(|ch| ch.is_ascii_digit()))
                {
                    Ok(())
                } else {
                    Err(format!(
                        "cells {cells:?} (data-size {shown_size:?}), expected name {}, \
                         size {size} and a date",
                        upload.name
                    ))
                },
            )
        })
        .await?;
    }
    Ok(())
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

    let folder_file = Upload::write(&files, "in-a-folder.txt", b"filed away\n".to_vec())?;

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
        .await?;
        up_stops_at_the_root(browser, &folder_file).await
    })
    .await
    .map_err(|e| format!("fetch upload and listing: {e}"))?;

    let keys = store.keys().await?;
    if keys.len() != 3 {
        return Err(format!(
            "expected exactly the three uploads, the store holds {keys:?}"
        ));
    }
    Ok(())
}

#[test]
fn demo_page_uploads_with_and_without_javascript_and_lists_both() {
    let chromedriver = chromedriver_or_panic();
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
        let icon = reqwest::get(format!("{}/favicon.ico", env.url))
            .await
            .ctx("GET /favicon.ico")?;
        if icon.status() != 200
            || icon
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                != Some("image/svg+xml")
        {
            return Err(format!("GET /favicon.ico: {icon:?}"));
        }
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
