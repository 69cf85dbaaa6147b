//! AWS access: the default credential chain (profiles, SSO, environment),
//! configured by profile, region and an optional endpoint URL for
//! emulators. Nothing here ever writes a secret anywhere.

use std::time::Duration;

use aws_config::meta::region::RegionProviderChain;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};

/// Where and as whom to reach AWS.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AwsOptions {
    /// A profile from ~/.aws/config; None uses the default chain.
    pub profile: Option<String>,
    pub region: Option<String>,
    /// An emulator or a VPC endpoint, e.g. `http://127.0.0.1:4567`.
    pub endpoint_url: Option<String>,
}

impl AwsOptions {
    /// What the operator typed in a form: a blank field falls back to the
    /// default chain, as if it were not there.
    pub fn from_form(
        profile: &Option<String>,
        region: &Option<String>,
        endpoint_url: &Option<String>,
    ) -> AwsOptions {
        let keep = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
        };
        AwsOptions {
            profile: keep(profile),
            region: keep(region),
            endpoint_url: keep(endpoint_url),
        }
    }

    /// Resolves the configuration through aws-config's default chain.
    pub async fn load(&self) -> SdkConfig {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            // Gridwatch's loops own their retries (they count and show
            // throttling), so the SDK does not retry behind their back.
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .operation_timeout(Duration::from_secs(30))
                    .build(),
            );
        if let Some(profile) = &self.profile {
            loader = loader.profile_name(profile);
        }
        let fallback = if self.endpoint_url.is_some() {
            // Emulators accept any region; signing still needs one.
            Some("us-east-1")
        } else {
            None
        };
        let region = RegionProviderChain::first_try(self.region.clone().map(Region::new))
            .or_default_provider()
            .or_else(fallback.map(Region::from_static));
        loader = loader.region(region);
        if let Some(url) = &self.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        loader.load().await
    }

    /// A human description for messages: which account path is in use.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(p) = &self.profile {
            parts.push(format!("profile {p}"));
        }
        if let Some(r) = &self.region {
            parts.push(format!("region {r}"));
        }
        if let Some(u) = &self.endpoint_url {
            parts.push(format!("endpoint {u}"));
        }
        if parts.is_empty() {
            "the default AWS profile and region".into()
        } else {
            parts.join(", ")
        }
    }
}

/// A Timestream client (query or write: two SDK crates, one shape): with
/// endpoint discovery against AWS, without it against an endpoint URL, where
/// discovery would answer with AWS's own host. Evaluates to
/// `Result<Client, String>`.
macro_rules! timestream_client {
    ($client:ty, $options:expr) => {
        async {
            let options: &$crate::aws::AwsOptions = $options;
            let conf = options.load().await;
            if options.endpoint_url.is_some() {
                return Ok(<$client>::new(&conf));
            }
            // Credentials first: without them, discovery fails as a
            // "dispatch failure", which says nothing of the cause.
            if let Err(e) = $crate::aws::check_credentials(&conf).await {
                return Err(format!("no AWS credentials ({}): {e}", options.describe()));
            }
            let (client, reloader) = <$client>::new(&conf)
                .with_endpoint_discovery_enabled()
                .await
                .map_err(|e| {
                    format!(
                        "cannot reach Timestream to find its endpoint (network or region?): {}",
                        aws_sdk_kinesis::error::DisplayErrorContext(&*e)
                    )
                })?;
            tokio::spawn(reloader.reload_task());
            Ok::<$client, String>(client)
        }
    };
}
pub(crate) use timestream_client;

/// The SDK's error, reduced to what a user can act on, with its message.
pub fn describe_sdk_error<E, R>(err: &aws_sdk_kinesis::error::SdkError<E, R>) -> String
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_kinesis::error::SdkError;
    match err {
        SdkError::DispatchFailure(e) => {
            format!("cannot reach the service (network or endpoint): {e:?}")
        }
        SdkError::TimeoutError(_) => "the service did not answer in time".into(),
        SdkError::ServiceError(e) => e.err().to_string(),
        SdkError::ConstructionFailure(_) => {
            "the request could not be built (missing region or credentials?)".into()
        }
        other => other.to_string(),
    }
}

/// What went wrong reaching AWS, in the terms an operator acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AwsProblem {
    /// The credential chain found nothing (no profile, SSO or environment).
    NoCredentials,
    /// The credentials were refused for this action.
    AccessDenied,
    /// The stream, table or bucket does not exist (here, in this region).
    NotFound,
    /// The endpoint could not be reached or did not answer: the network,
    /// a timeout, a refused connection. The only problem a cached answer
    /// may stand in for.
    Unreachable,
    /// The service is throttling these requests (still, after retries).
    Throttled,
    /// The service refused the request as invalid (a query that does not
    /// parse, a table that does not exist in a query, a bad parameter).
    Invalid,
    /// Anything else the service said.
    Other,
}

