//! The cache, single flight and backoff of [`CredentialSource`], against scripted providers.

use super::*;
use std::sync::atomic::{AtomicUsize, Ordering};

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

fn temporary(expires_at: DateTime<Utc>) -> SharedCredentialsProvider {
    SharedCredentialsProvider::new(aws_credential_types::Credentials::new(
        "AKID",
        "secret",
        Some("token".into()),
        Some(expires_at.into()),
        "test",
    ))
}

/// What a scripted provider does on one call.
#[derive(Debug, Clone, Copy)]
enum Answer {
    /// Credentials `AKID<n>` (n = call number from 0) expiring then.
    Expiring(DateTime<Utc>),
    Fail,
    /// Never answers.
    Hang,
    /// Panics in the provider's future.
    Panic,
}

/// A provider that counts its calls and answers the `n`-th with `script[n]` (the last entry
/// repeats).
#[derive(Debug)]
struct Scripted {
    calls: Arc<AtomicUsize>,
    script: Vec<Answer>,
}

impl Scripted {
    fn source(script: Vec<Answer>) -> (CredentialSource, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        let provider = SharedCredentialsProvider::new(Self {
            calls: Arc::clone(&calls),
            script,
        });
        (
            CredentialSource::from_provider(provider, Duration::minutes(5)),
            calls,
        )
    }
}

impl ProvideCredentials for Scripted {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        let answer = self.script[n.min(self.script.len() - 1)];
        future::ProvideCredentials::new(async move {
            match answer {
                Answer::Expiring(end) => Ok(aws_credential_types::Credentials::new(
                    format!("AKID{n}"),
                    "secret",
                    None,
                    Some(end.into()),
                    "scripted",
                )),
                Answer::Fail => Err(CredentialsError::provider_error("issuer down")),
                Answer::Hang => std::future::pending().await,
                Answer::Panic => panic!("a provider bug"),
            }
        })
    }
}

fn calls(counter: &AtomicUsize) -> usize {
    counter.load(Ordering::SeqCst)
}

#[tokio::test]
async fn refuses_credentials_inside_the_margin() {
    let now = at("2030-01-01T00:00:00Z");
    let source = CredentialSource::from_provider(
        temporary(now + Duration::minutes(4)),
        Duration::minutes(5),
    );
    assert!(matches!(
        source.current(now).await,
        Err(CredentialsUnavailable::Expiring(_))
    ));
    let source = CredentialSource::from_provider(
        temporary(now + Duration::minutes(60)),
        Duration::minutes(5),
    );
    let c = source.current(now).await.unwrap();
    assert_eq!(c.session_token.as_ref().unwrap().expose(), "token");
    // Cached: the same Arc comes back until the margin is reached.
    assert!(Arc::ptr_eq(
        &c,
        &source.current(now + Duration::minutes(30)).await.unwrap()
    ));
}

#[tokio::test]
async fn refreshes_ahead_and_keeps_cached_credentials_when_the_provider_fails() {
    let now = at("2030-01-01T00:00:00Z");
    let end = now + Duration::minutes(60);
    let script = vec![Answer::Expiring(end), Answer::Expiring(end), Answer::Fail];
    let (source, counter) = Scripted::source(script.clone());
    let first = source.current(now).await.unwrap();
    assert_eq!(first.access_key_id.as_str(), "AKID0");
    source.current(now + Duration::minutes(30)).await.unwrap();
    assert_eq!(calls(&counter), 1);
    // 41 minutes in, the refresh point (60 - 5 - 15) has passed: fetched in the background
    // while the cached credentials answer.
    let t41 = now + Duration::minutes(41);
    assert_eq!(
        source.current(t41).await.unwrap().access_key_id.as_str(),
        "AKID0"
    );
    source.settle().await;
    assert_eq!(
        source.current(t41).await.unwrap().access_key_id.as_str(),
        "AKID1"
    );
    // Within 30 s of that fetch, due or not, the provider is left alone.
    source.current(t41 + Duration::seconds(20)).await.unwrap();
    assert_eq!(calls(&counter), 2);

    let (empty, _) = Scripted::source(vec![Answer::Fail]);
    assert!(
        empty.current(now).await.is_err(),
        "nothing cached: fail closed"
    );
    // The provider now fails; the cached AKID1 still signs until the margin...
    let t50 = now + Duration::minutes(50);
    assert_eq!(
        source.current(t50).await.unwrap().access_key_id.as_str(),
        "AKID1"
    );
    source.settle().await;
    assert_eq!(calls(&counter), 3, "the refresh was tried and failed");
    assert_eq!(
        source.current(t50).await.unwrap().access_key_id.as_str(),
        "AKID1"
    );
    assert!(
        source.current(now + Duration::minutes(56)).await.is_err(),
        "inside the margin with a failing provider: refuse"
    );
}

#[test]
fn backoff_doubles_up_to_its_cap() {
    let secs: Vec<i64> = (1..=8).map(|n| backoff(n).num_seconds()).collect();
    assert_eq!(secs, [2, 4, 8, 16, 30, 30, 30, 30]);
    assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
}

