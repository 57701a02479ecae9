//! The JavaScript client (clients/js/) in headless Chromium against `s3-broker dev`, from a
//! page of another origin than the broker: a single upload with progress events and a CRC32
//! checksum, a multipart upload cancelled after its first part and resumed by a new client
//! that has only the ticket (as on another device), an aborted upload that S3 then forgets,
//! and a listing. Every upload lands the exact bytes: the store's copy and the page's download
//! have the original's SHA-256.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`scripts/testbed/install.sh chromium`);
//! without them the test fails, it never skips.

use crate::support::{
    ChromeDriver, Context, R, StaticFiles, Store, eventually, in_session, run_pages_against_dev,
};
use fantoccini::{Client, Locator};
use s3_broker::config::sha256_hex;
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

/// The whole browser part; a healthy run takes a few seconds.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(120);
const MIB: usize = 1024 * 1024;

/// The bytes the harness page uploads (its `pattern`).
fn pattern(size: usize) -> Vec<u8> {
    (0..size)
        .map(|i| ((i * 7 + i / 256) & 0xff) as u8)
        .collect()
}

/// The client and the harness page, as committed.
fn harness_files() -> R<StaticFiles> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = StaticFiles::new();
    for (path, file, content_type) in [
        (
            "/index.html",
            "tests/fixtures/jsclient/index.html",
            "text/html; charset=utf-8",
        ),
        (
            "/s3-broker.js",
            "clients/js/s3-broker.js",
            "text/javascript; charset=utf-8",
        ),
    ] {
        let body = std::fs::read(root.join(file)).ctx(&format!("reading {file}"))?;
        files.insert(path.to_owned(), (content_type, body));
    }
    Ok(files)
}

/// Calls `window.harness.<function>(...args)` and waits for its promise.
async fn call(browser: &Client, function: &str, args: Vec<Value>) -> R<Value> {
    // A rejection comes back as a value: chromedriver reports some rejections without text.
    let script = format!(
        "return window.harness.{function}(...arguments).catch((e) => \
         ({{ harnessError: `${{e && e.name}}: ${{e && e.message}} (code ${{e && e.code}}, \
         status ${{e && e.status}})` }}));"
    );
    let value = browser
        .execute(&script, args)
        .await
        .ctx(&format!("harness.{function}"))?;
    match value.get("harnessError") {
        Some(error) => Err(format!("harness.{function} failed: {error}")),
        None => Ok(value),
    }
}

fn field<'a>(value: &'a Value, path: &str) -> R<&'a Value> {
    value
        .pointer(path)
        .ok_or_else(|| format!("no {path} in {value}"))
}

/// The store holds `expected` at the result's key, and the page downloaded the same bytes.
async fn landed(store: &Store, outcome: &Value, expected: &[u8], what: &str) -> R<String> {
    let key = field(outcome, "/result/key")?
        .as_str()
        .ok_or("a key")?
        .to_owned();
    let (stored, _) = store.get(&key).await?;
    let digest = sha256_hex(expected);
    if sha256_hex(&stored) != digest || stored.len() != expected.len() {
        return Err(format!(
            "{what}: the store holds {} bytes with another digest",
            stored.len()
        ));
    }
    for name in ["/sha256", "/downloaded"] {
        if field(outcome, name)? != &json!(digest) {
            return Err(format!(
                "{what}: {name} is not the original's SHA-256: {outcome}"
            ));
        }
    }
    Ok(key)
}

/// Progress events rise to the total and end there.
fn check_progress(outcome: &Value, total: usize, what: &str) -> R<()> {
    let events = field(outcome, "/events")?
        .as_array()
        .ok_or("events")?
        .iter()
        .map(|e| (e[0].as_u64().unwrap_or(0), e[1].as_u64().unwrap_or(0)))
        .collect::<Vec<_>>();
    let last = events.last().copied();
    if last != Some((total as u64, total as u64)) || events.iter().any(|&(_, t)| t != total as u64)
    {
        return Err(format!(
            "{what}: progress must end at {total} of {total}: {events:?}"
        ));
    }
    Ok(())
}