impl AwsProblem {
    /// What the problem is called in a message.
    pub fn describe(self) -> &'static str {
        match self {
            AwsProblem::NoCredentials => "no AWS credentials",
            AwsProblem::AccessDenied => "access denied",
            AwsProblem::NotFound => "not found",
            AwsProblem::Unreachable => "unreachable",
            AwsProblem::Throttled => "throttled",
            AwsProblem::Invalid => "invalid request",
            AwsProblem::Other => "refused",
        }
    }
}

/// Error codes that mean "slow down", across AWS services.
const THROTTLING: [&str; 9] = [
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "SlowDown",
    "ProvisionedThroughputExceededException",
];

/// Error codes of a service's own transient failure (usually HTTP 5xx).
const SERVICE_FAULTS: [&str; 6] = [
    "InternalServerException",
    "InternalServerError",
    "InternalFailure",
    "InternalError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
];

/// Error codes of a request the service will refuse however often it is
/// sent.
const INVALID: [&str; 7] = [
    "ValidationException",
    "InvalidParameterValue",
    "InvalidParameterException",
    "InvalidParameterCombination",
    "InvalidRequestException",
    "InvalidArgument",
    "SerializationException",
];

/// Sorts an SDK error (of any AWS service) into an [`AwsProblem`], with the
/// service's own words.
pub fn classify<E>(
    err: &aws_sdk_kinesis::error::SdkError<E, aws_sdk_kinesis::config::http::HttpResponse>,
) -> (AwsProblem, String)
where
    E: aws_sdk_kinesis::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    use aws_sdk_kinesis::error::SdkError;
    let chain = format!("{}", aws_sdk_kinesis::error::DisplayErrorContext(err));
    match err {
        SdkError::DispatchFailure(_) | SdkError::ConstructionFailure(_)
            if chain.contains("credentials") =>
        {
            (AwsProblem::NoCredentials, chain)
        }
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
            (AwsProblem::Unreachable, chain)
        }
        SdkError::ServiceError(e) => {
            let status = e.raw().status().as_u16();
            // Some answers (S3's to a missing bucket, say) carry no body:
            // the status says it then.
            let code = e
                .err()
                .code()
                .filter(|c| !c.is_empty())
                .unwrap_or(match status {
                    404 => "NotFound",
                    403 => "AccessDenied",
                    _ => "",
                });
            let message = e.err().message().unwrap_or(code).to_string();
            let problem = match code {
                "AccessDeniedException"
                | "AccessDenied"
                | "UnrecognizedClientException"
                | "InvalidSignatureException"
                | "ExpiredTokenException"
                | "InvalidClientTokenId"
                | "SignatureDoesNotMatch"
                | "InvalidAccessKeyId"
                | "Forbidden" => AwsProblem::AccessDenied,
                "ResourceNotFoundException"
                | "EntityNotFoundException"
                | "NoSuchBucket"
                | "NotFound"
                | "NoSuchKey" => AwsProblem::NotFound,
                c if THROTTLING.contains(&c) || status == 429 => AwsProblem::Throttled,
                c if INVALID.contains(&c) => AwsProblem::Invalid,
                _ => AwsProblem::Other,
            };
            (problem, format!("{code} (HTTP {status}): {message}"))
        }
        _ => (AwsProblem::Other, chain),
    }
}

/// Whether a failed call may succeed if sent again: throttling, the
/// service's own 5xx faults, timeouts, a network that failed to carry it or
/// an answer cut short. Never an invalid request, denied access or missing
/// credentials: those fail the same way every time.
pub fn is_transient<E>(
    err: &aws_sdk_kinesis::error::SdkError<E, aws_sdk_kinesis::config::http::HttpResponse>,
) -> bool
where
    E: aws_sdk_kinesis::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    use aws_sdk_kinesis::error::SdkError;
    match err {
        SdkError::ServiceError(e) => {
            let status = e.raw().status().as_u16();
            let code = e.err().code().unwrap_or("");
            status >= 500
                || status == 429
                || THROTTLING.contains(&code)
                || SERVICE_FAULTS.contains(&code)
        }
        SdkError::TimeoutError(_) | SdkError::ResponseError(_) => true,
        SdkError::DispatchFailure(_) => classify(err).0 == AwsProblem::Unreachable,
        _ => false,
    }
}

/// How often and how patiently [`retry`] tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Tries in all, the first included.
    pub attempts: u32,
    /// The wait before the second try; doubled for each one after.
    pub first: Duration,
    /// No wait is longer than this.
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            attempts: 4,
            first: Duration::from_millis(200),
            cap: Duration::from_secs(5),
        }
    }
}

impl Backoff {
    /// The wait after failed try `attempt` (1-based): exponential, capped,
    /// with "full jitter" (uniform in [0, ceiling]) so clients throttled
    /// together do not come back together.
    pub fn wait(&self, attempt: u32) -> Duration {
        let ceiling = self
            .first
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
            .min(self.cap);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(random_u64() % nanos.saturating_add(1))
    }
}

