//! `receipt verify`: checks an upload receipt offline, as an application backend would, and
//! prints its claims.

use super::args::ReceiptVerifyArgs;
use super::{CliError, to_pretty_json};
use crate::receipt::verify_receipt;
use std::io::Read;
use std::time::Duration;

/// The largest JWK Set read.
const MAX_JWKS: u64 = 1 << 20;

/// Verifies the receipt and returns its claims as pretty JSON.
pub(super) fn verify(args: ReceiptVerifyArgs) -> Result<String, CliError> {
    let receipt = if args.receipt == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text)?;
        text
    } else {
        args.receipt
    };
    let jwks = read_jwks(&args.jwks)?;
    let claims = verify_receipt(receipt.trim(), &jwks, args.issuer.as_deref())
        .map_err(|e| CliError::Receipt(e.to_string()))?;
    Ok(to_pretty_json(&claims))
}

/// The JWK Set at `source`: fetched (10 s at most) when it is an http(s) URL, else read
/// from the file.
fn read_jwks(source: &str) -> Result<String, CliError> {
    if !(source.starts_with("http://") || source.starts_with("https://")) {
        let mut text = String::new();
        std::fs::File::open(source)?
            .take(MAX_JWKS)
            .read_to_string(&mut text)?;
        return Ok(text);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let fetch = async {
            let response = reqwest::Client::new()
                .get(source)
                .send()
                .await?
                .error_for_status()?;
            response.text().await
        };
        tokio::time::timeout(Duration::from_secs(10), fetch)
            .await
            .map_err(|_| CliError::Receipt(format!("{source}: no answer within 10 s")))?
            .map_err(|e| CliError::Receipt(format!("{source}: {e}")))
    })
}
