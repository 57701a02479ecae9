//! Credentials, region and endpoint from the standard AWS environment variables and shared
//! profile files, through aws-config's providers. Only the CLI reads the environment.
//!
//! See <https://docs.aws.amazon.com/sdkref/latest/guide/settings-reference.html>

use super::CliError;
use super::args::TargetArgs;
use crate::domain::{
    AccessKeyId, AddressingStyle, Credentials, Endpoint, Region, SecretAccessKey, SessionToken,
};
use crate::sigv4::Signer;
use aws_config::environment::credentials::EnvironmentVariableCredentialsProvider;
use aws_config::environment::region::EnvironmentVariableRegionProvider;
use aws_config::meta::credentials::CredentialsProviderChain;
use aws_config::meta::region::RegionProviderChain;
use aws_config::profile::{ProfileFileCredentialsProvider, ProfileFileRegionProvider};
use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::provider::error::CredentialsError;
use chrono::{DateTime, Utc};

/// What a CLI command signs with.
pub(super) struct SigningSetup {
    /// The credentials.
    pub credentials: Credentials,
    /// A signer for the resolved region and endpoint.
    pub signer: Signer,
    /// The signing time: `--at` or now.
    pub at: DateTime<Utc>,
}

/// Resolves everything a command needs to sign, flags first, then environment, then profile.
pub(super) fn signing_setup(target: &TargetArgs) -> Result<SigningSetup, CliError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (credentials, env_region) = runtime.block_on(async {
        let credentials = load_credentials().await;
        let region = RegionProviderChain::first_try(EnvironmentVariableRegionProvider::new())
            .or_else(ProfileFileRegionProvider::builder().build())
            .region()
            .await;
        (credentials, region)
    });
    let region = match (&target.region, env_region) {
        (Some(region), _) => region.clone(),
        (None, Some(region)) => Region::new(region.as_ref())?,
        (None, None) => Region::new("us-east-1")?,
    };
    let endpoint = match &target.endpoint {
        Some(endpoint) => endpoint.clone(),
        None => endpoint_from_env()?,
    };
    let addressing = if target.path_style {
        AddressingStyle::Path
    } else {
        AddressingStyle::VirtualHosted
    };
    Ok(SigningSetup {
        credentials: credentials?,
        signer: Signer::new(region, endpoint, addressing),
        at: target.at.unwrap_or_else(Utc::now),
    })
}

async fn load_credentials() -> Result<Credentials, CliError> {
    let chain = CredentialsProviderChain::first_try(
        "Environment",
        EnvironmentVariableCredentialsProvider::new(),
    )
    .or_else("Profile", ProfileFileCredentialsProvider::builder().build());
    let found = chain.provide_credentials().await.map_err(|e| match e {
        CredentialsError::CredentialsNotLoaded(_) => CliError::NoCredentials,
        other => CliError::CredentialsProvider(other.to_string()),
    })?;
    Ok(Credentials {
        access_key_id: AccessKeyId::new(found.access_key_id())?,
        secret_access_key: SecretAccessKey::new(found.secret_access_key())?,
        session_token: found.session_token().map(SessionToken::new).transpose()?,
        expires_at: found.expiry().map(DateTime::<Utc>::from),
    })
}

/// `AWS_ENDPOINT_URL_S3`, then `AWS_ENDPOINT_URL`, else the regional AWS endpoint.
fn endpoint_from_env() -> Result<Endpoint, CliError> {
    for var in ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"] {
        if let Ok(value) = std::env::var(var)
            && !value.trim().is_empty()
        {
            return Ok(Endpoint::parse(value.trim())?);
        }
    }
    Ok(Endpoint::AwsRegional)
}
