//! The mobile-style example (examples/mobile/, Java with only the JDK's HttpClient), compiled
//! with `javac` and run with `java` against `s3-broker dev`: it gets a PUT grant, uploads a
//! file straight to the store and prints a download link, which serves exactly the bytes
//! sent; a type the profile refuses ends with exit 1 and the broker's problem code.
//!
//! Needs Debian's `openjdk-17-jdk-headless` (`scripts/testbed/install.sh jdk`); without it the
//! test fails, it never skips.

use s3_broker::config::sha256_hex;
use s3_broker::dev::DevEnvironment;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const EXAMPLE: &str = "S3BrokerExample";

/// `name` on PATH, or a failure naming the install step.
fn tool(name: &str) -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(name))
                .find(|candidate| candidate.is_file())
        })
        .unwrap_or_else(|| {
            panic!(
                "this test needs {name}: install a JDK with `scripts/testbed/install.sh jdk` \
                 (apt-get install openjdk-17-jdk-headless)"
            )
        })
}

/// Runs `command` to its end within `limit` (killed after it), capturing its output.
fn run(mut command: Command, limit: Duration, what: &str) -> Output {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{what}: no end within {limit:?}");
            }
        }
    }
    child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("{what}: {e}"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Compiles the example into `classes`.
fn compile(classes: &Path) {
    let source =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("examples/mobile/{EXAMPLE}.java"));
    let mut javac = Command::new(tool("javac"));
    javac
        .arg("-Xlint:all")
        .arg("-Werror")
        .arg("-d")
        .arg(classes)
        .arg(&source);
    let out = run(javac, Duration::from_secs(120), "javac");
    assert!(
        out.status.success(),
        "javac {}: {}{}",
        source.display(),
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// Runs the example on `file` as `token` against `broker`.
fn example(classes: &Path, broker: &str, token: &str, file: &Path, content_type: &str) -> Output {
    let mut java = Command::new(tool("java"));
    java.arg("-cp")
        .arg(classes)
        .arg(EXAMPLE)
        .arg(file)
        .arg(content_type)
        .env("S3_BROKER_URL", broker)
        .env("S3_BROKER_TOKEN", token);
    run(java, Duration::from_secs(60), "java S3BrokerExample")
}

/// The value of `name=` in the example's output.
fn printed<'a>(stdout: &'a str, name: &str) -> &'a str {
    stdout
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name}= in {stdout:?}"))
}

#[test]
fn the_java_example_uploads_and_gets_a_download_link() {
    let temp = tempfile::tempdir().expect("a temporary directory");
    let classes = temp.path().join("classes");
    compile(&classes);
    let file = temp.path().join("from the phone.txt");
    let bytes: Vec<u8> = "sent by java.net.http: é ü ✓\n"
        .repeat(300)
        .into_bytes()
        .into_iter()
        .chain((0..=255u8).cycle().take(5000))
        .collect();
    std::fs::write(&file, &bytes).expect("the file to upload");
    let dir = temp.path().join("dev");
    actix_web::rt::System::new().block_on(async move {
        let env = DevEnvironment::start(&dir, 0, 0)
            .await
            .expect("the dev environment");
        let server = env.server.handle();
        actix_web::rt::spawn(env.server);
        let (broker, token) = (env.url.clone(), env.token.clone());
        let (ok, refused) = actix_web::rt::task::spawn_blocking(move || {
            (
                example(&classes, &broker, &token, &file, "text/plain"),
                example(&classes, &broker, &token, &file, "text/html"),
            )
        })
        .await
        .expect("the example runs");

        let stdout = text(&ok.stdout);
        assert!(ok.status.success(), "{stdout}{}", text(&ok.stderr));
        let key = printed(&stdout, "key");
        assert!(
            key.starts_with("users/dev/") && key.ends_with("-from the phone.txt"),
            "{key}"
        );
        let download = reqwest::get(printed(&stdout, "download_url"))
            .await
            .expect("the download link answers");
        assert_eq!(download.status(), 200);
        let got = download.bytes().await.expect("the downloaded bytes");
        assert_eq!(sha256_hex(&got), sha256_hex(&bytes), "the bytes sent");

        assert_eq!(refused.status.code(), Some(1), "{}", text(&refused.stderr));
        let stderr = text(&refused.stderr);
        assert!(
            stderr.contains("400 content_type_not_allowed"),
            "the broker's code reaches the user: {stderr}"
        );
        server.stop(false).await;
        env.store.stop();
    });
}
