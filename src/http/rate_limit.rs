//! The limits' side of HTTP: refusals as problems, the `RateLimit` and `RateLimit-Policy`
//! headers of the IETF httpapi draft ([draft-ietf-httpapi-ratelimit-headers]) on admitted and
//! refused requests, `Retry-After` ([RFC 9110 §10.2.3]) on 429 ([RFC 6585 §4]) and the client
//! address of the failed-authentication limit.
//!
//! [draft-ietf-httpapi-ratelimit-headers]: https://datatracker.ietf.org/doc/draft-ietf-httpapi-ratelimit-headers/
//! [RFC 9110 §10.2.3]: https://www.rfc-editor.org/rfc/rfc9110#section-10.2.3
//! [RFC 6585 §4]: https://www.rfc-editor.org/rfc/rfc6585#section-4

use super::{ApiError, Code};
use crate::limits::{QuotaKind, RateOutcome, Refusal};
use actix_web::dev::ServiceResponse;
use actix_web::http::header::{HeaderName, HeaderValue, RETRY_AFTER};
use actix_web::{HttpMessage, HttpRequest};
use chrono::Utc;
use std::net::IpAddr;

/// `RateLimit-Policy`: the policy's name, quota and window.
pub(crate) static RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
/// `RateLimit`: what is left of it and when it is full again.
pub(crate) static RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");

/// The rate state of an admitted request, kept in its extensions for [`add_rate_headers`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct AdmittedRate(pub &'static str, pub RateOutcome);

fn header(text: String) -> HeaderValue {
    HeaderValue::try_from(text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The two header values of `policy` in `outcome`: `"grants";q=10;w=60` and
/// `"grants";r=3;t=42` (Structured Field items, [RFC 9651]).
///
/// [RFC 9651]: https://www.rfc-editor.org/rfc/rfc9651
fn values(policy: &str, quota: u64, window: u64, remaining: u64, reset: u64) -> [HeaderValue; 2] {
    [
        item(policy, ("q", quota), ("w", window)),
        item(policy, ("r", remaining), ("t", reset)),
    ]
}

/// `"<policy>";<a>=<n>;<b>=<m>`, written with `itoa` rather than `format!`: an admitted
/// request under a rate pays for two of these on every answer.
fn item(policy: &str, (a, a_value): (&str, u64), (b, b_value): (&str, u64)) -> HeaderValue {
    let mut digits = itoa::Buffer::new();
    let mut text = String::with_capacity(policy.len() + 48);
    text.push('"');
    text.push_str(policy);
    text.push_str("\";");
    text.push_str(a);
    text.push('=');
    text.push_str(digits.format(a_value));
    text.push(';');
    text.push_str(b);
    text.push('=');
    text.push_str(digits.format(b_value));
    header(text)
}

fn rate_values(policy: &str, outcome: &RateOutcome) -> [HeaderValue; 2] {
    values(
        policy,
        u64::from(outcome.rate.requests.get()),
        u64::from(outcome.rate.window_secs.get()),
        u64::from(outcome.remaining),
        outcome.reset_secs,
    )
}

/// Writes the `RateLimit` headers of an admitted request's class on its answer, unless the
/// answer has them already (a refusal). Called by the request middleware (`Observe`) on every
/// answer.
pub fn add_rate_headers<B>(res: &mut ServiceResponse<B>) {
    let admitted = res.request().extensions().get::<AdmittedRate>().copied();
    if let Some(AdmittedRate(policy, outcome)) = admitted
        && !res.headers().contains_key(&RATELIMIT)
    {
        let [policy_value, state] = rate_values(policy, &outcome);
        let headers = res.headers_mut();
        headers.insert(RATELIMIT_POLICY.clone(), policy_value);
        headers.insert(RATELIMIT.clone(), state);
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::RateLimited(policy, outcome) => {
                let wait = outcome.retry_after_secs.unwrap_or(1);
                let [policy_value, state] = rate_values(policy, &outcome);
                ApiError::new(
                    Code::RateLimited,
                    format!("too many {policy} requests: retry in {wait} s"),
                )
                .with_header(RETRY_AFTER, header(wait.to_string()))
                .with_header(RATELIMIT_POLICY.clone(), policy_value)
                .with_header(RATELIMIT.clone(), state)
            }
            Refusal::QuotaExceeded(exceeded) => {
                let wait = (exceeded.resets_at - Utc::now()).num_seconds().max(1) as u64;
                let name = exceeded.kind.as_str();
                let error = ApiError::new(
                    Code::QuotaExceeded,
                    format!(
                        "{name} quota of {} reached; it resets at {}",
                        exceeded.limit,
                        exceeded
                            .resets_at
                            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                    ),
                )
                .with_header(RETRY_AFTER, header(wait.to_string()));
                if exceeded.kind == QuotaKind::ConcurrentMultipart {
                    return error;
                }
                let [policy_value, state] = values(
                    name,
                    exceeded.limit,
                    u64::from(exceeded.window_secs),
                    0,
                    wait,
                );
                error
                    .with_header(RATELIMIT_POLICY.clone(), policy_value)
                    .with_header(RATELIMIT.clone(), state)
            }
            Refusal::Revoked => ApiError::new(
                Code::Revoked,
                "these credentials were issued before a revocation: get new ones",
            ),
            Refusal::StoreUnavailable => {
                ApiError::new(Code::LimitsUnavailable, "the limits store is unavailable")
            }
        }
    }
}

/// The client's address: the last value of the configured header a trusted proxy sets, else
/// the connection's peer.
pub(crate) fn client_ip(req: &HttpRequest, trusted_header: Option<&str>) -> Option<IpAddr> {
    match trusted_header {
        Some(name) => {
            let value = req.headers().get_all(name).last()?.to_str().ok()?;
            value.rsplit(',').next()?.trim().parse().ok()
        }
        None => req.peer_addr().map(|a| a.ip()),
    }
}

#[cfg(test)]
mod tests {
    use super::values;

    #[test]
    fn the_two_values_are_structured_field_items() {
        let [policy, state] = values("grants", 10, 60, 3, 42);
        assert_eq!(policy, "\"grants\";q=10;w=60");
        assert_eq!(state, "\"grants\";r=3;t=42");
        let [policy, state] = values("bytes_per_day", u64::MAX, 86_400, 0, 1);
        assert_eq!(policy, "\"bytes_per_day\";q=18446744073709551615;w=86400");
        assert_eq!(state, "\"bytes_per_day\";r=0;t=1");
    }
}
