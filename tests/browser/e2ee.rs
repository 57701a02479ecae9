//! Headless Chromium drives examples/browser/ (end-to-end encryption) against `s3-broker dev`:
//! the store holds only ciphertext (12-byte IV + ciphertext + 16-byte tag, never the
//! plaintext), the page decrypts what it downloads back to the original bytes, a saved key
//! decrypts the object later, and a wrong key is refused by GCM's tag.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`scripts/testbed/install.sh chromium`);
//! without them the test fails, it never skips. The example is served as is from a tiny static
//! server on 127.0.0.1:0, whose origin the dev broker allows (CORS), like `python3 -m
//! http.server` in the example's README.

use crate::support::{
    ChromeDriver, Context, PagesSite, R, StaticFiles, Store, eventually, in_session,
    run_pages_against_dev,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use fantoccini::{Client, Locator};
use s3_broker::config::sha256_hex;
use std::path::Path;
use std::time::Duration;

/// The whole browser part; a healthy run takes a few seconds.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(90);
const IV_BYTES: usize = 12;
const TAG_BYTES: usize = 16;

/// examples/browser/, read once, as committed.
fn example_files() -> R<StaticFiles> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/browser");
    let mut files = StaticFiles::new();
    for (name, content_type) in [
        ("index.html", "text/html; charset=utf-8"),
        ("e2ee.js", "text/javascript; charset=utf-8"),
    ] {
        let body = std::fs::read(dir.join(name)).ctx(&format!("reading {name}"))?;
        files.insert(format!("/{name}"), (content_type, body));
    }
    Ok(files)
}

async fn text_of(browser: &Client, id: &str) -> R<String> {
    browser
        .find(Locator::Id(id))
        .await
        .ctx(&format!("finding #{id}"))?
        .text()
        .await
        .ctx(&format!("reading #{id}"))
}

async fn click(browser: &Client, id: &str) -> R<()> {
    browser
        .find(Locator::Id(id))
        .await
        .ctx(&format!("finding #{id}"))?
        .click()
        .await
        .ctx(&format!("clicking #{id}"))
}

async fn type_into(browser: &Client, id: &str, text: &str) -> R<()> {
    let field = browser
        .find(Locator::Id(id))
        .await
        .ctx(&format!("finding #{id}"))?;
    field.clear().await.ctx(&format!("clearing #{id}"))?;
    field
        .send_keys(text)
        .await
        .ctx(&format!("typing into #{id}"))
}

/// Waits until the status line `id` starts with `done` (or fails on `Failed:`).
async fn wait_for(browser: &Client, id: &str, done: &str) -> R<String> {
    eventually(&format!("#{id} to say {done:?}"), async || {
        let status = text_of(browser, id).await?;
        if status.starts_with("Failed:") {
            return Err(format!("the page says {status:?}"));
        }
        Ok(if status.starts_with(done) {
            Ok(status)
        } else {
            Err(format!("#{id} {status:?}"))
        })
    })
    .await
}

/// Bytes the page keeps in `window.e2eeDemo` (e.g. `last.decrypted`), as base64.
async fn page_bytes(browser: &Client, path: &str) -> R<Vec<u8>> {
    let script = format!(
        "const b = window.e2eeDemo.{path}; let s = ''; \
         for (const x of b) s += String.fromCharCode(x); return btoa(s);"
    );
    let value = browser
        .execute(&script, Vec::new())
        .await
        .ctx(&format!("reading e2eeDemo.{path}"))?;
    let text = value
        .as_str()
        .ok_or_else(|| format!("e2eeDemo.{path} is {value}"))?;
    BASE64
        .decode(text)
        .ctx(&format!("decoding e2eeDemo.{path}"))
}

