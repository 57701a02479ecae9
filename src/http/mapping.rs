//! Every lower layer's error mapped to a [`Code`] and an [`ApiError`], in one place: the lower
//! layers say what went wrong, this file says how the API answers it.

use super::{ApiError, Code};
use crate::auth::AuthError;
use crate::multipart::{
    HeldPartError, PartNumberError, PartSigningError, ReceiptError, TicketError,
};
use crate::policy::PolicyError;
use crate::s3::CredentialsUnavailable;
use crate::s3::S3Error;
use crate::sigv4::SigningError;
use actix_web::error::BlockingError;

impl From<&AuthError> for Code {
    fn from(err: &AuthError) -> Self {
        match err {
            AuthError::MissingCredentials => Code::MissingCredentials,
            AuthError::UnsupportedCredentials(_) => Code::UnsupportedCredentials,
            AuthError::InvalidToken(_) => Code::InvalidToken,
            AuthError::InvalidApiKey => Code::InvalidApiKey,
            AuthError::AmbiguousCredentials => Code::AmbiguousCredentials,
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        let code = Code::from(&err);
        if code == Code::MissingCredentials {
            return ApiError::new(
                code,
                "send 'Authorization: Bearer <token>' or 'X-Api-Key: <key>'",
            );
        }
        // The reason is log-safe: it never contains the token or key.
        ApiError::new(code, err.to_string())
    }
}

impl From<&PolicyError> for Code {
    fn from(err: &PolicyError) -> Self {
        match err {
            PolicyError::UnknownProfile(_) => Code::UnknownProfile,
            PolicyError::InsufficientScope(_) => Code::InsufficientScope,
            PolicyError::InvalidFilename(_) => Code::InvalidFilename,
            PolicyError::InvalidPath(_) => Code::InvalidPath,
            PolicyError::PathNotAllowed(_) => Code::PathNotAllowed,
            PolicyError::InvalidContentType(_) => Code::InvalidContentType,
            PolicyError::ContentTypeNotAllowed { .. } => Code::ContentTypeNotAllowed,
            PolicyError::ContentTypeRequired(_) => Code::ContentTypeRequired,
            PolicyError::SizeOutOfRange { .. } => Code::SizeOutOfRange,
            PolicyError::MethodNotAllowed(_) => Code::UploadMethodNotAllowed,
            PolicyError::MethodNotSupported(_) => Code::MethodNotSupported,
            PolicyError::MetadataNotAllowed { .. } => Code::MetadataNotAllowed,
            PolicyError::InvalidMetadata(_) => Code::InvalidMetadata,
            PolicyError::ChecksumRequired(_) => Code::ChecksumRequired,
            PolicyError::InvalidChecksumAlgorithm => Code::InvalidChecksumAlgorithm,
            PolicyError::InvalidChecksum(_) => Code::InvalidChecksum,
            PolicyError::ChecksumNotSupported(_) => Code::ChecksumNotSupported,
            PolicyError::SseCustomerKeyRequired(_) => Code::SseCustomerKeyRequired,
            PolicyError::SseCustomerKeyNotAllowed(_) => Code::SseCustomerKeyNotAllowed,
            PolicyError::InvalidSseCustomerKeyMd5 => Code::InvalidSseCustomerKeyMd5,
            PolicyError::InvalidKey(_) => Code::InvalidKey,
            PolicyError::InvalidPrefix(_) => Code::InvalidPrefix,
            PolicyError::DispositionNotAllowed(_) => Code::DispositionNotAllowed,
            PolicyError::MultipartRequired(_) => Code::MultipartRequired,
            PolicyError::InvalidPartPlan(_) => Code::InvalidPartSize,
            PolicyError::NotOwner => Code::NotOwner,
            PolicyError::RedirectNotAllowed(_) => Code::RedirectNotAllowed,
        }
    }
}

impl From<PolicyError> for ApiError {
    fn from(err: PolicyError) -> Self {
        ApiError::new(Code::from(&err), err.to_string())
    }
}

impl From<CredentialsUnavailable> for ApiError {
    fn from(err: CredentialsUnavailable) -> Self {
        // The source logs each failed provider call once; requests refused during its backoff
        // are counted in the access log and metrics, not logged one by one.
        tracing::debug!(error = %err, "no usable signing credentials");
        ApiError::new(
            Code::CredentialsUnavailable,
            "the broker has no valid credentials to sign with right now",
        )
    }
}

impl From<SigningError> for ApiError {
    fn from(err: SigningError) -> Self {
        match err {
            SigningError::CredentialsExpired(_) => ApiError::new(
                Code::CredentialsUnavailable,
                "the broker's credentials have expired; refusing to sign",
            ),
            other => {
                // Inputs were validated by the policy layer, so this is a bug: log it.
                tracing::error!(error = %other, "signing failed on validated input");
                ApiError::internal()
            }
        }
    }
}

impl From<PartSigningError> for ApiError {
    fn from(err: PartSigningError) -> Self {
        match err {
            PartSigningError::Signing(e) => ApiError::from(e),
            other => {
                // The parts were checked against the plan first, so this is a bug: log it.
                tracing::error!(error = %other, "part URLs failed");
                ApiError::internal()
            }
        }
    }
}

/// A task on actix's blocking pool that panicked or was cancelled.
impl From<BlockingError> for ApiError {
    fn from(err: BlockingError) -> Self {
        tracing::error!(error = %err, "a blocking task failed");
        ApiError::internal()
    }
}

impl From<S3Error> for ApiError {
    fn from(err: S3Error) -> Self {
        // Credential failures log themselves (`From<CredentialsUnavailable>`).
        let failure = (!matches!(err, S3Error::Credentials(_))).then(|| err.to_string());
        let api = match err {
            // No call was made: the cause is the broker's credentials, not S3.
            S3Error::Credentials(err) => ApiError::from(err),
            S3Error::Unavailable(_) => ApiError::new(
                Code::S3Unavailable,
                "S3 did not answer in time or failed; retry later",
            ),
            S3Error::Refused(_) => ApiError::new(
                Code::S3Refused,
                "S3 refused the broker's request (check the bucket and the broker's permissions)",
            ),
            S3Error::NoSuchUpload => ApiError::new(
                Code::NoSuchUpload,
                "S3 has no such multipart upload: it was completed, aborted or never created",
            ),
            S3Error::NoSuchKey => ApiError::new(
                Code::ObjectNotFound,
                "the key holds no object: nothing to download",
            ),
            S3Error::PreconditionFailed => ApiError::new(
                Code::ObjectExists,
                "an object with this key already exists and the profile forbids overwriting it",
            ),
            S3Error::Conflict => ApiError::new(
                Code::WriteConflict,
                "another write to this key is in progress; retry",
            ),
            S3Error::PartsRejected(code) => ApiError::new(
                Code::PartsRejected,
                format!(
                    "S3 refused the parts ({code}): check every part's number and ETag, and that \
                     all parts but the last are at least 5 MiB"
                ),
            ),
        };
        if let Some(error) = failure {
            if api.code().status().is_client_error() {
                // The caller's doing (a finished upload, an existing key, wrong parts): its
                // code says it all, and S3's error text would only repeat it.
                tracing::info!(
                    code = api.code().as_str(),
                    "S3 refused the caller's request"
                );
            } else {
                tracing::warn!(code = api.code().as_str(), %error, "S3 call failed");
            }
        }
        api
    }
}

impl From<TicketError> for ApiError {
    fn from(err: TicketError) -> Self {
        let code = match err {
            TicketError::Invalid => Code::InvalidTicket,
            TicketError::Expired => Code::TicketExpired,
        };
        ApiError::new(code, err.to_string())
    }
}

impl From<HeldPartError> for ApiError {
    fn from(err: HeldPartError) -> Self {
        ApiError::new(Code::PartsMismatch, err.to_string())
    }
}

impl From<PartNumberError> for ApiError {
    fn from(err: PartNumberError) -> Self {
        ApiError::new(Code::InvalidPartNumbers, err.to_string())
    }
}

impl From<ReceiptError> for ApiError {
    fn from(err: ReceiptError) -> Self {
        match err {
            ReceiptError::PartNumber(err) => err.into(),
            other => ApiError::new(Code::PartsMismatch, other.to_string()),
        }
    }
}

impl From<crate::grants::BuildError> for ApiError {
    fn from(err: crate::grants::BuildError) -> Self {
        // Inputs were validated by the policy layer, so this is a bug: log it.
        tracing::error!(error = %err, "a decision did not become a signable request");
        ApiError::internal()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::TokenRejection;
    use crate::domain::Scope;
    use actix_web::ResponseError;
    use actix_web::http::header::WWW_AUTHENTICATE;

    fn challenge(err: &ApiError) -> Option<String> {
        err.error_response()
            .headers()
            .get(WWW_AUTHENTICATE)
            .map(|v| v.to_str().unwrap().to_owned())
    }

    #[test]
    fn refused_credentials_ask_for_new_ones() {
        for (err, code) in [
            (
                AuthError::InvalidToken(TokenRejection::Expired),
                Code::InvalidToken,
            ),
            (AuthError::InvalidApiKey, Code::InvalidApiKey),
        ] {
            let api = ApiError::from(err);
            assert_eq!(api.code(), code);
            assert_eq!(api.error_response().status(), 401);
            assert!(
                challenge(&api)
                    .unwrap()
                    .contains(r#"error="invalid_token""#)
            );
        }
        let missing = ApiError::from(AuthError::MissingCredentials);
        assert_eq!(missing.code(), Code::MissingCredentials);
        assert!(!challenge(&missing).unwrap().contains("error="));
        let unsupported = ApiError::from(AuthError::UnsupportedCredentials("two credentials"));
        assert!(
            challenge(&unsupported)
                .unwrap()
                .contains(r#"error="invalid_request""#)
        );
    }

    #[test]
    fn policy_refusals_keep_their_status() {
        let cases = [
            (PolicyError::NotOwner, Code::NotOwner, 403),
            (
                PolicyError::UnknownProfile("x".into()),
                Code::UnknownProfile,
                404,
            ),
            (PolicyError::InvalidPath("x".into()), Code::InvalidPath, 400),
            (
                PolicyError::MethodNotAllowed("no PUT".into()),
                Code::UploadMethodNotAllowed,
                400,
            ),
            (
                PolicyError::InvalidPartPlan("too many parts".into()),
                Code::InvalidPartSize,
                400,
            ),
        ];
        for (err, code, status) in cases {
            let api = ApiError::from(err);
            assert_eq!(api.code(), code);
            assert_eq!(api.error_response().status(), status);
        }
        let scope = ApiError::from(PolicyError::InsufficientScope(Scope::Download));
        assert_eq!(scope.error_response().status(), 403);
        assert!(
            challenge(&scope)
                .unwrap()
                .contains(r#"error="insufficient_scope""#)
        );
    }

    #[test]
    fn tickets_and_s3_map_to_their_codes() {
        assert_eq!(
            ApiError::from(TicketError::Expired).code(),
            Code::TicketExpired
        );
        assert_eq!(
            ApiError::from(S3Error::PreconditionFailed).code(),
            Code::ObjectExists
        );
        let busy = ApiError::from(S3Error::Unavailable("timeout".into()));
        assert_eq!(busy.error_response().status(), 503);
        // No call made for want of credentials: the cause is named, not S3.
        let unusable = ApiError::from(S3Error::Credentials(CredentialsUnavailable::Provider(
            "no answer within 5 s".into(),
        )));
        assert_eq!(unusable.code(), Code::CredentialsUnavailable);
        assert_eq!(unusable.error_response().status(), 503);
    }
}