#[tokio::test(start_paused = true)]
async fn concurrent_callers_share_one_hanging_call_then_fail_fast() {
    let now = at("2030-01-01T00:00:00Z");
    let (source, counter) = Scripted::source(vec![Answer::Hang]);
    let started = tokio::time::Instant::now();
    let mut callers = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let source = source.clone();
        callers.spawn(async move { (source.current(now).await, tokio::time::Instant::now()) });
    }
    for (outcome, done) in callers.join_all().await {
        assert!(matches!(outcome, Err(CredentialsUnavailable::Provider(_))));
        // All at the one call's timeout, not one timeout after another.
        assert_eq!(done - started, PROVIDER_TIMEOUT);
    }
    assert_eq!(calls(&counter), 1, "one provider call for ten callers");

    // The failure is remembered for 2 s after it (5 s in): callers fail at once, without a
    // call.
    let before = tokio::time::Instant::now();
    for offset in [0, 1, 6] {
        let outcome = source.current(now + Duration::seconds(offset)).await;
        assert!(matches!(outcome, Err(CredentialsUnavailable::Provider(_))));
    }
    assert_eq!(
        tokio::time::Instant::now(),
        before,
        "no waiting in the backoff"
    );
    assert_eq!(calls(&counter), 1);

    // After it, one new call; its failure is remembered twice as long.
    let retry = now + Duration::seconds(7);
    assert!(source.current(retry).await.is_err());
    assert_eq!(calls(&counter), 2);
    assert!(source.current(retry + Duration::seconds(8)).await.is_err());
    assert_eq!(calls(&counter), 2, "second backoff: 4 s after the 5 s call");
    assert!(source.current(retry + Duration::seconds(9)).await.is_err());
    assert_eq!(calls(&counter), 3);
}

#[tokio::test(start_paused = true)]
async fn cached_credentials_answer_while_a_refresh_hangs() {
    let now = at("2030-01-01T00:00:00Z");
    let end = now + Duration::minutes(60);
    let (source, counter) = Scripted::source(vec![Answer::Expiring(end), Answer::Hang]);
    source.current(now).await.unwrap();
    let due = now + Duration::minutes(41);
    let before = tokio::time::Instant::now();
    for _ in 0..5 {
        assert_eq!(
            source.current(due).await.unwrap().access_key_id.as_str(),
            "AKID0"
        );
    }
    assert_eq!(tokio::time::Instant::now(), before, "nobody waits for it");
    source.settle().await;
    assert_eq!(calls(&counter), 2, "one refresh for five callers");
    // It timed out: the credentials still serve, and the refresh backs off (2 s, and the 30 s
    // between two attempts while the credentials are usable).
    assert!(source.current(due + Duration::seconds(10)).await.is_ok());
    assert_eq!(calls(&counter), 2);
    assert!(source.current(due + Duration::seconds(31)).await.is_ok());
    source.settle().await;
    assert_eq!(calls(&counter), 3);
}

#[tokio::test(start_paused = true)]
async fn credentials_the_provider_hands_out_expired_are_not_asked_for_again_at_once() {
    // A `credential_process` that prints expired credentials: one run per backoff window,
    // not one per request.
    let now = at("2030-01-01T00:00:00Z");
    let (source, counter) = Scripted::source(vec![Answer::Expiring(now - Duration::hours(1))]);
    for offset in [0, 0, 1, 1] {
        assert!(matches!(
            source.current(now + Duration::seconds(offset)).await,
            Err(CredentialsUnavailable::Expiring(_))
        ));
    }
    assert_eq!(calls(&counter), 1);
    assert!(source.current(now + Duration::seconds(2)).await.is_err());
    assert_eq!(calls(&counter), 2);
}

#[tokio::test]
async fn the_sdk_provider_draws_from_the_same_window() {
    let now = Utc::now();
    let (source, counter) = Scripted::source(vec![Answer::Expiring(now + Duration::minutes(4))]);
    let sdk = source.sdk_provider();
    assert!(
        sdk.provide_credentials().await.is_err(),
        "inside the margin"
    );
    assert!(sdk.provide_credentials().await.is_err());
    assert_eq!(calls(&counter), 1, "the backoff holds for the SDK too");
    let (source, _) = Scripted::source(vec![Answer::Expiring(now + Duration::minutes(60))]);
    let credentials = source.sdk_provider().provide_credentials().await.unwrap();
    assert_eq!(credentials.access_key_id(), "AKID0");
}

#[tokio::test]
async fn a_provider_that_panics_does_not_wedge_the_single_flight() {
    let now = at("2030-01-01T00:00:00Z");
    let end = now + Duration::minutes(60);
    let (source, counter) = Scripted::source(vec![Answer::Panic, Answer::Expiring(end)]);
    assert!(matches!(
        source.current(now).await,
        Err(CredentialsUnavailable::Provider(_))
    ));
    // No outcome was recorded, so no backoff either: the next caller asks again.
    let credentials = source.current(now).await.unwrap();
    assert_eq!(credentials.access_key_id.as_str(), "AKID1");
    assert_eq!(calls(&counter), 2);
}