/// A random number from std's random hash keys and the clock: enough for
/// jitter and idempotency tokens, without a dependency.
pub(crate) fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

/// Sends `call` until it succeeds, fails for good, or `backoff.attempts`
/// tries have failed transiently ([`is_transient`]), waiting between tries.
/// The SDK's own retries are off (see [`AwsOptions::load`]), so this is
/// the one place a request is sent again. Any AWS service's fluent call
/// fits: `retry("Query", &Backoff::default(), || client.query().send())`.
pub async fn retry<T, E, F, Fut>(
    what: &str,
    backoff: &Backoff,
    mut call: F,
) -> Result<T, aws_sdk_kinesis::error::SdkError<E, aws_sdk_kinesis::config::http::HttpResponse>>
where
    E: aws_sdk_kinesis::error::ProvideErrorMetadata + std::error::Error + 'static,
    F: FnMut() -> Fut,
    Fut: std::future::Future<
            Output = Result<
                T,
                aws_sdk_kinesis::error::SdkError<E, aws_sdk_kinesis::config::http::HttpResponse>,
            >,
        >,
{
    let mut attempt = 1;
    loop {
        match call().await {
            Ok(v) => return Ok(v),
            Err(e) if attempt < backoff.attempts && is_transient(&e) => {
                let wait = backoff.wait(attempt);
                tracing::warn!(what, attempt, ?wait, error = %classify(&e).1, "retrying");
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Resolves credentials through the chain `conf` was loaded with: a clear
/// "no credentials" before any request is sent.
pub async fn check_credentials(conf: &SdkConfig) -> Result<(), String> {
    use aws_credential_types::provider::ProvideCredentials;
    let Some(provider) = conf.credentials_provider() else {
        return Err("no credential provider is configured".into());
    };
    provider
        .provide_credentials()
        .await
        .map(|_| ())
        .map_err(|e| format!("{}", aws_sdk_kinesis::error::DisplayErrorContext(&e)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_timestreamquery::config::http::HttpResponse;
    use aws_sdk_timestreamquery::error::{ErrorMetadata, SdkError};
    use aws_sdk_timestreamquery::operation::query::QueryError;

    fn service(code: &str, status: u16) -> SdkError<QueryError, HttpResponse> {
        let err = QueryError::generic(ErrorMetadata::builder().code(code).message("m").build());
        SdkError::service_error(
            err,
            HttpResponse::new(status.try_into().unwrap(), "".into()),
        )
    }

    #[test]
    fn throttling_faults_and_the_network_are_retried_never_a_refusal() {
        for (code, status) in [
            ("ThrottlingException", 400),
            ("InternalServerException", 400),
            ("", 500),
            ("", 503),
            ("", 429),
        ] {
            assert!(is_transient(&service(code, status)), "{code} {status}");
        }
        assert!(is_transient(
            &SdkError::<QueryError, HttpResponse>::timeout_error("slow")
        ));
        for code in [
            "ValidationException",
            "AccessDeniedException",
            "ResourceNotFoundException",
            "InvalidEndpointException",
        ] {
            assert!(!is_transient(&service(code, 400)), "{code}");
        }
        assert!(!is_transient(&service("", 403)));
        assert!(!is_transient(
            &SdkError::<QueryError, HttpResponse>::construction_failure("no region")
        ));
    }

    #[test]
    fn problems_are_sorted_by_code_and_status() {
        let problem = |code, status| classify(&service(code, status)).0;
        assert_eq!(problem("ThrottlingException", 400), AwsProblem::Throttled);
        assert_eq!(problem("", 429), AwsProblem::Throttled);
        assert_eq!(
            classify(&service("ValidationException", 400)),
            (
                AwsProblem::Invalid,
                "ValidationException (HTTP 400): m".to_string()
            )
        );
        assert_eq!(
            problem("AccessDeniedException", 400),
            AwsProblem::AccessDenied
        );
        assert_eq!(problem("", 403), AwsProblem::AccessDenied);
        // A server fault is not the network: no cached answer stands in.
        assert_eq!(problem("InternalServerException", 500), AwsProblem::Other);
        assert_eq!(
            classify(&SdkError::<QueryError, HttpResponse>::timeout_error("slow")).0,
            AwsProblem::Unreachable
        );
    }

    #[test]
    fn the_wait_grows_to_its_cap_and_jitters_below_it() {
        let b = Backoff::default();
        for attempt in 1..=12u32 {
            let ceiling = (b.first * 2u32.pow(attempt - 1)).min(b.cap);
            for _ in 0..50 {
                assert!(b.wait(attempt) <= ceiling, "attempt {attempt}");
            }
        }
        assert!(b.wait(u32::MAX) <= b.cap);
        let waits: std::collections::HashSet<Duration> = (0..20).map(|_| b.wait(3)).collect();
        assert!(waits.len() > 1, "no jitter: {waits:?}");
    }
}
