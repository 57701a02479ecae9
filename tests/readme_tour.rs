//! The README's "60-second tour" runs as written: its `$ ` commands, read from README.md (so the
//! test follows the document), run in bash against the built `s3-broker dev` on free ports, in
//! a temporary directory, with the two `export` lines `dev` prints and the built binary first
//! on `PATH`. Every command must succeed, and every command whose output the README shows
//! without `...` must print exactly that. Needs `bash`, `curl` and `jq`
//! (`scripts/testbed/install.sh tour`); without them the test fails.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One command of the tour and the output the README shows for it.
#[derive(Debug)]
struct Step {
    command: String,
    output: Vec<String>,
}

/// The `$ ` commands (with their `\` continuation lines) of the README section `## 60-second
/// tour`, each with the lines shown after it up to the next command or the end of its block.
fn tour_steps(readme: &str) -> Vec<Step> {
    let section = readme
        .split("\n## ")
        .find(|s| s.starts_with("60-second tour"))
        .expect("README.md has a `## 60-second tour` section");
    let mut steps: Vec<Step> = Vec::new();
    let mut in_block = false;
    let mut continued = false;
    for line in section.lines() {
        if line.starts_with("```") {
            in_block = !in_block;
            continued = false;
            continue;
        }
        if !in_block {
            continue;
        }
        if continued {
            let step = steps.last_mut().expect("a command");
            step.command.push('\n');
            step.command.push_str(line);
            continued = line.ends_with('\\');
        } else if let Some(command) = line.strip_prefix("$ ") {
            steps.push(Step {
                command: command.to_owned(),
                output: Vec::new(),
            });
            continued = command.ends_with('\\');
        } else if let Some(step) = steps.last_mut() {
            step.output.push(line.to_owned());
        }
    }
    steps
}

/// Kills the dev process however the test ends.
struct Dev(Child);

impl Drop for Dev {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `s3-broker dev` on free ports in `dir`; returns it and its two `export` lines.
fn start_dev(bin: &Path, dir: &Path) -> (Dev, Vec<String>) {
    let mut child = Command::new(bin)
        .args(["dev", "--port", "0", "--store-port", "0"])
        .current_dir(dir)
        .env_remove("S3_BROKER__SERVER__CORS_ORIGINS")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("s3-broker dev starts");
    let stdout = child.stdout.take().expect("its stdout");
    let dev = Dev(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut exports = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while exports.len() < 2 {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx
            .recv_timeout(left)
            .expect("s3-broker dev prints its two export lines within 30 s");
        if line.starts_with("export S3_BROKER_") {
            exports.push(line);
        }
    }
    (dev, exports)
}

#[test]
fn the_readme_tour_runs_as_written() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let steps = tour_steps(&readme);
    assert!(
        steps.len() >= 6 && steps.iter().any(|s| s.command.contains("-X PUT")),
        "the tour has its upload step: {steps:#?}"
    );
    for tool in ["bash", "curl", "jq"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(found, "{tool} is needed: scripts/testbed/install.sh tour");
    }

    let temp = tempfile::tempdir().expect("a temporary directory");
    let bin = Path::new(env!("CARGO_BIN_EXE_s3-broker"));
    let (_dev, exports) = start_dev(bin, temp.path());

    // One shell for the whole tour (commands share variables), each command's output in a file.
    let mut script = String::from("set -euo pipefail\n");
    for line in &exports {
        script.push_str(line);
        script.push('\n');
    }
    for (i, step) in steps.iter().enumerate() {
        script.push_str(&format!(
            "echo \"step {i}\" >&2\n{{\n{}\n}} > out.{i}\n",
            step.command
        ));
    }
    let path = format!(
        "{}:{}",
        bin.parent().expect("the binary's directory").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut shell = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(temp.path())
        .env("PATH", path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bash runs");
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = shell.try_wait().expect("bash's status") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = shell.kill();
            panic!("the tour did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let done = shell.wait_with_output().expect("bash's output");
    let log = String::from_utf8_lossy(&done.stderr);
    let failed_at = log
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("step "))
        .and_then(|n| n.parse::<usize>().ok());
    assert!(
        status.success(),
        "the tour failed at {:?}:\n{log}",
        failed_at.map(|i| &steps[i].command)
    );
    for (i, step) in steps.iter().enumerate() {
        let shown = step.output.join("\n");
        if step.output.is_empty() || shown.contains("...") {
            continue;
        }
        let printed = std::fs::read_to_string(temp.path().join(format!("out.{i}")))
            .expect("the step's output");
        assert_eq!(
            printed.trim_end(),
            shown.trim_end(),
            "the README shows another output for `{}`",
            step.command
        );
    }
}

#[test]
fn tour_steps_reads_commands_continuations_and_outputs() {
    let readme = "# x\n\n## 60-second tour\n\ntext\n\n```text\n$ a \\\n    b\nout 1\nout 2\n$ c\n```\n\
                  \n```text\n$ d\n```\n\n## Next\n\n```text\n$ e\n```\n";
    let steps = tour_steps(readme);
    let commands: Vec<&str> = steps.iter().map(|s| s.command.as_str()).collect();
    assert_eq!(commands, ["a \\\n    b", "c", "d"]);
    assert_eq!(steps[0].output, ["out 1", "out 2"]);
    assert!(steps[1].output.is_empty());
}