async fn scenario(page: &str, store: &Store, driver: &ChromeDriver, dir: &Path) -> R<()> {
    in_session(driver, &dir.join("profile"), true, async |browser| {
        browser.goto(page).await.ctx("opening the harness")?;
        eventually("the harness to load", async || {
            let status = browser
                .find(Locator::Id("status"))
                .await
                .ctx("#status")?
                .text()
                .await
                .ctx("#status text")?;
            Ok(if status == "ready" {
                Ok(())
            } else {
                Err(status)
            })
        })
        .await?;

        let vectors = call(browser, "crcVectors", vec![]).await?;
        if vectors
            != json!([
                "cbf43926",
                "e3069283",
                "FeKw08M4keuw8e9gnsQZQgwg4yDOlMZfvIwzEkSOsiU="
            ])
        {
            return Err(format!("checksum known answers: {vectors}"));
        }

        let size = 70_000;
        let single = call(
            browser,
            "single",
            vec![json!(size), json!({"checksum": "CRC32"})],
        )
        .await?;
        let single_key = landed(store, &single, &pattern(size), "single upload").await?;
        check_progress(&single, size, "single upload")?;
        if field(&single, "/result/method")? != "PUT" {
            return Err(format!("a small file is one PUT: {single}"));
        }
        // The broker offers verify, so the client called it: a receipt (a compact JWS) for
        // the object at the key it uploaded.
        let receipt = field(&single, "/result/verified/receipt")?;
        if receipt.as_str().map(|r| r.split('.').count()) != Some(3)
            || field(&single, "/result/verified/object/key")?.as_str() != Some(single_key.as_str())
        {
            return Err(format!("the single upload was verified with a receipt: {single}"));
        }

        let size = 12 * MIB + 5;
        let resumed = call(
            browser,
            "multipartResume",
            vec![json!(size), json!("SHA256")],
        )
        .await?;
        let big_key = landed(store, &resumed, &pattern(size), "resumed multipart upload").await?;
        check_progress(&resumed, size, "resumed multipart upload")?;
        // The resuming client skips the parts S3 lists with their ETag (the dev store lists
        // them); a store that lists none (s3s-fs 0.14 on its own) makes it send part 1 again.
        let expect = if resumed["heldWithEtag"] == 1 {
            json!({"cancelled": true, "first": [1], "held": 1, "resumed": [2, 3], "partCount": 3})
        } else {
            json!({"cancelled": true, "first": [1], "held": 1, "resumed": [1, 2, 3], "partCount": 3})
        };
        for name in ["cancelled", "first", "held", "resumed", "partCount"] {
            if resumed[name] != expect[name] {
                return Err(format!(
                    "cancel after part 1, resume sends 2 and 3 only: {name} = {}",
                    resumed[name]
                ));
            }
        }
        if field(&resumed, "/result/method")? != "multipart" {
            return Err(format!("{resumed}"));
        }
        // The broker verified the assembled object when it completed it: its receipt.
        let receipt = field(&resumed, "/result/verified/receipt")?;
        if receipt.as_str().map(|r| r.split('.').count()) != Some(3)
            || field(&resumed, "/result/verified/object/key")?.as_str() != Some(big_key.as_str())
        {
            return Err(format!("the multipart upload came with a receipt: {resumed}"));
        }

        let dropped = call(browser, "abortUpload", vec![json!(6 * MIB)]).await?;
        // After part 1 landed and the abort: S3 knows the upload no more (AWS, s3s 0.17:
        // 404 no_such_upload) or holds none of its parts (the embedded s3s-fs 0.14).
        let gone = dropped["after"] == "no_such_upload" || dropped["after"] == "listed 0 parts";
        if dropped["cancelled"] != true || !gone {
            return Err(format!(
                "an aborted upload's parts are gone from S3: {dropped}"
            ));
        }

        let listing = call(browser, "listing", vec![]).await?;
        let names: Vec<&str> = field(&listing, "/root/files")?
            .as_array()
            .ok_or("files")?
            .iter()
            .filter_map(|f| f["name"].as_str())
            .collect();
        let mut names = names.clone();
        names.sort_unstable();
        if names != ["big.bin", "hello single.bin"] {
            return Err(format!("the listing shows {names:?}: {listing}"));
        }
        let mut keys = store.keys().await?;
        keys.sort();
        let mut expected = vec![single_key, big_key];
        expected.sort();
        if keys != expected {
            return Err(format!("the store holds {keys:?}, expected {expected:?}"));
        }
        Ok(())
    })
    .await
}

#[test]
fn the_js_client_uploads_resumes_aborts_and_lists() {
    let files = harness_files().unwrap_or_else(|e| panic!("{e}"));
    run_pages_against_dev(files, SCENARIO_TIMEOUT, async |site, driver, dir| {
        let page = format!("{}/index.html?{}", site.origin, site.query);
        scenario(&page, &site.store, driver, dir).await
    });
}

/// The names `source` exports: `export function|class|const NAME`, or `declare`d in a `.d.ts`.
fn exported(source: &str) -> Vec<String> {
    let mut names: Vec<String> = source
        .lines()
        .filter_map(|line| line.strip_prefix("export "))
        .filter_map(|rest| {
            let rest = rest.strip_prefix("declare ").unwrap_or(rest);
            let rest = rest.strip_prefix("async ").unwrap_or(rest);
            let (kind, rest) = rest.split_once(' ')?;
            matches!(kind, "function" | "class" | "const")
                .then(|| {
                    rest.split(|c: char| !c.is_alphanumeric() && c != '_')
                        .next()
                })
                .flatten()
                .map(str::to_owned)
        })
        .collect();
    names.sort();
    names
}

#[test]
fn the_types_declare_exactly_what_the_module_exports() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("clients/js");
    let read = |name: &str| std::fs::read_to_string(root.join(name)).expect(name);
    let module = exported(&read("s3-broker.js"));
    assert!(module.contains(&"S3BrokerClient".to_owned()), "{module:?}");
    assert_eq!(module, exported(&read("s3-broker.d.ts")));
}
