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
            let (client, reloader) = <$client>::new(&conf)
                .with_endpoint_discovery_enabled()
                .await
                .map_err(|e| format!("endpoint discovery failed: {e}"))?;
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
    /// The endpoint could not be reached or did not answer.
    Unreachable,
    /// Anything else the service said.
    Other,
}

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
            let code = e.err().code().unwrap_or(match status {
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
                "ResourceNotFoundException" | "NoSuchBucket" | "NotFound" | "NoSuchKey" => {
                    AwsProblem::NotFound
                }
                _ => AwsProblem::Other,
            };
            (problem, format!("{code} (HTTP {status}): {message}"))
        }
        _ => (AwsProblem::Other, chain),
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
