//! The mobile-style examples (examples/mobile/: Java and Kotlin, each with only the JDK's
//! HttpClient), compiled with `javac` and `kotlinc` and run with `java` against
//! `s3-broker dev`: each gets a PUT grant, uploads a file straight to the store and prints a
//! download link, which serves exactly the bytes sent; a type the profile refuses ends with
//! exit 1 and the broker's problem code.
//!
//! Needs Debian's `openjdk-17-jdk-headless` and `kotlin` (`scripts/testbed/install.sh jdk`);
//! without them the tests fail, they never skip.

use s3_broker::config::sha256_hex;
use s3_broker::dev::DevEnvironment;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const EXAMPLE: &str = "S3BrokerExample";

/// The two examples: the same client in Java and in Kotlin.
#[derive(Clone, Copy, Debug)]
enum Language {
    Java,
    Kotlin,
}

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
                "this test needs {name}: install it with `scripts/testbed/install.sh jdk` \
                 (apt-get install openjdk-17-jdk-headless kotlin)"
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

/// The example's source file.
fn source(language: Language) -> PathBuf {
    let file = match language {
        Language::Java => format!("{EXAMPLE}.java"),
        Language::Kotlin => format!("{EXAMPLE}.kt"),
    };
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/mobile")
        .join(file)
}

/// Compiles the example into `out` (a class directory for Java, a jar with the Kotlin
/// runtime for Kotlin), with every warning an error.
fn compile(language: Language, out: &Path) {
    let source = source(language);
    let mut compiler = match language {
        Language::Java => {
            let mut javac = Command::new(tool("javac"));
            javac.arg("-Xlint:all").arg("-Werror").arg("-d").arg(out);
            javac
        }
        Language::Kotlin => {
            let mut kotlinc = Command::new(tool("kotlinc"));
            kotlinc
                .arg("-Werror")
                .arg("-include-runtime")
                .arg("-d")
                .arg(out);
            kotlinc
        }
    };
    compiler.arg(&source);
    let out = run(compiler, Duration::from_secs(240), "the compiler");
    assert!(
        out.status.success(),
        "{language:?} {}: {}{}",
        source.display(),
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// Runs the compiled example `built` on `file` as `token` against `broker`.
fn example(
    language: Language,
    built: &Path,
    broker: &str,
    token: &str,
    file: &Path,
    content_type: &str,
) -> Output {
    let mut java = Command::new(tool("java"));
    match language {
        Language::Java => java.arg("-cp").arg(built).arg(EXAMPLE),
        Language::Kotlin => java.arg("-jar").arg(built),
    };
    java.arg(file)
        .arg(content_type)
        .env("S3_BROKER_URL", broker)
        .env("S3_BROKER_TOKEN", token);
    run(java, Duration::from_secs(60), "the example")
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
    uploads_and_gets_a_download_link(Language::Java);
}

#[test]
fn the_kotlin_example_uploads_and_gets_a_download_link() {
    uploads_and_gets_a_download_link(Language::Kotlin);
}

fn uploads_and_gets_a_download_link(language: Language) {
    let temp = tempfile::tempdir().expect("a temporary directory");
    let built = temp.path().join(match language {
        Language::Java => "classes",
        Language::Kotlin => "example.jar",
    });
    compile(language, &built);
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
                example(language, &built, &broker, &token, &file, "text/plain"),
                example(language, &built, &broker, &token, &file, "text/html"),
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