/// One encrypted upload and download in the page; returns the object key.
async fn encrypt_upload_download(
    browser: &Client,
    store: &Store,
    plaintext: &[u8],
    exportable: bool,
) -> R<String> {
    if exportable {
        click(browser, "exportable").await?;
    }
    click(browser, "run").await?;
    wait_for(browser, "status", "Done.").await?;
    let verdict = text_of(browser, "verdict").await?;
    if !verdict.starts_with("match") {
        return Err(format!("the page's verdict is {verdict:?}"));
    }
    let key = text_of(browser, "object-key").await?;

    // The page's own decryption of what it downloaded is the original, byte for byte.
    let decrypted = page_bytes(browser, "last.decrypted").await?;
    if decrypted != plaintext {
        return Err(format!(
            "the page decrypted {} bytes that differ from the {} original ones",
            decrypted.len(),
            plaintext.len()
        ));
    }
    if text_of(browser, "original-sha256").await? != sha256_hex(plaintext)
        || text_of(browser, "decrypted-sha256").await? != sha256_hex(plaintext)
    {
        return Err("the page shows other SHA-256 digests than the original's".into());
    }

    // The store holds IV + ciphertext + tag: longer by exactly 28 bytes, never the plaintext.
    let (stored, content_type) = store.get(&key).await?;
    if stored.len() != plaintext.len() + IV_BYTES + TAG_BYTES {
        return Err(format!(
            "stored {} bytes for a {}-byte plaintext, expected + {IV_BYTES} IV + {TAG_BYTES} tag",
            stored.len(),
            plaintext.len()
        ));
    }
    if stored == plaintext
        || stored[IV_BYTES..IV_BYTES + plaintext.len()] == *plaintext
        || plaintext
            .windows(16)
            .any(|w| stored.windows(16).any(|s| s == w))
    {
        return Err("the store holds (part of) the plaintext".into());
    }
    if stored != page_bytes(browser, "last.stored").await? {
        return Err("the store holds other bytes than the page encrypted".into());
    }
    if text_of(browser, "stored-sha256").await? != sha256_hex(&stored) {
        return Err("the page shows another digest than the stored bytes'".into());
    }
    if content_type.as_deref() != Some("application/octet-stream") {
        return Err(format!("stored content type {content_type:?}"));
    }
    if !key.starts_with("users/dev/") || !key.ends_with("-encrypted.bin") {
        return Err(format!(
            "unexpected key {key}: the file name must not be sent"
        ));
    }

    let shown_key = text_of(browser, "key").await?;
    if exportable {
        let raw = BASE64
            .decode(shown_key.trim())
            .ctx("the shown key is not base64")?;
        if raw.len() != 32 {
            return Err(format!("the shown key has {} bytes", raw.len()));
        }
    } else if !shown_key.contains("non-extractable") {
        return Err(format!("a non-extractable key is shown as {shown_key:?}"));
    }
    Ok(key)
}

/// Section 3: the saved key decrypts the object later; a wrong key is refused.
async fn restore_with_key(browser: &Client, object: &str, plaintext: &[u8]) -> R<()> {
    let key = text_of(browser, "key").await?;
    type_into(browser, "restore-object", object).await?;
    type_into(browser, "restore-key", &BASE64.encode([7u8; 32])).await?;
    click(browser, "restore-run").await?;
    let refused = eventually("a wrong key to be refused", async || {
        let status = text_of(browser, "restore-status").await?;
        Ok(if status.starts_with("Failed: decryption failed") {
            Ok(())
        } else {
            Err(format!("#restore-status {status:?}"))
        })
    })
    .await;
    refused?;
    type_into(browser, "restore-key", key.trim()).await?;
    click(browser, "restore-run").await?;
    wait_for(browser, "restore-status", "Decrypted").await?;
    if page_bytes(browser, "restored").await? != plaintext
        || text_of(browser, "restore-sha256").await? != sha256_hex(plaintext)
    {
        return Err("the saved key decrypted other bytes than the original".into());
    }
    Ok(())
}

async fn scenario(site: &PagesSite, driver: &ChromeDriver, dir: &Path) -> R<()> {
    let store = &site.store;
    let page = format!("{}/index.html?{}", site.origin, site.query);
    // Text and every byte value, so no text transformation can go unnoticed.
    let mut plaintext = "secret: é ü ✓ \r\n".repeat(100).into_bytes();
    plaintext.extend((0..3000u32).map(|i| (i * 31 + 7) as u8));
    let file = dir.join("secret-report.txt");
    std::fs::write(&file, &plaintext).ctx("writing the file to encrypt")?;
    let file = file.to_str().ok_or("non-UTF-8 temp path")?.to_owned();

    let keys = in_session(driver, &dir.join("profile"), true, async |browser| {
        browser.goto(&page).await.ctx("opening the example")?;
        let status = text_of(browser, "status").await?;
        if status.starts_with("Failed:") {
            return Err(format!("the page says {status:?}"));
        }
        browser
            .find(Locator::Id("file"))
            .await
            .ctx("finding #file")?
            .send_keys(&file)
            .await
            .ctx("choosing the file")?;
        let first = encrypt_upload_download(browser, store, &plaintext, false)
            .await
            .map_err(|e| format!("with a non-extractable key: {e}"))?;
        let second = encrypt_upload_download(browser, store, &plaintext, true)
            .await
            .map_err(|e| format!("with a saved key: {e}"))?;
        restore_with_key(browser, &second, &plaintext)
            .await
            .map_err(|e| format!("decrypting later: {e}"))?;
        Ok([first, second])
    })
    .await?;

    // Fresh key and IV each time: the same file never gives the same bytes.
    let (a, _) = store.get(&keys[0]).await?;
    let (b, _) = store.get(&keys[1]).await?;
    if a == b || a[..IV_BYTES] == b[..IV_BYTES] {
        return Err("two encryptions of the same file gave the same bytes or IV".into());
    }
    let mut stored = store.keys().await?;
    stored.sort();
    let mut expected = keys.to_vec();
    expected.sort();
    if stored != expected {
        return Err(format!("the store holds {stored:?}, expected {expected:?}"));
    }
    Ok(())
}

#[test]
fn example_page_stores_only_ciphertext_and_decrypts_it_back() {
    let files = example_files().unwrap_or_else(|e| panic!("{e}"));
    run_pages_against_dev(files, SCENARIO_TIMEOUT, scenario);
}
