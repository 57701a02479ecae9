//! The command line (its commands are shown in `README.md`): `presign`, `post-policy`, `explain` and `doctor`.
//!
//! Parsing lives in [`args`]; each command has its own file; every failure becomes a
//! [`CliError`] printed as one line, with exit status 2 for usage errors and 1 otherwise
//! (`doctor` prints its report as it goes, and exits with 1 when a check failed).

mod args;
mod aws_env;
mod doctor;
mod error;
mod explain;
mod html_form;
mod post_policy_cmd;
mod presign_cmd;
mod receipt_cmd;
mod revoke_cmd;
mod serve_cmd;
mod token_cmd;

pub use args::{Cli, Command};
pub use error::CliError;
pub use explain::{Explanation, explain_url};
pub use html_form::render_html_form;

use clap::Parser;
use std::io::Write;
use std::process::ExitCode;

/// Parses the process arguments, runs the command and returns the exit status.
pub fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return report_clap_error(&err),
    };
    if let Command::Doctor(args) = cli.command {
        return doctor::main(args);
    }
    if let Command::Explain(args) = cli.command {
        // The explanation is printed either way; the status says whether S3 would take it now.
        return match explain::run(args) {
            Ok((output, current)) => {
                let _ = std::io::stdout().lock().write_all(output.as_bytes());
                if current {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(1)
                }
            }
            Err(err) => {
                let _ = writeln!(std::io::stderr(), "error: {err}");
                ExitCode::from(2)
            }
        };
    }
    match execute(cli) {
        Ok(output) => {
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (`| head`) is not an error worth a panic.
            let _ = stdout.write_all(output.as_bytes());
            ExitCode::SUCCESS
        }
        Err(err) => {
            // stderr closed or full is no reason to panic (exit 101) instead of exiting 1.
            let _ = writeln!(std::io::stderr(), "error: {err}");
            ExitCode::from(err.exit_status())
        }
    }
}

/// Runs a parsed command and returns what it prints on stdout (`doctor`: its report,
/// whatever the outcome of its checks).
pub fn execute(cli: Cli) -> Result<String, CliError> {
    match cli.command {
        Command::Presign(args) => presign_cmd::run(args),
        Command::PostPolicy(args) => post_policy_cmd::run(args),
        Command::Explain(args) => explain::run(args).map(|(output, _)| output),
        Command::Serve(args) => serve_cmd::run(args),
        Command::Dev(args) => {
            crate::dev::run(args.dir, args.port, args.store_port, args.cors_origins)
                .map(|()| String::new())
                .map_err(|e| CliError::Startup(e.to_string()))
        }
        Command::Token(args) => token_cmd::run(args),
        Command::Doctor(args) => doctor::run(args),
        Command::Revoke(args) => revoke_cmd::run(args),
        Command::Receipt(args::ReceiptCommand::Verify(args)) => receipt_cmd::verify(args),
    }
}

/// Pretty JSON in the value's own field order, with a trailing newline.
fn to_pretty_json(value: &impl serde::Serialize) -> String {
    // Serialising plain data types into a string cannot fail.
    let mut json = serde_json::to_string_pretty(value).unwrap_or_default();
    json.push('\n');
    json
}

/// Help and version go to stdout as clap renders them; real errors become one line.
fn report_clap_error(err: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = err.print();
        return if err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        };
    }
    let _ = writeln!(std::io::stderr(), "{}", one_line(&err.render().to_string()));
    ExitCode::from(2)
}

/// Joins clap's multi-line message (up to its usage block) into one line.
fn one_line(rendered: &str) -> String {
    let words: Vec<&str> = rendered
        .lines()
        .take_while(|l| !l.starts_with("Usage:"))
        .filter(|l| !l.starts_with("For more information"))
        .flat_map(str::split_whitespace)
        .collect();
    let mut line = words.join(" ");
    if !line.starts_with("error:") {
        line.insert_str(0, "error: ");
    }
    line.push_str(" (try --help)");
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_errors_become_one_line() {
        let err = Cli::try_parse_from(["s3-broker", "presign", "get"]).unwrap_err();
        let line = one_line(&err.render().to_string());
        assert!(!line.contains('\n'), "{line}");
        assert!(line.starts_with("error: "), "{line}");
        assert!(line.contains("--bucket"), "{line}");
    }
}
