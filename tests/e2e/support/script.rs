//! Runs a `scripts/testbed/start-*.sh` script and reads what it reports.

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Where the test-bed scripts live.
pub(crate) const SCRIPTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/testbed");

/// What a start script printed: its `KEY=VALUE` lines.
#[derive(Debug)]
pub(crate) struct Started {
    /// The `KEY=VALUE` lines (ENDPOINT, ACCESS_KEY, SECRET_KEY, REGION, READY_MS, ...).
    pub env: HashMap<String, String>,
    /// Wall time of the whole script.
    pub elapsed: Duration,
}

impl Started {
    /// A reported value, or an error naming the missing key.
    pub(crate) fn get(&self, key: &str) -> Result<&str, String> {
        self.env
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| format!("the start script did not report {key}: {:?}", self.env))
    }
}

/// Runs `script PORT DATA_DIR` with the test process as the watchdog's parent, so whatever
/// it starts is stopped when this process exits, however it exits.
///
/// The script's output goes to files (not pipes), so daemons that outlive the script cannot
/// keep this call waiting.
pub(crate) fn run_start_script(
    script: &str,
    port: u16,
    data_dir: &Path,
    timeout: Duration,
) -> Result<Started, String> {
    let out_path = data_dir.join("start.stdout");
    let err_path = data_dir.join("start.stderr");
    let create = |p: &Path| File::create(p).map_err(|e| format!("cannot create {p:?}: {e}"));
    let keep_data = std::env::var_os("E2E_KEEP_DATA").is_some();
    let started = Instant::now();
    let mut child = Command::new("bash")
        .arg(format!("{SCRIPTS}/{script}"))
        .arg(port.to_string())
        .arg(data_dir)
        .env("WATCH_PID", std::process::id().to_string())
        .env("TESTBED_REMOVE_DATA_DIR", if keep_data { "0" } else { "1" })
        .stdin(Stdio::null())
        .stdout(create(&out_path)?)
        .stderr(create(&err_path)?)
        .spawn()
        .map_err(|e| format!("cannot run {SCRIPTS}/{script}: {e}"))?;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > timeout => {
                let _ = child.kill();
                let _ = child.wait();
                stop(data_dir);
                return Err(format!(
                    "{script} did not finish within {timeout:?}; its stderr:\n{}",
                    tail(&err_path, 40)
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("waiting for {script}: {e}")),
        }
    };
    let elapsed = started.elapsed();
    if !status.success() {
        return Err(format!(
            "{script} {port} {} failed ({status}); its stderr:\n{}",
            data_dir.display(),
            tail(&err_path, 40)
        ));
    }
    let stdout = std::fs::read_to_string(&out_path).map_err(|e| e.to_string())?;
    let env = stdout
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    Ok(Started { env, elapsed })
}

/// Stops what a start script left running in `data_dir` (best effort).
pub(crate) fn stop(data_dir: &Path) {
    let _ = Command::new("bash")
        .arg(format!("{SCRIPTS}/stop.sh"))
        .arg(data_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// The last `n` lines of a file, for error messages.
fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
