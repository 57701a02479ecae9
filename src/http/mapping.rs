//! Every lower layer's error mapped to an [`ApiError`], in one place.

use super::ApiError;
use crate::auth::AuthError;
use crate::multipart::{
    HeldPartError, PartNumberError, PartSigningError, ReceiptError, TicketError,
};
use crate::policy::PolicyError;
use crate::s3::CredentialsUnavailable;
use crate::s3::S3Error;
use crate::sigv4::SigningError;
use actix_web::http::StatusCode;

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        if matches!(err, AuthError::MissingCredentials) {
            return ApiError::missing_credentials();
        }
        // The reason is log-safe: it never contains the token or key.
        ApiError::new(StatusCode::UNAUTHORIZED, err.code(), err.to_string())
            .with_challenge(err.www_authenticate())
    }
}

impl From<PolicyError> for ApiError {
    fn from(err: PolicyError) -> Self {
        let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::BAD_REQUEST);
        let api = ApiError::new(status, err.code(), err.to_string());
        if let PolicyError::InsufficientScope(_) = err {
            api.with_challenge("Bearer realm=\"s3-broker\", error=\"insufficient_scope\"")
        } else {
            api
        }
    }
}

impl From<CredentialsUnavailable> for ApiError {
    fn from(err: CredentialsUnavailable) -> Self {
        tracing::error!(error = %err, "no usable signing credentials");
        ApiError::unavailable(
            "credentials_unavailable",
            "the broker has no valid credentials to sign with right now",
            5,
        )
    }
}

impl From<SigningError> for ApiError {
    fn from(err: SigningError) -> Self {
        match err {
            SigningError::CredentialsExpired(_) => ApiError::unavailable(
                "credentials_unavailable",
                "the broker's credentials have expired; refusing to sign",
                5,
            ),
            other => {
                // Inputs were validated by the policy layer, so this is a bug: log it.
                tracing::error!(error = %other, "signing failed on validated input");
                ApiError::internal()
            }
        }
    }
}

impl From<S3Error> for ApiError {
    fn from(err: S3Error) -> Self {
        tracing::warn!(error = %err, "S3 call failed");
        match err {
            S3Error::Unavailable(_) => ApiError::unavailable(
                "s3_unavailable",
                "S3 did not answer in time or failed; retry later",
                5,
            ),
            S3Error::Refused(_) => ApiError::new(
                StatusCode::BAD_GATEWAY,
                "s3_refused",
                "S3 refused the broker's request (check the bucket and the broker's permissions)",
            ),
            S3Error::NoSuchUpload => ApiError::new(
                StatusCode::NOT_FOUND,
                "no_such_upload",
                "S3 has no such multipart upload: it was completed, aborted or never created",
            ),
            S3Error::PreconditionFailed => ApiError::new(
                StatusCode::PRECONDITION_FAILED,
                "object_exists",
                "an object with this key already exists and the profile forbids overwriting it",
            ),
            S3Error::Conflict => ApiError::new(
                StatusCode::CONFLICT,
                "write_conflict",
                "another write to this key is in progress; retry",
            ),
            S3Error::PartsRejected(code) => ApiError::new(
                StatusCode::BAD_REQUEST,
                "parts_rejected",
                format!(
                    "S3 refused the parts ({code}): check every part's number and ETag, and that \
                     all parts but the last are at least 5 MiB"
                ),
            ),
        }
    }
}

impl From<TicketError> for ApiError {
    fn from(err: TicketError) -> Self {
        let code = match err {
            TicketError::Invalid => "invalid_ticket",
            TicketError::Expired => "ticket_expired",
        };
        ApiError::new(StatusCode::FORBIDDEN, code, err.to_string())
    }
}

impl From<HeldPartError> for ApiError {
    fn from(err: HeldPartError) -> Self {
        ApiError::bad_request("parts_mismatch", err.to_string())
    }
}

impl From<PartNumberError> for ApiError {
    fn from(err: PartNumberError) -> Self {
        ApiError::bad_request("invalid_part_numbers", err.to_string())
    }
}

impl From<ReceiptError> for ApiError {
    fn from(err: ReceiptError) -> Self {
        match err {
            ReceiptError::PartNumber(err) => err.into(),
            other => ApiError::bad_request("parts_mismatch", other.to_string()),
        }
    }
}

impl From<PartSigningError> for ApiError {
    fn from(err: PartSigningError) -> Self {
        match err {
            PartSigningError::Signing(err) => err.into(),
            other => {
                // The part numbers and checksums were checked before signing: a bug.
                tracing::error!(error = %other, "part URLs failed on checked input");
                ApiError::internal()
            }
        }
    }
}
